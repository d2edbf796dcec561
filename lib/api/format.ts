/** Text formats Docker users know: durations ("Up 5 minutes"), sizes ("2.053 GiB"), natural sort. */
import type { ContainerState } from '../engine/records';
import { humanDuration, humanDurationStableMs } from '../docker/human-duration';

export { humanDuration };

/** The time the Status text counts from, if it counts from one. */
function statusReference(state: ContainerState): string | undefined {
  if (state.running) return state.restarting && !state.paused ? state.finishedAt : state.startedAt;
  if (state.status === 'removing' || state.status === 'dead') return undefined;
  if (state.status === 'created' || !state.finishedAt || state.finishedAt.startsWith('0001-')) return undefined;
  return state.finishedAt;
}

/**
 * statusText and the time (ms since epoch) until which it stays exact, so `docker ps` can
 * keep each row's Status and recompute it only when its text changes.
 */
export function statusTextUntil(state: ContainerState, now = Date.now()): { text: string; until: number } {
  const text = statusText(state, now);
  const reference = statusReference(state);
  if (reference === undefined) return { text, until: Infinity };
  return { text, until: now + humanDurationStableMs(Math.max(0, now - Date.parse(reference))) };
}

/** The `Status` column of `docker ps`, regenerated from cached state so it never goes stale. */
export function statusText(state: ContainerState, now = Date.now()): string {
  const since = (iso: string): string => humanDuration(Math.max(0, now - Date.parse(iso)));
  if (state.running) {
    if (state.paused) return `Up ${since(state.startedAt)} (Paused)`;
    if (state.restarting) return `Restarting (${state.exitCode}) ${since(state.finishedAt)} ago`;
    const health = state.health ? (state.health === 'starting' ? ' (health: starting)' : ` (${state.health})`) : '';
    return `Up ${since(state.startedAt)}${health}`;
  }
  if (state.status === 'removing') return 'Removal In Progress';
  if (state.status === 'dead') return 'Dead';
  if (state.status === 'created' || !state.finishedAt || state.finishedAt.startsWith('0001-')) return 'Created';
  return `Exited (${state.exitCode}) ${since(state.finishedAt)} ago`;
}

/** go-units BytesSize: "%.4g %s" with binary units. */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number(value.toPrecision(4))} ${units[i]}`;
}

/**
 * One collator for every comparison: `localeCompare` with options builds a new one per call, and
 * sorting 5,000 engine names for `docker info` took ~300 ms that way.
 */
const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Natural order: node-2 before node-10. */
export function naturalCompare(a: string, b: string): number {
  return natural.compare(a, b);
}
