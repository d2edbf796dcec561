/**
 * How long the simulated engines held each container's API calls, measured where they are
 * answered: from the moment the engine's HTTP server hands over the request (its latency timer
 * starts there) to the moment the response is written out.
 *
 * The scale benchmark subtracts this from `docker run`'s client-side time to get the manager's
 * own share. Subtracting the nominal latency instead (2 x --latency-ms) charged the manager
 * with the simulator's own lateness: with thousands of engines in a process, the latency timer
 * fires late whenever that process is busy (refresh lists, event streams), and that time is
 * the engine's, not the manager's. What happens before the engine reads the request (the
 * socket waiting in a busy simulator) still counts as the manager's: the measure errs against it.
 */
import type http from 'node:http';

/** The container a response is about (set by the create and start handlers). */
const subjectOf = new WeakMap<http.ServerResponse, string>();

/** Marks `res` as one of `containerId`'s calls: its held time goes to that container. */
export function attributeTo(res: http.ServerResponse, containerId: string): void {
  subjectOf.set(res, containerId);
}

export class EngineTimeLedger {
  /** Container ID -> total ms its attributed calls were held, oldest first (Map order). */
  private readonly held = new Map<string, number>();

  constructor(private readonly capacity = 50_000) {}

  /** Starts the clock for one request; it stops when the response has been written. */
  track(res: http.ServerResponse): void {
    const arrived = performance.now();
    res.once('finish', () => {
      const id = subjectOf.get(res);
      if (id !== undefined) this.add(id, performance.now() - arrived);
    });
  }

  private add(id: string, ms: number): void {
    const total = (this.held.get(id) ?? 0) + ms;
    this.held.delete(id);
    this.held.set(id, total);
    if (this.held.size > this.capacity) this.held.delete(this.held.keys().next().value as string);
  }

  /** The held ms of those of `ids` this process answered for. */
  lookup(ids: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const id of ids) {
      const ms = this.held.get(id);
      if (ms !== undefined) out[id] = ms;
    }
    return out;
  }
}
