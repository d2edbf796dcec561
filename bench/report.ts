/**
 * The readable report: per-manager tables for the scale and overhead runs, the targets with
 * ✓/✗, and (with two managers) the key figures side by side with their ratio.
 */
import type { OverheadResult } from './overhead';
import type { ScaleResult } from './scale';
import { percentile, type Summary } from './lib/stats';

export interface ManagerResults {
  label: string;
  command: string;
  /** The last scale run (the one with the clients and storm phases). */
  scale?: ScaleResult;
  /** All scale runs, in order (--runs). */
  scaleRuns?: ScaleResult[];
  overhead?: OverheadResult;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  machine: { cpus: number; memGiB: number; node: string; kernel: string };
  options: Record<string, unknown>;
  managers: ManagerResults[];
  /** Wall time of the overhead part (undefined when it did not run). */
  overheadSec?: number;
  targets: TargetCheck[];
}

export interface TargetCheck {
  manager: string;
  target: string;
  measured: string;
  met: boolean | null;
}

/** A Markdown table; the first `textColumns` columns are left-aligned, the rest (figures) right-aligned. */
export function table(header: string[], rows: string[][], textColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number): boolean => i < textColumns;
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (left(i) ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const triple = (s: Summary): string => `${fmt(s.p50)} / ${fmt(s.p90)} / ${fmt(s.p99)}`;

function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function scaleTable(result: ScaleResult): string {
  const rows = result.checkpoints.map((c) => [
    `${c.percent}%`, String(c.containers), String(c.listed), triple(c.createStart), String(c.fillRate), triple(c.single), `${fmt(c.singleEngine.p50)} / ${fmt(c.singleEngine.p99)}`, `${triple(c.singleOwn)} (${fmt(c.singleOwnNominal.p99)})`,
    triple(c.ps), fmt(c.psMB), triple(c.info), c.metrics ? `${triple(c.metrics)} (${c.metricsKB} KB; CPU ${fmt(c.metricsCpuMs)} ms vs info ${fmt(c.infoCpuMs)} ms)` : '–',
    c.page ? `${triple(c.page)} (${c.pageKB} KB; CPU ${fmt(c.pageCpuMs)} ms)` : '–', fmt(c.rssMB), fmt(c.cpuSec), String(c.fds ?? '–'),
  ]);
  const head =
    `Scale: ${result.engines} simulated engines (${result.latencyMs} ms per engine call), fill to ${result.containers} containers, ` +
    `concurrency ${result.concurrency}, ${result.discovery}\n` +
    `manager "${result.manager}": all ${result.engines} engines Healthy ${fmt(result.healthyMs / 1000)} s after start; ` +
    `idle RSS ${fmt(result.idle.rssMB)} MB; fill ${fmt(result.fillRate)} containers/s overall; manager RSS max ${fmt(result.rssMBMax)} MB; ` +
    `simulator host at the end: RSS ${fmt(result.sim.rssMB)} MB, CPU ${fmt(result.sim.cpuSec)} s; ` +
    `open files after the fill: manager ${result.checkpoints[result.checkpoints.length - 1]?.fds ?? '–'} of ${result.fdLimit}, busiest simulator process ${result.simFdsMax}` +
    (result.phaseErrors.length ? `\nPHASE FAILURES: ${result.phaseErrors.join('; ')}` : '') +
    (result.errors.count ? `; ${result.errors.count} failed create+start (e.g. ${result.errors.examples[0]})` : '') +
    (result.aborted ? `\nABORTED: ${result.aborted}` : '');
  return (
    head + '\n' +
    table(
      ['fill', 'containers', 'ps lists', `create+start under fill (x${result.concurrency}) ms p50/p90/p99`, 'ctr/s', `create+start alone (n=${result.checkpoints[0]?.single.n ?? 0}) ms p50/p90/p99`, "engine's time ms p50/p99", 'own share ms p50/p90/p99 (nominal p99)', 'ps -a ms p50/p90/p99', 'ps MB', 'info ms p50/p90/p99', '/metrics ms p50/p90/p99', 'page view ms p50/p90/p99', 'RSS MB', 'CPU s', 'fds'],
      rows,
    )
  );
}

/** Wall time per step of one scale run. */
export function phasesTable(result: ScaleResult): string {
  const total = result.phases.reduce((a, p) => a + p.seconds, 0);
  return table(['phase', 's'], [...result.phases.map((p) => [p.phase, fmt(p.seconds)]), ['total', fmt(total)]]);
}

/** The concurrent-clients and event-storm phases of one run. */
export function phaseResultsTable(result: ScaleResult): string {
  const parts: string[] = [];
  const c = result.clients;
  if (c) {
    parts.push(
      `Concurrent clients at ${result.checkpoints[result.checkpoints.length - 1]?.containers ?? 0} containers: ${c.clients} clients alternating ps -a / info for ${fmt(c.seconds)} s, ` +
        `/_ping probe on its own connection` + (c.aborted ? ` (${c.aborted})` : '') + (c.errors ? `; ${c.errors} errors (e.g. ${c.errorExamples[0]})` : '') + '\n' +
        table(
          ['figure', 'value'],
          [
            ['/_ping ms p50/p90/p99 (max)', `${triple(c.ping)} (${fmt(c.ping.max)}), n=${c.ping.n}`],
            ['ps -a ms p50/p90/p99 (max)', `${triple(c.ps)} (${fmt(c.ps.max)}), n=${c.ps.n}`],
            ['info ms p50/p90/p99 (max)', `${triple(c.info)} (${fmt(c.info.max)}), n=${c.info.n}`],
            ['throughput ps -a/s, info/s, ps MB/s', `${fmt(c.psPerSec)}, ${fmt(c.infoPerSec)}, ${fmt(c.psMBPerSec)}`],
            ['manager event-loop delay ms p50/p99/max', c.loopLag ? `${fmt(c.loopLag.p50)} / ${fmt(c.loopLag.p99)} / ${fmt(c.loopLag.max)}` : 'not exposed'],
            ['manager CPU % mean/max, RSS MB max/end', `${c.manager.cpuPctMean} / ${c.manager.cpuPctMax}, ${fmt(c.manager.rssMBMax)} / ${fmt(c.manager.rssMBEnd)}`],
            ['probe thread loop delay ms p99/max', `${fmt(c.probeLoopLag.p99)} / ${fmt(c.probeLoopLag.max)}`],
          ],
        ),
    );
  }
  const st = result.storm;
  if (st) {
    parts.push(
      `Event storm: ${st.engines} engines x ${st.rate} events/s for ${st.seconds} s (pause/unpause), ${st.received.length} /events subscribers` +
        (st.errors.length ? `; ${st.errors.join('; ')}` : '') + '\n' +
        table(
          ['figure', 'value'],
          [
            ['events emitted (simulator)', `${st.emitted} (${st.simLateTicks}/${st.simTicks} simulator ticks late)`],
            ['received per /events subscriber', `${st.received.join(', ')} (lost: ${st.lost})`],
            ['event-to-ps lag ms p50/p90/p99 (max)', `${triple(st.lag)} (${fmt(st.lag.max)}), n=${st.sampled}, ${st.timeouts} not shown within the hold time, ${st.pollErrors} poll errors` + (st.pollErrorExamples?.length ? ` (e.g. ${st.pollErrorExamples[0]})` : '')],
            ['manager CPU % mean/max, RSS MB max/end', `${st.manager.cpuPctMean} / ${st.manager.cpuPctMax}, ${fmt(st.manager.rssMBMax)} / ${fmt(st.manager.rssMBEnd)}`],
            ['simulator CPU % mean/max, RSS MB max', `${st.sim.cpuPctMean} / ${st.sim.cpuPctMax}, ${fmt(st.sim.rssMBMax)}`],
          ],
        ),
    );
  }
  return parts.join('\n\n');
}

/** --runs: each checkpoint's ps -a p50 per run and the p50 over the runs. */
export function runsTable(runs: ScaleResult[]): string {
  const first = runs[0];
  const rows = first.checkpoints.map((c, i) => {
    const values = runs.map((r) => r.checkpoints[i]?.ps.p50);
    return [`${c.percent}% (${c.containers})`, ...values.map(fmt), fmt(medianOf(values))];
  });
  return table(['fill', ...runs.map((_, i) => `run ${i + 1} ps -a p50 ms`), 'p50 over runs'], rows);
}

/** Nearest-rank median of the known values (NaN when none). */
export function medianOf(values: Array<number | undefined>): number {
  const known = values.filter((v): v is number => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  return percentile(known, 50);
}

export function overheadTable(result: OverheadResult): string {
  const rows = result.ops.map((op) => [
    op.name,
    triple(op.manager),
    triple(op.direct),
    `${op.ratio.toFixed(2)}x`,
    triple(op.bareProxy),
    `${op.bareProxyRatio.toFixed(2)}x`,
    op.kind === 'stream' ? `${fmt(op.managerMBps)} / ${fmt(op.directMBps)} (${op.throughputRatio!.toFixed(2)}x)` : '',
  ]);
  return (
    `Overhead: ${result.engines} real dockerd, manager "${result.manager}" vs engine 0 directly vs a bare Node proxy to engine 0 (the floor of one extra hop), ` +
    `interleaved, n=${result.ops[0]?.manager.n ?? 0} per side\n` +
    table(['operation', 'manager ms p50/p90/p99', 'direct ms p50/p90/p99', 'manager/direct', 'bare proxy ms p50/p90/p99', 'proxy/direct', 'MB/s manager / direct'], rows)
  );
}

/** The 5,000-engine targets apply at that size; smaller runs are marked. */
const TARGET_SCALE = { engines: 5000, containers: 150_000 };

/**
 * Issue 13's targets (and the overhead part's), checked per manager over all its scale runs
 * (worst run, except ps -a p50: the p50 over runs), plus the comparisons when two managers ran.
 */
export function checkTargets(report: Pick<BenchReport, 'managers' | 'durationSec' | 'overheadSec'>, fullScale: { engines: number; containers: number }): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (manager: string, target: string, value: number | undefined, unit: string, ok: (v: number) => boolean, note = ''): void => {
    const known = value !== undefined && !Number.isNaN(value);
    const shown = unit === 'x' ? value?.toFixed(3) : fmt(value);
    checks.push({ manager, target, measured: known ? `${shown}${unit}${note}` : 'not measured', met: known ? ok(value) : null });
  };
  for (const m of report.managers) {
    const runs = m.scaleRuns ?? (m.scale ? [m.scale] : []);
    if (runs.length) {
      const r = runs[runs.length - 1];
      const last = (x: ScaleResult): ScaleResult['checkpoints'][number] | undefined => x.checkpoints[x.checkpoints.length - 1];
      const reduced = r.engines < TARGET_SCALE.engines || r.containers < TARGET_SCALE.containers ? ' (reduced scale)' : '';
      const at = `at ${r.engines}/${last(r)?.containers ?? 0}${reduced}`;
      const over = runs.length > 1 ? `, worst of ${runs.length} runs` : '';
      add(m.label, `all engines Healthy ≤ 30 s ${at}`, Math.max(...runs.map((x) => x.healthyMs / 1000)), ' s', (v) => v <= 30, over);
      add(m.label, `fill throughput ≥ 500 containers/s ${at}`, Math.min(...runs.map((x) => x.fillRate)), '/s', (v) => v >= 500, over);
      let worstOwn: { v: number; where: string } | undefined;
      for (const x of runs) {
        for (const c of x.checkpoints) {
          if (!worstOwn || c.singleOwn.p99 > worstOwn.v) worstOwn = { v: c.singleOwn.p99, where: `${c.percent}%, n=${c.single.n}` };
        }
      }
      add(m.label, `own share of create+start p99 ≤ 10 ms at every checkpoint${reduced}`, worstOwn?.v, ' ms', (v) => v <= 10, worstOwn ? ` (worst: ${worstOwn.where}${over})` : '');
      const finalContainers = last(r)?.containers ?? 0;
      const psLimit = finalContainers > 30_000 ? 1000 : 100;
      const runsNote = runs.length > 1 ? ` (p50 over ${runs.length} runs)` : '';
      add(m.label, `ps -a p50 ≤ ${psLimit} ms ${at}`, medianOf(runs.map((x) => last(x)?.ps.p50)), ' ms', (v) => v <= psLimit, runsNote);
      if (finalContainers > 30_000) {
        const at30k = (x: ScaleResult): number | undefined => x.checkpoints.find((c) => c.containers === 30_000)?.ps.p50;
        add(m.label, `ps -a p50 ≤ 100 ms at ${r.engines}/30000`, medianOf(runs.map(at30k)), ' ms', (v) => v <= 100, runsNote);
      }
      add(m.label, `info p50 ≤ 200 ms ${at}`, Math.max(...runs.map((x) => last(x)?.info.p50 ?? NaN)), ' ms', (v) => v <= 200, over);
      add(m.label, `manager RSS ≤ 1.5 GB ${at} (max over the run)`, Math.max(...runs.map((x) => x.rssMBMax)), ' MB', (v) => v <= 1536, over);
      const c = r.clients;
      if (c) {
        add(m.label, `/_ping p99 ≤ 50 ms under ${c.clients} clients doing ps -a + info`, c.ping.p99, ' ms', (v) => v <= 50, ` (max ${fmt(c.ping.max)} ms)`);
        add(m.label, `no request waits > 50 ms behind another (event-loop delay max)`, c.loopLag?.max, ' ms', (v) => v <= 50);
      }
      const st = r.storm;
      if (st) {
        add(m.label, `event-to-ps lag p99 ≤ 1 s (storm ${st.rate}/s per engine)`, st.lag.p99, ' ms', (v) => v <= 1000, ` (n=${st.sampled})`);
        add(m.label, `no event lost by /events subscribers that keep up`, st.lost, ' lost', (v) => v === 0, ` of ${st.emitted}`);
      }
    }
    const overhead = m.overhead;
    if (overhead) {
      for (const op of overhead.ops) {
        if (op.kind === 'latency') add(m.label, `${op.name} overhead ≤ 1.10x direct (p50)`, op.ratio, 'x', (v) => v <= 1.1);
        else add(m.label, `${op.name} throughput ≥ 0.9x direct`, op.throughputRatio, 'x', (v) => v >= 0.9);
      }
    }
  }
  const [a, b] = report.managers;
  if (a?.scale && b?.scale) {
    const lastA = a.scale.checkpoints[a.scale.checkpoints.length - 1];
    const lastB = b.scale.checkpoints[b.scale.checkpoints.length - 1];
    const reduced = a.scale.engines < fullScale.engines || a.scale.containers < fullScale.containers ? ' (reduced scale)' : '';
    const at = `at ${a.scale.engines}/${lastA?.containers ?? 0}${reduced}`;
    const ratio = (x: number | undefined, y: number | undefined): number | undefined => (x === undefined || y === undefined || !y ? undefined : x / y);
    add(a.label, `RSS ≤ 0.5x ${b.label}'s ${at}`, ratio(lastA?.rssMB, lastB?.rssMB), 'x', (v) => v <= 0.5, ` (${fmt(lastA?.rssMB)} vs ${fmt(lastB?.rssMB)} MB)`);
    const psA = medianOf((a.scaleRuns ?? [a.scale]).map((x) => x.checkpoints[x.checkpoints.length - 1]?.ps.p50));
    const psB = medianOf((b.scaleRuns ?? [b.scale]).map((x) => x.checkpoints[x.checkpoints.length - 1]?.ps.p50));
    add(a.label, `ps -a p50 ≤ 0.2x ${b.label}'s ${at}`, ratio(psA, psB), 'x', (v) => v <= 0.2, ` (${fmt(psA)} vs ${fmt(psB)} ms)`);
  }
  add('run', 'whole benchmark < 45 min', report.durationSec / 60, ' min', (v) => v < 45);
  return checks;
}

export function targetsTable(checks: TargetCheck[]): string {
  return table(
    ['manager', 'target', 'measured', ''],
    checks.map((c) => [c.manager, c.target, c.measured, c.met === null ? '?' : c.met ? '✓' : '✗']),
    2,
  );
}

/** Two managers: the headline figures side by side, with B/A. */
export function comparisonTable(a: ManagerResults, b: ManagerResults): string {
  const rows: string[][] = [];
  const add = (name: string, va: number | undefined, vb: number | undefined): void => {
    const ratio = va !== undefined && vb !== undefined && va !== 0 ? `${(vb / va).toFixed(2)}x` : '–';
    rows.push([name, fmt(va), fmt(vb), ratio]);
  };
  const lastA = a.scale?.checkpoints[a.scale.checkpoints.length - 1];
  const lastB = b.scale?.checkpoints[b.scale.checkpoints.length - 1];
  if (a.scale || b.scale) {
    add('time to all Healthy (s)', a.scale && a.scale.healthyMs / 1000, b.scale && b.scale.healthyMs / 1000);
    add('create+start under fill p50 at 100% (ms)', lastA?.createStart.p50, lastB?.createStart.p50);
    add('create+start alone p50 at 100% (ms)', lastA?.single.p50, lastB?.single.p50);
    add('create+start alone p99 at 100% (ms)', lastA?.single.p99, lastB?.single.p99);
    add('fill rate at 100% (containers/s)', lastA?.fillRate, lastB?.fillRate);
    add('ps -a p50 at 100% (ms)', lastA?.ps.p50, lastB?.ps.p50);
    add('info p50 at 100% (ms)', lastA?.info.p50, lastB?.info.p50);
    add('RSS at 100% (MB)', lastA?.rssMB, lastB?.rssMB);
    add('CPU time at 100% (s)', lastA?.cpuSec, lastB?.cpuSec);
    const ca = a.scale?.clients;
    const cb = b.scale?.clients;
    if (ca || cb) {
      add('clients: /_ping p99 (ms)', ca?.ping.p99, cb?.ping.p99);
      add('clients: /_ping max (ms)', ca?.ping.max, cb?.ping.max);
      add('clients: ps -a p50 (ms)', ca?.ps.p50, cb?.ps.p50);
      add('clients: ps -a per s', ca?.psPerSec, cb?.psPerSec);
      add('clients: info p50 (ms)', ca?.info.p50, cb?.info.p50);
      add('clients: info per s', ca?.infoPerSec, cb?.infoPerSec);
      add('clients: manager RSS max (MB)', ca?.manager.rssMBMax, cb?.manager.rssMBMax);
    }
    const sa = a.scale?.storm;
    const sb = b.scale?.storm;
    if (sa || sb) {
      add('storm: event-to-ps lag p50 (ms)', sa?.lag.p50, sb?.lag.p50);
      add('storm: event-to-ps lag p99 (ms)', sa?.lag.p99, sb?.lag.p99);
      add('storm: events lost', sa?.lost, sb?.lost);
      add('storm: manager CPU % mean', sa?.manager.cpuPctMean, sb?.manager.cpuPctMean);
      add('storm: manager RSS max (MB)', sa?.manager.rssMBMax, sb?.manager.rssMBMax);
    }
  }
  for (const opA of a.overhead?.ops ?? []) {
    const opB = b.overhead?.ops.find((o) => o.name === opA.name);
    add(`${opA.name} p50 via manager (ms)`, opA.manager.p50, opB?.manager.p50);
  }
  return table(['figure', a.label, b.label, `${b.label} / ${a.label}`], rows);
}

export function renderReport(report: BenchReport): string {
  const parts: string[] = [
    `swarm-ts benchmark, ${report.startedAt} (${report.durationSec.toFixed(0)} s; ${report.machine.cpus} CPUs, ${report.machine.memGiB} GiB, node ${report.machine.node}, kernel ${report.machine.kernel})`,
  ];
  for (const m of report.managers) {
    parts.push(`\n=== manager "${m.label}": ${m.command}`);
    const runs = m.scaleRuns ?? (m.scale ? [m.scale] : []);
    runs.forEach((r, i) => {
      if (runs.length > 1) parts.push(`\n--- scale run ${i + 1} of ${runs.length}`);
      parts.push(scaleTable(r));
      const phaseResults = phaseResultsTable(r);
      if (phaseResults) parts.push('\n' + phaseResults);
      parts.push('\nPhase durations (run ' + (i + 1) + ')\n' + phasesTable(r));
    });
    if (runs.length > 1) parts.push('\nps -a run to run\n' + runsTable(runs));
    if (m.overhead) parts.push('\n' + overheadTable(m.overhead));
  }
  if (report.managers.length === 2) parts.push('\n=== side by side\n' + comparisonTable(report.managers[0], report.managers[1]));
  if (report.overheadSec !== undefined) parts.push(`\nOverhead part: ${fmt(report.overheadSec)} s`);
  parts.push('\n=== targets (reported, not enforced)\n' + targetsTable(report.targets));
  return parts.join('\n') + '\n';
}
