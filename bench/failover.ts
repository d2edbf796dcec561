/**
 * `npm run bench:failover`: how fast replicated managers recover, with real processes: 3
 * `swarm manage --replication` over real etcd and real ZooKeeper, 2 real dockerd engines.
 * Per backend, over N rounds (default 10):
 * - SIGTERM of the primary -> a create sent to a replica right then is served by a new primary
 *   (target: under 2 s);
 * - SIGKILL of the primary -> the same (target: --replication-ttl + 1 s at most);
 * - SIGKILL of an engine holding 3 containers with reschedule:on-node-failure -> all 3 running
 *   on the other engine (detection: --engine-failure-retry failed pings after the event stream
 *   drops; engine refresh stays at the default 30-60 s and plays no part).
 *
 *   npm run bench:failover [-- --rounds 10 --ttl 4s --backends etcd,zk]
 */
import { createStore } from '../lib/kv';
import { storeConfig, type StoreBackend } from '../lib/kv/config';
import { parseDuration } from '../lib/cli/duration';
import { startEngines } from '../testbed/engines';
import { startEtcd } from '../testbed/etcd';
import { startZookeeper } from '../testbed/zookeeper';
import { startReplicatedManagers, roleOf } from '../testbed/replicated';
import { stopAll } from '../testbed/processes';
import { sleep, waitFor } from '../testbed/wait';
import { summarize, type Summary } from './lib/stats';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const ROUNDS = Number(arg('rounds', '10'));
const TTL = arg('ttl', '4s');
const TTL_MS = parseDuration(TTL);
const FAILURE_RETRY = arg('engine-failure-retry', '3');
const BACKENDS = arg('backends', 'etcd,zk').split(',') as StoreBackend[];

async function api(port: number, method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

let serial = 0;
/**
 * Client-side retries: a create answered 502 (the primary died while it was being sent, so it is
 * unknown whether it ran) or whose connection failed is sent again, as a client would.
 */
let retries = 0;
async function createThrough(port: number): Promise<void> {
  for (;;) {
    const name = `fo-${process.pid}-${serial++}`;
    const res = await api(port, 'POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['true'] }).catch((err: Error) => ({ status: 502, json: { message: `client: ${err.message}` } }));
    if (res.status === 201) return;
    if (res.status !== 502) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.json)}`);
    retries++;
    process.stderr.write(`  (create answered 502, sent again: ${JSON.stringify(res.json)})\n`);
  }
}

async function benchBackend(backend: StoreBackend): Promise<Record<string, Summary>> {
  const server = backend === 'etcd' ? await startEtcd() : await startZookeeper();
  const prefix = `bench-${backend}`;
  const store = createStore(storeConfig(backend, `${server.endpoint}/${prefix}`, {}, 2000), { sessionTimeoutMs: 10_000 });
  const engines = await startEngines(2, { namePrefix: `fo-${backend}-` });
  for (const e of engines.engines) await store.put(`${prefix}/docker/swarm/nodes/${e.addr}`, e.addr);
  const cluster = await startReplicatedManagers({
    discovery: `${backend}://${server.endpoint}/${prefix}`, count: 3, ttl: TTL, args: ['--engine-failure-retry', FAILURE_RETRY],
  });
  const ports = cluster.managers.map((m) => m.port);
  const healthyEverywhere = async (): Promise<boolean> => {
    for (const port of ports) {
      const info = await api(port, 'GET', '/info', undefined, 5000).catch(() => undefined);
      const healthy = (info?.json?.SystemStatus as Array<[string, string]> | undefined)?.filter(([k, v]) => k.includes('Status') && v === 'Healthy').length;
      if (healthy !== 2) return false;
    }
    return true;
  };
  const primary = async (): Promise<number> => {
    let i = -1;
    await waitFor(async () => (i = await cluster.primaryIndex()) >= 0, 60_000, 'one primary');
    return i;
  };
  const results: Record<string, number[]> = { sigterm: [], sigkill: [], engine: [] };
  try {
    await waitFor(healthyEverywhere, 60_000, 'engines healthy on every manager');
    for (const kind of ['sigterm', 'sigkill'] as const) {
      for (let round = 0; round < ROUNDS; round++) {
        const p = await primary();
        const replica = ports[(p + 1) % 3];
        const t0 = performance.now();
        const stopping = kind === 'sigterm' ? cluster.managers[p].stop() : cluster.managers[p].kill();
        await createThrough(replica);
        results[kind].push(performance.now() - t0);
        await stopping;
        await cluster.restart(p);
        await waitFor(async () => (await roleOf(ports[p])).role === 'replica' && (await healthyEverywhere()), 60_000, 'the restarted manager back as a healthy replica');
        process.stderr.write(`${backend} ${kind} round ${round + 1}: ${Math.round(results[kind].at(-1) ?? 0)} ms\n`);
      }
    }
    const [doomed, survivor] = engines.engines;
    for (let round = 0; round < ROUNDS; round++) {
      const p = await primary();
      const port = ports[p];
      const names = [0, 1, 2].map((i) => `fo-r${round}-${i}`);
      for (const name of names) {
        const res = await api(port, 'POST', `/containers/create?name=${name}`, {
          Image: 'busybox', Cmd: ['sleep', '600'], Env: ['reschedule:on-node-failure', `constraint:node==~${doomed.name}`],
        });
        if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(res.json)}`);
        await api(port, 'POST', `/containers/${name}/start`);
      }
      await sleep(1500); // the managers read the policy containers' configs
      const t0 = performance.now();
      await doomed.kill();
      await waitFor(async () => {
        const list = (await api(port, 'GET', '/containers/json')).json as Array<{ Names: string[] }>;
        return names.every((n) => list.some((c) => c.Names[0] === `/${survivor.name}/${n}`));
      }, 120_000, 'containers rescheduled', 50);
      results.engine.push(performance.now() - t0);
      process.stderr.write(`${backend} engine round ${round + 1}: ${Math.round(results.engine.at(-1) ?? 0)} ms\n`);
      await doomed.restart();
      await waitFor(healthyEverywhere, 60_000, 'the engine back everywhere');
      await waitFor(async () => {
        const stale = await doomed.docker().listContainers({ all: true, filters: { name: ['fo-r'] } });
        return stale.length === 0;
      }, 60_000, 'stale copies removed');
      for (const name of names) await api(port, 'DELETE', `/containers/${name}?force=1`);
    }
  } finally {
    await cluster.stop();
    await engines.stop();
    await store.close().catch(() => undefined);
    await server.destroy();
  }
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, summarize(v)]));
}

async function main(): Promise<void> {
  const all: Record<string, Record<string, Summary>> = {};
  for (const backend of BACKENDS) all[backend] = await benchBackend(backend);
  const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  console.log(`\nFailover, ${ROUNDS} rounds per backend; 3 managers (--replication-ttl ${TTL}), 2 real engines; --engine-failure-retry ${FAILURE_RETRY}, engine refresh 30s-60s (default)`);
  console.log('backend  measurement                                           p50       p99       max       target');
  for (const [backend, r] of Object.entries(all)) {
    const rows: Array<[string, Summary, string]> = [
      ['SIGTERM primary -> write served by new primary', r.sigterm, '< 2 s'],
      ['SIGKILL primary -> write served by new primary', r.sigkill, `<= ${fmt(TTL_MS + 1000)}`],
      ['SIGKILL engine -> 3 rescheduled containers running', r.engine, '-'],
    ];
    for (const [what, s, target] of rows) console.log(`${backend.padEnd(8)} ${what.padEnd(53)} ${fmt(s.p50).padEnd(9)} ${fmt(s.p99).padEnd(9)} ${fmt(s.max).padEnd(9)} ${target}`);
  }
  console.log(`creates answered 502 and sent again by the benchmark: ${retries}`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(err);
    await stopAll();
    process.exit(1);
  },
);
