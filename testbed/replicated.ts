/**
 * Replicated managers for tests and benchmarks: N real `swarm manage --replication` processes
 * over one KV store, each advertising its own -H address, plus helpers to see who is primary.
 */
import { freePort } from './ports';
import { startManager, type ManagerHandle } from './manager';

export interface ReplicatedManagers {
  managers: ManagerHandle[];
  /** Each manager's --metrics-addr (host:port), when started with `metrics`; kept across restarts. */
  metricsAddrs: string[];
  /** Starts manager i again on its port (after a stop or kill). */
  restart(i: number): Promise<ManagerHandle>;
  /** Each live manager's role from GET /info: "primary", "replica" or "down". */
  roles(): Promise<Array<{ port: number; role: string; primary?: string }>>;
  /** Index of the only primary, or -1 when there is none or more than one. */
  primaryIndex(): Promise<number>;
  stop(): Promise<void>;
}

export interface ReplicatedOptions {
  /** e.g. "etcd://127.0.0.1:2379/prefix" */
  discovery: string;
  count: number;
  /** --replication-ttl, e.g. "4s" */
  ttl: string;
  args?: string[];
  /** Give each manager a --metrics-addr of its own (/metrics, /readyz, the page). */
  metrics?: boolean;
}

/** Role and primary address from a manager's /info SystemStatus. */
export async function roleOf(port: number): Promise<{ role: string; primary?: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/info`, { signal: AbortSignal.timeout(2000) });
    const info = (await res.json()) as { SystemStatus?: Array<[string, string]> };
    const status = new Map(info.SystemStatus ?? []);
    return { role: status.get('Role') ?? 'unknown', primary: status.get('Primary') };
  } catch {
    return { role: 'down' };
  }
}

export async function startReplicatedManagers(options: ReplicatedOptions): Promise<ReplicatedManagers> {
  const ports = await Promise.all(Array.from({ length: options.count }, () => freePort()));
  const metricsAddrs = options.metrics ? await Promise.all(ports.map(async () => `127.0.0.1:${await freePort()}`)) : [];
  const start = (port: number, i: number): Promise<ManagerHandle> =>
    startManager(['--replication', '--replication-ttl', options.ttl, '--advertise', `127.0.0.1:${port}`, ...(options.metrics ? ['--metrics-addr', metricsAddrs[i]] : []), ...(options.args ?? []), options.discovery], { port });
  // A port free a moment ago can be taken before the manager binds it (freePort says so): the
  // manager then exits saying "address already in use", and that manager starts on new ports.
  const firstStart = async (i: number): Promise<ManagerHandle> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start(ports[i], i);
      } catch (err) {
        if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
        ports[i] = await freePort();
        if (options.metrics) metricsAddrs[i] = `127.0.0.1:${await freePort()}`;
      }
    }
  };
  const managers = await Promise.all(ports.map((_, i) => firstStart(i)));
  const self: ReplicatedManagers = {
    managers,
    metricsAddrs,
    restart: async (i) => {
      await managers[i].kill().catch(() => undefined);
      managers[i] = await start(ports[i], i);
      return managers[i];
    },
    roles: () => Promise.all(ports.map(async (port) => ({ port, ...(await roleOf(port)) }))),
    primaryIndex: async () => {
      const roles = await self.roles();
      const primaries = roles.flatMap((r, i) => (r.role === 'primary' ? [i] : []));
      return primaries.length === 1 ? primaries[0] : -1;
    },
    stop: async () => {
      await Promise.all(managers.map((m) => m.stop().catch(() => undefined)));
    },
  };
  return self;
}
