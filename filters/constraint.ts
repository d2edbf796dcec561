import type { Filter } from '../lib/scheduler/filter';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { applyOperator, describeExpression, type Expression } from '../lib/scheduler/expression';
import { requestExpressions } from '../lib/scheduler/request-expressions';

/**
 * Constraints (`-e constraint:...`, label com.docker.swarm.constraints) select nodes by:
 * - `node`: the node's cluster ID (`<docker ID>|<addr>`), its Docker ID alone, or its name;
 * - `node.id`: the cluster ID or Docker ID; `node.name` / `node.hostname`: the name;
 * - `node.labels.<k>` / `engine.labels.<k>`: engine label `<k>`; `node.platform.os`: `ostype`;
 * - any other key: the engine label of that name ("" if unset), including the built-ins
 *   `storagedriver`, `kernelversion`, `operatingsystem` and `ostype`.
 * The `node.*` / `engine.labels.*` forms (which users carry over from swarm mode) take precedence
 * over engine labels with the same literal name.
 *
 * Classic quirks fixed: the `node.*` forms (classic looked them up as engine labels, so they
 * never matched) and the Docker ID alone (classic needed `<docker ID>|<addr>`).
 */
export class ConstraintFilter implements Filter {
  readonly name = 'constraint';

  filter(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    const constraints = requestExpressions(request, 'constraint');
    if (constraints.length === 0) return nodes;
    const tests = constraints.map(compileConstraint);
    return nodes.filter((node) => tests.every((test) => test(node)));
  }

  describe(request: PlacementRequest): string[] {
    return requestExpressions(request, 'constraint').map((c) => describeExpression(c, false));
  }
}

const LABEL_KEY_PREFIXES = ['node.labels.', 'engine.labels.'];

type Matcher = (candidate: string) => boolean;

/**
 * What a constraint key reads from a node: whether any of its candidate strings matches.
 * Written as visitors rather than candidate arrays so a decision over many nodes allocates nothing.
 */
function candidateSearch(key: string): (node: SchedulerNode, matches: Matcher) => boolean {
  switch (key) {
    case 'node':
      return (node, matches) => matches(node.name) || matches(node.id) || matches(dockerId(node));
    case 'node.id':
      return (node, matches) => matches(node.id) || matches(dockerId(node));
    case 'node.name':
    case 'node.hostname':
      return (node, matches) => matches(node.name);
    case 'node.platform.os':
      return (node, matches) => matches(node.labels.ostype ?? '');
  }
  const prefix = LABEL_KEY_PREFIXES.find((p) => key.startsWith(p) && key.length > p.length);
  const label = prefix ? key.slice(prefix.length) : key;
  return (node, matches) => matches(node.labels[label] ?? '');
}

function compileConstraint(constraint: Expression): (node: SchedulerNode) => boolean {
  const search = candidateSearch(constraint.key);
  return (node) => applyOperator(constraint, search(node, constraint.matches));
}

/** The engine's Docker ID: the part of the cluster ID before `|`. */
function dockerId(node: SchedulerNode): string {
  const bar = node.id.indexOf('|');
  return bar < 0 ? node.id : node.id.slice(0, bar);
}
