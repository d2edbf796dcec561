/**
 * The operator's view against 3 real engines: Prometheus metrics checked against what the
 * engines themselves report, readiness, the audit trail and placement explanations in the
 * manager's log, and pull/import/load to many engines with merged progress.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../../testbed/docker-cli';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { freePort } from '../../testbed/ports';
import { metricValue, scrapeMetrics } from '../../testbed/metrics';
import { waitFor } from '../../testbed/wait';
import { busyboxTarball } from '../../testbed/busybox';
import { getEngines } from './cluster-fixture';
import { spawnTracked, stop as stopTracked } from '../../testbed/processes';
import { makeTlsFiles } from '../../testbed/tls';

/** The manager's JSON log lines. */
function logLines(manager: ManagerHandle): Array<Record<string, unknown>> {
  return manager.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('operations: metrics, readiness, audit, long operations (3 real engines)', function () {
  this.timeout(180_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  let metricsAddr: string;
  const PREFIX = 'ops-';
  const run = (args: string[], input?: string | Buffer) => docker(manager.host, args, { input });
  const ok = async (args: string[]): Promise<string> => {
    const r = await run(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    engines = await getEngines();
    metricsAddr = `127.0.0.1:${await freePort()}`;
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`, '--metrics-addr', metricsAddr], { env: { DEBUG: '1' }, globalArgs: ['--log-format', 'json'] });
    await waitFor(async () => (await fetch(`http://${metricsAddr}/readyz`)).status === 200 && metricValue((await scrapeMetrics(metricsAddr)).samples, 'swarm_engines', { status: 'healthy' }) === 3, 30_000, '3 healthy engines');
  });

  after(async function () {
    const names = (await run(['ps', '-aq', '--filter', `name=${PREFIX}`])).stdout.split('\n').filter(Boolean);
    if (names.length > 0) await run(['rm', '-f', ...names]);
    await manager?.stop();
  });

  it('metrics agree with what the engines themselves report', async function () {
    const memoryBefore = metricValue((await scrapeMetrics(metricsAddr)).samples, 'swarm_engine_memory_reserved_bytes', { engine: 'node-1' });
    await ok(['run', '-d', '--name', `${PREFIX}m-run`, '-c', '1', '-m', '64m', '-e', 'constraint:node==node-1', 'busybox', 'sleep', '1000']);
    await ok(['create', '--name', `${PREFIX}m-created`, '-e', 'constraint:node==node-2', 'busybox', 'true']);
    // The oracle: each engine's own container list and resources.
    const expected = new Map<string, Record<string, number>>();
    for (const engine of engines.engines) {
      const states: Record<string, number> = {};
      for (const c of await engine.docker().listContainers({ all: true })) states[c.State] = (states[c.State] ?? 0) + 1;
      expected.set(engine.name, states);
    }
    await waitFor(async () => {
      const { samples } = await scrapeMetrics(metricsAddr);
      return engines.engines.every((e) => Object.entries(expected.get(e.name)!).every(([state, n]) => metricValue(samples, 'swarm_containers', { engine: e.name, state }) === n));
    }, 15_000, 'container gauges to match the engines');
    const { text, samples } = await scrapeMetrics(metricsAddr);
    assert.equal(metricValue(samples, 'swarm_engines', { status: 'healthy' }), 3);
    assert.equal(metricValue(samples, 'swarm_engines', { status: 'unhealthy' }), 0);
    for (const engine of engines.engines) {
      const info = await engine.docker().info() as { NCPU: number; MemTotal: number };
      assert.equal(metricValue(samples, 'swarm_engine_cpus', { engine: engine.name }), info.NCPU * 1.05, `${engine.name} CPUs with the default 5% overcommit`);
      assert.equal(metricValue(samples, 'swarm_engine_memory_bytes', { engine: engine.name }), Math.floor(info.MemTotal * 1.05));
      assert.equal(metricValue(samples, 'swarm_engine_healthy', { engine: engine.name }), 1);
    }
    assert.equal(metricValue(samples, 'swarm_engine_cpus_reserved', { engine: 'node-1' }), 1, '-c 1 reserves one CPU (classic semantics)');
    assert.equal(metricValue(samples, 'swarm_engine_memory_reserved_bytes', { engine: 'node-1' }) - memoryBefore, 64 * 1024 * 1024, '-m 64m reserves 64 MiB');
    assert.ok(metricValue(samples, 'swarm_placements_total', { engine: 'node-1' }) >= 1);
    assert.ok(metricValue(samples, 'swarm_placements_total', { engine: 'node-2' }) >= 1);
    assert.equal(metricValue(samples, 'swarm_leader'), 1, 'without --replication the manager is the primary');
    assert.equal(metricValue(samples, 'swarm_discovery_healthy'), 1);
    assert.ok(metricValue(samples, 'swarm_api_request_duration_seconds_count', { route: '/containers/create', method: 'POST', status: '201' }) >= 2);
    assert.ok(metricValue(samples, 'nodejs_heap_size_used_bytes') > 0, 'process metrics');
    assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds'), 'event-loop lag');
    // Bounded labels: no container ID or name anywhere in the exposition.
    const ids = (await ok(['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean);
    for (const id of ids) assert.ok(!text.includes(id.slice(0, 12)), `container ID ${id} appears in /metrics`);
    assert.ok(!text.includes(`${PREFIX}m-run`), 'a container name appears in /metrics');
  });

  it('counts refusals by filter, requests by route and status, and forwarded bytes', async function () {
    const before = (await scrapeMetrics(metricsAddr)).samples;
    const refused = await run(['run', '-d', '--name', `${PREFIX}m-refused`, '-e', 'constraint:disk==tape', 'busybox', 'true']);
    assert.notEqual(refused.code, 0);
    await ok(['run', '--name', `${PREFIX}m-logs`, 'busybox', 'sh', '-c', 'yes swarm-ts-metrics | head -c 100000']);
    const logs = await ok(['logs', `${PREFIX}m-logs`]);
    assert.equal(logs.length, 100_000);
    const after = (await scrapeMetrics(metricsAddr)).samples;
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
    assert.equal(delta('swarm_placement_refusals_total', { filter: 'constraint' }), 1);
    assert.equal(delta('swarm_api_request_duration_seconds_count', { route: '/containers/create', method: 'POST', status: '500' }), 1);
    assert.equal(delta('swarm_api_request_duration_seconds_count', { route: '/containers/{name}/logs', method: 'GET', status: '200' }), 1);
    assert.ok(delta('swarm_forwarded_bytes_total', { kind: 'forward', direction: 'engine_to_client' }) >= 100_000, 'logs bytes counted');
  });

  it('/readyz answers 200 with the state on the API and the metrics address; /_ping keeps Docker\'s meaning', async function () {
    for (const url of [`${manager.url}/readyz`, `http://${metricsAddr}/readyz`]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      const body = await res.json() as { status: string; reasons: string[]; engines: { healthy: number; total: number } };
      assert.deepEqual([body.status, body.reasons, body.engines], ['ready', [], { healthy: 3, total: 3 }]);
    }
    const ping = await fetch(`${manager.url}/_ping`);
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), 'OK');
  });

  it('writes one audit line per mutating call: who, what, object, engine, expressions', async function () {
    await ok(['run', '-d', '--name', `${PREFIX}audited`, '-e', 'constraint:zone==a', '-e', 'affinity:image==busybox', 'busybox', 'sleep', '1000']);
    await ok(['exec', `${PREFIX}audited`, 'true']);
    await ok(['stop', '-t', '0', `${PREFIX}audited`]);
    await ok(['ps', '-a']);
    const node = (await ok(['inspect', '--format', '{{.Node.Name}}', `${PREFIX}audited`])).trim();
    let audits: Array<Record<string, unknown>> = [];
    await waitFor(() => {
      audits = logLines(manager).filter((l) => l.msg === 'audit' && String(l.object ?? '').includes(`${PREFIX}audited`));
      return audits.length >= 3;
    }, 10_000, 'audit lines');
    const create = audits.find((a) => a.what === 'POST /containers/create');
    assert.ok(create, JSON.stringify(audits));
    assert.equal(create.who, '127.0.0.1');
    assert.equal(create.engine, node);
    assert.equal(create.status, 201);
    assert.deepEqual([...(create.expressions as string[])].sort(), ['affinity:image==busybox', 'constraint:zone==a']);
    const start = audits.filter((a) => a.what === 'POST /containers/{name}/start');
    const stop = audits.filter((a) => a.what === 'POST /containers/{name}/stop');
    assert.equal(start.length, 1, 'one line per call');
    assert.equal(stop.length, 1);
    assert.deepEqual([start[0].engine, start[0].status, stop[0].engine, stop[0].status], [node, 204, node, 204]);
    // A hijacked call is audited when its socket closes: still with the client's address.
    let execStart: Record<string, unknown> | undefined;
    await waitFor(() => (execStart = logLines(manager).find((l) => l.msg === 'audit' && l.what === 'POST /exec/{id}/start')) !== undefined, 10_000, 'the exec start audit line');
    assert.deepEqual([execStart!.who, execStart!.engine, execStart!.status], ['127.0.0.1', node, 101]);
    assert.equal(logLines(manager).filter((l) => l.msg === 'audit' && String(l.what).startsWith('GET ')).length, 0, 'reads are not audited');
  });

  it('a refused docker run names what each filter removed; a debug line says why the chosen node won', async function () {
    const refused = await run(['run', '-d', '--name', `${PREFIX}nowhere`, '-e', 'constraint:zone==a', '-e', 'constraint:disk==tape', 'busybox', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Unable to find a node that satisfies the following conditions/);
    // zone==a holds node-0 and node-2 (testbed labels); disk==tape none: 1 removed, then 2.
    assert.match(refused.stderr, /constraint filter removed 3 of 3 nodes: node-0, node-1, node-2/);
    const audit = logLines(manager).find((l) => l.msg === 'audit' && l.object === `${PREFIX}nowhere`);
    assert.ok(audit, 'the failed call is audited');
    assert.equal(audit.status, 500);
    assert.match(String(audit.error), /constraint filter removed 3 of 3 nodes/);

    await ok(['run', '-d', '--name', `${PREFIX}explained`, '-e', 'constraint:zone==a', 'busybox', 'sleep', '1000']);
    const node = (await ok(['inspect', '--format', '{{.Node.Name}}', `${PREFIX}explained`])).trim();
    const placement = logLines(manager).filter((l) => l.level === 'debug' && String(l.msg).startsWith('Placement:') && l.name === `${PREFIX}explained`);
    assert.equal(placement.length, 1);
    assert.match(String(placement[0].msg), new RegExp(`^Placement: spread chose ${node} \\(\\d+ containers, .* among 2 candidates; next: node-\\d`));
    assert.match(String(placement[0].filters), /constraint 3->2/);
  });

  it('docker import and load: one line per text and an engines summary, not one copy per engine', async function () {
    const tarball = await busyboxTarball();
    const imported = await run(['import', '-', `${PREFIX}imported:1`], fs.readFileSync(tarball));
    assert.equal(imported.code, 0, imported.stderr);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-ops-load-'));
    try {
      const saved = path.join(dir, 'img.tar');
      execFileSync('docker', ['-H', engines.engines[0].host, 'tag', `${PREFIX}imported:1`, `${PREFIX}loaded:1`]);
      execFileSync('docker', ['-H', engines.engines[0].host, 'save', '-o', saved, `${PREFIX}loaded:1`]);
      execFileSync('docker', ['-H', engines.engines[0].host, 'rmi', `${PREFIX}loaded:1`]);
      const loaded = await run(['load', '-i', saved]);
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.equal(loaded.stdout.match(/Loaded image: ops-loaded:1/g)?.length, 1, loaded.stdout);
      assert.match(loaded.stdout, /load: 3\/3 done/);
      for (const engine of engines.engines) {
        assert.notEqual((await docker(engine.host, ['images', '-q', `${PREFIX}loaded:1`])).stdout.trim(), '', engine.name);
        assert.notEqual((await docker(engine.host, ['images', '-q', `${PREFIX}imported:1`])).stdout.trim(), '', engine.name);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await run(['rmi', `${PREFIX}imported:1`]);
      await run(['rmi', `${PREFIX}loaded:1`]);
    }
  });

  it('services: desired and running tasks per service in /metrics and the page\'s view', async function () {
    const service = `${PREFIX}svc`;
    const view = async () => ((await (await fetch(`http://${metricsAddr}/api/cluster`)).json()) as { services: Array<{ name: string; desired: number; running: number }> }).services;
    assert.equal(metricValue((await scrapeMetrics(metricsAddr)).samples, 'swarm_service_desired_tasks', { service }), 0);
    try {
      await ok(['service', 'create', '--detach', '--name', service, '--replicas', '2', 'busybox', 'sleep', '1000']);
      const counts = async () => {
        const { samples } = await scrapeMetrics(metricsAddr);
        return [metricValue(samples, 'swarm_service_desired_tasks', { service }), metricValue(samples, 'swarm_service_running_tasks', { service })];
      };
      await waitFor(async () => (await counts()).join() === '2,2', 60_000, '2 of 2 tasks running in /metrics');
      assert.deepEqual((await view()).find((s) => s.name === service), { name: service, desired: 2, running: 2 });
      await ok(['service', 'scale', '--detach', `${service}=3`]);
      assert.equal((await counts())[0], 3, 'desired follows the spec at once');
      await waitFor(async () => (await counts()).join() === '3,3', 60_000, '3 of 3 tasks running in /metrics');
    } finally {
      await run(['service', 'rm', service]);
    }
    await waitFor(async () => !(await scrapeMetrics(metricsAddr)).text.includes(`service="${service}"`), 10_000, 'a removed service leaves /metrics');
  });

  it('an import only one engine manages: the summary counts, one closing error names the two that failed', async function () {
    // dockerd fetches the URL itself: the first engine to ask gets the rootfs, the others a 404.
    const rootfs = fs.readFileSync(await busyboxTarball());
    let served = 0;
    const source = http.createServer((_req, res) => {
      if (served++ === 0) res.writeHead(200, { 'Content-Type': 'application/x-tar' }).end(rootfs);
      else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('gone');
    });
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    const tag = `${PREFIX}partial:1`;
    try {
      const r = await run(['import', `http://127.0.0.1:${(source.address() as AddressInfo).port}/rootfs.tar`, tag]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.equal(served, 3, 'every engine asked');
      const holders: string[] = [];
      for (const engine of engines.engines) if ((await docker(engine.host, ['images', '-q', tag])).stdout.trim()) holders.push(engine.name);
      assert.equal(holders.length, 1, holders.join());
      const failed = engines.engines.map((e) => e.name).filter((n) => !holders.includes(n)).sort();
      assert.match(r.stdout, /import: 1\/3 done, 2 failed/);
      const errors = r.stderr.split('\n').filter(Boolean);
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0], new RegExp(`import failed on 2 of 3 engines: .*404.* \\(${failed.join(', ')}\\)$`));
    } finally {
      source.close();
      await run(['rmi', tag]);
    }
  });

  it('a pull every engine refuses alike fails with one line, as one engine would', async function () {
    const r = await run(['pull', '127.0.0.1:1/nothing/here:v1']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /^Error response from daemon: .*127\.0\.0\.1:1/, r.stderr);
    assert.doesNotMatch(r.stderr, /node-[0-9]/, 'an identical refusal is the engine\'s message, unchanged');
  });
});

describe('operations: bounded parallelism and readiness failures (own managers)', function () {
  this.timeout(180_000);
  let engines: EngineSet;

  before(async function () {
    engines = await getEngines();
  });

  it('--broadcast-parallelism 1 imports to every engine (the body spooled once and replayed)', async function () {
    const manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`, '--broadcast-parallelism', '1'], { globalArgs: ['--log-format', 'json'] });
    try {
      await waitFor(async () => (await fetch(`${manager.url}/readyz`)).status === 200 && ((await (await fetch(`${manager.url}/readyz`)).json()) as { engines: { healthy: number } }).engines.healthy === 3, 30_000, 'ready');
      const tarball = await busyboxTarball();
      const r = await docker(manager.host, ['import', '-', 'ops-serial:1'], { input: fs.readFileSync(tarball) });
      assert.equal(r.code, 0, r.stderr);
      for (const engine of engines.engines) assert.notEqual((await docker(engine.host, ['images', '-q', 'ops-serial:1'])).stdout.trim(), '', engine.name);
      // How many engines are served at once is counted by the simulated engines (long-operations-sim).
      await docker(manager.host, ['rmi', 'ops-serial:1']);
    } finally {
      await manager.stop();
    }
  });

  it('under --tlsverify the audit line names the client certificate\'s CN', async function () {
    const tls = makeTlsFiles();
    const port = await freePort();
    const proc = spawnTracked({
      name: `swarm-manage-tls-${port}`, command: process.execPath, cwd: path.resolve(__dirname, '..', '..', '..'),
      args: [path.resolve(__dirname, '..', '..', '..', 'bin', 'swarm'), '--log-format', 'json', 'manage', '-H', `tcp://127.0.0.1:${port}`, '--tlsverify',
        '--tlscacert', tls.ca, '--tlscert', tls.serverCert, '--tlskey', tls.serverKey, 'nodes://127.0.0.1:1'],
    });
    const tlsArgs = ['--tlsverify', '--tlscacert', tls.ca, '--tlscert', tls.clientCert, '--tlskey', tls.clientKey];
    try {
      await waitFor(async () => (await docker(`tcp://127.0.0.1:${port}`, [...tlsArgs, 'version'])).stdout.includes('swarm'), 20_000, 'the TLS manager to answer');
      const r = await docker(`tcp://127.0.0.1:${port}`, [...tlsArgs, 'network', 'create', 'ops-tls-net']);
      assert.notEqual(r.code, 0, 'no healthy engine to create it on');
      let line: Record<string, unknown> | undefined;
      await waitFor(() => {
        line = proc.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'audit');
        return line !== undefined;
      }, 10_000, 'the audit line');
      assert.equal(line!.who, 'CN=swarm-ts client');
      assert.equal(line!.what, 'POST /networks/create');
      assert.equal(line!.object, 'ops-tls-net');
    } finally {
      await stopTracked(proc.pid);
      tls.remove();
    }
  });

  it('/readyz is 503 and says why: no healthy engine, or discovery that cannot be read', async function () {
    const dead = await startManager(['nodes://127.0.0.1:1']);
    const missingMetrics = `127.0.0.1:${await freePort()}`;
    const missing = await startManager([`file://${path.join(os.tmpdir(), 'swarm-ops-no-such-file')}`, '--metrics-addr', missingMetrics]);
    try {
      await waitFor(async () => ((await (await fetch(`${dead.url}/readyz`)).json()) as { discovery: { answered: boolean } }).discovery.answered, 10_000, 'discovery read');
      const res = await fetch(`${dead.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(((await res.json()) as { reasons: string[] }).reasons, ['no healthy engine (0 of 1)']);
      const ping = await fetch(`${dead.url}/_ping`);
      assert.equal(ping.status, 200, '/_ping only says the manager answers');

      await waitFor(async () => ((await (await fetch(`${missing.url}/readyz`)).json()) as { reasons: string[] }).reasons.some((r) => r.includes('discovery')), 10_000, 'discovery error');
      const res2 = await fetch(`${missing.url}/readyz`);
      assert.equal(res2.status, 503);
      const body = await res2.json() as { status: string; reasons: string[] };
      assert.equal(body.status, 'not ready');
      assert.match(body.reasons[0], /^discovery has not answered: .*swarm-ops-no-such-file/);
      assert.equal(body.reasons[1], 'no engine in the cluster');
      // The same on the metrics address, and counted.
      assert.equal((await fetch(`http://${missingMetrics}/readyz`)).status, 503);
      const { samples } = await scrapeMetrics(missingMetrics);
      assert.ok(metricValue(samples, 'swarm_discovery_errors_total') >= 1, 'discovery errors counted');
      assert.equal(metricValue(samples, 'swarm_discovery_healthy'), 0);
      assert.deepEqual(['pending', 'healthy', 'unhealthy'].map((status) => metricValue(samples, 'swarm_engines', { status })), [0, 0, 0]);
    } finally {
      await Promise.all([dead.stop(), missing.stop()]);
    }
  });
});
