/**
 * etcd through its v3 API (the etcd3 client). Classic swarm spoke etcd's v2 API, so a classic
 * manager does not see swarm-ts registrations in etcd (it does for consul and zk).
 * TTLs are leases; watches are etcd's native watch streams, resumed from the listed revision so
 * no change between the list and the watch is missed.
 */
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import type { StoreConfig } from './config';
import type { HeldLock, KeyWatcher, KVPair, Lock, LockOptions, PutOptions, Store, TreeWatcher } from './store';
import { LeaseKeeper } from './lease';
import { directChildren, normalizeKey, samePairs, StoreError } from './store';

/** etcd keys carry a leading slash, like classic's etcd v2 keys (/docker/swarm/nodes/...). */
const toEtcd = (key: string): string => `/${normalizeKey(key)}`;
const fromEtcd = (key: Buffer | string): string => normalizeKey(key.toString());

/**
 * grpc-js passes an IP endpoint as the TLS servername, for which Node prints DEP0123 on stderr.
 * The warning is about grpc-js internals, not anything the user did, and it would break the
 * CLI's one-line errors, so exactly that warning is dropped (others pass through).
 */
let servernameWarningFiltered = false;
function filterServernameWarning(): void {
  if (servernameWarningFiltered) return;
  servernameWarningFiltered = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

class EtcdStore implements Store {
  private readonly client: Etcd3;

  constructor(private readonly config: StoreConfig) {
    const scheme = config.tls ? 'https' : 'http';
    if (config.tls) filterServernameWarning();
    this.client = new Etcd3({
      hosts: config.endpoints.map((e) => `${scheme}://${e}`),
      dialTimeout: config.timeoutMs,
      ...(config.tls ? { credentials: { rootCertificate: config.tls.ca, certChain: config.tls.cert, privateKey: config.tls.key } } : {}),
    });
  }

  /** Per-call deadline: without it a call against a dead cluster waits for the channel forever. */
  private callOptions(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.config.timeoutMs) };
  }

  async get(key: string): Promise<KVPair | undefined> {
    const value = await wrap(this.client.get(toEtcd(key)).options(this.callOptions()).string());
    return value === null ? undefined : { key: normalizeKey(key), value };
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<void> {
    if (options.ttlMs === undefined) {
      await wrap(this.client.put(toEtcd(key)).value(value).options(this.callOptions()).exec());
      return;
    }
    // A fresh lease per put mirrors a v2 "set with TTL": each put pushes expiry ttl into the
    // future. The previous lease is left to expire on its own with nothing attached.
    const lease = this.client.lease(ttlSeconds(options.ttlMs), { autoKeepAlive: false, ...this.callOptions() });
    lease.on('lost', () => undefined); // a lost un-kept lease is expected; do not crash on the event
    await wrap(lease.put(toEtcd(key)).value(value).options(this.callOptions()).exec());
    lease.release();
  }

  async delete(key: string): Promise<void> {
    await wrap(this.client.delete().key(toEtcd(key)).options(this.callOptions()).exec());
  }

  async list(dir: string): Promise<KVPair[]> {
    return (await this.listWithRevision(dir)).pairs;
  }

  private async listWithRevision(dir: string): Promise<{ pairs: KVPair[]; revision: string }> {
    const res = await wrap(this.client.getAll().prefix(`${toEtcd(dir)}/`).options(this.callOptions()).exec());
    const pairs = res.kvs.map((kv) => ({ key: fromEtcd(kv.key), value: kv.value.toString() }));
    return { pairs: directChildren(dir, pairs), revision: res.header.revision };
  }

  watchTree(dir: string, watcher: TreeWatcher): () => void {
    const state = new Map<string, string>();
    let last: KVPair[] | undefined;
    const report = (): void => {
      const pairs = directChildren(dir, [...state].map(([key, value]) => ({ key, value })));
      if (last && samePairs(last, pairs)) return;
      last = pairs;
      watcher.onList(pairs);
    };
    return this.watchFrom(
      () => this.listWithRevision(dir),
      (initial) => {
        for (const p of initial.pairs) state.set(p.key, p.value);
        report();
      },
      (b) => b.prefix(`${toEtcd(dir)}/`),
      {
        put: (kv) => {
          state.set(fromEtcd(kv.key), kv.value.toString());
          report();
        },
        delete: (kv) => {
          state.delete(fromEtcd(kv.key));
          report();
        },
      },
      watcher.onError,
    );
  }

  watch(key: string, watcher: KeyWatcher): () => void {
    const name = normalizeKey(key);
    return this.watchFrom(
      async () => {
        const res = await wrap(this.client.get(toEtcd(key)).options(this.callOptions()).exec());
        return { pairs: res.kvs.map((kv) => ({ key: name, value: kv.value.toString() })), revision: res.header.revision };
      },
      (initial) => watcher.onValue(initial.pairs[0]),
      (b) => b.key(toEtcd(key)),
      { put: (kv) => watcher.onValue({ key: name, value: kv.value.toString() }), delete: () => watcher.onValue(undefined) },
      watcher.onError,
    );
  }

  /**
   * Shared list-then-watch plumbing: reads the current state, then watches from the next
   * revision. The etcd3 client would silently reconnect a broken stream; we surface the
   * disconnect as an error instead so the caller sees (and logs) the outage.
   */
  private watchFrom(
    read: () => Promise<{ pairs: KVPair[]; revision: string }>,
    onInitial: (initial: { pairs: KVPair[]; revision: string }) => void,
    select: (builder: ReturnType<Etcd3['watch']>) => ReturnType<Etcd3['watch']>,
    events: { put: (kv: IKeyValue) => void; delete: (kv: IKeyValue) => void },
    onError: (error: Error) => void,
  ): () => void {
    let stopped = false;
    let etcdWatcher: Watcher | undefined;
    const fail = (err: Error): void => {
      if (stopped) return;
      stopped = true;
      void etcdWatcher?.cancel().catch(() => undefined);
      onError(err instanceof StoreError ? err : new StoreError(`etcd watch failed: ${err.message}`));
    };
    void (async () => {
      try {
        const initial = await read();
        if (stopped) return;
        onInitial(initial);
        const w = select(this.client.watch()).startRevision(String(BigInt(initial.revision) + 1n)).watcher();
        etcdWatcher = w;
        w.on('put', (kv) => !stopped && events.put(kv));
        w.on('delete', (kv) => !stopped && events.delete(kv));
        w.on('disconnected', (err) => fail(new StoreError(`etcd watch disconnected: ${describe(err)}`)));
        w.on('error', (err) => fail(err));
      } catch (err) {
        fail(err as Error);
      }
    })();
    return () => {
      stopped = true;
      void etcdWatcher?.cancel().catch(() => undefined);
    };
  }

  createLock(key: string, options: LockOptions): Lock {
    return new EtcdLock(this.client, toEtcd(key), options, () => this.callOptions());
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/**
 * A lease-backed lock: the key is created only if absent (create revision 0) and bound to a
 * lease. The lease is renewed by LeaseKeeper (not etcd3's auto keepalive, which never tells
 * when it stops working); a renewal also checks the key is still bound to the lease.
 */
class EtcdLock implements Lock {
  private keeper?: LeaseKeeper;
  private lease?: ReturnType<Etcd3['lease']>;
  /** A lease given up without a revoke (store unreachable): revoked on the next attempt. */
  private abandoned?: ReturnType<Etcd3['lease']>;

  constructor(
    private readonly client: Etcd3,
    private readonly key: string,
    private readonly options: LockOptions,
    private readonly callOptions: () => { deadline: Date },
  ) {}

  async acquire(): Promise<HeldLock> {
    if (this.abandoned) {
      await this.abandoned.revoke(this.callOptions()).catch(() => undefined);
      this.abandoned = undefined;
    }
    for (;;) {
      const lease = this.client.lease(ttlSeconds(this.options.ttlMs), { autoKeepAlive: false });
      lease.on('lost', () => undefined); // renewal outcomes are LeaseKeeper's business
      const sentAt = Date.now();
      try {
        const leaseId = await lease.grant();
        const res = await this.client
          .if(this.key, 'Create', '==', 0)
          .then(this.client.put(this.key).value(this.options.value).lease(leaseId))
          .options(this.callOptions())
          .commit();
        if (res.succeeded) return this.hold(lease, leaseId, sentAt);
      } catch (err) {
        await lease.revoke(this.callOptions()).catch(() => undefined);
        throw wrapError(err as Error);
      }
      await lease.revoke(this.callOptions()).catch(() => undefined);
      await this.waitForDelete();
    }
  }

  private hold(lease: ReturnType<Etcd3['lease']>, leaseId: string, sentAt: number): HeldLock {
    this.lease = lease;
    const keeper = new LeaseKeeper({
      guaranteeMs: this.options.ttlMs,
      acquiredAt: sentAt,
      renew: async () => {
        const answer = await lease.keepaliveOnce(this.callOptions());
        if (Number(answer.TTL) <= 0) return false;
        const current = await this.client.get(this.key).options(this.callOptions()).exec();
        return current.kvs.length === 1 && current.kvs[0].lease === leaseId;
      },
    });
    this.keeper = keeper;
    void keeper.lost.then(() => {
      if (this.lease === lease) {
        this.lease = undefined;
        this.abandoned = lease;
      }
    });
    return { lost: keeper.lost, isValid: () => keeper.valid };
  }

  /** Resolves when the lock key is deleted (or after one TTL, to re-check after a lost watch). */
  private async waitForDelete(): Promise<void> {
    const watcher = await this.client.watch().key(this.key).create();
    try {
      const stillThere = await this.client.get(this.key).options(this.callOptions()).exists();
      if (!stillThere) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.ttlMs);
        watcher.on('delete', () => {
          clearTimeout(timer);
          resolve();
        });
        watcher.on('disconnected', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      await watcher.cancel().catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.keeper?.end();
    if (lease) await lease.revoke(this.callOptions()).catch(() => undefined); // revoking deletes the key bound to it
  }
}

/** etcd TTLs are whole seconds; never round a short TTL down to 0 (which means "no TTL"). */
function ttlSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** gRPC's messages are long-winded ("14 UNAVAILABLE: No connection established. Last error: ..."). */
function wrapError(err: Error): StoreError {
  const unreachable = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(err.message);
  if (unreachable) return new StoreError(`etcd unreachable: ${unreachable[1]}`);
  return new StoreError(`etcd: ${err.message.replace(/^\d+ [A-Z_]+: /, '')}`);
}

async function wrap<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw wrapError(err as Error);
  }
}

export function createEtcdStore(config: StoreConfig): Store {
  return new EtcdStore(config);
}
