/** `docker events` through the manager: one merged NDJSON stream with nodes, since/until, filters. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { docker, spawnDocker } from '../../testbed/docker-cli';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

describe('docker events through the manager', function () {
  let engines: EngineSet;
  let manager: ManagerHandle;
  let startedAt: number;

  before(async function () {
    engines = await getEngines();
    startedAt = Math.floor(Date.now() / 1000) - 1;
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.split('Status: Healthy').length === 4, 20_000, '3 healthy nodes');
  });

  after(async function () {
    await docker(manager.host, ['rm', '-f', 'ev-1', 'ev-2', 'ev-3']);
    await manager?.stop();
  });

  it('streams live events from every engine, newline-delimited, each naming its node', async function () {
    const child = spawnDocker(manager.host, ['events', '--filter', 'type=container', '--filter', 'event=create', '--format', '{{json .}}']);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500));
      for (const name of ['ev-1', 'ev-2', 'ev-3']) {
        const r = await docker(manager.host, ['create', '--name', name, 'busybox', 'true']);
        assert.equal(r.code, 0, r.stderr);
      }
      await waitFor(() => out.trim().split('\n').length >= 3, 10_000, '3 create events');
    } finally {
      child.kill();
    }
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
    assert.deepEqual(events.map((e) => e.Action), ['create', 'create', 'create']);
    assert.deepEqual(events.map((e) => e.Actor.Attributes.name).sort(), ['ev-1', 'ev-2', 'ev-3']);
    const nodes = new Set(events.map((e) => e.Actor.Attributes['node.name']));
    assert.equal(nodes.size, 3, 'spread placed one container per node, and each event names its node');
    for (const e of events) assert.match(e.Actor.Attributes['node.addr'], /^127\.0\.0\.1:\d+$/);
  });

  it('replays past events with --since/--until and applies filters server-side', async function () {
    const r = await docker(manager.host, ['events', '--since', String(startedAt), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=ev-2', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['create ev-2']);
    const swarm = await docker(manager.host, ['events', '--since', String(startedAt), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=swarm', '--format', '{{.Action}} {{index .Actor.Attributes "node.name"}}']);
    assert.deepEqual(swarm.stdout.trim().split('\n').sort(), engines.engines.map((e) => `engine_connect ${e.name}`).sort());
  });

  it('filters by node', async function () {
    const node = engines.engines[1].name;
    const r = await docker(manager.host, ['events', '--since', String(startedAt), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `node=${node}`, '--filter', 'type=container', '--filter', 'event=create', '--format', '{{index .Actor.Attributes "node.name"}} {{.Actor.Attributes.name}}']);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.every((l) => l.startsWith(`${node} `)), r.stdout);
    // Of ev-1..3 (one per node), exactly the one on this node.
    const ours = lines.map((l) => l.split(' ')[1]).filter((n) => /^ev-\d$/.test(n));
    assert.equal(ours.length, 1, r.stdout);
    assert.equal((await docker(manager.host, ['inspect', '--format', '{{.Node.Name}}', ours[0]])).stdout.trim(), node);
  });

  it('rejects malformed since and filters with a JSON 400', async function () {
    for (const query of ['since=yesterday-ish', 'filters=%7Bnot-json']) {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get(`${manager.url}/v1.41/events?${query}`, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        }).on('error', reject);
      });
      assert.equal(res.status, 400, query);
      assert.ok(JSON.parse(res.body).message, res.body);
    }
  });
});
