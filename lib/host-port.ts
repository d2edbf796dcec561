/**
 * `host:port` addresses, checked once for every layer that takes them: discovery entries,
 * KV store endpoints, `--advertise`, the token server. Kept at the bottom of the tree so that
 * lib/kv and lib/cli never have to import from discovery/.
 */

/** Validates a `host:port` entry the way Go's net.SplitHostPort does, loosely (port 0..65535). */
export function isHostPort(entry: string): boolean {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
  return m !== null && Number(m[2]) <= 65535;
}

/** Classic's checkAddrFormat (`--advertise`): host:port with a port in 1..65535. */
export function isAdvertiseAddress(addr: string): boolean {
  return isHostPort(addr) && Number(addr.slice(addr.lastIndexOf(':') + 1)) >= 1;
}
