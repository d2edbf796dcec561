import type { Filter } from '../lib/scheduler/filter';
import { SchedulerError } from '../lib/scheduler/filter';
import type { SchedulerNode } from '../lib/scheduler/node';
import { listFacts } from '../lib/scheduler/node-list';

/** Keeps nodes whose engine is healthy (HealthIndicator > 0). Fails with classic's verbatim 503. */
export class HealthFilter implements Filter {
  readonly name = 'health';

  filter(_request: unknown, nodes: SchedulerNode[]): SchedulerNode[] {
    if (nodes.length > 0 && listFacts(nodes)?.unhealthy === 0) return nodes;
    const healthy = nodes.filter((n) => n.healthIndicator > 0);
    if (healthy.length === 0) throw new SchedulerError('No healthy node available in the cluster', 503);
    return healthy;
  }

  describe(): string[] {
    return [];
  }
}
