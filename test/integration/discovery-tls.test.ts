/**
 * TLS to the store (`--discovery-opt kv.cacertfile/kv.certfile/kv.keyfile`, used only when all
 * three are set): a real etcd and the Consul double requiring client certificates, for discovery
 * and for `manage --replication`'s leader election.
 */
import * as assert from 'node:assert/strict';
import { startConsulDouble, type ConsulDouble } from '../../testbed/consul-double';
import { docker } from '../../testbed/docker-cli';
import { startEtcd, type EtcdServer } from '../../testbed/etcd';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { freePort } from '../../testbed/ports';
import { createStore } from '../../lib/kv';
import { storeConfig } from '../../lib/kv/config';
import { isOneLineError, listEntries, startSwarm, swarm, type SwarmProcess } from '../../testbed/swarm-cli';
import { makeTlsFiles, type TlsFiles } from '../../testbed/tls';
import { waitFor } from '../../testbed/wait';

describe('discovery over TLS to the store', function () {
  let tls: TlsFiles;
  let etcd: EtcdServer;
  let consul: ConsulDouble;
  const joins: SwarmProcess[] = [];
  const clientOpts = (): string[] => [
    '--discovery-opt', `kv.cacertfile=${tls.ca}`,
    '--discovery-opt', `kv.certfile=${tls.clientCert}`,
    '--discovery-opt', `kv.keyfile=${tls.clientKey}`,
  ];

  before(async function () {
    this.timeout(60_000);
    tls = makeTlsFiles();
    const server = { ca: tls.ca, cert: tls.serverCert, key: tls.serverKey };
    etcd = await startEtcd({ tls: server });
    consul = await startConsulDouble({ sessionTtlMinMs: 1000, tls: server });
  });
  after(async () => {
    await Promise.all(joins.map((j) => j.kill()));
    await etcd?.destroy();
    await consul?.stop();
    tls?.remove();
  });

  for (const backend of ['etcd', 'consul'] as const) {
    it(`${backend}: join and list with a client certificate; without one (or with a partial set) they fail in one line`, async function () {
      this.timeout(60_000);
      const url = `${backend}://${backend === 'etcd' ? etcd.endpoint : consul.endpoint}/secure`;
      joins.push(startSwarm(`join-tls-${backend}`, ['join', '--advertise', '10.7.0.1:2375', '--heartbeat', '1s', '--ttl', '3s', ...clientOpts(), url]));
      await waitFor(async () => (await listEntries(url, clientOpts())).length === 1, 20_000, 'the TLS join to be listed');
      assert.deepEqual(await listEntries(url, clientOpts()), ['10.7.0.1:2375']);

      const plain = await swarm(['list', '--timeout', '4s', url], { timeoutMs: 20_000 });
      assert.ok(isOneLineError(plain), JSON.stringify(plain));
      // Classic: TLS only when all three are set, so two of them means plain text (and failure).
      const partial = await swarm(['list', '--timeout', '4s', ...clientOpts().slice(0, 4), url], { timeoutMs: 20_000 });
      assert.ok(isOneLineError(partial), JSON.stringify(partial));
      const wrongCa = await swarm(
        ['list', '--timeout', '4s', '--discovery-opt', `kv.cacertfile=${tls.otherCa}`, ...clientOpts().slice(2), url],
        { timeoutMs: 20_000 },
      );
      assert.ok(isOneLineError(wrongCa), JSON.stringify(wrongCa));
    });
  }

  it('etcd: --replication elects its leader through the same kv.* options (lock held in the TLS store)', async function () {
    this.timeout(120_000);
    const managers: ManagerHandle[] = [];
    const url = `etcd://${etcd.endpoint}/secure-ha`;
    const reader = createStore(storeConfig('etcd', `${etcd.endpoint}/secure-ha`, { 'kv.cacertfile': tls.ca, 'kv.certfile': tls.clientCert, 'kv.keyfile': tls.clientKey }, 5000));
    try {
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        managers.push(await startManager(['--replication', '--replication-ttl', '4s', '--advertise', `127.0.0.1:${port}`, ...clientOpts(), url], { port }));
      }
      const infos = await waitFor(async () => {
        const texts = await Promise.all(managers.map(async (m) => (await docker(m.host, ['info'])).stdout));
        const roles = texts.map((t) => /Role: (primary|replica)/.exec(t)?.[1]);
        return roles.slice().sort().join(',') === 'primary,replica' && texts.some((t) => /Primary: /.test(t)) ? texts : undefined;
      }, 60_000, 'one primary and one replica that knows it, elected over TLS');
      const primary = managers[infos.findIndex((t) => /Role: primary/.test(t))];
      const replicaInfo = infos.find((t) => /Role: replica/.test(t))!;
      assert.ok(replicaInfo.includes(`Primary: 127.0.0.1:${primary.port}`), replicaInfo);
      // The lock is in the store that demands client certificates, under classic's key.
      assert.equal((await reader.get('secure-ha/docker/swarm/leader'))?.value, `127.0.0.1:${primary.port}`);
    } finally {
      await Promise.all(managers.map((m) => m.stop()));
      await reader.close();
    }
  });

  it('zk: refuses TLS options instead of connecting in plain text; missing files are named', async function () {
    this.timeout(30_000);
    const zk = await swarm(['list', ...clientOpts(), 'zk://127.0.0.1:2181/x']);
    assert.ok(isOneLineError(zk), JSON.stringify(zk));
    assert.equal(zk.stderr.trim(), 'swarm: zk discovery does not support TLS (kv.cacertfile, kv.certfile, kv.keyfile)');
    const missing = await swarm(['list', ...clientOpts().slice(0, 4), '--discovery-opt', 'kv.keyfile=/nonexistent/key.pem', 'etcd://127.0.0.1:2379/x']);
    assert.ok(isOneLineError(missing), JSON.stringify(missing));
    assert.equal(missing.stderr.trim(), 'swarm: couldn\'t read kv.keyfile "/nonexistent/key.pem": ENOENT');
  });
});
