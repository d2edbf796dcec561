/**
 * Property test over random clusters and requests (seeded, so failures reproduce): the chosen
 * node satisfies every hard expression, a request fails only when no node could take it, and
 * spread/binpack choose the node their formula ranks first. The oracle below re-implements each
 * expression's meaning directly (string comparisons), independently of the parser.
 */
import assert from 'node:assert/strict';
import { createFilters, DEFAULT_FILTERS } from '../../../filters/index';
import { SchedulerError } from '../../../lib/scheduler/filter';
import type { SchedulerNode } from '../../../lib/scheduler/node';
import type { PlacementRequest } from '../../../lib/scheduler/request';
import { Scheduler } from '../../../lib/scheduler/scheduler';
import { countFacts, NodeColumns, withFacts } from '../../../lib/scheduler/node-list';
import { BinpackStrategy } from '../../../strategies/binpack';
import { SpreadStrategy } from '../../../strategies/spread';
import { container, node, request, seededRandom } from './fixtures';

type Random = () => number;

interface Rule {
  kind: 'constraint' | 'affinity';
  text: string;
  /** The oracle: does `n` satisfy the expression? */
  holds: (n: SchedulerNode) => boolean;
}

const ZONES = ['z1', 'z2', 'z3', 'z4'];
const GiB = 1024 ** 3;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

function randomCluster(random: Random): SchedulerNode[] {
  const count = 2 + int(random, 10);
  return Array.from({ length: count }, (_, i) => {
    const totalCpus = 1 + int(random, 8);
    const totalMemory = (1 + int(random, 8)) * GiB;
    const containers = Array.from({ length: int(random, 4) }, (_, k) => container({ id: `${i}${k}`.padEnd(64, '0'), names: [`c${int(random, 12)}`] }));
    return node(`n${i}`, {
      id: `ID${i}|10.0.0.${i}:2375`,
      labels: { zone: pick(random, ZONES), disk: pick(random, ['ssd', 'hdd']), ...(random() < 0.2 ? { containerslots: String(int(random, 4)) } : {}) },
      totalCpus, totalMemory,
      usedCpus: int(random, totalCpus + 1), usedMemory: int(random, totalMemory / GiB + 1) * GiB,
      healthIndicator: random() < 0.1 ? 0 : pick(random, [100, 100, 100, 66, 33]),
      containers,
    });
  });
}

/** Expression families whose meaning the oracle spells out independently. */
function randomRule(random: Random, soft: boolean): Rule {
  const s = soft ? '~' : '';
  const zone = pick(random, ZONES);
  const k = int(random, 6);
  const c = `c${int(random, 12)}`;
  const rules: Rule[] = [
    { kind: 'constraint', text: `zone==${s}${zone}`, holds: (n) => n.labels.zone === zone },
    { kind: 'constraint', text: `zone!=${s}${zone}`, holds: (n) => n.labels.zone !== zone },
    { kind: 'constraint', text: `zone==${s}z[12]`, holds: (n) => n.labels.zone === 'z1' || n.labels.zone === 'z2' },
    { kind: 'constraint', text: `disk==${s}/(?i)SSD/`, holds: (n) => n.labels.disk === 'ssd' },
    { kind: 'constraint', text: `node==${s}n${k}`, holds: (n) => n.name === `n${k}` },
    { kind: 'constraint', text: `node!=${s}/n[0-3]/`, holds: (n) => !['n0', 'n1', 'n2', 'n3'].includes(n.name) },
    { kind: 'constraint', text: `node.labels.disk!=${s}hdd`, holds: (n) => n.labels.disk !== 'hdd' },
    { kind: 'affinity', text: `container==${s}${c}`, holds: (n) => n.containers.some((x) => x.names[0] === c) },
    { kind: 'affinity', text: `container!=${s}${c}`, holds: (n) => !n.containers.some((x) => x.names[0] === c) },
  ];
  return pick(random, rules);
}

function randomRequest(random: Random, withSoft: boolean): { request: PlacementRequest; hard: Rule[]; soft: Rule[] } {
  const hard = Array.from({ length: int(random, 3) }, () => randomRule(random, false));
  const generated = withSoft ? Array.from({ length: 1 + int(random, 2) }, () => randomRule(random, true)) : [];
  // The scheduler's soft priority: affinities first, then constraints, each in the order written.
  const soft = [...generated.filter((r) => r.kind === 'affinity'), ...generated.filter((r) => r.kind === 'constraint')];
  const all = [...hard, ...soft];
  return {
    request: request({
      cpus: pick(random, [0, 0, 1, 2, 0.5]),
      memory: pick(random, [0, 0, GiB, 2 * GiB]),
      constraints: all.filter((r) => r.kind === 'constraint').map((r) => r.text),
      affinities: all.filter((r) => r.kind === 'affinity').map((r) => r.text),
    }),
    hard,
    soft,
  };
}

function fitsOracle(r: PlacementRequest, n: SchedulerNode): boolean {
  const slots = n.labels.containerslots;
  if (slots !== undefined && n.containers.length >= Number(slots)) return false;
  return (r.cpus === 0 || n.usedCpus + r.cpus <= n.totalCpus + 1e-9) && (r.memory === 0 || n.usedMemory + r.memory <= n.totalMemory);
}

/** Classic's weight, spelled out: integer percentages, 100 for an unreserved resource. */
function weightOracle(r: PlacementRequest, n: SchedulerNode, healthFactor: number): number {
  const cpu = r.cpus > 0 ? Math.floor(((n.usedCpus + r.cpus) * 100) / n.totalCpus + 1e-9) : 100;
  const mem = r.memory > 0 ? Math.floor(((n.usedMemory + r.memory) * 100) / n.totalMemory) : 100;
  return cpu + mem + healthFactor * n.healthIndicator;
}

const STRATEGIES = [
  { strategy: new SpreadStrategy(), healthFactor: -10, sign: 1 },
  { strategy: new BinpackStrategy(), healthFactor: 10, sign: -1 },
];

describe('scheduler properties (seeded random clusters and requests)', () => {
  for (const { strategy, healthFactor, sign } of STRATEGIES) {
    it(`${strategy.name}: the chosen node satisfies every hard expression and is ranked first by the formula`, () => {
      const random = seededRandom(strategy.name === 'spread' ? 1234 : 5678);
      const scheduler = new Scheduler(createFilters(DEFAULT_FILTERS), strategy);
      let placed = 0;
      let refused = 0;
      for (let run = 0; run < 3000; run++) {
        const nodes = randomCluster(random);
        const { request: r, hard } = randomRequest(random, false);
        const feasible = nodes.filter((n) => n.healthIndicator > 0 && hard.every((rule) => rule.holds(n)) && fitsOracle(r, n));
        let ranked: SchedulerNode[];
        try {
          ranked = scheduler.selectNodes(r, nodes);
          assert.equal(scheduler.place(r, nodes).best, ranked[0], 'best is the first of the ranking');
          // The same list with its facts and columns (as the cluster builds it) ranks the same.
          const kept = withFacts([...nodes], countFacts(nodes));
          new NodeColumns().reset(kept);
          assert.deepEqual(scheduler.selectNodes(r, kept), ranked);
          assert.equal(scheduler.place(r, kept).best, ranked[0]);
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          assert.ok(err instanceof SchedulerError, String(err));
          assert.equal(feasible.length, 0, `refused (${err.message}) although ${feasible.map((n) => n.name)} fit ${JSON.stringify(r)}`);
          refused += 1;
          continue;
        }
        placed += 1;
        const chosen = ranked[0];
        for (const rule of hard) assert.ok(rule.holds(chosen), `${chosen.name} violates ${rule.text}`);
        assert.ok(fitsOracle(r, chosen), `${chosen.name} cannot hold the request`);
        assert.deepEqual(new Set(ranked), new Set(feasible), 'ranks exactly the feasible nodes');
        const key = (n: SchedulerNode) => [sign * weightOracle(r, n, healthFactor), sign * n.containers.length];
        const best = feasible.map(key).sort((a, b) => a[0] - b[0] || a[1] - b[1])[0];
        assert.deepEqual(key(chosen), best, `${strategy.name} chose ${chosen.name}`);
        // The whole ranking (what create retries walk): by the formula, full ties in cluster order.
        const expected = [...feasible].sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
        assert.deepEqual(ranked.map((n) => n.name), expected.map((n) => n.name));
      }
      // The generator must exercise both outcomes, or the property proves little.
      assert.ok(placed > 500 && refused > 100, `placed ${placed}, refused ${refused}`);
    });
  }

  it('soft expressions never make a feasible request fail, hard ones always hold, the first soft one wins when it can', () => {
    const random = seededRandom(99);
    const scheduler = new Scheduler(createFilters(DEFAULT_FILTERS), new SpreadStrategy());
    let softDropped = 0;
    for (let run = 0; run < 3000; run++) {
      const nodes = randomCluster(random);
      const { request: r, hard, soft } = randomRequest(random, true);
      const feasible = nodes.filter((n) => n.healthIndicator > 0 && hard.every((rule) => rule.holds(n)) && fitsOracle(r, n));
      if (feasible.length === 0) {
        assert.throws(() => scheduler.selectNodes(r, nodes), SchedulerError);
        continue;
      }
      const placement = scheduler.place(r, nodes);
      const chosen = placement.best;
      assert.equal(chosen, placement.ranked()[0], 'best is the first of the ranking');
      for (const rule of hard) assert.ok(rule.holds(chosen), `${chosen.name} violates ${rule.text}`);
      assert.ok(feasible.includes(chosen), `${chosen.name} is not feasible`);
      if (feasible.some((n) => soft[0].holds(n))) assert.ok(soft[0].holds(chosen), `${chosen.name} ignores ${soft[0].text}`);
      if (!feasible.some((n) => soft.every((rule) => rule.holds(n)))) softDropped += 1;
    }
    assert.ok(softDropped > 100, `only ${softDropped} runs needed a soft expression dropped`);
  });
});
