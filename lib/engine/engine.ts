/**
 * One managed Docker engine: validation, health tracking, and the in-memory copy of its
 * containers, images, networks and volumes, kept current from its event stream plus a periodic
 * jittered refresh. Everything the manager answers from memory (ps, info, images) comes from here.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import split2 from 'split2';
import type Dockerode from 'dockerode';
import { EngineClient, describeEngineError, ensureOk, isConnectionError, type JsonResponse, type RequestOptions, type TlsFiles } from './client';
import { ContainerStore } from './container-store';
import { containerFromInspect, containerFromSummary, createdOrder, type ContainerRecord, type ContainerState, type ImageRecord, type NetworkRecord, type VolumeRecord } from './records';
import { RESCHEDULE_LABEL, SERVICE_ID_LABEL } from '../swarm-labels';
import { Gate, RateBudget } from '../gate';
import { RefreshClock, refreshClockFor } from './refresh-clock';
import { log } from '../log';
import { metrics } from '../metrics/registry';

/** How long events about containers are gathered before their details are re-inspected. */
const DETAIL_DELAY_MS = 100;
/** Detail inspects in flight per engine. */
const DETAIL_CONCURRENCY = 4;

/**
 * At most this many detail inspects in flight across all engines: in an event storm (every
 * engine's containers starting and dying) details lag behind, but the state shown by `ps` does
 * not (it comes from the events), and the manager's CPU stays with the requests it serves.
 */
const detailGate = new Gate(32);

/**
 * Image ID -> nanosecond creation time, for all engines: an image ID names its content, so one
 * inspect serves every engine that has it (5,000 engines with the same base image asked 5,000
 * times at start-up). Bounded: the oldest entries go first, and cost one inspect if seen again.
 */
const imageCreated = new Map<string, string>();
const IMAGE_CREATED_KEPT = 20_000;

function rememberImageCreated(id: string, order: string): void {
  imageCreated.set(id, order);
  if (imageCreated.size > IMAGE_CREATED_KEPT) imageCreated.delete(imageCreated.keys().next().value as string);
}

/** Background inspects of containers first known from an engine's list (see refreshAll), across all engines. */
const listedGate = new Gate(8);

/**
 * While an engine's event stream stays open, its events keep its containers, images, networks
 * and volumes up to date, so the periodic refresh lists them only every this many times, as a
 * safety net, and in between only pings the engine (its health). At 5,000 engines the four lists
 * per period were ~450 calls/s and a third of an idle manager's CPU; with containers listed on
 * every refresh, an idle manager there allocated ~15 MB/s (~10 MB/s with pings in between).
 */
const LISTS_EVERY_REFRESHES = 4;

/**
 * The safety-net lists above, across all engines, per second at most. Below ~1,800 engines (30-60 s
 * refresh) every 4th refresh lists; above, the budget spreads the lists out, so an idle manager's
 * background work stops growing with the cluster: at 5,000 engines / 150,000 containers the
 * container lists were most of its ~10 MB/s of garbage, and each young collection that garbage
 * causes pauses every request for 7-13 ms. An engine refused a list pings and asks again at its
 * next refresh. Lists after a broken event stream are not counted here: they always run.
 */
const SAFETY_NET_LISTS_PER_SECOND = 10;
const sharedSafetyNetBudget = new RateBudget(SAFETY_NET_LISTS_PER_SECOND);

export type EngineStatus = 'pending' | 'healthy' | 'unhealthy' | 'disconnected';

export interface EngineOptions {
  refreshMinMs: number;
  refreshMaxMs: number;
  /** Consecutive connection failures before the engine is flagged unhealthy. */
  failureRetry: number;
  tls?: TlsFiles;
  /** The safety-net lists' budget (see SAFETY_NET_LISTS_PER_SECOND); one for all engines unless given. */
  safetyNetBudget?: RateBudget;
}

/** A Docker event as engines emit it (API >= 1.22 shape). */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  status?: string;
  id?: string;
  from?: string;
  scope?: string;
  time: number;
  timeNano: number;
  [key: string]: unknown;
}

/** Emitted events: 'connect' | 'disconnect' | 'reconnect' (health transitions), 'event' (DockerEvent), 'change'. */
export class Engine extends EventEmitter {
  readonly client: EngineClient;
  status: EngineStatus = 'pending';
  /** `<docker ID>|<addr>`, known after validation. */
  id = '';
  name = '';
  /** The address's host: fixed for the engine's life (ps rows cached per engine rely on it). */
  readonly ip: string;
  cpus = 0;
  memory = 0;
  labels: Record<string, string> = {};
  serverVersion = '';
  apiVersion = '';
  osType = '';
  lastError = '';
  failureCount = 0;
  updatedAt = new Date();
  /** Indexed by the labels background loops scan for (see ContainerStore). */
  readonly containers = new ContainerStore([RESCHEDULE_LABEL, SERVICE_ID_LABEL]);
  images: ImageRecord[] = [];
  networks = new Map<string, NetworkRecord>();
  volumes = new Map<string, VolumeRecord>();
  /** Bumped on every state change; lets the cluster cache derived views (scheduler nodes). */
  generation = 0;
  /**
   * Containers replaced elsewhere (rescheduled away from this engine while it was down): kept
   * out of this engine's view, so their names and swarm IDs are free, until they are removed.
   */
  readonly disowned = new Set<string>();

  /** The shared timer of the periodic refresh, and this engine's task on it (made once: see RefreshClock). */
  private readonly refreshClock: RefreshClock;
  private readonly refreshTask = (): void => void this.refresh();
  private probeTimer?: NodeJS.Timeout;
  private eventStream?: Readable;
  /** When the current event stream opened (see LISTS_EVERY_REFRESHES). */
  private eventStreamSince = 0;
  /** When the periodic refresh last listed images, networks and volumes, and how many refreshes skipped them since. */
  private listsRefreshedAt = 0;
  private refreshesWithoutLists = 0;
  private lastEventTime = 0;
  /**
   * The lines of the events stamped `lastEventTime` (a second). A new subscription asks for
   * `since=lastEventTime`, and dockerd replays that whole second: these lines are the ones
   * already handled, dropped when they come again (they reached /events twice).
   */
  private lastSecondLines = new Set<string>();
  /** Whether an event stream was ever open: later openings are reconnects (a metric). */
  private eventStreamOpened = false;
  private stopped = false;
  /** An event subscription is open or being opened (see startEventMonitor). */
  private monitoring = false;
  private readonly inspecting = new Map<string, Promise<void>>();
  /** Containers known from the engine's list only, waiting for their inspect (see refreshAll). */
  private readonly listedOnly = new Set<string>();
  private readonly pendingLists = new Set<'images' | 'networks' | 'volumes'>();
  /** Containers whose details an event made stale, inspected together (see refreshLater). */
  private readonly staleIds = new Set<string>();
  private staleTimer?: NodeJS.Timeout;
  private listTimer?: NodeJS.Timeout;
  /**
   * A digest of each list's last answer. An answer equal to the last one is not parsed, and the
   * objects from the last one are kept: at 5,000 idle engines, lists replaced by equal copies
   * were most of what each young-generation collection had to copy and promote (~1.3 of 1.5 MB),
   * and then garbage for the next full collection.
   */
  private readonly listDigests = new Map<'images' | 'networks' | 'volumes', string>();

  constructor(readonly addr: string, private readonly options: EngineOptions) {
    super();
    this.client = new EngineClient(addr, options.tls);
    this.ip = this.client.endpoint.host ?? '127.0.0.1';
    this.refreshClock = refreshClockFor(options.refreshMinMs);
  }

  get docker(): Dockerode {
    return this.client.docker;
  }

  /** 0 (unusable) .. 100, classic's HealthIndicator. */
  get healthIndicator(): number {
    if (this.status !== 'healthy' || this.failureCount >= this.options.failureRetry) return 0;
    return 100 - Math.floor((this.failureCount * 100) / this.options.failureRetry);
  }

  get isHealthy(): boolean {
    return this.status === 'healthy';
  }

  /** Validated and not removed: healthy or unhealthy (its state is known and listed). */
  get isValidated(): boolean {
    return this.status === 'healthy' || this.status === 'unhealthy';
  }

  /**
   * Reads /version and /info, pins the API version, checks resources. Throws on failure; the
   * engine stays pending (updateSpecs refuses an engine whose Docker ID changed).
   */
  async validate(): Promise<void> {
    try {
      await this.readVersionAndSpecs();
    } catch (err) {
      throw new Error(describeEngineError(err, this.addr, this.client.protocol === 'https'));
    }
  }

  private async readVersionAndSpecs(): Promise<void> {
    const version = (await this.call(() => this.client.docker.version())) as Dockerode.DockerVersion & { ApiVersion: string; Os: string };
    this.client.setApiVersion(version.ApiVersion);
    this.apiVersion = version.ApiVersion;
    this.serverVersion = version.Version;
    await this.updateSpecs();
  }

  private async updateSpecs(): Promise<void> {
    const info = (await this.call(() => this.client.docker.info())) as Record<string, unknown>;
    const ncpu = Number(info.NCPU ?? 0);
    const mem = Number(info.MemTotal ?? 0);
    if (!ncpu || !mem) throw new Error(`cannot get resources for this engine, make sure ${this.addr} is a Docker Engine, not a Swarm manager`);
    const id = `${String(info.ID)}|${this.addr}`;
    if (this.id && this.id !== id) {
      throw new Error(`Engine (ID: ${this.id}, Addr: ${this.addr}) shows up with another ID:${id}. Please remove it from cluster, it can be added back.`);
    }
    const labels: Record<string, string> = {};
    for (const label of (info.Labels as string[] | null) ?? []) {
      const eq = label.indexOf('=');
      if (eq <= 0) throw new Error(`Engine ${this.addr} contains an invalid label (${label}) not formatted as "key=value".`);
      const key = label.slice(0, eq);
      if (key === 'node') {
        log.warn('Engine label "node" is reserved and ignored', { addr: this.addr });
        continue;
      }
      labels[key] = label.slice(eq + 1);
    }
    const builtins: Record<string, unknown> = {
      storagedriver: info.Driver,
      kernelversion: info.KernelVersion,
      operatingsystem: info.OperatingSystem,
      ostype: info.OSType,
    };
    for (const [key, value] of Object.entries(builtins)) if (value) labels[key] = String(value);
    this.id = id;
    this.name = String(info.Name ?? '');
    this.cpus = ncpu;
    this.memory = mem;
    this.osType = String(info.OSType ?? '');
    this.labels = labels;
    this.touch();
  }

  /** Validated: start the event monitor, load all state, become healthy, start refreshing. */
  async start(): Promise<void> {
    this.stopped = false;
    this.startEventMonitor();
    await this.refreshAll(true);
    this.setStatus('healthy');
    this.scheduleRefresh();
  }

  /** Stops loops and streams (engine removed from discovery or manager shutting down). */
  stop(): void {
    this.stopped = true;
    this.status = 'disconnected';
    this.refreshClock.cancel(this.refreshTask);
    clearTimeout(this.probeTimer);
    clearTimeout(this.listTimer);
    clearTimeout(this.staleTimer);
    this.eventStream?.destroy();
    this.client.close();
  }

  // ---- health -------------------------------------------------------------------------------

  /** Runs an engine API call and feeds the outcome into health tracking. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.recordSuccess();
      return result;
    } catch (err) {
      this.recordFailure(err);
      throw err;
    }
  }

  /**
   * `GET /_ping`, counted for health. Through the engine's own request path, as the lists: the
   * refresh pings ~110 engines a second at 5,000, and docker-modem formats every request's
   * options with util.inspect.
   */
  private async ping(): Promise<void> {
    await this.call(async () => ensureOk(await this.client.request('GET', '/_ping')));
  }

  /** A raw API call on this engine, counted for health (see EngineClient.request). */
  request(method: string, path: string, options?: RequestOptions): Promise<JsonResponse> {
    return this.call(() => this.client.request(method, path, options));
  }

  /** A streamed API call on this engine (see EngineClient.stream), counted for health. */
  stream(method: string, path: string, options?: Parameters<EngineClient['stream']>[2]): Promise<IncomingMessage> {
    return this.call(() => this.client.stream(method, path, options));
  }

  recordSuccess(): void {
    if (this.failureCount === 0 && this.status !== 'unhealthy') return;
    const wasUnhealthy = this.status === 'unhealthy';
    const retries = this.failureCount;
    this.failureCount = 0;
    this.lastError = '';
    if (wasUnhealthy) {
      this.setStatus('healthy');
      log.info(`Engine came back to life after ${retries} retries. Hooray!`, { name: this.name, addr: this.addr });
      this.emit('reconnect');
      this.startEventMonitor();
      void this.refreshAll(false).catch(() => undefined);
    }
    this.touch();
  }

  recordFailure(err: unknown): void {
    if (!isConnectionError(err)) return;
    this.failureCount++;
    this.lastError = (err as Error).message ?? String(err);
    this.touch();
    if (this.status === 'healthy' && this.failureCount >= this.options.failureRetry) {
      log.warn(`Flagging engine as unhealthy. Connect failed ${this.failureCount} times`, { name: this.name, addr: this.addr, error: this.lastError });
      this.setStatus('unhealthy');
      this.emit('disconnect');
    }
  }

  /**
   * A dropped event stream is the earliest sign of a dead engine: ping every second until the
   * engine answers or is flagged unhealthy (classic waited for 3 refresh periods, 90-180s).
   */
  private probe(): void {
    clearTimeout(this.probeTimer);
    if (this.stopped) return;
    const { failureRetry } = this.options;
    const delay = this.failureCount === 0 ? 50 : Math.min(1000 * 2 ** Math.max(0, this.failureCount - failureRetry), 10_000);
    this.probeTimer = setTimeout(async () => {
      try {
        await this.ping();
        this.startEventMonitor();
      } catch {
        this.probe();
      }
    }, delay);
  }

  private setStatus(status: EngineStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.touch();
  }

  private touch(): void {
    this.updatedAt = new Date();
    this.generation++;
    this.emit('change');
  }

  // ---- events -------------------------------------------------------------------------------

  /**
   * Subscribes to the engine's events: one subscription at a time. The probe, a recovered call
   * (recordSuccess) and the refresh loop may all ask for it while `getEvents` is still
   * connecting, so "started" is recorded before that call, not when its stream arrives
   * (otherwise each asker opened its own stream, and every event arrived twice or thrice).
   */
  private startEventMonitor(): void {
    if (this.stopped || this.monitoring) return;
    this.monitoring = true;
    const since = this.lastEventTime ? String(this.lastEventTime) : undefined;
    this.client.docker.getEvents(since ? { since: Number(since) } : {}).then(
      (raw) => {
        const stream = raw as Readable;
        if (this.stopped) {
          this.monitoring = false;
          return stream.destroy();
        }
        this.eventStream = stream;
        this.eventStreamSince = Date.now();
        if (this.eventStreamOpened) metrics.eventStreamReconnects.inc({ engine: this.name });
        this.eventStreamOpened = true;
        // split2 decodes UTF-8 across chunk boundaries: a multi-byte character split between
        // two chunks stays whole (chunk.toString() per chunk corrupted it and lost the event).
        stream.pipe(split2()).on('data', (line: string) => {
          if (line.trim()) this.handleEventLine(line.trim());
        });
        const ended = (): void => {
          if (this.eventStream !== stream) return;
          this.eventStream = undefined;
          this.monitoring = false;
          if (!this.stopped) this.probe();
        };
        stream.on('end', ended);
        stream.on('close', ended);
        stream.on('error', ended);
      },
      (err) => {
        this.monitoring = false;
        this.recordFailure(err);
        clearTimeout(this.probeTimer);
        if (!this.stopped) this.probeTimer = setTimeout(() => this.probe(), 1000);
      },
    );
  }

  /** Number of event subscriptions open or being opened (0 or 1); for tests and metrics. */
  get eventSubscriptions(): number {
    return this.monitoring ? 1 : 0;
  }

  private handleEventLine(line: string): void {
    let event: DockerEvent;
    try {
      event = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    const second = event.time ?? 0;
    if (second > this.lastEventTime) {
      this.lastEventTime = second;
      this.lastSecondLines = new Set([line]);
    } else if (second === this.lastEventTime && second > 0) {
      if (this.lastSecondLines.has(line)) return;
      this.lastSecondLines.add(line);
    }
    this.applyEvent(event);
    this.emit('event', event);
  }

  /** Container actions that change nothing the manager caches. */
  private static readonly INERT_ACTIONS = new Set([
    'top', 'resize', 'export', 'attach', 'detach', 'copy', 'archive-path', 'extract-to-dir', 'commit',
  ]);

  private applyEvent(event: DockerEvent): void {
    const id = event.Actor?.ID ?? event.id ?? '';
    switch (event.Type) {
      case 'container': {
        if (event.Action === 'destroy') {
          if (this.containers.delete(id)) this.touch();
        } else if (event.Action.startsWith('exec_')) {
          // exec_create/start/die: remember exec IDs cheaply by re-inspecting only on create.
          if (event.Action.startsWith('exec_create')) this.refreshLater(id);
        } else if (!Engine.INERT_ACTIONS.has(event.Action)) {
          const applied = this.applyStateEvent(id, event);
          if (!applied || Engine.DETAIL_ACTIONS.has(event.Action)) this.refreshLater(id);
        }
        if (event.Action === 'commit') this.queueListRefresh('images');
        break;
      }
      case 'image':
        this.queueListRefresh('images');
        break;
      case 'network':
        this.queueListRefresh('networks');
        break;
      case 'volume':
        this.queueListRefresh('volumes');
        break;
      case 'daemon':
        if (event.Action === 'reload') void this.updateSpecs().catch(() => undefined);
        break;
    }
  }

  /**
   * What `ps` shows changes at once with the event itself: start, die (with its exit code),
   * pause, unpause, health_status and rename carry everything the state needs. The inspect that
   * refreshLater queues only brings details (ports, addresses) and is coalesced, so an event
   * storm costs the manager parsing, not one inspect per event.
   */
  private applyStateEvent(id: string, event: DockerEvent): boolean {
    const current = this.containers.get(id);
    if (!current) return false;
    const action = event.Action;
    let state: ContainerState = current.state;
    let name = current.name;
    if (action === 'pause') state = { ...state, status: 'paused', paused: true };
    else if (action === 'unpause') state = { ...state, status: 'running', paused: false };
    else if (action === 'start') state = { ...state, status: 'running', running: true, paused: false, restarting: false, startedAt: eventTime(event), exitCode: 0 };
    else if (action === 'die') {
      const exitCode = Number(event.Actor?.Attributes?.exitCode ?? 0) || 0;
      state = { ...state, status: 'exited', running: false, paused: false, restarting: false, finishedAt: eventTime(event), exitCode };
    } else if (action.startsWith('health_status')) state = { ...state, health: action.slice(action.indexOf(':') + 1).trim() };
    else if (action === 'rename' && event.Actor?.Attributes?.name) name = event.Actor.Attributes.name.replace(/^\//, '');
    else return Engine.NO_STATE_ACTIONS.has(action);
    // observedAt: an inspect asked before this event may describe the state before it.
    this.containers.set({ ...current, name, state, observedAt: Date.now() });
    this.touch();
    return true;
  }

  /** Applied from the event, but what `ps` shows beyond the state changes too (ports, addresses). */
  private static readonly DETAIL_ACTIONS = new Set(['start', 'die']);
  /** Change nothing `ps` shows by themselves (a die or start event follows when they do). */
  private static readonly NO_STATE_ACTIONS = new Set(['kill', 'stop', 'oom']);

  /**
   * Re-inspects a container soon, once for all the events that arrive meanwhile (a `docker run`
   * brings create and start: one inspect). At most DETAIL_CONCURRENCY inspects per engine.
   */
  private refreshLater(id: string): void {
    this.staleIds.add(id);
    if (this.staleTimer || this.stopped) return;
    this.staleTimer = setTimeout(() => {
      const ids = [...this.staleIds];
      this.staleIds.clear();
      void runLimited(ids, DETAIL_CONCURRENCY, (staleId) => detailGate.run(() => this.refreshContainer(staleId))).finally(() => {
        this.staleTimer = undefined;
        const next = this.staleIds.values().next();
        if (!next.done) this.refreshLater(next.value);
      });
    }, DETAIL_DELAY_MS);
  }

  /** Coalesces bursts of image/network/volume events into one list call each. */
  private queueListRefresh(kind: 'images' | 'networks' | 'volumes'): void {
    this.pendingLists.add(kind);
    if (this.listTimer) return;
    this.listTimer = setTimeout(() => {
      this.listTimer = undefined;
      const kinds = [...this.pendingLists];
      this.pendingLists.clear();
      for (const k of kinds) void this.refreshList(k).catch(() => undefined);
    }, 50);
  }

  // ---- state refresh ------------------------------------------------------------------------

  /**
   * Records a container this manager just created (unless the engine's create event already
   * brought its inspect): the event-driven inspect replaces it moments later.
   */
  adoptCreated(record: ContainerRecord): void {
    if (this.containers.get(record.id) || this.disowned.has(record.id)) return;
    this.containers.set(record);
    this.touch();
  }

  /**
   * After a successful start sent at `sentAt`: mark the container running, unless an inspect
   * asked after the start already told what it is now (it may have exited). Inspects asked
   * before the start that answer later are ignored (see refreshContainer); the engine's start
   * event re-inspects it anyway.
   */
  markStarted(id: string, sentAt: number): void {
    const current = this.containers.get(id);
    if (!current || current.state.running || current.observedAt > sentAt) return;
    const startedAt = new Date().toISOString();
    this.containers.set({ ...current, observedAt: sentAt, state: { ...current.state, status: 'running', running: true, paused: false, startedAt } });
    this.touch();
  }

  /** Hides a container from this engine's view (see `disowned`); returns what was known of it. */
  disown(id: string): ContainerRecord | undefined {
    const record = this.containers.get(id);
    this.disowned.add(id);
    if (this.containers.delete(id)) this.touch();
    return record;
  }

  /** Undoes `disown` (the replacement could not be made). */
  reown(record: ContainerRecord): void {
    this.disowned.delete(record.id);
    if (!this.containers.get(record.id)) this.containers.set(record);
    this.touch();
  }

  /** Drops a container the manager just removed (its destroy event will find nothing left). */
  forgetContainer(id: string): void {
    if (this.containers.delete(id)) this.touch();
  }

  /** Re-inspects one container (or drops it if gone). Concurrent calls for one ID share a request. */
  refreshContainer(id: string): Promise<void> {
    const inflight = this.inspecting.get(id);
    if (inflight) return inflight;
    const task = (async () => {
      try {
        const askedAt = Date.now();
        const info = await this.call(() => this.client.docker.getContainer(id).inspect());
        if (this.disowned.has(info.Id)) return;
        // An answer older than what the manager already recorded (a start it just made) is stale.
        if ((this.containers.get(info.Id)?.observedAt ?? 0) > askedAt) {
          // Still without its details (known from the list only): ask again.
          if (this.listedOnly.has(info.Id)) this.refreshLater(info.Id);
          return;
        }
        this.containers.set(containerFromInspect(info, askedAt));
        this.listedOnly.delete(info.Id);
        this.touch();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404 && this.containers.delete(id)) this.touch();
        else if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      } finally {
        this.inspecting.delete(id);
      }
    })();
    this.inspecting.set(id, task);
    return task;
  }

  /**
   * Full refresh: list containers and inspect the ones that are new or changed state, drop the
   * vanished ones; then images, networks, volumes (unless `lists` is false).
   *
   * The first load (`firstLoad`) inspects nothing before the engine is usable: its containers
   * are recorded from the list (containerFromSummary) and inspected in the background, a few
   * at a time across all engines. At 5,000 engines / 150,000 containers, one inspect per
   * container before an engine counted as healthy kept the last engines pending for two minutes.
   */
  async refreshAll(firstLoad: boolean): Promise<void> {
    const listedAt = Date.now();
    // Through the engine's own request path, not dockerode: docker-modem formats every request's
    // options with util.inspect, per list, at ~30 lists a second at 5,000 engines.
    const response = await this.call(async () => ensureOk(await this.client.request('GET', '/containers/json?all=1')));
    const list = JSON.parse(response.body.toString('utf8')) as Dockerode.ContainerInfo[];
    const seen = new Set<string>();
    const toInspect: string[] = [];
    const listed: string[] = [];
    // Whether anything placement or listings read changed, beyond what the inspects and list
    // refreshes below report themselves: a safety-net list that finds the engine as events left
    // it must not mark it changed (at 5,000 engines, 10 lists a second did, and each changed
    // engine costs the next placement, `docker info` or scrape a fresh scheduler snapshot).
    let changed = firstLoad;
    for (const id of [...this.disowned]) if (!list.some((c) => c.Id === id)) changed = this.disowned.delete(id) || changed;
    for (const summary of list) {
      if (this.disowned.has(summary.Id)) continue;
      seen.add(summary.Id);
      const known = this.containers.get(summary.Id);
      if (firstLoad && !known) {
        this.containers.set(containerFromSummary(summary, listedAt));
        this.listedOnly.add(summary.Id);
        listed.push(summary.Id);
      } else if (firstLoad || !known || known.state.status !== summary.State) toInspect.push(summary.Id);
    }
    for (const id of [...this.containers.keys()]) if (!seen.has(id)) changed = this.containers.delete(id) || changed;
    // Two connections per engine at most: at 5,000 engines, 8 parallel inspects and 3 parallel
    // lists per engine exhausted the manager's file descriptors at start-up.
    await runLimited(toInspect, 2, (id) => this.refreshContainer(id));
    this.listsRefreshedAt = Date.now();
    this.refreshesWithoutLists = 0;
    for (const kind of ['images', 'networks', 'volumes'] as const) await this.refreshList(kind);
    if (changed) this.touch();
    else this.updatedAt = new Date(); // refreshed (`docker info`'s UpdatedAt), as a ping does
    if (listed.length > 0) this.inspectListed(listed);
  }

  /**
   * Inspects, in the background, containers known only from the list: one at a time per engine,
   * a few at a time across engines (listedGate), so the manager's CPU stays with the requests it
   * serves; those an event already had inspected are skipped.
   */
  private inspectListed(ids: string[]): void {
    void runLimited(ids, 1, (id) =>
      listedGate.run(() => (this.stopped || !this.listedOnly.has(id) ? Promise.resolve() : this.refreshContainer(id))),
    ).finally(() => {
      for (const id of ids) this.listedOnly.delete(id);
    });
  }

  async refreshList(kind: 'images' | 'networks' | 'volumes'): Promise<void> {
    // All images, intermediate ones included: dockerd's image filters (dangling, ancestor)
    // need the parent links; the list route hides what `docker images` without -a hides.
    const path = kind === 'images' ? '/images/json?all=1' : kind === 'networks' ? '/networks' : '/volumes';
    const response = await this.call(async () => ensureOk(await this.client.request('GET', path)));
    const digest = createHash('sha1').update(response.body).digest('base64');
    if (this.listDigests.get(kind) === digest) return;
    const answer: unknown = JSON.parse(response.body.toString('utf8'));
    if (kind === 'images') {
      const images = (answer ?? []) as ImageRecord[];
      await this.addImageCreationTimes(images);
      this.images = images;
    } else if (kind === 'networks') {
      this.networks = new Map(((answer ?? []) as NetworkRecord[]).map((n) => [n.Id, n]));
    } else {
      this.volumes = new Map((((answer ?? {}) as { Volumes?: VolumeRecord[] | null }).Volumes ?? []).map((v) => [v.Name, v]));
    }
    this.listDigests.set(kind, digest);
    this.touch();
  }

  /** Sets createdOrder on each image, inspecting only images no engine has shown before. */
  private async addImageCreationTimes(images: ImageRecord[]): Promise<void> {
    const unknown = images.filter((i) => !imageCreated.has(i.Id)).map((i) => i.Id);
    await runLimited(unknown, 4, async (id) => {
      const info = (await this.client.docker.getImage(id).inspect()) as { Created?: string };
      if (info.Created) rememberImageCreated(id, createdOrder(info.Created));
    });
    for (const image of images) image.createdOrder = imageCreated.get(image.Id);
  }

  private scheduleRefresh(): void {
    this.refreshClock.cancel(this.refreshTask);
    if (this.stopped) return;
    const { refreshMinMs, refreshMaxMs, failureRetry } = this.options;
    const backoff = Math.min(Math.max(this.failureCount - failureRetry, 0), 1000);
    const wait = refreshMinMs * (1 + backoff) + Math.random() * Math.max(refreshMaxMs - refreshMinMs, 0);
    this.refreshClock.schedule(this.refreshTask, wait);
  }

  /** The periodic refresh (see scheduleRefresh): a ping, or lists when events may have missed something. */
  private async refresh(): Promise<void> {
    try {
      if (this.status !== 'healthy') await this.updateSpecs();
      // Events have kept the lists current if the stream has stayed open since they were last listed.
      const streamSteady = this.eventStream !== undefined && this.eventStreamSince < this.listsRefreshedAt;
      if (!streamSteady || (++this.refreshesWithoutLists >= LISTS_EVERY_REFRESHES && (this.options.safetyNetBudget ?? sharedSafetyNetBudget).take())) await this.refreshAll(false);
      else {
        await this.ping();
        // Refreshed (`docker info`'s UpdatedAt), but nothing placement reads changed: no 'change'.
        this.updatedAt = new Date();
      }
      this.startEventMonitor();
    } catch (err) {
      metrics.refreshFailures.inc({ engine: this.name });
      log.debug('Engine refresh failed', { name: this.name, addr: this.addr, error: (err as Error).message });
    }
    this.scheduleRefresh();
  }
}

/** When an event happened, as an RFC 3339 time (the engine's clock; the manager's if it gave none). */
function eventTime(event: DockerEvent): string {
  return new Date(event.timeNano ? Math.floor(event.timeNano / 1e6) : Date.now()).toISOString();
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item).catch(() => undefined);
    }
  });
  await Promise.all(workers);
}
