/** A server process (etcd, ZooKeeper) in its own temp dir that tests stop, kill and start again. */
import { rmSync } from 'node:fs';
import { kill, spawnTracked, stop, type TrackedProcess } from './processes';
import { waitFor } from './wait';

export interface RestartableServer {
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again with the same data (stops it first if it runs). */
  restart(): Promise<void>;
  /** Stops it and removes its temp dir. */
  destroy(): Promise<void>;
}

export interface RestartableOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Temp dir holding data and logs; removed by destroy(). */
  dir: string;
  /** True once the server serves clients. */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** For the timeout message, e.g. "etcd on http://127.0.0.1:2379". */
  what: string;
}

export async function startRestartable(options: RestartableOptions): Promise<RestartableServer> {
  let proc: TrackedProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawnTracked({ name: options.name, command: options.command, args: options.args, env: options.env, logDir: options.dir });
    const started = proc;
    await waitFor(async () => {
      if (!started.isRunning()) throw new Error(`${options.name} exited: see ${started.logFile}`);
      return options.ready();
    }, options.readyTimeoutMs, options.what);
  };
  await start();
  return {
    stop: async () => proc && stop(proc.pid),
    kill: async () => proc && kill(proc.pid),
    restart: async () => {
      if (proc) await stop(proc.pid);
      await start();
    },
    destroy: async () => {
      if (proc) await stop(proc.pid);
      rmSync(options.dir, { recursive: true, force: true });
    },
  };
}
