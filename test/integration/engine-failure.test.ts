/**
 * Node failure for real: an engine is SIGKILLed and restarted. The manager flags it Unhealthy
 * quickly, keeps its containers visible as "Host Down", schedules elsewhere, answers errors
 * naming the node, and takes it back when it returns. With no healthy engine, create is a 503.
 * The manager's /metrics count what happened: the failed refreshes, the event stream reopened,
 * the container rescheduled.
 */
import assert from 'node:assert/strict';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { metricValue, scrapeMetrics } from '../../testbed/metrics';
import { freePort } from '../../testbed/ports';
import { waitFor } from '../../testbed/wait';

describe('engine failure and recovery (own engines, killed for real)', function () {
  let engines: EngineSet;
  let manager: ManagerHandle;
  let metricsAddr: string;
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => metricValue((await scrapeMetrics(metricsAddr)).samples, name, labels);
  const info = async (): Promise<string> => (await docker(manager.host, ['info'])).stdout;
  const nodeBlock = (text: string, name: string): string => text.split(`  ${name}: `)[1]?.split(/\n  \S/)[0] ?? '';

  before(async function () {
    engines = await startEngines(2, { namePrefix: 'fail-' });
    metricsAddr = `127.0.0.1:${await freePort()}`;
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`, '--engine-refresh-min-interval', '2s', '--engine-refresh-max-interval', '3s', '--metrics-addr', metricsAddr]);
    await waitFor(async () => (await info()).split('Status: Healthy').length === 3, 20_000, '2 healthy nodes');
  });

  after(async function () {
    await manager?.stop();
    await engines?.stop();
  });

  it('flags a killed engine Unhealthy within seconds, with its error', async function () {
    const r = await docker(manager.host, ['run', '-d', '--name', 'victim', '-e', 'constraint:node==fail-0', 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const placed = (await docker(manager.host, ['inspect', '--format', '{{.Node.Name}}', 'victim'])).stdout.trim();
    const victimEngine = engines.engines.find((e) => e.name === placed);
    assert.ok(victimEngine, `placed on ${placed}`);
    // Beside it (soft affinity), a container to reschedule when its engine fails.
    const mover = await docker(manager.host, ['run', '-d', '--name', 'mover', '-e', 'affinity:container==~victim', '-e', 'reschedule:on-node-failure', 'busybox', 'sleep', '1000']);
    assert.equal(mover.code, 0, mover.stderr);
    assert.equal((await docker(manager.host, ['inspect', '--format', '{{.Node.Name}}', 'mover'])).stdout.trim(), placed);
    assert.equal(await metric('swarm_engine_refresh_failures_total', { engine: placed }), 0);
    assert.equal(await metric('swarm_reschedules_total', { result: 'rescheduled' }), 0);
    const killedAt = Date.now();
    await victimEngine.kill();
    await waitFor(async () => nodeBlock(await info(), placed).includes('Status: Unhealthy'), 15_000, 'engine flagged unhealthy');
    const detectionMs = Date.now() - killedAt;
    const block = nodeBlock(await info(), placed);
    assert.match(block, /└ Error: .+/);
    assert.ok(detectionMs < 15_000, `detected after ${detectionMs} ms`);
    console.log(`      failure detected in ${detectionMs} ms`);

    const ps = await docker(manager.host, ['ps', '-a', '--filter', 'name=victim', '--format', '{{.Status}}']);
    assert.equal(ps.stdout.trim(), 'Host Down');
    assert.equal((await docker(manager.host, ['ps', '-q', '--filter', 'name=victim'])).stdout.trim(), '', 'not listed as running');
    const inspect = await docker(manager.host, ['container', 'inspect', 'victim']);
    assert.notEqual(inspect.code, 0);
    assert.match(inspect.stderr, new RegExp(`unhealthy node ${placed}`));

    const other = engines.engines.find((e) => e !== victimEngine)!;
    const created = await docker(manager.host, ['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '1000']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await docker(manager.host, ['inspect', '--format', '{{.Node.Name}}', 'survivor'])).stdout.trim(), other.name);

    const events = await docker(manager.host, ['events', '--since', String(Math.floor(killedAt / 1000) - 1), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=swarm', '--format', '{{.Action}} {{index .Actor.Attributes "node.name"}}']);
    assert.match(events.stdout, new RegExp(`engine_disconnect ${placed}`));

    // What /metrics says about it: the engine down, its periodic refresh failing (every 2-3 s
    // here), and the container with the on-node-failure policy recreated on the other engine.
    const { samples } = await scrapeMetrics(metricsAddr);
    assert.deepEqual([metricValue(samples, 'swarm_engines', { status: 'unhealthy' }), metricValue(samples, 'swarm_engines', { status: 'healthy' })], [1, 1]);
    assert.equal(metricValue(samples, 'swarm_engine_healthy', { engine: placed }), 0);
    await waitFor(async () => (await metric('swarm_engine_refresh_failures_total', { engine: placed })) >= 1, 20_000, 'a failed refresh counted');
    assert.equal(await metric('swarm_engine_refresh_failures_total', { engine: other.name }), 0);
    await waitFor(async () => (await docker(manager.host, ['inspect', '--format', '{{.Node.Name}}', 'mover'])).stdout.trim() === other.name, 30_000, 'mover rescheduled');
    await waitFor(async () => (await metric('swarm_reschedules_total', { result: 'rescheduled' })) === 1, 10_000, 'the reschedule counted');
    assert.equal(await metric('swarm_reschedules_total', { result: 'failed' }), 0);
  });

  it('takes a restarted engine back as Healthy with its containers', async function () {
    const victim = engines.engines.find((e) => e.pid() === undefined) ?? engines.engines[0];
    assert.equal(await metric('swarm_engine_event_stream_reconnects_total', { engine: victim.name }), 0);
    await victim.restart();
    await waitFor(async () => nodeBlock(await info(), victim.name).includes('Status: Healthy'), 20_000, 'engine healthy again');
    const ps = await docker(manager.host, ['ps', '-a', '--filter', 'name=victim', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout.trim(), new RegExp(`^${victim.name}/victim Exited`));
    const start = await docker(manager.host, ['start', 'victim']);
    assert.equal(start.code, 0, start.stderr);
    await waitFor(async () => (await metric('swarm_engine_event_stream_reconnects_total', { engine: victim.name })) === 1, 10_000, 'the reopened event stream counted');
    assert.equal(await metric('swarm_engine_event_stream_reconnects_total', { engine: engines.engines.find((e) => e !== victim)!.name }), 0);
  });

  it('answers 503 when no engine is healthy, and a 500 naming the node for a dead owner', async function () {
    await Promise.all(engines.engines.map((e) => e.kill()));
    await waitFor(async () => (await info()).split('Status: Unhealthy').length === 3, 20_000, 'both engines unhealthy');
    const res = await fetch(`${manager.url}/v1.41/containers/create`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Image: 'busybox' }) });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { message: string }).message, 'No healthy node available in the cluster');
    const logs = await fetch(`${manager.url}/v1.41/containers/victim/logs?stdout=1`);
    assert.equal(logs.status, 500);
    assert.match(((await logs.json()) as { message: string }).message, /Container victim running on unhealthy node fail-\d/);
    const ping = await fetch(`${manager.url}/_ping`);
    assert.equal(await ping.text(), 'OK', 'the manager keeps serving');
  });

  it('shows an unreachable engine as Pending with its error, and validates it once it answers', async function () {
    // Both engines are dead now (previous test). A fresh manager must still start and serve.
    const fresh = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    try {
      const text = (await docker(fresh.host, ['info'])).stdout;
      assert.match(text, /Nodes: 2/);
      assert.equal(text.split('(unknown): 127.0.0.1:').length, 3, text);
      assert.match(text, /└ Status: Pending/);
      assert.match(text, /└ Error: .*ECONNREFUSED/);
      await engines.engines[1].restart();
      await waitFor(async () => (await docker(fresh.host, ['info'])).stdout.includes(`${engines.engines[1].name}: ${engines.engines[1].addr}`), 20_000, 'engine validated after it came up');
      const after = (await docker(fresh.host, ['info'])).stdout;
      assert.match(nodeBlock(after, engines.engines[1].name), /Status: Healthy/);
    } finally {
      await fresh.stop();
    }
  });
});
