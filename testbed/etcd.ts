/**
 * A real etcd 3.4 for tests: free loopback ports, its own data dir. stop()/kill() and restart()
 * (same ports, same data dir) produce a store outage and recovery.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isPortOpen } from './ports';
import { startRestartable, type RestartableServer } from './restartable';

export interface EtcdServer extends RestartableServer {
  /** host:port of the client endpoint. */
  endpoint: string;
  dataDir: string;
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
  const server = await startRestartable({ name: 'etcd', command: 'etcd', args, dir, ready, readyTimeoutMs: 20_000, what: `etcd on ${client}` });
  return { ...server, endpoint: `127.0.0.1:${clientPort}`, dataDir: join(dir, 'data') };
}
