import assert from 'node:assert/strict';
import { ChunkPool } from '../../../lib/api/chunk-pool';

describe('ChunkPool (reused body chunks, sized by the load)', () => {
  const burst = (pool: ChunkPool, n: number): void => {
    const chunks = Array.from({ length: n }, () => pool.acquire());
    for (const chunk of chunks) pool.release(chunk);
  };

  it('serves a burst like the last one without allocating, beyond the chunks kept at idle', () => {
    const pool = new ChunkPool(1024, 4, 100, 60_000);
    burst(pool, 50);
    assert.equal(pool.allocated, 50);
    burst(pool, 50);
    assert.equal(pool.allocated, 50, 'the second burst reused every chunk');
  });

  it('keeps at most `max` free chunks', () => {
    const pool = new ChunkPool(1024, 4, 10, 60_000);
    burst(pool, 30);
    assert.equal(pool.freeCount, 10);
  });

  it('gives back, at each trim, the chunks that stayed free through the interval, down to the ones kept', () => {
    const pool = new ChunkPool(1024, 4, 100, 60_000);
    burst(pool, 40);
    pool.trim(); // the interval saw the pool empty: nothing was unused through it
    assert.equal(pool.freeCount, 40);
    burst(pool, 10); // 30 of the 40 stayed free through this interval
    pool.trim();
    assert.equal(pool.freeCount, 10);
    pool.trim(); // an idle interval: back to the ones kept
    assert.equal(pool.freeCount, 4);
    burst(pool, 4);
    assert.equal(pool.allocated, 40);
  });
});
