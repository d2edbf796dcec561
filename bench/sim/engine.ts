/**
 * The in-memory state of one simulated Docker engine (dockerd 20.10, API 1.41): identity,
 * containers, images, networks, volumes and its event log. No HTTP here (see server.ts) and
 * no timers: a simulated process "runs" until it is stopped or killed, except `true`/`false`
 * and `exit N`, which exit as soon as they start. Per-engine memory is kept small because one
 * process hosts up to thousands of engines.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  SimError,
  ZERO_TIME,
  daemonIdFrom,
  labelsMatch,
  newId,
  normalizeImageRef,
} from './docker-format';
import { humanDuration } from '../../lib/api/format';
import { EventHub } from './events';

export const SIM_SERVER_VERSION = '20.10.24+dfsg1';
export const SIM_API_VERSION = '1.41';
export const SIM_MIN_API_VERSION = '1.12';

export interface SimEngineOptions {
  name: string;
  /** Daemon ID; derived from the name when absent (real engines sharing key.json share it). */
  id?: string;
  /** Daemon labels, `key=value`. */
  labels?: string[];
  ncpu?: number;
  memTotal?: number;
  kernelVersion?: string;
  operatingSystem?: string;
  osType?: string;
  driver?: string;
  /** What every container "printed"; returned by `logs`. */
  logText?: string;
  /** Past events kept for `/events?since=`. */
  eventCapacity?: number;
  /** Images present at start, e.g. `busybox:latest`. */
  images?: string[];
}

type Json = Record<string, unknown>;
export type ContainerState = 'created' | 'running' | 'paused' | 'exited';
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

interface Waiter {
  condition: WaitCondition;
  resolve(exitCode: number): void;
}

export interface SimContainer {
  id: string;
  /** With the leading slash, as dockerd stores it. */
  name: string;
  createdMs: number;
  imageRef: string;
  imageId: string;
  config: Json;
  /** Only what the client sent; defaults are merged when rendering. */
  hostConfig: Json;
  state: ContainerState;
  pid: number;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  finishedMs: number;
  startedOnce: boolean;
  ip: string;
  waiters?: Waiter[];
}

export interface SimImage {
  id: string;
  repoTags: string[];
  createdMs: number;
  size: number;
  comment: string;
  layer: string;
}

export interface SimNetwork {
  id: string;
  name: string;
  driver: string;
  createdIso: string;
  labels: Record<string, string>;
  subnet?: string;
  gateway?: string;
}

export interface SimVolume {
  name: string;
  driver: string;
  createdIso: string;
  labels: Record<string, string> | null;
}

const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const ADJECTIVES = ['admiring', 'brave', 'clever', 'dazzling', 'eager', 'focused', 'gifted', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'quirky', 'relaxed', 'serene', 'tender', 'vibrant', 'wizardly', 'zealous'];
const SURNAMES = ['albattani', 'bell', 'curie', 'darwin', 'euclid', 'fermi', 'galileo', 'hopper', 'jepsen', 'kepler', 'lovelace', 'meitner', 'newton', 'pasteur', 'ritchie', 'shannon', 'tesla', 'turing', 'wozniak', 'yalow'];

/** HostConfig fields dockerd fills in when the client leaves them out. */
const HOST_CONFIG_DEFAULTS: Json = {
  Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'default',
  PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '',
  VolumesFrom: null, CapAdd: null, CapDrop: null, CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [],
  ExtraHosts: null, GroupAdd: null, IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '',
  Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '',
  ShmSize: 67108864, Runtime: 'runc', ConsoleSize: [0, 0], Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0,
  CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [],
  BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null, DeviceRequests: null,
  KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null,
  OomKillDisable: false, PidsLimit: null, Ulimits: [], CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
};

const CONFIG_DEFAULTS: Json = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
  Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
  WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: {},
};

function endpoint(networkId: string, ip: string, gateway: string): Json {
  return {
    IPAMConfig: null, Links: null, Aliases: null, NetworkID: networkId, EndpointID: ip ? networkId.slice(0, 32) + ip.replace(/\./g, '') : '',
    Gateway: ip ? gateway : '', IPAddress: ip, IPPrefixLen: ip ? 16 : 0, IPv6Gateway: '', GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
  };
}

export class SimEngine {
  readonly name: string;
  readonly id: string;
  readonly labels: string[];
  readonly ncpu: number;
  readonly memTotal: number;
  readonly events: EventHub;
  private readonly opts: SimEngineOptions;
  private readonly containers = new Map<string, SimContainer>();
  private readonly containerNames = new Map<string, string>(); // "/name" -> id
  private images: SimImage[] = [];
  private readonly networks: SimNetwork[];
  private readonly volumes = new Map<string, SimVolume>();
  private nextPid = 1000;
  private nextIp = 2;

  constructor(options: SimEngineOptions) {
    this.opts = options;
    this.name = options.name;
    this.id = options.id ?? daemonIdFrom(createHash('sha512').update(options.name).digest());
    this.labels = options.labels ?? [];
    this.ncpu = options.ncpu ?? 4;
    this.memTotal = options.memTotal ?? 8 * 1024 ** 3;
    this.events = new EventHub(options.eventCapacity ?? 64);
    const created = new Date().toISOString();
    this.networks = [
      { id: newId(), name: 'bridge', driver: 'bridge', createdIso: created, labels: {}, subnet: '172.17.0.0/16', gateway: '172.17.0.1' },
      { id: newId(), name: 'host', driver: 'host', createdIso: created, labels: {} },
      { id: newId(), name: 'none', driver: 'null', createdIso: created, labels: {} },
    ];
    // Images present before the engine "started": no events for them.
    for (const ref of options.images ?? []) {
      this.images.push({ id: `sha256:${newId()}`, repoTags: [normalizeImageRef(ref)], createdMs: Date.now(), size: 1982256, comment: 'Imported from -', layer: `sha256:${newId()}` });
    }
  }

  // ---------------------------------------------------------------- system

  info(): Json {
    let running = 0;
    let paused = 0;
    for (const c of this.containers.values()) {
      if (c.state === 'running') running++;
      else if (c.state === 'paused') paused++;
    }
    const o = this.opts;
    return {
      ID: this.id, Containers: this.containers.size, ContainersRunning: running, ContainersPaused: paused,
      ContainersStopped: this.containers.size - running - paused, Images: this.images.length,
      Driver: o.driver ?? 'vfs', DriverStatus: null,
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['json-file', 'local', 'syslog'] },
      MemoryLimit: true, SwapLimit: true, KernelMemory: true, KernelMemoryTCP: true, CpuCfsPeriod: true, CpuCfsQuota: true,
      CPUShares: true, CPUSet: true, PidsLimit: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true,
      Debug: false, NFd: 24, OomKillDisable: true, NGoroutines: 40, SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: '1', NEventsListener: this.events.listenerCount,
      KernelVersion: o.kernelVersion ?? '6.1.0-sim', OperatingSystem: o.operatingSystem ?? 'Debian GNU/Linux 12 (bookworm)',
      OSVersion: '12', OSType: o.osType ?? 'linux', Architecture: 'x86_64', IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        AllowNondistributableArtifactsCIDRs: [], AllowNondistributableArtifactsHostnames: [], InsecureRegistryCIDRs: ['127.0.0.0/8'],
        IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } }, Mirrors: [],
      },
      NCPU: this.ncpu, MemTotal: this.memTotal, GenericResources: null, DockerRootDir: '/var/lib/docker',
      HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: this.name, Labels: this.labels, ExperimentalBuild: false,
      ServerVersion: SIM_SERVER_VERSION, Runtimes: { runc: { path: 'runc' } }, DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false, Isolation: '', InitBinary: 'docker-init',
      ContainerdCommit: { ID: 'sim', Expected: 'sim' }, RuncCommit: { ID: 'sim', Expected: 'sim' }, InitCommit: { ID: '', Expected: '' },
      SecurityOptions: ['name=seccomp,profile=default'], Warnings: null,
    };
  }

  version(): Json {
    const kernel = this.opts.kernelVersion ?? '6.1.0-sim';
    const details = {
      ApiVersion: SIM_API_VERSION, Arch: 'amd64', BuildTime: '2026-05-07T21:09:36.000000000+00:00', Experimental: 'false',
      GitCommit: 'sim', GoVersion: 'go1.19.8', KernelVersion: kernel, MinAPIVersion: SIM_MIN_API_VERSION, Os: 'linux',
    };
    return {
      Platform: { Name: '' }, Components: [{ Name: 'Engine', Version: SIM_SERVER_VERSION, Details: details }],
      Version: SIM_SERVER_VERSION, ApiVersion: SIM_API_VERSION, MinAPIVersion: SIM_MIN_API_VERSION, GitCommit: 'sim',
      GoVersion: 'go1.19.8', Os: 'linux', Arch: 'amd64', KernelVersion: kernel, BuildTime: details.BuildTime,
    };
  }

  // ---------------------------------------------------------------- containers

  createContainer(body: Json, requestedName: string | null): { Id: string; Warnings: string[] } {
    if (typeof body.Image !== 'string' || body.Image === '') throw new SimError(400, 'Config cannot be empty in order to create a container');
    const image = this.findImage(body.Image);
    if (!image) throw new SimError(404, `No such image: ${normalizeImageRef(body.Image)}`);
    const cmd = body.Cmd;
    const entrypoint = body.Entrypoint;
    if (!(Array.isArray(cmd) && cmd.length) && !(Array.isArray(entrypoint) && entrypoint.length) && typeof cmd !== 'string') {
      throw new SimError(400, 'No command specified');
    }
    let name: string;
    if (requestedName) {
      if (!NAME_PATTERN.test(requestedName)) {
        throw new SimError(400, `Invalid container name (${requestedName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      name = requestedName.startsWith('/') ? requestedName : `/${requestedName}`;
      const holder = this.containerNames.get(name);
      if (holder) {
        throw new SimError(409, `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
    } else {
      name = this.randomName();
    }
    const id = newId();
    const config: Json = {};
    for (const key of Object.keys(CONFIG_DEFAULTS)) if (body[key] !== undefined) config[key] = body[key];
    for (const key of ['ExposedPorts', 'StopSignal', 'Healthcheck', 'StopTimeout'] as const) if (body[key] !== undefined) config[key] = body[key];
    if (typeof config.Cmd === 'string') config.Cmd = [config.Cmd];
    config.Hostname = config.Hostname || id.slice(0, 12);
    const container: SimContainer = {
      id, name, createdMs: Date.now(), imageRef: body.Image, imageId: image.id, config,
      hostConfig: (body.HostConfig as Json | undefined) ?? {}, state: 'created', pid: 0, exitCode: 0,
      startedAt: ZERO_TIME, finishedAt: ZERO_TIME, finishedMs: 0, startedOnce: false, ip: '',
    };
    this.containers.set(id, container);
    this.containerNames.set(name, id);
    this.containerEvent(container, 'create');
    return { Id: id, Warnings: [] };
  }

  /** dockerd's lookup order: full ID, exact name, then a unique ID prefix. */
  getContainer(ref: string): SimContainer {
    const byId = this.containers.get(ref);
    if (byId) return byId;
    const byName = this.containerNames.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.containers.get(byName)!;
    if (/^[0-9a-f]+$/.test(ref)) {
      let found: SimContainer | undefined;
      for (const c of this.containers.values()) {
        if (!c.id.startsWith(ref)) continue;
        if (found) throw new SimError(400, `Multiple IDs found with provided prefix: ${ref}`);
        found = c;
      }
      if (found) return found;
    }
    throw new SimError(404, `No such container: ${ref}`);
  }

  get containerCount(): number {
    return this.containers.size;
  }

  /** IDs of the containers that are running or paused (what an event storm toggles). */
  activeContainerIds(): string[] {
    const ids: string[] = [];
    for (const c of this.containers.values()) if (c.state === 'running' || c.state === 'paused') ids.push(c.id);
    return ids;
  }

  /**
   * Pauses a running container or unpauses a paused one, with dockerd's event; returns the new
   * state, or undefined when the container is gone or not running (the storm skips it).
   */
  togglePause(id: string): 'running' | 'paused' | undefined {
    const c = this.containers.get(id);
    if (!c || (c.state !== 'running' && c.state !== 'paused')) return undefined;
    this.pauseContainer(id, c.state === 'running');
    return c.state;
  }

  /** Returns false when the container was already running (dockerd answers 304). */
  startContainer(ref: string): boolean {
    const c = this.getContainer(ref);
    if (c.state === 'running' || c.state === 'paused') return false;
    c.state = 'running';
    c.pid = this.nextPid++;
    c.startedAt = new Date().toISOString();
    c.finishedAt = ZERO_TIME;
    c.exitCode = 0;
    c.startedOnce = true;
    c.ip = this.allocateIp();
    this.containerEvent(c, 'start');
    const immediateExit = this.immediateExitCode(c);
    if (immediateExit !== undefined) this.exit(c, immediateExit);
    return true;
  }

  /** Returns false when the container was not running (dockerd answers 304). */
  stopContainer(ref: string): boolean {
    const c = this.getContainer(ref);
    if (c.state !== 'running' && c.state !== 'paused') return false;
    this.containerEvent(c, 'kill', { signal: '15' });
    this.exit(c, 128 + 15);
    this.containerEvent(c, 'stop');
    return true;
  }

  killContainer(ref: string, signal: number): void {
    const c = this.getContainer(ref);
    if (c.state !== 'running' && c.state !== 'paused') {
      throw new SimError(409, `Cannot kill container: ${ref}: Container ${c.id} is not running`);
    }
    this.containerEvent(c, 'kill', { signal: String(signal) });
    // Signals a sleeping process ignores by default do not end it.
    if (signal === 17 || signal === 18 || signal === 28) return;
    this.exit(c, 128 + signal);
  }

  restartContainer(ref: string): void {
    const c = this.getContainer(ref);
    this.stopContainer(c.id);
    this.startContainer(c.id);
    this.containerEvent(c, 'restart');
  }

  pauseContainer(ref: string, pause: boolean): void {
    const c = this.getContainer(ref);
    if (pause && c.state !== 'running') throw new SimError(409, `Container ${c.id} is not running`);
    if (!pause && c.state !== 'paused') throw new SimError(409, `Container ${c.id} is not paused`);
    c.state = pause ? 'paused' : 'running';
    this.containerEvent(c, pause ? 'pause' : 'unpause');
  }

  removeContainer(ref: string, force: boolean): void {
    const c = this.getContainer(ref);
    if (c.state === 'running' || c.state === 'paused') {
      if (!force) {
        throw new SimError(409, `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
      }
      this.containerEvent(c, 'kill', { signal: '9' });
      this.exit(c, 137);
    }
    this.destroy(c);
  }

  /** Resolves with the exit code once `condition` holds (dockerd's wait conditions). */
  waitContainer(ref: string, condition: WaitCondition): Promise<number> {
    const c = this.getContainer(ref);
    const running = c.state === 'running' || c.state === 'paused';
    if (condition === 'not-running' && !running) return Promise.resolve(c.exitCode);
    return new Promise((resolve) => {
      (c.waiters ??= []).push({ condition, resolve });
    });
  }

  listContainers(all: boolean, filters: Map<string, string[]>, limit: number): Json[] {
    let list = [...this.containers.values()];
    if (!all && limit <= 0) list = list.filter((c) => c.state === 'running' || c.state === 'paused');
    list = list.filter((c) => this.containerMatches(c, filters));
    list.sort((a, b) => b.createdMs - a.createdMs);
    if (limit > 0) list = list.slice(0, limit);
    return list.map((c) => this.summary(c));
  }

  inspectContainer(ref: string): Json {
    const c = this.getContainer(ref);
    const hostConfig = { ...HOST_CONFIG_DEFAULTS, ...c.hostConfig };
    const cmd = (c.config.Cmd as string[] | null) ?? [];
    const entrypoint = (c.config.Entrypoint as string[] | null) ?? [];
    const argv = [...entrypoint, ...cmd];
    const base = `/var/lib/docker/containers/${c.id}`;
    return {
      Id: c.id, Created: new Date(c.createdMs).toISOString(), Path: argv[0] ?? '', Args: argv.slice(1),
      State: {
        Status: c.state, Running: c.state === 'running' || c.state === 'paused', Paused: c.state === 'paused',
        Restarting: false, OOMKilled: false, Dead: false, Pid: c.state === 'running' || c.state === 'paused' ? c.pid : 0,
        ExitCode: c.exitCode, Error: '', StartedAt: c.startedAt, FinishedAt: c.finishedAt,
      },
      Image: c.imageId, ResolvConfPath: `${base}/resolv.conf`, HostnamePath: `${base}/hostname`, HostsPath: `${base}/hosts`,
      LogPath: `${base}/${c.id}-json.log`, Name: c.name, RestartCount: 0, Driver: this.opts.driver ?? 'vfs', Platform: 'linux',
      MountLabel: '', ProcessLabel: '', AppArmorProfile: '', ExecIDs: null, HostConfig: hostConfig,
      GraphDriver: { Data: null, Name: this.opts.driver ?? 'vfs' }, Mounts: [],
      Config: { ...CONFIG_DEFAULTS, ...c.config, Image: c.imageRef },
      NetworkSettings: {
        Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
        Ports: this.portMap(c), SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '',
        Gateway: c.ip ? '172.17.0.1' : '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: c.ip,
        IPPrefixLen: c.ip ? 16 : 0, IPv6Gateway: '', MacAddress: '', Networks: this.endpoints(c),
      },
    };
  }

  /** The fixed text every container "printed", or nothing if it never started. */
  containerLog(ref: string): { container: SimContainer; text: string } {
    const container = this.getContainer(ref);
    return { container, text: container.startedOnce ? this.opts.logText ?? `hello from ${this.name}\n` : '' };
  }

  // ---------------------------------------------------------------- images

  listImages(filters: Map<string, string[]>): Json[] {
    const dangling = filters.get('dangling');
    const references = filters.get('reference');
    return this.images
      .filter((img) => !dangling || (dangling.includes('true') ? img.repoTags.length === 0 : img.repoTags.length > 0))
      .filter((img) => !references || img.repoTags.some((tag) => references.some((r) => tag === normalizeImageRef(r) || tag.split(':')[0] === r)))
      .sort((a, b) => b.createdMs - a.createdMs)
      .map((img) => ({
        Containers: -1, Created: Math.floor(img.createdMs / 1000), Id: img.id, Labels: null, ParentId: '',
        RepoDigests: null, RepoTags: img.repoTags.length ? img.repoTags : null, SharedSize: -1, Size: img.size, VirtualSize: img.size,
      }));
  }

  inspectImage(ref: string): Json {
    const img = this.findImage(ref);
    if (!img) throw new SimError(404, `No such image: ${ref}`);
    const emptyConfig = { ...CONFIG_DEFAULTS, Labels: null };
    return {
      Id: img.id, RepoTags: img.repoTags, RepoDigests: [], Parent: '', Comment: img.comment,
      Created: new Date(img.createdMs).toISOString(), Container: '', ContainerConfig: emptyConfig,
      DockerVersion: SIM_SERVER_VERSION, Author: '', Config: emptyConfig, Architecture: 'amd64', Os: 'linux',
      Size: img.size, VirtualSize: img.size, GraphDriver: { Data: null, Name: this.opts.driver ?? 'vfs' },
      RootFS: { Type: 'layers', Layers: [img.layer] }, Metadata: { LastTagTime: new Date(img.createdMs).toISOString() },
    };
  }

  /** ID by exact or prefix match (with or without `sha256:`), else by normalised `repo:tag`. */
  findImage(ref: string): SimImage | undefined {
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[0-9a-f]{3,64}$/.test(hex)) {
      const byId = this.images.find((img) => img.id.slice(7).startsWith(hex));
      if (byId) return byId;
    }
    const tag = normalizeImageRef(ref);
    return this.images.find((img) => img.repoTags.includes(tag));
  }

  /**
   * Records an image that arrived by `how` (the event action dockerd emits: load, import, pull)
   * and moves `tag` to it (a tag names one image).
   */
  addImage(how: 'load' | 'import' | 'pull', tag: string | undefined, size: number, id?: string): SimImage {
    const comment = how === 'import' ? 'Imported from -' : '';
    const imageId = id ?? `sha256:${newId()}`;
    if (tag) for (const other of this.images) other.repoTags = other.repoTags.filter((t) => t !== tag);
    let img = this.images.find((i) => i.id === imageId);
    if (!img) {
      img = { id: imageId, repoTags: [], createdMs: Date.now(), size, comment, layer: `sha256:${randomBytes(32).toString('hex')}` };
      this.images.push(img);
    }
    if (tag && !img.repoTags.includes(tag)) img.repoTags.push(tag);
    this.events.emit('image', how, img.id, tag ? { name: tag } : {});
    return img;
  }

  // ---------------------------------------------------------------- networks and volumes

  listNetworks(filters: Map<string, string[]>): Json[] {
    return this.networks.filter((n) => this.networkMatches(n, filters)).map((n) => this.renderNetwork(n));
  }

  inspectNetwork(ref: string): Json {
    let net = this.networks.find((n) => n.id === ref || n.name === ref);
    if (!net) {
      const byPrefix = this.networks.filter((n) => n.id.startsWith(ref));
      if (byPrefix.length === 1) net = byPrefix[0];
    }
    if (!net) throw new SimError(404, `network ${ref} not found`);
    return this.renderNetwork(net);
  }

  createVolume(body: Json): Json {
    const name = typeof body.Name === 'string' && body.Name ? body.Name : newId();
    let vol = this.volumes.get(name);
    if (!vol) {
      vol = { name, driver: (body.Driver as string) || 'local', createdIso: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), labels: (body.Labels as Record<string, string>) ?? null };
      this.volumes.set(name, vol);
      this.events.emit('volume', 'create', name, { driver: vol.driver });
    }
    return this.renderVolume(vol);
  }

  listVolumes(filters: Map<string, string[]>): Json {
    const names = filters.get('name');
    const list = [...this.volumes.values()]
      .filter((v) => !names || names.some((n) => v.name.includes(n)))
      .filter((v) => labelsMatch(filters.get('label'), v.labels))
      .filter((v) => !filters.get('driver') || filters.get('driver')!.includes(v.driver));
    return { Volumes: list.map((v) => this.renderVolume(v)), Warnings: null };
  }

  inspectVolume(name: string): Json {
    const vol = this.volumes.get(name);
    if (!vol) throw new SimError(404, `get ${name}: no such volume`);
    return this.renderVolume(vol);
  }

  removeVolume(name: string): void {
    if (!this.volumes.delete(name)) throw new SimError(404, `get ${name}: no such volume`);
    this.events.emit('volume', 'destroy', name, { driver: 'local' });
  }

  // ---------------------------------------------------------------- internals

  private summary(c: SimContainer): Json {
    const cmd = [...((c.config.Entrypoint as string[] | null) ?? []), ...((c.config.Cmd as string[] | null) ?? [])];
    return {
      Id: c.id, Names: [c.name], Image: c.imageRef, ImageID: c.imageId, Command: cmd.join(' '),
      Created: Math.floor(c.createdMs / 1000), Ports: this.portList(c), Labels: (c.config.Labels as Json) ?? {},
      State: c.state, Status: this.statusText(c), HostConfig: { NetworkMode: (c.hostConfig.NetworkMode as string) ?? 'default' },
      NetworkSettings: { Networks: this.endpoints(c) }, Mounts: [],
    };
  }

  private statusText(c: SimContainer): string {
    const now = Date.now();
    switch (c.state) {
      case 'running':
        return `Up ${humanDuration(now - Date.parse(c.startedAt))}`;
      case 'paused':
        return `Up ${humanDuration(now - Date.parse(c.startedAt))} (Paused)`;
      case 'exited':
        return `Exited (${c.exitCode}) ${humanDuration(now - c.finishedMs)} ago`;
      default:
        return 'Created';
    }
  }

  private containerMatches(c: SimContainer, filters: Map<string, string[]>): boolean {
    for (const [key, values] of filters) {
      if (values.length === 0) continue;
      let ok: boolean;
      switch (key) {
        case 'id':
          ok = values.some((v) => c.id.startsWith(v));
          break;
        case 'name':
          ok = values.some((v) => safeRegex(v).test(c.name.slice(1)) || safeRegex(v).test(c.name));
          break;
        case 'label':
          ok = labelsMatch(values, (c.config.Labels as Record<string, string>) ?? {});
          break;
        case 'status':
          ok = values.includes(c.state);
          break;
        case 'exited':
          ok = c.state === 'exited' && values.some((v) => Number(v) === c.exitCode);
          break;
        case 'ancestor':
          ok = values.some((v) => this.findImage(v)?.id === c.imageId);
          break;
        default:
          throw new SimError(400, `invalid filter '${key}'`);
      }
      if (!ok) return false;
    }
    return true;
  }

  private immediateExitCode(c: SimContainer): number | undefined {
    const argv = [...((c.config.Entrypoint as string[] | null) ?? []), ...((c.config.Cmd as string[] | null) ?? [])];
    if (argv[0] === 'true') return 0;
    if (argv[0] === 'false') return 1;
    if (argv[0] === 'exit') return Number(argv[1] ?? 0) || 0;
    if ((argv[0] === 'sh' || argv[0] === '/bin/sh') && argv[1] === '-c') {
      const m = /^exit (\d+)$/.exec(argv[2] ?? '');
      if (m) return Number(m[1]);
    }
    if (argv[0] === 'echo') return 0;
    return undefined;
  }

  private exit(c: SimContainer, exitCode: number): void {
    c.state = 'exited';
    c.exitCode = exitCode;
    c.pid = 0;
    c.ip = '';
    c.finishedMs = Date.now();
    c.finishedAt = new Date(c.finishedMs).toISOString();
    this.containerEvent(c, 'die', { exitCode: String(exitCode) });
    this.settleWaiters(c, (w) => w.condition !== 'removed');
    if (c.hostConfig.AutoRemove === true) this.destroy(c);
  }

  private destroy(c: SimContainer): void {
    this.containers.delete(c.id);
    this.containerNames.delete(c.name);
    this.containerEvent(c, 'destroy');
    this.settleWaiters(c, () => true);
  }

  private settleWaiters(c: SimContainer, which: (w: Waiter) => boolean): void {
    if (!c.waiters) return;
    const due = c.waiters.filter(which);
    c.waiters = c.waiters.filter((w) => !which(w));
    for (const w of due) w.resolve(c.exitCode);
  }

  private containerEvent(c: SimContainer, action: string, extra: Record<string, string> = {}): void {
    const labels = (c.config.Labels as Record<string, string> | null) ?? {};
    this.events.emit('container', action, c.id, { ...labels, ...extra, image: c.imageRef, name: c.name.slice(1) });
  }

  private randomName(): string {
    for (let attempt = 0; ; attempt++) {
      const base = `${ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)]}_${SURNAMES[Math.floor(Math.random() * SURNAMES.length)]}`;
      const name = attempt < 3 ? `/${base}` : `/${base}${attempt}`;
      if (!this.containerNames.has(name)) return name;
    }
  }

  private allocateIp(): string {
    const n = this.nextIp++;
    return `172.17.${(n >> 8) & 255}.${n & 255}`;
  }

  private networkModeName(c: SimContainer): string {
    const mode = (c.hostConfig.NetworkMode as string | undefined) ?? 'default';
    return mode === 'default' ? 'bridge' : mode;
  }

  private endpoints(c: SimContainer): Json {
    const name = this.networkModeName(c);
    const net = this.networks.find((n) => n.name === name);
    return { [name]: endpoint(c.state === 'running' && net ? net.id : '', net?.driver === 'bridge' ? c.ip : '', net?.gateway ?? '') };
  }

  private portBindings(c: SimContainer): Array<[string, { HostIp?: string; HostPort?: string }[]]> {
    const bindings = (c.hostConfig.PortBindings as Record<string, { HostIp?: string; HostPort?: string }[]> | undefined) ?? {};
    return Object.entries(bindings);
  }

  private portMap(c: SimContainer): Json {
    const out: Json = {};
    for (const port of Object.keys((c.config.ExposedPorts as Json | undefined) ?? {})) out[port] = null;
    if (c.state !== 'running') return out;
    for (const [port, binds] of this.portBindings(c)) {
      out[port] = (binds ?? []).map((b) => ({ HostIp: b.HostIp || '0.0.0.0', HostPort: b.HostPort || '' }));
    }
    return out;
  }

  private portList(c: SimContainer): Json[] {
    if (c.state !== 'running') return [];
    const list: Json[] = [];
    for (const [port, binds] of this.portBindings(c)) {
      const [num, proto] = port.split('/');
      for (const b of binds ?? []) {
        list.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(num), PublicPort: Number(b.HostPort) || 0, Type: proto || 'tcp' });
      }
    }
    return list;
  }

  private networkMatches(n: SimNetwork, filters: Map<string, string[]>): boolean {
    for (const [key, values] of filters) {
      if (values.length === 0) continue;
      let ok: boolean;
      switch (key) {
        case 'name':
          ok = values.some((v) => n.name.includes(v));
          break;
        case 'id':
          ok = values.some((v) => n.id.startsWith(v));
          break;
        case 'driver':
          ok = values.includes(n.driver);
          break;
        case 'label':
          ok = labelsMatch(values, n.labels);
          break;
        case 'scope':
          ok = values.includes('local');
          break;
        case 'type':
          ok = values.includes('builtin');
          break;
        default:
          throw new SimError(400, `Invalid filter '${key}'`);
      }
      if (!ok) return false;
    }
    return true;
  }

  private renderNetwork(n: SimNetwork): Json {
    const containers: Json = {};
    for (const c of this.containers.values()) {
      if (c.state === 'running' && this.networkModeName(c) === n.name && n.driver === 'bridge') {
        containers[c.id] = { Name: c.name.slice(1), EndpointID: '', MacAddress: '', IPv4Address: `${c.ip}/16`, IPv6Address: '' };
      }
    }
    return {
      Name: n.name, Id: n.id, Created: n.createdIso, Scope: 'local', Driver: n.driver, EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: n.subnet ? [{ Subnet: n.subnet, Gateway: n.gateway }] : [] },
      Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers, Options: {}, Labels: n.labels,
    };
  }

  private renderVolume(v: SimVolume): Json {
    return {
      CreatedAt: v.createdIso, Driver: v.driver, Labels: v.labels, Mountpoint: `/var/lib/docker/volumes/${v.name}/_data`,
      Name: v.name, Options: null, Scope: 'local',
    };
  }
}

function safeRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw new SimError(500, `error parsing regexp: ${pattern}`);
  }
}
