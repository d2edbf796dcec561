/** Plain node, container and request objects for scheduler unit tests. */
import type { NodeContainer, NodeImage, SchedulerNode } from '../../../lib/scheduler/node';
import { emptyRequest, type PlacementRequest } from '../../../lib/scheduler/request';
import { seededRandom } from '../../../testbed/seeded-random';

export function container(overrides: Partial<NodeContainer> = {}): NodeContainer {
  return {
    id: 'c'.repeat(64), names: [], image: 'busybox', labels: {}, state: 'running', cpus: 0, memory: 0,
    networkMode: 'default', portBindings: {}, exposedPorts: [], ...overrides,
  };
}

export function image(overrides: Partial<NodeImage> = {}): NodeImage {
  return { id: `sha256:${'a'.repeat(64)}`, repoTags: [], repoDigests: [], ...overrides };
}

export function node(name: string, overrides: Partial<SchedulerNode> = {}): SchedulerNode {
  return {
    id: `${name.toUpperCase()}-DOCKERID|10.0.0.1:2375`, name, addr: '10.0.0.1:2375', ip: '10.0.0.1',
    labels: {}, totalCpus: 4, totalMemory: 4 * 1024 ** 3, usedCpus: 0, usedMemory: 0, healthIndicator: 100,
    containers: [], images: [], ...overrides,
  };
}

export function request(overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return { ...emptyRequest('busybox'), ...overrides };
}

export function names(nodes: SchedulerNode[]): string[] {
  return nodes.map((n) => n.name);
}

/** Milliseconds taken by `fn`. */
export function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export { seededRandom };
