/**
 * The cluster: the set of engines (fed by discovery), their merged events, and placement of new
 * containers through the scheduler. The API layer asks the cluster; it never loops over engines
 * with network calls for reads.
 */
import { ContainerIndex } from './container-index';
import { Gate } from '../gate';
import { TimeSlice } from '../time-slice';
import { SWARM_ID_LABEL } from '../swarm-labels';
import { randomBytes } from 'node:crypto';
import type { Discovery } from '../../discovery/discovery';
import { Engine, type DockerEvent, type EngineOptions } from '../engine/engine';
import type { ContainerRecord, ImageRecord } from '../engine/records';
import { EventHub } from './event-hub';
import type { Scheduler } from '../scheduler/scheduler';
import { buildPlacementRequest } from '../scheduler/build-request';
import { hasHardNodeConstraint } from '../scheduler/request-expressions';
import { softNodeConstraint } from './networks';
import type { PlacementRequest } from '../scheduler/request';
import type { CreateBody } from '../docker-types';
import type { NodeContainer, NodeImage, SchedulerNode } from '../scheduler/node';
import { containerReservation, nodeCapacity, nodeUsage } from '../scheduler/resources';
import { countFacts, listFacts, NodeColumns, replaceInFacts, withFacts } from '../scheduler/node-list';
import type { SchedulerOptions } from '../scheduler/options';
import { ApiError } from '../errors';
import { log } from '../log';
import { metrics } from '../metrics/registry';
import { describeRanking, PlacementRefused, type Placement as SchedulerPlacement } from '../scheduler/scheduler';

export interface ClusterOptions {
  engine: EngineOptions;
  /** Resource accounting and create retries (`--cluster-opt`). */
  scheduler: SchedulerOptions;
}

export interface PlaceOptions {
  /** The container name asked for (name-based filters and affinities read it). */
  name?: string;
  /** Engines not to consider (rescheduling skips the engine that failed). */
  exclude?: ReadonlySet<Engine>;
  /**
   * Narrows the scheduler's nodes (creates in flight included) before filters run: services
   * keep to the nodes their availability and constraints allow, fewest tasks of theirs first.
   */
  candidates?: (nodes: SchedulerNode[]) => SchedulerNode[];
  /**
   * Engines holding the container's local networks (lib/cluster/networks.ts): a soft
   * `node==~` constraint draws it there unless a hard node constraint says otherwise (classic
   * §3.7 step 4). Not saved on the container.
   */
  near?: Engine[];
  /** Temporary hard affinities, not saved on the container (the image== retry of create). */
  affinities?: string[];
  /** Told the request's swarm expressions before placing (the audit line keeps them even on refusal). */
  onExpressions?: (expressions: string[]) => void;
}

/** The request's scheduling expressions as the user wrote them (`constraint:disk==ssd`), for the audit log. */
export function placementExpressions(request: PlacementRequest): string[] {
  return [
    ...request.constraints.map((e) => `constraint:${e}`),
    ...request.affinities.map((e) => `affinity:${e}`),
    ...request.whitelists.map((e) => `whitelist:${e}`),
  ];
}

/** Where something new should go: see Cluster.place. */
export interface Placement {
  /** The engine ranked first. */
  engine: Engine;
  /**
   * Every candidate engine, best first (what create retries walk). Mapped when asked: at 5,000
   * engines, mapping every ranked node to its engine on each placement cost more than ranking.
   */
  candidates(): Engine[];
  /** What the scheduler was asked (resources, ports, expressions), for reservations. */
  request: PlacementRequest;
  /** The create body with swarm's env expressions moved into com.docker.swarm.* labels. */
  body: CreateBody;
}

export interface ContainerRef {
  engine: Engine;
  container: ContainerRecord;
}

/** A create in flight: it reserves resources and its name until the engine confirms it. */
interface PendingCreate {
  engine: Engine;
  container: NodeContainer;
}

export { SWARM_ID_LABEL };

/**
 * Engines validated and loaded at once. At 5,000 engines, starting them all in one turn put
 * ~40,000 requests in flight and the manager answered nothing (not even /_ping) for over a
 * minute; a bounded pipeline brings them up at the same overall pace while requests get served.
 */
const validationGate = new Gate(64);

/**
 * Changed engines past which the scheduler snapshots are brought up to date in the background,
 * in slices of CATCH_UP_SLICE_MS, instead of all at once by whichever request reads them next
 * (see Cluster.nodes). A snapshot costs ~40 us at 30 containers: the first `docker info`,
 * scrape or placement after 5,000 engines changed held the event loop ~200 ms.
 */
const CATCH_UP_AT = 64;
const CATCH_UP_DELAY_MS = 50;
const CATCH_UP_SLICE_MS = 4;

export class Cluster {
  /** Every engine known from discovery, by address (pending ones included). */
  readonly engines = new Map<string, Engine>();
  readonly events = new EventHub();
  /** Every container in `docker ps` order and by ID (see ContainerIndex). */
  readonly containerIndex = new ContainerIndex();
  /**
   * Create bodies of the containers this manager created with a reschedule policy, by container
   * ID: rescheduling can recreate them even before it has read their configuration back.
   */
  readonly createBodies = new Map<string, CreateBody>();
  /** Last discovery failure, shown in `docker info` while the store is unreachable. */
  discoveryError = '';
  /** Whether discovery has delivered a list at least once (readiness). */
  discoveryAnswered = false;
  private readonly pending = new Map<string, PendingCreate>();
  /**
   * Scheduler snapshots of the validated engines, in cluster order, kept between placements:
   * an engine that changed (its 'change' event) is re-snapshotted, the others are reused, so a
   * placement at 5,000 engines does not look at 5,000 caches (see currentNodes).
   */
  private nodeList?: SchedulerNode[];
  private readonly nodeIndex = new Map<Engine, number>();
  private readonly changedEngines = new Set<Engine>();
  /** An engine left: the list is rebuilt (reusing the snapshots of unchanged engines). */
  private membershipChanged = false;
  private catchUpTimer?: NodeJS.Timeout;
  /** The weighed numbers of the last list handed out (see NodeColumns), and its indices that carry creates in flight. */
  private readonly columns = new NodeColumns();
  private columnsPending: number[] = [];
  /**
   * Each engine's scheduler views of its containers at its last snapshot, by record: a plain
   * map per engine, rebuilt at each snapshot, so the views of removed containers go with it.
   * (A WeakMap from record to view held 150,000 entries at 5,000 engines, and V8 walks every
   * entry of a WeakMap in each full collection: ~10 ms more per pause.)
   */
  private readonly containerViews = new Map<Engine, Map<ContainerRecord, NodeContainer>>();
  private readonly nodeImageLists = new WeakMap<ImageRecord[], NodeImage[]>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private discovery?: Discovery;

  /** `scheduler` (filters + strategy) is built once by `manage` and used for every placement. */
  constructor(readonly options: ClusterOptions, private readonly scheduler: Scheduler) {}

  /** The placement policy in force, as `docker info` reports it. */
  placementPolicy(): { strategy: string; filters: string[] } {
    return { strategy: this.scheduler.strategy.name, filters: this.scheduler.filters.map((f) => f.name) };
  }

  // ---- membership ---------------------------------------------------------------------------

  watch(discovery: Discovery): void {
    this.discovery = discovery;
    discovery.watch({
      onEntries: (entries) => {
        this.discoveryAnswered = true;
        if (this.discoveryError) log.info('Discovery is reachable again');
        this.discoveryError = '';
        this.setEngineAddrs(entries);
      },
      onError: (error) => {
        this.discoveryError = error.message;
        metrics.discoveryErrors.inc();
        log.error(`Discovery error: ${error.message}`);
      },
    });
  }

  /**
   * Resolves once discovery has answered and every engine it listed has been tried once
   * (validated or failed), or after `timeoutMs`.
   */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.discoveryAnswered && [...this.engines.values()].every((e) => e.status !== 'pending' || e.lastError)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Applies a new discovery list: removes engines that left, then adds new ones. */
  setEngineAddrs(addrs: string[]): void {
    const wanted = new Set(addrs);
    for (const addr of [...this.engines.keys()]) if (!wanted.has(addr)) this.removeEngine(addr);
    for (const addr of wanted) if (!this.engines.has(addr)) this.addEngine(addr);
  }

  addEngine(addr: string): Engine {
    const engine = new Engine(addr, this.options.engine);
    this.engines.set(addr, engine);
    engine.on('change', () => this.noteChange(engine));
    engine.containers.observe({
      added: (record) => this.containerIndex.add(engine, record),
      removed: (record) => this.containerIndex.remove(engine, record.id),
      updated: (record) => this.containerIndex.update(engine, record),
    });
    engine.on('event', (event: DockerEvent) => this.events.publish(this.tagEvent(engine, event)));
    engine.on('disconnect', () => this.publishSwarmEvent(engine, 'engine_disconnect'));
    engine.on('reconnect', () => this.publishSwarmEvent(engine, 'engine_reconnect'));
    void this.validate(engine, 0);
    return engine;
  }

  removeEngine(addr: string): void {
    const engine = this.engines.get(addr);
    if (!engine) return;
    clearTimeout(this.retryTimers.get(addr));
    this.retryTimers.delete(addr);
    const wasValidated = engine.status !== 'pending';
    engine.stop();
    this.engines.delete(addr);
    engine.containers.observe(undefined);
    this.containerIndex.removeEngine(engine);
    this.containerViews.delete(engine);
    this.membershipChanged = true;
    if (wasValidated) this.publishSwarmEvent(engine, 'engine_disconnect');
    log.info(`Removed Engine ${engine.name || addr}`, { addr });
  }

  /** Pending engines are retried with exponential backoff (1s, 2s, 4s ... 30s). */
  private async validate(engine: Engine, attempt: number): Promise<void> {
    try {
      await validationGate.run(() => this.bringUp(engine));
    } catch (err) {
      if (this.engines.get(engine.addr) !== engine) return;
      engine.lastError = (err as Error).message;
      engine.updatedAt = new Date();
      const delay = Math.min(1000 * 2 ** attempt, 30_000);
      log.warn('Engine validation failed, will retry', { addr: engine.addr, error: engine.lastError, retryInMs: delay });
      this.retryTimers.set(engine.addr, setTimeout(() => void this.validate(engine, attempt + 1), delay));
    }
  }

  /** Validates and starts one engine (its first full load included). */
  private async bringUp(engine: Engine): Promise<void> {
    if (this.engines.get(engine.addr) !== engine) return;
    await engine.validate();
    const duplicate = [...this.engines.values()].find((e) => e !== engine && e.id === engine.id && e.status !== 'pending');
    if (duplicate) throw new Error(`ID duplicated. ${engine.id} shared by this node ${engine.addr} and another node ${duplicate.addr}`);
    await engine.start();
    if (this.engines.get(engine.addr) !== engine) return engine.stop();
    log.info(`Registered Engine ${engine.name} at ${engine.addr}`, { id: engine.id });
    this.publishSwarmEvent(engine, 'engine_connect');
  }


  async close(): Promise<void> {
    await this.discovery?.close();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    clearTimeout(this.catchUpTimer);
    for (const engine of this.engines.values()) engine.stop();
  }

  /** Validated engines (healthy or not), sorted by name. */
  validatedEngines(): Engine[] {
    return [...this.engines.values()].filter((e) => e.isValidated);
  }

  healthyEngines(): Engine[] {
    return [...this.engines.values()].filter((e) => e.status === 'healthy');
  }

  engineByName(name: string): Engine | undefined {
    return this.validatedEngines().find((e) => e.name === name || e.id === name);
  }

  // ---- events -------------------------------------------------------------------------------

  /** Adds the node to an engine event (attributes, plus classic's legacy `node` object). */
  /**
   * Adds the node to an engine's event, in place: the engine parsed it for this call and keeps
   * no reference, and copying it (and its attributes) was a fifth of the manager's CPU in an
   * event storm.
   */
  private tagEvent(engine: Engine, event: DockerEvent): DockerEvent {
    const actor = event.Actor ?? (event.Actor = { ID: event.id ?? '', Attributes: {} });
    actor.ID ??= event.id ?? '';
    const attributes = actor.Attributes ?? (actor.Attributes = {});
    attributes['node.name'] = engine.name;
    attributes['node.id'] = engine.id;
    attributes['node.addr'] = engine.addr;
    attributes['node.ip'] = engine.ip;
    event.node = { Name: engine.name, Id: engine.id, Addr: engine.addr, Ip: engine.ip };
    return event;
  }

  /**
   * A swarm event of the manager's own (rescheduling steps): Type "swarm", the actor is the
   * swarm ID, tagged with `engine`'s node when one is given.
   */
  publishClusterEvent(action: string, actorId: string, attributes: Record<string, string>, engine?: Engine): void {
    const now = Date.now();
    const event: DockerEvent = {
      Type: 'swarm', Action: action, status: action, from: 'swarm', id: actorId,
      Actor: { ID: actorId, Attributes: attributes },
      scope: 'local', time: Math.floor(now / 1000), timeNano: now * 1e6,
    };
    this.events.publish(engine ? this.tagEvent(engine, event) : event);
  }

  private publishSwarmEvent(engine: Engine, action: string): void {
    const now = Date.now();
    this.events.publish(this.tagEvent(engine, {
      Type: 'swarm', Action: action, status: action, from: 'swarm', id: engine.id,
      Actor: { ID: engine.id, Attributes: { name: engine.name } },
      scope: 'local', time: Math.floor(now / 1000), timeNano: now * 1e6,
    }));
  }

  // ---- containers ---------------------------------------------------------------------------

  /**
   * Resolves a container reference like classic swarm: full or 12-char ID, a unique name (`web`,
   * `/web`, `node-1/web`, `<engine id>/web`), then the swarm ID (`com.docker.swarm.id`, full or
   * 12 chars), then a unique prefix of a container ID, then of a swarm ID. The first two steps
   * are index probes per engine; only the last ones scan.
   */
  findContainer(ref: string): ContainerRef | undefined {
    const owner = ref.length === 64 ? this.containerIndex.ownerOf(ref) : undefined;
    const ownerRecord = owner?.isValidated ? owner.containers.get(ref) : undefined;
    if (owner && ownerRecord) return { engine: owner, container: ownerRecord };
    const engines = this.validatedEngines();
    for (const engine of engines) {
      const container = engine.containers.byId(ref);
      if (container) return { engine, container };
    }
    const byName = this.findByName(engines, ref.replace(/^\//, ''));
    if (byName !== undefined) return byName ?? undefined;
    const byPrefix: ContainerRef[] = [];
    const bySwarmPrefix: ContainerRef[] = [];
    for (const engine of engines) {
      for (const container of engine.containers.values()) {
        const swarmId = container.labels[SWARM_ID_LABEL] ?? '';
        if (swarmId && (swarmId === ref || (ref.length === 12 && swarmId.startsWith(ref)))) return { engine, container };
        if (ref.length > 0 && container.id.startsWith(ref)) byPrefix.push({ engine, container });
        if (ref.length > 0 && swarmId.startsWith(ref)) bySwarmPrefix.push({ engine, container });
      }
    }
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length === 0 && bySwarmPrefix.length === 1) return bySwarmPrefix[0];
    return undefined;
  }

  /** A name, possibly node-qualified: a match, null when ambiguous, undefined when unknown. */
  private findByName(engines: Engine[], name: string): ContainerRef | null | undefined {
    const slash = name.indexOf('/');
    if (slash > 0) {
      const node = name.slice(0, slash);
      const engine = engines.find((e) => e.name === node || e.id === node);
      const container = engine?.containers.byName(name.slice(slash + 1));
      if (engine && container) return { engine, container };
    }
    let found: ContainerRef | undefined;
    for (const engine of engines) {
      const container = engine.containers.byName(name);
      if (!container) continue;
      if (found) return null;
      found = { engine, container };
    }
    return found;
  }

  /** Throws classic's 409 when a container name is taken anywhere in the cluster. */
  assertNameFree(name: string): void {
    const bare = name.replace(/^\//, '');
    if (this.nameInUse(bare)) {
      throw new ApiError(409, `Conflict: The name ${bare} is already assigned. You have to delete (or rename) that container to be able to assign ${bare} to a container again.`);
    }
  }

  /** Whether a container name is taken anywhere in the cluster (including creates in flight). */
  nameInUse(name: string): boolean {
    const bare = name.replace(/^\//, '');
    if (this.validatedEngines().some((engine) => engine.containers.byName(bare))) return true;
    for (const p of this.pending.values()) if (p.container.names.includes(bare)) return true;
    return false;
  }

  // ---- scheduling ---------------------------------------------------------------------------

  /**
   * The one way to choose where something new goes. Container create (lib/cluster/create.ts,
   * which rescheduling and services also use), `docker build` and network create all call it.
   *
   * `spec` is a Docker container-create body (Image, Env, Labels, HostConfig...; `{}` for "any
   * engine"): its `constraint:`, `affinity:`, `whitelist:` and `reschedule:` env entries are
   * read as swarm expressions and moved into com.docker.swarm.* labels (see `body`). The
   * injected scheduler's filters and strategy rank the validated engines, counting the
   * resources and names of creates in flight (see `reserve`).
   *
   * Returns the best engine and, on demand, all candidates best first. Throws the scheduler's errors, which carry
   * an HTTP status: 400 for a malformed expression, 503 when no engine is available, and
   * "Unable to find a node that satisfies the following conditions ..." when none fits.
   */
  place(spec: CreateBody, options: PlaceOptions = {}): Placement {
    const built = buildPlacementRequest(spec, options.name);
    const { body } = built;
    let request = built.request;
    if (options.near && options.near.length > 0 && !hasHardNodeConstraint(request)) request = { ...request, constraints: [...request.constraints, softNodeConstraint(options.near)] };
    if (options.affinities) request = { ...request, affinities: [...request.affinities, ...options.affinities] };
    const excluded = options.exclude;
    const all = excluded && excluded.size > 0 ? this.nodes().filter((n) => !excluded.has(this.engines.get(n.addr) as Engine)) : this.nodes();
    const nodes = options.candidates ? options.candidates(all) : all;
    options.onExpressions?.(placementExpressions(request));
    let explained: SchedulerPlacement;
    try {
      explained = this.scheduler.place(request, nodes);
      if (log.isDebug()) {
        log.debug(`Placement: ${describeRanking(this.scheduler.strategy.name, explained.ranked())}`, {
          name: options.name, image: request.image,
          filters: explained.steps.map((s) => `${s.filter} ${s.before}->${s.before - s.removed.length}`).join(', '),
          droppedSoft: explained.droppedSoft.length > 0 ? explained.droppedSoft : undefined,
        });
      }
    } catch (err) {
      if (err instanceof PlacementRefused) metrics.placementRefusals.inc({ filter: err.filter });
      else if ((err as { status?: number }).status === 503) metrics.placementRefusals.inc({ filter: 'none' });
      throw err;
    }
    // Nodes are snapshots of the current engines, taken synchronously above: each has its engine.
    const engineOf = (node: SchedulerNode): Engine => this.engines.get(node.addr) as Engine;
    const { best, ranked } = explained;
    return { engine: engineOf(best), candidates: () => ranked().map(engineOf), request, body };
  }

  /** Scheduler snapshots of validated engines, with creates in flight added to their node. */
  nodes(): SchedulerNode[] {
    const list = this.currentNodes();
    if (this.pending.size === 0) return list;
    const pendingByEngine = new Map<Engine, NodeContainer[]>();
    for (const p of this.pending.values()) {
      const extra = pendingByEngine.get(p.engine);
      if (extra) extra.push(p.container);
      else pendingByEngine.set(p.engine, [p.container]);
    }
    // Creates in flight change containers and reservations only, never health or labels.
    const out = withFacts(list.slice(), listFacts(list) ?? countFacts(list));
    for (const [engine, extra] of pendingByEngine) {
      const i = this.nodeIndex.get(engine);
      if (i === undefined) continue;
      const node = out[i];
      out[i] = {
        ...node,
        containers: [...node.containers, ...extra],
        usedCpus: node.usedCpus + extra.reduce((sum, c) => sum + c.cpus, 0),
        usedMemory: node.usedMemory + extra.reduce((sum, c) => sum + c.memory, 0),
      };
      this.columns.set(i, out[i]);
      this.columnsPending.push(i);
    }
    this.columns.bind(out);
    return out;
  }

  /**
   * The cached snapshot list, brought up to date: engines that changed since the last call are
   * re-snapshotted in place (a new array, so lists handed out earlier stay as they were); an
   * engine that became or stopped being validated, or left, rebuilds the list, keeping the
   * snapshots of the engines that did not change. The list's facts and columns
   * (lib/scheduler/node-list.ts) are kept along, node by node; the columns' entries that
   * described creates in flight (see nodes) go back to the plain snapshot.
   *
   * A snapshot is valid until its engine's next 'change': every read of an engine a snapshot
   * holds goes with one (Engine.touch), which is what lets unchanged engines keep theirs.
   */
  private currentNodes(budgetMs = Infinity): SchedulerNode[] {
    const previous = this.nodeList;
    let rebuild = this.membershipChanged;
    if (!rebuild) {
      for (const engine of this.changedEngines) {
        if (this.nodeIndex.has(engine) !== (engine.isValidated && this.engines.get(engine.addr) === engine)) {
          rebuild = true;
          break;
        }
      }
    }
    // With a budget (the background catch-up), engines are re-snapshotted until it is spent; the
    // others keep their last snapshot and stay in changedEngines for the next call. A new engine
    // in the list has none to keep, so it is always snapshotted.
    const slice = budgetMs === Infinity ? undefined : new TimeSlice(budgetMs);
    let snapshots = 0;
    let spent = false;
    const due = (engine: Engine): boolean => {
      if (spent || !this.changedEngines.has(engine)) return false;
      if (slice && (++snapshots & 7) === 0 && slice.due()) {
        spent = true;
        return false;
      }
      this.changedEngines.delete(engine);
      return true;
    };
    let list: SchedulerNode[];
    if (previous === undefined || rebuild) {
      const previousIndex = new Map(this.nodeIndex);
      list = [];
      this.nodeIndex.clear();
      for (const engine of this.engines.values()) {
        if (!engine.isValidated) continue;
        const at = previousIndex.get(engine);
        const keep = previous !== undefined && at !== undefined && !due(engine);
        if (!keep) this.changedEngines.delete(engine);
        this.nodeIndex.set(engine, list.length);
        list.push(keep ? previous[at] : this.snapshot(engine));
      }
      withFacts(list, countFacts(list));
      this.columns.reset(list);
      this.columnsPending = [];
      this.membershipChanged = false;
      // Engines that left or were never validated have nothing to re-snapshot.
      for (const engine of this.changedEngines) if (!this.nodeIndex.has(engine)) this.changedEngines.delete(engine);
    } else {
      list = previous;
      if (this.changedEngines.size > 0) {
        let facts = listFacts(previous) ?? countFacts(previous);
        list = previous.slice();
        for (const engine of [...this.changedEngines]) {
          if (!due(engine)) continue;
          const i = this.nodeIndex.get(engine);
          if (i === undefined) continue;
          list[i] = this.snapshot(engine);
          facts = replaceInFacts(facts, previous[i], list[i]);
          this.columns.set(i, list[i]);
        }
        withFacts(list, facts);
      }
    }
    for (const i of this.columnsPending) this.columns.set(i, list[i]);
    this.columnsPending = [];
    this.columns.bind(list);
    this.nodeList = list;
    return list;
  }

  /** An engine changed: its snapshot is redone when next read, or by the background catch-up. */
  private noteChange(engine: Engine): void {
    this.changedEngines.add(engine);
    if (this.changedEngines.size >= CATCH_UP_AT && !this.catchUpTimer) {
      // A short delay gathers an engine's bursts of changes (a refresh, a start-up load) into one snapshot.
      this.catchUpTimer = setTimeout(() => this.catchUp(), CATCH_UP_DELAY_MS);
      this.catchUpTimer.unref();
    }
  }

  private catchUp(): void {
    this.catchUpTimer = undefined;
    if (this.changedEngines.size < CATCH_UP_AT) return;
    this.currentNodes(CATCH_UP_SLICE_MS);
    if (this.changedEngines.size >= CATCH_UP_AT) {
      this.catchUpTimer = setTimeout(() => this.catchUp(), 0);
      this.catchUpTimer.unref();
    }
  }

  private snapshot(engine: Engine): SchedulerNode {
    const containers: NodeContainer[] = [];
    const before = this.containerViews.get(engine);
    const views = new Map<ContainerRecord, NodeContainer>();
    for (const c of engine.containers.values()) {
      const view = before?.get(c) ?? nodeContainer(c, engine.cpus);
      views.set(c, view);
      containers.push(view);
    }
    if (this.engines.get(engine.addr) === engine) this.containerViews.set(engine, views);
    const capacity = nodeCapacity(engine.cpus, engine.memory, this.options.scheduler.overcommit);
    const used = nodeUsage(containers, this.options.scheduler);
    const node: SchedulerNode = {
      id: engine.id, name: engine.name, addr: engine.addr, ip: engine.ip, labels: engine.labels,
      totalCpus: capacity.cpus, totalMemory: capacity.memory, usedCpus: used.cpus, usedMemory: used.memory,
      healthIndicator: engine.healthIndicator, containers,
      images: this.nodeImages(engine.images),
    };
    return node;
  }

  private nodeImages(images: ImageRecord[]): NodeImage[] {
    let view = this.nodeImageLists.get(images);
    if (!view) {
      view = images.map((i) => ({ id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [] }));
      this.nodeImageLists.set(images, view);
    }
    return view;
  }

  /** Reserves a slot on `engine` for a create in flight; returns the release function. */
  reserve(engine: Engine, container: NodeContainer): () => void {
    const token = randomBytes(8).toString('hex');
    this.pending.set(token, { engine, container });
    return () => this.pending.delete(token);
  }

  /** A new random 64-hex swarm ID, unique in the cluster. */
  newSwarmId(): string {
    return randomBytes(32).toString('hex');
  }
}

/**
 * What placement reads of a container. Snapshots are rebuilt whenever an engine changes (every
 * create, start, event...), but most of their containers did not change: views are reused per
 * record (records are replaced, never mutated), so a rebuild allocates one array and one small
 * map instead of every view again.
 */
function nodeContainer(c: ContainerRecord, engineCpus: number): NodeContainer {
  const reservation = containerReservation({ CpuShares: c.cpuShares, NanoCpus: c.nanoCpus, Memory: c.memory }, engineCpus);
  return {
    id: c.id, names: [c.name], image: c.image, labels: c.labels, state: c.state.status,
    cpus: reservation.cpus, memory: reservation.memory, networkMode: c.networkMode,
    portBindings: c.portBindings, exposedPorts: c.exposedPorts,
  };
}
