/**
 * Long in-memory work cut into event-loop turns: a loop asks `due()` between items and, when it
 * says so, awaits `next()`, which lets the requests that arrived meanwhile run. Used where a
 * computation grows with the cluster (a scrape or the page's view at 5,000 engines) and would
 * otherwise hold every other client for tens of milliseconds. A synchronous pass with a budget
 * (the cluster's snapshot catch-up) asks `due()` alone and stops when it says so.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

export class TimeSlice {
  private startedAt = performance.now();

  constructor(private readonly sliceMs: number) {}

  /** Whether this turn's share is spent. */
  due(): boolean {
    return performance.now() - this.startedAt > this.sliceMs;
  }

  /** Yields to the event loop (after its I/O) and starts a new share. */
  async next(): Promise<void> {
    await nextTurn();
    this.startedAt = performance.now();
  }
}
