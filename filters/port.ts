import type { Filter } from '../lib/scheduler/filter';
import type { NodeContainer, PortBinding, SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { nodeIndex } from '../lib/scheduler/node-index';

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
    return nodes.filter((node) => !nodeIndex(node.containers).portHolders.some((c) => holdsAnyOf(c, wanted)));
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

/** Whether the container holds a host port overlapping one of `wanted` (parsed in place, no allocation). */
function holdsAnyOf(container: NodeContainer, wanted: HostPortClaim[]): boolean {
  if (isHostMode(container.networkMode)) {
    for (const port of container.exposedPorts) {
      const slash = port.indexOf('/');
      const protocol = slash < 0 ? 'tcp' : port.slice(slash + 1).toLowerCase();
      if (overlapsWanted(wanted, slash < 0 ? port : port.slice(0, slash), protocol, '')) return true;
    }
    return false;
  }
  const bindingsByPort = container.portBindings;
  for (const port in bindingsByPort) {
    const bindings = bindingsByPort[port];
    if (bindings.length === 0) continue;
    const slash = port.indexOf('/');
    const protocol = slash < 0 ? 'tcp' : port.slice(slash + 1).toLowerCase();
    for (const binding of bindings) {
      if (binding.HostPort && overlapsWanted(wanted, binding.HostPort, protocol, binding.HostIp ?? '')) return true;
    }
  }
  return false;
}

function overlapsWanted(wanted: HostPortClaim[], hostPort: string, protocol: string, ip: string): boolean {
  let first: number;
  let last: number;
  const single = Number(hostPort);
  if (Number.isInteger(single)) {
    first = last = single;
  } else {
    const range = parseRange(hostPort);
    if (!range) return false;
    ({ first, last } = range);
  }
  if (first <= 0) return false;
  for (const w of wanted) {
    if (w.protocol !== protocol || w.last < first || last < w.first) continue;
    if (w.ip === ip || ALL_INTERFACES.has(w.ip) || ALL_INTERFACES.has(ip)) return true;
  }
  return false;
}

/** The host ports a request (or container) with this configuration claims. */
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
  const single = Number(text);
  if (Number.isInteger(single)) return single > 0 ? { first: single, last: single } : undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  return first === 0 ? undefined : { first, last: Math.max(first, last) };
}
