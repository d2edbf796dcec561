/** What `join`, `list` (and `manage`) share: the discovery argument, its options, durations. */
import { createDiscovery } from '../../discovery';
import type { Discovery } from '../../discovery/discovery';
import { DiscoveryError } from '../../discovery/discovery';
import { UsageError } from './command';
import { discoveryArgument, keyValueOptions, type FlagValues } from './flags';
import { parseDuration } from './duration';

/** The discovery URL (positional or $SWARM_DISCOVERY), or classic's "discovery required" error. */
export function requireDiscovery(positionals: string[], command: string, verb: string): string {
  const url = discoveryArgument(positionals);
  if (!url) throw new UsageError(`discovery required to ${verb} a cluster. See 'swarm ${command} --help'.`);
  return url;
}

/** A Go-style duration flag in ms, with classic's "invalid --flag" message when unparsable. */
export function durationFlag(values: FlagValues, name: string): number {
  const text = String(values[name]);
  const ms = parseDuration(text);
  if (Number.isNaN(ms)) throw new UsageError(`invalid --${name}: time: invalid duration "${text}"`);
  return ms;
}

/** Builds the backend; a malformed URL or option becomes a one-line usage error. */
export function openDiscovery(url: string, values: FlagValues, timing: { heartbeatMs: number; ttlMs: number }): Discovery {
  const options = keyValueOptions((values['discovery-opt'] as string[] | undefined) ?? [], '--discovery-opt');
  try {
    return createDiscovery(url, { ...timing, options });
  } catch (err) {
    if (err instanceof DiscoveryError) throw new UsageError(err.message);
    throw err;
  }
}
