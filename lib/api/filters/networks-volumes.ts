/**
 * `docker network ls` and `docker volume ls` filters with dockerd 20.10's semantics
 * (moby `daemon/network/filter.go`, `volume/service/convert.go`), per engine.
 *
 * Networks: `driver` and `scope` exact; `name` and `id` RE2 regexes (or exact) on the engine's
 * own name and ID (not the `node/name` the manager shows: use `node=`); `label`; `type`
 * (`builtin` = bridge/host/none/default, `custom` = the rest); `dangling` (dockerd 20.10's list
 * carries no endpoints, so `dangling=true` means every non-predefined network).
 * Volumes: `name` regex on the engine's own name, `driver`, `label`, `dangling` (no container on
 * that engine mounts it).
 */
import { ApiError } from '../../errors';
import type { FilterArgs } from '../../docker/filter-args';
import type { NetworkRecord, VolumeRecord } from '../../engine/records';
import { acceptedKeys, goList, invalidFilter, nodeMatches, type NodeIdentity } from './common';

export const NETWORK_FILTER_KEYS = acceptedKeys(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
export const VOLUME_FILTER_KEYS = acceptedKeys(['dangling', 'name', 'driver', 'label']);

const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none', 'default']);

export interface NetworkFilter {
  engineMatches(engine: NodeIdentity): boolean;
  test(network: NetworkRecord): boolean;
}

export function compileNetworkFilter(args: FilterArgs): NetworkFilter {
  args.validate(NETWORK_FILTER_KEYS);
  let dangling: boolean | undefined;
  const danglingValues = args.get('dangling');
  if (danglingValues.length > 1) throw new ApiError(400, 'got more than one value for filter key "dangling"');
  if (danglingValues.length === 1) {
    const v = danglingValues[0];
    if (v === '1' || v === 'true') dangling = true;
    else if (v === '0' || v === 'false') dangling = false;
    else throw new ApiError(400, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  }
  let types: Set<string> | undefined;
  if (args.contains('type')) {
    types = new Set(args.get('type'));
    for (const t of types) if (t !== 'builtin' && t !== 'custom') throw new ApiError(400, `invalid filter: 'type'='${t}'`);
  }
  const has = (key: string): boolean => args.contains(key);
  return {
    engineMatches: (engine) => nodeMatches(args, engine),
    test(n) {
      if (has('driver') && !args.exactMatch('driver', n.Driver)) return false;
      if (has('name') && !args.match('name', n.Name)) return false;
      if (has('id') && !args.match('id', n.Id)) return false;
      if (has('label') && !args.matchKVList('label', n.Labels)) return false;
      if (has('scope') && !args.exactMatch('scope', n.Scope)) return false;
      const predefined = PREDEFINED_NETWORKS.has(n.Name);
      const inUse = Object.keys((n.Containers as Record<string, unknown> | undefined) ?? {}).length > 0;
      if (dangling === true && (predefined || inUse)) return false;
      if (dangling === false && !(predefined || inUse)) return false;
      if (types && !types.has(predefined ? 'builtin' : 'custom')) return false;
      return true;
    },
  };
}

export interface VolumeFilter {
  engineMatches(engine: NodeIdentity): boolean;
  /** Whether the filter needs the engine's volume references (dangling). */
  readonly needsReferences: boolean;
  /** `referenced`: names of the engine's volumes some container mounts. */
  test(volume: VolumeRecord, referenced: ReadonlySet<string>): boolean;
}

export function compileVolumeFilter(args: FilterArgs): VolumeFilter {
  args.validate(VOLUME_FILTER_KEYS);
  let dangling: boolean | undefined;
  if (args.contains('dangling')) {
    if (args.exactMatch('dangling', 'true') || args.exactMatch('dangling', '1')) dangling = true;
    else if (args.exactMatch('dangling', 'false') || args.exactMatch('dangling', '0')) dangling = false;
    else throw invalidFilter('dangling', goList(args.get('dangling')));
  }
  const drivers = args.get('driver');
  const hasName = args.contains('name');
  return {
    engineMatches: (engine) => nodeMatches(args, engine),
    needsReferences: dangling !== undefined,
    test(v, referenced) {
      if (drivers.length > 0 && !drivers.includes(v.Driver)) return false;
      if (hasName && !args.match('name', v.Name)) return false;
      if (!args.matchKVList('label', v.Labels)) return false;
      if (dangling !== undefined && referenced.has(v.Name) === dangling) return false;
      return true;
    },
  };
}
