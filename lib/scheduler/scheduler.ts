import type { Filter } from './filter';
import { SchedulerError, UnsatisfiableError } from './filter';
import type { SchedulerNode } from './node';
import type { PlacementRequest } from './request';
import { onlyExpression, softExpressions, withSoftExpressions, type SoftExpression } from './request-expressions';
import type { Strategy } from './strategy';

export const NO_NODE_MESSAGE = 'Unable to find a node that satisfies the following conditions ';

/** What one filter did during a placement: how many nodes it saw and which it removed. */
export interface FilterStep {
  filter: string;
  before: number;
  /** Names of the nodes it removed. */
  removed: string[];
}

/** A placement's answer with its explanation (for logs, metrics and error messages). */
export interface Placement {
  /** The candidate ranked first. */
  best: SchedulerNode;
  /** Every candidate, best first; ordered on the first call only (most placements need `best` alone). */
  ranked(): SchedulerNode[];
  /** The filters of the pass that produced `ranked`, then one step per soft expression applied. */
  steps: FilterStep[];
  /** Soft expressions dropped because they could not be honoured. */
  droppedSoft: string[];
}

/** At most this many node names are listed per filter in a refusal message. */
const NAMES_LISTED = 10;

/**
 * No node satisfies the request. `filter` names what removed the last candidates (a filter's
 * name, or "resources" when the strategy found no node able to hold the reservation); `steps`
 * says what every filter removed. The message is classic's, plus one line per filter that
 * removed nodes, e.g. "constraint filter removed 3 of 3 nodes: node-0, node-1, node-2".
 */
export class PlacementRefused extends UnsatisfiableError {
  constructor(message: string, readonly filter: string, readonly steps: FilterStep[]) {
    super(message + removalLines(steps));
    this.name = 'PlacementRefused';
  }
}

function removalLines(steps: FilterStep[]): string {
  let lines = '';
  for (const step of steps) {
    if (step.removed.length === 0) continue;
    const listed = step.removed.slice(0, NAMES_LISTED).join(', ');
    const more = step.removed.length > NAMES_LISTED ? ` and ${step.removed.length - NAMES_LISTED} more` : '';
    lines += `\n${step.filter} filter removed ${step.removed.length} of ${step.before} nodes: ${listed}${more}`;
  }
  return lines;
}

/**
 * Names of the nodes in `before` that are not in `after` (filters keep the order and identity).
 * Runs for every filter of every placement: the common cases (a filter removed nothing, or
 * everything) cost nothing, instead of a Set of every node per filter (at 5,000 nodes that was
 * three quarters of a placement's time).
 */
function removedNodes(before: SchedulerNode[], after: SchedulerNode[]): string[] {
  if (after.length === before.length) return [];
  if (after.length === 0) return before.map((n) => n.name);
  const kept = new Set(after);
  return before.filter((n) => !kept.has(n)).map((n) => n.name);
}

/**
 * Why the first candidate won, for a debug log: the strategy and the leading candidates' load
 * (what spread and binpack weigh: containers, reserved CPUs and memory, health).
 */
export function describeRanking(strategy: string, ranked: SchedulerNode[], shown = 3): string {
  const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  const describe = (n: SchedulerNode): string =>
    `${n.name} (${n.containers.length} containers, ${n.usedCpus}/${n.totalCpus} CPUs, ${gib(n.usedMemory)}/${gib(n.totalMemory)} reserved, health ${n.healthIndicator})`;
  if (ranked.length === 0) return `${strategy}: no candidate`;
  const rest = ranked.slice(1, shown).map(describe);
  return `${strategy} chose ${describe(ranked[0])} among ${ranked.length} candidates` + (rest.length > 0 ? `; next: ${rest.join(', ')}` : '');
}

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
    return this.place(request, nodes).ranked();
  }

  /**
   * selectNodes with its explanation: what each filter removed and which soft expressions were
   * dropped. Throws PlacementRefused (a 500 UnsatisfiableError) when nothing fits.
   */
  place(request: PlacementRequest, nodes: SchedulerNode[]): Placement {
    // Parses every expression up front, so a malformed one is a 400 whatever the nodes are.
    const soft = softExpressions(request);
    try {
      return this.select(request, nodes);
    } catch (err) {
      if (!(err instanceof UnsatisfiableError) || soft.length === 0) throw err;
    }
    // The hard pass's ranking holds only nodes that pass every filter and can hold the request.
    const hard = this.select(withSoftExpressions(request, []), nodes);
    let candidates = hard.ranked();
    const steps = [...hard.steps];
    const kept: SoftExpression[] = [];
    const droppedSoft: string[] = [];
    for (const expression of soft) {
      const filter = this.filters.find((f) => f.name === expression.kind);
      if (!filter) continue; // that filter is not enabled (--filter), so the expression is not enforced
      const narrowed = filter.filter(onlyExpression(request, expression), candidates);
      if (narrowed.length > 0) {
        kept.push(expression);
        steps.push({ filter: `${filter.name} (soft)`, before: candidates.length, removed: removedNodes(candidates, narrowed) });
        candidates = narrowed;
      } else {
        droppedSoft.push(`${expression.kind}:${expression.text}`);
      }
    }
    return { ...this.ranking(withSoftExpressions(request, kept), candidates), steps, droppedSoft };
  }

  /** The strategy's best candidate now, its full ranking when asked (once). */
  private ranking(request: PlacementRequest, candidates: SchedulerNode[]): Pick<Placement, 'best' | 'ranked'> {
    const best = this.strategy.best(request, candidates);
    let ranked: SchedulerNode[] | undefined;
    return { best, ranked: () => (ranked ??= this.strategy.rank(request, candidates)) };
  }

  private select(request: PlacementRequest, nodes: SchedulerNode[]): Placement {
    let candidates = nodes;
    const steps: FilterStep[] = [];
    for (let i = 0; i < this.filters.length; i++) {
      const before = candidates;
      candidates = this.filters[i].filter(request, candidates);
      steps.push({ filter: this.filters[i].name, before: before.length, removed: removedNodes(before, candidates) });
      if (candidates.length === 0) {
        if (before.length === 0) throw new SchedulerError('No nodes available in the cluster', 503);
        throw new PlacementRefused(this.unmetConditions(request, i), this.filters[i].name, steps);
      }
    }
    if (candidates.length === 0) throw new SchedulerError('No nodes available in the cluster', 503);
    try {
      return { ...this.ranking(request, candidates), steps, droppedSoft: [] };
    } catch (err) {
      if (!(err instanceof UnsatisfiableError) || err instanceof PlacementRefused) throw err;
      // The strategy found no node able to hold the reservation: every candidate is "removed".
      throw new PlacementRefused(err.message, 'resources', [...steps, { filter: 'resources', before: candidates.length, removed: candidates.map((n) => n.name) }]);
    }
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
