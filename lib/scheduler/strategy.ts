import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';

/**
 * A strategy orders the nodes that passed the filters, best first. One file per strategy lives
 * in /strategies. Throws UnsatisfiableError("no resources available to schedule container") when no
 * node can hold the request.
 */
export interface Strategy {
  readonly name: string;
  /** The nodes able to hold the request, best first (what create retries walk). */
  rank(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[];
  /**
   * What `rank(request, nodes)[0]` is, without ordering the others: a `docker run` needs no
   * more, and at 5,000 nodes the sort was half of a placement. `nodes` is never empty.
   */
  best(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode;
}
