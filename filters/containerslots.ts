import type { Filter } from '../lib/scheduler/filter';
import type { SchedulerNode } from '../lib/scheduler/node';
import { listFacts } from '../lib/scheduler/node-list';

/** Engine label limiting how many containers (any state, pending included) a node may hold. */
export const CONTAINER_SLOTS_LABEL = 'containerslots';

/**
 * Keeps a node unless its `containerslots` label is a whole number and the node already holds
 * that many containers. A missing or non-numeric label means "no limit" (classic).
 */
export class ContainerSlotsFilter implements Filter {
  readonly name = 'containerslots';

  filter(_request: unknown, nodes: SchedulerNode[]): SchedulerNode[] {
    const facts = listFacts(nodes);
    if (facts && !facts.labelCounts.has(CONTAINER_SLOTS_LABEL)) return nodes; // no node is limited
    return nodes.filter((node) => {
      const raw = node.labels[CONTAINER_SLOTS_LABEL];
      if (raw === undefined || !/^[+-]?\d+$/.test(raw.trim())) return true;
      return node.containers.length < Number(raw.trim());
    });
  }

  describe(): string[] {
    return ['available container slots'];
  }
}
