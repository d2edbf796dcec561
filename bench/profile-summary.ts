/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self
 * time and the most inclusive time, as `file:line function  %`. Used to find a manager's hot
 * spots after a benchmark run:
 *
 *   npm run bench -- --only scale --manager-cmd 'node --cpu-prof --cpu-prof-dir=/tmp/prof bin/swarm manage'
 *   node dist/bench/profile-summary.js /tmp/prof/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  where: string;
  ms: number;
  percent: number;
}

function label(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  let file = url.startsWith('file://') ? url.slice(7) : url || '(native)';
  if (file.startsWith(`${root}/`)) file = path.relative(root, file);
  else file = file.replace(/^.*\/(node_modules|dist)\//, '$1/');
  return `${file}:${lineNumber + 1} ${functionName || '(anonymous)'}`;
}

export function summarizeProfile(profile: CpuProfile, root: string, top: number): { totalMs: number; self: HotSpot[]; inclusive: HotSpot[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = new Set(['(idle)', '(program)', '(garbage collector)']);

  const selfByLabel = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const key = idle.has(node.callFrame.functionName) ? node.callFrame.functionName : label(node, root);
    selfByLabel.set(key, (selfByLabel.get(key) ?? 0) + us);
  }

  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusiveByLabel = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      if (node.callFrame.functionName === '(root)') continue;
      const key = label(node, root);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveByLabel.set(key, (inclusiveByLabel.get(key) ?? 0) + us);
    }
  }
  const rank = (m: Map<string, number>): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, ms: Math.round(us / 1000), percent: Math.round((us / totalUs) * 1000) / 10 }));
  return { totalMs: Math.round(totalUs / 1000), self: rank(selfByLabel), inclusive: rank(inclusiveByLabel) };
}

function main(): void {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  const files = args.filter((a, i) => !a.startsWith('--') && (topIndex < 0 || i !== topIndex + 1));
  if (files.length === 0) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile>... [--top N]\n');
    process.exit(2);
  }
  const root = path.resolve(__dirname, '..', '..');
  for (const file of files) {
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, root, top);
    process.stdout.write(`${file}: ${summary.totalMs} ms sampled\n\nself time:\n`);
    for (const h of summary.self) process.stdout.write(`  ${h.percent.toFixed(1).padStart(5)}%  ${String(h.ms).padStart(7)} ms  ${h.where}\n`);
    process.stdout.write('\ninclusive time:\n');
    for (const h of summary.inclusive) process.stdout.write(`  ${h.percent.toFixed(1).padStart(5)}%  ${String(h.ms).padStart(7)} ms  ${h.where}\n`);
  }
}

if (require.main === module) main();
