/**
 * Discovery latency through the real manager, per backend, over N rounds (p50/p99/max):
 *   join  : `swarm join` started -> the engine listed in the manager's GET /info (docker info)
 *   expiry: the join killed -> its registration gone from the store (the TTL at work)
 *   drop  : registration gone -> the engine gone from GET /info (the manager's reaction)
 * file has no join/TTL: "join" is the line written, "drop" the line removed.
 * token and file are polled by the manager every --heartbeat (1s); KV backends are watched.
 *
 *   npm run build && node dist/bench/discovery.js [rounds=10] [backends=etcd,zk,consul,token,file]
 *
 * Uses one real dockerd engine, real etcd and ZooKeeper, the Consul double, `swarm token-server`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { storeConfig, type StoreBackend } from '../lib/kv/config';
import { createStore } from '../lib/kv';
import type { Store } from '../lib/kv/store';
import { startConsulDouble } from '../testbed/consul-double';
import { startEngines, type EngineHandle } from '../testbed/engines';
import { startEtcd } from '../testbed/etcd';
import { startManager, type ManagerHandle } from '../testbed/manager';
import { freePort } from '../testbed/ports';
import { stopAll } from '../testbed/processes';
import { startSwarm, swarm } from '../testbed/swarm-cli';
import { waitFor } from '../testbed/wait';
import { startZookeeper } from '../testbed/zookeeper';

const HEARTBEAT = '1s';
const TTL = '3s';
const POLL_MS = 20;

type Sample = { join: number; expiry?: number; drop: number };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted[sorted.length - 1]} ms`;
}

async function listed(manager: ManagerHandle, addr: string): Promise<boolean> {
  const info = (await manager.docker().info()) as { SystemStatus: Array<[string, string]> };
  return info.SystemStatus.some(([key, value]) => key.startsWith(' ') && !key.startsWith('  ') && value === addr);
}

async function elapsedUntil(check: () => Promise<boolean>, what: string): Promise<number> {
  const started = Date.now();
  await waitFor(check, 30_000, what, POLL_MS);
  return Date.now() - started;
}

/** One round with a join: start it, see the engine, kill it, see the key expire and the engine go. */
async function joinRound(manager: ManagerHandle, engine: EngineHandle, discovery: string, keyGone: () => Promise<boolean>, env: Record<string, string> = {}): Promise<Sample> {
  const joinProcess = startSwarm('bench-join', ['join', '--advertise', engine.addr, '--heartbeat', HEARTBEAT, '--ttl', TTL, discovery], env);
  const join = await elapsedUntil(() => listed(manager, engine.addr), 'the engine in docker info');
  await joinProcess.kill();
  const expiry = await elapsedUntil(keyGone, 'the registration to expire');
  const drop = await elapsedUntil(async () => !(await listed(manager, engine.addr)), 'the manager to drop the engine');
  return { join, expiry, drop };
}

async function kvBackend(backend: StoreBackend, endpoint: string, engine: EngineHandle, rounds: number): Promise<Sample[]> {
  const discovery = `${backend}://${endpoint}/bench`;
  const manager = await startManager(['--heartbeat', HEARTBEAT, discovery]);
  const store: Store = createStore(storeConfig(backend, endpoint, {}, 2000));
  try {
    const samples: Sample[] = [];
    for (let i = 0; i < rounds; i++) {
      samples.push(await joinRound(manager, engine, discovery, async () => (await store.get(`bench/docker/swarm/nodes/${engine.addr}`)) === undefined));
    }
    return samples;
  } finally {
    await store.close();
    await manager.stop();
  }
}

const BACKENDS: Record<string, (engine: EngineHandle, rounds: number) => Promise<Sample[]>> = {
  etcd: async (engine, rounds) => {
    const etcd = await startEtcd();
    try {
      return await kvBackend('etcd', etcd.endpoint, engine, rounds);
    } finally {
      await etcd.destroy();
    }
  },
  zk: async (engine, rounds) => {
    const zk = await startZookeeper();
    try {
      return await kvBackend('zk', zk.endpoint, engine, rounds);
    } finally {
      await zk.destroy();
    }
  },
  consul: async (engine, rounds) => {
    const consul = await startConsulDouble({ sessionTtlMinMs: 1000 });
    try {
      return await kvBackend('consul', consul.endpoint, engine, rounds);
    } finally {
      await consul.stop();
    }
  },
  token: async (engine, rounds) => {
    const port = await freePort();
    const server = startSwarm('bench-token-server', ['token-server', '--addr', `127.0.0.1:${port}`]);
    const url = `http://127.0.0.1:${port}/v1`;
    try {
      await waitFor(() => server.logs().includes('Token server listening'), 10_000, 'the token server');
      const token = (await swarm(['create'], { env: { SWARM_TOKEN_URL: url } })).stdout.trim();
      const manager = await startManager(['--heartbeat', HEARTBEAT, '--discovery-opt', `token.url=${url}`, `token://${token}`]);
      try {
        const samples: Sample[] = [];
        const gone = async (): Promise<boolean> => !((await (await fetch(`${url}/clusters/${token}`)).json()) as string[]).includes(engine.addr);
        for (let i = 0; i < rounds; i++) samples.push(await joinRound(manager, engine, `token://${token}`, gone, { SWARM_TOKEN_URL: url }));
        return samples;
      } finally {
        await manager.stop();
      }
    } finally {
      await server.stop();
    }
  },
  file: async (engine, rounds) => {
    const dir = mkdtempSync(joinPath(tmpdir(), 'swarm-ts-bench-file-'));
    const file = joinPath(dir, 'cluster');
    writeFileSync(file, '');
    const manager = await startManager(['--heartbeat', HEARTBEAT, `file://${file}`]);
    try {
      const samples: Sample[] = [];
      for (let i = 0; i < rounds; i++) {
        writeFileSync(file, `${engine.addr}\n`);
        const join = await elapsedUntil(() => listed(manager, engine.addr), 'the engine in docker info');
        writeFileSync(file, '');
        const drop = await elapsedUntil(async () => !(await listed(manager, engine.addr)), 'the manager to drop the engine');
        samples.push({ join, drop });
      }
      return samples;
    } finally {
      await manager.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 10);
  const names = (process.argv[3] ?? Object.keys(BACKENDS).join(',')).split(',');
  const engines = await startEngines(1);
  try {
    process.stdout.write(`discovery latency, ${rounds} rounds per backend, --heartbeat ${HEARTBEAT} --ttl ${TTL}, polling every ${POLL_MS} ms\n`);
    for (const name of names) {
      const run = BACKENDS[name];
      if (!run) throw new Error(`unknown backend ${name} (known: ${Object.keys(BACKENDS).join(', ')})`);
      const samples = await run(engines.engines[0], rounds);
      process.stdout.write(`${name.padEnd(6)} join->info   ${summary(samples.map((s) => s.join))}\n`);
      const expiries = samples.flatMap((s) => (s.expiry === undefined ? [] : [s.expiry]));
      if (expiries.length) process.stdout.write(`${''.padEnd(6)} kill->expiry ${summary(expiries)}\n`);
      process.stdout.write(`${''.padEnd(6)} ${name === 'file' ? 'line removed->drop' : 'expiry->drop'} ${summary(samples.map((s) => s.drop))}\n`);
    }
  } finally {
    await engines.stop();
    await stopAll();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.message}\n`);
  process.exitCode = 1;
});
