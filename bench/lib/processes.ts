/**
 * The processes a benchmark measures: a manager given as a shell command (so any
 * Docker-API-compatible manager can be measured), and the simulated engines' host process.
 * Both are started through the test harness's tracked spawner, which logs to a file and
 * kills exactly the processes it started (by process group), also if the benchmark dies.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { answersPing, freePort } from '../../testbed/ports';
import { kill, spawnTracked, stop, tailLines, type TrackedProcess } from '../../testbed/processes';
import { waitFor } from '../../testbed/wait';
import { ApiClient } from './http-client';
import { openFiles } from './proc-stats';

/** The repository root: dist/bench/lib/processes.js -> three levels up. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface RunningManager {
  label: string;
  pid: number;
  port: number;
  client: ApiClient;
  /** When the process was spawned (ms since epoch). */
  startedAt: number;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Open files a benchmarked process may need: at 5,000 engines the simulator holds 5,000
 * listening sockets plus every connection the manager opens to them (API pool and one event
 * stream per engine), and the manager holds the other ends. The default soft limit (often
 * 1,024, 20,000 here) is too low, so every spawn raises it first (root may raise the hard
 * limit too; otherwise the soft limit goes up to the hard one). Node and Go raise their soft
 * limit to the hard one themselves, so the hard limit is what counts.
 */
export const NOFILE = 262144;
const RAISE_NOFILE = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)";`;

/**
 * Runs `<cmd> -H tcp://127.0.0.1:<port> <discovery>` through `sh -c 'exec ...'` (so the pid
 * we hold is the manager itself, not a shell) in the repository root, and waits for /_ping.
 */
export async function startManagerCommand(label: string, cmd: string, discovery: string, readyTimeoutMs = 60_000): Promise<RunningManager> {
  const port = await freePort();
  const startedAt = Date.now();
  const proc = spawnTracked({
    name: `bench-manager-${label.replace(/\W+/g, '_')}-${port}`,
    command: 'sh',
    args: ['-c', `${RAISE_NOFILE} exec ${cmd} "$@"`, 'manager', '-H', `tcp://127.0.0.1:${port}`, discovery],
    cwd: REPO_ROOT,
  });
  await untilReady(proc, () => answersPing(port), readyTimeoutMs, `manager "${cmd}" to answer /_ping on ${port}`);
  const client = new ApiClient(port);
  return {
    label,
    pid: proc.pid,
    port,
    client,
    startedAt,
    logs: () => proc.logs(),
    stop: async () => {
      client.close();
      await stop(proc.pid);
    },
  };
}

export interface RunningSimHost {
  /** The first simulator process (the only one up to ENGINES_PER_SIM_PROCESS engines). */
  pid: number;
  /** All simulator processes; engines [j*per, (j+1)*per) live in pids[j]. */
  pids: number[];
  basePort: number;
  count: number;
  /** `127.0.0.1:[A:B]`, for `nodes://`. */
  range: string;
  /** Each process's control port (event storms, stats: bench/sim/control.ts), in pids' order. */
  controlPorts: number[];
  /** Engines per process (the engine index of controlPorts[j]'s first engine is j * perProcess). */
  perProcess: number;
  addresses: string[];
  stop(): Promise<void>;
  /** SIGKILLs every simulator process at once (an engine dying without a goodbye). */
  kill(): Promise<void>;
}

/**
 * Engines per simulator process. Each engine costs its process one listening socket plus every
 * connection the manager keeps to it (API pool, event stream); with the hard open-files limit
 * of this machine (20,000, which root may not raise here) one process cannot hold 5,000
 * engines and their connections, so larger counts are split over several processes (which
 * also lets the simulator use both cores).
 */
export const ENGINES_PER_SIM_PROCESS = 1700;

let simHostRuns = 0;

/**
 * Starts `count` simulated engines on consecutive ports, in ceil(count / perProcess) child
 * processes (dist/bench/sim/main.js), named sim-0000... across all of them (from sim-<firstIndex>,
 * so a second host can extend a first one's names), and writes the addresses to `discoveryFile`.
 * On a busy port the whole range is tried again elsewhere.
 */
export async function startSimHost(count: number, latencyMs: number, discoveryFile: string, perProcess = ENGINES_PER_SIM_PROCESS, firstIndex = 0): Promise<RunningSimHost> {
  const processes = Math.ceil(count / perProcess);
  const nameWidth = String(Math.max(firstIndex + count - 1, 0)).length;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    const basePort = pickBasePort(count);
    simHostRuns++;
    const started = Array.from({ length: processes }, (_, j) => {
      const first = j * perProcess;
      const n = Math.min(perProcess, count - first);
      // A log name of its own: the ready line is read from the top of this file.
      const proc = spawnTracked({
        name: `bench-sim-${count}-${process.pid}-${simHostRuns}-${j}`,
        command: 'sh',
        args: [
          '-c', `${RAISE_NOFILE} exec "$0" "$@"`, process.execPath,
          path.join(REPO_ROOT, 'dist', 'bench', 'sim', 'main.js'),
          '--count', String(n), '--base-port', String(basePort + first), '--first-index', String(firstIndex + first), '--name-width', String(nameWidth),
          '--latency-ms', String(latencyMs), '--json', '--control',
        ],
        cwd: REPO_ROOT,
      });
      const readyLine = (): { basePort: number; controlPort: number } | undefined => {
        const line = proc.logs().split('\n')[0];
        return line.startsWith('{') ? (JSON.parse(line) as { basePort: number; controlPort: number }) : undefined;
      };
      return { proc, ready: untilReady(proc, readyLine, 120_000, `${n} simulated engines to listen on ${basePort + first}..`) };
    });
    const results = await Promise.allSettled(started.map((s) => s.ready));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      lastError = failed.reason as Error;
      await Promise.all(started.map((s) => kill(s.proc.pid)));
      continue;
    }
    const ready = results.map((r) => (r as PromiseFulfilledResult<{ basePort: number; controlPort: number }>).value);
    const addresses = Array.from({ length: count }, (_, i) => `127.0.0.1:${basePort + i}`);
    writeFileSync(discoveryFile, addresses.join('\n') + '\n');
    const pids = started.map((s) => s.proc.pid);
    return {
      pid: pids[0],
      pids,
      basePort,
      count,
      range: `127.0.0.1:[${basePort}:${basePort + count - 1}]`,
      controlPorts: ready.map((r) => r.controlPort),
      perProcess,
      addresses,
      stop: async () => {
        await Promise.all(pids.map((pid) => stop(pid)));
      },
      kill: async () => {
        await Promise.all(pids.map((pid) => kill(pid)));
      },
    };
  }
  throw new Error(`could not start ${count} simulated engines: ${lastError?.message}`);
}

/**
 * A random first port for `count` engines whose range ends below the kernel's ephemeral
 * ports (ip_local_port_range, 32768 by default), so the manager's outgoing connections never
 * take a port the simulator wants. Ranges start on a multiple of 1,000 from 10,000.
 */
export function pickBasePort(count: number, ephemeralLow = readEphemeralLow()): number {
  const low = 10_000;
  const slots = Math.floor((ephemeralLow - count - low) / 1000) + 1;
  if (slots < 1) return 20_000; // too many engines to fit below: take our chances (the host searches on)
  return low + Math.floor(Math.random() * slots) * 1000;
}

function readEphemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/** Waits for `probe` while watching the process: an early exit fails at once, with its log. */
async function untilReady<T>(proc: TrackedProcess, probe: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const exited = proc.exited.then((info) => {
    throw new Error(`${what}: the process exited (code ${info.code}, signal ${info.signal}); log ${proc.logFile}:\n${tailLines(proc.logs(), 20)}`);
  });
  exited.catch(() => undefined);
  try {
    return await Promise.race([exited, waitFor(probe, timeoutMs, what, 100)]);
  } catch (err) {
    // Running out of file descriptors is the usual cause at thousands of engines: say so.
    const files = openFiles(proc.pid);
    await kill(proc.pid);
    if (!Number.isNaN(files.open)) (err as Error).message += ` (open files ${files.open} of ${files.limit})`;
    throw err;
  }
}
