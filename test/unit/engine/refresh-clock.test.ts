/**
 * The shared timer of the engines' periodic refresh (lib/engine/refresh-clock.ts): each task
 * runs once, not before its delay and at most about a tick after it; a new schedule replaces the
 * old one; a cancelled task never runs; tasks due at different times start in different ticks
 * (not as one burst); and the clock holds no timer once nothing is scheduled.
 */
import assert from 'node:assert/strict';
import { RefreshClock, refreshClockFor } from '../../../lib/engine/refresh-clock';
import { sleep, waitFor } from '../../../testbed/wait';

const activeTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('RefreshClock', () => {
  it('runs each task once, no sooner than its delay and within a few ticks of it', async () => {
    const clock = new RefreshClock(10);
    const start = performance.now();
    const ranAt: Record<string, number[]> = { a: [], b: [] };
    clock.schedule(() => ranAt.a.push(performance.now() - start), 40);
    clock.schedule(() => ranAt.b.push(performance.now() - start), 120);
    await waitFor(() => ranAt.b.length > 0, 2000, 'the later task');
    await sleep(50);
    assert.equal(ranAt.a.length, 1);
    assert.equal(ranAt.b.length, 1);
    assert.ok(ranAt.a[0] >= 40 && ranAt.b[0] >= 120, `ran at ${ranAt.a[0].toFixed(0)} and ${ranAt.b[0].toFixed(0)} ms`);
    assert.ok(ranAt.a[0] < ranAt.b[0], 'in the order they were due');
  });

  it('replaces a task schedule when it is scheduled again, and never runs a cancelled one', async () => {
    const clock = new RefreshClock(10);
    let moved = 0;
    let cancelled = 0;
    let rescheduled = 0;
    const movedTask = (): void => void moved++;
    const cancelledTask = (): void => void cancelled++;
    const rescheduledTask = (): void => void rescheduled++;
    clock.schedule(movedTask, 20);
    clock.schedule(movedTask, 150);
    clock.schedule(cancelledTask, 20);
    clock.cancel(cancelledTask);
    // Cancelled and scheduled again into the same tick (what an engine's refresh does): listed
    // twice in that tick's slot, it must still run once.
    clock.schedule(rescheduledTask, 20);
    clock.cancel(rescheduledTask);
    clock.schedule(rescheduledTask, 20);
    await sleep(90);
    assert.equal(moved, 0, 'the first schedule was replaced by the later one');
    await waitFor(() => moved === 1, 2000, 'the task at its new time');
    await sleep(40);
    assert.equal(moved, 1);
    assert.equal(cancelled, 0);
    assert.equal(rescheduled, 1, 'a task twice in one slot runs once');
  });

  it('holds a timer only while something is scheduled', async () => {
    await new Promise((resolve) => setImmediate(resolve)); // after mocha has armed this test's timeout
    const before = activeTimeouts();
    const clock = new RefreshClock(10);
    let ran = false;
    clock.schedule(() => (ran = true), 20);
    assert.equal(activeTimeouts(), before + 1, 'one timer for the clock');
    clock.schedule(() => undefined, 30);
    assert.equal(activeTimeouts(), before + 1, 'still one timer for two tasks');
    await sleep(150);
    await new Promise((resolve) => setImmediate(resolve)); // out of the sleep's own timer callback, which still counts as active
    assert.ok(ran, 'the first task ran');
    assert.equal(activeTimeouts(), before, 'no timer left once every task ran');

    // Idle for a while, then used again: the next task is neither early nor lost.
    await sleep(100);
    const again = performance.now();
    let ranAgainAfter = -1;
    clock.schedule(() => (ranAgainAfter = performance.now() - again), 30);
    await waitFor(() => ranAgainAfter >= 0, 2000, 'the task scheduled after idling');
    assert.ok(ranAgainAfter >= 30, `ran ${ranAgainAfter.toFixed(0)} ms after scheduling, its delay is 30 ms`);
  });

  it('starts tasks due 25 ms apart in separate ticks at a 30 s refresh period, not as one burst', async () => {
    // At 5,000 engines ~110 refreshes fall due each second; with one tick a second they all
    // pinged (and were answered) at once, and a request arriving then waited behind them.
    const clock = refreshClockFor(30_000);
    let batches = 0;
    let inBatch = false;
    let ran = 0;
    const task = (): void => {
      ran++;
      if (inBatch) return;
      batches++; // the first task of a synchronous run of tasks: one tick's slot
      inBatch = true;
      queueMicrotask(() => (inBatch = false));
    };
    const tasks = Array.from({ length: 10 }, () => () => task());
    tasks.forEach((t, i) => clock.schedule(t, 25 * i));
    await waitFor(() => ran === 10, 3000, 'all ten tasks');
    // 10 when every tick is on time; a tick delayed by a busy machine may run two slots at once.
    assert.ok(batches >= 5, `the ten tasks ran in ${batches} tick(s)`);
  });

  it('shares one clock per tick length: a tenth of the shortest period, 10 ms to 20 ms', () => {
    assert.equal(refreshClockFor(30_000), refreshClockFor(60_000), '30 s and 60 s periods share the 20 ms clock');
    assert.equal(refreshClockFor(30_000).tickMs, 20);
    assert.equal(refreshClockFor(150).tickMs, 15);
    assert.equal(refreshClockFor(100).tickMs, 10);
    assert.equal(refreshClockFor(1).tickMs, 10);
  });
});
