/**
 * One timer for the periodic refresh of every engine, in place of one timer per engine.
 *
 * Why: a refresh re-armed its engine's own 30-60 s `setTimeout`, so at 5,000 engines ~110 new
 * timers a second (each a Timeout, its closure and often a new per-duration timer list) lived
 * through two young collections and were promoted. Young collections at idle copy little else,
 * so those timers were much of what each one copied and promoted, and each collection pauses
 * every request. Here an engine's next refresh is one small integer in a map, and one interval
 * timer, made once, walks the map.
 *
 * An engine refreshes up to one tick late: ticks are a tenth of the shortest refresh period
 * (10 ms to 1 s), so a 30-60 s refresh moves by at most 1 s.
 */

/** What the clock calls when a refresh is due: made once per engine, so scheduling allocates nothing. */
export type RefreshTask = () => void;

/** Ticks at most this often, and at least once a second. */
const MIN_TICK_MS = 10;
const MAX_TICK_MS = 1000;

export class RefreshClock {
  /**
   * Task -> when it is due, in whole ms since the clock was made: a small integer V8 stores
   * inline (a Date.now() value would be a new heap number on every scheduling).
   */
  private readonly due = new Map<RefreshTask, number>();
  private readonly epoch = performance.now();
  private timer?: NodeJS.Timeout;

  constructor(readonly tickMs: number) {}

  /** Runs `task` once, `delayMs` from now; replaces the task's earlier schedule if any. */
  schedule(task: RefreshTask, delayMs: number): void {
    this.due.set(task, Math.ceil(this.elapsed() + delayMs));
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
  }

  cancel(task: RefreshTask): void {
    this.due.delete(task);
    if (this.due.size === 0) this.stopTicking();
  }

  private tick(): void {
    const now = this.elapsed();
    // forEach, not for...of: no [key, value] array per entry on every tick.
    this.due.forEach((at, task) => {
      if (at > now) return;
      this.due.delete(task);
      task();
    });
    if (this.due.size === 0) this.stopTicking();
  }

  private stopTicking(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private elapsed(): number {
    return performance.now() - this.epoch;
  }
}

/** One clock per tick length, shared by all engines with the same refresh period. */
const clocks = new Map<number, RefreshClock>();

/** The shared clock for engines whose shortest refresh period is `refreshMinMs`. */
export function refreshClockFor(refreshMinMs: number): RefreshClock {
  const tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(refreshMinMs / 10)));
  let clock = clocks.get(tickMs);
  if (!clock) clocks.set(tickMs, (clock = new RefreshClock(tickMs)));
  return clock;
}
