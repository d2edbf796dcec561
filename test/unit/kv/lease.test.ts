/** LeaseKeeper: when a lock holder stops counting itself the holder (no split brain). */
import * as assert from 'node:assert/strict';
import { LeaseKeeper } from '../../../lib/kv/lease';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('LeaseKeeper', () => {
  it('stays valid while renewals are confirmed', async () => {
    let renewals = 0;
    const keeper = new LeaseKeeper({ guaranteeMs: 400, acquiredAt: Date.now(), renew: async () => (renewals++, true) });
    await sleep(1000);
    assert.ok(keeper.valid, 'lost although every renewal was confirmed');
    assert.ok(renewals >= 3, `only ${renewals} renewals in 1 s with a 400 ms guarantee`);
    keeper.end();
    assert.equal(keeper.valid, false);
  });

  it('gives up before the guarantee runs out when the store is unreachable', async () => {
    const acquiredAt = Date.now();
    const keeper = new LeaseKeeper({ guaranteeMs: 400, acquiredAt, renew: () => Promise.reject(new Error('unreachable')) });
    await keeper.lost;
    const after = Date.now() - acquiredAt;
    assert.ok(after < 400, `still counted as held ${after} ms after the last confirmation (guarantee 400 ms)`);
    assert.equal(keeper.valid, false);
    assert.ok(keeper.validUntil <= acquiredAt + 400);
  });

  it('is not valid past its deadline even before its timer fires', () => {
    const keeper = new LeaseKeeper({ guaranteeMs: 400, acquiredAt: Date.now() - 350, renew: async () => true });
    assert.equal(keeper.valid, false, 'valid 350 ms after acquisition with a 300 ms safe window');
    keeper.end();
  });

  it('ends at once when the store says the lock is gone', async () => {
    const keeper = new LeaseKeeper({ guaranteeMs: 1000, acquiredAt: Date.now(), renew: async () => false });
    const t0 = Date.now();
    await keeper.lost;
    assert.ok(Date.now() - t0 < 600, 'not ended by the first renewal');
  });
});
