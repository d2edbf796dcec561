/**
 * The cluster's scheduler snapshots (Cluster.nodes): kept between reads, redone for the engines
 * that changed, kept for the others when the list is rebuilt, and brought up to date in the
 * background in bounded slices once many engines changed. Engines here are never started; their
 * state is set by hand and their 'change' events emitted as Engine.touch would.
 */
import * as assert from 'node:assert/strict';
import { Cluster } from '../../../lib/cluster/cluster';
import { Engine } from '../../../lib/engine/engine';
import { Scheduler } from '../../../lib/scheduler/scheduler';
import { createFilters, DEFAULT_FILTERS } from '../../../filters';
import { createStrategy } from '../../../strategies';
import { waitFor } from '../../../testbed/wait';

/** The cluster's own bookkeeping, read to tell a background catch-up from a read's. */
interface Internals {
  changedEngines: Set<Engine>;
  nodeList?: unknown[];
  noteChange(engine: Engine): void;
  currentNodes(budgetMs?: number): unknown[];
}

function clusterOf(count: number): { c: Cluster; internals: Internals; engines: Engine[] } {
  const c = new Cluster({ engine: { refreshMinMs: 30_000, refreshMaxMs: 60_000, failureRetry: 3 }, scheduler: { overcommit: 0, createRetry: 0, reserveStopped: true } }, new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy('spread')));
  const internals = c as unknown as Internals;
  const engines: Engine[] = [];
  for (let i = 0; i < count; i++) {
    const engine = new Engine(`127.0.0.1:${20000 + i}`, c.options.engine);
    Object.assign(engine, { status: 'healthy', id: `ID${i}`, name: `node-${i}`, cpus: 1, memory: 2 ** 30, labels: {} });
    c.engines.set(engine.addr, engine);
    // As Cluster.addEngine wires it (addEngine would also start validating the engine).
    engine.on('change', () => internals.noteChange(engine));
    engines.push(engine);
  }
  return { c, internals, engines };
}

function setCpus(engine: Engine, cpus: number): void {
  Object.assign(engine, { cpus });
  engine.emit('change');
}

describe('Cluster scheduler snapshots', () => {
  it('redo only the engines that changed, also when an engine leaves and the list is rebuilt', () => {
    const { c, engines } = clusterOf(3);
    const first = c.nodes();
    assert.equal(c.nodes(), first, 'nothing changed: the same list');
    setCpus(engines[1], 3);
    c.removeEngine(engines[2].addr);
    const second = c.nodes();
    assert.deepEqual(second.map((n) => n.name), ['node-0', 'node-1']);
    assert.equal(second[0], first[0], 'an unchanged engine keeps its snapshot');
    assert.notEqual(second[1], first[1]);
    assert.equal(second[1].totalCpus, 3, 'a changed engine is snapshotted again');
    assert.equal(first.length, 3, 'a list handed out earlier stays as it was');
  });

  it('a read with a budget redoes what fits and leaves the rest for the next read', () => {
    const { c, internals, engines } = clusterOf(20);
    c.nodes();
    engines.forEach((e) => setCpus(e, 4));
    // A spent budget still redoes the 7 snapshots taken before the first look at the clock.
    const partial = internals.currentNodes(0) as Array<{ totalCpus: number }>;
    assert.equal(partial.filter((n) => n.totalCpus === 4).length, 7);
    assert.equal(internals.changedEngines.size, 13, 'the others stay due');
    assert.ok(c.nodes().every((n) => n.totalCpus === 4), 'a read without a budget redoes them all');
    assert.equal(internals.changedEngines.size, 0);
  });

  it('are brought up to date in the background once many engines changed, without a read', async () => {
    const { c, internals, engines } = clusterOf(100);
    c.nodes();
    engines.slice(0, 63).forEach((e) => setCpus(e, 2));
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(internals.changedEngines.size, 63, 'below the threshold: left to the next read');
    engines.slice(63).forEach((e) => setCpus(e, 2));
    await waitFor(() => internals.changedEngines.size === 0, 2000, 'the background catch-up', 5);
    const caughtUp = internals.nodeList as Array<{ totalCpus: number }>;
    assert.ok(caughtUp.every((n) => n.totalCpus === 2), 'every snapshot redone');
    assert.equal(c.nodes(), caughtUp, 'the next read finds the list ready');
    await c.close();
  });
});
