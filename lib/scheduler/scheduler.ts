import type { Filter } from './filter';
import { SchedulerError } from './filter';
import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';
import type { Strategy } from './strategy';

/**
 * Runs the filter pipeline and the strategy. The first pass honours soft expressions; if it
 * fails, the request is retried without them.
 */
export class Scheduler {
  constructor(readonly filters: Filter[], readonly strategy: Strategy) {}

  /** Returns candidate nodes, best first. Throws SchedulerError when nothing fits. */
  selectNodes(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    try {
      return this.select(request, nodes, true);
    } catch (err) {
      if (!(err instanceof SchedulerError)) throw err;
      return this.select(request, nodes, false);
    }
  }

  private select(request: PlacementRequest, nodes: SchedulerNode[], soft: boolean): SchedulerNode[] {
    let candidates = nodes;
    for (const filter of this.filters) {
      candidates = filter.filter(request, candidates, soft);
    }
    if (candidates.length === 0) throw new SchedulerError('No nodes available in the cluster', 503);
    return this.strategy.rank(request, candidates);
  }
}
