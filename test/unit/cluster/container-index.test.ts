import assert from 'node:assert/strict';
import { ContainerIndex } from '../../../lib/cluster/container-index';
import type { Engine } from '../../../lib/engine/engine';
import { provisionalContainer } from '../../../lib/engine/records';

const engineA = { name: 'a' } as Engine;
const engineB = { name: 'b' } as Engine;

function record(id: string, at: number) {
  return provisionalContainer(id.padEnd(64, '0'), id, { Image: 'busybox' }, at);
}

/** IDs newest first, as `docker ps` lists them (of the whole index, or of snapshotOf(ids)). */
function newestFirst(index: ContainerIndex, ids?: string[]): string[] {
  const { entries, length } = ids ? index.snapshotOf(ids.map((id) => id.padEnd(64, '0'))) : index.snapshot();
  const out: string[] = [];
  for (let i = length - 1; i >= 0; i--) if (entries[i].live) out.push(entries[i].id.replace(/0+$/, ''));
  return out;
}

describe('ContainerIndex (ps order, owner by ID)', () => {
  it('lists newest first, also when a container arrives late with an older creation time', () => {
    const index = new ContainerIndex();
    index.add(engineA, record('c1', 1000));
    index.add(engineB, record('c3', 3000));
    index.add(engineA, record('c2', 2000));
    assert.deepEqual(newestFirst(index), ['c3', 'c2', 'c1']);
  });

  it('forgets removed containers and the containers of an engine that left, and re-adds a changed one once', () => {
    const index = new ContainerIndex();
    for (const [id, at] of [['x1', 1], ['x2', 2], ['x3', 3], ['x4', 4]] as const) index.add(engineA, record(id, at * 1000));
    index.add(engineB, record('y1', 5000));
    index.remove(engineA, record('x2', 0).id);
    assert.deepEqual(newestFirst(index), ['y1', 'x4', 'x3', 'x1']);
    index.add(engineA, record('x1', 6000)); // its creation time changed: moves, not duplicated
    assert.deepEqual(newestFirst(index), ['x1', 'y1', 'x4', 'x3']);
    index.removeEngine(engineB);
    assert.deepEqual(newestFirst(index), ['x1', 'x4', 'x3']);
    assert.equal(index.size, 3);
  });

  it('knows which engine holds a full ID until it goes', () => {
    const index = new ContainerIndex();
    const c = record('z1', 1000);
    index.add(engineB, c);
    assert.equal(index.ownerOf(c.id), engineB);
    index.remove(engineB, c.id);
    assert.equal(index.ownerOf(c.id), undefined);
  });

  it('a snapshot being walked is not reordered by later additions', () => {
    const index = new ContainerIndex();
    index.add(engineA, record('s2', 2000));
    const before = index.snapshot();
    index.add(engineA, record('s1', 1000)); // out of order: the next snapshot sorts a new array
    assert.deepEqual(before.entries.slice(0, before.length).map((e) => e.id.replace(/0+$/, '')), ['s2']);
    assert.deepEqual(newestFirst(index), ['s2', 's1']);
  });

  it('gives the live entries of given full IDs in the order the whole walk meets them, on every engine holding one', () => {
    const index = new ContainerIndex();
    for (let i = 0; i < 50; i++) index.add(i % 2 ? engineA : engineB, record(`k${i}z`, (i * 7919) % 50_000));
    index.add(engineB, record('k3z', (3 * 7919) % 50_000)); // the same ID on a second engine
    index.remove(engineA, record('k5z', 0).id);
    const wanted = ['k3z', 'k5z', 'k10z', 'k40z', 'k41z', 'nope'];
    const expected = newestFirst(index).filter((id) => wanted.includes(id));
    assert.deepEqual(newestFirst(index, wanted), expected);
    assert.equal(expected.filter((id) => id === 'k3z').length, 2);
    assert.equal(expected.length, 5);
    assert.ok(!expected.includes('k5z'));
  });
});
