/**
 * What the manager remembers about an engine's objects. Containers are kept as a trimmed
 * inspect (not the full JSON) so 30,000 of them stay small; `docker ps` rows are rendered
 * from these records, never fetched per request.
 */
import type Dockerode from 'dockerode';
import type { PortBinding } from '../scheduler/node';
import { reservedMemory } from '../scheduler/resources';
import type { CreateBody } from '../docker-types';
import { parseHumanDuration } from '../docker/human-duration';
import { SWARM_ID_LABEL } from '../swarm-labels';

export interface ContainerState {
  status: string; // created | running | paused | restarting | removing | exited | dead
  running: boolean;
  paused: boolean;
  restarting: boolean;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  health?: string; // starting | healthy | unhealthy
}

export interface ContainerPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ContainerRecord {
  id: string;
  /** Name without leading slash. */
  name: string;
  image: string;
  imageId: string;
  command: string;
  /** Unix seconds. */
  created: number;
  /** Creation time to the nanosecond as a sortable string (see createdOrder): dockerd orders `ps`, `before` and `since` by it. */
  createdOrder: string;
  /** HostConfig.Isolation, lower-cased ('' on Linux); the `isolation` filter reads it. */
  isolation: string;
  labels: Readonly<Record<string, string>>;
  state: ContainerState;
  ports: readonly ContainerPort[];
  portBindings: Readonly<Record<string, PortBinding[]>>;
  exposedPorts: readonly string[];
  networkMode: string;
  cpuShares: number;
  nanoCpus: number;
  memory: number;
  volumesFrom: readonly string[];
  links: readonly string[];
  /** NetworkSettings.Networks as the list API returns it. */
  networks: Readonly<Record<string, unknown>>;
  mounts: readonly unknown[];
  execIds: readonly string[];
  /**
   * When the engine was asked for this state (ms since epoch). Orders the manager's own updates
   * (a create or start it just made) against inspects that were in flight at the same time.
   */
  observedAt: number;
}

export interface ImageRecord {
  Id: string;
  /**
   * Creation time to the nanosecond (createdOrder of the image's inspect), when known: the list
   * API rounds to seconds, dockerd's image `before`/`since` compare nanoseconds.
   */
  createdOrder?: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface NetworkRecord {
  Id: string;
  Name: string;
  Scope: string;
  Driver: string;
  Labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface VolumeRecord {
  Name: string;
  Driver: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
  [key: string]: unknown;
}

/**
 * Compact records. JSON.parse gives every record its own copy of each string and object, and at
 * 150,000 containers most of them repeat: the image, its ID, the command, the zero time, the
 * network's ID and gateway, label values (a service's, a compose project's), empty lists. Each record
 * here shares one copy of those instead, so the heap that every full collection marks holds
 * what differs between containers, not 150,000 copies of what does not.
 */
const EMPTY_LIST: readonly never[] = Object.freeze([]);
const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({});

/** A list, or the shared empty one. */
function compactList<T>(list: readonly T[] | null | undefined): readonly T[] {
  return list && list.length > 0 ? list : EMPTY_LIST;
}

/** A map, or the shared empty one. */
function compactMap<T>(map: Readonly<Record<string, T>> | null | undefined): Readonly<Record<string, T>> {
  if (!map) return EMPTY_MAP;
  for (const _ in map) return map;
  return EMPTY_MAP;
}

/**
 * A table of shared values that forgets everything once it holds `cap` of them: values that do
 * repeat are soon shared again, and a stream of unique ones (a label with each container's own
 * value) cannot grow it without bound.
 */
class ShareTable<T> {
  private readonly values = new Map<string, T>();
  constructor(private readonly cap: number) {}

  get(key: string, make: () => T): T {
    const known = this.values.get(key);
    if (known !== undefined) return known;
    if (this.values.size >= this.cap) this.values.clear();
    const value = make();
    this.values.set(key, value);
    return value;
  }
}

const sharedStrings = new ShareTable<string>(50_000);

/** One copy of a string that many records hold (image, command, an ID they share...). */
function sharedString(value: string): string {
  return value.length > 200 ? value : sharedStrings.get(value, () => value);
}

/**
 * A copy of a container's labels with the values containers share kept once (a service's or
 * compose project's labels). Keys are shared already: V8 interns property names. Not the label
 * set itself: every container created through the manager has its own swarm ID among them.
 */
function compactLabels(labels: Readonly<Record<string, string>> | null | undefined): Readonly<Record<string, string>> {
  const map = compactMap(labels);
  if (map === EMPTY_MAP) return map;
  const copy: Record<string, string> = {};
  for (const key in map) copy[key] = key === SWARM_ID_LABEL ? map[key] : sharedString(map[key]);
  return copy;
}

const SHARED_ENDPOINT_FIELDS = ['NetworkID', 'Gateway', 'IPv6Gateway'] as const;

/** NetworkSettings.Networks with the values endpoints share (network ID, gateway) kept once; addresses are each endpoint's own. */
function compactNetworks(networks: Record<string, unknown> | null | undefined): Readonly<Record<string, unknown>> {
  const map = compactMap(networks);
  for (const endpoint of Object.values(map)) {
    if (!endpoint || typeof endpoint !== 'object') continue;
    const fields = endpoint as Record<string, unknown>;
    for (const key of SHARED_ENDPOINT_FIELDS) {
      if (typeof fields[key] === 'string') fields[key] = sharedString(fields[key] as string);
    }
  }
  return map;
}

/**
 * An RFC 3339 time with up to nanosecond precision as a string that sorts like the time:
 * 12-digit unix seconds, '.', 9-digit nanoseconds. Unparseable input sorts first.
 */
export function createdOrder(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || !Number.isFinite(ms)) return '000000000000.000000000';
  return `${String(Math.floor(ms / 1000)).padStart(12, '0')}.${(m[2] ?? '').slice(0, 9).padEnd(9, '0')}`;
}

function toSeconds(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

function listPorts(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | undefined): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, type = 'tcp'] = key.split('/');
    if (!bindings || bindings.length === 0) {
      out.push({ PrivatePort: Number(port), Type: type });
      continue;
    }
    for (const b of bindings) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

/** The Command column as dockerd's list builds it: the path, then the arguments, those with a space in single quotes. */
function listCommand(path: string, args: string[]): string {
  if (args.length === 0) return path ?? '';
  return `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}

export function containerFromInspect(info: Dockerode.ContainerInspectInfo, observedAt: number): ContainerRecord {
  const hc = (info.HostConfig ?? {}) as Dockerode.HostConfig & { NanoCpus?: number };
  const state = info.State;
  const portBindings: Record<string, PortBinding[]> = {};
  for (const [port, bindings] of Object.entries(hc.PortBindings ?? {})) portBindings[port] = (bindings as PortBinding[] | null) ?? [];
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: sharedString(info.Config?.Image ?? ''),
    imageId: sharedString(info.Image),
    command: sharedString(listCommand(info.Path, info.Args ?? [])),
    created: toSeconds(info.Created),
    createdOrder: createdOrder(info.Created),
    isolation: sharedString(String((hc as { Isolation?: string }).Isolation ?? '').toLowerCase()),
    labels: compactLabels(info.Config?.Labels),
    state: {
      status: sharedString(state.Status),
      running: state.Running,
      paused: state.Paused,
      restarting: state.Restarting,
      exitCode: state.ExitCode,
      startedAt: state.StartedAt,
      finishedAt: sharedString(state.FinishedAt),
      health: (state as { Health?: { Status: string } }).Health?.Status,
    },
    ports: compactList(listPorts(info.NetworkSettings?.Ports as Record<string, Array<{ HostIp: string; HostPort: string }> | null>)),
    portBindings: compactMap(portBindings),
    exposedPorts: compactList(Object.keys(info.Config?.ExposedPorts ?? {})),
    networkMode: sharedString(hc.NetworkMode ?? 'default'),
    cpuShares: hc.CpuShares ?? 0,
    nanoCpus: hc.NanoCpus ?? 0,
    memory: reservedMemory(hc),
    volumesFrom: compactList(hc.VolumesFrom),
    links: compactList(hc.Links),
    networks: compactNetworks(info.NetworkSettings?.Networks as Record<string, unknown> | undefined),
    mounts: compactList((info.Mounts ?? []).map((m) => ({ ...m }))),
    execIds: compactList((info as { ExecIDs?: string[] | null }).ExecIDs),
    observedAt,
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * A container as the engine's list shows it, before its inspect: what `docker ps`, `docker info`
 * and the name and port checks need, so an engine is usable as soon as it is listed. The list
 * has no resources (CPU shares, memory: 0 here until the inspect brings them), no exact start
 * time (read back from the Status text: "Up 5 minutes" -> 5 minutes ago) and creation time to
 * the second only.
 */
export function containerFromSummary(summary: Dockerode.ContainerInfo, listedAt: number): ContainerRecord {
  const names = summary.Names ?? [];
  // Links add names of the form /other/alias; the container's own has one slash.
  const name = (names.find((n) => n.lastIndexOf('/') === 0) ?? names[0] ?? '').replace(/^\//, '');
  const status = summary.Status ?? '';
  const state = summary.State ?? '';
  const exit = /^(?:Exited|Restarting) \((-?\d+)\) (.+) ago$/.exec(status);
  const up = /^Up (.+?)(?: \((?:Paused|healthy|unhealthy|health: starting)\))?$/.exec(status);
  const agoIso = (text: string | undefined): string => {
    const ms = text === undefined ? NaN : parseHumanDuration(text);
    return Number.isFinite(ms) ? new Date(listedAt - ms).toISOString() : ZERO_TIME;
  };
  const health = /\((healthy|unhealthy)\)$/.exec(status)?.[1] ?? (status.endsWith('(health: starting)') ? 'starting' : undefined);
  const ports: ContainerPort[] = (summary.Ports ?? []).map((p) => (p.PublicPort ? { IP: p.IP, PrivatePort: p.PrivatePort, PublicPort: p.PublicPort, Type: p.Type } : { PrivatePort: p.PrivatePort, Type: p.Type }));
  const portBindings: Record<string, PortBinding[]> = {};
  for (const p of ports) if (p.PublicPort) (portBindings[`${p.PrivatePort}/${p.Type}`] ??= []).push({ HostIp: p.IP ?? '', HostPort: String(p.PublicPort) });
  return {
    id: summary.Id,
    name,
    image: sharedString(summary.Image ?? ''),
    imageId: sharedString(summary.ImageID ?? ''),
    command: sharedString(summary.Command ?? ''),
    created: summary.Created ?? 0,
    createdOrder: `${String(summary.Created ?? 0).padStart(12, '0')}.000000000`,
    isolation: '',
    labels: compactLabels(summary.Labels),
    state: {
      status: sharedString(state),
      running: state === 'running' || state === 'paused' || state === 'restarting',
      paused: state === 'paused',
      restarting: state === 'restarting',
      exitCode: exit ? Number(exit[1]) : 0,
      startedAt: up ? agoIso(up[1]) : ZERO_TIME,
      finishedAt: exit ? agoIso(exit[2]) : ZERO_TIME,
      health,
    },
    ports: compactList(ports),
    portBindings: compactMap(portBindings),
    exposedPorts: compactList([...new Set(ports.map((p) => `${p.PrivatePort}/${p.Type}`))]),
    networkMode: sharedString(summary.HostConfig?.NetworkMode ?? 'default'),
    cpuShares: 0,
    nanoCpus: 0,
    memory: 0,
    volumesFrom: EMPTY_LIST,
    links: EMPTY_LIST,
    networks: compactNetworks(summary.NetworkSettings?.Networks as Record<string, unknown> | undefined),
    mounts: compactList((summary.Mounts ?? []).map((m) => ({ ...m }))),
    execIds: EMPTY_LIST,
    // Older than any answer: the inspect queued behind it always replaces it.
    observedAt: 0,
  };
}

/**
 * What the manager knows of a container it just created, before the engine's `create` event
 * brings the full inspect: enough for name checks, `ps`, scheduling and starting it, without
 * an extra engine round trip on every `docker run`.
 */
export function provisionalContainer(id: string, name: string, config: CreateBody, sentAt = Date.now()): ContainerRecord {
  const hc = config.HostConfig ?? {};
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v ? [v] : []);
  const portBindings: Record<string, PortBinding[]> = {};
  for (const [port, bindings] of Object.entries(hc.PortBindings ?? {})) portBindings[port] = bindings ?? [];
  return {
    id,
    name,
    image: sharedString(config.Image ?? ''),
    imageId: '',
    command: sharedString([...list(config.Entrypoint), ...list(config.Cmd)].join(' ')),
    created: Math.floor(sentAt / 1000),
    createdOrder: createdOrder(new Date(sentAt).toISOString()),
    isolation: String((hc as { Isolation?: string }).Isolation ?? '').toLowerCase(),
    labels: compactLabels(config.Labels),
    state: { status: 'created', running: false, paused: false, restarting: false, exitCode: 0, startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
    ports: EMPTY_LIST,
    portBindings: compactMap(portBindings),
    exposedPorts: compactList(Object.keys(config.ExposedPorts ?? {})),
    networkMode: sharedString(hc.NetworkMode || 'default'),
    cpuShares: hc.CpuShares ?? 0,
    nanoCpus: hc.NanoCpus ?? 0,
    memory: reservedMemory(hc),
    volumesFrom: compactList(hc.VolumesFrom),
    links: compactList(hc.Links),
    networks: EMPTY_MAP,
    mounts: EMPTY_LIST,
    execIds: EMPTY_LIST,
    observedAt: sentAt,
  };
}
