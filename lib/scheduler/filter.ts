import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';

/**
 * A filter narrows the candidate nodes for a request. One file per filter lives in /filters.
 *
 * `soft` is true on the first pass, when soft expressions (`==~`, `!=~`) are honoured; the
 * scheduler retries with soft expressions dropped when nothing fits.
 */
export interface Filter {
  readonly name: string;
  /** Returns the nodes that pass; throws a SchedulerError when none can (or input is invalid). */
  filter(request: PlacementRequest, nodes: SchedulerNode[], soft: boolean): SchedulerNode[];
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
