import * as assert from 'node:assert/strict';
import { startConsulDouble, type ConsulDouble } from '../../testbed/consul-double';
import { startSwarm } from '../../testbed/swarm-cli';
import { waitFor } from '../../testbed/wait';
import { describeKvDiscovery } from './discovery-kv-suite';

/** session_ttl_min lowered to 1s (a Consul agent setting) so TTL tests take seconds. */
const startDouble = async (): Promise<ConsulDouble & { destroy(): Promise<void> }> => {
  const double = await startConsulDouble({ sessionTtlMinMs: 1000 });
  return Object.assign(double, { destroy: () => double.stop() });
};

describeKvDiscovery('consul', startDouble);

describe('consul discovery: classic session semantics', () => {
  it('holds each registration with a delete-behaviour session of TTL ttl/2, renewed, not re-created, per heartbeat', async function () {
    this.timeout(30_000);
    const double = await startDouble();
    const join = startSwarm('join-consul-session', ['join', '--advertise', '10.9.0.1:2375', '--heartbeat', '1s', '--ttl', '4s', `consul://${double.endpoint}/s`]);
    try {
      await waitFor(() => double.dump()['s/docker/swarm/nodes/10.9.0.1:2375'] === '10.9.0.1:2375', 10_000, 'the registration');
      const res = await fetch(`http://${double.endpoint}/v1/session/list`);
      const sessions = (await res.json()) as Array<{ Behavior: string; TTL: string }>;
      assert.deepEqual(sessions.map((s) => [s.Behavior, s.TTL]), [['delete', '2s']]);
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(double.sessionCount(), 1, 'heartbeats must renew the session, not create new ones');
    } finally {
      await join.kill();
      await double.stop();
    }
  });
});

describe('consul discovery: a TTL below what Consul accepts', () => {
  it('logs Consul\'s refusal with the --ttl it needs, and keeps retrying', async function () {
    this.timeout(30_000);
    const double = await startConsulDouble(); // Consul's default session_ttl_min: 10s
    const join = startSwarm('join-consul-short-ttl', ['join', '--advertise', '10.9.0.2:2375', '--heartbeat', '1s', '--ttl', '3s', `consul://${double.endpoint}/s`]);
    try {
      await waitFor(() => (join.logs().match(/Invalid Session TTL '1500ms'.*use --ttl 20s or more/g) ?? []).length >= 2, 10_000, 'two refused registrations');
      assert.ok(join.process.isRunning());
      assert.deepEqual(double.dump(), {});
    } finally {
      await join.kill();
      await double.stop();
    }
  });
});
