/** `swarm manage`: validates flags (classic's messages), builds the cluster and serves the API. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from './command';
import { UsageError } from './command';
import { DISCOVERY_OPT_FLAG, discoveryArgument, flagHelp, keyValueOptions, parseFlags, type FlagSpec } from './flags';
import { isAdvertiseAddress } from '../host-port';
import { durationFlag, openDiscovery } from './discovery-flags';
import { Cluster } from '../cluster/cluster';
import { ApiServer, buildRouter, parseListenAddress, type ServerTls } from '../api/server';
import { createFilters, DEFAULT_FILTERS, knownFilters } from '../../filters';
import { createStrategy, DEFAULT_STRATEGY } from '../../strategies';
import { Scheduler } from '../scheduler/scheduler';
import { parseClusterOpts } from '../scheduler/options';
import type { TlsFiles } from '../engine/client';
import { startServices } from '../services';
import { log } from '../log';
import { DEFAULT_BROADCAST_PARALLELISM } from '../api/broadcast-limits';
import { isHostPort } from '../host-port';
import { OpsServer } from '../dashboard/server';
import { registerClusterMetrics } from '../metrics/cluster-metrics';
import { metrics, setLeadership, startProcessMetrics } from '../metrics/registry';
import { createStore } from '../kv';
import { isStoreBackend, storeConfig } from '../kv/config';
import type { Store } from '../kv/store';
import { Leadership, StandaloneRole, type Role } from '../leadership/leadership';
import { ReplicaProxy } from '../api/replica';
import { Rescheduler } from '../cluster/reschedule';
import { onShutdown } from './signals';

const FLAGS: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'string', multiple: true, env: 'SWARM_HOST', default: ['tcp://127.0.0.1:2375'], help: 'ip/socket to listen on' },
  { name: 'strategy', type: 'string', default: DEFAULT_STRATEGY, help: 'placement strategy to use [spread, binpack, random]' },
  { name: 'filter', short: 'f', type: 'string', multiple: true, default: DEFAULT_FILTERS, help: 'filter to use [health, port, containerslots, dependency, affinity, constraint, whitelist]' },
  { name: 'heartbeat', type: 'string', default: '60s', help: 'period between each discovery poll (file, token) and retry delay after a watch error' },
  { name: 'engine-refresh-min-interval', type: 'string', default: '30s', help: 'set engine refresh minimum interval' },
  { name: 'engine-refresh-max-interval', type: 'string', default: '60s', help: 'set engine refresh maximum interval' },
  { name: 'engine-failure-retry', type: 'string', default: '3', help: 'set engine failure retry count' },
  { name: 'engine-refresh-retry', type: 'string', default: '3', help: 'deprecated; use --engine-failure-retry' },
  { name: 'cluster-driver', short: 'c', type: 'string', default: 'swarm', help: 'cluster driver to use [swarm]' },
  { name: 'cluster-opt', type: 'string', multiple: true, default: [], help: 'cluster driver options: swarm.overcommit=0.05, swarm.createretry=0' },
  { name: 'api-enable-cors', aliases: ['cors'], type: 'boolean', default: false, help: 'enable CORS headers in the remote API' },
  { name: 'tls', type: 'boolean', default: false, help: 'use TLS; implied by --tlsverify=true' },
  { name: 'tlsverify', type: 'boolean', default: false, help: 'use TLS and verify the remote' },
  { name: 'tlscacert', type: 'string', help: 'trust only remotes providing a certificate signed by the CA given here' },
  { name: 'tlscert', type: 'string', help: 'path to TLS certificate file' },
  { name: 'tlskey', type: 'string', help: 'path to TLS key file' },
  { name: 'engine-tlscacert', type: 'string', help: 'CA that signed the engines\' certificates, when not --tlscacert (verifies engines)' },
  { name: 'engine-tlscert', type: 'string', help: 'client certificate presented to engines, when not --tlscert' },
  { name: 'engine-tlskey', type: 'string', help: 'key of --engine-tlscert' },
  { name: 'replication', type: 'boolean', default: false, help: 'enable Swarm manager replication' },
  { name: 'replication-ttl', type: 'string', default: '20s', help: 'leader lock release time on failure' },
  { name: 'advertise', aliases: ['addr'], type: 'string', env: 'SWARM_ADVERTISE', help: 'address of the swarm manager joining the cluster' },
  { name: 'refresh-on-node-filter', type: 'boolean', default: false, help: 'accepted for compatibility (state is kept current from engine events)' },
  { name: 'container-name-refresh-filter', type: 'string', default: '', help: 'accepted for compatibility (state is kept current from engine events)' },
  { name: 'metrics-addr', type: 'string', default: '', help: 'serve Prometheus /metrics, /readyz and the live cluster page on host:port (off by default)' },
  { name: 'broadcast-parallelism', type: 'string', default: String(DEFAULT_BROADCAST_PARALLELISM), help: 'engines served at once by docker pull, import and load' },
  { name: 'state-file', type: 'string', env: 'SWARM_STATE_FILE', help: 'file keeping services, tasks and node settings across restarts (KV discovery keeps them in the store instead)' },
  { name: 'ingress-addr', type: 'string', help: 'address the routing mesh listens on for services\' published ports (default: the first -H address\'s IP)' },
  DISCOVERY_OPT_FLAG,
];

const HELP = `Usage: swarm manage [OPTIONS] <discovery>

Manage a docker cluster. <discovery> is one of:
   nodes://<ip1>:<port1>,<ip2>:<port2>   (or a bare list; ranges like 10.0.0.[10:200]:2375)
   file:///path/to/file                  (one address per line)
   consul://<ip>:<port>/<path>, etcd://<ip1>,<ip2>/<path>, zk://<ip1>,<ip2>/<path>, token://<token>
Without <discovery> (and $SWARM_DISCOVERY unset) the manager fronts the engine at $DOCKER_HOST
or unix:///var/run/docker.sock.

Options:
${flagHelp(FLAGS)}
`;

function readFile(path: string, what: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    throw new UsageError(`Couldn't read ${what}: ${(err as Error).message}`);
  }
}

/**
 * Classic's TLS flag rules (reference §7): one key pair serves clients and engines. Beyond
 * classic, --engine-tlscacert/--engine-tlscert/--engine-tlskey give the engine side its own
 * files (engines signed by another CA than the manager's clients); any of them turns on TLS
 * towards engines even without --tls, and an engine CA means engines are verified.
 */
export function loadTls(v: Record<string, unknown>): { server?: ServerTls; engines?: TlsFiles } {
  const tlsverify = Boolean(v.tlsverify);
  const tls = Boolean(v.tls) || tlsverify;
  const cert = v.tlscert as string | undefined;
  const key = v.tlskey as string | undefined;
  const ca = v.tlscacert as string | undefined;
  const engineCaPath = v['engine-tlscacert'] as string | undefined;
  const engineCertPath = v['engine-tlscert'] as string | undefined;
  const engineKeyPath = v['engine-tlskey'] as string | undefined;
  if (Boolean(engineCertPath) !== Boolean(engineKeyPath)) throw new UsageError('--engine-tlscert and --engine-tlskey must be provided together');
  let server: ServerTls | undefined;
  let shared: { cert?: Buffer; key?: Buffer; ca?: Buffer } = {};
  if (!tls) {
    if (cert || key || ca) throw new UsageError('--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify');
  } else {
    if (!cert || !key) throw new UsageError('--tlscert and --tlskey must be provided when using --tls');
    if (tlsverify && !ca) throw new UsageError('--tlscacert must be provided when using --tlsverify');
    shared = { ...readKeyPair(cert, key), ca: ca ? readFile(ca, 'CA certificate') : undefined };
    server = { cert: shared.cert!, key: shared.key!, ca: shared.ca, verify: tlsverify };
  }
  const engineSide = Boolean(engineCaPath || engineCertPath);
  if (!tls && !engineSide) return {};
  const pair = engineCertPath && engineKeyPath ? readKeyPair(engineCertPath, engineKeyPath) : { cert: shared.cert, key: shared.key };
  const engineCa = engineCaPath ? readFile(engineCaPath, 'engine CA certificate') : tlsverify ? shared.ca : undefined;
  return { server, engines: { ...pair, ca: engineCa, verify: engineCa !== undefined } };
}

function readKeyPair(cert: string, key: string): { cert: Buffer; key: Buffer } {
  try {
    const files = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
    crypto.createPrivateKey(files.key);
    new crypto.X509Certificate(files.cert);
    return files;
  } catch (err) {
    throw new UsageError(`Couldn't load X509 key pair (${cert}, ${key}): ${(err as Error).message}. Key encrypted?`);
  }
}

/**
 * TLS towards the single engine manage fronts without a discovery argument, from the docker
 * CLI's environment: DOCKER_TLS_VERIFY (verify with $DOCKER_CERT_PATH/ca.pem) or DOCKER_TLS,
 * with cert.pem and key.pem from $DOCKER_CERT_PATH (default ~/.docker).
 */
function dockerEnvTls(): TlsFiles | undefined {
  const verify = Boolean(process.env.DOCKER_TLS_VERIFY);
  if (!verify && !process.env.DOCKER_TLS) return undefined;
  const dir = process.env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
  const pair = readKeyPair(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'));
  return { ...pair, ca: verify ? readFile(path.join(dir, 'ca.pem'), 'CA certificate') : undefined, verify };
}

/**
 * `--replication`: classic's checks, then a store of its own for the leader lock (for ZooKeeper,
 * a session whose timeout is the lock's TTL).
 */
function replicationStore(discoveryUrl: string, v: Record<string, unknown>, ttlMs: number): { store: Store; prefix: string; advertise: string } {
  const advertise = v.advertise as string | undefined;
  if (!advertise) throw new UsageError('--advertise address must be provided when using --leader-election');
  if (!isAdvertiseAddress(advertise)) throw new UsageError('--advertise should be of the form ip:port or hostname:port');
  const sep = discoveryUrl.indexOf('://');
  const scheme = sep < 0 ? '' : discoveryUrl.slice(0, sep);
  if (!isStoreBackend(scheme)) throw new UsageError('Leader election is only supported with consul, etcd and zookeeper discovery.');
  const options = keyValueOptions((v['discovery-opt'] as string[] | undefined) ?? [], '--discovery-opt');
  try {
    const config = storeConfig(scheme, discoveryUrl.slice(sep + 3), options, Math.min(5000, Math.max(500, ttlMs / 4)));
    return { store: createStore(config, { sessionTimeoutMs: ttlMs }), prefix: config.prefix, advertise };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** With no discovery, front the local engine like `docker` would find it. */
function localEngineDiscovery(): string {
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost) return dockerHost.startsWith('unix://') ? `nodes://${dockerHost}` : dockerHost.replace(/^tcp:\/\//, '');
  if (fs.existsSync('/var/run/docker.sock')) return 'nodes://unix:///var/run/docker.sock';
  throw new UsageError("discovery required to manage a cluster (no $DOCKER_HOST or /var/run/docker.sock to front). See 'swarm manage --help'.");
}

/** The IP of a `-H` address (`tcp://1.2.3.4:2375` -> 1.2.3.4; unix sockets -> 127.0.0.1). */
function listenIp(host: string): string {
  const m = /^(?:tcp:\/\/)?\[?([^\]/]*?)\]?:(\d+)$/.exec(host);
  return m && m[1] ? m[1] : host.startsWith('unix://') ? '127.0.0.1' : '0.0.0.0';
}

/** With KV discovery, services live in the same store, under <prefix>/docker/swarm/services. */
function serviceStateStore(url: string, v: Record<string, unknown>): { store: import('../kv/store').Store; dir: string } | undefined {
  const m = /^(\w+):\/\/(.*)$/.exec(url);
  if (!m || !isStoreBackend(m[1])) return undefined;
  const options = keyValueOptions((v['discovery-opt'] as string[] | undefined) ?? [], '--discovery-opt');
  const config = storeConfig(m[1], m[2], options, 10_000);
  return { store: createStore(config), dir: `${config.prefix}/docker/swarm/services` };
}

export const manageCommand: Command = {
  name: 'manage',
  aliases: ['m'],
  summary: 'Manage a docker cluster',
  help: HELP,
  async run(args: string[]): Promise<void> {
    const { values: v, positionals } = parseFlags(FLAGS, args, 'manage');
    let strategy;
    try {
      strategy = createStrategy(String(v.strategy));
    } catch {
      throw new UsageError('strategy not supported');
    }
    const filters = (v.filter as string[]).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
    for (const f of filters) if (!knownFilters().includes(f)) throw new UsageError('filter not supported');
    // Built once: every placement (create, build, networks, rescheduling) uses this scheduler.
    const scheduler = new Scheduler(createFilters(filters), strategy);
    const refreshMinMs = durationFlag(v, 'engine-refresh-min-interval');
    const refreshMaxMs = durationFlag(v, 'engine-refresh-max-interval');
    if (!(refreshMinMs > 0)) throw new UsageError('min refresh interval should be a positive number');
    if (refreshMaxMs < refreshMinMs) throw new UsageError('max refresh interval cannot be less than min refresh interval');
    const failureRetry = Number(v['engine-failure-retry']);
    if (!Number.isInteger(failureRetry) || failureRetry <= 0) throw new UsageError('invalid failure retry count');
    if (String(v['engine-refresh-retry']) !== '3') throw new UsageError('--engine-refresh-retry is deprecated. Use --engine-failure-retry');
    const heartbeatMs = durationFlag(v, 'heartbeat');
    if (heartbeatMs < 1000) throw new UsageError('--heartbeat should be at least one second');
    if (v['cluster-driver'] !== 'swarm') throw new UsageError(`unsupported cluster "${String(v['cluster-driver'])}"`);
    let schedulerOptions;
    try {
      schedulerOptions = parseClusterOpts(v['cluster-opt'] as string[]);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const replicationTtlMs = durationFlag(v, 'replication-ttl');
    if (!(replicationTtlMs > 0)) throw new UsageError('--replication-ttl should be a positive number');
    const metricsAddr = String(v['metrics-addr'] ?? '');
    if (metricsAddr && !isHostPort(metricsAddr)) throw new UsageError(`--metrics-addr: expected host:port, got "${metricsAddr}"`);
    const broadcastParallelism = Number(v['broadcast-parallelism']);
    if (!Number.isInteger(broadcastParallelism) || broadcastParallelism <= 0) throw new UsageError('--broadcast-parallelism must be a positive integer');
    // Bad -H addresses fail before anything starts (and logs), as one line.
    for (const host of v.host as string[]) {
      try {
        parseListenAddress(host);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const tls = loadTls(v);
    let discoveryUrl = discoveryArgument(positionals);
    if (discoveryUrl === undefined) {
      discoveryUrl = localEngineDiscovery();
      if (!tls.engines && process.env.DOCKER_HOST) tls.engines = dockerEnvTls();
    }
    const replication = v.replication ? replicationStore(discoveryUrl, v, replicationTtlMs) : undefined;
    const discovery = openDiscovery(discoveryUrl, v, { heartbeatMs, ttlMs: 3 * heartbeatMs });

    const cluster = new Cluster({ engine: { refreshMinMs, refreshMaxMs, failureRetry, tls: tls.engines }, scheduler: schedulerOptions }, scheduler);
    const leadership = replication && new Leadership({ ...replication, ttlMs: replicationTtlMs });
    const role: Role = leadership || new StandaloneRole();
    const ingressAddr = String(v['ingress-addr'] ?? '') || listenIp((v.host as string[])[0]);
    const services = await startServices(cluster, {
      kv: serviceStateStore(discoveryUrl, v),
      stateFile: v['state-file'] ? String(v['state-file']) : undefined,
      // Only the primary reconciles; a replica forwards service requests to it.
      isPrimary: () => role.view().role === 'primary',
      ingressAddr,
    });
    const router = buildRouter(cluster, {
      experimental: process.env.SWARM_EXPERIMENTAL === '1',
      role: () => role.view(),
      swarm: { nodes: () => services.store.nodes.size, clusterId: 'swarm-ts', addr: ingressAddr },
    }, { broadcastParallelism }, services.controller);
    // Leadership as /metrics, /readyz and the page see it; a change of primary is a failover.
    setLeadership(() => ({ replicated: Boolean(leadership), leader: role.isPrimary(), primary: role.primaryAddress() ?? '' }));
    let lastPrimary = role.primaryAddress() ?? '';
    let wasPrimary = role.isPrimary();
    role.on('change', () => {
      const primary = role.isPrimary() ? 'self' : role.primaryAddress() ?? '';
      if (primary && lastPrimary && primary !== lastPrimary) metrics.leaderFailovers.inc();
      if (primary) lastPrimary = primary;
      // A replica taking over reads the service state again: the old primary changed it since.
      if (role.isPrimary() && !wasPrimary) services.takeOver();
      wasPrimary = role.isPrimary();
    });
    const ops = metricsAddr ? new OpsServer(cluster, metricsAddr) : undefined;
    // A client request at a replica waits for a primary up to one lock TTL (a crashed primary's
    // lock expiring) plus 5 s for the election, then gets a 503.
    const replica = leadership ? new ReplicaProxy(role, { waitMs: replicationTtlMs + 5000, tls: tls.server }) : undefined;
    const server = new ApiServer(router, { hosts: v.host as string[], cors: Boolean(v['api-enable-cors']), tls: tls.server, replica });
    try {
      await server.listen();
      if (ops) {
        startProcessMetrics();
        registerClusterMetrics(cluster);
        await ops.listen();
      }
    } catch (err) {
      await Promise.all([server.close(), cluster.close()]);
      throw new UsageError((err as Error).message);
    }
    cluster.watch(discovery);
    // Campaign once this manager knows the engines (first discovery answer, each engine tried
    // once; at most 10 s): a primary that knows no engine would refuse every create.
    if (leadership) void cluster.settled(10_000).then(() => leadership.start());
    const rescheduler = new Rescheduler(cluster, role, { store: replication?.store, prefix: replication?.prefix });
    rescheduler.start();
    log.info('Manager started', { discovery: discoveryUrl.replace(/\/\/[^@/]*@/, '//***@'), strategy: strategy.name, filters: filters.join(',') });

    onShutdown(async () => {
      rescheduler.stop();
      // Resign first, so a replica takes over now rather than after the lock's TTL; just before,
      // the service state's last changes are written (bounded), so the next primary reads them.
      if (leadership) {
        if (role.isPrimary()) await Promise.race([services.quiesce(), new Promise((r) => setTimeout(r, 500))]);
        await Promise.race([leadership.resign(), new Promise((r) => setTimeout(r, 2000))]);
        // Keep listening for a moment: forwarded requests get a 421 (and go to the next primary)
        // instead of a connection reset, while the replicas learn who the new primary is.
        await new Promise((r) => setTimeout(r, 1000));
      }
      await Promise.race([server.close(leadership ? 1500 : 0), new Promise((r) => setTimeout(r, 2000))]);
      await Promise.race([Promise.all([ops?.close(), services.close(), cluster.close(), replication?.store.close()]), new Promise((r) => setTimeout(r, 2000))]);
    });
    await new Promise<never>(() => undefined);
  },
};
