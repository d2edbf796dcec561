/**
 * The CLI-level behaviour every KV discovery backend (etcd, zk, consul) must show, run by
 * discovery-{etcd,zk,consul}.test.ts against their store: `swarm join` registers in classic's
 * layout, `swarm list` shows it, a crashed join expires after its TTL, a store restart loses
 * nothing, and bad URLs or unreachable stores give one clear error line.
 */
import * as assert from 'node:assert/strict';
import { createDiscovery } from '../../discovery';
import { storeConfig, type StoreBackend } from '../../lib/kv/config';
import { createStore } from '../../lib/kv';
import { freePort } from '../../testbed/ports';
import { isOneLineError, listEntries, startSwarm, swarm, type SwarmProcess } from '../../testbed/swarm-cli';
import { sleep, waitFor } from '../../testbed/wait';

export interface StoreServer {
  endpoint: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

const HEARTBEAT = '1s';
const TTL_MS = 3000;

export function describeKvDiscovery(backend: StoreBackend, startServer: () => Promise<StoreServer>): void {
  describe(`${backend} discovery through the swarm CLI`, function () {
    let server: StoreServer;
    const joins: SwarmProcess[] = [];
    let n = 0;
    const url = (prefix: string): string => `${backend}://${server.endpoint}/${prefix}`;
    const join = (addr: string, discovery: string, extra: string[] = []): SwarmProcess => {
      const p = startSwarm(`join-${backend}-${addr}`, ['join', '--advertise', addr, '--heartbeat', HEARTBEAT, '--ttl', `${TTL_MS / 1000}s`, ...extra, discovery]);
      joins.push(p);
      return p;
    };

    before(async function () {
      this.timeout(60_000);
      server = await startServer();
    });
    afterEach(async () => {
      await Promise.all(joins.splice(0).map((j) => j.kill()));
    });
    after(async () => {
      await server?.destroy();
    });

    it('swarm join registers under <prefix>/docker/swarm/nodes/<addr> and swarm list shows every engine', async function () {
      this.timeout(30_000);
      const discovery = url(`list${++n}`);
      join('10.1.0.1:2375', discovery);
      join('10.1.0.2:2375', discovery);
      await waitFor(async () => (await listEntries(discovery)).length === 2, 15_000, 'both joins to be listed');
      assert.deepEqual(await listEntries(discovery), ['10.1.0.1:2375', '10.1.0.2:2375']);
      // Classic's layout, so classic tools (and a classic manager, for consul and zk) read it too.
      const store = createStore(storeConfig(backend, server.endpoint, {}, 2000));
      try {
        assert.equal((await store.get(`list${n}/docker/swarm/nodes/10.1.0.1:2375`))?.value, '10.1.0.1:2375');
      } finally {
        await store.close();
      }
      // kv.path moves the directory.
      const custom = url(`list${++n}`);
      join('10.1.0.3:2375', custom, ['--discovery-opt', 'kv.path=custom/dir']);
      await waitFor(async () => (await listEntries(custom, ['--discovery-opt', 'kv.path=custom/dir'])).length === 1, 15_000, 'the kv.path join');
      assert.deepEqual(await listEntries(custom), []);
    });

    it('drops a crashed join after its TTL, keeps the live one', async function () {
      this.timeout(40_000);
      const discovery = url(`ttl${++n}`);
      const doomed = join('10.2.0.1:2375', discovery);
      join('10.2.0.2:2375', discovery);
      await waitFor(async () => (await listEntries(discovery)).length === 2, 15_000, 'both joins to be listed');
      await doomed.kill();
      const killedAt = Date.now();
      assert.deepEqual(await listEntries(discovery), ['10.2.0.1:2375', '10.2.0.2:2375'], 'the registration must outlive the process until its TTL');
      await waitFor(async () => (await listEntries(discovery)).join() === '10.2.0.2:2375', 20_000, 'the crashed join to expire');
      const expiredAfter = Date.now() - killedAt;
      process.stdout.write(`      (${backend}: registration gone ${expiredAfter} ms after the join was killed, ttl ${TTL_MS} ms)\n`);
      assert.ok(expiredAfter <= TTL_MS + 4000, `expired only after ${expiredAfter} ms`);
    });

    it('survives a store restart: joins re-register, a watch reports the full list again', async function () {
      this.timeout(90_000);
      const discovery = url(`restart${++n}`);
      join('10.3.0.1:2375', discovery);
      join('10.3.0.2:2375', discovery);
      await waitFor(async () => (await listEntries(discovery)).length === 2, 15_000, 'both joins to be listed');
      // Watch the way the manager does.
      const d = createDiscovery(discovery, { heartbeatMs: 1000, ttlMs: 3000, options: {} });
      const lists: string[][] = [];
      const errors: Error[] = [];
      d.watch({ onEntries: (l) => lists.push([...l].sort()), onError: (e) => errors.push(e) });
      try {
        await waitFor(() => lists.at(-1)?.length === 2, 10_000, 'the watch to report both');
        await server.stop();
        await waitFor(() => errors.length > 0, 15_000, 'the watch to report the outage');
        const listed = await swarm(['list', '--timeout', '2s', discovery]);
        assert.ok(isOneLineError(listed), `list during the outage: ${JSON.stringify(listed)}`);
        await sleep(2000);
        const reportsBefore = lists.length;
        await server.restart();
        await waitFor(() => lists.length > reportsBefore && lists.at(-1)?.join() === '10.3.0.1:2375,10.3.0.2:2375', 30_000, 'the watch to report both again');
        assert.deepEqual(await listEntries(discovery), ['10.3.0.1:2375', '10.3.0.2:2375']);
        assert.ok(joins.every((j) => j.process.isRunning()), 'a join died during the outage');
        assert.match(joins[joins.length - 1].logs(), /Registering 10\.3\.0\.\d:2375 failed: /);
      } finally {
        await d.close();
      }
    });

    it('rejects malformed URLs with one clear line', async function () {
      this.timeout(30_000);
      const cases: Array<[string[], RegExp]> = [
        [['list', `${backend}://`], new RegExp(`missing ${backend} address`)],
        [['list', `${backend}://127.0.0.1:99999/x`], new RegExp(`invalid ${backend} address "127.0.0.1:99999"`)],
        [['join', '--advertise', '10.0.0.1:2375', `${backend}://a:1,,b:2/x`], /missing .* address/],
      ];
      if (backend === 'consul') cases.push([['list', 'consul://a:8500,b:8500/x'], /consul does not support multiple endpoints/]);
      for (const [args, message] of cases) {
        const res = await swarm(args, { timeoutMs: 15_000 });
        assert.ok(isOneLineError(res), `${args.join(' ')}: ${JSON.stringify(res)}`);
        assert.match(res.stderr, message);
      }
    });

    it('reports an unreachable store in one line (list) and keeps retrying (join)', async function () {
      this.timeout(30_000);
      const closed = `${backend}://127.0.0.1:${await freePort()}/x`;
      const res = await swarm(['list', '--timeout', '3s', closed], { timeoutMs: 15_000 });
      assert.ok(isOneLineError(res), JSON.stringify(res));
      assert.match(res.stderr, new RegExp(`${backend === 'zk' ? 'zookeeper' : backend}.*127\\.0\\.0\\.1:\\d+`));
      assert.ok(res.ms < 6000, `took ${res.ms} ms`);
      const lonely = join('10.4.0.1:2375', closed);
      await waitFor(() => (lonely.logs().match(/Registering 10\.4\.0\.1:2375 failed/g) ?? []).length >= 2, 15_000, 'two failed registrations');
      assert.ok(lonely.process.isRunning(), 'join exited on an unreachable store');
    });
  });
}
