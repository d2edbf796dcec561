/**
 * Placing and creating a container (classic §3.7): unique name, swarm ID, scheduling, reserving
 * the slot while the engine creates it, and retries (another node holding the image; then
 * `swarm.createretry` further candidates).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Cluster, SWARM_ID_LABEL } from './cluster';
import type { Engine } from '../engine/engine';
import { provisionalContainer } from '../engine/records';
import type { CreateBody } from '../docker-types';
import { hasHardNodeConstraint } from '../scheduler/request-expressions';
import { networkPin } from './networks';
import { whereImageIs } from './missing-image';
import { engineCpuShares } from '../scheduler/resources';
import { ApiError } from '../errors';
import type { SchedulerNode } from '../scheduler/node';
import { parseMessage } from '../engine/client';
import { log } from '../log';
import { metrics } from '../metrics/registry';

export interface CreateResult {
  engine: Engine;
  id: string;
  warnings: string[];
}

/** Engine answers that mean "this engine lacks the image". */
function isMissingImage(status: number, message: string): boolean {
  return status === 404 && /no such image|not found|does not exist/i.test(message);
}


export interface CreateOptions {
  /** Engines not to place on (rescheduling skips the failed one). */
  exclude?: ReadonlySet<Engine>;
  /** Told the swarm expressions, then each engine tried (the audit line). */
  onExpressions?: (expressions: string[]) => void;
  onEngine?: (engine: Engine) => void;
  /** Narrows the nodes the scheduler may choose from (services: availability, constraints, spread). */
  candidates?: (nodes: SchedulerNode[]) => SchedulerNode[];
  /**
   * Labels that depend on the engine the container lands on, added for each attempt (services:
   * swarm mode's `com.docker.swarm.node.id`, known only once the scheduler has chosen).
   */
  labelsFor?: (engine: Engine) => Record<string, string>;
}

/**
 * Creates a container somewhere in the cluster: `docker create`/`run`, rescheduling and services
 * all come here. Placement is `cluster.place`; the chosen engine's slot (resources, name) is
 * reserved until the engine answers. `input.Labels[com.docker.swarm.id]` is kept when given
 * (rescheduling keeps the swarm ID), otherwise a new one is made.
 */
export async function createContainer(cluster: Cluster, input: CreateBody, name: string | undefined, headers: IncomingHttpHeaders, apiVersion?: string, options: CreateOptions = {}): Promise<CreateResult> {
  if (name !== undefined && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw new ApiError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const bareName = name?.replace(/^\//, '');
  if (bareName) cluster.assertNameFree(bareName);
  const pin = networkPin(() => cluster.healthyEngines(), input);
  const placement = cluster.place(pin.body, { name: bareName, exclude: options.exclude, near: pin.engines, onExpressions: options.onExpressions, candidates: options.candidates });
  const { request, body } = placement;
  const labels = body.Labels as Record<string, string>;
  if (!labels[SWARM_ID_LABEL]) labels[SWARM_ID_LABEL] = cluster.newSwarmId();
  const nodePinned = hasHardNodeConstraint(request);

  const attempts = [placement.engine];
  let lastError: ApiError | undefined;
  let triedImage = false;
  for (let attempt = 0; attempt < attempts.length; attempt++) {
    const engine = attempts[attempt];
    options.onEngine?.(engine);
    const attemptBody = options.labelsFor ? { ...body, Labels: { ...labels, ...options.labelsFor(engine) } } : body;
    const release = cluster.reserve(engine, {
      id: '', names: bareName ? [bareName] : [], image: request.image, labels: attemptBody.Labels as Record<string, string>, state: 'pending',
      cpus: request.cpus, memory: request.memory, networkMode: request.networkMode,
      portBindings: request.portBindings, exposedPorts: request.exposedPorts,
    });
    try {
      const query = bareName ? `?name=${encodeURIComponent(bareName)}` : '';
      const forwardHeaders = headers['x-registry-auth'] ? { 'X-Registry-Auth': headers['x-registry-auth'] } : {};
      const sentAt = Date.now();
      const response = await engine.request('POST', `/containers/create${query}`, { body: engineBody(attemptBody, request.cpus, engine.cpus), headers: forwardHeaders, apiVersion });
      const text = response.body.toString('utf8');
      if (response.status === 201) {
        const created = JSON.parse(text) as { Id: string; Warnings?: string[] | null };
        engine.adoptCreated(provisionalContainer(created.Id, bareName ?? '', attemptBody, sentAt));
        metrics.placements.inc({ engine: engine.name });
        if ((labels['com.docker.swarm.reschedule-policies'] ?? '').includes('on-node-failure')) cluster.createBodies.set(created.Id, body);
        return { engine, id: created.Id, warnings: created.Warnings ?? [] };
      }
      const message = parseMessage(text);
      lastError = new ApiError(response.status, message);
      if (response.status === 409 || response.status === 400) throw lastError;
      if (isMissingImage(response.status, message) && !triedImage) {
        triedImage = true;
        const next = await whereImageIs(cluster, engine, request, { spec: pin.body, name: bareName, exclude: options.exclude, pinnedTo: pin.engines, nodePinned, auth: headers['x-registry-auth'] });
        if (next) attempts.push(next);
      } else if (attempts.length <= cluster.options.scheduler.createRetry) {
        const next = placement.candidates().find((n) => !attempts.includes(n)) ?? placement.engine;
        log.warn(`Failed to create container: ${message}, retrying`, { node: engine.name });
        attempts.push(next);
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      lastError = new ApiError(500, `Error from engine ${engine.name} (${engine.addr}): ${(err as Error).message}`);
      if (attempts.length <= cluster.options.scheduler.createRetry) attempts.push(placement.candidates().find((n) => !attempts.includes(n)) ?? engine);
    } finally {
      release();
    }
  }
  throw lastError ?? new ApiError(503, 'No nodes available in the cluster');
}

/**
 * Classic semantics: a CpuShares value is a number of CPUs to reserve; the engine receives the
 * equivalent share of its own CPUs (ceil(cpus*1024/NCPU)). NanoCpus passes through unchanged.
 */
function engineBody(body: CreateBody, cpus: number, engineCpus: number): CreateBody {
  const hostConfig = body.HostConfig;
  if (!hostConfig?.CpuShares || (hostConfig.NanoCpus ?? 0) > 0) return body;
  return { ...body, HostConfig: { ...hostConfig, CpuShares: engineCpuShares(cpus, engineCpus) } };
}
