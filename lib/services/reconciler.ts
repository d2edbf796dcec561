/**
 * The reconciliation loop: makes the actual tasks (containers on engines) match the desired ones.
 *
 * A pass is synchronous and reads only memory (the store and the engines' container records,
 * which engine events keep current); what it decides to do on engines runs as actions in the
 * background, at most `concurrency` at a time, one at a time per task (a task with an action in
 * flight is left alone by later passes). Passes run when something changes: a cluster event
 * about a task container or an engine, an API change, an action finishing, plus a periodic tick
 * for timers (restart delays, update delays, monitor periods). Only the primary reconciles.
 *
 * One pass:
 *  1. nodes: every engine is a node (NodeDirectory.sync);
 *  2. adopt: task containers the store does not know (created just before a manager crash) become tasks;
 *  3. observe: each task's state from its container (running, complete, failed...) or its node (down);
 *  4. restart policy: a task that stopped while meant to run is replaced after the delay, within max attempts;
 *  5. update: the rolling updater moves out-of-date tasks to the new spec (updater.ts);
 *  6. converge: replicated: one running task per slot 1..N; global: one per eligible node;
 *     tasks on drained, down or no longer eligible nodes are shut down and replaced elsewhere;
 *  7. act: place new tasks, start, stop, remove containers; prune task history (5 per slot).
 */
import type { Cluster } from '../cluster/cluster';
import type { DockerEvent } from '../engine/engine';
import type { ContainerRecord } from '../engine/records';
import type { SchedulerNode } from '../scheduler/node';
import { log } from '../log';
import {
  SERVICE_ID_LABEL, TASK_ID_LABEL, TASK_SLOT_LABEL, TASK_SPEC_LABEL, TERMINAL_STATES, taskContainerName,
  constraintMatches, isGlobal, isoNow, newId, parseConstraint, replicasOf, restartPolicyOf, restartVerdict, specHash,
  type Service, type Task, type TaskState,
} from './model';
import type { NodeDirectory } from './nodes';
import { TaskRejected, placeContainer, removeContainer, startContainer, stopContainer, taskContainerBody } from './placement';
import type { ServiceStore } from './store';
import { updateStep } from './updater';

export interface ReconcilerOptions {
  /** Only the primary manager acts (leader election); replicas keep still. */
  isPrimary: () => boolean;
  tickMs?: number;
  /** Engine actions in flight at once. */
  concurrency?: number;
  /** Tasks kept per slot, the current one included (swarm's TaskHistoryRetentionLimit). */
  historyLimit?: number;
  /** After start, an engine still being validated is not yet taken for down. */
  startupGraceMs?: number;
}

/** Internal per-task bookkeeping kept in the store but not shown by the API. */
export interface TaskInternals {
  /** Restart times (ms) of the slot, carried from task to task for max attempts / window. */
  Restarts?: number[];
}

type ActiveTask = Task & TaskInternals;

const RETRY_PLACEMENT_MS = 2000;

export class Reconciler {
  private readonly tickMs: number;
  private readonly concurrency: number;
  private readonly historyLimit: number;
  private readonly startupGraceMs: number;
  private readonly startedAt = Date.now();
  private timer?: NodeJS.Timeout;
  private scheduled?: NodeJS.Timeout;
  /** When the last pass ended and how long it took: passes are spaced by 3x their cost. */
  private lastPassEnd = 0;
  private lastPassMs = 0;
  private unsubscribe?: () => void;
  /** Task IDs with an engine action in flight. */
  private readonly inflight = new Set<string>();
  /** Task ID -> when its failed action may be tried again (the next tick, not the next pass). */
  private readonly failedUntil = new Map<string, number>();
  private readonly queue: Array<() => Promise<void>> = [];
  private running = 0;
  private stopped = false;
  /** Container ID -> task ID, for events and adoption. */
  private readonly taskByContainer = new Map<string, string>();
  passes = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly store: ServiceStore,
    private readonly nodes: NodeDirectory,
    private readonly options: ReconcilerOptions,
  ) {
    this.tickMs = options.tickMs ?? 1000;
    this.concurrency = options.concurrency ?? 32;
    this.historyLimit = options.historyLimit ?? 5;
    this.startupGraceMs = options.startupGraceMs ?? 30_000;
  }

  start(): void {
    this.unsubscribe = this.cluster.events.subscribe((event) => this.onEvent(event));
    this.timer = setInterval(() => this.schedule(), this.tickMs);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.timer);
    clearTimeout(this.scheduled);
  }

  /**
   * Asks for a pass soon (coalesced). A pass costs O(tasks); with thousands of tasks and an
   * action finishing every few milliseconds, one pass per completion would be quadratic, so a
   * pass waits until 3x the previous pass's duration has gone by since it ended (no wait on
   * small clusters, where a pass takes well under a millisecond).
   */
  schedule(): void {
    if (this.stopped || this.scheduled) return;
    const wait = Math.max(0, this.lastPassEnd + 3 * this.lastPassMs - Date.now());
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      if (!this.options.isPrimary()) return;
      const started = performance.now();
      try {
        this.pass();
      } catch (err) {
        log.error(`Reconciliation pass failed: ${(err as Error).stack ?? String(err)}`);
      }
      this.lastPassMs = performance.now() - started;
      this.lastPassEnd = Date.now();
    }, wait);
  }

  /** True when no action is in flight or queued (benchmarks and tests wait on it). */
  get idle(): boolean {
    return this.running === 0 && this.queue.length === 0;
  }

  private onEvent(event: DockerEvent): void {
    if (event.Type === 'swarm') {
      this.schedule();
      return;
    }
    if (event.Type !== 'container') return;
    const id = event.Actor?.ID ?? '';
    const isTask = this.taskByContainer.has(id) || event.Actor?.Attributes?.[SERVICE_ID_LABEL] !== undefined;
    if (!isTask) return;
    if (!['start', 'die', 'destroy', 'create', 'stop', 'kill', 'oom', 'pause', 'unpause'].includes(event.Action)) return;
    // The engine re-inspects the container on this event; decide once that answer is in.
    const engine = this.cluster.engines.get(String(event.Actor.Attributes['node.addr'] ?? ''));
    if (engine && event.Action !== 'destroy') void engine.refreshContainer(id).catch(() => undefined).finally(() => this.schedule());
    else this.schedule();
  }

  // ---- the pass -----------------------------------------------------------------------------

  pass(): void {
    this.passes++;
    const now = Date.now();
    this.nodes.sync();
    this.taskByContainer.clear();
    for (const t of this.store.tasks.values()) {
      const cid = t.Status.ContainerStatus?.ContainerID;
      if (cid) this.taskByContainer.set(cid, t.ID);
    }
    this.adopt();
    for (const id of this.failedUntil.keys()) if (!this.store.tasks.has(id)) this.failedUntil.delete(id);
    for (const task of this.store.tasks.values()) if (!this.inflight.has(task.ID)) this.observe(task, now);
    for (const service of this.store.services.values()) this.reconcileService(service, now);
    this.reapOrphans();
  }

  /** Containers labelled as tasks of a known service but missing from the store become tasks again. */
  private adopt(): void {
    // Nothing to adopt without a service or task to adopt into (and no engine to visit).
    if (this.store.services.size === 0 && this.store.tasks.size === 0) return;
    for (const engine of this.cluster.validatedEngines()) {
      // Task containers carry the service label, which the engine indexes.
      for (const c of [...engine.containers.withLabel(SERVICE_ID_LABEL)]) {
        const taskId = c.labels[TASK_ID_LABEL];
        const serviceId = c.labels[SERVICE_ID_LABEL];
        if (!taskId || !serviceId || this.taskByContainer.has(c.id) || this.inflight.has(taskId)) continue;
        const known = this.store.tasks.get(taskId);
        if (known) {
          // The manager died between creating the container and recording it: the task is that
          // container (placing it again would duplicate it). A second container of one task is a stray.
          if (!known.Status.ContainerStatus?.ContainerID) {
            this.setTask(known, { NodeID: this.nodes.nodeIdOf(engine.id) }, { State: 'assigned', Message: 'adopted after manager restart', ContainerStatus: { ContainerID: c.id } });
            this.taskByContainer.set(c.id, taskId);
          } else {
            this.run(taskId, () => removeContainer(engine, c.id));
          }
          continue;
        }
        const service = this.store.services.get(serviceId);
        if (!service) continue; // not ours (another manager's, or a swarm-mode engine's): left alone
        const hash = c.labels[TASK_SPEC_LABEL] ?? '';
        const spec = [service.Spec.TaskTemplate, service.PreviousSpec?.TaskTemplate].find((s) => s && specHash(s) === hash) ?? service.Spec.TaskTemplate ?? {};
        const nodeId = this.nodes.nodeIdOf(engine.id);
        const created = isoNow(c.created * 1000);
        const task: Task = {
          ID: taskId, Version: { Index: this.store.nextVersion() }, CreatedAt: created, UpdatedAt: isoNow(), Labels: {},
          Spec: spec, ServiceID: serviceId, Slot: Number(c.labels[TASK_SLOT_LABEL] ?? 0), NodeID: nodeId,
          Status: { Timestamp: isoNow(), State: 'assigned', Message: 'adopted after manager restart', ContainerStatus: { ContainerID: c.id } },
          DesiredState: 'running', SpecHash: hash,
        };
        log.info('Adopted task container', { task: taskId, container: c.id.slice(0, 12), node: engine.name });
        this.store.putTask(task);
        this.taskByContainer.set(c.id, taskId);
      }
    }
  }

  /** Reads a task's state from its container, or from its node when the node is gone. */
  private observe(task: ActiveTask, now: number): void {
    const cid = task.Status.ContainerStatus?.ContainerID;
    if (!cid || !task.NodeID) return;
    const nodeState = this.nodes.stateOf(task.NodeID);
    if (nodeState !== 'ready') {
      const inGrace = now - this.startedAt < this.startupGraceMs && (nodeState === 'unknown' || !this.nodes.engineOf(task.NodeID));
      if (inGrace || TERMINAL_STATES.has(task.Status.State) && task.DesiredState !== 'running') return;
      if (task.DesiredState === 'running') {
        // Swarm mode keeps the last observed state; the task is replaced elsewhere.
        this.setTask(task, { DesiredState: 'shutdown' }, { Message: 'node is down', Err: 'node is down' });
      } else if (task.DesiredState === 'remove') {
        this.store.deleteTask(task.ID); // its container goes when the node comes back (reapOrphans)
      }
      return;
    }
    const engine = this.nodes.engineOf(task.NodeID);
    const record = engine?.containers.get(cid);
    if (!record) {
      if (!TERMINAL_STATES.has(task.Status.State)) {
        this.setStatus(task, task.DesiredState === 'running' ? 'failed' : 'shutdown', 'container removed', task.DesiredState === 'running' ? 'task: container removed' : undefined);
      }
      return;
    }
    const observed = containerTaskState(record);
    if (!observed || observed.state === task.Status.State) return;
    if (observed.state === 'running' && TERMINAL_STATES.has(task.Status.State)) return;
    let state = observed.state;
    // A container stopped because the task was shut down is "shutdown", not failed.
    if (TERMINAL_STATES.has(state) && task.DesiredState !== 'running') state = 'shutdown';
    if (TERMINAL_STATES.has(task.Status.State) && TERMINAL_STATES.has(state)) return;
    this.setStatus(task, state, state === 'running' ? 'started' : state === 'complete' ? 'finished' : state === 'shutdown' ? 'shutdown' : observed.message, state === 'failed' ? observed.err : undefined, record);
  }

  private reconcileService(service: Service, now: number): void {
    const tasks = this.store.tasksOf(service.ID) as ActiveTask[];
    const restartPolicy = restartPolicyOf(service.Spec);

    // 4. restart policy
    for (const task of tasks) {
      if (task.DesiredState !== 'running' || !TERMINAL_STATES.has(task.Status.State)) continue;
      const restarts = restartVerdict(restartPolicy, task.Status.State, task.Restarts ?? [], now);
      if (!restarts) continue;
      this.setTask(task, { DesiredState: 'shutdown' });
      const replacement = this.newTask(service, task.Slot, isGlobal(service.Spec) ? task.NodeID : '', now + restartPolicy.Delay / 1e6);
      (replacement as ActiveTask).Restarts = restarts;
      tasks.push(replacement);
    }

    // 5. rolling update / rollback
    updateStep({ store: this.store, now, newTask: (slot, nodeId) => {
      const t = this.newTask(service, slot, nodeId, now);
      tasks.push(t);
      return t;
    }, shutdown: (t) => this.setTask(t, { DesiredState: 'shutdown' }) }, service, tasks);

    // 6. converge
    const current = this.store.services.get(service.ID) ?? service; // the updater may have rolled the spec back
    const eligible = this.eligibleNodes(current);
    if (isGlobal(current.Spec)) this.convergeGlobal(current, tasks, eligible, now);
    else this.convergeReplicated(current, tasks, eligible, now);

    // 7. act. A slot whose old task is still stopping gets its new task once it stopped
    // (stop-first updates, restarts), as swarm mode does; start-first never waits here.
    const stopping = new Set<string>();
    for (const t of tasks) {
      if (t.DesiredState === 'running' || TERMINAL_STATES.has(t.Status.State) || !t.Status.ContainerStatus?.ContainerID) continue;
      if (this.nodes.stateOf(t.NodeID) === 'ready') stopping.add(slotKey(t));
    }
    for (const task of tasks) {
      if (task.DesiredState === 'running' && !task.Status.ContainerStatus?.ContainerID && stopping.has(slotKey(task))) continue;
      this.act(current, task, eligible, now);
    }
    this.pruneHistory(tasks);
  }

  /** Node IDs that may run this service's tasks: ready, constraints met; `forNew`: and active. */
  private eligibleNodes(service: Service): { keep: Set<string>; place: Set<string> } {
    const constraints = (service.Spec.TaskTemplate?.Placement?.Constraints ?? []).map(parseConstraint);
    const keep = new Set<string>();
    const place = new Set<string>();
    for (const node of this.store.nodes.values()) {
      if (this.nodes.stateOf(node.ID) !== 'ready') continue;
      if (node.Spec.Availability === 'drain') continue;
      const view = this.nodes.constraintView(node);
      if (!constraints.every((c) => constraintMatches(c, view))) continue;
      keep.add(node.ID);
      if (node.Spec.Availability === 'active') place.add(node.ID);
    }
    return { keep, place };
  }

  private convergeReplicated(service: Service, tasks: ActiveTask[], eligible: { keep: Set<string> }, now: number): void {
    const replicas = replicasOf(service.Spec);
    const bySlot = new Map<number, ActiveTask[]>();
    for (const task of tasks) {
      if (task.DesiredState !== 'running') continue;
      if (task.NodeID && !eligible.keep.has(task.NodeID) && this.nodes.stateOf(task.NodeID) === 'ready') {
        this.setTask(task, { DesiredState: 'shutdown' }, { Message: 'node drained or no longer eligible' });
        continue;
      }
      if (task.Slot > replicas) {
        this.setTask(task, { DesiredState: 'remove' });
        continue;
      }
      const list = bySlot.get(task.Slot) ?? [];
      list.push(task);
      bySlot.set(task.Slot, list);
    }
    const hash = specHash(service.Spec.TaskTemplate ?? {});
    for (const [, list] of bySlot) {
      if (list.length < 2) continue;
      // Several tasks meant to run in one slot: a start-first update in progress (keep both until
      // the new one runs) or a duplicate (adopted after a crash): keep the newest running up-to-date one.
      const runningNew = list.filter((t) => t.SpecHash === hash && t.Status.State === 'running');
      const keeper = runningNew.sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt))[0]
        ?? (list.every((t) => t.SpecHash !== hash) ? list.sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt))[0] : undefined);
      if (!keeper) continue;
      for (const t of list) if (t !== keeper) this.setTask(t, { DesiredState: 'shutdown' });
    }
    // Scaled down: the slots above N are gone, their history with them.
    for (const task of tasks) if (task.Slot > replicas && task.DesiredState !== 'remove') this.setTask(task, { DesiredState: 'remove' });
    for (let slot = 1; slot <= replicas; slot++) {
      if (bySlot.has(slot) && bySlot.get(slot)!.some((t) => t.DesiredState === 'running')) continue;
      tasks.push(this.newTask(service, slot, '', now));
    }
  }

  private convergeGlobal(service: Service, tasks: ActiveTask[], eligible: { keep: Set<string>; place: Set<string> }, now: number): void {
    const byNode = new Map<string, ActiveTask[]>();
    for (const task of tasks) {
      if (task.DesiredState !== 'running') continue;
      if (!eligible.keep.has(task.NodeID)) {
        if (this.nodes.stateOf(task.NodeID) === 'ready' || !this.store.nodes.has(task.NodeID)) {
          this.setTask(task, { DesiredState: 'shutdown' }, { Message: 'node drained or no longer eligible' });
        }
        continue;
      }
      const list = byNode.get(task.NodeID) ?? [];
      list.push(task);
      byNode.set(task.NodeID, list);
    }
    const hash = specHash(service.Spec.TaskTemplate ?? {});
    for (const [, list] of byNode) {
      if (list.length < 2) continue;
      const runningNew = list.filter((t) => t.SpecHash === hash && t.Status.State === 'running').sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
      const keeper = runningNew[0] ?? (list.every((t) => t.SpecHash !== hash) ? list.sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt))[0] : undefined);
      if (!keeper) continue;
      for (const t of list) if (t !== keeper) this.setTask(t, { DesiredState: 'shutdown' });
    }
    for (const nodeId of eligible.place) {
      if (byNode.has(nodeId)) continue;
      tasks.push(this.newTask(service, 0, nodeId, now));
    }
  }

  /** Starts the engine work a task needs, unless some is already in flight for it. */
  private act(service: Service, task: ActiveTask, eligible: { place: Set<string> }, now: number): void {
    if (this.inflight.has(task.ID) || (this.failedUntil.get(task.ID) ?? 0) > now) return;
    const cid = task.Status.ContainerStatus?.ContainerID;
    // Only a ready node's engine is acted on: a down engine refuses at once, and its task's
    // action, retried on every pass that the failure itself schedules, would spin (thousands of
    // failed calls a second while the engine stays down). Its containers are dealt with when it
    // is back (a shut-down task's container stopped, a removed one's reaped).
    const engine = task.NodeID && this.nodes.stateOf(task.NodeID) === 'ready' ? this.nodes.engineOf(task.NodeID) : undefined;
    if (task.DesiredState === 'running') {
      if (!cid) {
        if ((task.NotBefore ?? 0) > now) return;
        this.run(task.ID, () => this.placeTask(service, task, eligible.place));
        return;
      }
      const record = engine?.containers.get(cid);
      if (engine && record && record.state.status === 'created' && task.Status.State !== 'starting') {
        this.run(task.ID, async () => {
          this.setStatus(task, 'starting', 'starting');
          await startContainer(engine, cid);
        });
      }
      return;
    }
    const record = cid ? engine?.containers.get(cid) : undefined;
    if (task.DesiredState === 'remove') {
      if (!cid || (engine && !record)) {
        this.store.deleteTask(task.ID);
        return;
      }
      if (engine) this.run(task.ID, async () => {
        await removeContainer(engine, cid);
        this.store.deleteTask(task.ID);
      });
      return;
    }
    // shutdown
    if (!cid) {
      if (!TERMINAL_STATES.has(task.Status.State)) this.setStatus(task, 'shutdown', 'shutdown');
      return;
    }
    if (engine && record && (record.state.running || record.state.status === 'created' || record.state.restarting)) {
      const grace = task.Spec.ContainerSpec?.StopGracePeriod;
      this.run(task.ID, () => stopContainer(engine, cid, grace !== undefined ? Math.round(grace / 1e9) : 10));
    }
  }

  private async placeTask(service: Service, task: ActiveTask, placeable: Set<string>): Promise<void> {
    const fresh = this.store.tasks.get(task.ID);
    if (!fresh || fresh.DesiredState !== 'running') return;
    const serviceId = service.ID;
    const byEngine = new Map<string, string>();
    for (const nodeId of placeable) {
      const engine = this.nodes.engineOf(nodeId);
      if (engine) byEngine.set(engine.id, nodeId);
    }
    const candidates = (nodes: SchedulerNode[]): SchedulerNode[] => {
      const allowed = nodes.filter((n) => (task.NodeID ? byEngine.get(n.id) === task.NodeID : byEngine.has(n.id)));
      if (task.NodeID || allowed.length === 0) return allowed;
      // Spread the service: only the nodes running fewest of its tasks (creates in flight count).
      const counts = allowed.map((n) => n.containers.filter((c) => c.labels[SERVICE_ID_LABEL] === serviceId && (c.state === 'running' || c.state === 'created' || c.state === 'pending')).length);
      const min = Math.min(...counts);
      return allowed.filter((_n, i) => counts[i] === min);
    };
    this.setStatus(task, 'pending', 'pending task scheduling');
    let placed: { engine: import('../engine/engine').Engine; id: string };
    try {
      const body = taskContainerBody(service, task);
      placed = await placeContainer(this.cluster, body, taskContainerName(service.Spec.Name ?? service.ID, task), candidates, (engine) => this.nodes.nodeIdOf(engine.id));
    } catch (err) {
      const message = (err as Error).message.replace(/\n/g, ' ');
      if (err instanceof TaskRejected) {
        // As swarm mode: the task is rejected on that node; the restart policy replaces it after
        // its delay, and a rolling update counts it as a failure (pause / rollback).
        this.setTask(task, { NodeID: this.nodes.nodeIdOf(err.engine.id) }, { State: 'rejected', Message: 'rejected by the engine', Err: message });
        return;
      }
      this.setTask(task, { NotBefore: Date.now() + RETRY_PLACEMENT_MS }, { State: 'pending', Message: 'pending task scheduling', Err: `no suitable node (${message})` });
      return;
    }
    const nodeId = this.nodes.nodeIdOf(placed.engine.id);
    const current = this.store.tasks.get(task.ID);
    if (!current) {
      await removeContainer(placed.engine, placed.id).catch(() => undefined);
      return;
    }
    this.setTask(current, { NodeID: nodeId }, { State: 'assigned', Message: 'assigned', Err: undefined, ContainerStatus: { ContainerID: placed.id } });
    if (current.DesiredState !== 'running') return;
    this.setStatus(current, 'starting', 'starting');
    try {
      await startContainer(placed.engine, placed.id);
    } catch (err) {
      this.setStatus(current, 'failed', 'starting container failed', (err as Error).message);
    }
  }

  /** Keeps `historyLimit` tasks per slot (per node for global services); older ones go with their containers. */
  private pruneHistory(tasks: ActiveTask[]): void {
    const groups = new Map<string, ActiveTask[]>();
    for (const t of tasks) {
      if (!this.store.tasks.has(t.ID)) continue;
      const key = slotKey(t);
      const list = groups.get(key) ?? [];
      list.push(t);
      groups.set(key, list);
    }
    for (const list of groups.values()) {
      if (list.length <= this.historyLimit) continue;
      list.sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
      for (const old of list.slice(this.historyLimit)) {
        if (old.DesiredState === 'running' || !TERMINAL_STATES.has(old.Status.State) || this.inflight.has(old.ID)) continue;
        this.setTask(old, { DesiredState: 'remove' });
      }
    }
  }

  /** Tasks whose service is gone (service rm) are removed with their containers. */
  private reapOrphans(): void {
    for (const task of this.store.tasks.values()) {
      if (this.store.services.has(task.ServiceID)) continue;
      if (task.DesiredState !== 'remove') this.setTask(task, { DesiredState: 'remove' });
      this.act({ ID: task.ServiceID } as Service, task, { place: new Set() }, Date.now());
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  newTask(service: Service, slot: number, nodeId: string, notBefore: number): ActiveTask {
    const now = isoNow();
    const spec = service.Spec.TaskTemplate ?? {};
    const task: ActiveTask = {
      ID: newId(), Version: { Index: this.store.nextVersion() }, CreatedAt: now, UpdatedAt: now, Labels: {},
      Spec: spec, ServiceID: service.ID, Slot: slot, NodeID: nodeId,
      Status: { Timestamp: now, State: 'new', Message: 'created' },
      DesiredState: 'running', SpecHash: specHash(spec),
      NotBefore: notBefore > Date.now() ? notBefore : undefined,
    };
    this.store.putTask(task);
    return task;
  }

  private setTask(task: ActiveTask, fields: Partial<ActiveTask>, status?: Partial<Task['Status']>): void {
    Object.assign(task, fields);
    if (status) task.Status = { ...task.Status, ...status, Timestamp: isoNow() };
    task.Version = { Index: this.store.nextVersion() };
    task.UpdatedAt = isoNow();
    this.store.putTask(task);
  }

  private setStatus(task: ActiveTask, state: TaskState, message: string, err?: string, record?: ContainerRecord): void {
    const status: Partial<Task['Status']> = { State: state, Message: message, Err: err };
    if (record) status.ContainerStatus = { ContainerID: record.id, PID: 0, ExitCode: TERMINAL_STATES.has(state) ? record.state.exitCode : undefined };
    this.setTask(task, {}, status);
  }

  /** Runs an engine action for a task in the background, within the concurrency limit. */
  private run(taskId: string, action: () => Promise<void>): void {
    this.inflight.add(taskId);
    this.queue.push(async () => {
      try {
        await action();
        this.failedUntil.delete(taskId);
      } catch (err) {
        log.warn(`Task action failed: ${(err as Error).message}`, { task: taskId });
        this.failedUntil.set(taskId, Date.now() + this.tickMs);
      } finally {
        this.inflight.delete(taskId);
        this.schedule();
      }
    });
    this.drain();
  }

  private drain(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void job().finally(() => {
        this.running--;
        this.drain();
      });
    }
  }
}

/** Replicated tasks are grouped by slot, global ones by node. */
function slotKey(t: Task): string {
  return t.Slot > 0 ? `s${t.Slot}` : `n${t.NodeID}`;
}

/** A task's state as its container shows it. */
function containerTaskState(c: ContainerRecord): { state: TaskState; message: string; err?: string } | undefined {
  switch (c.state.status) {
    case 'running':
    case 'paused':
    case 'restarting':
      return { state: 'running', message: 'started' };
    case 'exited':
    case 'dead':
      return c.state.exitCode === 0 && c.state.status === 'exited'
        ? { state: 'complete', message: 'finished' }
        : { state: 'failed', message: 'started', err: `task: non-zero exit (${c.state.exitCode})` };
    default:
      return undefined;
  }
}
