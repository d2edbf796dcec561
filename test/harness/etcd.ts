/**
 * A real etcd 3.4 for tests: free loopback ports, its own data dir. stop()/kill() and restart()
 * (same ports, same data dir) produce a store outage and recovery.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { kill, spawnTracked, stop, type TrackedProcess } from './processes';
import { waitFor } from './wait';

export interface EtcdServer {
  /** host:port of the client endpoint. */
  endpoint: string;
  dataDir: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it and removes the data dir. */
  destroy(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-ts-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'swarm-ts-test',
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `swarm-ts-test=${peer}`,
  ];
  let proc: TrackedProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawnTracked({ name: 'etcd', command: 'etcd', args, logDir: dir });
    const started = proc;
    await waitFor(async () => {
      if (!started.isRunning()) throw new Error(`etcd exited: see ${started.logFile}`);
      const res = await fetch(`${client}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    }, 20_000, `etcd on ${client}`);
  };
  await start();
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    dataDir: join(dir, 'data'),
    stop: async () => proc && stop(proc.pid),
    kill: async () => proc && kill(proc.pid),
    restart: async () => {
      if (proc) await stop(proc.pid);
      await start();
    },
    destroy: async () => {
      if (proc) await stop(proc.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
