/**
 * Cluster.place: the one placement operation runs the scheduler injected by `manage` over the
 * cluster's engines (here engines whose state is set by hand: no engine process is involved).
 */
import * as assert from 'node:assert/strict';
import { Cluster } from '../../../lib/cluster/cluster';
import { Engine } from '../../../lib/engine/engine';
import { Scheduler } from '../../../lib/scheduler/scheduler';
import { createFilters, DEFAULT_FILTERS } from '../../../filters';
import { createStrategy } from '../../../strategies';
import { listColumns } from '../../../lib/scheduler/node-list';
import type { SchedulerNode } from '../../../lib/scheduler/node';
import { seededRandom } from '../scheduler/fixtures';

function cluster(strategy = 'spread'): Cluster {
  const scheduler = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy(strategy));
  const c = new Cluster({ engine: { refreshMinMs: 30_000, refreshMaxMs: 60_000, failureRetry: 3 }, scheduler: { overcommit: 0.05, createRetry: 0, reserveStopped: true } }, scheduler);
  const labels: Array<Record<string, string>> = [{ disk: 'ssd' }, { disk: 'hdd' }, { disk: 'hdd' }];
  labels.forEach((l, i) => {
    const engine = fakeEngine(c, `127.0.0.1:${7000 + i}`);
    Object.assign(engine, { status: 'healthy', id: `ID${i}|${engine.addr}`, name: `node-${i}`, cpus: 2, memory: 2 ** 31, labels: l });
  });
  return c;
}

/** An Engine object that is never started (no connection is made until it is asked for one). */
function fakeEngine(c: Cluster, addr: string): Engine {
  const engine = new Engine(addr, c.options.engine);
  c.engines.set(addr, engine);
  return engine;
}

describe('Cluster.place', () => {
  it('ranks the engines that satisfy the constraints, moving env expressions into labels', () => {
    const placement = cluster().place({ Image: 'busybox', Env: ['constraint:disk==hdd', 'A=1'] });
    assert.deepEqual(placement.candidates().map((e) => e.name).sort(), ['node-1', 'node-2']);
    assert.equal(placement.engine, placement.candidates()[0]);
    assert.deepEqual(placement.body.Env, ['A=1']);
    assert.equal(placement.body.Labels?.['com.docker.swarm.constraints'], '["disk==hdd"]');
    assert.deepEqual(placement.request.constraints, ['disk==hdd']);
  });

  it('skips excluded engines, and fails with the scheduler error when nothing fits', () => {
    const c = cluster();
    const ssd = [...c.engines.values()].find((e) => e.name === 'node-0') as Engine;
    assert.throws(() => c.place({ Env: ['constraint:disk==ssd'] }, { exclude: new Set([ssd]) }), /Unable to find a node that satisfies the following conditions/);
    assert.deepEqual(c.place({}, { exclude: new Set([ssd]) }).candidates().map((e) => e.name).sort(), ['node-1', 'node-2']);
  });

  it('near (the engines holding a local network): a soft node constraint, yielding to a hard one, not saved', () => {
    const c = cluster();
    const node1 = [...c.engines.values()].find((e) => e.name === 'node-1') as Engine;
    const near = c.place({ Image: 'busybox' }, { near: [node1] });
    assert.equal(near.engine, node1);
    assert.equal(near.body.Labels?.['com.docker.swarm.constraints'], undefined, 'the network pin is not saved on the container');
    // A hard node constraint wins (classic: the soft one is added only without it).
    assert.equal(c.place({ Image: 'busybox', Env: ['constraint:node==node-0'] }, { near: [node1] }).engine.name, 'node-0');
    // Soft: when the holder is ruled out, the container goes elsewhere (the engine then names the missing network).
    assert.notEqual(c.place({ Image: 'busybox', Env: ['constraint:disk==ssd'] }, { near: [node1] }).engine, node1);
  });

  it('reports the strategy and filters it actually uses (binpacking is binpack)', () => {
    assert.deepEqual(cluster('binpacking').placementPolicy(), { strategy: 'binpack', filters: DEFAULT_FILTERS });
  });
});

describe('Cluster.nodes columns', () => {
  /** What the cluster learns from an engine's 'change' event (fake engines are not subscribed). */
  const changed = (c: Cluster, engine: Engine): void => {
    (c as unknown as { changedEngines: Set<Engine> }).changedEngines.add(engine);
  };

  it('describe exactly the list handed out, creates in flight included, and no older list', () => {
    const c = cluster();
    const engines = [...c.engines.values()];
    const random = seededRandom(11);
    const releases: Array<() => void> = [];
    let previous: SchedulerNode[] | undefined;
    for (let step = 0; step < 500; step++) {
      const roll = random();
      const engine = engines[Math.floor(random() * engines.length)];
      if (roll < 0.4) {
        releases.push(c.reserve(engine, { id: '', names: [], image: 'busybox', labels: {}, state: 'pending', cpus: Math.floor(random() * 3) / 2, memory: Math.floor(random() * 4) * 2 ** 20, networkMode: 'default', portBindings: {}, exposedPorts: [] }));
      } else if (roll < 0.75 && releases.length > 0) {
        releases.splice(Math.floor(random() * releases.length), 1)[0]();
      } else {
        Object.assign(engine, { cpus: 1 + Math.floor(random() * 4) });
        changed(c, engine);
      }
      const nodes = c.nodes();
      const columns = listColumns(nodes);
      assert.ok(columns, `step ${step}: the list handed out has columns`);
      nodes.forEach((n, i) => {
        assert.deepEqual(
          [columns.health[i], columns.containers[i], columns.usedCpus[i], columns.totalCpus[i], columns.usedMemory[i], columns.totalMemory[i]],
          [n.healthIndicator, n.containers.length, n.usedCpus, n.totalCpus, n.usedMemory, n.totalMemory],
          `step ${step}, node ${i}`,
        );
      });
      if (previous && previous !== nodes) assert.equal(listColumns(previous), undefined, `step ${step}: an older list has none`);
      previous = nodes;
    }
  });
});
