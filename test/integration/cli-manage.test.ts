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

function swarm(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SWARM, ...args], { env: { ...process.env, ...env }, timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('swarm CLI', function () {
  it('prints its version and help, for the app and for each command', async function () {
    const v = await swarm(['--version']);
    assert.match(v.stdout, /^swarm version \d+\.\d+\.\d+ \(\w+\)\n$/);
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
      [['--nonsense'], /Unknown option '--nonsense'/],
      [['--replication'], /--advertise address must be provided when using --leader-election/],
      [['--replication', '--advertise', 'nope'], /--advertise should be of the form ip:port or hostname:port/],
      [['--replication', '--advertise', '127.0.0.1:3376'], /Leader election is only supported with consul, etcd and zookeeper discovery\./],
      [['--replication-ttl', '0s'], /--replication-ttl should be a positive number/],
      [['--replication-ttl', 'soon'], /invalid --replication-ttl: time: invalid duration "soon"/],
    ];
    for (const [flags, message] of cases) {
      const r = await swarm(['manage', ...flags, 'nodes://127.0.0.1:1']);
      assert.equal(r.code, 1, `${flags.join(' ')} should fail`);
      assert.match(r.stderr, message, flags.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const badDiscovery = await swarm(['manage', 'bogus://x']);
    assert.match(badDiscovery.stderr, /discovery service not supported/);
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
