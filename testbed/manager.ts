/**
 * Starts the real manager, `node bin/swarm manage -H tcp://127.0.0.1:<free port> ...args`,
 * as a tracked child with its log in a temp file, and waits until it answers GET /_ping.
 */
import * as fs from 'fs';
import * as https from 'https';
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
  /**
   * The manager serves TLS (--tls/--tlsverify in args): readiness and docker() use https with
   * this client certificate (any of them may be omitted for --tls without verification).
   */
  clientTls?: { ca?: string; cert?: string; key?: string };
  /** Global options before `manage`, e.g. ['--log-format', 'json'] for a test that reads log fields. */
  globalArgs?: string[];
}

/** The repository root: dist/testbed/manager.js -> two levels up. */
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SWARM_BIN = path.join(REPO_ROOT, 'bin', 'swarm');

export async function startManager(args: string[], options: StartManagerOptions = {}): Promise<ManagerHandle> {
  if (options.port !== undefined) return startManagerOn(options.port, args, options);
  // The free port can be taken before the manager binds it (see freePort): it then exits
  // saying "address already in use", and starts again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startManagerOn(await freePort(), args, options);
    } catch (err) {
      if (attempt >= 3 || !/tcp:\/\/127\.0\.0\.1:\d+: address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startManagerOn(port: number, args: string[], options: StartManagerOptions): Promise<ManagerHandle> {
  const proc = spawnTracked({
    name: `swarm-manage-${port}`,
    command: process.execPath,
    args: [SWARM_BIN, ...(options.globalArgs ?? []), 'manage', '-H', `tcp://127.0.0.1:${port}`, ...args],
    env: options.env,
    cwd: REPO_ROOT,
  });
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  try {
    await waitUntilReady(proc, port, timeoutMs, options.clientTls ? () => answersTlsPing(port, options.clientTls!) : undefined);
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
    docker: () => (options.clientTls ? new Dockerode({ host: '127.0.0.1', port, protocol: 'https', ...readClientTls(options.clientTls) }) : new Dockerode({ host: '127.0.0.1', port, protocol: 'http' })),
    logs: () => proc.logs(),
    stop: () => stopTracked(proc.pid),
    kill: () => killTracked(proc.pid),
  };
}

function readClientTls(files: { ca?: string; cert?: string; key?: string }): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return {
    ...(files.ca ? { ca: fs.readFileSync(files.ca) } : {}),
    ...(files.cert ? { cert: fs.readFileSync(files.cert) } : {}),
    ...(files.key ? { key: fs.readFileSync(files.key) } : {}),
  };
}

/** GET https://127.0.0.1:port/_ping with a client certificate; true on 200. */
export function answersTlsPing(port: number, files: { ca?: string; cert?: string; key?: string }, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/_ping', timeout: timeoutMs, ...readClientTls(files), rejectUnauthorized: Boolean(files.ca) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function waitUntilReady(proc: TrackedProcess, port: number, timeoutMs: number, ping = () => answersPing(port)): Promise<void> {
  const describe = (why: string): Error =>
    new Error(`swarm manage ${why}; last lines of ${proc.logFile}:\n${tailLines(proc.logs(), 20)}`);
  const exited = proc.exited.then((info) => {
    throw describe(`exited before answering /_ping (code ${info.code}, signal ${info.signal})`);
  });
  exited.catch(() => undefined);
  const ready = waitFor(ping, timeoutMs, `swarm manage to answer /_ping on port ${port}`, 100).catch(
    () => {
      throw describe(`did not answer GET /_ping on 127.0.0.1:${port} within ${timeoutMs} ms`);
    },
  );
  await Promise.race([exited, ready]);
}

