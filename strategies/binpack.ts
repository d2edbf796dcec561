import type { Strategy } from '../lib/scheduler/strategy';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { bestByWeight, rankByWeight } from './weigh';

/** Health counts for the node: healthier nodes get a higher (better) weight. */
export const BINPACK_HEALTH_FACTOR = 10;

/**
 * Fills nodes one after the other: highest weight (the fullest node that still fits), then most
 * containers (all states). Remaining ties keep the cluster's node order (classic: random).
 */
export class BinpackStrategy implements Strategy {
  readonly name = 'binpack';

  rank(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    return rankByWeight(request, nodes, BINPACK_HEALTH_FACTOR, 'heaviest-first');
  }

  best(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode {
    return bestByWeight(request, nodes, BINPACK_HEALTH_FACTOR, 'heaviest-first');
  }
}
