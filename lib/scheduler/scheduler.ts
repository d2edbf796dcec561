import type { Filter } from './filter';
import { SchedulerError, UnsatisfiableError } from './filter';
import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';
import { softExpressions, withSoftExpressions, type SoftExpression } from './request-expressions';
import type { Strategy } from './strategy';

export const NO_NODE_MESSAGE = 'Unable to find a node that satisfies the following conditions ';

/**
 * Runs the filter pipeline, then the strategy.
 *
 * Soft expressions are dropped one at a time, not all at once as in classic swarm:
 * 1. Try the request as given (hard and soft expressions).
 * 2. If nothing fits, try the hard expressions alone; if that fails too, its error is the answer
 *    (soft expressions never make a request fail).
 * 3. Otherwise add the soft expressions back one by one in priority order (SOFT_PRIORITY:
 *    affinities, constraints, whitelists, each in the order written), keeping each one only if
 *    some node still fits. Only the soft expressions that cannot be honoured together with the
 *    hard ones and the higher-priority soft ones are dropped.
 * This takes at most (number of soft expressions + 2) passes, and one pass when everything fits.
 */
export class Scheduler {
  constructor(readonly filters: Filter[], readonly strategy: Strategy) {}

  /** Returns candidate nodes, best first. Throws SchedulerError when nothing fits. */
  selectNodes(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    // Parses every expression up front, so a malformed one is a 400 whatever the nodes are.
    const soft = softExpressions(request);
    try {
      return this.select(request, nodes);
    } catch (err) {
      if (!(err instanceof UnsatisfiableError) || soft.length === 0) throw err;
      let best = this.select(withSoftExpressions(request, []), nodes);
      const kept: SoftExpression[] = [];
      for (const expression of soft) {
        const ranked = this.trySelect(withSoftExpressions(request, [...kept, expression]), nodes);
        if (ranked) {
          kept.push(expression);
          best = ranked;
        }
      }
      return best;
    }
  }

  private trySelect(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] | undefined {
    try {
      return this.select(request, nodes);
    } catch (err) {
      if (err instanceof UnsatisfiableError) return undefined;
      throw err;
    }
  }

  private select(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    let candidates = nodes;
    for (let i = 0; i < this.filters.length; i++) {
      const before = candidates;
      candidates = this.filters[i].filter(request, candidates);
      if (candidates.length === 0) {
        if (before.length === 0) throw new SchedulerError('No nodes available in the cluster', 503);
        throw new UnsatisfiableError(this.unmetConditions(request, i));
      }
    }
    if (candidates.length === 0) throw new SchedulerError('No nodes available in the cluster', 503);
    return this.strategy.rank(request, candidates);
  }

  /**
   * Classic's message: the conditions of every filter up to and including the failing one, each
   * non-empty list formatted like Go's `%v` of a []string, e.g.
   * "Unable to find a node that satisfies the following conditions \n[port 80 (Bridge mode)]\n[disk==ssd]".
   */
  private unmetConditions(request: PlacementRequest, failedIndex: number): string {
    let message = NO_NODE_MESSAGE;
    for (let i = 0; i <= failedIndex; i++) {
      const conditions = this.filters[i].describe(request);
      if (conditions.length > 0) message += `\n[${conditions.join(' ')}]`;
    }
    return message;
  }
}
