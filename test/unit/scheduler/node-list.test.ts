import assert from 'node:assert/strict';
import { countFacts, listFacts, replaceInFacts, withFacts } from '../../../lib/scheduler/node-list';
import type { SchedulerNode } from '../../../lib/scheduler/node';
import { HealthFilter } from '../../../filters/health';
import { ContainerSlotsFilter } from '../../../filters/containerslots';
import { container, node, request, seededRandom } from './fixtures';

const LABEL_SETS: Record<string, string>[] = [{}, { zone: 'a' }, { zone: 'b', containerslots: '1' }, { containerslots: '3', disk: 'ssd' }];

function randomNode(random: () => number, i: number): SchedulerNode {
  return node(`n${i}`, {
    healthIndicator: random() < 0.3 ? 0 : 100,
    labels: LABEL_SETS[Math.floor(random() * LABEL_SETS.length)],
    containers: Array.from({ length: Math.floor(random() * 3) }, () => container()),
  });
}

describe('node-list facts', () => {
  it('kept node by node (replaceInFacts) they equal the facts counted afresh', () => {
    const random = seededRandom(7);
    let list = Array.from({ length: 20 }, (_, i) => randomNode(random, i));
    let facts = countFacts(list);
    for (let step = 0; step < 2000; step++) {
      const i = Math.floor(random() * list.length);
      // Half the replacements keep the labels object, as a re-snapshot of the same engine does.
      const after = random() < 0.5 ? { ...randomNode(random, i), labels: list[i].labels } : randomNode(random, i);
      facts = replaceInFacts(facts, list[i], after);
      list = list.map((n, k) => (k === i ? after : n));
      assert.deepEqual(facts, countFacts(list), `after step ${step}`);
    }
  });

  it('lets the health and containerslots filters keep a list untouched only when the facts say so', () => {
    const healthy = [node('a'), node('b', { labels: { zone: 'a' } })];
    const attached = withFacts([...healthy], countFacts(healthy));
    assert.equal(listFacts(attached)?.unhealthy, 0);
    assert.equal(new HealthFilter().filter(request(), attached), attached);
    assert.equal(new ContainerSlotsFilter().filter(request(), attached), attached);
    const full = [node('a', { labels: { containerslots: '1' }, containers: [container()] }), node('b', { healthIndicator: 0 })];
    const withFull = withFacts([...full], countFacts(full));
    assert.deepEqual(new ContainerSlotsFilter().filter(request(), withFull).map((n) => n.name), ['b']);
    assert.deepEqual(new HealthFilter().filter(request(), withFull).map((n) => n.name), ['a']);
  });
});
