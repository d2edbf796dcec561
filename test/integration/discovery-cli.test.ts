/**
 * `swarm join` / `swarm list` flag handling (classic's validation messages), file:// and
 * nodes:// through the CLI, environment fallbacks, and --help.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { isOneLineError, listEntries, swarm } from '../../testbed/swarm-cli';

describe('swarm join and list flags', () => {
  it('validates join flags with classic\'s messages', async function () {
    this.timeout(60_000);
    const cases: Array<[string[], string | RegExp, Record<string, string>?]> = [
      [['join', '--advertise', '1.2.3.4:2375'], "discovery required to join a cluster. See 'swarm join --help'."],
      [['join', 'etcd://127.0.0.1:2379'], 'missing mandatory --advertise flag'],
      [['join', '--advertise', '1.2.3.4', 'etcd://127.0.0.1:2379'], '--advertise should be of the form ip:port or hostname:port'],
      [['join', '--addr', '1.2.3.4:0', 'etcd://127.0.0.1:2379'], '--advertise should be of the form ip:port or hostname:port'],
      [['join', '--advertise', '1.2.3.4:2375', '--heartbeat', '500ms', 'etcd://127.0.0.1:2379'], '--heartbeat should be at least one second'],
      [['join', '--advertise', '1.2.3.4:2375', '--heartbeat', 'soon', 'etcd://127.0.0.1:2379'], 'invalid --heartbeat: time: invalid duration "soon"'],
      [['join', '--advertise', '1.2.3.4:2375', '--ttl', '60s', 'etcd://127.0.0.1:2379'], '--ttl must be strictly superior to the heartbeat value'],
      [['join', '--advertise', '1.2.3.4:2375', '--delay=-1s', 'etcd://127.0.0.1:2379'], '--delay should not be a negative number'],
      [['join', '--advertise', '1.2.3.4:2375', '--discovery-opt', 'novalue', 'etcd://127.0.0.1:2379'], '--discovery-opt must contain key=value strings'],
      [['join', '--advertise', '1.2.3.4:2375', 'foo://bar'], 'discovery service not supported'],
      [['join', '--advertise', '1.2.3.4:2375', 'nodes://a:1'], 'nodes discovery: not implemented in this discovery service'],
      [['list'], "discovery required to list a cluster. See 'swarm list --help'."],
      [['list', '--timeout', '0s', 'a:1'], '--timeout should be a positive number'],
      [['list', '--bogus', 'a:1'], /^swarm: flag provided but not defined: -bogus\. See 'swarm list --help'\.$/],
      // $SWARM_ADVERTISE is read when --advertise is absent.
      [['join', 'etcd://127.0.0.1:2379', '--heartbeat', '0s'], '--heartbeat should be at least one second', { SWARM_ADVERTISE: '1.2.3.4:2375' }],
    ];
    for (const [args, message, env] of cases) {
      const res = await swarm(args, { env: { SWARM_DISCOVERY: '', SWARM_ADVERTISE: '', ...env }, timeoutMs: 15_000 });
      assert.ok(isOneLineError(res), `${args.join(' ')}: ${JSON.stringify(res)}`);
      if (message instanceof RegExp) assert.match(res.stderr.trim(), message);
      else assert.equal(res.stderr.trim(), `swarm: ${message}`, args.join(' '));
    }
  });

  it('lists nodes:// and file:// (with ranges and comments), and reads $SWARM_DISCOVERY', async function () {
    this.timeout(30_000);
    assert.deepEqual(await listEntries('nodes://10.0.0.[1:2]:2375,b:1'), ['10.0.0.1:2375', '10.0.0.2:2375', 'b:1']);
    const dir = mkdtempSync(joinPath(tmpdir(), 'swarm-ts-list-'));
    try {
      const file = joinPath(dir, 'cluster');
      writeFileSync(file, '# engines\n10.0.1.[1:3]:2375\n10.0.2.1:2375 # the big one\n');
      assert.deepEqual(await listEntries(`file://${file}`), ['10.0.1.1:2375', '10.0.1.2:2375', '10.0.1.3:2375', '10.0.2.1:2375']);
      const viaEnv = await swarm(['list'], { env: { SWARM_DISCOVERY: `file://${file}` } });
      assert.equal(viaEnv.stdout.split('\n').filter(Boolean).length, 4);
      const missing = await swarm(['list', '--timeout', '2s', `file://${joinPath(dir, 'nope')}`]);
      assert.ok(isOneLineError(missing), JSON.stringify(missing));
      assert.match(missing.stderr, /failed to read '.*nope': ENOENT/);
      const joined = await swarm(['join', '--advertise', '1.2.3.4:2375', `file://${file}`]);
      assert.equal(joined.stderr.trim(), 'swarm: file discovery: not implemented in this discovery service');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints help for each discovery command', async function () {
    this.timeout(30_000);
    for (const command of ['join', 'list', 'create', 'token-server']) {
      const res = await swarm([command, '--help']);
      assert.equal(res.code, 0);
      assert.match(res.stdout, new RegExp(`^Usage: swarm ${command} `));
    }
    const join = await swarm(['help', 'join']);
    assert.match(join.stdout, /--advertise, --addr/);
    assert.match(join.stdout, /\$SWARM_ADVERTISE/);
  });
});
