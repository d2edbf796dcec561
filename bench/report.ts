/**
 * The readable report: per-manager tables for the scale and overhead runs, the targets with
 * ✓/✗, and (with two managers) the key figures side by side with their ratio.
 */
import type { OverheadResult } from './overhead';
import type { ScaleResult } from './scale';
import type { Summary } from './lib/stats';

export interface ManagerResults {
  label: string;
  command: string;
  scale?: ScaleResult;
  overhead?: OverheadResult;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  machine: { cpus: number; memGiB: number; node: string; kernel: string };
  options: Record<string, unknown>;
  managers: ManagerResults[];
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
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function scaleTable(result: ScaleResult): string {
  const rows = result.checkpoints.map((c) => [
    `${c.percent}%`, String(c.containers), String(c.listed), triple(c.createStart), String(c.fillRate), triple(c.single), triple(c.singleOwn),
    triple(c.ps), fmt(c.psMB), triple(c.info), c.metrics ? `${triple(c.metrics)} (${c.metricsKB} KB; CPU ${fmt(c.metricsCpuMs)} ms vs info ${fmt(c.infoCpuMs)} ms)` : '–', fmt(c.rssMB), fmt(c.cpuSec),
  ]);
  const head =
    `Scale: ${result.engines} simulated engines (${result.latencyMs} ms per engine call), fill to ${result.containers} containers, ` +
    `concurrency ${result.concurrency}, ${result.discovery}\n` +
    `manager "${result.manager}": all ${result.engines} engines Healthy ${fmt(result.healthyMs / 1000)} s after start; ` +
    `idle RSS ${fmt(result.idle.rssMB)} MB` +
    (result.errors.count ? `; ${result.errors.count} failed create+start (e.g. ${result.errors.examples[0]})` : '') +
    (result.aborted ? `\nABORTED: ${result.aborted}` : '');
  return (
    head + '\n' +
    table(
      ['fill', 'containers', 'ps lists', `create+start under fill (x${result.concurrency}) ms p50/p90/p99`, 'ctr/s', 'create+start alone ms p50/p90/p99', 'own share ms p50/p90/p99', 'ps -a ms p50/p90/p99', 'ps MB', 'info ms p50/p90/p99', '/metrics ms p50/p90/p99', 'RSS MB', 'CPU s'],
      rows,
    )
  );
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

/** The targets, checked for one manager. Quick runs (smaller scale) are flagged. */
export function checkTargets(results: ManagerResults, fullScale: { engines: number; containers: number }): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (target: string, value: number | undefined, unit: string, ok: (v: number) => boolean): void => {
    const known = value !== undefined && !Number.isNaN(value);
    const shown = unit === 'x' ? value?.toFixed(3) : fmt(value);
    checks.push({ manager: results.label, target, measured: known ? `${shown}${unit}` : 'not measured', met: known ? ok(value) : null });
  };
  const scale = results.scale;
  if (scale) {
    const last = scale.checkpoints[scale.checkpoints.length - 1];
    const at = `at ${scale.engines}/${last?.containers ?? 0}` + (scale.engines < fullScale.engines || scale.containers < fullScale.containers ? ' (reduced scale)' : '');
    add(`ps -a p50 ≤ 300 ms ${at}`, last?.ps.p50, ' ms', (v) => v <= 300);
    add(`manager's own share of create+start p99 ≤ 20 ms ${at}`, last?.singleOwn.p99, ' ms', (v) => v <= 20);
    add(`manager RSS < 500 MB ${at}`, last?.rssMB, ' MB', (v) => v < 500);
  }
  const overhead = results.overhead;
  if (overhead) {
    for (const op of overhead.ops) {
      if (op.kind === 'latency') add(`${op.name} overhead ≤ 1.10x direct (p50)`, op.ratio, 'x', (v) => v <= 1.1);
      else add(`${op.name} throughput ≥ 0.9x direct`, op.throughputRatio, 'x', (v) => v >= 0.9);
    }
  }
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
    if (m.scale) parts.push(scaleTable(m.scale));
    if (m.overhead) parts.push('\n' + overheadTable(m.overhead));
  }
  if (report.managers.length === 2) parts.push('\n=== side by side\n' + comparisonTable(report.managers[0], report.managers[1]));
  parts.push('\n=== targets (reported, not enforced)\n' + targetsTable(report.targets));
  return parts.join('\n') + '\n';
}
