import assert from 'node:assert/strict';
import { BinpackStrategy } from '../../../strategies/binpack';
import { createStrategy, DEFAULT_STRATEGY, knownStrategies } from '../../../strategies/index';
import { RandomStrategy } from '../../../strategies/random';
import { SpreadStrategy } from '../../../strategies/spread';
import { NO_RESOURCES_MESSAGE, nodeWeight, rankByWeight } from '../../../strategies/weigh';
import { UnsatisfiableError } from '../../../lib/scheduler/filter';
import { container, names, node, request, seededRandom } from './fixtures';

const GiB = 1024 ** 3;

describe('strategies', () => {
  describe('registry', () => {
    it('knows spread (default), binpack and random, and the binpacking alias', () => {
      assert.equal(DEFAULT_STRATEGY, 'spread');
      assert.deepEqual(knownStrategies(), ['spread', 'binpack', 'random']);
      assert.equal(createStrategy('binpacking').name, 'binpack');
      assert.throws(() => createStrategy('roundrobin'), /strategy not supported/);
    });
  });

  describe('nodeWeight', () => {
    it('computes classic weights: cpu% + mem% + healthFactor*health', () => {
      const n = node('a', { totalCpus: 4, usedCpus: 1, totalMemory: 4 * GiB, usedMemory: GiB, healthIndicator: 100 });
      assert.equal(nodeWeight(request({ cpus: 1, memory: GiB }), n, -10), 50 + 50 - 1000);
      assert.equal(nodeWeight(request(), n, 10), 100 + 100 + 1000);
    });

    it('drops nodes that cannot hold the request, exactly (classic allowed ~1% over)', () => {
      const n = node('a', { totalCpus: 100, usedCpus: 100, totalMemory: 100, usedMemory: 0 });
      assert.equal(nodeWeight(request({ cpus: 0.5 }), n, 0), undefined);
      assert.throws(() => rankByWeight(request({ cpus: 0.5 }), [n], 0, 'lightest-first'), UnsatisfiableError);
      assert.equal(rankByWeight(request({ memory: 100 }), [n], 0, 'lightest-first').length, 1);
      assert.throws(() => rankByWeight(request({ memory: 101 }), [n], 0, 'heaviest-first'), { message: NO_RESOURCES_MESSAGE });
    });

    it('handles fractional CPUs (NanoCpus) without float noise', () => {
      const n = node('a', { totalCpus: 0.3, usedCpus: 0.1 + 0.1 });
      assert.equal(nodeWeight(request({ cpus: 0.1 }), n, 0), 100 + 100);
    });

    it('ranks the same when the numbers do not fit a packed sort key (weights beyond ±32,767)', () => {
      const nodes = [node('b', { healthIndicator: 5000 }), node('a', { healthIndicator: 9000 }), node('c', { healthIndicator: 5000, containers: [container()] }), node('d', { healthIndicator: 5000 })];
      assert.deepEqual(names(rankByWeight(request(), nodes, -10, 'lightest-first')), ['a', 'b', 'd', 'c']);
      assert.deepEqual(names(rankByWeight(request(), nodes, 10, 'heaviest-first')), ['a', 'c', 'b', 'd']);
    });

    it('does not check CPU or memory a request does not reserve (classic)', () => {
      const full = node('a', { totalCpus: 1, usedCpus: 5 });
      assert.equal(nodeWeight(request({ memory: 1 }), full, 0), 100 + 0);
    });
  });

  describe('spread', () => {
    const spread = new SpreadStrategy();

    it('prefers the least reserved node', () => {
      const nodes = [node('busy', { usedCpus: 3 }), node('idle', { usedCpus: 0 }), node('half', { usedCpus: 2 })];
      assert.deepEqual(names(spread.rank(request({ cpus: 1 }), nodes)), ['idle', 'half', 'busy']);
    });

    it('breaks ties by fewer containers (all states)', () => {
      const nodes = [node('two', { containers: [container(), container({ state: 'exited' })] }), node('one', { containers: [container()] }), node('none')];
      assert.deepEqual(names(spread.rank(request(), nodes)), ['none', 'one', 'two']);
    });

    it('keeps the input order for full ties (stable)', () => {
      assert.deepEqual(names(spread.rank(request(), [node('x'), node('y'), node('z')])), ['x', 'y', 'z']);
    });

    it('health dominates load', () => {
      const nodes = [node('sick', { healthIndicator: 50 }), node('loaded', { usedCpus: 3, healthIndicator: 100 })];
      assert.deepEqual(names(spread.rank(request({ cpus: 1 }), nodes)), ['loaded', 'sick']);
    });

    it('fails with "no resources available to schedule container" when nothing fits', () => {
      assert.throws(() => spread.rank(request({ cpus: 512 }), [node('a')]), { message: NO_RESOURCES_MESSAGE, status: 500 });
    });
  });

  describe('binpack', () => {
    const binpack = new BinpackStrategy();

    it('prefers the fullest node that still fits', () => {
      const nodes = [node('idle'), node('half', { usedCpus: 2 }), node('full', { usedCpus: 4 })];
      assert.deepEqual(names(binpack.rank(request({ cpus: 1 }), nodes)), ['half', 'idle']);
    });

    it('breaks ties by more containers', () => {
      const nodes = [node('none'), node('two', { containers: [container(), container()] }), node('one', { containers: [container()] })];
      assert.deepEqual(names(binpack.rank(request(), nodes)), ['two', 'one', 'none']);
    });

    it('prefers healthier nodes (+10 health factor)', () => {
      const nodes = [node('sick', { healthIndicator: 50, usedCpus: 3 }), node('healthy', { healthIndicator: 100 })];
      assert.deepEqual(names(binpack.rank(request({ cpus: 1 }), nodes)), ['healthy', 'sick']);
    });

    it('fills one node before the next when placing repeatedly', () => {
      const nodes = [node('a', { totalCpus: 2 }), node('b', { totalCpus: 2 })];
      const placed: string[] = [];
      for (let i = 0; i < 4; i++) {
        const [chosen] = binpack.rank(request({ cpus: 1 }), nodes);
        chosen.usedCpus += 1;
        chosen.containers.push(container());
        placed.push(chosen.name);
      }
      assert.deepEqual(placed, ['a', 'a', 'b', 'b']);
      assert.throws(() => binpack.rank(request({ cpus: 1 }), nodes), UnsatisfiableError);
    });
  });

  describe('random', () => {
    it('returns a permutation and never checks resources', () => {
      const nodes = [node('a', { usedCpus: 100 }), node('b'), node('c')];
      const ranked = new RandomStrategy(seededRandom(1)).rank(request({ cpus: 64 }), nodes);
      assert.deepEqual([...names(ranked)].sort(), ['a', 'b', 'c']);
    });

    it('puts every node first about equally often (Fisher-Yates is uniform)', () => {
      const random = new RandomStrategy(seededRandom(42));
      const nodes = [node('a'), node('b'), node('c'), node('d')];
      const firsts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
      const runs = 8000;
      for (let i = 0; i < runs; i++) firsts[random.rank(request(), nodes)[0].name] += 1;
      for (const count of Object.values(firsts)) assert.ok(Math.abs(count - runs / 4) < runs * 0.03, JSON.stringify(firsts));
      assert.deepEqual(names(nodes), ['a', 'b', 'c', 'd'], 'input order untouched');
    });
  });
});
