import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { UnsatisfiableError } from '../lib/scheduler/filter';

export const NO_RESOURCES_MESSAGE = 'no resources available to schedule container';

export interface WeightedNode {
  node: SchedulerNode;
  weight: number;
}

/** Absorbs floating-point noise in fractional CPU sums (0.1 + 0.2 CPUs). */
const EPSILON = 1e-9;

/** Whether the node can still hold the request's CPU and memory reservation (totals include overcommit). */
export function fits(request: PlacementRequest, node: SchedulerNode): boolean {
  if (request.cpus > 0 && node.usedCpus + request.cpus > node.totalCpus + EPSILON) return false;
  if (request.memory > 0 && node.usedMemory + request.memory > node.totalMemory) return false;
  return true;
}

/**
 * Classic swarm's weighNodes: projected CPU and memory utilisation in whole percent (100 when the
 * request reserves none) plus `healthFactor * healthIndicator`. Nodes that cannot hold the
 * request are dropped; if none can, UnsatisfiableError "no resources available to schedule
 * container".
 *
 * Classic quirk fixed: classic kept a node when the truncated percentage was <= 100, so a node
 * could be over-reserved by up to 1% of its capacity; the fit is now checked exactly.
 */
export function weighNodes(request: PlacementRequest, nodes: SchedulerNode[], healthFactor: number): WeightedNode[] {
  const weighted: WeightedNode[] = [];
  for (const node of nodes) {
    if (!fits(request, node)) continue;
    const cpuScore = request.cpus > 0 ? Math.floor(((node.usedCpus + request.cpus) * 100) / node.totalCpus + EPSILON) : 100;
    const memScore = request.memory > 0 ? Math.floor(((node.usedMemory + request.memory) * 100) / node.totalMemory) : 100;
    weighted.push({ node, weight: cpuScore + memScore + healthFactor * node.healthIndicator });
  }
  if (weighted.length === 0) throw new UnsatisfiableError(NO_RESOURCES_MESSAGE);
  return weighted;
}
