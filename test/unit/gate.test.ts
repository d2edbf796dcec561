import { strict as assert } from 'node:assert';
import { Gate, RateBudget } from '../../lib/gate';

describe('Gate', () => {
  it('runs at most `limit` tasks at once, the rest in order', async () => {
    const gate = new Gate(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) => gate.run(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(i);
      running--;
    })));
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });
});

describe('RateBudget', () => {
  it("grants a second's worth at once, then perSecond a second, and saves no more than a second's worth", () => {
    let clock = 1_000_000;
    const budget = new RateBudget(10, () => clock);
    const grants = (tries: number) => Array.from({ length: tries }, () => budget.take()).filter(Boolean).length;
    assert.equal(grants(25), 10, 'the first burst');
    clock += 500;
    assert.equal(grants(25), 5, 'half a second later');
    clock += 60_000;
    assert.equal(grants(25), 10, "after a long quiet spell: one second's worth, not sixty");
    let granted = 0;
    for (let ms = 0; ms < 10_000; ms += 50) {
      clock += 50;
      granted += grants(3);
    }
    assert.equal(granted, 100, '10 seconds asked at 60 a second');
  });
});
