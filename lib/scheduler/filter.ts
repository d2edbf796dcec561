import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';

/**
 * A filter narrows the candidate nodes for a request. One file per filter lives in /filters.
 *
 * Soft expressions (`==~`, `!=~`) are enforced like hard ones; the scheduler drops the soft
 * expressions it cannot honour by retrying with a request that no longer contains them.
 *
 * A filter must judge each node on its own (keep a node or not, whatever the other candidates
 * are) and treat a request's expressions as a conjunction: the scheduler relies on it to apply
 * soft expressions one at a time to an already filtered candidate list.
 */
export interface Filter {
  readonly name: string;
  /**
   * Returns the nodes that pass (possibly none: the scheduler then builds the "Unable to find a
   * node..." error from `describe`). Throws a SchedulerError for invalid input (400) or a
   * failure with its own verbatim message (the health filter's 503).
   */
  filter(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[];
  /** Human-readable conditions this filter enforces for the request (used in "no node" errors). */
  describe(request: PlacementRequest): string[];
}

/** A scheduling failure; `status` is the HTTP status the API should answer with. */
export class SchedulerError extends Error {
  constructor(message: string, readonly status = 500) {
    super(message);
    this.name = 'SchedulerError';
  }
}

/**
 * No node satisfies the request (filters left nothing, or no node has the resources). The
 * scheduler may retry with soft expressions dropped; the API answers 500 as classic swarm did.
 */
export class UnsatisfiableError extends SchedulerError {
  constructor(message: string) {
    super(message, 500);
    this.name = 'UnsatisfiableError';
  }
}
