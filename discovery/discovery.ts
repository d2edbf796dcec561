/**
 * Discovery: where the manager learns which engines form the cluster, and where `swarm join`
 * registers an engine. One small file per backend implements this interface; discovery/index.ts
 * maps URL schemes to backends.
 */

export interface DiscoveryOptions {
  /** Poll period for polling backends (file, token); retry delay after a watch error. */
  heartbeatMs: number;
  /** Registration lifetime used by `register` (KV TTL, token ?ttl=). */
  ttlMs: number;
  /** `--discovery-opt key=value` pairs (kv.path, kv.cacertfile, token.url, ...). */
  options: Record<string, string>;
}

export interface DiscoveryWatcher {
  /** The full current list of engine addresses (host:port); called whenever it changes. */
  onEntries(entries: string[]): void;
  /** A transient failure (store unreachable, file unreadable). Watching continues. */
  onError(error: Error): void;
}

export interface Discovery {
  /** Starts watching. The first successful read is always reported, even if empty. */
  watch(watcher: DiscoveryWatcher): void;
  /** Registers (or refreshes) one engine address for `ttlMs`. */
  register(addr: string): Promise<void>;
  /** Stops watches and releases connections. */
  close(): Promise<void>;
}

/** Builds a backend from the part of the URL after "scheme://". */
export type DiscoveryFactory = (location: string, options: DiscoveryOptions) => Discovery;

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

/** The backend cannot do this at all (e.g. `join` on file:// or nodes://): retrying is pointless. */
export class UnsupportedError extends DiscoveryError {
  constructor(message = 'not implemented in this discovery service') {
    super(message);
    this.name = 'UnsupportedError';
  }
}
