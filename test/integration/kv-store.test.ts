/**
 * The Store contract (lib/kv/store.ts) against a real etcd 3.4, a real ZooKeeper 3.8 and the
 * Consul double: the same behaviour from all three, including a store restart mid-watch.
 */
import * as assert from 'node:assert/strict';
import { storeConfig, type StoreBackend } from '../../lib/kv/config';
import { createStore } from '../../lib/kv';
import type { KVPair, Store } from '../../lib/kv/store';
import { startConsulDouble } from '../../testbed/consul-double';
import { startEtcd } from '../../testbed/etcd';
import { startZookeeper } from '../../testbed/zookeeper';
import { waitFor } from '../../testbed/wait';

interface Server {
  endpoint: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

const BACKENDS: Array<{ backend: StoreBackend; start: () => Promise<Server> }> = [
  { backend: 'etcd', start: startEtcd },
  { backend: 'zk', start: startZookeeper },
  {
    backend: 'consul',
    start: async () => {
      const double = await startConsulDouble({ sessionTtlMinMs: 1000 });
      return { endpoint: double.endpoint, restart: () => double.restart(), stop: () => double.stop(), destroy: () => double.stop() };
    },
  },
];

/** Collects what a tree watch reports. */
function recorder(): { lists: KVPair[][]; errors: Error[]; latest: () => string[] } {
  const lists: KVPair[][] = [];
  const errors: Error[] = [];
  return { lists, errors, latest: () => (lists.at(-1) ?? []).map((p) => `${p.key}=${p.value}`) };
}

for (const { backend, start } of BACKENDS) {
  describe(`kv store: ${backend}`, function () {
    let server: Server;
    const stores: Store[] = [];
    let n = 0;
    /** A fresh store client with its own key prefix per test. */
    const open = (sessionTimeoutMs = 2000): { store: Store; dir: string } => {
      const store = createStore(storeConfig(backend, server.endpoint, {}, 2000), { sessionTimeoutMs });
      stores.push(store);
      return { store, dir: `test${++n}/nodes` };
    };

    before(async function () {
      this.timeout(60_000);
      server = await start();
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await server?.destroy();
    });

    it('puts, gets, lists direct children and deletes', async () => {
      const { store, dir } = open();
      await store.put(`${dir}/a:1`, 'a:1');
      await store.put(`${dir}/b:2`, 'b:2');
      await store.put(`${dir}/b:2/deeper`, 'x');
      assert.deepEqual(await store.get(`${dir}/a:1`), { key: `${dir}/a:1`, value: 'a:1' });
      assert.equal(await store.get(`${dir}/missing`), undefined);
      assert.deepEqual((await store.list(dir)).map((p) => p.value), ['a:1', 'b:2']);
      await store.delete(`${dir}/a:1`);
      await store.delete(`${dir}/never-existed`);
      assert.deepEqual((await store.list(dir)).map((p) => p.key), [`${dir}/b:2`]);
      assert.deepEqual(await store.list('no/such/dir'), []);
    });

    it('expires a TTL key once its writer stops refreshing it', async function () {
      this.timeout(20_000);
      const writer = open(2000);
      const reader = open();
      await writer.store.put(`${writer.dir}/e:1`, 'e:1', { ttlMs: 2000 });
      await writer.store.put(`${writer.dir}/keep:1`, 'keep:1');
      assert.equal((await reader.store.get(`${writer.dir}/e:1`))?.value, 'e:1');
      // etcd/consul: the lease/session runs out; zk: the ephemeral node dies with the session.
      await writer.store.close();
      const started = Date.now();
      await waitFor(async () => (await reader.store.get(`${writer.dir}/e:1`)) === undefined, 10_000, 'the TTL key to expire');
      assert.ok(Date.now() - started < 8000, `expired after ${Date.now() - started} ms`);
      assert.equal((await reader.store.get(`${writer.dir}/keep:1`))?.value, 'keep:1');
    });

    it('keeps a TTL key alive while it is re-put within the TTL', async function () {
      this.timeout(20_000);
      const { store, dir } = open(2000);
      for (let i = 0; i < 5; i++) {
        await store.put(`${dir}/r:1`, 'r:1', { ttlMs: 2000 });
        await new Promise((r) => setTimeout(r, 800));
        assert.equal((await store.get(`${dir}/r:1`))?.value, 'r:1', `gone after ${i + 1} refreshes`);
      }
    });

    it('watches a directory: first list, additions, removals', async function () {
      this.timeout(20_000);
      const { store, dir } = open();
      await store.put(`${dir}/w:1`, 'w:1');
      const seen = recorder();
      const stop = store.watchTree(dir, { onList: (l) => seen.lists.push(l), onError: (e) => seen.errors.push(e) });
      try {
        await waitFor(() => seen.latest().join() === `${dir}/w:1=w:1`, 5000, 'the first list');
        await store.put(`${dir}/w:2`, 'w:2');
        await waitFor(() => seen.latest().length === 2, 5000, 'the addition');
        await store.delete(`${dir}/w:1`);
        await waitFor(() => seen.latest().join() === `${dir}/w:2=w:2`, 5000, 'the removal');
        assert.deepEqual(seen.errors, []);
      } finally {
        stop();
      }
    });

    it('reports an error when the store goes away, and a re-watch sees everything after it returns', async function () {
      this.timeout(60_000);
      const { store, dir } = open(20_000);
      await store.put(`${dir}/p:1`, 'p:1');
      const seen = recorder();
      const stop = store.watchTree(dir, { onList: (l) => seen.lists.push(l), onError: (e) => seen.errors.push(e) });
      await waitFor(() => seen.lists.length === 1, 5000, 'the first list');
      await server.stop();
      await waitFor(() => seen.errors.length === 1, 15_000, 'the watch error');
      assert.match(seen.errors[0].message, /etcd|zookeeper|consul/);
      await assert.rejects(store.list(dir));
      await server.restart();
      // Classic's recovery: watch again; the first list must hold what was there before.
      const again = recorder();
      await waitFor(async () => {
        again.errors.length = 0;
        const stopAgain = store.watchTree(dir, { onList: (l) => again.lists.push(l), onError: (e) => again.errors.push(e) });
        try {
          return await waitFor(() => again.lists.length > 0 || again.errors.length > 0, 5000, 'a list or an error').then(() => again.lists.length > 0);
        } finally {
          if (again.lists.length === 0) stopAgain();
        }
      }, 30_000, 'a successful re-watch');
      assert.deepEqual(again.latest(), [`${dir}/p:1=p:1`]);
      await store.put(`${dir}/p:2`, 'p:2');
      await waitFor(() => again.latest().length === 2, 10_000, 'a change seen by the new watch');
      stop();
    });

    it('locks: one holder at a time, the next one gets it on release', async function () {
      this.timeout(30_000);
      const a = open(2000);
      const b = open(2000);
      const key = `${a.dir}/leader`;
      const lockA = a.store.createLock(key, { value: 'a:1', ttlMs: 2000 });
      const lockB = b.store.createLock(key, { value: 'b:2', ttlMs: 2000 });
      const heldA = await lockA.acquire();
      assert.equal((await b.store.get(key))?.value, 'a:1');
      let bHolds = false;
      const acquiringB = lockB.acquire().then((held) => {
        bHolds = true;
        return held;
      });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(bHolds, false, 'b got the lock while a held it');
      await lockA.release();
      await heldA.lost;
      await acquiringB;
      assert.equal((await a.store.get(key))?.value, 'b:2');
      await lockB.release();
      await waitFor(async () => (await a.store.get(key)) === undefined, 5000, 'the released lock key to go');
    });

    it('watches a single key', async function () {
      this.timeout(20_000);
      const { store, dir } = open();
      const values: Array<string | undefined> = [];
      const stop = store.watch(`${dir}/one`, { onValue: (p) => values.push(p?.value), onError: () => undefined });
      try {
        await waitFor(() => values.length === 1, 5000, 'the first value');
        assert.equal(values[0], undefined);
        await store.put(`${dir}/one`, 'v1');
        await waitFor(() => values.at(-1) === 'v1', 5000, 'v1');
        await store.delete(`${dir}/one`);
        await waitFor(() => values.length >= 3 && values.at(-1) === undefined, 5000, 'the deletion');
      } finally {
        stop();
      }
    });
  });
}
