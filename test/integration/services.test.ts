/**
 * Declarative services over plain engines, driven by the real docker CLI (v28) against the real
 * manager over real dockerd engines: docker service create/ls/ps/inspect/logs/scale/update/
 * rollback/rm and docker node ls/inspect/update/ps, the reconciler's restart policy, drain,
 * global mode with an engine added and one SIGKILLed, and a manager SIGKILLed mid-update.
 *
 * Own engines (one gets killed), file:// discovery (so an engine can join), a state file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';

interface TaskRow {
  id: string;
  name: string;
  node: string;
  desired: string;
  current: string;
  error: string;
}

describe('services over plain engines (docker service / docker node)', function () {
  this.timeout(240_000);
  let engines: EngineSet;
  let extra: EngineSet | undefined;
  let manager: ManagerHandle;
  let dir: string;
  let discoveryFile: string;
  let stateFile: string;

  const dockerOk = async (...args: string[]): Promise<string> => {
    const r = await docker(manager.host, args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const tasks = async (service: string, ...flags: string[]): Promise<TaskRow[]> => {
    const out = await dockerOk('service', 'ps', '--no-trunc', ...flags, '--format', '{{.ID}}|{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}', service);
    return out.trim().split('\n').filter(Boolean).map((line) => {
      const [id, name, node, desired, current, error] = line.split('|');
      return { id, name: name.trim(), node, desired, current, error };
    });
  };
  const running = async (service: string): Promise<TaskRow[]> => (await tasks(service, '--filter', 'desired-state=running')).filter((t) => t.current.startsWith('Running'));
  /** Running containers of a service, from the manager's `docker ps` (engines' truth). */
  const containers = async (service: string): Promise<Array<{ name: string; labels: string }>> => {
    const out = await dockerOk('ps', '--filter', `label=com.docker.swarm.service.name=${service}`, '--format', '{{.Names}}|{{.Labels}}');
    return out.trim().split('\n').filter(Boolean).map((line) => {
      const [name, labels] = line.split('|');
      return { name, labels };
    });
  };
  const api = (method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: unknown }> => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: manager.port, method, path: urlPath, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
  const startTheManager = async (): Promise<ManagerHandle> => startManager([`file://${discoveryFile}`, '--heartbeat', '1s', '--state-file', stateFile, '--engine-refresh-min-interval', '2s', '--engine-refresh-max-interval', '3s']);

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-ts-services-'));
    discoveryFile = path.join(dir, 'cluster');
    stateFile = path.join(dir, 'state.json');
    engines = await startEngines(3, { namePrefix: 'svc-' });
    fs.writeFileSync(discoveryFile, engines.engines.map((e) => e.addr).join('\n') + '\n');
    manager = await startTheManager();
    await waitFor(async () => (await dockerOk('node', 'ls', '--format', '{{.Status}}')).split('\n').filter((s) => s === 'Ready').length === 3, 30_000, '3 ready nodes');
  });

  after(async function () {
    await manager?.stop();
    await extra?.stop();
    await engines?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists the engines as nodes; node update keeps availability and labels; errors are JSON', async function () {
    const rows = (await dockerOk('node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}} {{.EngineVersion}}')).trim().split('\n');
    assert.deepEqual(rows.map((r) => r.split(' ').slice(0, 3).join(' ')), ['svc-0 Ready Active', 'svc-1 Ready Active', 'svc-2 Ready Active']);
    assert.match(rows[0], /\d+\.\d+\.\d+/);
    await dockerOk('node', 'update', '--label-add', 'tier=front', '--label-add', 'zone=a', 'svc-1');
    await dockerOk('node', 'update', '--label-add', 'tier=front', 'svc-2');
    await dockerOk('node', 'update', '--label-rm', 'zone', 'svc-1');
    assert.equal((await dockerOk('node', 'inspect', '--format', '{{json .Spec.Labels}}', 'svc-1')).trim(), '{"tier":"front"}');
    assert.equal((await dockerOk('node', 'inspect', '--format', '{{.Description.Engine.Labels.disk}}', 'svc-0')).trim(), 'ssd');
    const missing = await api('GET', '/v1.41/nodes/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { message: 'node nope not found' });
    const noService = await api('GET', '/v1.41/services/nope');
    assert.equal(noService.status, 404);
    assert.deepEqual(noService.json, { message: 'service nope not found' });
    const badSpec = await api('POST', '/v1.41/services/create', { Name: 'x', TaskTemplate: { ContainerSpec: {} } });
    assert.equal(badSpec.status, 400);
    assert.match((badSpec.json as { message: string }).message, /image reference must be provided/);
    const badJson = await api('POST', '/v1.41/services/create', undefined);
    assert.equal(badJson.status, 400);
    const hostile = await api('POST', '/v1.41/services/create', { Name: 'x', TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Placement: { Constraints: 5 } } });
    assert.equal(hostile.status, 400);
    assert.match((hostile.json as { message: string }).message, /Placement.Constraints must be a list/);
    const nodeId = (await dockerOk('node', 'inspect', '--format', '{{.ID}} {{.Version.Index}}', 'svc-0')).trim().split(' ');
    const nullSpec = await api('POST', `/v1.41/nodes/${nodeId[0]}/update?version=${nodeId[1]}`, null);
    assert.equal(nullSpec.status, 400);
    assert.deepEqual(nullSpec.json, { message: 'node spec must be a JSON object' });
    const stale = await api('POST', `/v1.41/nodes/${(await dockerOk('node', 'inspect', '--format', '{{.ID}}', 'svc-0')).trim()}/update?version=1`, { Availability: 'drain', Labels: {}, Role: 'worker' });
    assert.equal(stale.status, 409);
    const rm = await docker(manager.host, ['node', 'rm', 'svc-0']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /is not down and can't be removed/);
    // Plain containers keep working beside services.
    await dockerOk('run', '-d', '--name', 'plain', 'busybox', 'sleep', '600');
    assert.match(await dockerOk('ps', '--filter', 'name=plain', '--format', '{{.Names}}'), /svc-\d\/plain/);
  });

  it('creates a replicated service with a node.labels constraint: tasks named and labelled like swarm mode', async function () {
    const out = await dockerOk('service', 'create', '--detach', '--name', 'web', '--replicas', '4', '--constraint', 'node.labels.tier==front', 'busybox', 'sh', '-c', 'echo hello from $HOSTNAME; exec sleep 600');
    const serviceId = out.trim().split('\n').pop()!;
    assert.match(serviceId, /^[a-z0-9]{25}$/);
    await waitFor(async () => (await running('web')).length === 4, 60_000, '4 running tasks');
    const rows = await running('web');
    assert.deepEqual(rows.map((t) => t.name).sort(), ['web.1', 'web.2', 'web.3', 'web.4']);
    assert.deepEqual([...new Set(rows.map((t) => t.node))].sort(), ['svc-1', 'svc-2'], 'only labelled nodes, both used');
    const list = await containers('web');
    assert.equal(list.length, 4);
    const nodeIds = new Map<string, string>();
    for (const name of ['svc-1', 'svc-2']) nodeIds.set(name, (await dockerOk('node', 'inspect', '--format', '{{.ID}}', name)).trim());
    for (const c of list) {
      const [node, name] = c.name.split('/');
      const [svc, slot, taskId] = name.split('.');
      assert.equal(svc, 'web');
      const row = rows.find((t) => t.id === taskId);
      assert.ok(row, `container ${c.name} is task ${taskId}`);
      assert.equal(row.name, `web.${slot}`);
      assert.equal(row.node, node);
      assert.ok(c.labels.includes(`com.docker.swarm.service.id=${serviceId}`));
      assert.ok(c.labels.includes(`com.docker.swarm.task.id=${taskId}`));
      assert.ok(c.labels.includes(`com.docker.swarm.task.name=${name}`));
      assert.ok(c.labels.includes(`com.docker.swarm.node.id=${nodeIds.get(node)}`), `${c.name} carries its node's ID: ${c.labels}`);
    }
    assert.match(await dockerOk('service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}}'), /^web replicated 4\/4$/m);
    const pretty = await dockerOk('service', 'inspect', '--pretty', 'web');
    assert.match(pretty, /Name:\s+web/);
    assert.match(pretty, /Replicas:\s+4/);
    assert.match(pretty, /node\.labels\.tier==front/);
    const logs = await dockerOk('service', 'logs', 'web');
    const lines = logs.trim().split('\n').sort();
    assert.equal(lines.length, 4, logs);
    for (const line of lines) assert.match(line, /^web\.[1-4]\.[a-z0-9]{12}@svc-[12]\s+\| hello from [0-9a-f]{12}$/);
  });

  it('scales up and down (containers removed with their slots)', async function () {
    await dockerOk('service', 'scale', '--detach', 'web=6');
    await waitFor(async () => (await running('web')).length === 6, 60_000, '6 running tasks');
    await dockerOk('service', 'scale', '--detach', 'web=2');
    await waitFor(async () => (await containers('web')).length === 2, 60_000, '2 task containers left');
    assert.deepEqual((await running('web')).map((t) => t.name).sort(), ['web.1', 'web.2']);
    const all = await dockerOk('ps', '-a', '--filter', 'label=com.docker.swarm.service.name=web', '--format', '{{.Names}}');
    assert.ok(!/web\.[3-6]\./.test(all), `no container of a removed slot left: ${all}`);
  });

  it('rolls an update out (parallelism, order) and rolls it back on request', async function () {
    const before = (await running('web')).map((t) => t.id);
    const r = await docker(manager.host, ['service', 'update', '--env-add', 'VERSION=2', '--update-parallelism', '2', '--update-order', 'start-first', '--update-monitor', '1s', 'web'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /verify: Service web converged/);
    // The CLI judges convergence itself (tasks running for its monitor period); the manager marks
    // the update completed once the last new task has run for Monitor, a moment later or earlier.
    await waitFor(async () => (await dockerOk('service', 'inspect', '--format', '{{.UpdateStatus.State}} {{.UpdateStatus.Message}}', 'web')).trim() === 'completed update completed', 30_000, 'UpdateStatus completed');
    const after = await running('web');
    assert.equal(after.length, 2);
    for (const t of after) assert.ok(!before.includes(t.id), 'every task replaced');
    const env = await dockerOk('inspect', '--format', '{{json .Config.Env}}', ...(await containers('web')).map((c) => c.name));
    assert.equal(env.trim().split('\n').filter((l) => l.includes('VERSION=2')).length, 2);
    const history = await tasks('web');
    assert.equal(history.filter((t) => t.desired === 'Shutdown').length, 2, 'old tasks kept as history');

    await dockerOk('service', 'rollback', '--detach', 'web');
    await waitFor(async () => (await dockerOk('service', 'inspect', '--format', '{{.UpdateStatus.State}}', 'web')).trim() === 'rollback_completed', 60_000, 'rollback completed');
    const envAfter = await dockerOk('inspect', '--format', '{{json .Config.Env}}', ...(await containers('web')).map((c) => c.name));
    assert.ok(!envAfter.includes('VERSION=2'), envAfter);
    assert.equal((await running('web')).length, 2);
  });

  it('rolls back by itself when the update fails (failure action rollback)', async function () {
    const r = await docker(manager.host, ['service', 'update', '--detach', '--entrypoint', 'sh -c "exit 3"', '--update-failure-action', 'rollback', '--update-monitor', '2s', '--restart-delay', '1s', 'web'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => (await dockerOk('service', 'inspect', '--format', '{{.UpdateStatus.State}}', 'web')).trim() === 'rollback_completed', 90_000, 'automatic rollback completed');
    const status = (await dockerOk('service', 'inspect', '--format', '{{json .UpdateStatus}}', 'web'));
    assert.equal((await dockerOk('service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Command}}', 'web')).trim(), 'null');
    const failed = (await tasks('web')).filter((t) => t.error.includes('non-zero exit (3)'));
    assert.ok(failed.length >= 1, 'the failed task is in the history');
    void status;
    await waitFor(async () => (await running('web')).length === 2, 60_000, '2 running tasks of the old spec');
  });

  it('an update to an image no engine has: tasks rejected, the update rolled back (the issue\'s update command)', async function () {
    // A registry on a closed loopback port: the pull fails at once, and nothing leaves the machine.
    const r = await docker(manager.host, ['service', 'update', '--detach', '--image', '127.0.0.1:1/busybox:v2', '--update-parallelism', '2', '--update-delay', '5s', '--update-failure-action', 'rollback', 'web'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => (await dockerOk('service', 'inspect', '--format', '{{.UpdateStatus.State}}', 'web')).trim() === 'rollback_completed', 90_000, 'automatic rollback completed');
    assert.equal((await dockerOk('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', 'web')).trim(), 'busybox:latest', 'the previous image is back');
    const rejected = (await tasks('web')).filter((t) => t.current.startsWith('Rejected'));
    assert.ok(rejected.length >= 1, 'the rejected tasks are in the history');
    for (const t of rejected) {
      assert.match(t.error, /No such image: 127\.0\.0\.1:1\/busybox:v2/);
      assert.match(t.node, /^svc-[12]$/, 'shown on the node that rejected it');
    }
    await waitFor(async () => (await running('web')).length === 2, 60_000, '2 running tasks of the old spec');
  });

  it('applies the restart policy: on-failure, max attempts', async function () {
    await dockerOk('service', 'create', '--detach', '--name', 'crash', '--restart-condition', 'on-failure', '--restart-max-attempts', '2', '--restart-delay', '500ms', 'busybox', 'sh', '-c', 'sleep 1; exit 7');
    await waitFor(async () => (await tasks('crash')).filter((t) => t.error.includes('non-zero exit (7)')).length === 3, 60_000, 'three failed attempts');
    await new Promise((r) => setTimeout(r, 3000));
    const rows = await tasks('crash');
    assert.equal(rows.length, 3, 'no fourth attempt');
    assert.ok(rows.every((t) => t.current.startsWith('Failed')));
    await dockerOk('service', 'create', '--detach', '--name', 'oneshot', '--restart-condition', 'on-failure', 'busybox', 'true');
    await waitFor(async () => (await tasks('oneshot')).some((t) => t.current.startsWith('Complete')), 60_000, 'completed task');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await tasks('oneshot')).length, 1, 'a completed task is not restarted under on-failure');
    await dockerOk('service', 'rm', 'crash', 'oneshot');
  });

  it('reservations place (a task no node has room for stays pending, saying why); limits reach the container', async function () {
    await dockerOk('service', 'create', '--detach', '--name', 'huge', '--reserve-memory', '100g', 'busybox', 'sleep', '600');
    await dockerOk('service', 'create', '--detach', '--name', 'limited', '--limit-memory', '64m', '--limit-cpu', '0.5', 'busybox', 'sleep', '600');
    await waitFor(async () => (await running('limited')).length === 1, 60_000, 'limited running');
    const [hostConfig] = (await dockerOk('inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', (await containers('limited'))[0].name)).trim().split('\n');
    assert.equal(hostConfig, '67108864 500000000');
    const [huge] = await waitFor(async () => {
      const rows = await tasks('huge');
      return rows.length === 1 && rows[0].error !== '' ? rows : undefined;
    }, 30_000, 'the huge task says why it waits');
    assert.match(huge.current, /^Pending/);
    assert.match(huge.error, /no suitable node/);
    assert.equal((await containers('huge')).length, 0);
    await dockerOk('service', 'rm', 'huge', 'limited');
  });

  it('drain moves tasks off a node; pause takes no new ones', async function () {
    await dockerOk('service', 'create', '--detach', '--name', 'spread', '--replicas', '3', 'busybox', 'sleep', '600');
    await waitFor(async () => (await running('spread')).length === 3, 60_000, '3 running');
    assert.equal(new Set((await running('spread')).map((t) => t.node)).size, 3, 'one per node (spread)');
    await dockerOk('node', 'update', '--availability', 'drain', 'svc-0');
    await waitFor(async () => {
      const rows = await running('spread');
      return rows.length === 3 && rows.every((t) => t.node !== 'svc-0');
    }, 60_000, 'tasks moved off svc-0');
    assert.equal((await dockerOk('node', 'ps', '--filter', 'desired-state=running', '-q', 'svc-0')).trim(), '');
    await dockerOk('node', 'update', '--availability', 'pause', 'svc-0');
    await dockerOk('service', 'scale', '--detach', 'spread=5');
    await waitFor(async () => (await running('spread')).length === 5, 60_000, '5 running');
    assert.ok((await running('spread')).every((t) => t.node !== 'svc-0'), 'paused node took no task');
    await dockerOk('node', 'update', '--availability', 'active', 'svc-0');
    await dockerOk('service', 'rm', 'spread');
    await waitFor(async () => (await containers('spread')).length === 0, 60_000, 'spread containers removed');
  });

  it('global mode: a task per node, one more for a joining engine; a SIGKILLed engine\'s replicated tasks are recreated elsewhere', async function () {
    await dockerOk('service', 'create', '--detach', '--name', 'agent', '--mode', 'global', 'busybox', 'sleep', '600');
    await waitFor(async () => (await running('agent')).length === 3, 60_000, '3 global tasks');
    extra = await startEngines(1, { namePrefix: 'svc-extra-' });
    fs.appendFileSync(discoveryFile, `${extra.engines[0].addr}\n`);
    await waitFor(async () => (await running('agent')).length === 4, 60_000, 'a global task on the new engine');
    assert.ok((await running('agent')).some((t) => t.node === 'svc-extra-0'));

    // web has 2 tasks on svc-1/svc-2 (tier=front); kill the engine of one of them.
    const victimName = (await running('web'))[0].node;
    const victim = engines.engines.find((e) => e.name === victimName)!;
    await victim.kill();
    await waitFor(async () => (await dockerOk('node', 'ls', '--format', '{{.Hostname}} {{.Status}}')).includes(`${victimName} Down`), 60_000, 'node down');
    await waitFor(async () => {
      const rows = await running('web');
      return rows.length === 2 && rows.every((t) => t.node !== victimName) ? rows : undefined;
    }, 60_000, 'web tasks recreated away from the dead engine');
    // The dead engine's tasks are left alone until it is back: no engine call failing in a loop
    // (each failure scheduling the next pass) while it is down.
    const failedActions = (): number => (manager.logs().match(/Task action failed/g) ?? []).length;
    const failedBefore = failedActions();
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(failedActions() - failedBefore <= 2, `${failedActions() - failedBefore} failed task actions in 3 s while an engine is down`);
    // The global service does not move: the dead node's task is shut down, the others stay.
    const agents = await tasks('agent', '--filter', 'desired-state=running');
    assert.equal(agents.filter((t) => t.current.startsWith('Running')).length, 3);
    await victim.restart();
    await waitFor(async () => (await running('agent')).length === 4, 60_000, 'the global task is back on the restarted engine');
  });

  it('survives a manager SIGKILLed mid-update: no task duplicated or lost', async function () {
    await dockerOk('service', 'create', '--detach', '--name', 'roll', '--replicas', '6', '--update-parallelism', '1', '--update-delay', '1s', '--update-monitor', '500ms', 'busybox', 'sleep', '600');
    await waitFor(async () => (await running('roll')).length === 6, 90_000, '6 running');
    await dockerOk('service', 'update', '--detach', '--env-add', 'GEN=2', 'roll');
    await waitFor(async () => (await tasks('roll')).filter((t) => t.desired === 'Shutdown').length >= 2, 60_000, 'update under way');
    await manager.kill();
    manager = await startTheManager();
    await waitFor(async () => (await dockerOk('service', 'inspect', '--format', '{{.UpdateStatus.State}}', 'roll')).trim() === 'completed', 120_000, 'update completed after the restart');
    await waitFor(async () => (await containers('roll')).length === 6, 60_000, '6 containers');
    const list = await containers('roll');
    const slots = list.map((c) => c.name.split('/')[1].split('.')[1]).sort();
    assert.deepEqual(slots, ['1', '2', '3', '4', '5', '6'], 'one running container per slot');
    const env = await dockerOk('inspect', '--format', '{{json .Config.Env}}', ...list.map((c) => c.name));
    assert.equal(env.trim().split('\n').filter((l) => l.includes('GEN=2')).length, 6, 'all on the new spec');
    const runningRows = await running('roll');
    assert.equal(runningRows.length, 6);
    assert.equal(new Set(runningRows.map((t) => t.name)).size, 6);
  });

  it('docker service rm removes the tasks and their containers', async function () {
    await dockerOk('service', 'rm', 'web', 'roll', 'agent');
    await waitFor(async () => (await dockerOk('ps', '-a', '--filter', 'label=com.docker.swarm.service.id', '--format', '{{.Names}}')).trim() === '', 60_000, 'no task container left');
    assert.equal((await dockerOk('service', 'ls', '-q')).trim(), '');
    assert.equal((await api('GET', '/v1.41/tasks')).json instanceof Array, true);
    assert.deepEqual((await api('GET', '/v1.41/tasks')).json, []);
  });
});
