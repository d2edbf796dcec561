/**
 * A real etcd 3.4 for tests: free loopback ports, its own data dir. stop()/kill() and restart()
 * (same ports, same data dir) produce a store outage and recovery.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isPortOpen } from './ports';
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

export interface EtcdOptions {
  /** Serve clients over TLS and require a client certificate signed by `ca`. */
  tls?: { ca: string; cert: string; key: string };
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-ts-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'swarm-ts-test',
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `swarm-ts-test=${peer}`,
    ...(options.tls
      ? ['--cert-file', options.tls.cert, '--key-file', options.tls.key, '--trusted-ca-file', options.tls.ca, '--client-cert-auth']
      : []),
  ];
  // Readiness: with TLS, /health needs a client certificate, so wait for the port instead.
  const ready = async (): Promise<boolean> => {
    if (options.tls) return isPortOpen(clientPort);
    const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  };
  let proc: TrackedProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawnTracked({ name: 'etcd', command: 'etcd', args, logDir: dir });
    const started = proc;
    await waitFor(async () => {
      if (!started.isRunning()) throw new Error(`etcd exited: see ${started.logFile}`);
      return ready();
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
