/**
 * Published ports for real: engines with a bridge and subnet of their own (containers really
 * bind), a busybox httpd service published in ingress mode on the manager's address and in host
 * mode on its engine. Connections through the routing mesh spread across the tasks and keep
 * working when a task dies.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { freePort } from '../../testbed/ports';
import { waitFor } from '../../testbed/wait';

/** One GET over a fresh connection (no keep-alive): each request is a new mesh connection. */
function get(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const HTTPD = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];

describe('routing mesh and published ports (engines with their own bridge)', function () {
  this.timeout(180_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  const dockerOk = async (...args: string[]): Promise<string> => {
    const r = await docker(manager.host, args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    engines = await startEngines(2, { namePrefix: 'mesh-', bridge: true });
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    await waitFor(async () => (await dockerOk('node', 'ls', '-q')).trim().split('\n').length === 2, 30_000, '2 nodes');
  });

  after(async function () {
    await manager?.stop();
    await engines?.stop();
  });

  it('ingress: the manager\'s port balances connections across running tasks, and skips a dead one', async function () {
    const port = await freePort();
    await dockerOk('service', 'create', '--detach', '--name', 'www', '--replicas', '3', '-p', `${port}:80`, 'busybox', ...HTTPD);
    const ids = async (): Promise<string[]> => (await dockerOk('ps', '--filter', 'label=com.docker.swarm.service.name=www', '--format', '{{.ID}}')).trim().split('\n').filter(Boolean);
    await waitFor(async () => (await ids()).length === 3, 60_000, '3 running tasks');
    assert.match(await dockerOk('service', 'ls', '--format', '{{.Ports}}'), new RegExp(`\\*:${port}->80/tcp`));
    const seen = await waitFor(async () => {
      const answers = new Set<string>();
      for (let i = 0; i < 12; i++) answers.add(await get(port));
      return answers.size === 3 ? answers : undefined;
    }, 30_000, 'answers from all 3 tasks');
    // Answers are container hostnames, i.e. the 12-char container IDs of the tasks.
    assert.deepEqual([...seen].sort(), (await ids()).sort());

    // Kill one task's container behind the manager's back: no connection may fail.
    const victim = (await ids())[0];
    await dockerOk('kill', victim);
    for (let i = 0; i < 20; i++) {
      const answer = await get(port);
      assert.notEqual(answer, victim, 'a dead task got a connection');
    }
    // The restart policy brings a third task back, and the mesh uses it.
    await waitFor(async () => (await ids()).length === 3, 60_000, 'the task replaced');
    const now = await ids();
    await waitFor(async () => {
      const answers = new Set<string>();
      for (let i = 0; i < 12; i++) answers.add(await get(port));
      return now.every((id) => answers.has(id));
    }, 30_000, 'the replacement answers through the mesh');
    await dockerOk('service', 'rm', 'www');
    await waitFor(async () => (await ids()).length === 0, 60_000, 'www removed');
    await assert.rejects(get(port), 'the mesh stops listening when the service goes');
  });

  it('mode=host publishes on the task\'s engine', async function () {
    const port = await freePort();
    await dockerOk('service', 'create', '--detach', '--name', 'hostport', '--publish', `mode=host,target=80,published=${port}`, 'busybox', ...HTTPD);
    await waitFor(async () => (await dockerOk('service', 'ps', '--filter', 'desired-state=running', '--format', '{{.CurrentState}}', 'hostport')).startsWith('Running'), 60_000, 'running');
    const id = (await dockerOk('ps', '--filter', 'label=com.docker.swarm.service.name=hostport', '--format', '{{.ID}}')).trim();
    // Both engines run on this machine: the engine's port is on 127.0.0.1 too.
    assert.equal(await waitFor(() => get(port), 20_000, 'the host port answers'), id);
    assert.match(await dockerOk('service', 'ps', '--format', '{{.Ports}}', 'hostport'), new RegExp(`\\*:${port}->80/tcp`));
    await dockerOk('service', 'rm', 'hostport');
  });
});
