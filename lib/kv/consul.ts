/**
 * Consul (the `consul` client), classic libkv's semantics so a classic manager and a swarm-ts
 * manager can share one cluster:
 * - a put with a TTL holds the key with a session of TTL ttl/2 (Consul only invalidates a session
 *   after twice its TTL) and behaviour "delete", renewed on each later put;
 * - watches are blocking queries (`?index=&wait=`), re-issued with the last X-Consul-Index;
 * - one endpoint only ("consul does not support multiple endpoints").
 */
import { EventEmitter } from 'node:events';
import { Agent as HttpsAgent } from 'node:https';
import Consul = require('consul');
import type { StoreConfig } from './config';
import type { HeldLock, KeyWatcher, KVPair, Lock, LockOptions, PutOptions, Store, TreeWatcher } from './store';
import { LeaseKeeper } from './lease';
import { directChildren, normalizeKey, samePairs, StoreError } from './store';

/** How long one blocking query may wait for a change before Consul answers unchanged. */
const BLOCKING_WAIT_S = 30;

interface ConsulItem {
  Key: string;
  Value: string | null;
  Session?: string;
}

/**
 * The client returns [response, body] only when the request's ctx is an EventEmitter with
 * `includeResponse` (how its own Watch gets X-Consul-Index); emitting 'cancel' on it aborts.
 */
type RequestContext = EventEmitter & { includeResponse: true };
const requestContext = (): RequestContext => Object.assign(new EventEmitter(), { includeResponse: true as const });

/** The response as the client hands it out with `ctx.includeResponse` (needed for X-Consul-Index). */
interface RawResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
}

class ConsulStore implements Store {
  private readonly client: InstanceType<typeof Consul>;
  /** Our session per TTL'd key, renewed by later puts of that key. */
  private readonly sessions = new Map<string, string>();

  constructor(private readonly config: StoreConfig) {
    const [host, port] = splitHostPort(config.endpoints[0]);
    const tls = config.tls;
    this.client = new Consul({
      host,
      port,
      secure: Boolean(tls),
      ...(tls ? { agent: new HttpsAgent({ ca: tls.ca, cert: tls.cert, key: tls.key, keepAlive: true }) } : {}),
    });
  }

  /** Common options: a per-request timeout so a dead agent fails the call instead of hanging it. */
  private opts<T extends object>(extra: T, timeoutMs = this.config.timeoutMs): T {
    return { ...extra, timeout: timeoutMs } as T;
  }

  async get(key: string): Promise<KVPair | undefined> {
    const item = (await this.request(() => this.client.kv.get(this.opts({ key: normalizeKey(key) })))) as ConsulItem | undefined | null;
    return item ? { key: normalizeKey(key), value: item.Value ?? '' } : undefined;
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<void> {
    const name = normalizeKey(key);
    if (options.ttlMs === undefined) {
      await this.request(() => this.client.kv.set(this.opts({ key: name, value })));
      return;
    }
    const session = await this.renewOrCreateSession(name, options.ttlMs, 'delete');
    const acquired = await this.request(() => this.client.kv.set(this.opts({ key: name, value, acquire: session })));
    if (!acquired) {
      // Another session (e.g. the previous run of this join) still holds the key; it is deleted
      // when that session expires, and the next heartbeat takes the key over.
      throw new StoreError(`consul: key ${name} is held by another session until it expires`);
    }
  }

  /** Classic's renewSession: renew the key's session, or create one when it is unknown or gone. */
  private async renewOrCreateSession(key: string, ttlMs: number, behavior: 'delete' | 'release'): Promise<string> {
    const existing = this.sessions.get(key);
    if (existing) {
      try {
        await this.client.session.renew(this.opts({ id: existing }));
        return existing;
      } catch (err) {
        if (statusOf(err) !== 404) throw storeError(err);
        this.sessions.delete(key); // expired (or the store lost it): make a new one
      }
    }
    let created: { ID: string };
    try {
      created = await this.request<{ ID: string }>(() =>
        this.client.session.create(this.opts({ ttl: sessionTtl(ttlMs), behavior, lockdelay: '1ms', name: `swarm-ts ${key}` })),
      );
    } catch (err) {
      if (!/Invalid Session TTL/.test((err as Error).message)) throw err;
      throw new StoreError(`${(err as Error).message} (the session TTL is --ttl/2; Consul's session_ttl_min defaults to 10s, so use --ttl 20s or more)`);
    }
    this.sessions.set(key, created.ID);
    return created.ID;
  }

  async delete(key: string): Promise<void> {
    await this.request(() => this.client.kv.del(this.opts({ key: normalizeKey(key) })));
  }

  async list(dir: string): Promise<KVPair[]> {
    return (await this.blockingRead(dir, true)).pairs;
  }

  /** One (possibly blocking) read of a key or a tree, with its X-Consul-Index. */
  private async blockingRead(
    key: string,
    recurse: boolean,
    index?: string,
    ctx: RequestContext = requestContext(),
  ): Promise<{ pairs: KVPair[]; index: string; items: ConsulItem[] }> {
    const name = normalizeKey(key);
    const blocking = index !== undefined ? { index, wait: `${BLOCKING_WAIT_S}s` } : {};
    const timeout = index !== undefined ? BLOCKING_WAIT_S * 1000 + this.config.timeoutMs : this.config.timeoutMs;
    const options = this.opts({ key: recurse ? `${name}/` : name, recurse, ...blocking, ctx }, timeout);
    const [res, data] = (await this.request(() => this.client.kv.get(options as { key: string; recurse: true }))) as unknown as [
      RawResponse,
      ConsulItem[] | ConsulItem | undefined,
    ];
    const items = data === undefined || data === null ? [] : Array.isArray(data) ? data : [data];
    const pairs = items.map((item) => ({ key: normalizeKey(item.Key), value: item.Value ?? '' }));
    return { pairs: recurse ? directChildren(name, pairs) : pairs, index: res.headers['x-consul-index'] ?? '0', items };
  }

  watchTree(dir: string, watcher: TreeWatcher): () => void {
    return this.blockingWatch(dir, true, (pairs) => watcher.onList(pairs), watcher.onError);
  }

  watch(key: string, watcher: KeyWatcher): () => void {
    return this.blockingWatch(key, false, (pairs) => watcher.onValue(pairs[0]), watcher.onError);
  }

  /**
   * Blocking-query loop (Consul's documented watch recipe): re-query with the last index; report
   * when the data changed; start over from 0 if the index goes backwards (store reset).
   */
  private blockingWatch(key: string, recurse: boolean, report: (pairs: KVPair[]) => void, onError: (err: Error) => void): () => void {
    let stopped = false;
    const ctx = requestContext();
    void (async () => {
      let index: string | undefined;
      let last: KVPair[] | undefined;
      try {
        while (!stopped) {
          const result = await this.blockingRead(key, recurse, index, ctx);
          if (stopped) return;
          if (!last || !samePairs(last, result.pairs)) {
            last = result.pairs;
            report(result.pairs);
          }
          const next = BigInt(result.index);
          index = index !== undefined && next < BigInt(index) ? '0' : next > 0n ? result.index : '1';
        }
      } catch (err) {
        if (!stopped) onError(storeError(err));
      }
    })();
    return () => {
      stopped = true;
      ctx.emit('cancel'); // aborts the blocking query in flight
    };
  }

  createLock(key: string, options: LockOptions): Lock {
    return new ConsulLock(this, normalizeKey(key), options);
  }

  /** For the lock: create a release-behaviour session and try `?acquire=` once. */
  async tryAcquire(key: string, value: string, ttlMs: number): Promise<string | undefined> {
    const session = await this.request<{ ID: string }>(() =>
      this.client.session.create(this.opts({ ttl: sessionTtl(ttlMs), behavior: 'release' as const, lockdelay: '1ms', name: `swarm-ts lock ${key}` })),
    );
    const acquired = await this.request(() => this.client.kv.set(this.opts({ key, value, acquire: session.ID })));
    if (acquired) return session.ID;
    await this.client.session.destroy(this.opts({ id: session.ID })).catch(() => undefined);
    return undefined;
  }

  /** For the lock: renew a session; false once Consul no longer knows it. */
  async renewSession(id: string): Promise<boolean> {
    try {
      await this.client.session.renew(this.opts({ id }));
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw storeError(err);
    }
  }

  /** For the lock: the session currently holding a key (undefined when free). */
  async holder(key: string, index?: string): Promise<{ session?: string; index: string }> {
    const result = await this.blockingRead(key, false, index);
    return { session: result.items[0]?.Session || undefined, index: result.index };
  }

  async releaseLock(key: string, session: string): Promise<void> {
    await this.request(() => this.client.kv.set(this.opts({ key, value: '', release: session })));
    await this.request(() => this.client.kv.del(this.opts({ key })));
    await this.request(() => this.client.session.destroy(this.opts({ id: session })));
  }

  private async request<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw storeError(err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/**
 * Session-based lock with behaviour "release" (classic leadership). The session's TTL is half the
 * lock TTL and Consul invalidates a session between 1x and 2x its TTL, so what is guaranteed
 * after a renewal is one session TTL: LeaseKeeper renews and gives up within it. A blocking
 * query on the key notices at once when it changes hands.
 */
class ConsulLock implements Lock {
  private session?: string;
  private keeper?: LeaseKeeper;

  constructor(private readonly store: ConsulStore, private readonly key: string, private readonly options: LockOptions) {}

  async acquire(): Promise<HeldLock> {
    for (;;) {
      const sentAt = Date.now();
      const session = await this.store.tryAcquire(this.key, this.options.value, this.options.ttlMs);
      if (session) return this.hold(session, sentAt);
      // Wait (blocking query) until the holder's session lets go of the key.
      let index: string | undefined;
      for (;;) {
        const state = await this.store.holder(this.key, index);
        if (!state.session) break;
        index = state.index;
      }
    }
  }

  private hold(session: string, sentAt: number): HeldLock {
    this.session = session;
    const keeper = new LeaseKeeper({
      guaranteeMs: Math.max(1, Math.ceil(this.options.ttlMs / 2)),
      acquiredAt: sentAt,
      renew: () => this.store.renewSession(session),
    });
    this.keeper = keeper;
    void keeper.lost.then(() => {
      if (this.session === session) this.session = undefined;
    });
    void this.watchHolder(session, keeper);
    return { lost: keeper.lost, isValid: () => keeper.valid };
  }

  private async watchHolder(session: string, keeper: LeaseKeeper): Promise<void> {
    let index: string | undefined;
    while (this.session === session) {
      try {
        const state = await this.store.holder(this.key, index);
        if (state.session !== session) return keeper.end();
        index = state.index;
      } catch {
        await new Promise((r) => setTimeout(r, Math.max(250, this.options.ttlMs / 4)));
      }
    }
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.keeper?.end();
    if (session) await this.store.releaseLock(this.key, session);
  }
}

/**
 * Classic: "Consul multiplies the TTL by 2x", so the session TTL is half the wanted lifetime.
 * Consul refuses TTLs below its session_ttl_min (10s by default, configurable), so with a stock
 * agent --ttl must be at least 20s.
 */
function sessionTtl(ttlMs: number): string {
  return `${Math.max(1, Math.ceil(ttlMs / 2))}ms`;
}

function splitHostPort(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, i).replace(/^\[|\]$/g, ''), Number(endpoint.slice(i + 1))];
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; response?: { statusCode?: number } };
  return e?.statusCode ?? e?.response?.statusCode;
}

/** The client's messages read "consul: kv.get: connect ECONNREFUSED ..."; keep the useful part. */
function storeError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as Error & { code?: string; isPapi?: boolean };
  const message = (e.message ?? String(err)).replace(/^consul: [\w.]+: /, '');
  if (e.code && /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|ETIMEDOUT|EPIPE|EAI_AGAIN)$/.test(e.code)) {
    return new StoreError(`consul unreachable: ${message}`);
  }
  return new StoreError(`consul: ${message}`);
}

export function createConsulStore(config: StoreConfig): Store {
  return new ConsulStore(config);
}
