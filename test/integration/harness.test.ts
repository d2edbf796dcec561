/**
 * The test harness itself against real dockerd: if these fail, every other integration test
 * would fail for reasons unrelated to the manager.
 */
import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { getEngines } from './cluster-fixture';
import { docker, spawnDocker } from '../../testbed/docker-cli';
import { EngineSet, startEngines } from '../../testbed/engines';
import { startManager } from '../../testbed/manager';
import { isPortOpen } from '../../testbed/ports';
import { pidAlive } from '../../testbed/processes';
import { waitFor } from '../../testbed/wait';

describe('harness: shared real engines', () => {
  let set: EngineSet;

  before(async () => {
    set = await getEngines();
  });

  it('starts 3 engines with distinct names node-0..2 on distinct ports', async () => {
    const names: string[] = [];
    for (const engine of set.engines) {
      const result = await docker(engine.host, ['info', '--format', '{{.Name}}']);
      assert.equal(result.code, 0, result.stderr);
      names.push(result.stdout.trim());
    }
    assert.deepEqual(names, ['node-0', 'node-1', 'node-2']);
    assert.equal(new Set(set.engines.map((engine) => engine.port)).size, 3);
    assert.deepEqual(
      set.engines.map((engine) => engine.addr),
      set.engines.map((engine) => `127.0.0.1:${engine.port}`),
    );
  });

  it('gives each engine its labels, visible in docker info', async () => {
    // dockerd does not keep the order of --label flags.
    const seen = await Promise.all(
      set.engines.map(async (engine) => ((await engine.docker().info()).Labels as string[]).sort()),
    );
    assert.deepEqual(seen, [
      ['disk=ssd', 'zone=a'],
      ['disk=hdd', 'zone=b'],
      ['disk=hdd', 'zone=a'],
    ]);
    assert.deepEqual(set.engines[1].labels, { disk: 'hdd', zone: 'b' });
  });

  it('runs busybox applets (echo, sh, cat, head, yes) on every engine', async () => {
    for (const engine of set.engines) {
      const echo = await docker(engine.host, ['run', '--rm', 'busybox', 'echo', 'hi']);
      assert.equal(echo.code, 0, echo.stderr);
      assert.equal(echo.stdout, 'hi\n');
    }
    const piped = await docker(set.engines[0].host, ['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat | head -n 2; yes y | head -n 1'], {
      input: 'one\ntwo\nthree\n',
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'one\ntwo\ny\n');
  });

  it('gives the busybox image a default command of sh', async () => {
    const result = await docker(set.engines[2].host, ['image', 'inspect', 'busybox:latest', '--format', '{{json .Config.Cmd}}']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '["sh"]');
  });
});

describe('harness: engine failure, restart and stop (own engines)', () => {
  let set: EngineSet | undefined;

  after(async () => {
    await set?.stop();
  });

  it('kill() refuses connections, restart() brings the same containers back, stop() leaves no process', async () => {
    set = await startEngines(1, { namePrefix: 'harness-kill-' });
    const [engine] = set.engines;
    assert.equal((await engine.docker().info()).Name, 'harness-kill-0');

    const run = await docker(engine.host, ['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const firstPid = engine.pid();
    assert.ok(firstPid !== undefined && pidAlive(firstPid), 'dockerd runs');
    const containerPid = (await engine.docker().getContainer(id).inspect()).State.Pid;
    assert.ok(pidAlive(containerPid), 'the container process runs');

    await engine.kill();
    assert.equal(engine.pid(), undefined);
    assert.equal(pidAlive(firstPid), false, 'dockerd is gone');
    assert.equal(pidAlive(containerPid), false, 'the container died with its node');
    assert.equal(await isPortOpen(engine.port), false, 'the port refuses connections');
    const refused = await docker(engine.host, ['ps'], { timeoutMs: 10_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /connection refused|Cannot connect/i);

    await engine.restart();
    const secondPid = engine.pid();
    assert.ok(secondPid !== undefined && secondPid !== firstPid);
    const ps = await docker(engine.host, ['ps', '-a', '--filter', 'name=survivor', '--format', '{{.ID}} {{.Names}}']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(ps.stdout.trim(), `${id.slice(0, 12)} survivor`);
    const start = await docker(engine.host, ['start', 'survivor']);
    assert.equal(start.code, 0, start.stderr);
    const restartedPid = (await engine.docker().getContainer(id).inspect()).State.Pid;
    assert.ok(pidAlive(restartedPid));

    await set.stop();
    set = undefined;
    for (const pid of [secondPid, restartedPid]) {
      await waitFor(() => !pidAlive(pid), 5000, `pid ${pid} to be gone after stop()`);
    }
    assert.equal(await isPortOpen(engine.port), false);
  });
});

describe('harness: nothing leaks when the test process dies', () => {
  const fixture = path.join(__dirname, 'fixtures', 'engine-then-die.js');

  async function runAndDie(how: 'SIGTERM' | 'SIGINT' | 'crash'): Promise<void> {
    const child = spawn(process.execPath, [fixture, how], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`fixture exited early with code ${code}: ${stderr}`)));
    });
    const started = JSON.parse(line) as { dockerd: number; container: number; dir: string };
    assert.ok(pidAlive(started.dockerd) && pidAlive(started.container));
    if (how !== 'crash') child.kill(how);
    await exited;
    if (how === 'crash') assert.match(stderr, /deliberate crash/);
    assert.equal(pidAlive(started.dockerd), false, 'dockerd was killed');
    await waitFor(() => !pidAlive(started.container), 5000, 'the container process to be killed');
    assert.equal(fs.existsSync(started.dir), false, 'the engine dir was removed');
  }

  it('kills the engine, its containers and removes its dir on SIGTERM', async () => {
    await runAndDie('SIGTERM');
  });

  it('does the same on SIGINT (Ctrl-C)', async () => {
    await runAndDie('SIGINT');
  });

  it('does the same on an uncaught exception', async () => {
    await runAndDie('crash');
  });
});

describe('harness: startManager', () => {
  it('rejects with the manager log when the manager exits before serving', async () => {
    const started = Date.now();
    await assert.rejects(
      startManager(['--strategy', 'no-such-strategy', 'nodes://127.0.0.1:1']),
      (err: Error) => {
        assert.match(err.message, /swarm manage exited before answering \/_ping/);
        assert.match(err.message, /last lines of .*\.log:\n\S/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 15_000, 'fails fast instead of waiting for the timeout');
  });
});

describe('harness: startManager and interactive docker CLI over the shared engines', () => {
  it('starts the manager on a free port, serves /_ping and docker info, and stop() ends it', async () => {
    const { engines } = await getEngines();
    const manager = await startManager([`nodes://${engines.map((engine) => engine.addr).join(',')}`]);
    try {
      assert.equal(manager.host, `tcp://127.0.0.1:${manager.port}`);
      assert.equal(await manager.docker().ping().then(String), 'OK');
      const info = await docker(manager.host, ['info']);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, /Nodes: 3/);
    } finally {
      await manager.stop();
    }
    assert.equal(pidAlive(manager.pid), false);
    assert.equal(await isPortOpen(manager.port), false);
  });

  it('spawnDocker pipes stdin to `docker run -i` and returns its output', async () => {
    const { engines } = await getEngines();
    const child = spawnDocker(engines[1].host, ['run', '--rm', '-i', 'busybox', 'cat']);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stdin?.end('through stdin\n');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assert.equal(out, 'through stdin\n');
  });
});
