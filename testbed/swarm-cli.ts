/**
 * The real `swarm` CLI (node bin/swarm) for tests: one-shot commands (list, create) collected to
 * completion, long-running ones (join, token-server) as tracked processes.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { kill, spawnTracked, stop, type TrackedProcess } from './processes';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SWARM_BIN = path.join(REPO_ROOT, 'bin', 'swarm');

export interface SwarmResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the command in ms. */
  ms: number;
}

/** Runs `swarm <args>` to completion (killed after timeoutMs). */
export function swarm(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<SwarmResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SWARM_BIN, ...args],
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : -1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

export interface SwarmProcess {
  process: TrackedProcess;
  logs(): string;
  /** SIGTERM (what a user's Ctrl-C/stop does). */
  stop(): Promise<void>;
  /** SIGKILL: a crash, nothing gets cleaned up. */
  kill(): Promise<void>;
}

/** Starts a long-running `swarm <args>` (join, token-server) as a tracked process. */
export function startSwarm(name: string, args: string[], env: Record<string, string> = {}): SwarmProcess {
  const proc = spawnTracked({ name, command: process.execPath, args: [SWARM_BIN, ...args], env, cwd: REPO_ROOT });
  return { process: proc, logs: () => proc.logs(), stop: () => stop(proc.pid), kill: () => kill(proc.pid) };
}

/** `swarm list` output as sorted lines ([] when it failed). */
export async function listEntries(discovery: string, extra: string[] = [], env: Record<string, string> = {}): Promise<string[]> {
  const res = await swarm(['list', '--timeout', '3s', ...extra, discovery], { env, timeoutMs: 15_000 });
  if (res.code !== 0) throw new Error(`swarm list failed (${res.code}): ${res.stderr.trim()}`);
  return res.stdout.split('\n').filter(Boolean).sort();
}

/** A one-line error on stderr, exit status 1, no stack trace. */
export function isOneLineError(res: SwarmResult): boolean {
  const lines = res.stderr.trim().split('\n');
  return res.code === 1 && lines.length === 1 && lines[0].startsWith('swarm: ') && !/\n\s+at /.test(res.stderr);
}
