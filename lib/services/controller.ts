/**
 * What the /services, /tasks and /nodes routes ask: create, update (and roll back), remove and
 * look up services; list tasks; update and remove nodes. Changes go to the store and wake the
 * reconciler, which does the engine work. Errors are swarm mode's messages with the status the
 * Engine API gives them.
 */
import { ApiError } from '../errors';
import {
  TERMINAL_STATES, isGlobal, isoNow, newId, replicasOf, specHash, validateSpec,
  type NodeRecord, type PortConfig, type Service, type ServiceSpec, type Task,
} from './model';
import type { NodeDirectory } from './nodes';
import type { ServiceStore } from './store';

/** swarm mode's default range for ingress ports published without a number. */
const DYNAMIC_PORT_START = 30000;
const DYNAMIC_PORT_END = 32767;

export class ServiceController {
  constructor(
    readonly store: ServiceStore,
    readonly nodes: NodeDirectory,
    /** Wakes the reconciler after a change. */
    private readonly changed: () => void,
  ) {}

  // ---- services -----------------------------------------------------------------------------

  resolveService(ref: string): Service {
    const exact = this.store.services.get(ref);
    if (exact) return exact;
    const all = [...this.store.services.values()];
    const byName = all.find((s) => s.Spec.Name === ref);
    if (byName) return byName;
    const byPrefix = all.filter((s) => s.ID.startsWith(ref));
    if (byPrefix.length === 1 && ref.length > 0) return byPrefix[0];
    if (byPrefix.length > 1) throw new ApiError(404, `service ${ref} is ambiguous (${byPrefix.length} matches found)`);
    throw new ApiError(404, `service ${ref} not found`);
  }

  create(spec: ServiceSpec): { ID: string; Warnings: string[] | null } {
    validateSpec(spec);
    if ([...this.store.services.values()].some((s) => s.Spec.Name === spec.Name)) {
      throw new ApiError(409, `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${spec.Name} already exists`);
    }
    const now = isoNow();
    const id = newId();
    const normalized = normalizeSpec(spec);
    const service: Service = {
      ID: id, Version: { Index: this.store.nextVersion() }, CreatedAt: now, UpdatedAt: now, Spec: normalized,
      Endpoint: { Spec: normalized.EndpointSpec ?? {}, Ports: this.allocatePorts(id, normalized.EndpointSpec?.Ports ?? []) },
    };
    if ((service.Endpoint.Ports ?? []).length === 0) delete service.Endpoint.Ports;
    this.store.putService(service);
    this.changed();
    return { ID: id, Warnings: null };
  }

  update(ref: string, versionText: string | null, spec: ServiceSpec, rollback: string | null): { Warnings: string[] | null } {
    const service = this.resolveService(ref);
    const version = Number(versionText);
    if (versionText === null || !Number.isInteger(version)) throw new ApiError(400, 'invalid service version: the version query parameter is required');
    if (version !== service.Version.Index) throw new ApiError(409, 'rpc error: code = Unknown desc = update out of sequence');
    const now = isoNow();
    if (rollback === 'previous') {
      if (!service.PreviousSpec) throw new ApiError(400, `rpc error: code = FailedPrecondition desc = service ${service.ID} does not have a previous spec`);
      const previous = service.PreviousSpec;
      const taskChange = specHash(previous.TaskTemplate ?? {}) !== specHash(service.Spec.TaskTemplate ?? {});
      Object.assign(service, {
        Spec: previous, PreviousSpec: service.Spec,
        UpdateStatus: taskChange ? { State: 'rollback_started', StartedAt: now, Message: 'manually requested rollback' } : service.UpdateStatus,
      });
    } else {
      if (rollback !== null && rollback !== '') throw new ApiError(400, `unrecognized rollback option ${rollback}`);
      validateSpec(spec);
      if (spec.Name !== service.Spec.Name) throw new ApiError(400, 'rpc error: code = Unimplemented desc = renaming services is not supported');
      if (isGlobal(spec) !== isGlobal(service.Spec)) throw new ApiError(400, 'rpc error: code = Unimplemented desc = service mode change is not allowed');
      const normalized = normalizeSpec(spec);
      const taskChange = specHash(normalized.TaskTemplate ?? {}) !== specHash(service.Spec.TaskTemplate ?? {});
      Object.assign(service, {
        Spec: normalized, PreviousSpec: service.Spec,
        UpdateStatus: taskChange ? { State: 'updating', StartedAt: now, Message: 'update in progress' } : service.UpdateStatus,
      });
    }
    service.Version = { Index: this.store.nextVersion() };
    service.UpdatedAt = now;
    service.Endpoint = { Spec: service.Spec.EndpointSpec ?? {}, Ports: this.allocatePorts(service.ID, service.Spec.EndpointSpec?.Ports ?? [], service.Endpoint.Ports ?? []) };
    if ((service.Endpoint.Ports ?? []).length === 0) delete service.Endpoint.Ports;
    this.store.putService(service);
    this.changed();
    return { Warnings: null };
  }

  remove(ref: string): void {
    const service = this.resolveService(ref);
    this.store.deleteService(service.ID);
    this.changed();
  }

  /** Engine API list filters: id, name (prefixes), label, mode. */
  list(filters: Record<string, string[]>, withStatus: boolean): Service[] {
    for (const key of Object.keys(filters)) {
      if (!['id', 'name', 'label', 'mode'].includes(key)) throw new ApiError(400, `invalid filter '${key}'`);
    }
    const out: Service[] = [];
    for (const s of this.store.services.values()) {
      if (filters.id?.length && !filters.id.some((v) => s.ID.startsWith(v))) continue;
      if (filters.name?.length && !filters.name.some((v) => (s.Spec.Name ?? '').startsWith(v))) continue;
      if (filters.mode?.length && !filters.mode.includes(isGlobal(s.Spec) ? 'global' : 'replicated')) continue;
      if (filters.label?.length && !filters.label.every((l) => labelMatches(s.Spec.Labels ?? {}, l))) continue;
      out.push(withStatus ? { ...s, ServiceStatus: this.status(s) } as Service : s);
    }
    return out.sort((a, b) => a.CreatedAt.localeCompare(b.CreatedAt));
  }

  status(service: Service): { RunningTasks: number; DesiredTasks: number; CompletedTasks: number } {
    let running = 0;
    let completed = 0;
    for (const t of this.store.tasksOf(service.ID)) {
      if (t.DesiredState === 'running' && t.Status.State === 'running' && this.nodes.stateOf(t.NodeID) === 'ready') running++;
      if (t.DesiredState === 'running' && t.Status.State === 'complete') completed++;
    }
    const desired = isGlobal(service.Spec)
      ? this.store.tasksOf(service.ID).filter((t) => t.DesiredState === 'running').length
      : replicasOf(service.Spec);
    return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
  }

  /**
   * Published ports as the endpoint shows them: ingress ports without a number get one from
   * 30000-32767; a port another service already publishes is a conflict.
   */
  private allocatePorts(serviceId: string, ports: PortConfig[], previous: PortConfig[] = []): PortConfig[] {
    const used = new Set<string>();
    for (const s of this.store.services.values()) {
      if (s.ID === serviceId) continue;
      for (const p of s.Endpoint.Ports ?? []) if (p.PublishMode !== 'host') used.add(`${p.PublishedPort}/${p.Protocol ?? 'tcp'}`);
    }
    const out: PortConfig[] = [];
    for (const port of ports) {
      const protocol = port.Protocol ?? 'tcp';
      const mode = port.PublishMode ?? 'ingress';
      let published = port.PublishedPort ?? 0;
      if (published === 0 && mode === 'ingress') {
        const kept = previous.find((p) => p.TargetPort === port.TargetPort && (p.Protocol ?? 'tcp') === protocol && p.PublishMode !== 'host');
        published = kept?.PublishedPort ?? 0;
        for (let candidate = DYNAMIC_PORT_START; published === 0 && candidate <= DYNAMIC_PORT_END; candidate++) {
          if (!used.has(`${candidate}/${protocol}`)) published = candidate;
        }
      }
      if (mode === 'ingress' && used.has(`${published}/${protocol}`)) {
        const owner = [...this.store.services.values()].find((s) => s.ID !== serviceId && (s.Endpoint.Ports ?? []).some((p) => p.PublishedPort === published));
        throw new ApiError(400, `rpc error: code = InvalidArgument desc = port '${published}' is already in use by service '${owner?.Spec.Name ?? ''}' (${owner?.ID ?? ''}) as an ingress port`);
      }
      if (mode === 'ingress') used.add(`${published}/${protocol}`);
      out.push({ Protocol: protocol, TargetPort: port.TargetPort, PublishedPort: published, PublishMode: mode, ...(port.Name ? { Name: port.Name } : {}) });
    }
    return out;
  }

  // ---- tasks --------------------------------------------------------------------------------

  resolveTask(ref: string): Task {
    const exact = this.store.tasks.get(ref);
    if (exact) return exact;
    const byPrefix = [...this.store.tasks.values()].filter((t) => t.ID.startsWith(ref));
    if (byPrefix.length === 1 && ref.length > 0) return byPrefix[0];
    throw new ApiError(404, `task ${ref} not found`);
  }

  /** Engine API task filters: id, name, service, node, label, desired-state, and the CLI's _up-to-date. */
  listTasks(filters: Record<string, string[]>): Task[] {
    for (const key of Object.keys(filters)) {
      if (!['id', 'name', 'service', 'node', 'label', 'desired-state', '_up-to-date'].includes(key)) throw new ApiError(400, `invalid filter '${key}'`);
    }
    for (const state of filters['desired-state'] ?? []) {
      if (!['running', 'shutdown', 'accepted', 'ready', 'complete', 'remove'].includes(state)) throw new ApiError(400, `Invalid desired-state filter: '${state}'`);
    }
    const serviceIds = filters.service?.length
      ? new Set(filters.service.map((ref) => { try { return this.resolveService(ref).ID; } catch { return ref; } }))
      : undefined;
    const nodeIds = filters.node?.length
      ? new Set(filters.node.map((ref) => { try { return this.nodes.resolve(ref).ID; } catch { return ref; } }))
      : undefined;
    const out: Task[] = [];
    for (const t of this.store.tasks.values()) {
      if (t.DesiredState === 'remove') continue;
      if (serviceIds && !serviceIds.has(t.ServiceID)) continue;
      if (nodeIds && !nodeIds.has(t.NodeID)) continue;
      if (filters.id?.length && !filters.id.some((v) => t.ID.startsWith(v))) continue;
      if (filters['desired-state']?.length && !filters['desired-state'].includes(t.DesiredState === 'running' && t.Status.State === 'new' ? 'running' : t.DesiredState)) continue;
      if (filters.name?.length && !filters.name.some((v) => this.taskName(t).startsWith(v))) continue;
      if (filters.label?.length && !filters.label.every((l) => labelMatches(t.Spec.ContainerSpec?.Labels ?? {}, l))) continue;
      if (filters['_up-to-date']?.includes('true')) {
        const service = this.store.services.get(t.ServiceID);
        if (!service || t.SpecHash !== specHash(service.Spec.TaskTemplate ?? {})) continue;
      }
      out.push(t);
    }
    return out;
  }

  taskName(t: Task): string {
    const service = this.store.services.get(t.ServiceID);
    return `${service?.Spec.Name ?? t.ServiceID}.${t.Slot > 0 ? t.Slot : t.NodeID}`;
  }

  /** The Engine API's Task (internal fields dropped). */
  taskToApi(t: Task): Record<string, unknown> {
    const { SpecHash: _hash, NotBefore: _notBefore, Restarts: _restarts, ...api } = t as Task & { Restarts?: number[] };
    const service = this.store.services.get(t.ServiceID);
    const ports = t.Status.State === 'running' ? (service?.Endpoint.Ports ?? []).filter((p) => p.PublishMode === 'host') : [];
    return {
      ...api,
      Status: { ...api.Status, PortStatus: ports.length > 0 ? { Ports: ports } : {} },
      ServiceAnnotations: { Name: service?.Spec.Name ?? '' },
    };
  }

  isTaskActive(t: Task): boolean {
    return t.DesiredState === 'running' && !TERMINAL_STATES.has(t.Status.State);
  }

  // ---- nodes --------------------------------------------------------------------------------

  updateNode(ref: string, versionText: string | null, spec: Partial<NodeRecord['Spec']>): void {
    const node = this.nodes.resolve(ref);
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new ApiError(400, 'node spec must be a JSON object');
    const version = Number(versionText);
    if (versionText === null || !Number.isInteger(version)) throw new ApiError(400, 'invalid node version: the version query parameter is required');
    if (version !== node.Version.Index) throw new ApiError(409, 'rpc error: code = Unknown desc = update out of sequence');
    const availability = spec.Availability ?? node.Spec.Availability;
    if (!['active', 'pause', 'drain'].includes(availability)) throw new ApiError(400, `rpc error: code = InvalidArgument desc = invalid availability ${availability}`);
    const role = spec.Role ?? node.Spec.Role;
    if (role !== node.Spec.Role) {
      throw new ApiError(400, `rpc error: code = InvalidArgument desc = node roles are fixed in swarm-ts: engines are workers and the swarm-ts manager is the manager (cannot make ${node.Hostname} a ${role})`);
    }
    const labels = spec.Labels ?? {};
    if (typeof labels !== 'object' || Array.isArray(labels)) throw new ApiError(400, 'node labels must be an object');
    this.store.putNode({
      ...node, Version: { Index: this.store.nextVersion() }, UpdatedAt: isoNow(),
      Spec: { ...(spec.Name ? { Name: spec.Name } : {}), Labels: { ...labels }, Role: role, Availability: availability },
    });
    this.changed();
  }

  removeNode(ref: string, force: boolean): void {
    const node = this.nodes.resolve(ref);
    if (this.nodes.stateOf(node.ID) === 'ready') {
      throw new ApiError(400, `rpc error: code = FailedPrecondition desc = node ${node.ID} is not down and can't be removed${force ? ': it is an engine the cluster still reaches; remove it from discovery first' : ''}`);
    }
    this.store.deleteNode(node.ID);
    this.changed();
  }
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** Fills in what swarmkit fills in so that inspect shows it (mode, replicas, endpoint mode). */
function normalizeSpec(spec: ServiceSpec): ServiceSpec {
  const out: ServiceSpec = JSON.parse(JSON.stringify(spec)) as ServiceSpec;
  out.Labels ??= {};
  if (!out.Mode || (!out.Mode.Global && !out.Mode.Replicated)) out.Mode = { Replicated: { Replicas: 1 } };
  if (out.Mode.Replicated && out.Mode.Replicated.Replicas === undefined) out.Mode.Replicated.Replicas = 1;
  out.EndpointSpec = { Mode: out.EndpointSpec?.Mode ?? 'vip', ...(out.EndpointSpec?.Ports?.length ? { Ports: out.EndpointSpec.Ports } : {}) };
  return out;
}
