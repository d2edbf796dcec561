/**
 * token:// discovery end to end with the real CLI: `swarm token-server`, `swarm create`,
 * `swarm join`, `swarm list`.
 */
import * as assert from 'node:assert/strict';
import { freePort } from '../../testbed/ports';
import { isOneLineError, listEntries, startSwarm, swarm, type SwarmProcess } from '../../testbed/swarm-cli';
import { waitFor } from '../../testbed/wait';

describe('token discovery through the swarm CLI', function () {
  let server: SwarmProcess;
  let baseUrl: string;
  const joins: SwarmProcess[] = [];
  const env = (): Record<string, string> => ({ SWARM_TOKEN_URL: baseUrl });

  before(async function () {
    const port = await freePort();
    server = startSwarm('token-server', ['token-server', '--addr', `127.0.0.1:${port}`]);
    baseUrl = `http://127.0.0.1:${port}/v1`;
    await waitFor(() => /Token server listening on http:\/\/127\.0\.0\.1:\d+\/v1/.test(server.logs()), 10_000, 'the token server');
  });
  afterEach(async () => {
    await Promise.all(joins.splice(0).map((j) => j.kill()));
  });
  after(async () => {
    await server?.stop();
  });

  it('create prints a token; join registers with it; list shows the engines', async function () {
    this.timeout(30_000);
    const created = await swarm(['create', '--discovery-opt', `token.url=${baseUrl}`]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.match(created.stderr, /deprecated/);
    joins.push(startSwarm('join-token-1', ['join', '--advertise', '10.5.0.1:2375', '--heartbeat', '1s', '--ttl', '3s', `token://${token}`], env()));
    // The URL can also come from --discovery-opt token.url.
    joins.push(startSwarm('join-token-2', ['join', '--advertise', '10.5.0.2:2375', '--heartbeat', '1s', '--ttl', '3s', '--discovery-opt', `token.url=${baseUrl}`, `token://${token}`]));
    await waitFor(async () => (await listEntries(`token://${token}`, [], env())).length === 2, 10_000, 'both joins');
    assert.deepEqual(await listEntries(`token://${token}`, [], env()), ['10.5.0.1:2375', '10.5.0.2:2375']);
  });

  it('drops a crashed join after its TTL', async function () {
    this.timeout(30_000);
    const token = (await swarm(['create'], { env: env() })).stdout.trim();
    const doomed = startSwarm('join-token-doomed', ['join', '--advertise', '10.6.0.1:2375', '--heartbeat', '1s', '--ttl', '3s', `token://${token}`], env());
    joins.push(doomed);
    await waitFor(async () => (await listEntries(`token://${token}`, [], env())).length === 1, 10_000, 'the join');
    await doomed.kill();
    const killedAt = Date.now();
    await waitFor(async () => (await listEntries(`token://${token}`, [], env())).length === 0, 10_000, 'the registration to expire');
    const after = Date.now() - killedAt;
    assert.ok(after > 1000 && after <= 5000, `expired ${after} ms after the kill (ttl 3000 ms)`);
  });

  it('points at swarm token-server when the hosted service is used, and rejects an empty token', async function () {
    this.timeout(30_000);
    // The hosted default is dead (and there is no internet here): say what to do instead.
    const dead = await swarm(['list', '--timeout', '15s', 'token://abc'], { env: { SWARM_TOKEN_URL: '' } });
    assert.ok(isOneLineError(dead), JSON.stringify(dead));
    assert.match(dead.stderr, /shut down in 2019.*swarm token-server/);
    const empty = await swarm(['list', 'token://']);
    assert.ok(isOneLineError(empty), JSON.stringify(empty));
    assert.equal(empty.stderr.trim(), 'swarm: token is empty');
    const unreachable = await swarm(['create'], { env: { SWARM_TOKEN_URL: `http://127.0.0.1:${await freePort()}/v1` } });
    assert.ok(isOneLineError(unreachable), JSON.stringify(unreachable));
    assert.match(unreachable.stderr, /token service http:\/\/127\.0\.0\.1:\d+\/v1\/clusters unreachable: ECONNREFUSED/);
    const args = await swarm(['create', 'extra']);
    assert.equal(args.stderr.trim(), "swarm: the `create` command takes no arguments. See 'swarm create --help'.");
  });
});
