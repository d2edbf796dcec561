/**
 * Tasks as containers: the create body of a task's container (swarm mode's names and labels,
 * resources, published ports), the ONE call into cluster placement, and the engine calls that
 * start, stop and remove task containers.
 */
import type { Cluster } from '../cluster/cluster';
import { createContainer } from '../cluster/create';
import type { Engine } from '../engine/engine';
import type { CreateBody } from '../scheduler/build-request';
import type { SchedulerNode } from '../scheduler/node';
import { ensureOk } from '../engine/client';
import { ApiError } from '../errors';
import {
  NODE_ID_LABEL, SERVICE_ID_LABEL, SERVICE_NAME_LABEL, TASK_ID_LABEL, TASK_LABEL, TASK_NAME_LABEL, TASK_SLOT_LABEL, TASK_SPEC_LABEL,
  taskContainerName, type Service, type Task,
} from './model';

/**
 * Places and creates a container through the cluster's scheduler, on one of the nodes
 * `candidates` keeps (it runs synchronously on the cluster's current nodes, creates in flight
 * included, so concurrent placements see each other). The single point where services meet placement: when the cluster gains its one
 * `place` operation, only this function changes. The container gets swarm mode's
 * `com.docker.swarm.node.id` label of the engine it lands on (`nodeIdOf`).
 */
export async function placeContainer(cluster: Cluster, body: CreateBody, name: string, candidates: (nodes: SchedulerNode[]) => SchedulerNode[], nodeIdOf: (engine: Engine) => string): Promise<{ engine: Engine; id: string }> {
  let tried: Engine | undefined;
  try {
    const result = await createContainer(cluster, body, name, {}, undefined, {
      candidates, labelsFor: (engine) => ({ [NODE_ID_LABEL]: nodeIdOf(engine) }), onEngine: (engine) => (tried = engine),
    });
    return { engine: result.engine, id: result.id };
  } catch (err) {
    // A node was chosen but its engine refused the container (scheduling failures are not ApiErrors).
    if (err instanceof ApiError && tried) throw new TaskRejected(err.message, tried);
    throw err;
  }
}

/**
 * The engine refused a task's container (an image no engine has or can pull, an option it
 * rejects): swarm mode's "rejected" task, unlike a task no node fits, which stays pending.
 */
export class TaskRejected extends Error {
  constructor(message: string, readonly engine: Engine) {
    super(message);
    this.name = 'TaskRejected';
  }
}

/**
 * The container create body of a task, as swarm mode's executor builds it (less the node ID
 * label, which placeContainer adds once the node is chosen).
 */
export function taskContainerBody(service: Service, task: Task): CreateBody {
  const spec = task.Spec;
  const c = spec.ContainerSpec ?? {};
  const name = taskContainerName(service.Spec.Name ?? service.ID, task);
  const labels: Record<string, string> = {
    ...(c.Labels ?? {}),
    [SERVICE_ID_LABEL]: service.ID,
    [SERVICE_NAME_LABEL]: service.Spec.Name ?? '',
    [TASK_LABEL]: '',
    [TASK_ID_LABEL]: task.ID,
    [TASK_NAME_LABEL]: name,
    [TASK_SLOT_LABEL]: String(task.Slot),
    [TASK_SPEC_LABEL]: task.SpecHash,
  };
  const limits = spec.Resources?.Limits ?? {};
  const reservations = spec.Resources?.Reservations ?? {};
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of service.Endpoint.Ports ?? []) {
    const key = `${port.TargetPort}/${port.Protocol ?? 'tcp'}`;
    exposed[key] = {};
    // Ingress: the engine publishes on a port of its choosing, which the routing mesh dials.
    // Host mode: the published port itself, on the task's engine.
    bindings[key] = [{ HostIp: '', HostPort: port.PublishMode === 'host' ? String(port.PublishedPort ?? '') : '' }];
  }
  return {
    Image: c.Image,
    Hostname: c.Hostname,
    Env: c.Env ?? [],
    Cmd: c.Args ?? null,
    Entrypoint: c.Command ?? null,
    WorkingDir: c.Dir ?? '',
    User: c.User ?? '',
    Tty: c.TTY ?? false,
    OpenStdin: c.OpenStdin ?? false,
    StopSignal: c.StopSignal,
    StopTimeout: c.StopGracePeriod !== undefined ? Math.round(c.StopGracePeriod / 1e9) : undefined,
    Labels: labels,
    ExposedPorts: exposed,
    HostConfig: {
      // Classic semantics reserve NanoCpus as CPUs; a reservation (or else the limit) is what placement counts.
      NanoCpus: limits.NanoCPUs ?? reservations.NanoCPUs ?? 0,
      Memory: limits.MemoryBytes ?? reservations.MemoryBytes ?? 0,
      PortBindings: bindings,
      Init: c.Init ?? undefined,
      Binds: (c.Mounts ?? []).filter((m) => m.Type === 'bind' || m.Type === 'volume' || !m.Type).map((m) => `${m.Source}:${m.Target}${m.ReadOnly ? ':ro' : ''}`),
      LogConfig: spec.LogDriver?.Name ? { Type: spec.LogDriver.Name, Config: spec.LogDriver.Options ?? {} } : undefined,
    },
  };
}

export async function startContainer(engine: Engine, id: string): Promise<void> {
  const sentAt = Date.now();
  const response = await engine.request('POST', `/containers/${id}/start`, { timeoutMs: 120_000 });
  if (response.status === 304) return;
  ensureOk(response);
  engine.markStarted(id, sentAt);
}

export async function stopContainer(engine: Engine, id: string, graceSeconds?: number): Promise<void> {
  const query = graceSeconds !== undefined ? `?t=${graceSeconds}` : '';
  const response = await engine.request('POST', `/containers/${id}/stop${query}`, { timeoutMs: 120_000 });
  if (response.status === 404 || response.status === 304) return;
  ensureOk(response);
  await engine.refreshContainer(id).catch(() => undefined);
}

export async function removeContainer(engine: Engine, id: string): Promise<void> {
  const response = await engine.request('DELETE', `/containers/${id}?force=1&v=1`, { timeoutMs: 120_000 });
  if (response.status === 404) {
    engine.forgetContainer(id);
    return;
  }
  ensureOk(response);
  engine.forgetContainer(id);
}
