import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';

/**
 * A strategy orders the nodes that passed the filters, best first. One file per strategy lives
 * in /strategies. Throws UnsatisfiableError("no resources available to schedule container") when no
 * node can hold the request.
 */
export interface Strategy {
  readonly name: string;
  rank(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[];
}
