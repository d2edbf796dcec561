import type { Discovery, DiscoveryFactory, DiscoveryOptions } from './discovery';
import { DiscoveryError } from './discovery';
import { createFileDiscovery } from './file';
import { createNodesDiscovery } from './nodes';

/** Backends by URL scheme. A URL without "scheme://" is a plain node list. */
const BACKENDS: Record<string, DiscoveryFactory> = {
  nodes: createNodesDiscovery,
  file: createFileDiscovery,
};

export function createDiscovery(url: string, options: DiscoveryOptions): Discovery {
  const sep = url.indexOf('://');
  const scheme = sep < 0 ? 'nodes' : url.slice(0, sep);
  const location = sep < 0 ? url : url.slice(sep + 3);
  const factory = BACKENDS[scheme];
  if (!factory) throw new DiscoveryError('discovery service not supported');
  return factory(location, options);
}
