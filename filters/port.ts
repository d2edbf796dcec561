import type { Filter } from '../lib/scheduler/filter';
import type { SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { claimsConflict, hostPortClaims } from '../lib/scheduler/host-ports';
import { nodeIndex } from '../lib/scheduler/node-index';

/**
 * Rejects nodes where a requested host port is already taken.
 *
 * Bridge (any non-host network mode): each published binding with a HostPort claims that port.
 * Host mode: each exposed port claims that port on all interfaces. A node is rejected when any of
 * its containers (running, stopped or pending, as classic) claims an overlapping port with the
 * same protocol on the same IP, or when either side binds all interfaces.
 *
 * Classic quirks fixed: the protocol is compared (classic rejected 53/udp because of 53/tcp);
 * host-mode and bridge containers conflict with each other (classic compared host mode only with
 * host mode and bridge only with bridge bindings, although both take the same host port);
 * port ranges ("8000-8010") are compared as ranges.
 */
export class PortFilter implements Filter {
  readonly name = 'port';

  filter(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    const wanted = hostPortClaims(request.networkMode, request.exposedPorts, request.portBindings);
    if (wanted.length === 0) return nodes;
    return nodes.filter((node) => !nodeIndex(node.containers).hostPorts.some((held) => wanted.some((w) => claimsConflict(w, held))));
  }

  describe(request: PlacementRequest): string[] {
    if (request.networkMode === 'host') return request.exposedPorts.map((port) => `port ${port} (Host mode)`);
    const conditions: string[] = [];
    for (const bindings of Object.values(request.portBindings)) {
      for (const binding of bindings) if (binding.HostPort) conditions.push(`port ${binding.HostPort} (Bridge mode)`);
    }
    return conditions;
  }
}
