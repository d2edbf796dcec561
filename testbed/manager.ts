/**
 * Starts the real manager, `node bin/swarm manage -H tcp://127.0.0.1:<free port> ...args`,
 * as a tracked child with its log in a temp file, and waits until it answers GET /_ping.
 */
import * as path from 'path';
import Dockerode from 'dockerode';
import { answersPing, freePort } from './ports';
import { ExitInfo, TrackedProcess, kill as killTracked, spawnTracked, stop as stopTracked, tailLines } from './processes';
import { waitFor } from './wait';

export interface ManagerHandle {
  port: number;
  /** "tcp://127.0.0.1:PORT", for DOCKER_HOST. */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  pid: number;
  /** The manager's log file (stdout and stderr). */
  logFile: string;
  /** Resolves when the manager process exits. */
  exited: Promise<ExitInfo>;
  docker(): Dockerode;
  /** The manager's log so far. */
  logs(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL: a manager crash. */
  kill(): Promise<void>;
}

export interface StartManagerOptions {
  env?: Record<string, string>;
  /** Port for -H (default: a free one). */
  port?: number;
  /** How long to wait for /_ping (default 20 s). */
  readyTimeoutMs?: number;
}

/** The repository root: dist/testbed/manager.js -> two levels up. */
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SWARM_BIN = path.join(REPO_ROOT, 'bin', 'swarm');

export async function startManager(args: string[], options: StartManagerOptions = {}): Promise<ManagerHandle> {
  const port = options.port ?? (await freePort());
  const proc = spawnTracked({
    name: `swarm-manage-${port}`,
    command: process.execPath,
    args: [SWARM_BIN, 'manage', '-H', `tcp://127.0.0.1:${port}`, ...args],
    env: options.env,
    cwd: REPO_ROOT,
  });
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  try {
    await waitUntilReady(proc, port, timeoutMs);
  } catch (err) {
    await killTracked(proc.pid);
    throw err;
  }
  return {
    port,
    host: `tcp://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    logFile: proc.logFile,
    exited: proc.exited,
    docker: () => new Dockerode({ host: '127.0.0.1', port, protocol: 'http' }),
    logs: () => proc.logs(),
    stop: () => stopTracked(proc.pid),
    kill: () => killTracked(proc.pid),
  };
}

async function waitUntilReady(proc: TrackedProcess, port: number, timeoutMs: number): Promise<void> {
  const describe = (why: string): Error =>
    new Error(`swarm manage ${why}; last lines of ${proc.logFile}:\n${tailLines(proc.logs(), 20)}`);
  const exited = proc.exited.then((info) => {
    throw describe(`exited before answering /_ping (code ${info.code}, signal ${info.signal})`);
  });
  exited.catch(() => undefined);
  const ready = waitFor(() => answersPing(port), timeoutMs, `swarm manage to answer /_ping on port ${port}`, 100).catch(
    () => {
      throw describe(`did not answer GET /_ping on 127.0.0.1:${port} within ${timeoutMs} ms`);
    },
  );
  await Promise.race([exited, ready]);
}

