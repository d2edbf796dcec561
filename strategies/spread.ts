import type { Strategy } from '../lib/scheduler/strategy';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { bestByWeight, rankByWeight } from './weigh';

/** Health weighs against the node: healthier nodes get a lower (better) weight. */
export const SPREAD_HEALTH_FACTOR = -10;

/**
 * Places on the least loaded node: lowest weight (projected utilisation, health), then fewest
 * containers (all states). Remaining ties keep the cluster's node order (classic: random).
 */
export class SpreadStrategy implements Strategy {
  readonly name = 'spread';

  rank(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    return rankByWeight(request, nodes, SPREAD_HEALTH_FACTOR, 'lightest-first');
  }

  best(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode {
    return bestByWeight(request, nodes, SPREAD_HEALTH_FACTOR, 'lightest-first');
  }
}
