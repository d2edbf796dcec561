import assert from 'node:assert/strict';
import {
  constraintMatches, newId, nodeIdFor, parseConstraint, restartPolicyOf, restartVerdict, specHash, taskContainerName, validateSpec,
  type ConstraintNode, type Service, type Task,
} from '../../../lib/services/model';
import { ServiceStore, type StateBackend } from '../../../lib/services/store';
import { updateStep } from '../../../lib/services/updater';

const node: ConstraintNode = {
  id: 'abc', hostname: 'node-1', role: 'worker', os: 'linux', arch: 'x86_64',
  nodeLabels: { tier: 'Front' }, engineLabels: { disk: 'ssd' },
};

describe('services model', function () {
  it('makes swarmkit-shaped IDs, stable node IDs, and swarm-mode task names', function () {
    const ids = new Set(Array.from({ length: 200 }, newId));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^[0-9a-z]{25}$/);
    assert.equal(nodeIdFor('X|127.0.0.1:1'), nodeIdFor('X|127.0.0.1:1'));
    assert.notEqual(nodeIdFor('X|127.0.0.1:1'), nodeIdFor('X|127.0.0.1:2'));
    assert.equal(taskContainerName('web', { ID: 't1', Slot: 3, NodeID: 'n1' }), 'web.3.t1');
    assert.equal(taskContainerName('agent', { ID: 't1', Slot: 0, NodeID: 'n1' }), 'agent.n1.t1');
  });

  it('hashes task specs independently of key order', function () {
    assert.equal(specHash({ ContainerSpec: { Image: 'a', Env: ['X=1'] } }), specHash({ ContainerSpec: { Env: ['X=1'], Image: 'a' } }));
    assert.notEqual(specHash({ ContainerSpec: { Image: 'a' } }), specHash({ ContainerSpec: { Image: 'a' }, ForceUpdate: 1 }));
  });

  it('parses and matches swarm-mode constraints (case-insensitive values, missing labels)', function () {
    const m = (text: string): boolean => constraintMatches(parseConstraint(text), node);
    assert.ok(m('node.labels.tier==front'));
    assert.ok(m('node.labels.tier == FRONT'));
    assert.ok(!m('node.labels.zone==a'));
    assert.ok(m('node.labels.zone!=a'));
    assert.ok(m('engine.labels.disk==ssd'));
    assert.ok(!m('node.labels.disk==ssd'), 'engine labels are not node labels');
    assert.ok(m('node.hostname==node-1'));
    assert.ok(m('node.role!=manager'));
    assert.ok(m('node.id==abc'));
    assert.ok(m('node.platform.os==linux'));
    for (const bad of ['node.labels.tier', 'disk==ssd', 'node.hostname==', 'node.labels.tier=~x']) {
      assert.throws(() => parseConstraint(bad), (err: { status?: number }) => err.status === 400, bad);
    }
  });

  it('restart policy: condition, max attempts, window', function () {
    const policy = (p: Record<string, unknown>): ReturnType<typeof restartPolicyOf> => restartPolicyOf({ TaskTemplate: { RestartPolicy: p } });
    const now = 100_000;
    assert.deepEqual(policy({}), { Condition: 'any', Delay: 5e9, MaxAttempts: 0, Window: 0 }, "swarmkit's defaults");
    assert.deepEqual(restartVerdict(policy({}), 'complete', [], now), [now], 'any: a completed task too');
    assert.equal(restartVerdict(policy({ Condition: 'none' }), 'failed', [], now), undefined);
    assert.equal(restartVerdict(policy({ Condition: 'on-failure' }), 'complete', [], now), undefined);
    assert.deepEqual(restartVerdict(policy({ Condition: 'on-failure' }), 'rejected', [], now), [now], 'a rejected task failed');
    const max2 = policy({ MaxAttempts: 2 });
    assert.deepEqual(restartVerdict(max2, 'failed', [1_000], now), [1_000, now]);
    assert.equal(restartVerdict(max2, 'failed', [1_000, 2_000], now), undefined, 'no third restart, however long ago (no window)');
    const windowed = policy({ MaxAttempts: 2, Window: 10e9 });
    assert.equal(restartVerdict(windowed, 'failed', [95_000, 99_000], now), undefined, 'two restarts within the last 10 s');
    assert.deepEqual(restartVerdict(windowed, 'failed', [80_000, 99_000], now), [99_000, now], 'a restart older than the window no longer counts (nor is carried)');
  });

  it('rejects invalid specs with a 400 naming the problem', function () {
    const ok = { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } };
    validateSpec(ok);
    const cases: Array<[unknown, RegExp]> = [
      [{ ...ok, Name: '-bad' }, /valid as a DNS name/],
      [{ Name: 'web', TaskTemplate: {} }, /ContainerSpec/],
      [{ ...ok, Mode: { Replicated: { Replicas: -1 } } }, /replicas/],
      [{ ...ok, UpdateConfig: { FailureAction: 'explode' } }, /failure action/],
      [{ ...ok, UpdateConfig: { MaxFailureRatio: 2 } }, /max failure ratio/],
      [{ ...ok, EndpointSpec: { Ports: [{ TargetPort: 0 }] } }, /port target/],
      [{ ...ok, EndpointSpec: { Ports: [{ TargetPort: 53, Protocol: 'udp' }] } }, /TCP only/],
      [{ ...ok, TaskTemplate: { ...ok.TaskTemplate, Placement: { Constraints: ['nonsense'] } } }, /invalid constraint/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(() => validateSpec(spec as never), (err: { status?: number; message: string }) => err.status === 400 && message.test(err.message), JSON.stringify(spec));
    }
  });
});

describe('rolling updater (one step of the reconciler)', function () {
  const oldSpec = { ContainerSpec: { Image: 'busybox', Env: ['V=1'] } };
  const newSpec = { ContainerSpec: { Image: 'busybox', Env: ['V=2'] } };
  const t0 = Date.parse('2026-01-01T00:00:00Z');

  function setup(n: number, update: Record<string, unknown>): { store: ServiceStore; service: Service; tasks: Task[]; created: Task[]; stopped: Task[]; step(now: number): void } {
    const store = new ServiceStore();
    const service: Service = {
      ID: 's1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Endpoint: { Spec: {} },
      Spec: { Name: 'web', TaskTemplate: newSpec, Mode: { Replicated: { Replicas: n } }, UpdateConfig: update },
      PreviousSpec: { Name: 'web', TaskTemplate: oldSpec, Mode: { Replicated: { Replicas: n } } },
      UpdateStatus: { State: 'updating', StartedAt: new Date(t0).toISOString(), Message: 'update in progress' },
    };
    const tasks: Task[] = Array.from({ length: n }, (_v, i) => ({
      ID: `old${i + 1}`, Version: { Index: 1 }, CreatedAt: new Date(t0 - 60_000).toISOString(), UpdatedAt: '', Labels: {},
      Spec: oldSpec, ServiceID: 's1', Slot: i + 1, NodeID: 'n', DesiredState: 'running', SpecHash: specHash(oldSpec),
      Status: { State: 'running', Timestamp: new Date(t0 - 60_000).toISOString(), Message: '' },
    }));
    const created: Task[] = [];
    const stopped: Task[] = [];
    let seq = 0;
    const step = (now: number): void => updateStep({
      store, now,
      newTask: (slot) => {
        const t: Task = {
          ID: `new${++seq}`, Version: { Index: 1 }, CreatedAt: new Date(now).toISOString(), UpdatedAt: '', Labels: {}, Spec: newSpec,
          ServiceID: 's1', Slot: slot, NodeID: '', DesiredState: 'running', SpecHash: specHash(service.Spec.TaskTemplate ?? {}),
          Status: { State: 'new', Timestamp: new Date(now).toISOString(), Message: '' },
        };
        created.push(t);
        tasks.push(t);
        return t;
      },
      shutdown: (t) => {
        t.DesiredState = 'shutdown';
        stopped.push(t);
      },
    }, service, tasks);
    return { store, service, tasks, created, stopped, step };
  }

  const run = (t: Task, at: number): void => {
    t.Status = { State: 'running', Timestamp: new Date(at).toISOString(), Message: '' };
  };

  it('replaces Parallelism slots at a time, waits Delay after a task comes up, then Monitor before completing', function () {
    const u = setup(4, { Parallelism: 2, Delay: 2e9, Monitor: 1e9, FailureAction: 'pause', Order: 'stop-first' });
    u.step(t0);
    assert.deepEqual(u.created.map((t) => t.Slot), [1, 2]);
    assert.deepEqual(u.stopped.map((t) => t.ID), ['old1', 'old2'], 'stop-first shuts the old tasks down');
    u.step(t0 + 100);
    assert.equal(u.created.length, 2, 'nothing more while two are in flight');
    run(u.created[0], t0 + 500);
    run(u.created[1], t0 + 600);
    u.step(t0 + 1000);
    assert.equal(u.created.length, 2, 'Delay not yet passed since the last task came up');
    u.step(t0 + 2700);
    assert.deepEqual(u.created.map((t) => t.Slot), [1, 2, 3, 4]);
    run(u.created[2], t0 + 3000);
    run(u.created[3], t0 + 3000);
    u.step(t0 + 3500);
    assert.equal(u.service.UpdateStatus?.State, 'updating', 'Monitor not yet over');
    u.step(t0 + 4100);
    assert.equal(u.service.UpdateStatus?.State, 'completed');
    assert.equal(u.service.UpdateStatus?.Message, 'update completed');
  });

  it('start-first leaves the old task running (the reconciler retires it once the new one runs)', function () {
    const u = setup(2, { Parallelism: 1, Order: 'start-first', Monitor: 0 });
    u.step(t0);
    assert.equal(u.created.length, 1);
    assert.equal(u.stopped.length, 0);
  });

  it('pauses on failure, or rolls back to the previous spec, as FailureAction says', function () {
    const paused = setup(3, { Parallelism: 1, FailureAction: 'pause', Monitor: 0 });
    paused.step(t0);
    paused.created[0].Status = { State: 'failed', Timestamp: new Date(t0 + 100).toISOString(), Message: '', Err: 'task: non-zero exit (1)' };
    paused.step(t0 + 200);
    assert.equal(paused.service.UpdateStatus?.State, 'paused');
    assert.match(paused.service.UpdateStatus?.Message ?? '', /update paused due to failure or early termination of task new1/);

    const rolled = setup(3, { Parallelism: 1, FailureAction: 'rollback', Monitor: 0 });
    rolled.step(t0);
    rolled.created[0].Status = { State: 'failed', Timestamp: new Date(t0 + 100).toISOString(), Message: '' };
    rolled.step(t0 + 200);
    assert.equal(rolled.service.UpdateStatus?.State, 'rollback_started');
    assert.deepEqual(rolled.service.Spec.TaskTemplate, oldSpec, 'the previous spec is back');
    assert.deepEqual(rolled.service.PreviousSpec?.TaskTemplate, newSpec);

    const tolerant = setup(4, { Parallelism: 1, FailureAction: 'pause', MaxFailureRatio: 0.5, Monitor: 0 });
    tolerant.step(t0);
    tolerant.created[0].Status = { State: 'failed', Timestamp: new Date(t0 + 100).toISOString(), Message: '' };
    tolerant.step(t0 + 200);
    assert.equal(tolerant.service.UpdateStatus?.State, 'updating', '1 failure of 4 slots is within a 0.5 ratio');
  });

  it('continue: a failure neither pauses nor rolls back; the next slots are updated', function () {
    const u = setup(3, { Parallelism: 1, FailureAction: 'continue', Monitor: 0 });
    u.step(t0);
    u.created[0].Status = { State: 'rejected', Timestamp: new Date(t0 + 100).toISOString(), Message: '', Err: 'No such image: nope:v2' };
    u.created[0].DesiredState = 'shutdown'; // the restart policy retired it (its replacement comes from there)
    u.step(t0 + 200);
    assert.equal(u.service.UpdateStatus?.State, 'updating');
    assert.deepEqual(u.service.Spec.TaskTemplate, newSpec, 'not rolled back');
    assert.deepEqual(u.created.map((t) => t.Slot), [1, 2], 'the update went on to slot 2');
  });
});

describe('service store under --replication', function () {
  const service = (id: string, replicas: number): Service => ({
    ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Endpoint: { Spec: {} },
    Spec: { Name: id, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { Replicated: { Replicas: replicas } } },
  });
  /** The shared store (what etcd holds), and every write that reached it. */
  function sharedBackend(initial: Service[]): StateBackend & { state: Map<string, Service>; writes: string[] } {
    const state = new Map(initial.map((s) => [s.ID, s]));
    const writes: string[] = [];
    return {
      state, writes, description: 'test store',
      load: async () => ({ services: [...state.values()].map((s) => structuredClone(s)), tasks: [], nodes: [] }),
      save: async (changes) => {
        for (const c of changes) {
          writes.push(`${c.kind}/${c.id}`);
          if (c.kind === 'services') c.value === undefined ? state.delete(c.id) : state.set(c.id, c.value as Service);
        }
      },
    };
  }

  it('a replica taking over reads the state again: what the old primary changed since replaces what it loaded', async function () {
    const backend = sharedBackend([service('a', 1)]);
    const store = new ServiceStore(backend);
    await store.load();
    backend.state.set('a', service('a', 5)); // the old primary scaled a, created b, meanwhile
    backend.state.set('b', service('b', 2));
    store.unload();
    assert.equal(store.loaded, false);
    const waiting = store.whenLoaded(1000);
    await store.load();
    assert.equal(await waiting, true);
    assert.deepEqual([...store.services.keys()].sort(), ['a', 'b']);
    assert.equal(store.services.get('a')?.Spec.Mode?.Replicated?.Replicas, 5);
    assert.equal(await new ServiceStore(backend).whenLoaded(10), false, 'not loaded: the wait runs out');
  });

  it('writes nothing while this manager may not (a lost or resigned primary), so it cannot overwrite the new primary', async function () {
    const backend = sharedBackend([]);
    let primary = true;
    const store = new ServiceStore(backend, () => primary);
    await store.load();
    store.putService(service('a', 1));
    await store.flush();
    assert.deepEqual(backend.writes, ['services/a']);
    primary = false;
    store.putService(service('a', 3)); // an action of the old reign finishing late
    await store.flush();
    assert.deepEqual(backend.writes, ['services/a'], 'nothing written after the lock was lost');
    assert.equal(backend.state.get('a')?.Spec.Mode?.Replicated?.Replicas, 1);
    primary = true;
    await store.flush();
    assert.deepEqual(backend.writes, ['services/a'], 'the dropped change is not written later either');
  });
});
