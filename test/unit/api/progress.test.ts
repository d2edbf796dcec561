import assert from 'node:assert/strict';
import { ProgressAggregator, type ProgressMessage } from '../../../lib/api/progress';

describe('ProgressAggregator (pull/import/load progress of many engines)', function () {
  function aggregator(engines: number) {
    const out: ProgressMessage[] = [];
    let now = 0;
    const p = new ProgressAggregator('load', engines, (m) => out.push(m), 500, () => now);
    return { p, out, tick: (ms: number) => { now += ms; } };
  }

  it('shows each text once, whatever the number of engines', function () {
    const { p, out } = aggregator(100);
    for (let i = 0; i < 100; i++) {
      p.engineStarted();
      p.add(`node-${i}`, { stream: 'Loaded image: web:1\n' });
      p.engineDone(`node-${i}`);
    }
    assert.equal(p.finish(), undefined);
    assert.deepEqual(out.filter((m) => m.stream), [{ stream: 'Loaded image: web:1\n' }]);
    assert.deepEqual(out.at(-1), { id: 'engines', status: 'load: 100/100 done' });
    assert.ok(out.length <= 4, `${out.length} lines for 100 engines`);
  });

  it('merges a layer\'s progress into one line counting engines per step, summing bytes, throttled', function () {
    const { p, out, tick } = aggregator(3);
    p.add('a', { id: 'l1', status: 'Loading layer', progressDetail: { current: 10, total: 100 } });
    p.add('b', { id: 'l1', status: 'Loading layer', progressDetail: { current: 30, total: 100 } });
    p.add('c', { id: 'l1', status: 'Loading layer', progressDetail: { current: 50, total: 100 } });
    assert.deepEqual(out, [{ id: 'l1', status: 'Loading layer 1/3', progressDetail: { current: 10, total: 100 } }], 'the rest waits for the interval');
    tick(500);
    p.add('a', { id: 'l1', status: 'Pull complete' });
    assert.deepEqual(out.at(-1), { id: 'l1', status: 'Loading layer 2/3, Pull complete 1/3', progressDetail: { current: 80, total: 200 } });
    p.add('b', { id: 'l1', status: 'Pull complete' });
    p.add('c', { id: 'l1', status: 'Pull complete' });
    assert.equal(p.pendingLayers, 1);
    p.finish();
    assert.equal(p.pendingLayers, 0);
    assert.ok(out.some((m) => m.id === 'l1' && m.status === 'Pull complete 3/3'), JSON.stringify(out));
  });

  it('shows at most 5 different texts per prefix when engines disagree, and counts the rest', function () {
    const { p, out } = aggregator(20);
    for (let i = 0; i < 20; i++) p.add(`node-${i}`, { status: `Digest: sha256:${i}` });
    p.add('node-0', { status: 'Status: Downloaded newer image for web:1' });
    p.finish();
    const texts = out.filter((m) => m.id === undefined).map((m) => m.status);
    assert.deepEqual(texts, ['Digest: sha256:0', 'Digest: sha256:1', 'Digest: sha256:2', 'Digest: sha256:3', 'Digest: sha256:4',
      'Status: Downloaded newer image for web:1', 'Digest: 15 more different values not shown']);
  });

  it('ends with one error grouping failed engines by message, in natural order', function () {
    const { p } = aggregator(12);
    for (let i = 0; i < 12; i++) p.engineStarted();
    for (const i of [10, 2, 1]) p.engineDone(`node-${i}`, 'connection refused');
    p.engineDone('node-5', 'no space left on device');
    for (const i of [0, 3, 4, 6, 7, 8, 9, 11]) p.engineDone(`node-${i}`);
    assert.equal(p.finish(), 'load failed on 4 of 12 engines: connection refused (node-1, node-2, node-10); no space left on device (node-5)');
  });
});
