/** Resource accounting shared by the cluster's node snapshots and the scheduler. */
import type { NodeContainer } from './node';
import type { SchedulerOptions } from './options';

export interface ResourceFields {
  CpuShares?: number;
  NanoCpus?: number;
  Memory?: number;
  MemoryReservation?: number;
}

export interface Reservation {
  cpus: number;
  memory: number;
}

/** Docker's CPU-shares scale: 1024 shares = one full CPU's worth of weight. */
const SHARES_PER_ENGINE = 1024;

/**
 * The memory a container reserves: its limit (`-m`, classic's only measure) or its soft
 * reservation (`--memory-reservation`, what a service's `--reserve-memory` becomes), whichever
 * is larger. Classic swarm ignored the reservation; counting it lets a reservation reserve
 * without also capping the container, as swarm mode's does.
 */
export function reservedMemory(hostConfig: Pick<ResourceFields, 'Memory' | 'MemoryReservation'> | undefined): number {
  return Math.max(hostConfig?.Memory ?? 0, hostConfig?.MemoryReservation ?? 0);
}

/**
 * What a container reserves. CPUs come from NanoCpus (`--cpus`) when set, else from CpuShares
 * read back as classic swarm did (shares*NCPU/1024 of an engine with `engineCpus` CPUs, whole
 * CPUs). This inverts engineCpuShares for whole CPU counts.
 */
export function containerReservation(hostConfig: ResourceFields | undefined, engineCpus: number): Reservation {
  const nano = hostConfig?.NanoCpus ?? 0;
  const shares = hostConfig?.CpuShares ?? 0;
  const cpus = nano > 0 ? nano / 1e9 : shares > 0 ? Math.floor((shares * engineCpus) / SHARES_PER_ENGINE) : 0;
  return { cpus, memory: reservedMemory(hostConfig) };
}

/**
 * The CpuShares the engine receives when the user's CpuShares meant a CPU count (swarm's
 * `docker run -c 2` = reserve 2 CPUs): ceil(cpus * 1024 / NCPU), as classic. 0 stays 0 (no
 * reservation, engine default). Only for CpuShares requests: a NanoCpus (`--cpus`) request is
 * passed to the engine unchanged.
 */
export function engineCpuShares(requestCpus: number, engineCpus: number): number {
  if (requestCpus <= 0 || engineCpus <= 0) return 0;
  return Math.ceil((requestCpus * SHARES_PER_ENGINE) / engineCpus);
}

/** Capacity after overcommit (a real fraction, unlike classic's truncated integer percent). */
export function nodeCapacity(cpus: number, memory: number, overcommit: number): Reservation {
  return { cpus: cpus * (1 + overcommit), memory: Math.floor(memory * (1 + overcommit)) };
}

/** Docker states of a container that no longer runs and will not start by itself. */
const STOPPED_STATES = new Set(['exited', 'dead', 'removing']);

/**
 * Whether a container in `state` counts towards its node's CPU/memory reservation. Classic (and
 * the default, `swarm.reservestopped=true`): every container, stopped ones included. With
 * `swarm.reservestopped=false`, exited, dead and removing containers stop reserving; created,
 * running, paused, restarting and pending ones still do.
 */
export function reservesResources(state: string, options: Pick<SchedulerOptions, 'reserveStopped'>): boolean {
  return options.reserveStopped || !STOPPED_STATES.has(state);
}

/** The node's usedCpus / usedMemory: the sum over the containers that reserve (see reservesResources). */
export function nodeUsage(containers: readonly NodeContainer[], options: Pick<SchedulerOptions, 'reserveStopped'>): Reservation {
  const used: Reservation = { cpus: 0, memory: 0 };
  for (const container of containers) {
    if (!reservesResources(container.state, options)) continue;
    used.cpus += container.cpus;
    used.memory += container.memory;
  }
  return used;
}
