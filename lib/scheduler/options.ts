/** Scheduler-related `--cluster-opt` values (classic: swarm.overcommit, swarm.createretry). */
export interface SchedulerOptions {
  /** Fraction of capacity that may be over-reserved (0.05 = 5%). */
  overcommit: number;
  /** Extra create attempts after the initial failure. */
  createRetry: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { overcommit: 0.05, createRetry: 0 };

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
      if (!(ratio > -1)) throw new Error(`swarm.overcommit should be larger than -1, ${value} is invalid`);
      options.overcommit = ratio;
    } else if (key === 'swarm.createretry') {
      const retry = Number(value);
      if (!Number.isInteger(retry) || retry < 0) throw new Error(`swarm.createretry can not be negative, ${value} is invalid`);
      options.createRetry = retry;
    }
  }
  return options;
}
