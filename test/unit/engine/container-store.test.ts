import assert from 'node:assert/strict';
import { ContainerStore } from '../../../lib/engine/container-store';
import { provisionalContainer } from '../../../lib/engine/records';

const POLICY = 'com.docker.swarm.reschedule-policies';

function record(id: string, name: string, labels: Record<string, string> = {}) {
  return provisionalContainer(id.padEnd(64, '0'), name, { Image: 'busybox', Labels: labels });
}

describe('ContainerStore label indexes', () => {
  it('indexes the given label keys: added, replaced without the label, deleted', () => {
    const store = new ContainerStore([POLICY]);
    const a = record('a', 'a', { [POLICY]: '["on-node-failure"]' });
    const b = record('b', 'b', { other: 'x' });
    store.set(a);
    store.set(b);
    assert.deepEqual([...store.withLabel(POLICY)].map((c) => c.name), ['a']);
    store.set({ ...b, labels: { [POLICY]: '["off"]' } });
    assert.deepEqual([...store.withLabel(POLICY)].map((c) => c.name).sort(), ['a', 'b']);
    store.set({ ...a, labels: {} });
    assert.deepEqual([...store.withLabel(POLICY)].map((c) => c.name), ['b']);
    store.delete(b.id);
    assert.deepEqual([...store.withLabel(POLICY)], []);
  });

  it('keeps docker info counts as containers start, pause, stop and go', () => {
    const store = new ContainerStore();
    const a = record('a', 'a');
    store.set(a);
    assert.deepEqual(store.counts, { running: 0, paused: 0, stopped: 1 });
    store.set({ ...a, state: { ...a.state, status: 'running', running: true } });
    assert.deepEqual(store.counts, { running: 1, paused: 0, stopped: 0 });
    store.set({ ...a, state: { ...a.state, status: 'paused', running: true, paused: true } });
    assert.deepEqual(store.counts, { running: 0, paused: 1, stopped: 0 });
    store.delete(a.id);
    assert.deepEqual(store.counts, { running: 0, paused: 0, stopped: 0 });
  });

  it('refuses to answer for a label it does not index', () => {
    const store = new ContainerStore([POLICY]);
    assert.throws(() => [...store.withLabel('com.example.other')], /not indexed/);
  });
});
