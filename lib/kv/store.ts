/**
 * The key-value store abstraction behind KV discovery (consul, etcd, zk) and, later, leader
 * election (classic section 2.4). One file per store implements `Store`; lib/kv/index.ts builds
 * the right one from a discovery URL.
 *
 * Keys are "/"-separated paths without a leading slash ("docker/swarm/nodes/10.0.0.1:2375");
 * each backend maps them to its own convention (Consul: no leading slash, etcd and ZooKeeper:
 * leading slash).
 *
 * Failure model: a call against an unreachable store rejects (it never hangs forever), and a
 * watch that loses its store calls `onError` once and stops. Retrying is the caller's policy
 * (discovery re-watches every heartbeat, as classic did), so backends stay simple.
 */

export interface KVPair {
  key: string;
  value: string;
}

export interface PutOptions {
  /**
   * Lifetime of the key; a later put refreshes it. etcd: a lease of this TTL. Consul: a session
   * with TTL ttl/2 and behaviour "delete" (Consul expires sessions only after twice their TTL).
   * ZooKeeper: an ephemeral node, which lives as long as the client's session (timeout = TTL).
   */
  ttlMs?: number;
}

export interface TreeWatcher {
  /** Every direct child of the watched directory, reported first once and then on each change. */
  onList(pairs: KVPair[]): void;
  /** The watch broke (store unreachable, session lost). No further calls follow. */
  onError(error: Error): void;
}

export interface KeyWatcher {
  /** The key's current value (undefined when absent), reported first once and then on each change. */
  onValue(pair: KVPair | undefined): void;
  /** The watch broke. No further calls follow. */
  onError(error: Error): void;
}

export interface LockOptions {
  /** Stored under the lock key while held (the leader's advertise address). */
  value: string;
  /** How long the lock outlives its holder if the holder dies; held locks are renewed in the background. */
  ttlMs: number;
}

/** A lock this process holds (see Lock). */
export interface HeldLock {
  /**
   * Resolves once the holder can no longer count on the lock: after release(), when the store
   * says ownership went away, or when renewals have failed for so long that the lock may expire
   * soon (see lib/kv/lease.ts): always before anyone else can acquire it.
   */
  lost: Promise<void>;
  /** Checked before acting as the holder: true while the last renewal is recent enough. */
  isValid(): boolean;
}

/**
 * A mutual-exclusion lock with a TTL, the primitive leader election needs: `acquire` waits until
 * this holder owns the key (value = options.value). One Lock object is one candidate; acquire
 * again after `lost` to campaign again (a holder that lost contact but still owns the key in the
 * store takes it back).
 */
export interface Lock {
  acquire(): Promise<HeldLock>;
  /** Gives the lock up (deletes the key if held) and stops renewing. Safe to call when not held. */
  release(): Promise<void>;
}

export interface Store {
  get(key: string): Promise<KVPair | undefined>;
  put(key: string, value: string, options?: PutOptions): Promise<void>;
  /** Deletes a key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Direct children of a directory (not deeper descendants, not the directory key itself). */
  list(dir: string): Promise<KVPair[]>;
  /** Watches the direct children of a directory; returns a function that stops the watch. */
  watchTree(dir: string, watcher: TreeWatcher): () => void;
  /** Watches one key; returns a function that stops the watch. */
  watch(key: string, watcher: KeyWatcher): () => void;
  createLock(key: string, options: LockOptions): Lock;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** "a//b/" -> "a/b": the canonical key form used across the interface. */
export function normalizeKey(key: string): string {
  return key.split('/').filter(Boolean).join('/');
}

/** Keeps the pairs that are direct children of `dir` (canonical keys), sorted by key. */
export function directChildren(dir: string, pairs: KVPair[]): KVPair[] {
  const base = normalizeKey(dir);
  const prefix = base ? `${base}/` : '';
  return pairs
    .filter((p) => p.key.startsWith(prefix) && p.key.length > prefix.length && !p.key.slice(prefix.length).includes('/'))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Compares two child lists by key and value, so watchers report only real changes. */
export function samePairs(a: KVPair[], b: KVPair[]): boolean {
  return a.length === b.length && a.every((p, i) => p.key === b[i].key && p.value === b[i].value);
}
