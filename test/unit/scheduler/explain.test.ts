import assert from 'node:assert/strict';
import { createFilters, DEFAULT_FILTERS } from '../../../filters/index';
import { describeRanking, PlacementRefused, Scheduler } from '../../../lib/scheduler/scheduler';
import { SpreadStrategy } from '../../../strategies/spread';
import { container, names, node, request } from './fixtures';

describe('scheduler explanations', function () {
  const scheduler = () => new Scheduler(createFilters(DEFAULT_FILTERS), new SpreadStrategy());
  const nodes = () => [
    node('node-1', { labels: { zone: 'a' } }),
    node('node-2', { labels: { zone: 'b' }, containers: [container()] }),
    node('node-3', { labels: { zone: 'a' }, healthIndicator: 0 }),
  ];

  it('records what every filter removed, and the soft expressions dropped', function () {
    const placement = scheduler().place(request({ constraints: ['zone==a', 'zone==~nowhere'] }), nodes());
    assert.deepEqual(names(placement.ranked()), ['node-1']);
    const removed = Object.fromEntries(placement.steps.map((s) => [s.filter, s.removed]));
    assert.deepEqual(removed.health, ['node-3']);
    assert.deepEqual(removed.constraint, ['node-2']);
    assert.deepEqual(placement.droppedSoft, ['constraint:zone==~nowhere']);
  });

  it('a refusal names the filter, keeps classic\'s conditions and adds who removed which nodes', function () {
    assert.throws(() => scheduler().place(request({ constraints: ['zone==c'] }), nodes()), (err: unknown) => {
      assert.ok(err instanceof PlacementRefused);
      assert.equal(err.filter, 'constraint');
      assert.equal(err.status, 500);
      assert.equal(err.message, 'Unable to find a node that satisfies the following conditions \n[available container slots]\n[zone==c]' +
        '\nhealth filter removed 1 of 3 nodes: node-3\nconstraint filter removed 2 of 2 nodes: node-1, node-2');
      return true;
    });
  });

  it('lists at most 10 names per filter', function () {
    const many = Array.from({ length: 25 }, (_, i) => node(`n-${i}`, { labels: { zone: 'a' } }));
    assert.throws(() => scheduler().place(request({ constraints: ['zone==b'] }), many), /constraint filter removed 25 of 25 nodes: n-0, n-1, n-2, n-3, n-4, n-5, n-6, n-7, n-8, n-9 and 15 more$/);
  });

  it('a request nobody can hold is refused by "resources"', function () {
    assert.throws(() => scheduler().place(request({ memory: 1024 ** 5 }), nodes()), (err: unknown) => {
      assert.ok(err instanceof PlacementRefused);
      assert.equal(err.filter, 'resources');
      assert.match(err.message, /^no resources available to schedule container\n/);
      assert.match(err.message, /resources filter removed 2 of 2 nodes: node-1, node-2$/);
      return true;
    });
  });

  it('describes why the winner won: strategy and the leading candidates\' load', function () {
    const ranked = scheduler().selectNodes(request(), nodes());
    assert.match(describeRanking('spread', ranked), /^spread chose node-1 \(0 containers, 0\/\d+ CPUs, [\d.]+ GiB\/[\d.]+ GiB reserved, health 100\) among 2 candidates; next: node-2 \(1 containers/);
  });
});
