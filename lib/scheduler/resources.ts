/** Resource accounting shared by the cluster's node snapshots and the scheduler. */

export interface ResourceFields {
  CpuShares?: number;
  NanoCpus?: number;
  Memory?: number;
}

export interface Reservation {
  cpus: number;
  memory: number;
}

/**
 * What a container reserves. CPUs come from NanoCpus (`--cpus`) when set, else from CpuShares
 * read as classic swarm did (shares*NCPU/1024 of an engine with `engineCpus` CPUs).
 */
export function containerReservation(hostConfig: ResourceFields | undefined, engineCpus: number): Reservation {
  const nano = hostConfig?.NanoCpus ?? 0;
  const shares = hostConfig?.CpuShares ?? 0;
  const cpus = nano > 0 ? nano / 1e9 : shares > 0 ? Math.floor((shares * engineCpus) / 1024) : 0;
  return { cpus, memory: hostConfig?.Memory ?? 0 };
}

/** Capacity after overcommit (a real fraction, unlike classic's truncated integer percent). */
export function nodeCapacity(cpus: number, memory: number, overcommit: number): Reservation {
  return { cpus: cpus * (1 + overcommit), memory: Math.floor(memory * (1 + overcommit)) };
}
