import assert from 'node:assert/strict';
import { BLOCK_ROWS, PsBlocks } from '../../../lib/api/ps-rows';
import { ContainerIndex } from '../../../lib/cluster/container-index';
import type { Engine, EngineStatus } from '../../../lib/engine/engine';
import { provisionalContainer, type ContainerRecord } from '../../../lib/engine/records';

interface FakeEngine {
  name: string;
  ip: string;
  addr: string;
  status: EngineStatus;
  readonly isHealthy: boolean;
  readonly isValidated: boolean;
}

function fakeEngine(name: string): FakeEngine {
  return {
    name,
    ip: '10.0.0.1',
    addr: `${name}:2375`,
    status: 'healthy',
    get isHealthy() {
      return this.status === 'healthy';
    },
    get isValidated() {
      return this.status === 'healthy' || this.status === 'unhealthy';
    },
  };
}

const T0 = Date.parse('2026-12-01T10:00:00Z');

function running(id: string, createdAt: number, startedAt: number): ContainerRecord {
  const base = provisionalContainer(id.padEnd(64, 'f'), id, { Image: 'busybox' }, createdAt);
  return { ...base, state: { ...base.state, status: 'running', running: true, startedAt: new Date(startedAt).toISOString() } };
}

function exited(record: ContainerRecord): ContainerRecord {
  return { ...record, state: { ...record.state, status: 'exited', running: false, exitCode: 3, finishedAt: new Date(T0).toISOString() } };
}

interface Row {
  Id: string;
  Names: string[];
  State: string;
  Status: string;
}

/** The whole listing from the blocks, newest first, and how many blocks were not reused as they were. */
function list(blocks: PsBlocks, index: ContainerIndex, now: number): { rows: Row[]; rebuilt: number } {
  const snapshot = index.snapshot();
  const parts: Buffer[] = [];
  const sink = { appendBytes: (bytes: Buffer) => parts.push(Buffer.from(bytes)) };
  let rebuilt = 0;
  let wroteRow = false;
  for (let b = PsBlocks.count(snapshot) - 1; b >= 0; b--) {
    const written = blocks.writeBlock(sink, snapshot, b, now, wroteRow);
    wroteRow = written.wroteRow;
    if (!written.reused) rebuilt++;
  }
  return { rows: JSON.parse(`[${Buffer.concat(parts).toString('utf8')}]`) as Row[], rebuilt };
}

const short = (row: Row): string => row.Id.replace(/f+$/, '');

describe('PsBlocks (the unfiltered docker ps as ready blocks)', () => {
  let index: ContainerIndex;
  let a: FakeEngine;
  let b: FakeEngine;
  const records = new Map<string, ContainerRecord>();
  const members = new Set<FakeEngine>();
  const listed = (engine: Engine): boolean => (engine as unknown as FakeEngine).isValidated && members.has(engine as unknown as FakeEngine);
  const count = BLOCK_ROWS * 2 + 10;

  beforeEach(() => {
    index = new ContainerIndex();
    a = fakeEngine('node-a');
    b = fakeEngine('node-b');
    members.clear();
    members.add(a).add(b);
    records.clear();
    for (let i = 0; i < count; i++) {
      const record = running(`c${i}`, T0 + i, T0 + i);
      records.set(`c${i}`, record);
      index.add((i % 2 === 0 ? a : b) as unknown as Engine, record);
    }
  });

  it('lists every container newest first with its node-prefixed name and Status, and reuses every block while nothing changed', () => {
    const blocks = new PsBlocks(true, listed);
    const now = T0 + 6 * 60_000 + 1000;
    const first = list(blocks, index, now);
    assert.equal(first.rows.length, count);
    assert.deepEqual(first.rows.map(short).slice(0, 3), [`c${count - 1}`, `c${count - 2}`, `c${count - 3}`]);
    assert.deepEqual(first.rows[0].Names, [`/node-b/c${count - 1}`]);
    assert.equal(first.rows[0].Status, 'Up 6 minutes');
    assert.equal(first.rebuilt, 3);
    const again = list(blocks, index, now + 100);
    assert.equal(again.rebuilt, 0, 'no block rebuilt while nothing changed');
    assert.deepEqual(again.rows, first.rows);
  });

  it('does not keep a block whose Status texts change within seconds (young containers)', () => {
    const blocks = new PsBlocks(true, listed);
    index.add(a as unknown as Engine, running('young', T0 + 10_000, T0 + 10 * 60_000));
    const now = T0 + 10 * 60_000 + 1500;
    const first = list(blocks, index, now);
    assert.equal(first.rows[0].Status, 'Up 1 second');
    assert.equal(first.rows.length, count + 1);
    const again = list(blocks, index, now + 100);
    assert.equal(again.rebuilt, 1, 'only the block with the young container is built again');
    assert.deepEqual(again.rows, first.rows);
  });

  it("keeps nothing from a snapshot that is not the index's own order (an ID listing's)", () => {
    const blocks = new PsBlocks(true, listed);
    const ids = [...records.values()].slice(0, 3).map((r) => r.id);
    const snapshot = index.snapshotOf(ids);
    const sink = { appendBytes: () => undefined };
    const now = T0 + 6 * 60_000 + 1000;
    blocks.writeBlock(sink, snapshot, 0, now, false);
    assert.equal(blocks.writeBlock(sink, snapshot, 0, now, false).reused, false);
  });

  it('rebuilds only the block of a changed container, and shows the change', () => {
    const blocks = new PsBlocks(true, listed);
    const now = T0 + 6 * 60_000 + 1000;
    list(blocks, index, now);
    index.update(a as unknown as Engine, exited(records.get('c4') as ContainerRecord));
    const after = list(blocks, index, now);
    assert.equal(after.rebuilt, 1);
    const row = after.rows.find((r) => short(r) === 'c4') as Row;
    assert.equal(row.State, 'exited');
    assert.match(row.Status, /^Exited \(3\) 6 minutes ago$/);
  });

  it('follows additions, removals, an engine that leaves, and Status texts that move on', () => {
    const blocks = new PsBlocks(true, listed);
    const now = T0 + 6 * 60_000 + 1000;
    list(blocks, index, now);
    const added = running('new', T0 + 10_000, now - 2000);
    index.add(a as unknown as Engine, added);
    index.remove(b as unknown as Engine, (records.get('c1') as ContainerRecord).id);
    let rows = list(blocks, index, now).rows;
    assert.equal(short(rows[0]), 'new');
    assert.equal(rows[0].Status, 'Up 2 seconds');
    assert.equal(rows.some((r) => short(r) === 'c1'), false);
    assert.equal(rows.length, count);
    rows = list(blocks, index, now + 1000).rows;
    assert.equal(rows[0].Status, 'Up 3 seconds', 'a young container ages by the second');
    assert.equal(rows[rows.length - 1].Status, 'Up 6 minutes');
    rows = list(blocks, index, now + 60_000).rows;
    assert.equal(rows[rows.length - 1].Status, 'Up 7 minutes', 'a kept block is rebuilt when its Status texts move on');
    members.delete(b);
    index.removeEngine(b as unknown as Engine);
    rows = list(blocks, index, now + 1000).rows;
    assert.equal(rows.length, count / 2 + 1);
    assert.ok(rows.every((r) => r.Names[0].startsWith('/node-a/')));
  });

  it('shows Host Down for an unhealthy engine in ps -a and leaves its containers out of ps; a renamed engine renames its rows', () => {
    const all = new PsBlocks(true, listed);
    const runningOnly = new PsBlocks(false, listed);
    const now = T0 + 6 * 60_000 + 1000;
    index.update(a as unknown as Engine, exited(records.get('c0') as ContainerRecord));
    assert.equal(list(runningOnly, index, now).rows.length, count - 1, 'ps leaves the exited container out');
    list(all, index, now);
    b.status = 'unhealthy';
    const down = list(all, index, now).rows.filter((r) => r.Names[0].startsWith('/node-b/'));
    assert.equal(down.length, count / 2);
    assert.ok(down.every((r) => r.Status === 'Host Down'));
    assert.equal(list(runningOnly, index, now).rows.length, count / 2 - 1);
    b.status = 'pending';
    assert.equal(list(all, index, now).rows.length, count / 2, 'an engine not validated is not listed');
    b.status = 'healthy';
    list(all, index, now);
    a.name = 'node-a2';
    const renamed = list(all, index, now).rows;
    assert.equal(renamed.filter((r) => r.Names[0].startsWith('/node-a2/')).length, count / 2);
  });
});
