/**
 * What the manager remembers about an engine's objects. Containers are kept as a trimmed
 * inspect (not the full JSON) so 30,000 of them stay small; `docker ps` rows are rendered
 * from these records, never fetched per request.
 */
import type Dockerode from 'dockerode';
import type { PortBinding } from '../scheduler/node';
import type { CreateBody } from '../docker-types';

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
  labels: Record<string, string>;
  state: ContainerState;
  ports: ContainerPort[];
  portBindings: Record<string, PortBinding[]>;
  exposedPorts: string[];
  networkMode: string;
  cpuShares: number;
  nanoCpus: number;
  memory: number;
  volumesFrom: string[];
  links: string[];
  /** NetworkSettings.Networks as the list API returns it. */
  networks: Record<string, unknown>;
  mounts: unknown[];
  execIds: string[];
  /**
   * When the engine was asked for this state (ms since epoch). Orders the manager's own updates
   * (a create or start it just made) against inspects that were in flight at the same time.
   */
  observedAt: number;
}

export interface ImageRecord {
  Id: string;
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

export function containerFromInspect(info: Dockerode.ContainerInspectInfo, observedAt: number): ContainerRecord {
  const hc = (info.HostConfig ?? {}) as Dockerode.HostConfig & { NanoCpus?: number };
  const state = info.State;
  const portBindings: Record<string, PortBinding[]> = {};
  for (const [port, bindings] of Object.entries(hc.PortBindings ?? {})) portBindings[port] = (bindings as PortBinding[] | null) ?? [];
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config?.Image ?? '',
    imageId: info.Image,
    command: [info.Path, ...(info.Args ?? [])].filter((s) => s !== undefined && s !== '').join(' '),
    created: toSeconds(info.Created),
    labels: info.Config?.Labels ?? {},
    state: {
      status: state.Status,
      running: state.Running,
      paused: state.Paused,
      restarting: state.Restarting,
      exitCode: state.ExitCode,
      startedAt: state.StartedAt,
      finishedAt: state.FinishedAt,
      health: (state as { Health?: { Status: string } }).Health?.Status,
    },
    ports: listPorts(info.NetworkSettings?.Ports as Record<string, Array<{ HostIp: string; HostPort: string }> | null>),
    portBindings,
    exposedPorts: Object.keys(info.Config?.ExposedPorts ?? {}),
    networkMode: hc.NetworkMode ?? 'default',
    cpuShares: hc.CpuShares ?? 0,
    nanoCpus: hc.NanoCpus ?? 0,
    memory: hc.Memory ?? 0,
    volumesFrom: hc.VolumesFrom ?? [],
    links: hc.Links ?? [],
    networks: (info.NetworkSettings?.Networks ?? {}) as Record<string, unknown>,
    mounts: (info.Mounts ?? []).map((m) => ({ ...m })),
    execIds: (info as { ExecIDs?: string[] | null }).ExecIDs ?? [],
    observedAt,
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
    image: config.Image ?? '',
    imageId: '',
    command: [...list(config.Entrypoint), ...list(config.Cmd)].join(' '),
    created: Math.floor(sentAt / 1000),
    labels: config.Labels ?? {},
    state: { status: 'created', running: false, paused: false, restarting: false, exitCode: 0, startedAt: '0001-01-01T00:00:00Z', finishedAt: '0001-01-01T00:00:00Z' },
    ports: [],
    portBindings,
    exposedPorts: Object.keys(config.ExposedPorts ?? {}),
    networkMode: hc.NetworkMode || 'default',
    cpuShares: hc.CpuShares ?? 0,
    nanoCpus: hc.NanoCpus ?? 0,
    memory: hc.Memory ?? 0,
    volumesFrom: hc.VolumesFrom ?? [],
    links: hc.Links ?? [],
    networks: {},
    mounts: [],
    execIds: [],
    observedAt: sentAt,
  };
}
