import type { Discovery, DiscoveryFactory, DiscoveryOptions } from './discovery';
import { DiscoveryError } from './discovery';
import { createFileDiscovery } from './file';
import { createConsulDiscovery, createEtcdDiscovery, createZookeeperDiscovery } from './kv';
import { createNodesDiscovery } from './nodes';
import { createTokenDiscovery } from './token';

/** Backends by URL scheme. A URL without "scheme://" is a plain node list. */
const BACKENDS: Record<string, DiscoveryFactory> = {
  nodes: createNodesDiscovery,
  file: createFileDiscovery,
  token: createTokenDiscovery,
  consul: createConsulDiscovery,
  etcd: createEtcdDiscovery,
  zk: createZookeeperDiscovery,
};

export function createDiscovery(url: string, options: DiscoveryOptions): Discovery {
  const sep = url.indexOf('://');
  const scheme = sep < 0 ? 'nodes' : url.slice(0, sep);
  const location = sep < 0 ? url : url.slice(sep + 3);
  const factory = Object.hasOwn(BACKENDS, scheme) ? BACKENDS[scheme] : undefined;
  if (!factory) throw new DiscoveryError('discovery service not supported');
  return factory(location, options);
}
