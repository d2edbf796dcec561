/** The benchmark's own pure helpers: percentiles, reading a manager's /info, tar round trip. */
import assert from 'node:assert/strict';
import { parseClusterHealth } from '../../bench/lib/cluster-info';
import { percentile, shift, summarize } from '../../bench/lib/stats';
import { TarMetadataReader } from '../../bench/sim/tar-manifest';
import { tarFromFiles, tarHeader } from '../../bench/tar-writer';

describe('bench helpers', () => {
  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
    assert.equal(percentile(sorted, 50), 10);
    assert.equal(percentile(sorted, 90), 18);
    assert.equal(percentile(sorted, 99), 20);
    assert.ok(Number.isNaN(percentile([], 50)));
    const s = summarize([5, 1, 3]);
    assert.deepEqual([s.n, s.p50, s.min, s.max, s.mean], [3, 3, 1, 5, 3]);
    assert.equal(shift(s, 1).p50, 2);
  });

  it('counts Healthy engines in classic SystemStatus', () => {
    const health = parseClusterHealth({
      Containers: 7,
      SystemStatus: [
        ['Role', 'primary'],
        ['Nodes', '3'],
        [' node-0', '127.0.0.1:1'],
        ['  └ Status', 'Healthy'],
        [' node-1', '127.0.0.1:2'],
        ['  └ Status', 'Pending'],
        [' node-2', '127.0.0.1:3'],
        ['  └ Status', 'Healthy'],
      ],
    });
    assert.deepEqual(health, { nodes: 3, healthy: 2, containers: 7 });
    assert.deepEqual(parseClusterHealth({}), { nodes: 0, healthy: 0, containers: 0 });
  });

  it('reads manifest.json back out of a tar fed in odd-sized chunks', () => {
    const archive = tarFromFiles({ 'a/layer.tar': Buffer.alloc(1500, 1), 'manifest.json': '[{"Config":"x.json"}]', repositories: '{}' });
    const reader = new TarMetadataReader();
    for (let i = 0; i < archive.length; i += 333) reader.write(archive.subarray(i, i + 333));
    const summary = reader.end();
    assert.equal(summary.complete, true);
    assert.equal(summary.entries, 3);
    assert.equal(summary.files.get('manifest.json'), '[{"Config":"x.json"}]');
    assert.equal(summary.files.has('a/layer.tar'), false);

    const truncated = new TarMetadataReader();
    truncated.write(archive.subarray(0, 1000));
    assert.equal(truncated.end().complete, false);
  });

  it('writes long names with the ustar prefix field', () => {
    const name = `${'d'.repeat(120)}/file.txt`;
    const header = tarHeader({ name, size: 3 });
    assert.equal(header.subarray(0, 8).toString(), 'file.txt');
    assert.equal(header.subarray(345, 465).toString(), 'd'.repeat(120));
    const reader = new TarMetadataReader();
    reader.write(Buffer.concat([header, Buffer.alloc(512), Buffer.alloc(1024)]));
    assert.equal(reader.end().entries, 1);
  });
});
