/** Pieces several list filters share: swarm's `node` filter and dockerd's Go-flavoured messages. */
import { ApiError } from '../../errors';
import type { FilterArgs } from '../../docker/filter-args';

/** The engine identity a `node` filter is matched against. */
export interface NodeIdentity {
  name: string;
  id: string;
}

/**
 * Swarm's own `node` filter, the same on every list: a value equal to the engine's name or ID,
 * or an RE2 regex found in its name (classic: a regex on the name for `ps`, exact for others).
 */
export function nodeMatches(args: FilterArgs, engine: NodeIdentity): boolean {
  if (!args.contains('node')) return true;
  return args.match('node', engine.name) || args.exactMatch('node', engine.id);
}

/** Go's `%s` of a []string: `[a b]` (dockerd's "Invalid filter 'dangling=[x]'"). */
export function goList(values: string[]): string {
  return `[${values.join(' ')}]`;
}

/** dockerd's invalidFilter error: `Invalid filter 'key=value'` (400). */
export function invalidFilter(key: string, value: string): ApiError {
  return new ApiError(400, `Invalid filter '${key}=${value}'`);
}

/** The accepted keys of a list: dockerd's plus swarm's `node`. */
export function acceptedKeys(dockerd: string[]): ReadonlySet<string> {
  return new Set([...dockerd, 'node']);
}
