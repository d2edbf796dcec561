/**
 * Rescheduling on node failure (classic section 4, without its bugs): containers with the policy
 * `on-node-failure` (`-e reschedule:on-node-failure`, or the label
 * com.docker.swarm.reschedule-policies=["on-node-failure"]) are recreated on another engine when
 * theirs becomes Unhealthy or leaves discovery: same name, config, labels, swarm ID,
 * constraints and port bindings, through the scheduler (`createContainer` -> `Cluster.place`),
 * and started if they were running.
 *
 * Level-triggered rather than classic's one-shot event handler: every pass (on each engine
 * connect / disconnect / reconnect, on becoming primary, and every few seconds) compares what
 * runs with what should, so
 * - a container that fits no other node waits and is retried when the cluster changes;
 * - a new primary finishes what the old one started, also when the old primary's own node died
 *   (it finds the failed engine's containers, and the jobs the old primary wrote in the KV store
 *   under <prefix>/docker/swarm/reschedule/<swarm ID>);
 * - when a failed engine returns, the stale copies there are removed (the newest copy of a swarm
 *   ID wins), so two copies of one swarm ID never stay running.
 * Only the primary acts (Role.isPrimary() is checked before each step). Every step is logged
 * and published as a `swarm` event (reschedule-*).
 */
import type { Cluster } from './cluster';
import { RESCHEDULE_LABEL, SWARM_ID_LABEL } from '../swarm-labels';
import { createContainer } from './create';
import { runLimited, type Engine } from '../engine/engine';
import type { ContainerRecord } from '../engine/records';
import type { CreateBody } from '../docker-types';
import type { Role } from '../leadership/leadership';
import type { Store } from '../kv/store';
import { normalizeKey } from '../kv/store';
import { log } from '../log';
import { metrics } from '../metrics/registry';

export { RESCHEDULE_LABEL };
export const JOBS_DIR = 'docker/swarm/reschedule';
const TICK_MS = 5000;
/** How long engine events are gathered before the pass they ask for. */
const EVENT_PASS_DELAY_MS = 100;
/** Containers of a failed engine recreated at once (creates and starts in flight). */
const RESCHEDULE_PARALLELISM = 8;

/** Whether a container's config names other containers it must run beside or after. */
export function dependsOnContainers(config: CreateBody): boolean {
  const host = (config.HostConfig ?? {}) as { Links?: string[] | null; VolumesFrom?: string[] | null; NetworkMode?: string; PidMode?: string; IpcMode?: string };
  return (host.Links?.length ?? 0) > 0 || (host.VolumesFrom?.length ?? 0) > 0
    || [host.NetworkMode, host.PidMode, host.IpcMode].some((mode) => mode?.startsWith('container:'));
}

/** The policy of a container, from its labels (env entries were moved into the label on create). */
export function reschedulePolicy(labels: Record<string, string>): 'on-node-failure' | 'off' {
  try {
    const policies: unknown = JSON.parse(labels[RESCHEDULE_LABEL] ?? '[]');
    return Array.isArray(policies) && policies.includes('on-node-failure') ? 'on-node-failure' : 'off';
  } catch {
    return 'off';
  }
}

const NONE: readonly ContainerRecord[] = Object.freeze([]);

/**
 * The engines a pass has anything to do with: those holding a container with a reschedule label
 * or a disowned copy. One tight loop over the engines' label counts; the pass then walks only
 * these. Walking every engine in each of the pass's steps (async functions, an iterator per
 * engine) held the event loop ~30 ms every 5 s at 5,000 engines with no policy container at all.
 */
function enginesWithPolicy(engines: Iterable<Engine>): Engine[] {
  const found: Engine[] = [];
  for (const engine of engines) {
    if (engine.containers.countWithLabel(RESCHEDULE_LABEL) > 0 || engine.disowned.size > 0) found.push(engine);
  }
  return found;
}

/**
 * An engine's containers with the on-node-failure policy, found through the engine's label
 * index: a pass visits these, not every container (a pass per event over 30,000 containers
 * made the fill quadratic).
 */
function policyContainers(engine: Engine): readonly ContainerRecord[] {
  // Most engines have none: a pass visits every engine every 5 s (5,000 at scale).
  if (engine.containers.countWithLabel(RESCHEDULE_LABEL) === 0) return NONE;
  return [...engine.containers.withLabel(RESCHEDULE_LABEL)].filter((c) => reschedulePolicy(c.labels) === 'on-node-failure');
}

/** A container being rescheduled, as kept in the KV store. */
export interface RescheduleJob {
  swarmId: string;
  name: string;
  /** The failed engine: address, name, and the container's ID there. */
  fromAddr: string;
  fromName: string;
  oldId: string;
  wasRunning: boolean;
  config: CreateBody;
  since: number;
}

/** Docker's inspect, turned back into the create body that makes the same container. */
export function createBodyFromInspect(info: Record<string, unknown>): CreateBody {
  const config = { ...(info.Config as Record<string, unknown>) };
  const id = String(info.Id ?? '');
  if (config.Hostname === id.slice(0, 12)) delete config.Hostname; // the default hostname is the old ID
  const hostConfig = { ...(info.HostConfig as Record<string, unknown>) };
  const networks = ((info.NetworkSettings as { Networks?: Record<string, Record<string, unknown>> } | undefined)?.Networks) ?? {};
  const endpoints: Record<string, unknown> = {};
  for (const [name, endpoint] of Object.entries(networks)) {
    if (name === hostConfig.NetworkMode || ['bridge', 'host', 'none', 'default'].includes(name)) continue;
    const aliases = ((endpoint.Aliases as string[] | null) ?? []).filter((a) => !id.startsWith(a));
    endpoints[name] = { Aliases: aliases, IPAMConfig: endpoint.IPAMConfig ?? null, Links: endpoint.Links ?? null };
  }
  return { ...config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: endpoints } } as CreateBody;
}

export interface ReschedulerOptions {
  /** With a store (replication), jobs are written to it so a new primary can finish them. */
  store?: Store;
  prefix?: string;
}

export class Rescheduler {
  /** Every engine seen, so containers of engines that left discovery are not forgotten. */
  private readonly seen = new Set<Engine>();
  /** Create bodies of policy containers, read once per container while its engine is up. */
  private readonly configs = new Map<string, CreateBody>();
  private readonly jobs = new Map<string, RescheduleJob>();
  private readonly lastFailure = new Map<string, string>();
  private running = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private soonTimer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private readonly jobsDir: string;

  constructor(private readonly cluster: Cluster, private readonly role: Role, private readonly options: ReschedulerOptions = {}) {
    this.jobsDir = normalizeKey(`${options.prefix ?? ''}/${JOBS_DIR}`);
  }

  start(): void {
    this.unsubscribe = this.cluster.events.subscribe((event) => {
      if (event.Type === 'swarm' && event.Action.startsWith('engine_')) this.triggerSoon();
      // Engines put a container's labels in its events' attributes: only a policy container's
      // creation needs a pass now (to read its config while its engine is up); the periodic
      // pass catches engines that leave labels out.
      else if (event.Type === 'container' && event.Action === 'create' && event.Actor?.Attributes?.[RESCHEDULE_LABEL] !== undefined) this.triggerSoon();
    });
    this.role.on('change', this.onRoleChange);
    this.timer = setInterval(() => this.trigger(), TICK_MS);
    this.timer.unref();
    this.trigger();
  }

  stop(): void {
    this.unsubscribe?.();
    this.role.off('change', this.onRoleChange);
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
  }

  private readonly onRoleChange = (): void => {
    if (this.role.isPrimary()) this.trigger();
  };

  /**
   * A pass within EVENT_PASS_DELAY_MS, one for all the events meanwhile: a pass visits every
   * engine, and 5,000 engines connecting at start-up asked for 5,000 passes.
   */
  private triggerSoon(): void {
    this.soonTimer ??= setTimeout(() => {
      this.soonTimer = undefined;
      this.trigger();
    }, EVENT_PASS_DELAY_MS);
  }

  /** Runs a pass now, or right after the one in progress. */
  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.pass()
      .catch((err: Error) => log.warn('Rescheduling pass failed', { error: err.message }))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** One comparison of what runs with what should (see the file comment). */
  private async pass(): Promise<void> {
    for (const engine of this.cluster.engines.values()) this.seen.add(engine);
    const withPolicy = enginesWithPolicy(this.seen);
    await this.learnConfigs(withPolicy);
    if (!this.role.isPrimary()) return;
    await this.loadJobs();
    for (const engine of withPolicy) {
      if (this.cluster.engines.get(engine.addr) !== engine || engine.status === 'unhealthy') {
        for (const c of policyContainers(engine)) await this.open(engine, c);
      }
    }
    // What a gone engine held is in the jobs now.
    for (const engine of this.seen) if (this.cluster.engines.get(engine.addr) !== engine) this.seen.delete(engine);
    // Jobs that depend on no other container at once: each create and start waits on an engine,
    // and one after the other they added seconds per container to a node failure. Those that
    // do (links, volumes-from, another container's network/pid/ipc) after them, in order, so
    // what they depend on is back first.
    const jobs = [...this.jobs.values()];
    const dependent = jobs.filter((job) => dependsOnContainers(job.config));
    await runLimited(jobs.filter((job) => !dependent.includes(job)), RESCHEDULE_PARALLELISM, async (job) => {
      if (!this.role.isPrimary()) return;
      await this.advance(job).catch((err: Error) => log.warn(`Rescheduling container ${job.name} failed`, { swarmId: job.swarmId, error: err.message }));
    });
    for (const job of dependent) {
      if (!this.role.isPrimary()) return;
      await this.advance(job);
    }
    if (this.role.isPrimary()) await this.removeStaleCopies();
  }

  /** Every manager reads (once) the config of each policy container on a healthy engine. */
  private async learnConfigs(withPolicy: readonly Engine[]): Promise<void> {
    const live = new Set<string>();
    for (const engine of withPolicy) {
      if (engine.status !== 'healthy') continue;
      for (const c of policyContainers(engine)) {
        live.add(c.id);
        if (this.configs.has(c.id)) continue;
        try {
          const response = await engine.request('GET', `/containers/${c.id}/json`);
          if (response.status === 200) this.configs.set(c.id, createBodyFromInspect(JSON.parse(response.body.toString('utf8')) as Record<string, unknown>));
        } catch {
          // gone or unreachable: next pass
        }
      }
    }
    // Both maps hold policy containers only: one that is no longer on any engine seen is gone.
    // Scanned again: a policy container created during the inspects above is not gone.
    for (const engine of enginesWithPolicy(this.seen)) for (const c of policyContainers(engine)) live.add(c.id);
    for (const id of [...this.configs.keys()]) if (!live.has(id)) this.configs.delete(id);
    for (const id of [...this.cluster.createBodies.keys()]) if (!live.has(id)) this.cluster.createBodies.delete(id);
  }

  private async open(engine: Engine, c: ContainerRecord): Promise<void> {
    const swarmId = c.labels[SWARM_ID_LABEL];
    if (!swarmId || this.jobs.has(swarmId)) return;
    const config = this.configs.get(c.id) ?? this.cluster.createBodies.get(c.id);
    if (!config) {
      this.failOnce(swarmId, `the configuration of container ${c.name} (${c.id.slice(0, 12)}) was never read, it cannot be recreated`, engine);
      return;
    }
    const job: RescheduleJob = { swarmId, name: c.name, fromAddr: engine.addr, fromName: engine.name, oldId: c.id, wasRunning: c.state.running, config, since: Date.now() };
    this.jobs.set(swarmId, job);
    await this.saveJob(job);
    log.info(`Rescheduling container ${c.name} (${c.id.slice(0, 12)}) from failed node ${engine.name}`, { swarmId });
    this.cluster.publishClusterEvent('reschedule-pending', swarmId, { name: c.name, container: c.id, 'from.node': engine.name }, engine);
  }

  /** The copies of a swarm ID on healthy engines. */
  private copies(swarmId: string): Array<{ engine: Engine; container: ContainerRecord }> {
    const out: Array<{ engine: Engine; container: ContainerRecord }> = [];
    // A copy is made from the job's config, policy label included: the label index finds it.
    for (const engine of this.cluster.healthyEngines()) {
      for (const container of policyContainers(engine)) if (container.labels[SWARM_ID_LABEL] === swarmId) out.push({ engine, container });
    }
    return out;
  }

  private async advance(job: RescheduleJob): Promise<void> {
    const from = this.cluster.engines.get(job.fromAddr);
    const copies = this.copies(job.swarmId);
    const original = copies.find((c) => c.container.id === job.oldId);
    if (original) {
      // Its node came back before a copy was made elsewhere: keep the original.
      log.info(`Container ${job.name} is back on ${original.engine.name}, not rescheduled`, { swarmId: job.swarmId });
      this.cluster.publishClusterEvent('reschedule-cancelled', job.swarmId, { name: job.name, container: job.oldId }, original.engine);
      return this.finish(job);
    }
    let copy = copies.find((c) => c.engine.addr !== job.fromAddr);
    if (copy) {
      from?.disown(job.oldId); // made by an earlier pass or primary: hide the stale one
    } else {
      const previous = from?.disown(job.oldId);
      try {
        const created = await createContainer(this.cluster, structuredClone(job.config), job.name, {}, undefined, { exclude: from ? new Set([from]) : undefined });
        metrics.reschedules.inc({ result: 'rescheduled' });
        log.info(`Rescheduled container ${job.oldId.slice(0, 12)} from ${job.fromName} to ${created.engine.name} as ${created.id.slice(0, 12)}`, { name: job.name, swarmId: job.swarmId });
        this.cluster.publishClusterEvent('reschedule-create', job.swarmId, { name: job.name, container: created.id, 'from.node': job.fromName, 'from.container': job.oldId }, created.engine);
        const record = created.engine.containers.get(created.id);
        if (!record) return;
        copy = { engine: created.engine, container: record };
      } catch (err) {
        if (previous) from?.reown(previous);
        this.failOnce(job.swarmId, (err as Error).message, from, job.name);
        return;
      }
    }
    if (job.wasRunning && !copy.container.state.running) {
      if (!this.role.isPrimary()) return;
      try {
        log.info(`Container ${job.oldId.slice(0, 12)} was running, starting container ${copy.container.id.slice(0, 12)}`, { name: job.name });
        const sentAt = Date.now();
        const response = await copy.engine.request('POST', `/containers/${copy.container.id}/start`);
        if (response.status >= 300 && response.status !== 304) throw new Error(response.body.toString('utf8').trim());
        copy.engine.markStarted(copy.container.id, sentAt);
        this.cluster.publishClusterEvent('reschedule-start', job.swarmId, { name: job.name, container: copy.container.id }, copy.engine);
      } catch (err) {
        log.warn(`Failed to start rescheduled container ${copy.container.id.slice(0, 12)}: ${(err as Error).message}`, { name: job.name });
        this.failOnce(job.swarmId, `start: ${(err as Error).message}`, copy.engine, job.name);
        return;
      }
    }
    this.cluster.publishClusterEvent('reschedule-done', job.swarmId, { name: job.name, container: copy.container.id, 'from.node': job.fromName }, copy.engine);
    await this.finish(job);
  }

  private failOnce(swarmId: string, message: string, engine?: Engine, name = ''): void {
    if (this.lastFailure.get(swarmId) === message) return;
    this.lastFailure.set(swarmId, message);
    metrics.reschedules.inc({ result: 'failed' });
    log.warn(`Failed to reschedule container ${name || swarmId.slice(0, 12)}: ${message} (retried when the cluster changes)`, { swarmId });
    this.cluster.publishClusterEvent('reschedule-failed', swarmId, { name, error: message }, engine);
  }

  private async finish(job: RescheduleJob): Promise<void> {
    this.jobs.delete(job.swarmId);
    this.lastFailure.delete(job.swarmId);
    if (this.options.store) await this.options.store.delete(`${this.jobsDir}/${job.swarmId}`).catch(() => undefined);
  }

  /**
   * A swarm ID with a reschedule policy running on two healthy engines (a failed engine came
   * back): the newest copy stays, the others are removed (forced; volumes are kept). Copies
   * disowned on a returning engine are removed too.
   */
  private async removeStaleCopies(): Promise<void> {
    const bySwarmId = new Map<string, Array<{ engine: Engine; container: ContainerRecord }>>();
    // Scanned again: this pass may have created copies on engines that held none before.
    for (const engine of enginesWithPolicy(this.cluster.engines.values())) {
      if (engine.status !== 'healthy') continue;
      for (const id of [...engine.disowned]) await this.removeStale(engine, id, '');
      for (const container of policyContainers(engine)) {
        const swarmId = container.labels[SWARM_ID_LABEL];
        if (!swarmId || this.jobs.has(swarmId)) continue;
        const list = bySwarmId.get(swarmId) ?? [];
        list.push({ engine, container });
        bySwarmId.set(swarmId, list);
      }
    }
    for (const [swarmId, copies] of bySwarmId) {
      if (copies.length < 2) continue;
      copies.sort((a, b) => b.container.created - a.container.created || Number(b.container.state.running) - Number(a.container.state.running));
      for (const stale of copies.slice(1)) {
        if (!this.role.isPrimary()) return;
        await this.removeStale(stale.engine, stale.container.id, swarmId, stale.container.name);
      }
    }
  }

  private async removeStale(engine: Engine, id: string, swarmId: string, name = ''): Promise<void> {
    if (!this.role.isPrimary()) return;
    try {
      const response = await engine.request('DELETE', `/containers/${id}?force=1`);
      if (response.status >= 300 && response.status !== 404) throw new Error(response.body.toString('utf8').trim());
      engine.disowned.delete(id);
      engine.forgetContainer(id);
      log.info(`Removed stale copy ${id.slice(0, 12)} of a rescheduled container from ${engine.name}`, { name, swarmId });
      this.cluster.publishClusterEvent('reschedule-remove-stale', swarmId || id, { name, container: id }, engine);
    } catch (err) {
      log.warn(`Failed to remove duplicate container ${id.slice(0, 12)} on node ${engine.name}: ${(err as Error).message}`);
    }
  }

  private async saveJob(job: RescheduleJob): Promise<void> {
    if (!this.options.store) return;
    await this.options.store.put(`${this.jobsDir}/${job.swarmId}`, JSON.stringify(job)).catch((err: Error) => log.warn('Could not record the rescheduling job in the store', { error: err.message }));
  }

  /** Jobs an earlier primary recorded and did not finish. */
  private async loadJobs(): Promise<void> {
    if (!this.options.store) return;
    let pairs;
    try {
      pairs = await this.options.store.list(this.jobsDir);
    } catch {
      return;
    }
    for (const pair of pairs) {
      try {
        const job = JSON.parse(pair.value) as RescheduleJob;
        if (job.swarmId && !this.jobs.has(job.swarmId)) {
          this.jobs.set(job.swarmId, job);
          log.info(`Resuming the rescheduling of container ${job.name} from ${job.fromName}`, { swarmId: job.swarmId });
        }
      } catch {
        // not ours
      }
    }
  }
}
