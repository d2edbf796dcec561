/**
 * Discovery end to end: real engines join through each backend with the real `swarm join`, a
 * real `swarm manage` watches it, and `docker info` through the manager shows what it sees.
 * For every backend: two engines join and `docker info` shows both; one join is killed, its
 * registration expires, the manager drops the engine. KV backends also restart the store under
 * the manager: it keeps serving, says so in `docker info`, and loses nothing once the store is back.
 * Timings (join start -> engine in `docker info`, TTL expiry -> removal) are printed per backend.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { StoreBackend } from '../../lib/kv/config';
import { storeConfig } from '../../lib/kv/config';
import { createStore } from '../../lib/kv';
import { startConsulDouble } from '../../testbed/consul-double';
import { docker } from '../../testbed/docker-cli';
import { startEtcd } from '../../testbed/etcd';
import type { EngineHandle } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { freePort } from '../../testbed/ports';
import { startSwarm, swarm, type SwarmProcess } from '../../testbed/swarm-cli';
import { waitFor } from '../../testbed/wait';
import { startZookeeper } from '../../testbed/zookeeper';
import { getEngines } from './cluster-fixture';

const TTL_MS = 3000;
const JOIN_TIMING = ['--heartbeat', '1s', '--ttl', `${TTL_MS / 1000}s`];

interface ManagerView {
  nodes: number;
  addrs: string[];
  healthy: string[];
  discoveryError?: string;
}

/** What the manager's GET /info says about membership (classic's SystemStatus block). */
async function managerView(manager: ManagerHandle): Promise<ManagerView> {
  const info = (await manager.docker().info()) as { SystemStatus: Array<[string, string]> };
  const status = info.SystemStatus;
  const view: ManagerView = { nodes: 0, addrs: [], healthy: [] };
  let current: string | undefined;
  for (const [key, value] of status) {
    if (key === 'Nodes') view.nodes = Number(value);
    else if (key === 'Discovery Error') view.discoveryError = value;
    else if (key.startsWith(' ') && !key.startsWith('  ')) {
      current = value;
      view.addrs.push(value);
    } else if (key === '  └ Status' && value === 'Healthy' && current) view.healthy.push(current);
  }
  return view;
}

/** Polls fast (50 ms) and returns how long it took, for the timing report. */
async function timeUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  await waitFor(check, timeoutMs, what, 50);
  return Date.now() - started;
}

const timings: string[] = [];
after(() => {
  if (timings.length) process.stdout.write(`\n  discovery timings:\n${timings.map((t) => `    ${t}`).join('\n')}\n`);
});

interface KvServer {
  endpoint: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

const KV_BACKENDS: Array<{ backend: StoreBackend; start: () => Promise<KvServer> }> = [
  { backend: 'etcd', start: startEtcd },
  { backend: 'zk', start: startZookeeper },
  {
    backend: 'consul',
    start: async () => {
      const d = await startConsulDouble({ sessionTtlMinMs: 1000 });
      return { endpoint: d.endpoint, stop: () => d.stop(), restart: () => d.restart(), destroy: () => d.stop() };
    },
  },
];

for (const { backend, start } of KV_BACKENDS) {
  describe(`manage over ${backend} discovery`, function () {
    let server: KvServer;
    let manager: ManagerHandle;
    let engines: EngineHandle[];
    const joins: SwarmProcess[] = [];
    const discovery = (): string => `${backend}://${server.endpoint}/mgr`;

    before(async function () {
      this.timeout(120_000);
      engines = (await getEngines()).engines;
      server = await start();
      manager = await startManager(['--heartbeat', '1s', discovery()]);
    });
    after(async () => {
      await Promise.all(joins.map((j) => j.kill()));
      await manager?.stop();
      await server?.destroy();
    });

    it('two joined engines show up in docker info; a killed join expires and the manager drops its engine', async function () {
      this.timeout(90_000);
      const [a, b] = engines;
      const joinedAt = Date.now();
      joins.push(startSwarm(`mgr-join-${backend}-a`, ['join', '--advertise', a.addr, ...JOIN_TIMING, discovery()]));
      joins.push(startSwarm(`mgr-join-${backend}-b`, ['join', '--advertise', b.addr, ...JOIN_TIMING, discovery()]));
      await timeUntil(async () => (await managerView(manager)).addrs.includes(a.addr), 30_000, `${a.addr} in docker info`);
      const appeared = Date.now() - joinedAt;
      await waitFor(async () => (await managerView(manager)).healthy.length === 2, 30_000, 'both engines healthy');
      const healthy = Date.now() - joinedAt;
      const info = await docker(manager.host, ['info']);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, /Nodes: 2\b/);
      assert.ok(info.stdout.includes(a.addr) && info.stdout.includes(b.addr), info.stdout);

      // Kill b's join; time the key's expiry in the store, then the manager's removal.
      const store = createStore(storeConfig(backend, server.endpoint, {}, 2000));
      try {
        await joins[1].kill();
        const killedAt = Date.now();
        await timeUntil(async () => (await store.get(`mgr/docker/swarm/nodes/${b.addr}`)) === undefined, 20_000, 'the registration to expire');
        const expiredAt = Date.now();
        await timeUntil(async () => !(await managerView(manager)).addrs.includes(b.addr), 20_000, 'the manager to drop the engine');
        const removedAt = Date.now();
        timings.push(
          `${backend}: join start -> in docker info ${appeared} ms (healthy ${healthy} ms); ` +
            `join killed -> key expired ${expiredAt - killedAt} ms (ttl ${TTL_MS}); expiry -> dropped by manager ${removedAt - expiredAt} ms`,
        );
        const view = await managerView(manager);
        assert.deepEqual(view.addrs, [a.addr]);
        assert.equal(view.nodes, 1);
      } finally {
        await store.close();
      }
    });

    it('keeps serving while the store is down, shows the error, and recovers the full list', async function () {
      this.timeout(90_000);
      const [a] = engines;
      await server.stop();
      await waitFor(async () => (await managerView(manager)).discoveryError !== undefined, 20_000, 'docker info to show the discovery error');
      const during = await docker(manager.host, ['info']);
      assert.equal(during.code, 0, 'the manager must keep answering while the store is down');
      assert.match(during.stdout, /Discovery Error: /);
      assert.ok(during.stdout.includes(a.addr), 'engines stay while the store is down');
      assert.match(manager.logs(), /Discovery error: /);
      await server.restart();
      await waitFor(async () => {
        const view = await managerView(manager);
        return view.discoveryError === undefined && view.addrs.join() === a.addr && view.healthy.length === 1;
      }, 30_000, 'the manager to recover the list');
    });
  });
}

describe('manage over token discovery', function () {
  let tokenServer: SwarmProcess;
  let manager: ManagerHandle;
  const joins: SwarmProcess[] = [];
  let tokenUrl: string;

  before(async function () {
    this.timeout(60_000);
    const port = await freePort();
    tokenServer = startSwarm('mgr-token-server', ['token-server', '--addr', `127.0.0.1:${port}`]);
    tokenUrl = `http://127.0.0.1:${port}/v1`;
    await waitFor(() => tokenServer.logs().includes('Token server listening'), 10_000, 'the token server');
  });
  after(async () => {
    await Promise.all(joins.map((j) => j.kill()));
    await manager?.stop();
    await tokenServer?.stop();
  });

  it('two joined engines show up; a killed join expires and the manager drops its engine', async function () {
    this.timeout(90_000);
    const [a, b] = (await getEngines()).engines;
    const token = (await swarm(['create'], { env: { SWARM_TOKEN_URL: tokenUrl } })).stdout.trim();
    manager = await startManager(['--heartbeat', '1s', '--discovery-opt', `token.url=${tokenUrl}`, `token://${token}`]);
    const joinedAt = Date.now();
    joins.push(startSwarm('mgr-join-token-a', ['join', '--advertise', a.addr, ...JOIN_TIMING, `token://${token}`], { SWARM_TOKEN_URL: tokenUrl }));
    joins.push(startSwarm('mgr-join-token-b', ['join', '--advertise', b.addr, ...JOIN_TIMING, `token://${token}`], { SWARM_TOKEN_URL: tokenUrl }));
    await waitFor(async () => (await managerView(manager)).addrs.includes(a.addr), 30_000, `${a.addr} in docker info`, 50);
    const appeared = Date.now() - joinedAt;
    await waitFor(async () => (await managerView(manager)).healthy.length === 2, 30_000, 'both engines healthy');
    assert.match((await docker(manager.host, ['info'])).stdout, /Nodes: 2\b/);
    await joins[1].kill();
    const killedAt = Date.now();
    const listed = async (): Promise<string[]> => (await (await fetch(`${tokenUrl}/clusters/${token}`)).json()) as string[];
    await waitFor(async () => !(await listed()).includes(b.addr), 20_000, 'the token registration to expire', 50);
    const expiredAt = Date.now();
    await waitFor(async () => !(await managerView(manager)).addrs.includes(b.addr), 20_000, 'the manager to drop the engine', 50);
    timings.push(`token: join start -> in docker info ${appeared} ms; join killed -> expired ${expiredAt - killedAt} ms; expiry -> dropped ${Date.now() - expiredAt} ms (manager polls every 1s)`);
    assert.deepEqual((await managerView(manager)).addrs, [a.addr]);
  });
});

describe('manage over file discovery', function () {
  let manager: ManagerHandle;
  let dir: string;

  before(() => {
    dir = mkdtempSync(joinPath(tmpdir(), 'swarm-ts-mgr-file-'));
  });
  after(async () => {
    await manager?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds engines written to the file and drops engines removed from it', async function () {
    this.timeout(90_000);
    const [a, b] = (await getEngines()).engines;
    const file = joinPath(dir, 'cluster');
    writeFileSync(file, `# engines\n${a.addr}\n`);
    manager = await startManager(['--heartbeat', '1s', `file://${file}`]);
    await waitFor(async () => (await managerView(manager)).addrs.includes(a.addr), 30_000, 'the first engine');
    const writtenAt = Date.now();
    writeFileSync(file, `# engines\n${a.addr}\n${b.addr}\n`);
    await waitFor(async () => (await managerView(manager)).addrs.includes(b.addr), 30_000, 'the added engine', 50);
    const appeared = Date.now() - writtenAt;
    await waitFor(async () => (await managerView(manager)).healthy.length === 2, 30_000, 'both engines healthy');
    assert.match((await docker(manager.host, ['info'])).stdout, /Nodes: 2\b/);
    const removedAt = Date.now();
    writeFileSync(file, `${a.addr}\n`);
    await waitFor(async () => !(await managerView(manager)).addrs.includes(b.addr), 30_000, 'the removed engine to go', 50);
    timings.push(`file: line written -> in docker info ${appeared} ms; line removed -> dropped ${Date.now() - removedAt} ms (manager polls every 1s)`);
    assert.equal((await managerView(manager)).nodes, 1);
  });
});
