/**
 * The scheduler's view of an engine: a plain, immutable-by-convention snapshot built by the
 * cluster for each placement decision. Filters and strategies only ever see these objects,
 * never live engines, so they can be unit-tested (and benchmarked) with hand-made nodes.
 *
 * Immutable matters: lookups derived from a node's `containers` and `images` arrays are cached
 * per array (node-index.ts). When a node's containers or images change, build new arrays.
 */
import type { PortBindingBody } from '../docker-types';

/** Docker's short container/image ID length, as `docker ps` shows it. */
export const SHORT_ID_LENGTH = 12;

/** A container as the scheduler needs to see it (running, stopped, or pending creation). */
export interface NodeContainer {
  id: string;
  /** Names without the leading slash, e.g. "web". */
  names: string[];
  /** Image reference the container was created from, as given by the user (e.g. "busybox:latest"). */
  image: string;
  labels: Record<string, string>;
  /** Docker state: "running", "exited", "created", "paused", ... ("pending" for creates in flight). */
  state: string;
  /** CPUs reserved by the container (classic semantics: CpuShares counted as CPUs, or NanoCpus/1e9). */
  cpus: number;
  /** Memory reserved in bytes (HostConfig.Memory). */
  memory: number;
  /** HostConfig.NetworkMode ("default", "bridge", "host", "container:<id>", a network name). */
  networkMode: string;
  /** HostConfig.PortBindings / NetworkSettings.Ports: "80/tcp" -> bindings. */
  portBindings: Record<string, PortBinding[]>;
  /** Config.ExposedPorts keys, e.g. "80/tcp". */
  exposedPorts: readonly string[];
}

/** Docker's host port binding ({HostIp, HostPort}). */
export type PortBinding = PortBindingBody;

export interface NodeImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

export interface SchedulerNode {
  /** Cluster-unique id: `<docker engine ID>|<addr>` (engines may share a Docker ID). */
  id: string;
  /** Engine name (from /info Name), e.g. "node-1". */
  name: string;
  /** host:port the manager dials. */
  addr: string;
  ip: string;
  /** Built-in labels (storagedriver, kernelversion, operatingsystem, ostype) plus daemon labels. */
  labels: Record<string, string>;
  /** Capacity after overcommit. */
  totalCpus: number;
  totalMemory: number;
  /** Sum of reservations of the containers counted as reserving (see cluster options). */
  usedCpus: number;
  usedMemory: number;
  /** 0 (unusable) .. 100 (fully healthy); classic's HealthIndicator. */
  healthIndicator: number;
  containers: NodeContainer[];
  images: NodeImage[];
}
