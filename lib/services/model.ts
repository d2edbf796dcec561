/**
 * Swarm-mode objects as the Engine API shows them (services, tasks, nodes), the defaults
 * swarmkit fills in, and the names and labels of task containers. Plain data; no I/O.
 *
 * Field names follow the Engine API (v1.41+) so the objects are sent to the docker CLI as they
 * are. Durations are nanoseconds, as in the API.
 */
import { SERVICE_ID_LABEL } from '../swarm-labels';
import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from '../errors';

export type TaskState =
  | 'new' | 'pending' | 'assigned' | 'accepted' | 'preparing' | 'ready' | 'starting' | 'running'
  | 'complete' | 'shutdown' | 'failed' | 'rejected' | 'remove' | 'orphaned';

/** Observed states after which a task never runs again. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface RestartPolicy {
  Condition?: 'none' | 'on-failure' | 'any';
  Delay?: number;
  MaxAttempts?: number;
  Window?: number;
}

export interface UpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: 'pause' | 'continue' | 'rollback';
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

export interface PortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface Resources {
  NanoCPUs?: number;
  MemoryBytes?: number;
  [key: string]: unknown;
}

export interface ContainerSpec {
  Image?: string;
  Labels?: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  TTY?: boolean;
  OpenStdin?: boolean;
  StopSignal?: string;
  StopGracePeriod?: number;
  Init?: boolean | null;
  Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }>;
  [key: string]: unknown;
}

export interface TaskSpec {
  ContainerSpec?: ContainerSpec;
  Resources?: { Limits?: Resources; Reservations?: Resources };
  RestartPolicy?: RestartPolicy;
  Placement?: { Constraints?: string[]; Preferences?: unknown[]; MaxReplicas?: number; Platforms?: unknown[] };
  ForceUpdate?: number;
  Runtime?: string;
  Networks?: unknown[];
  LogDriver?: { Name?: string; Options?: Record<string, string> };
  [key: string]: unknown;
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: TaskSpec;
  Mode?: { Replicated?: { Replicas?: number }; Global?: Record<string, never> };
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: { Mode?: 'vip' | 'dnsrr'; Ports?: PortConfig[] };
  [key: string]: unknown;
}

export interface Version {
  Index: number;
}

export interface UpdateStatus {
  State: UpdateState;
  StartedAt?: string;
  CompletedAt?: string;
  Message: string;
}

export interface Service {
  ID: string;
  Version: Version;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint: { Spec: { Mode?: string; Ports?: PortConfig[] }; Ports?: PortConfig[]; VirtualIPs?: unknown[] };
  UpdateStatus?: UpdateStatus;
}

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  PortStatus?: { Ports?: PortConfig[] };
}

export interface Task {
  ID: string;
  Version: Version;
  CreatedAt: string;
  UpdatedAt: string;
  Labels: Record<string, string>;
  Spec: TaskSpec;
  ServiceID: string;
  /** Replicated services: 1..N. Global services: 0 (the node identifies the task). */
  Slot: number;
  NodeID: string;
  Status: TaskStatus;
  DesiredState: TaskState;
  /** Not in the API: hash of Spec, so "up to date" survives a manager restart (see specHash). */
  SpecHash: string;
  /** Not in the API: the task is not placed before this time (restart delay), ms since epoch. */
  NotBefore?: number;
}

export type Availability = 'active' | 'pause' | 'drain';

/** What the manager keeps about an engine as a swarm-mode node. */
export interface NodeRecord {
  ID: string;
  Version: Version;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name?: string; Labels: Record<string, string>; Role: 'worker' | 'manager'; Availability: Availability };
  /** The engine's cluster id (`<docker ID>|<addr>`), its address and last known hostname. */
  EngineID: string;
  Addr: string;
  Hostname: string;
}

// ---- identifiers ----------------------------------------------------------------------------

/** A swarmkit-style ID: 25 characters of base 36 from 128 random bits. */
export function newId(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0').slice(-25);
}

/** A node's ID, derived from its engine's cluster id so it is the same after a manager restart. */
export function nodeIdFor(engineId: string): string {
  const digest = createHash('sha256').update(engineId).digest('hex').slice(0, 32);
  return BigInt(`0x${digest}`).toString(36).padStart(25, '0').slice(-25);
}

/** Hash of a task template: tasks whose SpecHash differs from their service's are out of date. */
export function specHash(spec: TaskSpec): string {
  return createHash('sha256').update(stableJson(spec)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// ---- container names and labels ---------------------------------------------------------------

export { SERVICE_ID_LABEL };
export const SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
export const TASK_ID_LABEL = 'com.docker.swarm.task.id';
export const TASK_NAME_LABEL = 'com.docker.swarm.task.name';
export const TASK_LABEL = 'com.docker.swarm.task';
export const NODE_ID_LABEL = 'com.docker.swarm.node.id';
/** swarm-ts's own: what a manager needs to adopt a task container after a restart. */
export const TASK_SLOT_LABEL = 'com.docker.swarm-ts.task.slot';
export const TASK_SPEC_LABEL = 'com.docker.swarm-ts.task.spec';

/** Swarm mode's task name: `<service>.<slot>.<task id>`, or `<service>.<node id>.<task id>` for global services. */
export function taskContainerName(serviceName: string, task: Pick<Task, 'ID' | 'Slot' | 'NodeID'>): string {
  return `${serviceName}.${task.Slot > 0 ? task.Slot : task.NodeID}.${task.ID}`;
}

export function isGlobal(spec: ServiceSpec): boolean {
  return spec.Mode?.Global !== undefined;
}

export function replicasOf(spec: ServiceSpec): number {
  return spec.Mode?.Replicated?.Replicas ?? 1;
}

// ---- defaults and validation ----------------------------------------------------------------

const SECOND = 1e9;

/** swarmkit's defaults (api/defaults): restart any after 5s; update one at a time, pause on failure. */
export function restartPolicyOf(spec: ServiceSpec): Required<RestartPolicy> {
  const p = spec.TaskTemplate?.RestartPolicy ?? {};
  return { Condition: p.Condition ?? 'any', Delay: p.Delay ?? 5 * SECOND, MaxAttempts: p.MaxAttempts ?? 0, Window: p.Window ?? 0 };
}

/**
 * The restart policy's verdict on a task that stopped while meant to run (`state` terminal):
 * undefined when it is not restarted (condition none; on-failure and it completed; MaxAttempts
 * restarts already within Window, or ever when Window is 0), else the restart times (ms) its
 * replacement carries: those within Window, and now.
 */
export function restartVerdict(policy: Required<RestartPolicy>, state: TaskState, restarts: number[], now: number): number[] | undefined {
  if (policy.Condition === 'none' || (policy.Condition === 'on-failure' && state === 'complete')) return undefined;
  const windowStart = policy.Window > 0 ? now - policy.Window / 1e6 : 0;
  const recent = restarts.filter((t) => t >= windowStart);
  if (policy.MaxAttempts > 0 && recent.length >= policy.MaxAttempts) return undefined;
  return [...recent, now];
}

export function updateConfigOf(spec: ServiceSpec, rollback: boolean): Required<UpdateConfig> {
  const c = (rollback ? spec.RollbackConfig : spec.UpdateConfig) ?? {};
  return {
    Parallelism: c.Parallelism ?? 1,
    Delay: c.Delay ?? 0,
    FailureAction: c.FailureAction ?? 'pause',
    Monitor: c.Monitor ?? 5 * SECOND,
    MaxFailureRatio: c.MaxFailureRatio ?? 0,
    Order: c.Order ?? 'stop-first',
  };
}

const NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** Checks what swarmkit's validateServiceSpec checks that matters here; a 400 names the problem. */
export function validateSpec(spec: ServiceSpec): void {
  const bad = (message: string): never => {
    throw new ApiError(400, message);
  };
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) bad('service spec must be a JSON object');
  const name = spec.Name ?? '';
  if (!NAME_PATTERN.test(name)) bad(`rpc error: code = InvalidArgument desc = name must be valid as a DNS name component`);
  const container = spec.TaskTemplate?.ContainerSpec;
  if (!container) bad('rpc error: code = InvalidArgument desc = ContainerSpec: missing in service spec');
  if (!container?.Image) bad('rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided');
  if (spec.Mode?.Global && spec.Mode?.Replicated) bad('rpc error: code = InvalidArgument desc = service mode must be either replicated or global');
  if (spec.Mode && !spec.Mode.Global && !spec.Mode.Replicated) bad('rpc error: code = InvalidArgument desc = unsupported service mode (jobs are not supported by swarm-ts)');
  const replicas = spec.Mode?.Replicated?.Replicas;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0)) bad('rpc error: code = InvalidArgument desc = replicas must be a non-negative integer');
  const restart = spec.TaskTemplate?.RestartPolicy;
  if (restart?.Condition && !['none', 'on-failure', 'any'].includes(restart.Condition)) bad(`rpc error: code = InvalidArgument desc = invalid restart condition ${restart.Condition}`);
  for (const [what, c] of [['UpdateConfig', spec.UpdateConfig], ['RollbackConfig', spec.RollbackConfig]] as const) {
    if (!c) continue;
    if (c.FailureAction && !['pause', 'continue', 'rollback'].includes(c.FailureAction)) bad(`rpc error: code = InvalidArgument desc = ${what}: invalid failure action ${c.FailureAction}`);
    if (c.Order && !['stop-first', 'start-first'].includes(c.Order)) bad(`rpc error: code = InvalidArgument desc = ${what}: invalid order ${c.Order}`);
    if (c.MaxFailureRatio !== undefined && (c.MaxFailureRatio < 0 || c.MaxFailureRatio > 1)) bad(`rpc error: code = InvalidArgument desc = ${what}: max failure ratio must be between 0 and 1`);
    if ((c.Delay ?? 0) < 0 || (c.Monitor ?? 0) < 0 || (c.Parallelism ?? 0) < 0) bad(`rpc error: code = InvalidArgument desc = ${what}: durations and parallelism must not be negative`);
  }
  const arrays: Array<[string, unknown]> = [
    ['EndpointSpec.Ports', spec.EndpointSpec?.Ports], ['Placement.Constraints', spec.TaskTemplate?.Placement?.Constraints],
    ['ContainerSpec.Env', container?.Env], ['ContainerSpec.Args', container?.Args], ['ContainerSpec.Command', container?.Command],
  ];
  for (const [what, value] of arrays) if (value !== undefined && value !== null && !Array.isArray(value)) bad(`rpc error: code = InvalidArgument desc = ${what} must be a list`);
  const seen = new Set<string>();
  for (const port of spec.EndpointSpec?.Ports ?? []) {
    if (!port.TargetPort || port.TargetPort < 1 || port.TargetPort > 65535) bad('rpc error: code = InvalidArgument desc = port target must be between 1 and 65535');
    if (port.PublishedPort !== undefined && (port.PublishedPort < 0 || port.PublishedPort > 65535)) bad('rpc error: code = InvalidArgument desc = published port must be between 0 and 65535');
    if ((port.Protocol ?? 'tcp') !== 'tcp' && (port.PublishMode ?? 'ingress') === 'ingress') bad(`rpc error: code = InvalidArgument desc = the routing mesh of swarm-ts carries TCP only; publish ${port.Protocol} ports with mode=host`);
    const key = `${port.PublishedPort ?? 0}/${port.Protocol ?? 'tcp'}`;
    if (port.PublishedPort && seen.has(key)) bad(`rpc error: code = InvalidArgument desc = duplicate published ports provided`);
    seen.add(key);
  }
  for (const c of spec.TaskTemplate?.Placement?.Constraints ?? []) parseConstraint(c);
}

// ---- placement constraints (swarm-mode syntax) -----------------------------------------------

export interface Constraint {
  key: string;
  operator: '==' | '!=';
  value: string;
}

/** `node.labels.disk==ssd`, `node.role != manager`: swarmkit's constraint syntax. */
export function parseConstraint(text: string): Constraint {
  const m = /^\s*([A-Za-z0-9_.-]+)\s*(==|!=)\s*(.*?)\s*$/.exec(text);
  if (!m || m[3] === '') throw new ApiError(400, `rpc error: code = InvalidArgument desc = invalid constraint: ${text}`);
  const key = m[1];
  const known = ['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch'];
  if (!known.includes(key) && !/^(node|engine)\.labels\.[^.].*$/.test(key)) {
    throw new ApiError(400, `rpc error: code = InvalidArgument desc = constraint expected one operator from ==, !=; unsupported key ${key} in ${text}`);
  }
  return { key, operator: m[2] as '==' | '!=', value: m[3] };
}

/** What a constraint can look at on a node. */
export interface ConstraintNode {
  id: string;
  hostname: string;
  role: string;
  os: string;
  arch: string;
  nodeLabels: Record<string, string>;
  engineLabels: Record<string, string>;
}

/** swarmkit compares values case-insensitively; a missing label equals nothing. */
export function constraintMatches(c: Constraint, node: ConstraintNode): boolean {
  let actual: string | undefined;
  if (c.key === 'node.id') actual = node.id;
  else if (c.key === 'node.hostname') actual = node.hostname;
  else if (c.key === 'node.role') actual = node.role;
  else if (c.key === 'node.platform.os') actual = node.os;
  else if (c.key === 'node.platform.arch') actual = node.arch;
  else if (c.key.startsWith('node.labels.')) actual = node.nodeLabels[c.key.slice('node.labels.'.length)];
  else actual = node.engineLabels[c.key.slice('engine.labels.'.length)];
  const equal = actual !== undefined && actual.toLowerCase() === c.value.toLowerCase();
  return c.operator === '==' ? equal : !equal;
}

/** Go's time.Time JSON form. */
export function isoNow(ms = Date.now()): string {
  return new Date(ms).toISOString();
}
