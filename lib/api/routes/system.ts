/** /_ping, /version, /info, /events, /auth: the manager's own view of the cluster. */
import os from 'node:os';
import type { ServerResponse } from 'node:http';
import type { Cluster } from '../../cluster/cluster';
import type { ImageRecord } from '../../engine/records';
import type { SchedulerNode } from '../../scheduler/node';
import type { DockerEvent, Engine } from '../../engine/engine';
import { FilterArgs } from '../../docker/filter-args';
import { compileEventFilter } from '../filters/events';
import { ApiError, badRequest, sendJson } from '../errors';
import { BodyWriter } from '../body-writer';
import { forward } from '../forward';
import { bytesSize, naturalCompare } from '../format';
import type { RequestContext, Router } from '../router';
import { API_VERSION, MIN_API_VERSION, SERVER_VERSION_PREFIX } from '../version';
import { GIT_COMMIT, VERSION } from '../../cli/version';

export interface ManagerInfo {
  experimental: boolean;
  /** "primary", or "replica" with the primary's address. */
  role: () => { role: 'primary' | 'replica'; primary?: string };
  /** Swarm-mode services are served (the /info Swarm block and the _ping `Swarm` header say so). */
  swarm?: { nodes: () => number; clusterId: string; addr: string };
}

/** The docker CLI reads `Swarm: active/manager` from _ping before enabling service and node commands. */
function swarmHeader(info: ManagerInfo): Record<string, string> {
  return info.swarm ? { Swarm: 'active/manager' } : { Swarm: 'inactive' };
}

/** /info's Swarm block: active and manager when services are served, else inactive. */
function swarmInfo(info: ManagerInfo): Record<string, unknown> {
  if (!info.swarm) return { LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
  const epoch = '1970-01-01T00:00:00Z';
  return {
    NodeID: '', NodeAddr: info.swarm.addr, LocalNodeState: 'active', ControlAvailable: true, Error: '',
    RemoteManagers: [{ NodeID: '', Addr: info.swarm.addr }], Nodes: info.swarm.nodes(), Managers: 1,
    Cluster: {
      ID: info.swarm.clusterId, Version: { Index: 1 }, CreatedAt: epoch, UpdatedAt: epoch,
      Spec: {
        Name: 'default', Labels: {}, Orchestration: { TaskHistoryRetentionLimit: 5 },
        Raft: { SnapshotInterval: 0, HeartbeatTick: 0, ElectionTick: 0 }, Dispatcher: { HeartbeatPeriod: 0 },
        CAConfig: { NodeCertExpiry: 0 }, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false },
      },
      TLSInfo: {}, RootRotationInProgress: false, DefaultAddrPool: null, SubnetSize: 0, DataPathPort: 0,
    },
  };
}

function pingHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', 'Ostype': 'linux', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' };
}

function ping(ctx: RequestContext, info: ManagerInfo): void {
  ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2', ...pingHeaders(), ...swarmHeader(info) });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

function version(ctx: RequestContext, info: ManagerInfo): void {
  sendJson(ctx.res, 200, {
    Platform: { Name: 'Docker Swarm (swarm-ts)' },
    Version: `${SERVER_VERSION_PREFIX}${VERSION}`,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: GIT_COMMIT,
    GoVersion: `node${process.versions.node}`,
    Os: process.platform,
    Arch: GO_ARCH[os.arch()] ?? os.arch(),
    KernelVersion: os.release(),
    Experimental: info.experimental,
    BuildTime: '',
    Components: [{ Name: 'swarm-ts', Version: VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION } }],
  });
}

/** One engine's SystemStatus lines as JSON array elements, and what they were made from. */
interface EngineStatusJson {
  key: string;
  json: string;
}

/**
 * Kept per engine while nothing its lines show changes: at 5,000 engines a `docker info` during
 * a fill (some engine changes between any two requests) re-rendered 50,000 lines each time.
 */
const engineStatusCache = new WeakMap<Engine, EngineStatusJson>();

/** Tagged images per image list (lists are replaced, never changed). */
const taggedImageCounts = new WeakMap<ImageRecord[], number>();

function taggedImages(images: ImageRecord[]): number {
  let count = taggedImageCounts.get(images);
  if (count === undefined) {
    count = images.filter((i) => (i.RepoTags ?? []).some((t) => t !== '<none>:<none>')).length;
    taggedImageCounts.set(images, count);
  }
  return count;
}

/** An engine's lines of classic's SystemStatus block (reference §5.4), serialised. */
function engineStatusJson(engine: Engine, node: SchedulerNode | undefined): string {
  const key = `${engine.generation}|${engine.updatedAt.getTime()}|${engine.status}|${engine.name}|${engine.lastError}|${node?.usedCpus}|${node?.totalCpus}|${node?.usedMemory}|${node?.totalMemory}`;
  const cached = engineStatusCache.get(engine);
  if (cached?.key === key) return cached.json;
  const { running: r, paused: p, stopped: s } = engine.containers.counts;
  const lines: Array<[string, string]> = [
    [` ${engine.name || '(unknown)'}`, engine.addr],
    ['  └ ID', engine.id || ''],
    ['  └ Status', capitalize(engine.status)],
    ['  └ Containers', engine.isHealthy ? `${engine.containers.size} (${r} Running, ${p} Paused, ${s} Stopped)` : String(engine.containers.size)],
    ['  └ Reserved CPUs', `${formatCpus(node?.usedCpus ?? 0)} / ${formatCpus(node?.totalCpus ?? 0)}`],
    ['  └ Reserved Memory', `${bytesSize(node?.usedMemory ?? 0)} / ${bytesSize(node?.totalMemory ?? 0)}`],
    ['  └ Labels', Object.entries(engine.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(', ')],
  ];
  if (engine.lastError) lines.push(['  └ Error', engine.lastError]);
  lines.push(['  └ UpdatedAt', engine.updatedAt.toISOString().replace(/\.\d+Z$/, 'Z')]);
  lines.push(['  └ ServerVersion', engine.serverVersion]);
  const json = JSON.stringify(lines).slice(1, -1);
  engineStatusCache.set(engine, { key, json });
  return json;
}

/** Engines in natural name order, kept while no engine joins, leaves or is renamed. */
let sortedEngines: { engines: Engine[]; names: string[] } | undefined;

function enginesByName(cluster: Cluster): Engine[] {
  const all = [...cluster.engines.values()];
  const name = (e: Engine): string => e.name || '(unknown)';
  const cached = sortedEngines;
  if (cached && cached.engines.length === all.length && cached.engines.every((e, i) => cluster.engines.get(e.addr) === e && name(e) === cached.names[i])) return cached.engines;
  const engines = all.sort((a, b) => naturalCompare(name(a), name(b)));
  sortedEngines = { engines, names: engines.map(name) };
  return engines;
}

/** Where the serialised SystemStatus array goes in clusterInfo's body. */
const SYSTEM_STATUS_SLOT = '"SystemStatus":"\\u0000"';

/**
 * `docker info`: cluster totals plus classic's per-node SystemStatus block (reference §5.4).
 * SystemStatus is given apart, serialised (`systemStatus`), and the body holds a placeholder
 * for it (SYSTEM_STATUS_SLOT): each engine's lines are kept serialised (see engineStatusJson).
 */
export function clusterInfo(cluster: Cluster, info: ManagerInfo): { body: Record<string, unknown>; systemStatus: string } {
  const engines = enginesByName(cluster);
  const role = info.role();
  const head: Array<[string, string]> = [['Role', role.role]];
  if (role.primary) head.push(['Primary', role.primary]);
  const policy = cluster.placementPolicy();
  head.push(['Strategy', policy.strategy], ['Filters', policy.filters.join(', ')], ['Nodes', String(engines.length)]);
  const parts = [JSON.stringify(head).slice(1, -1)];
  const nodes = new Map(cluster.nodes().map((n) => [n.id, n]));
  let containers = 0, running = 0, paused = 0, stopped = 0, images = 0, ncpu = 0, mem = 0;
  for (const engine of engines) {
    const { running: r, paused: p, stopped: s } = engine.containers.counts;
    const node = engine.status === 'pending' ? undefined : nodes.get(engine.id);
    parts.push(engineStatusJson(engine, node));
    if (engine.status !== 'pending') {
      containers += engine.containers.size;
      running += r;
      paused += p;
      stopped += s;
      images += taggedImages(engine.images);
      ncpu += node?.totalCpus ?? 0;
      mem += node?.totalMemory ?? 0;
    }
  }
  const status: Array<[string, string]> = [];
  if (cluster.discoveryError) status.push(['Discovery Error', cluster.discoveryError]);
  if (status.length > 0) parts.push(JSON.stringify(status).slice(1, -1));
  const systemStatus = `[${parts.join(',')}]`;
  const body = {
    ID: `swarm-ts:${os.hostname()}`,
    Containers: containers,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: stopped,
    Images: images,
    Driver: '',
    DriverStatus: [],
    SystemStatus: '\u0000',
    Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    IPv4Forwarding: true,
    BridgeNfIptables: true,
    BridgeNfIp6tables: true,
    Debug: false,
    NFd: 0,
    OomKillDisable: true,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: '',
    CgroupDriver: '',
    NEventsListener: cluster.events.listenerCount,
    KernelVersion: os.release(),
    OperatingSystem: os.type(),
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    NCPU: Math.floor(ncpu),
    MemTotal: mem,
    DockerRootDir: '',
    HttpProxy: process.env.HTTP_PROXY ?? process.env.http_proxy ?? '',
    HttpsProxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '',
    NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: info.experimental,
    ServerVersion: `${SERVER_VERSION_PREFIX}${VERSION}`,
    Runtimes: {},
    DefaultRuntime: '',
    Swarm: swarmInfo(info),
    LiveRestoreEnabled: false,
    Isolation: '',
    SecurityOptions: [],
    Warnings: cluster.discoveryError ? [`WARNING: discovery is unreachable: ${cluster.discoveryError}`] : [],
  };
  return { body, systemStatus };
}

/** Docker reports Go's architecture names. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function formatCpus(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : cpus.toFixed(2);
}

const INT64_MAX = 2n ** 63n - 1n;
/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Docker accepts unix seconds with an optional fraction (the CLI converts durations and dates). */
function parseTimestamp(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) {
    // dockerd parses the seconds as an int64 (and refuses more); so do we, as a 400.
    if (BigInt(value.split('.')[0]) > INT64_MAX) throw badRequest(`invalid value for ${name}: ${value}: value out of range`);
    return Math.round(Number(value) * 1e9);
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw badRequest(`invalid value for ${name}: ${value}`);
  return ms * 1e6;
}

/** An event's JSON line, kept on the event under a symbol (JSON.stringify skips symbol keys). */
const LINE = Symbol('events line');

/** Serialised and encoded once, whatever the number of subscribers that receive it. */
function eventLine(event: DockerEvent & { [LINE]?: Buffer }): Buffer {
  return (event[LINE] ??= Buffer.from(JSON.stringify(event) + '\n'));
}

/** How long a subscriber's lines are gathered before they are written together. */
const EVENTS_FLUSH_MS = 10;

/**
 * `docker events`: replays history from `since`, then streams live events until `until`, one
 * JSON object per line, filtered as Docker does (plus a `node` filter).
 *
 * Lines are gathered for EVENTS_FLUSH_MS and written together: in an event storm (1,000
 * engines, 10 events/s each) one write per event per subscriber spent a third of the manager's
 * CPU in socket writes.
 */
function events(cluster: Cluster, ctx: RequestContext): void {
  const since = parseTimestamp(ctx.query.get('since'), 'since');
  const until = parseTimestamp(ctx.query.get('until'), 'until');
  const matches = compileEventFilter(FilterArgs.parse(ctx.query.get('filters')));
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  // Gathered into the body writer's reused chunks: one write per flush, no fresh memory per batch.
  const out = new BodyWriter(res);
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!res.writableEnded && !res.destroyed) out.send();
  };
  const write = (event: DockerEvent): void => {
    if (!matches(event)) return;
    out.appendBytes(eventLine(event));
    flushTimer ??= setTimeout(flush, EVENTS_FLUSH_MS);
  };
  const end = (): void => {
    clearTimeout(flushTimer);
    if (!res.writableEnded && !res.destroyed) out.end();
  };
  if (since !== undefined) for (const event of cluster.events.replay(since, until)) write(event);
  const nowNano = Date.now() * 1e6;
  if (until !== undefined && until <= nowNano) {
    end();
    return;
  }
  const unsubscribe = cluster.events.subscribe(write);
  let timer: NodeJS.Timeout | undefined;
  // setTimeout fires at once for delays over 2^31-1 ms (~24.8 days): wait in steps instead.
  const endAtUntil = (): void => {
    const left = ((until ?? 0) - Date.now() * 1e6) / 1e6;
    if (left <= 0) end();
    else timer = setTimeout(endAtUntil, Math.min(left, MAX_TIMER_MS));
  };
  if (until !== undefined) endAtUntil();
  res.on('close', () => {
    unsubscribe();
    clearTimeout(timer);
    clearTimeout(flushTimer);
  });
}

/**
 * `docker info` answered from a body kept until the cluster changes. At 5,000 engines the body
 * is ~2.5 MB (ten SystemStatus lines per engine): building and encoding it for each of 200
 * concurrent clients held the event loop for tens of milliseconds each time. The key sums the
 * engines' generations (every change an engine sees bumps its own), so a change anywhere,
 * including a create this manager just made, is visible to the next read. Only SystemTime is
 * filled in per request.
 *
 * A node's UpdatedAt (its last refresh) moves without a generation: each engine is refreshed
 * every 30-60 s, so at 1,000 engines some UpdatedAt moves every 40 ms, and keyed on it the body
 * was rebuilt for nearly every request. It is reused for up to STAMPS_STALE_MS while only those
 * times moved; a pending engine's failed validation, which also sets its error without a
 * generation, shows as soon.
 */
const STAMPS_STALE_MS = 1000;

function infoSender(cluster: Cluster, info: ManagerInfo): (res: ServerResponse) => Promise<void> {
  const TIME_SLOT = '"SystemTime":"\\u0000"';
  let cached: { key: string; stamps: number; builtAt: number; head: Buffer; tail: Buffer } | undefined;
  return (res) => {
    let generations = 0;
    let stamps = 0;
    for (const engine of cluster.engines.values()) {
      generations += engine.generation;
      stamps += engine.updatedAt.getTime();
    }
    const role = info.role();
    const key = `${generations}|${cluster.engines.size}|${role.role}|${role.primary ?? ''}|${cluster.discoveryError}`;
    const now = Date.now();
    if (cached?.key !== key || (cached.stamps !== stamps && now - cached.builtAt >= STAMPS_STALE_MS)) {
      const { body, systemStatus } = clusterInfo(cluster, info);
      const json = JSON.stringify({ ...body, SystemTime: '\u0000' }).replace(SYSTEM_STATUS_SLOT, () => `"SystemStatus":${systemStatus}`);
      const at = json.indexOf(TIME_SLOT);
      cached = { key, stamps, builtAt: now, head: Buffer.from(json.slice(0, at)), tail: Buffer.from(json.slice(at + TIME_SLOT.length)) };
    }
    const { head, tail } = cached;
    const time = Buffer.from(`"SystemTime":${JSON.stringify(new Date().toISOString())}`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': head.length + time.length + tail.length });
    // Written by the shared body driver: 200 clients asking at once do not each hold the loop
    // for a write of the whole body before /_ping gets its turn.
    const out = new BodyWriter(res);
    return out.produce(() => {
      out.appendBytes(head);
      out.appendBytes(time);
      out.appendBytes(tail);
      return true;
    });
  };
}

export function systemRoutes(router: Router, cluster: Cluster, info: ManagerInfo): void {
  const sendInfo = infoSender(cluster, info);
  router
    .get('/_ping', (ctx) => ping(ctx, info))
    .get('/version', (ctx) => version(ctx, info))
    .get('/info', (ctx) => sendInfo(ctx.res))
    .get('/events', (ctx) => events(cluster, ctx))
    .post('/auth', (ctx) => {
      const engine = cluster.healthyEngines()[0];
      if (!engine) throw new ApiError(503, 'No healthy node available in the cluster');
      forward(ctx, engine, '/auth');
    });
}
