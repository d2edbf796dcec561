/**
 * ZooKeeper (node-zookeeper-client), classic libkv's layout: each key is a znode
 * (/docker/swarm/nodes/<addr>) holding the value. A put with a TTL creates an ephemeral node: it
 * lives as long as this client's session, whose timeout is the store's `sessionTimeoutMs` (the
 * server clamps it to [2, 20] ticks). Watches are ZooKeeper's one-shot watches, re-armed on
 * every event.
 */
import * as zookeeper from 'node-zookeeper-client';
import type { Client, Stat } from 'node-zookeeper-client';
import type { StoreConfig } from './config';
import type { HeldLock, KeyWatcher, KVPair, Lock, LockOptions, PutOptions, Store, TreeWatcher } from './store';
import { LeaseKeeper } from './lease';
import { normalizeKey, samePairs, StoreError } from './store';

const { CreateMode, Exception } = zookeeper;
/** How long a disconnected client may try to reconnect before it is replaced by a fresh one. */
const RECONNECT_GIVE_UP_MS = 5000;
/** Emitted on a client this store stops using (closed, expired, replaced). */
const CLIENT_DISCARDED = 'swarm-ts:discarded';
const toPath = (key: string): string => `/${normalizeKey(key)}`;

function codeOf(err: unknown): number | undefined {
  const getCode = (err as { getCode?: () => number } | null)?.getCode;
  return typeof getCode === 'function' ? getCode.call(err) : undefined;
}

class ZookeeperStore implements Store {
  private client?: Client;
  private connected = false;
  private disconnectedSince = 0;
  /** Watches to fail when the connection drops (ZooKeeper would otherwise just stall them). */
  private readonly onDisconnect = new Set<(err: Error) => void>();

  constructor(private readonly config: StoreConfig, private readonly sessionTimeoutMs: number) {}

  /**
   * The connected client, waiting (at most timeoutMs) while it (re)connects. A session that
   * expired leaves the client unusable, so a new one is made. node-zookeeper-client also, rarely,
   * never reconnects after a server restart; a client disconnected for longer than
   * RECONNECT_GIVE_UP_MS is replaced too (its ephemeral nodes are re-created by the next put).
   */
  private connection(): Promise<Client> {
    if (this.client && !this.connected && Date.now() - this.disconnectedSince > Math.max(RECONNECT_GIVE_UP_MS, 2 * this.config.timeoutMs)) {
      this.discardClient(this.client);
    }
    if (!this.client) this.client = this.newClient();
    const client = this.client;
    if (this.connected) return Promise.resolve(client);
    return new Promise<Client>((resolve, reject) => {
      const onConnected = (): void => {
        clearTimeout(timer);
        resolve(client);
      };
      // Remove the listener on timeout: a join retrying every heartbeat through a long outage
      // would otherwise pile them up.
      const timer = setTimeout(() => {
        client.removeListener('connected', onConnected);
        reject(new StoreError(`zookeeper: cannot connect to ${this.config.endpoints.join(',')}`));
      }, this.config.timeoutMs);
      client.once('connected', onConnected);
    });
  }

  private newClient(): Client {
    const client = zookeeper.createClient(this.config.endpoints.join(','), { sessionTimeout: this.sessionTimeoutMs, spinDelay: 500, retries: 0 });
    this.connected = false;
    this.disconnectedSince = Date.now();
    client.on('connected', () => {
      if (this.client === client) this.connected = true;
    });
    client.on('disconnected', () => {
      if (this.client !== client) return;
      this.connected = false;
      this.disconnectedSince = Date.now();
      this.dropWatches(new StoreError(`zookeeper connection to ${this.config.endpoints.join(',')} lost`));
    });
    client.on('expired', () => {
      if (this.client !== client) return;
      this.dropWatches(new StoreError('zookeeper session expired'));
      this.discardClient(client);
    });
    client.connect();
    return client;
  }

  private discardClient(client: Client): void {
    if (this.client === client) {
      this.client = undefined;
      this.connected = false;
    }
    client.emit(CLIENT_DISCARDED); // its session is over for us: locks held through it are lost
    client.close();
  }

  private dropWatches(err: Error): void {
    const handlers = [...this.onDisconnect];
    this.onDisconnect.clear();
    for (const handler of handlers) handler(err);
  }

  /** Runs one callback-style client call with a deadline, mapping its error to a StoreError. */
  private async call<T>(op: (client: Client, done: (err: unknown, result?: T) => void) => void): Promise<T> {
    const client = await this.connection();
    const result = new Promise<T>((resolve, reject) => op(client, (err, value) => (err ? reject(err) : resolve(value as T))));
    return withTimeout(result, this.config.timeoutMs, 'zookeeper: request timed out');
  }

  async get(key: string): Promise<KVPair | undefined> {
    try {
      const data = await this.call<Buffer | null>((c, done) => c.getData(toPath(key), undefined, (e, d) => done(e, d)));
      return { key: normalizeKey(key), value: data ? data.toString() : '' };
    } catch (err) {
      if (codeOf(err) === Exception.NO_NODE) return undefined;
      throw storeError(err);
    }
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<void> {
    const path = toPath(key);
    const data = Buffer.from(value);
    try {
      await this.mkdirp(parentOf(path));
      const stat = await this.call<Stat | null>((c, done) => c.exists(path, undefined, done));
      if (options.ttlMs !== undefined) {
        const session = (await this.connection()).getSessionId();
        // A node left by an earlier session (a restarted join) would vanish when that session
        // expires: replace it with one owned by ours.
        if (stat && !stat.ephemeralOwner.equals(session)) {
          await this.call<void>((c, done) => c.remove(path, -1, (e) => done(e)));
        } else if (stat) {
          await this.call<Stat>((c, done) => c.setData(path, data, -1, done));
          return;
        }
        await this.call<string>((c, done) => c.create(path, data, CreateMode.EPHEMERAL, done));
        return;
      }
      if (stat) await this.call<Stat>((c, done) => c.setData(path, data, -1, done));
      else await this.call<string>((c, done) => c.create(path, data, CreateMode.PERSISTENT, done));
    } catch (err) {
      throw storeError(err);
    }
  }

  private async mkdirp(path: string): Promise<void> {
    if (path === '/') return;
    await this.call<string>((c, done) => c.mkdirp(path, null, CreateMode.PERSISTENT, done));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.call<void>((c, done) => c.remove(toPath(key), -1, (e) => done(e)));
    } catch (err) {
      if (codeOf(err) !== Exception.NO_NODE) throw storeError(err);
    }
  }

  async list(dir: string): Promise<KVPair[]> {
    try {
      return await this.readChildren(dir);
    } catch (err) {
      if (codeOf(err) === Exception.NO_NODE) return [];
      throw storeError(err);
    }
  }

  /** Children of dir with their data; with `watch`, arms a one-shot children watch. */
  private async readChildren(dir: string, watch?: () => void): Promise<KVPair[]> {
    const path = toPath(dir);
    const names = await this.call<string[]>((c, done) => c.getChildren(path, watch, (e, children) => done(e, children)));
    const pairs: KVPair[] = [];
    for (const name of [...names].sort()) {
      const child = await this.get(`${dir}/${name}`);
      if (child) pairs.push(child);
    }
    return pairs;
  }

  watchTree(dir: string, watcher: TreeWatcher): () => void {
    return this.rearmingWatch(
      async (rearm) => {
        await this.mkdirp(toPath(dir)); // classic creates the directory the manager watches
        return this.readChildren(dir, rearm);
      },
      (pairs, previous) => {
        if (!previous || !samePairs(previous, pairs)) watcher.onList(pairs);
      },
      watcher.onError,
    );
  }

  watch(key: string, watcher: KeyWatcher): () => void {
    const path = toPath(key);
    return this.rearmingWatch(
      async (rearm) => {
        // exists() arms a watch whether or not the node is there (getData would not on NO_NODE).
        const stat = await this.call<Stat | null>((c, done) => c.exists(path, rearm, done));
        if (!stat) return [];
        const pair = await this.get(key);
        return pair ? [pair] : [];
      },
      (pairs, previous) => {
        if (!previous || !samePairs(previous, pairs)) watcher.onValue(pairs[0]);
      },
      watcher.onError,
    );
  }

  /**
   * Reads with a one-shot watch, reports, and reads again when the watch fires. Children's data
   * changes do not fire a children watch; registrations only create and delete children, so the
   * tree watch tracks membership, which is what discovery needs.
   */
  private rearmingWatch(
    read: (rearm: () => void) => Promise<KVPair[]>,
    report: (pairs: KVPair[], previous: KVPair[] | undefined) => void,
    onError: (error: Error) => void,
  ): () => void {
    let stopped = false;
    let previous: KVPair[] | undefined;
    const fail = (err: Error): void => {
      if (stopped) return;
      stopped = true;
      this.onDisconnect.delete(fail);
      onError(storeError(err));
    };
    const cycle = (): void => {
      if (stopped) return;
      read(() => cycle())
        .then((pairs) => {
          if (stopped) return;
          report(pairs, previous);
          previous = pairs;
        })
        .catch(fail);
    };
    this.onDisconnect.add(fail);
    cycle();
    return () => {
      stopped = true;
      this.onDisconnect.delete(fail);
    };
  }

  createLock(key: string, options: LockOptions): Lock {
    return new ZookeeperLock(this, key, options);
  }

  /**
   * For the lock: create an ephemeral node. 'taken' if another session owns it; a node our own
   * session already owns (we lost contact, the session survived) counts as created.
   */
  async createEphemeral(key: string, value: string): Promise<'taken' | { sessionTimeoutMs: number }> {
    const path = toPath(key);
    try {
      await this.mkdirp(parentOf(path));
      const client = await this.connection();
      try {
        await this.call<string>((c, done) => c.create(path, Buffer.from(value), CreateMode.EPHEMERAL, done));
      } catch (err) {
        if (codeOf(err) !== Exception.NODE_EXISTS || !(await this.ownsEphemeral(key))) throw err;
      }
      return { sessionTimeoutMs: client.getSessionTimeout() };
    } catch (err) {
      if (codeOf(err) === Exception.NODE_EXISTS) return 'taken';
      throw storeError(err);
    }
  }

  /** For the lock: whether the node exists and belongs to this client's current session (one round trip). */
  async ownsEphemeral(key: string): Promise<boolean> {
    const client = await this.connection();
    const stat = await this.call<Stat | null>((c, done) => c.exists(toPath(key), undefined, done));
    return Boolean(stat && stat.ephemeralOwner.equals(client.getSessionId()));
  }

  async close(): Promise<void> {
    this.dropWatches(new StoreError('store closed'));
    if (this.client) this.discardClient(this.client);
  }
}

/**
 * An ephemeral lock node: it lives as long as the holder's session. The session outlives the
 * holder's last request by the session timeout, which LeaseKeeper renews (an `exists` that also
 * checks the node is still ours) and gives up within. Classic's libkv never told a ZK leader it
 * had lost the lock (section 2.4). A holder that lost contact but whose session survived (a
 * ZooKeeper restart) finds the node still its own and takes it back.
 */
class ZookeeperLock implements Lock {
  private keeper?: LeaseKeeper;

  constructor(private readonly store: ZookeeperStore, private readonly key: string, private readonly options: LockOptions) {}

  async acquire(): Promise<HeldLock> {
    for (;;) {
      const sentAt = Date.now();
      const outcome = await this.store.createEphemeral(this.key, this.options.value);
      if (outcome !== 'taken') return this.hold(outcome.sessionTimeoutMs, sentAt);
      await new Promise<void>((resolve) => {
        const stop = this.store.watch(this.key, {
          onValue: (pair) => {
            if (!pair) {
              stop();
              resolve();
            }
          },
          onError: () => setTimeout(resolve, Math.min(1000, this.options.ttlMs)),
        });
      });
    }
  }

  private hold(sessionTimeoutMs: number, sentAt: number): HeldLock {
    const keeper = new LeaseKeeper({
      guaranteeMs: Math.min(sessionTimeoutMs, this.options.ttlMs),
      acquiredAt: sentAt,
      renew: () => this.store.ownsEphemeral(this.key),
    });
    this.keeper = keeper;
    const stop = this.store.watch(this.key, {
      onValue: (pair) => {
        if (!pair || pair.value !== this.options.value) keeper.end();
      },
      onError: () => undefined, // the renewals decide
    });
    void keeper.lost.then(stop);
    return { lost: keeper.lost, isValid: () => keeper.valid };
  }

  async release(): Promise<void> {
    const keeper = this.keeper;
    this.keeper = undefined;
    if (!keeper) return;
    keeper.end();
    if (await this.store.ownsEphemeral(this.key).catch(() => false)) await this.store.delete(this.key);
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function storeError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError(`zookeeper: ${err instanceof Error ? err.message : String(err)}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreError(message)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export function createZookeeperStore(config: StoreConfig, sessionTimeoutMs: number): Store {
  // Classic silently ignored TLS for zk; connecting in plain text when asked for TLS is worse than failing.
  if (config.tls) throw new StoreError('zk discovery does not support TLS (kv.cacertfile, kv.certfile, kv.keyfile)');
  return new ZookeeperStore(config, sessionTimeoutMs);
}
