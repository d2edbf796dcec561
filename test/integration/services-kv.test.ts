/**
 * With KV discovery, services live in the store: a real etcd, two engines registered in it, a
 * manager SIGKILLed and another one started on the same store carries on with the same tasks
 * (none duplicated, none lost).
 */
import assert from 'node:assert/strict';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startEtcd, type EtcdServer } from '../../testbed/etcd';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { createStore } from '../../lib/kv';
import { storeConfig } from '../../lib/kv/config';
import type { Store } from '../../lib/kv/store';

describe('service state in the KV store (etcd)', function () {
  this.timeout(180_000);
  let etcd: EtcdServer;
  let engines: EngineSet;
  let store: Store;
  let manager: ManagerHandle;
  const dockerOk = async (...args: string[]): Promise<string> => {
    const r = await docker(manager.host, args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const runningIds = async (): Promise<string[]> =>
    (await dockerOk('service', 'ps', '-q', '--no-trunc', '--filter', 'desired-state=running', 'kvweb')).trim().split('\n').filter(Boolean).sort();

  before(async function () {
    etcd = await startEtcd();
    engines = await startEngines(2, { namePrefix: 'kv-' });
    store = createStore(storeConfig('etcd', `${etcd.endpoint}/svc`, {}, 5000));
    for (const e of engines.engines) await store.put(`svc/docker/swarm/nodes/${e.addr}`, e.addr);
    manager = await startManager([`etcd://${etcd.endpoint}/svc`]);
    await waitFor(async () => (await dockerOk('node', 'ls', '-q')).trim().split('\n').length === 2, 30_000, '2 nodes');
  });

  after(async function () {
    await manager?.stop();
    await store?.close();
    await engines?.stop();
    await etcd?.destroy();
  });

  it('keeps services, tasks and node settings under <prefix>/docker/swarm/services', async function () {
    await dockerOk('node', 'update', '--label-add', 'pool=kv', 'kv-1');
    const id = (await dockerOk('service', 'create', '--detach', '--name', 'kvweb', '--replicas', '3', 'busybox', 'sleep', '600')).trim();
    await waitFor(async () => (await dockerOk('service', 'ls', '--format', '{{.Replicas}}')).trim() === '3/3', 60_000, '3/3');
    await waitFor(async () => (await store.list('svc/docker/swarm/services/tasks')).length === 3, 10_000, '3 task keys');
    const services = await store.list('svc/docker/swarm/services/services');
    assert.deepEqual(services.map((p) => p.key), [`svc/docker/swarm/services/services/${id}`]);
    assert.equal((JSON.parse(services[0].value) as { Spec: { Name: string } }).Spec.Name, 'kvweb');
    const nodes = (await store.list('svc/docker/swarm/services/nodes')).map((p) => JSON.parse(p.value) as { Hostname: string; Spec: { Labels: Record<string, string> } });
    assert.deepEqual(nodes.find((n) => n.Hostname === 'kv-1')?.Spec.Labels, { pool: 'kv' });
  });

  it('a new manager on the same store carries on: same tasks, none duplicated, still scalable', async function () {
    const before = await runningIds();
    assert.equal(before.length, 3);
    await manager.kill();
    manager = await startManager([`etcd://${etcd.endpoint}/svc`]);
    await waitFor(async () => (await dockerOk('service', 'ls', '--format', '{{.Name}} {{.Replicas}}')).trim() === 'kvweb 3/3', 60_000, 'kvweb 3/3 on the new manager');
    await new Promise((r) => setTimeout(r, 3000)); // a few reconciliation passes
    assert.deepEqual(await runningIds(), before, 'the same tasks');
    const containers = (await dockerOk('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=kvweb')).trim().split('\n').filter(Boolean);
    assert.equal(containers.length, 3, 'no duplicate container');
    assert.equal((await dockerOk('node', 'inspect', '--format', '{{.Spec.Labels.pool}}', 'kv-1')).trim(), 'kv');
    await dockerOk('service', 'scale', '--detach', 'kvweb=4');
    await waitFor(async () => (await runningIds()).length === 4, 60_000, '4 running');
    await dockerOk('service', 'rm', 'kvweb');
    await waitFor(async () => (await store.list('svc/docker/swarm/services/tasks')).length === 0, 60_000, 'task keys removed');
  });
});
