/**
 * From a KV discovery URL (`etcd://h1:2379,h2:2379/prefix`) and `--discovery-opt`s to what a
 * store needs: endpoints, key prefix, TLS material. Classic semantics (section 1.5): `kv.path`
 * defaults to docker/swarm/nodes; TLS is used only when kv.cacertfile, kv.certfile and
 * kv.keyfile are all set.
 */
import { readFileSync } from 'node:fs';
import { isHostPort } from '../host-port';
import { normalizeKey, StoreError } from './store';

export type StoreBackend = 'consul' | 'etcd' | 'zk';

export interface StoreTLS {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface StoreConfig {
  backend: StoreBackend;
  /** host:port of each server. */
  endpoints: string[];
  /** Key prefix from the URL path, canonical form (may be empty). */
  prefix: string;
  tls?: StoreTLS;
  /** Bound on connecting and on each request, so an unreachable store fails instead of hanging. */
  timeoutMs: number;
}

export const DEFAULT_NODES_PATH = 'docker/swarm/nodes';
const DEFAULT_PORT: Record<StoreBackend, number> = { consul: 8500, etcd: 2379, zk: 2181 };

export function isStoreBackend(scheme: string): scheme is StoreBackend {
  return scheme === 'consul' || scheme === 'etcd' || scheme === 'zk';
}

/** Splits "h1:p,h2:p/some/prefix"; a missing port gets the store's default port. */
export function parseStoreLocation(backend: StoreBackend, location: string): { endpoints: string[]; prefix: string } {
  const slash = location.indexOf('/');
  const hosts = slash < 0 ? location : location.slice(0, slash);
  const prefix = normalizeKey(slash < 0 ? '' : location.slice(slash + 1));
  const endpoints = hosts.split(',').map((h) => h.trim());
  if (hosts === '' || endpoints.some((h) => h === '')) throw new StoreError(`missing ${backend} address in "${backend}://${location}"`);
  const withPorts = endpoints.map((h) => (/:\d*$/.test(h) && !h.endsWith(']') ? h : `${h}:${DEFAULT_PORT[backend]}`));
  for (const endpoint of withPorts) {
    if (!isHostPort(endpoint)) throw new StoreError(`invalid ${backend} address "${endpoint}" in "${backend}://${location}"`);
  }
  if (backend === 'consul' && withPorts.length > 1) throw new StoreError('consul does not support multiple endpoints');
  return { endpoints: withPorts, prefix };
}

/** Reads kv.cacertfile/kv.certfile/kv.keyfile when all three are set (classic ignores partial sets). */
export function readStoreTLS(options: Record<string, string>): StoreTLS | undefined {
  const files = { ca: options['kv.cacertfile'], cert: options['kv.certfile'], key: options['kv.keyfile'] };
  if (!files.ca || !files.cert || !files.key) return undefined;
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new StoreError(`couldn't read ${what} "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { ca: read(files.ca, 'kv.cacertfile'), cert: read(files.cert, 'kv.certfile'), key: read(files.key, 'kv.keyfile') };
}

/** The directory engines register under: <prefix>/<kv.path>. */
export function nodesDirectory(prefix: string, options: Record<string, string>): string {
  return normalizeKey(`${prefix}/${options['kv.path'] ?? DEFAULT_NODES_PATH}`);
}

export function storeConfig(backend: StoreBackend, location: string, options: Record<string, string>, timeoutMs: number): StoreConfig {
  return { backend, ...parseStoreLocation(backend, location), tls: readStoreTLS(options), timeoutMs };
}
