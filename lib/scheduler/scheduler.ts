import type { Filter } from './filter';
import { SchedulerError, UnsatisfiableError } from './filter';
import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';
import { onlyExpression, softExpressions, withSoftExpressions, type SoftExpression } from './request-expressions';
import type { Strategy } from './strategy';

export const NO_NODE_MESSAGE = 'Unable to find a node that satisfies the following conditions ';

/**
 * Runs the filter pipeline, then the strategy.
 *
 * Soft expressions are dropped one at a time, not all at once as in classic swarm:
 * 1. Try the request as given (hard and soft expressions).
 * 2. If nothing fits, run the hard expressions alone; if that fails too, its error is the answer
 *    (soft expressions never make a request fail, and the error lists the hard conditions).
 * 3. Otherwise narrow the hard pass's candidates by each soft expression in priority order
 *    (SOFT_PRIORITY: affinities, constraints, whitelists, each in the order written), keeping an
 *    expression only if some candidate still satisfies it. So only the soft expressions that
 *    cannot be honoured together with the hard ones and the higher-priority soft ones are
 *    dropped. Step 3 applies one expression's filter to the surviving candidates, which is
 *    valid because filters judge each node on its own (see Filter).
 * The strategy then ranks the survivors. At most two full passes run, one when everything fits.
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
    }
    // The hard pass's ranking holds only nodes that pass every filter and can hold the request.
    let candidates = this.select(withSoftExpressions(request, []), nodes);
    const kept: SoftExpression[] = [];
    for (const expression of soft) {
      const filter = this.filters.find((f) => f.name === expression.kind);
      if (!filter) continue; // that filter is not enabled (--filter), so the expression is not enforced
      const narrowed = filter.filter(onlyExpression(request, expression), candidates);
      if (narrowed.length > 0) {
        kept.push(expression);
        candidates = narrowed;
      }
    }
    return this.strategy.rank(withSoftExpressions(request, kept), candidates);
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
