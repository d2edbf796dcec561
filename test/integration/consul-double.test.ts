/**
 * The Consul double must behave as Consul documents, or the consul backend's tests prove
 * nothing. These pin the documented behaviours the backend relies on.
 */
import * as assert from 'node:assert/strict';
import { startConsulDouble, type ConsulDouble } from '../../testbed/consul-double';

describe('Consul HTTP API double', () => {
  let consul: ConsulDouble;
  let base: string;
  const put = async (path: string, body = ''): Promise<unknown> => (await fetch(`${base}${path}`, { method: 'PUT', body })).json();

  beforeEach(async () => {
    consul = await startConsulDouble({ sessionTtlMinMs: 1000 });
    base = `http://${consul.endpoint}/v1`;
  });
  afterEach(() => consul.stop());

  it('stores base64 values, lists recursively or as keys, and 404s with an index when empty', async () => {
    assert.equal(await put('/kv/a/b/x', 'one'), true);
    await put('/kv/a/b/y/z', 'two');
    const missing = await fetch(`${base}/kv/nothing?recurse`);
    assert.equal(missing.status, 404);
    assert.ok(Number(missing.headers.get('x-consul-index')) > 0);
    const items = (await (await fetch(`${base}/kv/a/b/?recurse`)).json()) as Array<{ Key: string; Value: string }>;
    assert.deepEqual(items.map((i) => [i.Key, Buffer.from(i.Value, 'base64').toString()]), [['a/b/x', 'one'], ['a/b/y/z', 'two']]);
    assert.deepEqual(await (await fetch(`${base}/kv/a/b/?keys&separator=/`)).json(), ['a/b/x', 'a/b/y/']);
    assert.equal(await (await fetch(`${base}/kv/a/b/x?raw`)).text(), 'one');
  });

  it('check-and-set: cas=0 creates only, cas=<index> updates only that version', async () => {
    assert.equal(await put('/kv/c?cas=0', 'v1'), true);
    assert.equal(await put('/kv/c?cas=0', 'v2'), false);
    const [item] = (await (await fetch(`${base}/kv/c`)).json()) as Array<{ ModifyIndex: number }>;
    assert.equal(await put(`/kv/c?cas=${item.ModifyIndex + 100}`, 'v3'), false);
    assert.equal(await put(`/kv/c?cas=${item.ModifyIndex}`, 'v3'), true);
  });

  it('blocking query: holds until the prefix changes, or answers unchanged after wait', async () => {
    await put('/kv/w/a', '1');
    const first = await fetch(`${base}/kv/w/?recurse`);
    const index = first.headers.get('x-consul-index');
    const started = Date.now();
    const unchanged = await fetch(`${base}/kv/w/?recurse&index=${index}&wait=300ms`);
    assert.ok(Date.now() - started >= 290, 'returned before the wait elapsed');
    assert.equal(unchanged.headers.get('x-consul-index'), index);
    const blocked = fetch(`${base}/kv/w/?recurse&index=${index}&wait=10s`);
    await put('/kv/elsewhere', 'x'); // a write outside the prefix does not wake it with a new index
    setTimeout(() => void put('/kv/w/b', '2'), 200);
    const changed = await blocked;
    assert.ok(Number(changed.headers.get('x-consul-index')) > Number(index));
    assert.equal(((await changed.json()) as unknown[]).length, 2);
    // A delete moves the prefix index too (tombstone).
    const afterAdd = changed.headers.get('x-consul-index');
    setTimeout(() => void fetch(`${base}/kv/w/a`, { method: 'DELETE' }), 100);
    const deleted = await fetch(`${base}/kv/w/?recurse&index=${afterAdd}&wait=10s`);
    assert.ok(Number(deleted.headers.get('x-consul-index')) > Number(afterAdd));
  });

  it('sessions: TTL bounds, 2x grace before invalidation, delete behaviour removes held keys', async () => {
    const tooShort = await fetch(`${base}/session/create`, { method: 'PUT', body: JSON.stringify({ TTL: '500ms' }) });
    assert.equal(tooShort.status, 400);
    const { ID } = (await put('/session/create', JSON.stringify({ TTL: '1s', Behavior: 'delete', LockDelay: '1ms' }))) as { ID: string };
    assert.equal(await put(`/kv/held?acquire=${ID}`, 'v'), true);
    await new Promise((r) => setTimeout(r, 1500)); // past the TTL, inside the 2x grace
    assert.equal((await fetch(`${base}/kv/held`)).status, 200, 'invalidated before 2x TTL');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await fetch(`${base}/kv/held`)).status, 404, 'still there after 2x TTL');
    assert.equal((await fetch(`${base}/session/renew/${ID}`, { method: 'PUT' })).status, 404);
  });

  it('locks: acquire is exclusive, release frees, invalidation applies the lock delay', async () => {
    const s1 = ((await put('/session/create', JSON.stringify({ TTL: '10s', LockDelay: '400ms' }))) as { ID: string }).ID;
    const s2 = ((await put('/session/create', JSON.stringify({ TTL: '10s' }))) as { ID: string }).ID;
    assert.equal(await put(`/kv/lock?acquire=${s1}`, 'a'), true);
    assert.equal(await put(`/kv/lock?acquire=${s2}`, 'b'), false);
    assert.equal(await put(`/kv/lock?release=${s2}`, 'b'), false);
    assert.equal(await put(`/kv/lock?release=${s1}`, 'a'), true);
    assert.equal(await put(`/kv/lock?acquire=${s2}`, 'b'), true);
    await put(`/kv/lock?release=${s2}`, 'b');
    assert.equal(await put(`/kv/lock?acquire=${s1}`, 'a'), true);
    await fetch(`${base}/session/destroy/${s1}`, { method: 'PUT' }); // behaviour release (default)
    const [item] = (await (await fetch(`${base}/kv/lock`)).json()) as Array<{ Session?: string }>;
    assert.equal(item.Session, undefined, 'the key stays, released');
    assert.equal(await put(`/kv/lock?acquire=${s2}`, 'b'), false, 'acquired during the lock delay');
    await new Promise((r) => setTimeout(r, 450));
    assert.equal(await put(`/kv/lock?acquire=${s2}`, 'b'), true);
  });

  it('an outage fails in-flight blocking queries and keeps the data', async () => {
    await put('/kv/o/a', '1');
    const index = (await fetch(`${base}/kv/o/?recurse`)).headers.get('x-consul-index');
    const inFlight = fetch(`${base}/kv/o/?recurse&index=${index}&wait=30s`).then(
      () => 'answered',
      () => 'failed',
    );
    await consul.stop();
    assert.equal(await inFlight, 'failed');
    await assert.rejects(fetch(`${base}/kv/o/a`));
    await consul.start();
    assert.equal(await (await fetch(`${base}/kv/o/a?raw`)).text(), '1');
  });
});
