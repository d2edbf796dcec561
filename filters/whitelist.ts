import type { Filter } from '../lib/scheduler/filter';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { describeExpression } from '../lib/scheduler/expression';
import { requestExpressions } from '../lib/scheduler/request-expressions';

/**
 * Whitelists (`-e whitelist:node==node1|node2`, label com.docker.swarm.whitelists) name the
 * nodes a container may go to: the value is split on `|` and a node passes when its name equals
 * one of the parts exactly (no globs, as classic). The key is not interpreted (classic).
 *
 * Classic quirk fixed: the operator is honoured; `!=` excludes the listed nodes (classic treated
 * `!=` as `==`).
 */
export class WhitelistFilter implements Filter {
  readonly name = 'whitelist';

  filter(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    const whitelists = requestExpressions(request, 'whitelist').map((w) => ({
      names: new Set(w.value.split('|')),
      include: w.operator === '==',
    }));
    if (whitelists.length === 0) return nodes;
    return nodes.filter((node) => whitelists.every((w) => w.names.has(node.name) === w.include));
  }

  describe(request: PlacementRequest): string[] {
    return requestExpressions(request, 'whitelist').map((w) => describeExpression(w, true));
  }
}
