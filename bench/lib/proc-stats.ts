/**
 * Resource use of a process tree from /proc: resident memory (VmRSS) and CPU time
 * (utime + stime), summed over the process and its descendants, so a manager started through
 * a wrapper is measured whole.
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

export interface ProcStats {
  rssMB: number;
  cpuSec: number;
  pids: number[];
}

interface StatLine {
  pid: number;
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function readRssKB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** RSS and CPU time summed over the trees of one or more root processes. */
export function procStats(roots: number | number[]): ProcStats {
  const pids = (Array.isArray(roots) ? roots : [roots]).flatMap((root) => processTree(root));
  let rssKB = 0;
  let ticks = 0;
  for (const pid of pids) {
    rssKB += readRssKB(pid);
    ticks += readStat(pid)?.cpuTicks ?? 0;
  }
  return { rssMB: Math.round((rssKB / 1024) * 10) / 10, cpuSec: ticks / CLOCK_TICKS, pids };
}

/** CPU and memory of a process tree over a phase: CPU in % of one core (200 = both cores of 2). */
export interface UsageOverTime {
  cpuPctMean: number;
  cpuPctMax: number;
  rssMBMax: number;
  rssMBEnd: number;
}

/**
 * Samples a process tree's CPU time and RSS every `intervalMs` until stopped. `onSample` sees
 * each RSS reading (e.g. to abort a phase that would exhaust the machine's memory).
 */
export class ProcSampler {
  private readonly timer: NodeJS.Timeout;
  private readonly first: { at: number; cpu: number };
  private last: { at: number; cpu: number };
  private cpuPctMax = 0;
  private rssMBMax = 0;

  constructor(private readonly pid: number | number[], intervalMs = 1000, onSample?: (rssMB: number) => void) {
    const s = procStats(pid);
    this.first = this.last = { at: Date.now(), cpu: s.cpuSec };
    this.rssMBMax = s.rssMB;
    this.timer = setInterval(() => {
      const rss = this.sample();
      onSample?.(rss);
    }, intervalMs);
  }

  stop(): UsageOverTime {
    clearInterval(this.timer);
    const rssMBEnd = this.sample();
    const seconds = (this.last.at - this.first.at) / 1000;
    const cpuPctMean = seconds > 0 ? Math.round(((this.last.cpu - this.first.cpu) / seconds) * 100) : 0;
    return { cpuPctMean, cpuPctMax: this.cpuPctMax, rssMBMax: this.rssMBMax, rssMBEnd };
  }

  private sample(): number {
    const s = procStats(this.pid);
    const now = Date.now();
    const seconds = (now - this.last.at) / 1000;
    if (seconds >= 0.5) {
      this.cpuPctMax = Math.max(this.cpuPctMax, Math.round(((s.cpuSec - this.last.cpu) / seconds) * 100));
      this.last = { at: now, cpu: s.cpuSec };
    }
    this.rssMBMax = Math.max(this.rssMBMax, s.rssMB);
    return s.rssMB;
  }
}

/** Open file descriptors of a process and its soft limit ("Max open files" in /proc/<pid>/limits). */
export function openFiles(pid: number): { open: number; limit: number } {
  try {
    const open = readdirSync(`/proc/${pid}/fd`).length;
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return { open, limit: m && m[1] !== 'unlimited' ? Number(m[1]) : Infinity };
  } catch {
    return { open: NaN, limit: NaN };
  }
}
