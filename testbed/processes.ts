/**
 * A registry of the child processes a test run (or `npm start`) started.
 *
 * Every child is spawned detached, i.e. as the leader of its own process group, so stopping it
 * signals exactly that group (the child and anything it forked without leaving the group) and
 * never touches other processes on the machine. Nothing is ever killed by name.
 *
 * Output goes to a log file (not a pipe), so a chatty child can never block on a full pipe and
 * the log survives for post-mortem reading.
 *
 * If this Node process dies (mocha exits, an uncaught exception, SIGINT/SIGTERM without another
 * handler), an 'exit' hook SIGKILLs every tracked group and runs the registered synchronous
 * cleanups, so no dockerd or manager outlives the run.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sleep } from './wait';

export interface SpawnOptions {
  /** Short label used in the log file name and in error messages. */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Directory for the log file; defaults to a fresh temp dir. */
  logDir?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<ExitInfo>;
  isRunning(): boolean;
  /** The whole log so far (stdout and stderr interleaved). */
  logs(): string;
}

const tracked = new Map<number, TrackedProcess>();
const syncCleanups = new Set<() => void>();
let hooksInstalled = false;

/** Spawns a tracked child whose stdout and stderr go to `<logDir>/<name>.log`. */
export function spawnTracked(options: SpawnOptions): TrackedProcess {
  installExitHooks();
  const logDir = options.logDir ?? runLogDir();
  const logFile = path.join(logDir, `${options.name.replace(/[^\w.-]/g, '_')}.log`);
  const fd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    fs.closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not spawn ${options.name} (${options.command}): see ${logFile}`);
  }
  let running = true;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      tracked.delete(pid);
      resolve({ code, signal });
    });
    child.once('error', () => {
      running = false;
      tracked.delete(pid);
      resolve({ code: null, signal: null });
    });
  });
  const proc: TrackedProcess = {
    name: options.name,
    pid,
    child,
    logFile,
    exited,
    isRunning: () => running,
    logs: () => readFileOrEmpty(logFile),
  };
  tracked.set(pid, proc);
  return proc;
}

const adopted = new Set<ChildProcess>();

/**
 * Registers a child spawned elsewhere (e.g. an interactive docker CLI with piped stdio) so the
 * exit hook SIGKILLs it too if this process dies while the child still runs.
 */
export function adoptChild<T extends ChildProcess>(child: T): T {
  installExitHooks();
  if (child.exitCode === null && child.signalCode === null) {
    adopted.add(child);
    child.once('exit', () => adopted.delete(child));
  }
  return child;
}

/**
 * Stops a tracked process: SIGTERM to its process group, then SIGKILL if it has not exited
 * after `timeoutMs`. Resolves once it has exited. Unknown or already-exited pids are a no-op.
 */
export async function stop(pid: number, timeoutMs = 5000): Promise<void> {
  const proc = tracked.get(pid);
  if (!proc) return;
  signalGroup(pid, 'SIGTERM');
  const exitedInTime = await Promise.race([proc.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
  if (!exitedInTime) {
    signalGroup(pid, 'SIGKILL');
    await proc.exited;
  }
}

/** SIGKILLs a tracked process group at once and waits for the exit. */
export async function kill(pid: number): Promise<void> {
  const proc = tracked.get(pid);
  if (!proc) return;
  signalGroup(pid, 'SIGKILL');
  await proc.exited;
}

/** Stops every tracked process (in parallel). */
export async function stopAll(timeoutMs = 5000): Promise<void> {
  await Promise.all([...tracked.keys()].map((pid) => stop(pid, timeoutMs)));
}

/** Pids of the tracked processes that are still running. */
export function trackedPids(): number[] {
  return [...tracked.keys()];
}

/**
 * Registers a synchronous cleanup to run if this process exits while it is still registered
 * (e.g. kill processes a tracked child left behind, unmount, remove temp dirs). Returns the
 * function that unregisters it, to call after a normal, orderly teardown.
 */
export function onEmergencyExit(cleanup: () => void): () => void {
  installExitHooks();
  syncCleanups.add(cleanup);
  return () => {
    syncCleanups.delete(cleanup);
  };
}

/** True if a process with this pid exists (zombies included, as the kernel still lists them). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True if the pid exists and is not a zombie (state Z) or dead (state X). */
export function pidAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  const text = readFileOrEmpty(`/proc/${pid}/stat`);
  // Format: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  return { pid, state: fields[0], ppid: Number(fields[1]) };
}

/**
 * Pids of every process whose command line contains `marker` (a unique temp path we own),
 * plus all their descendants. Used to find what a dockerd left behind after it was killed:
 * containerd and the runc shims reference the engine's own exec-root on their command line,
 * and container processes are children of those shims. Matching on a path unique to this run
 * means we only ever find processes we caused.
 */
export function findProcessesByMarker(marker: string): number[] {
  const stats: ProcStat[] = [];
  const matched = new Set<number>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!stat) continue;
    stats.push(stat);
    const cmdline = readFileOrEmpty(`/proc/${pid}/cmdline`).replace(/\0/g, ' ');
    if (cmdline.includes(marker)) matched.add(pid);
  }
  // Add descendants until the set stops growing.
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of stats) {
      if (!matched.has(stat.pid) && matched.has(stat.ppid)) {
        matched.add(stat.pid);
        grew = true;
      }
    }
  }
  return [...matched];
}

/** SIGKILLs the given pids, ignoring ones that are already gone. */
export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

let runLogDirPath: string | undefined;

/**
 * One temp dir per run for the logs of children that have no dir of their own (the manager).
 * Removed when this process exits, unless SWARM_KEEP_LOGS=1 (error messages quote the last
 * lines of the log, so the files are rarely needed afterwards).
 */
function runLogDir(): string {
  if (!runLogDirPath) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-ts-logs-'));
    runLogDirPath = dir;
    if (process.env.SWARM_KEEP_LOGS !== '1') {
      onEmergencyExit(() => fs.rmSync(dir, { recursive: true, force: true }));
    }
  }
  return runLogDirPath;
}

/**
 * Calls `onChunk` with the content of `file` from byte `fromOffset` on, then with whatever is
 * appended (polling every `intervalMs`), like `tail -f -c +N`. Returns the function that stops.
 */
export function followFile(file: string, onChunk: (text: string) => void, fromOffset = 0, intervalMs = 200): () => void {
  let offset = fromOffset;
  const timer = setInterval(() => {
    const size = fileSize(file);
    if (size <= offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      const read = fs.readSync(fd, buffer, 0, buffer.length, offset);
      offset += read;
      onChunk(buffer.subarray(0, read).toString('utf8'));
    } finally {
      fs.closeSync(fd);
    }
  }, intervalMs);
  return () => clearInterval(timer);
}

function fileSize(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function killEverythingSync(): void {
  for (const pid of tracked.keys()) signalGroup(pid, 'SIGKILL');
  for (const child of adopted) child.kill('SIGKILL');
  for (const cleanup of syncCleanups) {
    try {
      cleanup();
    } catch {
      // best effort: we are exiting
    }
  }
  syncCleanups.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverythingSync);
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.on(signal, () => {
      // If the program installed its own handler (e.g. npm start's orderly teardown), let it
      // decide; otherwise behave like the default action, but without leaking children.
      if (process.listenerCount(signal) > 1) return;
      killEverythingSync();
      process.exit(128 + number);
    });
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The last `lines` lines of a log, for error messages. */
export function tailLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
