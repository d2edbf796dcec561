/**
 * `consul://`, `etcd://`, `zk://`: engines register under <prefix>/<kv.path>/<host:port> (value
 * host:port, classic's layout) and managers watch that directory through the store's native
 * watch. When the store goes away the watch reports the error and is re-established every
 * heartbeat until the store answers again, at which point the full list is reported again.
 */
import { log } from '../lib/log';
import { nodesDirectory, storeConfig, type StoreBackend } from '../lib/kv/config';
import { createStore } from '../lib/kv';
import type { Store } from '../lib/kv/store';
import { StoreError } from '../lib/kv/store';
import type { Discovery, DiscoveryFactory, DiscoveryOptions, DiscoveryWatcher } from './discovery';
import { DiscoveryError } from './discovery';
import { isHostPort } from '../lib/host-port';

/**
 * Bound on connecting to / one request against the store: half a heartbeat (so an unreachable
 * store is reported within the heartbeat, e.g. within `swarm list --timeout`), 1s..10s.
 */
function storeTimeoutMs(heartbeatMs: number): number {
  return Math.min(10_000, Math.max(1_000, heartbeatMs / 2));
}

class KvDiscovery implements Discovery {
  private readonly store: Store;
  private readonly directory: string;
  private stopWatch?: () => void;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(backend: StoreBackend, location: string, private readonly options: DiscoveryOptions) {
    let config;
    try {
      config = storeConfig(backend, location, options.options, storeTimeoutMs(options.heartbeatMs));
    } catch (err) {
      throw new DiscoveryError((err as Error).message);
    }
    log.debug(config.tls ? 'Initializing discovery with TLS' : 'Initializing discovery without TLS', { backend, endpoints: config.endpoints });
    this.directory = nodesDirectory(config.prefix, options.options);
    try {
      this.store = createStore(config, { sessionTimeoutMs: options.ttlMs > 0 ? options.ttlMs : undefined });
    } catch (err) {
      throw new DiscoveryError((err as Error).message);
    }
  }

  watch(watcher: DiscoveryWatcher): void {
    const start = (): void => {
      if (this.closed) return;
      this.stopWatch = this.store.watchTree(this.directory, {
        onList: (pairs) => {
          const values = pairs.map((p) => p.value);
          const invalid = values.filter((v) => !isHostPort(v));
          if (invalid.length > 0) watcher.onError(new DiscoveryError(`ignoring invalid discovery entries under ${this.directory}: ${invalid.join(', ')}`));
          watcher.onEntries(values.filter((v) => isHostPort(v)));
        },
        onError: (err) => {
          if (this.closed) return;
          watcher.onError(err instanceof StoreError ? err : new DiscoveryError(err.message));
          this.retryTimer = setTimeout(start, this.options.heartbeatMs);
        },
      });
    };
    start();
  }

  async register(addr: string): Promise<void> {
    await this.store.put(`${this.directory}/${addr}`, addr, { ttlMs: this.options.ttlMs });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopWatch?.();
    await this.store.close();
  }
}

export const createConsulDiscovery: DiscoveryFactory = (location, options) => new KvDiscovery('consul', location, options);
export const createEtcdDiscovery: DiscoveryFactory = (location, options) => new KvDiscovery('etcd', location, options);
export const createZookeeperDiscovery: DiscoveryFactory = (location, options) => new KvDiscovery('zk', location, options);
