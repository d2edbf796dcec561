import type { Filter } from '../lib/scheduler/filter';
import { AffinityFilter } from './affinity';
import { ConstraintFilter } from './constraint';
import { ContainerSlotsFilter } from './containerslots';
import { DependencyFilter } from './dependency';
import { HealthFilter } from './health';
import { PortFilter } from './port';
import { WhitelistFilter } from './whitelist';

/** Every filter swarm knows, by the name used with `--filter`, in classic's default order. */
const FACTORIES: Record<string, () => Filter> = {
  health: () => new HealthFilter(),
  port: () => new PortFilter(),
  containerslots: () => new ContainerSlotsFilter(),
  dependency: () => new DependencyFilter(),
  affinity: () => new AffinityFilter(),
  constraint: () => new ConstraintFilter(),
  whitelist: () => new WhitelistFilter(),
};

export const DEFAULT_FILTERS = ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'whitelist'];

export function knownFilters(): string[] {
  return Object.keys(FACTORIES);
}

/** Builds filters by name, in the given order; throws "filter not supported" for unknown names. */
export function createFilters(names: string[]): Filter[] {
  return names.map((name) => {
    const factory = FACTORIES[name];
    if (!factory) throw new Error('filter not supported');
    return factory();
  });
}
