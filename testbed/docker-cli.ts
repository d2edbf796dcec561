/**
 * The real docker CLI (v28 at /usr/local/bin/docker here), pointed at an engine or the manager
 * through DOCKER_HOST. Tests drive the manager with it exactly as users do.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { adoptChild } from './processes';

export interface DockerCliOptions {
  /** Written to the CLI's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill the CLI (SIGKILL) after this long; the result then has code -1. Default 60 s. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface DockerCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The docker CLI binary: /usr/local/bin/docker if present, else `docker` from PATH. */
export const DOCKER_CLI = fs.existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker';

/** Runs `docker <args>` against `host` (e.g. "tcp://127.0.0.1:3376") and collects its output. */
export function docker(host: string, args: string[], opts: DockerCliOptions = {}): Promise<DockerCliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnDocker(host, args, { env: opts.env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin?.on('error', () => undefined); // the CLI may exit before reading its input
    child.stdin?.end(opts.input);
  });
}

/**
 * Starts `docker <args>` against `host` with piped stdin/stdout/stderr and returns the child,
 * for interactive use: `exec -i`, `attach`, `run -i`, `logs -f`, `events`. The caller writes to
 * stdin / reads stdout and must end or kill the child; if the test process dies first, the
 * process registry's exit hook kills it.
 */
export function spawnDocker(host: string, args: string[], opts: { env?: Record<string, string> } = {}): ChildProcess {
  const child = spawn(DOCKER_CLI, args, {
    env: { ...process.env, DOCKER_HOST: host, DOCKER_CLI_HINTS: 'false', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return adoptChild(child);
}
