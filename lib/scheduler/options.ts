/**
 * Scheduler-related `--cluster-opt` values: classic's swarm.overcommit and swarm.createretry,
 * plus swarm.reservestopped (new).
 */
export interface SchedulerOptions {
  /** Fraction of capacity that may be over-reserved (0.05 = 5%). */
  overcommit: number;
  /** Extra create attempts after the initial failure. */
  createRetry: number;
  /**
   * Whether stopped (exited/dead) containers keep reserving CPU and memory: true = classic
   * behaviour (default). `--cluster-opt swarm.reservestopped=false` frees their reservation; the
   * cluster computes usedCpus/usedMemory with nodeUsage(containers, options). Ports and
   * container slots still count stopped containers either way (as in classic).
   */
  reserveStopped: boolean;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { overcommit: 0.05, createRetry: 0, reserveStopped: true };

/** Parses `key=value` cluster options; throws Error with classic's messages on invalid values. */
export function parseClusterOpts(entries: string[]): SchedulerOptions {
  const options = { ...DEFAULT_SCHEDULER_OPTIONS };
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) throw new Error(`--cluster-opt must contain key=value strings: ${entry}`);
    const key = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (key === 'swarm.overcommit') {
      const ratio = Number(value);
      if (!(ratio > -1)) throw new Error(`swarm.overcommit should be larger than -1, ${ratio.toFixed(6)} is invalid`);
      options.overcommit = ratio;
    } else if (key === 'swarm.createretry') {
      const retry = Number(value);
      if (!Number.isInteger(retry) || retry < 0) throw new Error(`swarm.createretry can not be negative, ${value} is invalid`);
      options.createRetry = retry;
    } else if (key === 'swarm.reservestopped') {
      if (value !== 'true' && value !== 'false') throw new Error(`swarm.reservestopped must be true or false, ${value} is invalid`);
      options.reserveStopped = value === 'true';
    }
  }
  return options;
}
