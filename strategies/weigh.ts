import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { SchedulerError } from '../lib/scheduler/filter';

export interface WeightedNode {
  node: SchedulerNode;
  weight: number;
}

/**
 * Classic swarm's weighNodes: projected CPU and memory utilisation (percent, integer) plus a
 * health term. Nodes that cannot hold the request are dropped.
 */
export function weighNodes(request: PlacementRequest, nodes: SchedulerNode[], healthFactor: number): WeightedNode[] {
  const weighted: WeightedNode[] = [];
  for (const node of nodes) {
    if (node.totalMemory < request.memory || node.totalCpus < request.cpus) continue;
    const cpuScore = request.cpus > 0 ? Math.floor(((node.usedCpus + request.cpus) * 100) / node.totalCpus) : 100;
    const memScore = request.memory > 0 ? Math.floor(((node.usedMemory + request.memory) * 100) / node.totalMemory) : 100;
    if (cpuScore <= 100 && memScore <= 100) {
      weighted.push({ node, weight: cpuScore + memScore + healthFactor * node.healthIndicator });
    }
  }
  if (weighted.length === 0) throw new SchedulerError('no resources available to schedule container');
  return weighted;
}
