/**
 * One timer for the periodic refresh of every engine, in place of one timer per engine.
 *
 * Why one timer: a refresh re-armed its engine's own 30-60 s `setTimeout`, so at 5,000 engines
 * ~110 new timers a second (each a Timeout, its closure and often a new per-duration timer list)
 * lived through two young collections and were promoted. Young collections at idle copy little
 * else, so those timers were much of what each one copied and promoted, and each collection
 * pauses every request. Here an engine's next refresh is one small integer in a map.
 *
 * Why short ticks: the refreshes due in one tick start together. With a tick of a second, the
 * ~110 pings a second of 5,000 engines went out, and came back, as one burst every second, and a
 * `docker run` that met the burst waited 10-30 ms behind it. Ticks of 20 ms start two or three.
 *
 * Why slots: a tick looks only at the tasks due in the ticks since the last one (a timing
 * wheel), not at every engine: 50 ticks a second over 5,000 engines would be 250,000 visits.
 * A task runs once, no sooner than its delay and at most about a tick after it.
 */

/** What the clock calls when a refresh is due: made once per engine, so scheduling allocates nothing. */
export type RefreshTask = () => void;

/** Ticks at most this often, and at least this often (see refreshClockFor). */
const MIN_TICK_MS = 10;
const MAX_TICK_MS = 20;

export class RefreshClock {
  /**
   * Task -> the tick it is due in (ticks since the clock was made): a small integer V8 stores
   * inline (a Date.now() value would be a new heap number on every scheduling).
   */
  private readonly dueTick = new Map<RefreshTask, number>();
  /**
   * Tick -> the tasks scheduled into it. A task scheduled again or cancelled is left in its old
   * slot and skipped there (its `dueTick` no longer names that slot), so neither has to search.
   */
  private readonly slots = new Map<number, RefreshTask[]>();
  /** The last tick whose slot was run. */
  private ranThrough: number;
  private readonly epoch = performance.now();
  private timer?: NodeJS.Timeout;

  constructor(readonly tickMs: number) {
    this.ranThrough = this.currentTick();
  }

  /** Runs `task` once, `delayMs` from now; replaces the task's earlier schedule if any. */
  schedule(task: RefreshTask, delayMs: number): void {
    if (!this.timer) {
      // Idle until now: start counting from this tick, not from where it stopped.
      this.ranThrough = this.currentTick();
      this.timer = setInterval(() => this.tick(), this.tickMs);
    }
    // Rounded up, so never early; and never into a slot already run.
    const tick = Math.max(Math.ceil((this.elapsed() + delayMs) / this.tickMs), this.ranThrough + 1);
    this.dueTick.set(task, tick);
    const slot = this.slots.get(tick);
    if (slot) slot.push(task);
    else this.slots.set(tick, [task]);
  }

  cancel(task: RefreshTask): void {
    this.dueTick.delete(task);
    if (this.dueTick.size === 0) this.stopTicking();
  }

  private tick(): void {
    const now = this.currentTick();
    // Usually one slot; after a stalled loop, every slot it missed, in order.
    while (this.ranThrough < now) {
      const tick = ++this.ranThrough;
      const slot = this.slots.get(tick);
      if (!slot) continue;
      this.slots.delete(tick);
      for (const task of slot) {
        if (this.dueTick.get(task) !== tick) continue; // moved or cancelled since
        this.dueTick.delete(task);
        task();
      }
    }
    if (this.dueTick.size === 0) this.stopTicking();
  }

  private stopTicking(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // Nothing is due: what the slots still hold was moved or cancelled.
    this.slots.clear();
  }

  private currentTick(): number {
    return Math.floor(this.elapsed() / this.tickMs);
  }

  private elapsed(): number {
    return performance.now() - this.epoch;
  }
}

/** One clock per tick length, shared by all engines with the same refresh period. */
const clocks = new Map<number, RefreshClock>();

/**
 * The shared clock for engines whose shortest refresh period is `refreshMinMs`: it ticks every
 * tenth of the period, at least every 20 ms (MAX_TICK_MS) and at most every 10 ms.
 */
export function refreshClockFor(refreshMinMs: number): RefreshClock {
  const tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(refreshMinMs / 10)));
  let clock = clocks.get(tickMs);
  if (!clock) clocks.set(tickMs, (clock = new RefreshClock(tickMs)));
  return clock;
}
