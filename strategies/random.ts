import type { Strategy } from '../lib/scheduler/strategy';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';

/** Returns a float in [0, 1), like Math.random (injectable for tests). */
export type RandomSource = () => number;

/** A uniformly random order (Fisher-Yates). As classic, no resource check: the filters still apply. */
export class RandomStrategy implements Strategy {
  readonly name = 'random';

  constructor(private readonly random: RandomSource = Math.random) {}

  rank(_request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    const order = [...nodes];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  best(_request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode {
    return nodes[Math.floor(this.random() * nodes.length)];
  }
}
