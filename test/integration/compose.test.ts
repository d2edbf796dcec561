/**
 * docker-compose 1.29 through the manager, with one real engine as the oracle: the same project
 * (fixtures/compose-app: default and named network, named volume, depends_on, links, build:,
 * ports:, a constraint in the environment) is driven command by command against ONE engine
 * directly and against the manager over 3 engines, and each command's outcome is compared:
 * exit code, the containers `ps` lists (by service and number, each once, with their state),
 * logs, exec and run output.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { docker } from '../../testbed/docker-cli';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT_DIR = path.resolve(__dirname, '../../../test/integration/fixtures/compose-app');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function compose(host: string, project: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(COMPOSE, ['--no-ansi', ...args], {
      cwd: PROJECT_DIR,
      timeout: 300_000,
      env: { ...process.env, DOCKER_HOST: host, COMPOSE_PROJECT_NAME: project, COMPOSE_HTTP_TIMEOUT: '300' },
    }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** `docker-compose ps` as "service_n state" lines, project prefix removed, sorted. */
function psRows(run: Run, project: string): string[] {
  return run.stdout.split('\n')
    .filter((line) => line.startsWith(`${project}_`))
    .map((line) => {
      const name = line.split(/\s+/)[0].slice(project.length + 1);
      const state = /\s(Up|Exit -?\d+)(\s|$)/.exec(line)?.[1] ?? '?';
      return `${name} ${state}`;
    })
    .sort();
}

/** Log lines without compose's column padding, sorted (services log concurrently). */
function logLines(run: Run): string[] {
  return run.stdout.split('\n').filter((l) => l.includes('|')).map((l) => l.replace(/\s+\|\s?/, ' | ').trim()).sort();
}

describe('docker-compose 1.29: the manager over 3 engines answers as one engine does', function () {
  this.timeout(600_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  const suffix = String(process.pid);
  const single = { project: `cmpone${suffix}`, host: '' };
  const swarm = { project: `cmpswarm${suffix}`, host: '' };

  /** Runs the same compose command on both sides. */
  const both = async (args: string[]): Promise<[Run, Run]> => {
    const [a, b] = await Promise.all([compose(single.host, single.project, args), compose(swarm.host, swarm.project, args)]);
    return [a, b];
  };
  const sameExit = (runs: [Run, Run], what: string): void => {
    assert.equal(runs[1].code, runs[0].code, `${what}: manager exit ${runs[1].code} (${runs[1].stderr}) vs engine exit ${runs[0].code} (${runs[0].stderr})`);
  };
  const samePs = async (expected: string[]): Promise<void> => {
    const [a, b] = await both(['ps']);
    sameExit([a, b], 'ps');
    assert.deepEqual(psRows(a, single.project), expected, `one engine: ${a.stdout}`);
    assert.deepEqual(psRows(b, swarm.project), expected, `manager (each container listed once): ${b.stdout}`);
  };

  before(async function () {
    engines = await getEngines();
    single.host = engines.engines[0].host;
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    swarm.host = manager.host;
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.split('Status: Healthy').length === 4, 20_000, '3 healthy nodes');
  });

  after(async function () {
    await both(['down', '-v', '--rmi', 'local']);
    await manager?.stop();
  });

  it('up -d: creates networks, volume, builds web, starts all services', async function () {
    sameExit(await both(['up', '-d']), 'up -d');
    await samePs(['db_1 Up', 'web_1 Up', 'worker_1 Up']);
  });

  it('places the whole project on the engine holding its local networks', async function () {
    const placed = await docker(manager.host, ['ps', '--filter', `label=com.docker.compose.project=${swarm.project}`, '--format', '{{.Names}}']);
    const nodes = new Set(placed.stdout.trim().split('\n').map((n) => n.split('/')[0]));
    assert.equal(nodes.size, 1, placed.stdout);
    const nets = await docker(manager.host, ['network', 'ls', '--filter', `label=com.docker.compose.project=${swarm.project}`, '--format', '{{.Name}}']);
    assert.deepEqual(nets.stdout.trim().split('\n').sort(), [...nodes].flatMap((n) => [`${n}/${swarm.project}_back`, `${n}/${swarm.project}_default`]).sort());
  });

  it('up -d --scale worker=3, then scale worker=2', async function () {
    sameExit(await both(['up', '-d', '--scale', 'worker=3']), 'up --scale');
    await samePs(['db_1 Up', 'web_1 Up', 'worker_1 Up', 'worker_2 Up', 'worker_3 Up']);
    sameExit(await both(['scale', 'worker=2']), 'scale');
    await samePs(['db_1 Up', 'web_1 Up', 'worker_1 Up', 'worker_2 Up']);
  });

  it('logs: the same lines', async function () {
    const runs = await both(['logs', '--no-color']);
    sameExit(runs, 'logs');
    assert.deepEqual(logLines(runs[1]), logLines(runs[0]));
    assert.ok(logLines(runs[0]).includes('web_1 | web says bonjour'), runs[0].stdout);
  });

  it('exec -T: runs in the service container (links resolve, build arg and env seen)', async function () {
    const runs = await both(['exec', '-T', 'web', 'sh', '-c', 'echo $GREETING $MODE; ping -c1 -W2 db >/dev/null && echo db-reachable']);
    sameExit(runs, 'exec');
    assert.equal(runs[1].stdout, runs[0].stdout);
    assert.equal(runs[0].stdout, 'bonjour web\ndb-reachable\n');
    // The manager moves swarm expressions out of Env (the engine alone keeps them as plain env).
    const env = await compose(swarm.host, swarm.project, ['exec', '-T', 'web', 'env']);
    assert.doesNotMatch(env.stdout, /constraint:/);
  });

  it('run --rm: output and exit code of a one-off container', async function () {
    const ok = await both(['run', '--rm', '-T', 'worker', 'sh', '-c', 'ls -d /data && echo one-off']);
    sameExit(ok, 'run --rm');
    assert.equal(ok[1].stdout, ok[0].stdout);
    assert.equal(ok[0].stdout, '/data\none-off\n');
    const failing = await both(['run', '--rm', '-T', 'worker', 'sh', '-c', 'exit 3']);
    sameExit(failing, 'run --rm exit 3');
    assert.equal(failing[0].code, 3);
    await samePs(['db_1 Up', 'web_1 Up', 'worker_1 Up', 'worker_2 Up']);
  });

  it('stop, then down -v removes containers, networks and the volume', async function () {
    sameExit(await both(['stop']), 'stop');
    await samePs(['db_1 Exit 137', 'web_1 Exit 137', 'worker_1 Exit 137', 'worker_2 Exit 137']);
    sameExit(await both(['down', '-v']), 'down -v');
    await samePs([]);
    const left = await docker(manager.host, ['ps', '-a', '--filter', `label=com.docker.compose.project=${swarm.project}`, '-q']);
    assert.equal(left.stdout.trim(), '');
    const nets = await docker(manager.host, ['network', 'ls', '--format', '{{.Name}}']);
    assert.doesNotMatch(nets.stdout, new RegExp(swarm.project));
    const vols = await docker(manager.host, ['volume', 'ls', '--format', '{{.Name}}']);
    assert.doesNotMatch(vols.stdout, new RegExp(swarm.project));
  });
});
