/**
 * An event storm over simulated engines: every engine pauses or unpauses its containers in
 * round-robin at a fixed rate, so every event changes what `docker ps -a` shows (State
 * `running` <-> `paused`) and what inspect returns, and each emits dockerd's `pause`/`unpause`
 * event on the engine's `/events` streams.
 *
 * Some changes are *sampled* (one every `sampleEveryMs`) and reported to the caller with the
 * wall-clock time the event was emitted, so a benchmark can time how long the manager takes to
 * show the new state. A sampled container is held (not toggled again) for `holdMs`, so its
 * state cannot flip back while it is being watched.
 */
import type { SimEngine } from './engine';

export interface StormOptions {
  /** Events per second per engine. */
  ratePerEngine: number;
  durationMs: number;
  /** One sampled change per this many ms (0: none). */
  sampleEveryMs: number;
  /** A sampled container is not toggled again for this long. */
  holdMs: number;
  /** The scheduler's tick (default 10 ms). */
  tickMs?: number;
}

export interface StormSample {
  /** Index of the engine (its port is basePort + engine). */
  engine: number;
  id: string;
  /** The state `ps -a` must show after this event. */
  state: 'running' | 'paused';
  /** Date.now() when the event was written to the engine's subscribers. */
  emittedAtMs: number;
}

export interface StormTotals {
  engines: number;
  /** Events emitted (pause + unpause), over all engines. */
  emitted: number;
  pause: number;
  unpause: number;
  sampled: number;
  /** Wall time from the first to the last tick. */
  durationMs: number;
  /** Ticks that started more than 2 ticks late: the simulator itself could not keep up. */
  lateTicks: number;
  ticks: number;
}

/** Per engine: the containers it toggles (those running or paused when the storm starts) and a cursor. */
interface EngineCursor {
  index: number;
  engine: SimEngine;
  ids: string[];
  next: number;
  done: number;
  /** Random phase in [0, 1): spreads the engines' events over time instead of firing them together. */
  phase: number;
}

export function runStorm(engines: SimEngine[], options: StormOptions, onSample: (s: StormSample) => void): Promise<StormTotals> {
  const tickMs = options.tickMs ?? 10;
  const cursors: EngineCursor[] = engines.map((engine, index) => ({ index, engine, ids: engine.activeContainerIds(), next: 0, done: 0, phase: Math.random() }));
  const held = new Map<string, number>(); // container id -> held until (ms)
  const totals: StormTotals = { engines: engines.length, emitted: 0, pause: 0, unpause: 0, sampled: 0, durationMs: 0, lateTicks: 0, ticks: 0 };
  const start = Date.now();
  let nextSampleAt = start + options.sampleEveryMs;
  let lastTick = start;

  const toggleNext = (c: EngineCursor, now: number, sample: boolean): boolean => {
    for (let tries = 0; tries < c.ids.length; tries++) {
      const id = c.ids[c.next];
      c.next = (c.next + 1) % c.ids.length;
      const until = held.get(id);
      if (until !== undefined) {
        if (until > now) continue;
        held.delete(id);
      }
      const state = c.engine.togglePause(id);
      if (!state) continue; // removed or stopped meanwhile
      totals.emitted++;
      if (state === 'paused') totals.pause++;
      else totals.unpause++;
      if (sample) {
        held.set(id, now + options.holdMs);
        totals.sampled++;
        onSample({ engine: c.index, id, state, emittedAtMs: Date.now() });
      }
      return true;
    }
    return false;
  };

  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now();
      totals.ticks++;
      if (now - lastTick > 3 * tickMs) totals.lateTicks++;
      lastTick = now;
      const elapsed = Math.min(now - start, options.durationMs);
      let wantSample = options.sampleEveryMs > 0 && now >= nextSampleAt;
      for (const c of cursors) {
        if (c.ids.length === 0) continue;
        const due = Math.floor((elapsed / 1000) * options.ratePerEngine + c.phase);
        while (c.done < due) {
          c.done++;
          if (toggleNext(c, now, wantSample) && wantSample) {
            wantSample = false;
            nextSampleAt += options.sampleEveryMs;
          }
        }
      }
      if (now - start >= options.durationMs) {
        clearInterval(timer);
        totals.durationMs = now - start;
        resolve(totals);
      }
    }, tickMs);
  });
}
