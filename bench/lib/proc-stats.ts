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

export function procStats(root: number): ProcStats {
  const pids = processTree(root);
  let rssKB = 0;
  let ticks = 0;
  for (const pid of pids) {
    rssKB += readRssKB(pid);
    ticks += readStat(pid)?.cpuTicks ?? 0;
  }
  return { rssMB: Math.round((rssKB / 1024) * 10) / 10, cpuSec: ticks / CLOCK_TICKS, pids };
}
