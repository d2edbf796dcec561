/**
 * `npm run bench:services`: declarative services, measured.
 *
 * Real engines (3 dockerd, each with its own bridge so published ports really bind):
 *  - `service create --replicas N` until every task runs: per-task latency (create request ->
 *    the task's running timestamp) and the time until all N run;
 *  - scale N -> 2N (per new task) and 2N -> N (until the extra containers are gone);
 *  - a rolling update of N tasks (parallelism N/3, monitor 0): per-task latency (update request ->
 *    the new task running) and the time until UpdateStatus is completed;
 *  - convergence after an engine's SIGKILL: per replaced task (kill -> replacement running) and
 *    until N run again (the engine with the most tasks dies);
 *  - the routing mesh against connecting to the task directly: one HTTP GET per new connection,
 *    sequential (latency p50/p99) and 16 at a time (requests/s).
 * Simulated engines (bench/sim): the same create / scale / update at N = 3,000, then the SIGKILL
 * of one engine, which runs alone in a simulator process of its own (the others share one).
 *
 *   npm run bench:services -- [--only real|sim] [--real-tasks 30] [--sim-tasks 3000] ...
 *
 * Options: --real-tasks N (30), --sim-tasks N (3000), --sim-engines N (300), --sim-latency-ms (5),
 *          --mesh-requests N (500), --only real|sim.
 */
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEngines, type EngineSet } from '../testbed/engines';
import { startManager, type ManagerHandle } from '../testbed/manager';
import { freePort } from '../testbed/ports';
import { waitFor } from '../testbed/wait';
import { ApiClient } from './lib/http-client';
import { startManagerCommand, startSimHost } from './lib/processes';
import { summarize, type Summary } from './lib/stats';

interface Task { ID: string; Slot: number; NodeID: string; DesiredState: string; Status: { State: string; Timestamp: string; ContainerStatus?: { ContainerID?: string } } }
interface Service { ID: string; Version: { Index: number }; Spec: Record<string, unknown>; UpdateStatus?: { State: string } }

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

function print(label: string, s: Summary | string): void {
  if (typeof s === 'string') console.log(`  ${label.padEnd(52)} ${s}`);
  else console.log(`  ${label.padEnd(52)} n=${s.n} p50=${s.p50} ms  p99=${s.p99} ms  max=${s.max} ms`);
}

class Bench {
  constructor(readonly client: ApiClient) {}

  tasks(serviceId: string): Promise<Task[]> {
    return this.client.json<Task[]>('GET', `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [serviceId] }))}`);
  }

  /** Task containers of a service on the engines (the manager's ps, kept from engine events). */
  async containers(serviceId: string): Promise<number> {
    const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.id=${serviceId}`] }));
    return (await this.client.json<unknown[]>('GET', `/v1.41/containers/json?all=1&filters=${filters}`)).length;
  }

  /**
   * The baseline: the same N containers as plain `docker run -d` (create + start through the
   * manager, all at once), timed until each start answered.
   */
  async baseline(label: string, n: number): Promise<void> {
    const t0 = Date.now();
    const ids: string[] = [];
    const perContainer = await Promise.all(Array.from({ length: n }, async (_v, i) => {
      const created = await this.client.json<{ Id: string }>('POST', `/v1.41/containers/create?name=baseline-${label}-${i}`, { Image: 'busybox', Cmd: ['sleep', '1d'] });
      ids.push(created.Id);
      await this.client.json('POST', `/v1.41/containers/${created.Id}/start`);
      return Date.now() - t0;
    }));
    print(`[${label}] baseline: ${n} x docker run -d, all at once: per container`, summarize(perContainer));
    print(`[${label}] baseline: all running`, `${Date.now() - t0} ms`);
    await Promise.all(ids.map((id) => this.client.json('DELETE', `/v1.41/containers/${id}?force=1`)));
  }

  service(id: string): Promise<Service> {
    return this.client.json<Service>('GET', `/v1.41/services/${id}`);
  }

  async runningTasks(serviceId: string): Promise<Task[]> {
    return (await this.tasks(serviceId)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  }

  /** Running / desired counts from `service ls`'s status (cheap to poll, unlike the task list). */
  async runningCount(serviceId: string): Promise<number> {
    const filters = encodeURIComponent(JSON.stringify({ id: [serviceId] }));
    const [s] = await this.client.json<Array<{ ServiceStatus?: { RunningTasks: number } }>>('GET', `/v1.41/services?status=true&filters=${filters}`);
    return s?.ServiceStatus?.RunningTasks ?? 0;
  }

  /**
   * Waits until `total` tasks of the service run (polling the service status every 100 ms, so
   * the benchmark does not load the manager with task lists), then reads the tasks once: the
   * per-task figures are from `since` to each picked task's running timestamp.
   */
  async untilRunning(serviceId: string, total: number, since: number, timeoutMs: number, pick?: (t: Task) => boolean): Promise<{ total: number; perTask: number[] }> {
    await waitFor(async () => (await this.runningCount(serviceId)) >= total, timeoutMs, `${total} running tasks`, 100);
    const elapsed = Date.now() - since;
    const tasks = (await this.runningTasks(serviceId)).filter((t) => !pick || pick(t));
    return { total: elapsed, perTask: tasks.map((t) => Date.parse(t.Status.Timestamp) - since) };
  }

  async update(id: string, change: (spec: Record<string, any>) => void): Promise<void> {
    const s = await this.service(id);
    const spec = JSON.parse(JSON.stringify(s.Spec)) as Record<string, any>;
    change(spec);
    await this.client.json('POST', `/v1.41/services/${id}/update?version=${s.Version.Index}`, spec);
  }

  async create(spec: Record<string, unknown>): Promise<string> {
    return (await this.client.json<{ ID: string }>('POST', '/v1.41/services/create', spec)).ID;
  }

  /** create, scale up and down, rolling update; returns the service ID. */
  async lifecycle(label: string, n: number, timeoutMs: number, extra: Record<string, unknown> = {}): Promise<string> {
    let t0 = Date.now();
    const id = await this.create({
      Name: `bench-${label}`, TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '1d'] }, RestartPolicy: { Condition: 'any', Delay: 1e9 } },
      Mode: { Replicated: { Replicas: n } }, UpdateConfig: { Parallelism: Math.max(1, Math.round(n / 3)), Monitor: 0, FailureAction: 'pause' }, ...extra,
    });
    const created = await this.untilRunning(id, n, t0, timeoutMs);
    print(`[${label}] create --replicas ${n}: per task`, summarize(created.perTask));
    print(`[${label}] create --replicas ${n}: all running`, `${created.total} ms`);

    const before = new Set((await this.runningTasks(id)).map((t) => t.ID));
    t0 = Date.now();
    await this.update(id, (spec) => (spec.Mode.Replicated.Replicas = 2 * n));
    const up = await this.untilRunning(id, 2 * n, t0, timeoutMs, (t) => !before.has(t.ID));
    print(`[${label}] scale ${n} -> ${2 * n}: per new task`, summarize(up.perTask));
    print(`[${label}] scale ${n} -> ${2 * n}: all running`, `${up.total} ms`);

    t0 = Date.now();
    await this.update(id, (spec) => (spec.Mode.Replicated.Replicas = n));
    await waitFor(async () => (await this.containers(id)) === n, timeoutMs, `scaled down to ${n} containers`, 100);
    print(`[${label}] scale ${2 * n} -> ${n}: extra tasks and containers gone`, `${Date.now() - t0} ms`);

    const old = new Set((await this.runningTasks(id)).map((t) => t.ID));
    t0 = Date.now();
    await this.update(id, (spec) => (spec.TaskTemplate.ContainerSpec.Env = ['GEN=2']));
    await waitFor(async () => (await this.service(id)).UpdateStatus?.State === 'completed', timeoutMs, 'update completed', 100);
    const total = Date.now() - t0;
    const fresh = (await this.runningTasks(id)).filter((t) => !old.has(t.ID));
    print(`[${label}] rolling update of ${n} (parallelism ${Math.max(1, Math.round(n / 3))}): per task`, summarize(fresh.map((t) => Date.parse(t.Status.Timestamp) - t0)));
    print(`[${label}] rolling update of ${n}: UpdateStatus completed`, `${total} ms`);
    return id;
  }

  /**
   * Convergence after an engine's SIGKILL: from the kill to each replacement task running
   * (elsewhere), and until all `n` run again.
   */
  async afterEngineKill(label: string, id: string, n: number, victimNode: string, kill: () => Promise<void>): Promise<void> {
    const running = await this.runningTasks(id);
    const lost = running.filter((t) => t.NodeID === victimNode).length;
    const t0 = Date.now();
    await kill();
    await waitFor(async () => (await this.runningCount(id)) < n, 120_000, 'the dead engine noticed', 100);
    const back = await this.untilRunning(id, n, t0, 300_000, (t) => t.NodeID !== victimNode && !running.some((r) => r.ID === t.ID));
    print(`[${label}] engine SIGKILL (${lost} tasks lost): per replaced task`, summarize(back.perTask));
    print(`[${label}] engine SIGKILL: all ${n} running again`, `${back.total} ms`);
  }

  /** The node ID of an engine, by its name. */
  async nodeId(hostname: string): Promise<string> {
    const nodes = await this.client.json<Array<{ ID: string; Description: { Hostname: string } }>>('GET', '/v1.41/nodes');
    const node = nodes.find((x) => x.Description.Hostname === hostname);
    if (!node) throw new Error(`no node ${hostname}`);
    return node.ID;
  }
}

function get(port: number): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    });
    req.on('error', reject);
  });
}

/**
 * Direct and mesh measured interleaved (one request each in turn, rounds of 16-concurrent
 * batches alternating), so both see the same machine load.
 */
async function meshFigures(direct: number, mesh: number, requests: number): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await get(direct);
    await get(mesh);
  }
  const seq = { direct: [] as number[], mesh: [] as number[] };
  for (let i = 0; i < requests; i++) {
    seq.direct.push(await get(direct));
    seq.mesh.push(await get(mesh));
  }
  const elapsed = { direct: 0, mesh: 0 };
  const rounds = 10;
  const perRound = Math.max(16, Math.round(requests / rounds));
  for (let r = 0; r < rounds; r++) {
    for (const [kind, port] of [['direct', direct], ['mesh', mesh]] as const) {
      const t0 = Date.now();
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next++ < perRound) await get(port);
      }));
      elapsed[kind] += Date.now() - t0;
    }
  }
  const rate = (kind: 'direct' | 'mesh'): number => Math.round((rounds * perRound) / (elapsed[kind] / 1000));
  const d = summarize(seq.direct);
  const m = summarize(seq.mesh);
  print('[mesh] direct to the task (engine port): GET per connection', d);
  print('[mesh] through the routing mesh: GET per connection', m);
  print('[mesh] direct, 16 concurrent', `${rate('direct')} req/s`);
  print('[mesh] mesh, 16 concurrent', `${rate('mesh')} req/s`);
  print('[mesh] latency ratio mesh/direct (p50, p99)', `${(m.p50 / d.p50).toFixed(2)}, ${(m.p99 / d.p99).toFixed(2)}`);
  print('[mesh] throughput ratio mesh/direct', (rate('mesh') / rate('direct')).toFixed(2));
}

async function real(n: number, meshRequests: number): Promise<void> {
  console.log(`Real engines: 3 dockerd (own bridges), N = ${n}`);
  let engines: EngineSet | undefined;
  let manager: ManagerHandle | undefined;
  try {
    engines = await startEngines(3, { namePrefix: 'bench-svc-', bridge: true });
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`, '--engine-refresh-min-interval', '2s', '--engine-refresh-max-interval', '3s']);
    const bench = new Bench(new ApiClient(manager.port));
    await waitFor(async () => (await bench.client.json<unknown[]>('GET', '/v1.41/nodes')).length === 3, 30_000, '3 nodes');
    await bench.baseline('real', n);
    const id = await bench.lifecycle('real', n, 300_000);

    // Convergence after a SIGKILL: the engine with the most tasks dies.
    const counts = new Map<string, number>();
    for (const t of await bench.runningTasks(id)) counts.set(t.NodeID, (counts.get(t.NodeID) ?? 0) + 1);
    const victimNode = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
    let victim: EngineSet['engines'][number] | undefined;
    for (const e of engines.engines) if (await bench.nodeId(e.name) === victimNode) victim = e;
    await bench.afterEngineKill('real', id, n, victimNode, () => victim!.kill());
    await bench.client.json('DELETE', `/v1.41/services/${id}`);

    // Routing mesh vs direct.
    const port = await freePort();
    const meshId = await bench.create({
      Name: 'bench-www', TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www'] } },
      Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: port }] },
    });
    const [task] = (await bench.untilRunning(meshId, 1, Date.now(), 60_000)).perTask.length ? await bench.runningTasks(meshId) : [];
    const inspect = await bench.client.json<{ NetworkSettings: { Ports: Record<string, Array<{ HostPort: string }>> } }>('GET', `/v1.41/containers/${task.Status.ContainerStatus!.ContainerID}/json`);
    const direct = Number(inspect.NetworkSettings.Ports['80/tcp'][0].HostPort);
    await waitFor(async () => (await get(port)) >= 0, 20_000, 'the mesh answers');
    await meshFigures(direct, port, meshRequests);
  } finally {
    await manager?.stop();
    await engines?.stop();
  }
}

async function simulated(n: number, engineCount: number, latencyMs: number): Promise<void> {
  console.log(`Simulated engines: ${engineCount} (latency ${latencyMs} ms per call), N = ${n}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-services-'));
  // The engine to SIGKILL lives alone in a simulator process of its own (the last name).
  const sim = await startSimHost(engineCount - 1, latencyMs, path.join(dir, 'engines'));
  const victim = await startSimHost(1, latencyMs, path.join(dir, 'victim'), 1, engineCount - 1);
  const discovery = path.join(dir, 'all');
  writeFileSync(discovery, [...sim.addresses, ...victim.addresses].join('\n') + '\n');
  const manager = await startManagerCommand('swarm-ts', 'node --max-old-space-size=4096 bin/swarm manage', `file://${discovery}`);
  try {
    const bench = new Bench(manager.client);
    await waitFor(async () => (await bench.client.json<unknown[]>('GET', '/v1.41/nodes')).length === engineCount, 120_000, `${engineCount} nodes`, 500);
    await bench.baseline('sim', Math.min(n, 1000));
    const id = await bench.lifecycle('sim', n, 600_000);
    const victimName = `sim-${String(engineCount - 1).padStart(String(engineCount - 1).length, '0')}`;
    await bench.afterEngineKill('sim', id, n, await bench.nodeId(victimName), () => victim.kill());
  } finally {
    await manager.stop();
    await sim.stop();
    await victim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (only !== 'sim') await real(opt('real-tasks', 30), opt('mesh-requests', 500));
  if (only !== 'real') await simulated(opt('sim-tasks', 3000), opt('sim-engines', 300), opt('sim-latency-ms', 5));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
