import type { Strategy } from '../lib/scheduler/strategy';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { weighNodes } from './weigh';

/** Places on the least loaded node: lowest projected utilisation, then fewest containers. */
export class SpreadStrategy implements Strategy {
  readonly name = 'spread';

  rank(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    return weighNodes(request, nodes, -10)
      .sort((a, b) => a.weight - b.weight || a.node.containers.length - b.node.containers.length)
      .map((w) => w.node);
  }
}
