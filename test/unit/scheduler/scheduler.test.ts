import assert from 'node:assert/strict';
import { createFilters, DEFAULT_FILTERS } from '../../../filters/index';
import { SchedulerError, UnsatisfiableError } from '../../../lib/scheduler/filter';
import { Scheduler } from '../../../lib/scheduler/scheduler';
import { hasHardNodeConstraint } from '../../../lib/scheduler/request-expressions';
import { SpreadStrategy } from '../../../strategies/spread';
import { BinpackStrategy } from '../../../strategies/binpack';
import { container, names, node, request } from './fixtures';

function scheduler(): Scheduler {
  return new Scheduler(createFilters(DEFAULT_FILTERS), new SpreadStrategy());
}

function assertSchedulerError(fn: () => unknown, status: number, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SchedulerError, String(err));
    assert.equal(err.status, status);
    assert.equal(err.message, message);
    return true;
  });
}

describe('scheduler', () => {
  const nodes = () => [
    node('node-1', { labels: { storage: 'ssd', zone: 'a' } }),
    node('node-2', { labels: { storage: 'disk', zone: 'b' }, containers: [container({ id: 'r'.repeat(64), names: ['redis'] })] }),
    node('node-3', { labels: { storage: 'disk', zone: 'c' }, containers: [container(), container()] }),
  ];

  it('ranks the nodes that pass every filter', () => {
    assert.deepEqual(names(scheduler().selectNodes(request({ constraints: ['storage==disk'] }), nodes())), ['node-2', 'node-3']);
  });

  it('builds classic\'s "Unable to find a node" error from the filters up to the failing one', () => {
    const r = request({ constraints: ['storage==tape'], portBindings: { '80/tcp': [{ HostPort: '80' }] }, affinities: ['zone!=x'] });
    assertSchedulerError(() => scheduler().selectNodes(r, nodes()), 500,
      'Unable to find a node that satisfies the following conditions \n[port 80 (Bridge mode)]\n[available container slots]\n[zone!=x (soft=false)]\n[storage==tape]' +
      '\nconstraint filter removed 3 of 3 nodes: node-1, node-2, node-3');
  });

  it('reports the health filter verbatim with 503', () => {
    assertSchedulerError(() => scheduler().selectNodes(request(), [node('a', { healthIndicator: 0 })]), 503, 'No healthy node available in the cluster');
  });

  it('answers 503 "No nodes available in the cluster" without nodes', () => {
    assertSchedulerError(() => new Scheduler(createFilters(['constraint']), new SpreadStrategy()).selectNodes(request(), []), 503, 'No nodes available in the cluster');
  });

  it('reports a malformed expression as 400 before looking at nodes', () => {
    assertSchedulerError(() => scheduler().selectNodes(request({ constraints: ['storage=ssd'] }), [node('a', { healthIndicator: 0 })]), 400,
      "invalid constraint expression 'storage=ssd': one of operator ==, != is expected");
  });

  it('refuses more than 100 expressions of one kind with 400 (100 are fine)', () => {
    const constraints = Array.from({ length: 101 }, (_, i) => `label${i}==x`);
    assertSchedulerError(() => scheduler().selectNodes(request({ constraints }), nodes()), 400, 'too many constraint expressions: 101 (at most 100)');
    assert.equal(scheduler().selectNodes(request({ constraints: constraints.slice(0, 100).map((c) => c.replace('==', '!=')) }), nodes()).length, 3);
  });

  it('answers "no resources available to schedule container" when nothing is big enough', () => {
    assertSchedulerError(() => scheduler().selectNodes(request({ memory: 1024 ** 4 }), nodes()), 500,
      'no resources available to schedule container\nresources filter removed 3 of 3 nodes: node-1, node-2, node-3');
  });

  describe('soft expressions', () => {
    it('are honoured when they can be', () => {
      assert.deepEqual(names(scheduler().selectNodes(request({ constraints: ['zone==~c'] }), nodes())), ['node-3']);
    });

    it('are dropped when they cannot be met, without failing', () => {
      assert.deepEqual(names(scheduler().selectNodes(request({ constraints: ['zone==~nowhere'] }), nodes())), ['node-1', 'node-2', 'node-3']);
    });

    it('are dropped one at a time: a satisfiable soft expression survives an unsatisfiable one', () => {
      // Classic dropped both soft expressions and spread would pick node-1.
      const r = request({ affinities: ['container==~redis'], constraints: ['zone==~nowhere'] });
      assert.deepEqual(names(scheduler().selectNodes(r, nodes())), ['node-2']);
      const r2 = request({ constraints: ['zone==~nowhere', 'storage==~disk'] });
      assert.deepEqual(names(scheduler().selectNodes(r2, nodes())), ['node-2', 'node-3']);
    });

    it('earlier soft expressions win over later ones when they conflict', () => {
      const r = request({ constraints: ['zone==~a', 'zone==~b'] });
      assert.deepEqual(names(scheduler().selectNodes(r, nodes())), ['node-1']);
      const swapped = request({ constraints: ['zone==~b', 'zone==~a'] });
      assert.deepEqual(names(scheduler().selectNodes(swapped, nodes())), ['node-2']);
      // Affinities come before constraints.
      const mixed = request({ constraints: ['zone==~a'], affinities: ['container==~redis'] });
      assert.deepEqual(names(scheduler().selectNodes(mixed, nodes())), ['node-2']);
    });

    it('never rescue a request whose hard expressions fail; the error lists the hard ones', () => {
      const r = request({ constraints: ['storage==tape', 'zone==~a'] });
      assertSchedulerError(() => scheduler().selectNodes(r, nodes()), 500,
        'Unable to find a node that satisfies the following conditions \n[available container slots]\n[storage==tape]\nconstraint filter removed 3 of 3 nodes: node-1, node-2, node-3');
    });

    it('are dropped when they pin the request to a node without resources', () => {
      const full = [node('full', { labels: { zone: 'a' }, usedCpus: 4 }), node('free', { labels: { zone: 'b' } })];
      const r = request({ cpus: 1, constraints: ['zone==~a'] });
      assert.deepEqual(names(new Scheduler(createFilters(DEFAULT_FILTERS), new BinpackStrategy()).selectNodes(r, full)), ['free']);
    });

    it('does not modify the caller\'s request', () => {
      const r = request({ constraints: ['zone==~nowhere', 'storage==disk'] });
      scheduler().selectNodes(r, nodes());
      assert.deepEqual(r.constraints, ['zone==~nowhere', 'storage==disk']);
    });
  });

  it('UnsatisfiableError is a SchedulerError with status 500', () => {
    const err = new UnsatisfiableError('x');
    assert.ok(err instanceof SchedulerError);
    assert.equal(err.status, 500);
  });

  it('hasHardNodeConstraint: a hard node== constraint only', () => {
    assert.equal(hasHardNodeConstraint(request({ constraints: ['node==node-1'] })), true);
    assert.equal(hasHardNodeConstraint(request({ constraints: ['node==~node-1', 'node!=node-2', 'zone==a'] })), false);
  });
});
