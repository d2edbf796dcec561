import type { Filter } from '../lib/scheduler/filter';
import type { NodeContainer, PortBinding, SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';

/** A host port (range) a container holds or asks for. */
interface HostPortClaim {
  first: number;
  last: number;
  protocol: string;
  /** "" when bound on all interfaces. */
  ip: string;
}

const ALL_INTERFACES = new Set(['', '0.0.0.0', '::']);

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
    const wanted = requestClaims(request);
    if (wanted.length === 0) return nodes;
    return nodes.filter((node) => !node.containers.some((c) => containerClaims(c).some((held) => wanted.some((w) => conflict(w, held)))));
  }

  describe(request: PlacementRequest): string[] {
    if (isHostMode(request.networkMode)) return request.exposedPorts.map((port) => `port ${port} (Host mode)`);
    const conditions: string[] = [];
    for (const bindings of Object.values(request.portBindings)) {
      for (const binding of bindings) if (binding.HostPort) conditions.push(`port ${binding.HostPort} (Bridge mode)`);
    }
    return conditions;
  }
}

function isHostMode(networkMode: string): boolean {
  return networkMode === 'host';
}

function requestClaims(request: PlacementRequest): HostPortClaim[] {
  return claimsOf(request.networkMode, request.exposedPorts, request.portBindings);
}

function containerClaims(container: NodeContainer): HostPortClaim[] {
  return claimsOf(container.networkMode, container.exposedPorts, container.portBindings);
}

function claimsOf(networkMode: string, exposedPorts: string[], portBindings: Record<string, PortBinding[]>): HostPortClaim[] {
  const claims: HostPortClaim[] = [];
  if (isHostMode(networkMode)) {
    for (const port of exposedPorts) {
      const [number, protocol] = splitPort(port);
      const range = parseRange(number);
      if (range) claims.push({ ...range, protocol, ip: '' });
    }
    return claims;
  }
  for (const [port, bindings] of Object.entries(portBindings)) {
    const [, protocol] = splitPort(port);
    for (const binding of bindings) {
      const range = binding.HostPort ? parseRange(binding.HostPort) : undefined;
      if (range) claims.push({ ...range, protocol, ip: binding.HostIp ?? '' });
    }
  }
  return claims;
}

/** "80/tcp" -> ["80", "tcp"]; a port without protocol is tcp, as in Docker. */
function splitPort(port: string): [string, string] {
  const slash = port.indexOf('/');
  return slash < 0 ? [port, 'tcp'] : [port.slice(0, slash), port.slice(slash + 1).toLowerCase()];
}

function parseRange(text: string): { first: number; last: number } | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  return first === 0 ? undefined : { first, last: Math.max(first, last) };
}

function conflict(a: HostPortClaim, b: HostPortClaim): boolean {
  if (a.protocol !== b.protocol || a.last < b.first || b.last < a.first) return false;
  return a.ip === b.ip || ALL_INTERFACES.has(a.ip) || ALL_INTERFACES.has(b.ip);
}
