/** The `swarm` executable itself: version, help, flag validation, listeners, local-engine mode. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../../testbed/docker-cli';
import { startManager } from '../../testbed/manager';
import { getEngines } from './cluster-fixture';

const SWARM = path.resolve(__dirname, '..', '..', '..', 'bin', 'swarm');

/** Runs `swarm ARGS`; one still running after 10 s is killed (`killed`, and code 1). */
function swarm(args: string[], env: Record<string, string> = {}): Promise<{ code: number; killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SWARM, ...args], { env: { ...process.env, ...env }, timeout: 10_000 }, (err, stdout, stderr) => {
      const failure = err as { code?: number | null; killed?: boolean } | null;
      resolve({ code: failure ? (failure.code ?? 1) : 0, killed: Boolean(failure?.killed), stdout, stderr });
    });
  });
}

describe('swarm CLI', function () {
  it('prints its version and help, for the app and for each command', async function () {
    const v = await swarm(['--version']);
    assert.match(v.stdout, /^swarm version \d+\.\d+\.\d+ \([0-9a-f]{7}(-dirty)?\)\n$/, "names the commit it was built from");
    const help = await swarm(['help']);
    assert.match(help.stdout, /manage, m\s+Manage a docker cluster/);
    for (const args of [['manage', '--help'], ['help', 'manage'], ['m', '-h']]) {
      const r = await swarm(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: swarm manage/);
      assert.match(r.stdout, /--engine-refresh-min-interval "30s"/);
    }
    const unknown = await swarm(['frobnicate']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /'frobnicate' is not a swarm command/);
  });

  it('validates manage flags with classic messages, one line, no stack trace', async function () {
    this.timeout(300_000); // one manager process per case
    const cases: Array<[string[], RegExp]> = [
      [['--strategy', 'nope'], /strategy not supported/],
      [['--filter', 'nope'], /filter not supported/],
      [['--engine-refresh-min-interval', '0s'], /min refresh interval should be a positive number/],
      [['--engine-refresh-min-interval', '10s', '--engine-refresh-max-interval', '5s'], /max refresh interval cannot be less than min refresh interval/],
      [['--engine-failure-retry', '0'], /invalid failure retry count/],
      [['--engine-refresh-retry', '5'], /--engine-refresh-retry is deprecated. Use --engine-failure-retry/],
      [['--heartbeat', '500ms'], /--heartbeat should be at least one second/],
      [['--cluster-opt', 'swarm.overcommit=-2'], /swarm.overcommit should be larger than -1/],
      [['--cluster-opt', 'swarm.createretry=-1'], /swarm.createretry can not be negative/],
      [['--tlscert', 'x.pem'], /--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify/],
      [['--tls'], /--tlscert and --tlskey must be provided when using --tls/],
      [['--tlsverify', '--tlscert', 'a', '--tlskey', 'b'], /--tlscacert must be provided when using --tlsverify/],
      [['--discovery-opt', 'novalue'], /--discovery-opt must contain key=value strings/],
      [['-H', 'udp://1.2.3.4:5'], /unsupported protocol/],
      [['--nonsense'], /^swarm: flag provided but not defined: -nonsense\. See 'swarm manage --help'\.$/m],
      // Go's flag forms, as classic's tests and users' scripts write them
      [['-strategy', 'nope'], /strategy not supported/],
      [['-strategy=nope'], /strategy not supported/],
      [['-heartbeat=500ms'], /--heartbeat should be at least one second/],
      [['--engine-refresh-min-interval', '-1s'], /min refresh interval should be a positive number/],
      [['--cluster-opt', 'swarm.overcommit=-2'], /swarm\.overcommit should be larger than -1, -2\.000000 is invalid/],
      [['-tlsverify=true', '-tlscert', 'a', '-tlskey', 'b'], /--tlscacert must be provided when using --tlsverify/],
      [['--tlsverify=false', '--tlscert=a'], /--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify/],
      [['--tlsverify=maybe'], /invalid boolean value "maybe" for -tlsverify: parse error/],
      [['-H=udp://1.2.3.4:5'], /unsupported protocol/],
      [['--metrics-addr', '9323'], /--metrics-addr: expected host:port, got "9323"/],
      [['--broadcast-parallelism', '0'], /--broadcast-parallelism must be a positive integer/],
      [['--replication'], /--advertise address must be provided when using --leader-election/],
      [['--replication', '--advertise', 'nope'], /--advertise should be of the form ip:port or hostname:port/],
      [['--replication', '--advertise', '127.0.0.1:3376'], /Leader election is only supported with consul, etcd and zookeeper discovery\./],
      [['--replication-ttl', '0s'], /--replication-ttl should be a positive number/],
      [['--replication-ttl', 'soon'], /invalid --replication-ttl: time: invalid duration "soon"/],
    ];
    for (const [flags, message] of cases) {
      const r = await swarm(['manage', ...flags, 'nodes://127.0.0.1:1']);
      assert.equal(r.killed, false, `${flags.join(' ')}: still running after 10 s`);
      assert.equal(r.code, 1, `${flags.join(' ')} should fail`);
      assert.match(r.stderr, message, flags.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const badDiscovery = await swarm(['manage', 'bogus://x']);
    assert.match(badDiscovery.stderr, /discovery service not supported/);
  });

  it('exits 1 at once, with one line, when its API or metrics address is taken (it used to stay up serving nothing)', async function () {
    this.timeout(60_000);
    const net = await import('node:net');
    const { freePort } = await import('../../testbed/ports');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenAddr = `127.0.0.1:${(taken.address() as import('node:net').AddressInfo).port}`;
    try {
      const cases: Array<[string[], RegExp]> = [
        [['-H', `tcp://${takenAddr}`], new RegExp(`tcp://${takenAddr}: address already in use`)],
        [['-H', `tcp://127.0.0.1:${await freePort()}`, '--metrics-addr', takenAddr], new RegExp(`--metrics-addr ${takenAddr}: address already in use`)],
      ];
      for (const [flags, message] of cases) {
        const r = await swarm(['manage', ...flags, 'nodes://127.0.0.1:1']);
        assert.equal(r.killed, false, `${flags.join(' ')}: still running after 10 s, killed`);
        assert.equal(r.code, 1, `${flags.join(' ')}: exit status`);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.split('\n').filter((line) => line.startsWith('swarm: ')).length, 1, r.stderr);
      }
    } finally {
      taken.close();
    }
  });

  it('stops cleanly on a SIGTERM that arrives while it is still loading its modules (exit 0, not killed)', async function () {
    this.timeout(60_000);
    const { spawn } = await import('node:child_process');
    const { freePort } = await import('../../testbed/ports');
    const { waitFor } = await import('../../testbed/wait');
    // A preload that holds the process inside require('.../cli/main.js') for 1.5 s and says so:
    // the SIGTERM is sent exactly then, as `docker stop` right after `docker run` would on a busy host.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-early-term-'));
    const preload = path.join(dir, 'slow-main.js');
    fs.writeFileSync(preload, `const Module = require('module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (/cli[\\/]main(\\.js)?$/.test(request)) {
    Module._load = load;
    process.stderr.write('PRELOAD loading main\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
  }
  return load.call(this, request, ...rest);
};
`);
    try {
      const child = spawn(process.execPath, ['-r', preload, SWARM, 'token-server', '--addr', `127.0.0.1:${await freePort()}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      await waitFor(() => stderr.includes('PRELOAD loading main'), 30_000, 'the CLI to start loading main');
      child.kill('SIGTERM');
      const result = await exited;
      assert.deepEqual(result, { code: 0, signal: null }, stderr);
      assert.match(stderr, /msg="Received SIGTERM, shutting down"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens on a unix socket and on several -H at once', async function () {
    const engines = await getEngines();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-sock-'));
    const sock = path.join(dir, 'swarm.sock');
    const manager = await startManager(['-H', `unix://${sock}`, engines.engines[0].addr]);
    try {
      const overSocket = await docker(`unix://${sock}`, ['info', '--format', '{{.ServerVersion}}']);
      assert.equal(overSocket.code, 0, overSocket.stderr);
      assert.match(overSocket.stdout, /^swarm-ts\//);
      assert.equal((fs.statSync(sock).mode & 0o777).toString(8), '600');
    } finally {
      await manager.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads Go flag forms: -strategy binpack, -H=..., --debug=false, -experimental, values starting with -', async function () {
    const engines = await getEngines();
    const { freePort } = await import('../../testbed/ports');
    const { spawnTracked, stop } = await import('../../testbed/processes');
    const { waitFor } = await import('../../testbed/wait');
    const port = await freePort();
    const proc = spawnTracked({
      name: 'swarm-go-flags',
      command: process.execPath,
      args: [SWARM, '--debug=false', '-experimental', 'manage', `-H=tcp://127.0.0.1:${port}`, '-strategy', 'binpack', '-heartbeat=5s', '--tlsverify=false', engines.engines[0].addr],
    });
    try {
      const info = await waitFor(async () => {
        const r = await docker(`tcp://127.0.0.1:${port}`, ['info', '--format', '{{json .}}']);
        if (r.code !== 0) return undefined;
        // Some docker CLIs exit 0 with an empty Info (and ServerErrors) while nothing listens yet:
        // only an answer that names the server counts.
        const parsed = JSON.parse(r.stdout) as { ID?: string; ServerErrors?: string[]; ExperimentalBuild: boolean; SystemStatus: Array<[string, string]> };
        return parsed.ID && !parsed.ServerErrors?.length ? parsed : undefined;
      }, 30_000, 'the manager started with Go-style flags');
      assert.equal(info.ExperimentalBuild, true, proc.logs());
      assert.deepEqual(info.SystemStatus.find(([k]) => k === 'Strategy'), ['Strategy', 'binpack']);
      await docker(`tcp://127.0.0.1:${port}`, ['ps']);
      assert.doesNotMatch(proc.logs(), /level=debug/, '--debug=false keeps the info level');
    } finally {
      await stop(proc.pid);
    }
    const list = await swarm(['list', '--timeout', '-10s', 'nodes://127.0.0.1:1']);
    assert.equal(list.stderr, 'swarm: --timeout should be a positive number\n');
    const json = await swarm(['--log-format', 'json', '-l', 'warn', 'list', '--timeout', '3s', 'nodes://127.0.0.1:1']);
    assert.equal(json.code, 0, json.stderr);
    const debug = await swarm(['--debug', '--log-format=json', 'join', '--advertise', '127.0.0.1:1', 'nodes://127.0.0.1:1']);
    assert.equal(debug.stderr, 'swarm: nodes discovery: not implemented in this discovery service\n');
  });

  it('logs to stderr as logrus: logfmt by default off a terminal, JSON lines with --log-format json, 4xx answers at debug', async function () {
    const engines = await getEngines();
    const { spawnTracked, stop } = await import('../../testbed/processes');
    const { freePort } = await import('../../testbed/ports');
    const { waitFor } = await import('../../testbed/wait');
    for (const format of ['text', 'json'] as const) {
      const port = await freePort();
      const proc = spawnTracked({
        name: `swarm-log-${format}`,
        command: process.execPath,
        args: [SWARM, '--debug', ...(format === 'json' ? ['--log-format', 'json'] : []), 'manage', '-H', `127.0.0.1:${port}`, engines.engines[0].addr],
      });
      try {
        await waitFor(async () => (await docker(`tcp://127.0.0.1:${port}`, ['inspect', 'no-such-container-xyz'])).stderr.includes('No such'), 30_000, 'a 404 from the manager');
        const lines = await waitFor(() => {
          const text = proc.logs().trim().split('\n');
          return text.some((l) => l.includes('no-such-container-xyz')) ? text : undefined;
        }, 10_000, 'the 404 in the debug log');
        const answered = lines.find((l) => l.includes('no-such-container-xyz'))!;
        if (format === 'text') {
          assert.ok(lines.every((l) => /^time="[^"]+" level=(debug|info|warning|error) msg=/.test(l)), lines.join('\n'));
          assert.match(answered, /level=debug msg="Error answered" error="No such container: no-such-container-xyz" method=GET remote=127\.0\.0\.1 status=404 url=\/v[\d.]+\/containers\/no-such-container-xyz\/json$/);
        } else {
          const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
          assert.ok(entries.every((e) => typeof e.time === 'string' && typeof e.msg === 'string' && ['debug', 'info', 'warning', 'error'].includes(String(e.level))));
          const entry = JSON.parse(answered) as Record<string, unknown>;
          assert.equal(entry.status, 404);
          assert.equal(entry.level, 'debug');
        }
      } finally {
        await stop(proc.pid);
      }
    }
  });

  it('logs at debug every JSON 5xx it answers and every engine 4xx it passes on, with the request', async function () {
    const engines = await getEngines();
    const { waitFor } = await import('../../testbed/wait');
    const manager = await startManager([engines.engines[0].addr], { globalArgs: ['--debug'] });
    try {
      await waitFor(async () => /Status: Healthy/.test((await docker(manager.host, ['info'])).stdout), 30_000, 'the engine healthy');
      // the manager's own 5xx: no node satisfies the constraint (500, as classic)
      const unplaceable = await docker(manager.host, ['create', '-e', 'constraint:node==nowhere', 'busybox']);
      assert.notEqual(unplaceable.code, 0);
      assert.match(unplaceable.stderr, /Unable to find a node that satisfies/);
      // an engine's 4xx, passed through: dockerd refuses a 1 KB memory limit
      const refused = await docker(manager.host, ['create', '--memory', '1k', 'busybox']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Minimum memory limit/);
      const answered = await waitFor(() => {
        const lines = manager.logs().split('\n').filter((l) => l.includes('msg="Error answered"') && /url=\/v[\d.]+\/containers\/create/.test(l));
        return lines.length === 2 ? lines : undefined;
      }, 10_000, 'both answers in the debug log');
      assert.match(answered[0], /^time="[^"]+" level=debug msg="Error answered" error="Unable to find a node that satisfies[^"]*node==nowhere[^"]*" method=POST remote=127\.0\.0\.1 status=500 url=\/v[\d.]+\/containers\/create$/);
      assert.match(answered[1], /^time="[^"]+" level=debug msg="Error answered" (error="[^"]*" )?method=POST remote=127\.0\.0\.1 status=400 url=\/v[\d.]+\/containers\/create$/);
    } finally {
      await manager.stop();
    }
  });

  it('fronts the engine at $DOCKER_HOST when no discovery is given', async function () {
    const engines = await getEngines();
    const manager = await startManager([], { env: { DOCKER_HOST: engines.engines[1].host, SWARM_DISCOVERY: '' } });
    try {
      const { waitFor } = await import('../../testbed/wait');
      await waitFor(async () => (await docker(manager.host, ['info'])).stdout.includes(`${engines.engines[1].name}: ${engines.engines[1].addr}`), 10_000, 'the local engine');
    } finally {
      await manager.stop();
    }
  });
});
