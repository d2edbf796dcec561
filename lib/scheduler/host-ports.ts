/** Host ports taken by a container or asked for by a request: what the port filter compares. */
import type { PortBinding } from './node';

/** A host port range held on one IP ("" = all interfaces) for one protocol. */
export interface HostPortClaim {
  first: number;
  last: number;
  protocol: string;
  ip: string;
}

const ALL_INTERFACES = new Set(['', '0.0.0.0', '::']);

/**
 * The host ports a container configuration claims. Host network mode: every exposed port, on
 * all interfaces. Any other mode: every published binding with a HostPort (an empty HostPort
 * means "any free port" and claims nothing).
 */
export function hostPortClaims(networkMode: string, exposedPorts: readonly string[], portBindings: Readonly<Record<string, PortBinding[]>>): HostPortClaim[] {
  const claims: HostPortClaim[] = [];
  if (networkMode === 'host') {
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

/** Same protocol, overlapping ports, and the same IP or either side on all interfaces. */
export function claimsConflict(a: HostPortClaim, b: HostPortClaim): boolean {
  if (a.protocol !== b.protocol || a.last < b.first || b.last < a.first) return false;
  return a.ip === b.ip || ALL_INTERFACES.has(a.ip) || ALL_INTERFACES.has(b.ip);
}

/** "80/tcp" -> ["80", "tcp"]; a port without protocol is tcp, as in Docker. */
function splitPort(port: string): [string, string] {
  const slash = port.indexOf('/');
  return slash < 0 ? [port, 'tcp'] : [port.slice(0, slash), port.slice(slash + 1).toLowerCase()];
}

/** "80" or "8000-8010"; undefined for anything else or port 0. */
function parseRange(text: string): { first: number; last: number } | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  return first === 0 ? undefined : { first, last: Math.max(first, last) };
}
