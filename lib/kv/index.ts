/** Builds the Store for a KV discovery URL's scheme. */
import type { StoreBackend, StoreConfig } from './config';
import { createConsulStore } from './consul';
import { createEtcdStore } from './etcd';
import type { Store } from './store';
import { createZookeeperStore } from './zookeeper';

export interface StoreOptions {
  /** ZooKeeper only: session timeout, i.e. how long ephemeral (TTL'd) keys outlive a dead client. */
  sessionTimeoutMs?: number;
}

const DEFAULT_ZK_SESSION_MS = 10_000; // libkv's ZooKeeper default

export function createStore(config: StoreConfig, options: StoreOptions = {}): Store {
  const factories: Record<StoreBackend, () => Store> = {
    consul: () => createConsulStore(config),
    etcd: () => createEtcdStore(config),
    zk: () => createZookeeperStore(config, options.sessionTimeoutMs ?? DEFAULT_ZK_SESSION_MS),
  };
  return factories[config.backend]();
}
