/**
 * Scheduler benchmark: places 30,000 containers on 1,000 in-memory nodes (each placed container
 * is added to its node, so later decisions see a filling cluster) with a mix of constraints
 * (literal, glob, regex, node.*), affinities (container, image, soft) and published ports, and
 * prints p50/p99 time per decision (Scheduler.selectNodes: filters, soft dropping, ranking) and
 * decisions per second. The baseline is the same placements, in the same run, with no
 * expressions at all. A few placements are refused on purpose (e.g. an affinity to a container
 * that does not exist yet).
 *
 *   npm run bench:scheduler              (or: node dist/bench/scheduler.js [nodes] [containers] [strategy])
 */
import { createFilters, DEFAULT_FILTERS } from '../filters';
import { buildPlacementRequest, type CreateBody } from '../lib/scheduler/build-request';
import type { SchedulerNode } from '../lib/scheduler/node';
import { Scheduler } from '../lib/scheduler/scheduler';
import { createStrategy } from '../strategies';
import { seededRandom } from '../testbed/seeded-random';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;


function makeCluster(count: number): SchedulerNode[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `node-${String(i).padStart(4, '0')}`;
    return {
      id: `${'ABCD:'.repeat(11)}${i}|10.${i >> 8}.${i & 255}.1:2375`, name, addr: `10.${i >> 8}.${i & 255}.1:2375`, ip: `10.${i >> 8}.${i & 255}.1`,
      labels: {
        zone: `z${i % 10}`, disk: i % 3 === 0 ? 'ssd' : 'hdd', rack: `rack-${i % 40}`,
        storagedriver: 'overlay2', kernelversion: '6.8.0', operatingsystem: 'Ubuntu 24.04 LTS', ostype: 'linux',
      },
      totalCpus: 64 * 1.05, totalMemory: Math.floor(256 * GiB * 1.05), usedCpus: 0, usedMemory: 0, healthIndicator: 100,
      containers: [],
      images: [0, 1, 2].map((k) => {
        const app = (i + k * 7) % 20;
        return { id: `sha256:${String(app).padStart(64, '0')}`, repoTags: [`app-${app}:1.0`], repoDigests: [] };
      }),
    };
  });
}

interface Placement {
  body: CreateBody;
  /** The expression mix of this placement, for the per-kind breakdown. */
  kind: string;
}

/** The create bodies of the run: a fixed mix of placement expressions. */
function makeBodies(count: number, random: () => number): Placement[] {
  const bodies: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const env: string[] = ['APP=1'];
    const hostConfig: NonNullable<CreateBody['HostConfig']> = { CpuShares: 0, NanoCpus: 2.5e8, Memory: 256 * MiB };
    const earlier = i > 0 ? `svc-${Math.floor(random() * i)}` : 'svc-0';
    const roll = Math.floor(random() * 100);
    let kind: string;
    if (roll < 35) kind = 'none';
    else if (roll < 50) (kind = 'constraint literal'), env.push(`constraint:zone==z${i % 10}`);
    else if (roll < 58) (kind = 'constraint ==, != glob'), env.push('constraint:disk==ssd', 'constraint:node!=node-000*');
    else if (roll < 66) (kind = 'constraint glob'), env.push(`constraint:rack==rack-${i % 4}*`);
    else if (roll < 74) (kind = 'constraint regex (?i)'), env.push('constraint:node==/(?i)NODE-0[0-4][0-9]{2}/');
    else if (roll < 78) (kind = 'constraint node.labels'), env.push(`constraint:node.labels.zone==/z[${i % 10}${(i + 1) % 10}]/`);
    else if (roll < 88) (kind = 'affinity container'), env.push(`affinity:container==${earlier}`);
    else if (roll < 93) (kind = 'affinity image'), env.push(`affinity:image==app-${i % 20}`);
    else if (roll < 97) (kind = 'soft, one dropped'), env.push(`affinity:container==~${earlier}`, 'constraint:zone==~z-none');
    else (kind = 'port'), (hostConfig.PortBindings = { '80/tcp': [{ HostPort: String(8000 + (i % 50)) }] });
    bodies.push({ kind, body: { Image: 'busybox', Env: env, HostConfig: hostConfig } });
  }
  return bodies;
}

function withoutExpressions({ body }: Placement): Placement {
  return { kind: 'none', body: { ...body, Env: ['APP=1'], HostConfig: { ...body.HostConfig, PortBindings: undefined } } };
}

interface RunResult {
  times: Float64Array;
  totalMs: number;
  failures: number;
}

function run(bodies: Placement[], nodeCount: number, strategy: string): RunResult {
  const nodes = makeCluster(nodeCount);
  const scheduler = new Scheduler(createFilters(DEFAULT_FILTERS), createStrategy(strategy));
  const times = new Float64Array(bodies.length);
  let failures = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < bodies.length; i++) {
    const name = `svc-${i}`;
    const { request } = buildPlacementRequest(bodies[i].body, name);
    const t0 = process.hrtime.bigint();
    let chosen: SchedulerNode | undefined;
    try {
      chosen = scheduler.place(request, nodes).best;
    } catch {
      failures += 1;
    }
    times[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!chosen) continue;
    // Snapshots are immutable (node-index.ts caches by containers array): replace, never push.
    chosen.containers = [...chosen.containers, {
      id: (i.toString(16) + 'f'.repeat(64)).slice(0, 64), names: [name], image: request.image, labels: request.labels,
      state: 'running', cpus: request.cpus, memory: request.memory, networkMode: request.networkMode,
      portBindings: request.portBindings, exposedPorts: request.exposedPorts,
    }];
    chosen.usedCpus += request.cpus;
    chosen.usedMemory += request.memory;
  }
  return { times, totalMs: Number(process.hrtime.bigint() - started) / 1e6, failures };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(label: string, result: RunResult): { p50: number; p99: number; rate: number } {
  const sorted = Float64Array.from(result.times).sort();
  const decisionMs = result.times.reduce((a, b) => a + b, 0);
  const stats = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), rate: (result.times.length / decisionMs) * 1000 };
  console.log(
    `${label.padEnd(22)} p50 ${stats.p50.toFixed(3)} ms  p99 ${stats.p99.toFixed(3)} ms  max ${sorted[sorted.length - 1].toFixed(3)} ms  ` +
      `${Math.round(stats.rate)} decisions/s  (${result.failures} refused, wall ${(result.totalMs / 1000).toFixed(2)} s)`,
  );
  return stats;
}

function main(): void {
  const nodeCount = Number(process.argv[2] ?? 1000);
  const containerCount = Number(process.argv[3] ?? 30000);
  const strategy = process.argv[4] ?? 'spread';
  const bodies = makeBodies(containerCount, seededRandom(2024));
  const baselineBodies = bodies.map(withoutExpressions);

  console.log(`scheduler benchmark: ${containerCount} placements on ${nodeCount} nodes, strategy ${strategy}, filters ${DEFAULT_FILTERS.join(',')}`);
  run(makeBodies(2000, seededRandom(7)), nodeCount, strategy); // warm-up (JIT)
  const baseline = summarize('baseline (no expr.)', run(baselineBodies, nodeCount, strategy));
  const mixedResult = run(bodies, nodeCount, strategy);
  const mixed = summarize('mixed expressions', mixedResult);
  console.log(`ratio mixed/baseline: p50 ${(mixed.p50 / baseline.p50).toFixed(2)}x  p99 ${(mixed.p99 / baseline.p99).toFixed(2)}x  throughput ${(mixed.rate / baseline.rate).toFixed(2)}x`);
  console.log('by kind (mixed run):');
  const kinds = [...new Set(bodies.map((b) => b.kind))];
  for (const kind of kinds) {
    const times = Float64Array.from(mixedResult.times.filter((_, i) => bodies[i].kind === kind)).sort();
    console.log(`  ${kind.padEnd(24)} n=${String(times.length).padStart(5)}  p50 ${percentile(times, 50).toFixed(3)} ms  p99 ${percentile(times, 99).toFixed(3)} ms`);
  }
  console.log(`target p99 < 2 ms at 1,000 nodes: ${mixed.p99 < 2 ? 'met' : 'NOT met'} (${mixed.p99.toFixed(3)} ms)`);
}

main();
