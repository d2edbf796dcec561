/**
 * Gauges computed at scrape time from the cluster's in-memory state (no engine is asked
 * anything), and the readiness verdict shared by /readyz on the API and the metrics address.
 */
import type { Cluster } from '../cluster/cluster';
import type { Engine } from '../engine/engine';
import type { SchedulerNode } from '../scheduler/node';
import { TimeSlice } from '../time-slice';
import { currentLeadership, GaugeFamily, registerCollector, type Metrics } from './registry';

const ENGINE_STATUSES = ['pending', 'healthy', 'unhealthy'] as const;

const families = () => ({
  containers: new GaugeFamily('swarm_containers', 'Containers per engine and state.', ['engine', 'state']),
  cpusReserved: new GaugeFamily('swarm_engine_cpus_reserved', 'CPUs reserved by containers on the engine (classic semantics: CpuShares or NanoCpus).', ['engine']),
  cpusTotal: new GaugeFamily('swarm_engine_cpus', 'CPUs of the engine (with --cluster-opt swarm.overcommit applied).', ['engine']),
  memoryReserved: new GaugeFamily('swarm_engine_memory_reserved_bytes', 'Memory reserved by containers on the engine.', ['engine']),
  memoryTotal: new GaugeFamily('swarm_engine_memory_bytes', 'Memory of the engine (with overcommit applied).', ['engine']),
  healthy: new GaugeFamily('swarm_engine_healthy', '1 when the engine is healthy, 0 otherwise.', ['engine']),
});

type Families = ReturnType<typeof families>;
type EngineLines = Record<keyof Families, string[]>;

/**
 * An engine's sample lines, per scheduler snapshot: the cluster rebuilds a node's snapshot only
 * when the engine changed (or a create is in flight), so a scrape re-renders only the engines
 * that changed since the last one and reuses the lines of the others.
 */
const linesCache = new WeakMap<SchedulerNode, EngineLines>();

function engineLines(f: Families, node: SchedulerNode, engine: Engine): EngineLines {
  const cached = linesCache.get(node);
  if (cached) return cached;
  const name = [node.name];
  const states = new Map<string, number>();
  for (const c of engine.containers.values()) states.set(c.state.status, (states.get(c.state.status) ?? 0) + 1);
  const lines: EngineLines = {
    containers: [...states].map(([state, count]) => f.containers.line([node.name, state], count)),
    cpusReserved: [f.cpusReserved.line(name, node.usedCpus)],
    cpusTotal: [f.cpusTotal.line(name, node.totalCpus)],
    memoryReserved: [f.memoryReserved.line(name, node.usedMemory)],
    memoryTotal: [f.memoryTotal.line(name, node.totalMemory)],
    healthy: [f.healthy.line(name, node.healthIndicator > 0 && engine.isHealthy ? 1 : 0)],
  };
  linesCache.set(node, lines);
  return lines;
}

/**
 * How long a scrape works before letting other requests run. At 5,000 engines the families are
 * ~30,000 lines (1.5 MB): rendered in one piece, 35-70 ms during which the API served nobody.
 */
const SLICE_MS = 5;

/** Engines by status (a prom-client gauge) and the per-engine families, rendered as text. */
export async function collectCluster(cluster: Cluster, m: Metrics): Promise<string> {
  const byStatus: Record<string, number> = { pending: 0, healthy: 0, unhealthy: 0 };
  for (const engine of cluster.engines.values()) if (engine.status in byStatus) byStatus[engine.status]++;
  for (const status of ENGINE_STATUSES) m.engines.set({ status }, byStatus[status]);
  m.discoveryHealthy.set(cluster.discoveryError ? 0 : 1);
  const f = families();
  // A list handed out is never changed (see Cluster.nodes), so it can be walked across turns;
  // an engine gone meanwhile is skipped below.
  const nodes = cluster.nodes();
  const slice = new TimeSlice(SLICE_MS);
  for (let i = 0; i < nodes.length; i++) {
    if ((i & 63) === 63 && slice.due()) await slice.next();
    const node = nodes[i];
    const engine = cluster.engines.get(node.addr);
    if (!engine) continue;
    const lines = engineLines(f, node, engine);
    for (const key of Object.keys(f) as Array<keyof Families>) for (const line of lines[key]) f[key].addLine(line);
  }
  let text = '';
  for (const family of Object.values(f)) {
    text += family.render();
    await slice.next();
  }
  return text;
}

/** Registers the cluster's gauges with the registry; returns the unregistration. */
export function registerClusterMetrics(cluster: Cluster): () => void {
  return registerCollector((m) => collectCluster(cluster, m));
}

export interface Readiness {
  ready: boolean;
  /** Why the manager is not ready (empty when ready). */
  reasons: string[];
  engines: { healthy: number; total: number };
  discovery: { answered: boolean; error: string };
  replication: { enabled: boolean; leader: boolean; primary: string };
}

/**
 * Ready means a request sent now can be served: discovery has answered and is reachable, at
 * least one engine is healthy, and (with --replication) a primary is known to forward to.
 */
export function readiness(cluster: Cluster): Readiness {
  const total = cluster.engines.size;
  const healthy = cluster.healthyEngines().length;
  const lead = currentLeadership();
  const reasons: string[] = [];
  if (!cluster.discoveryAnswered) reasons.push(cluster.discoveryError ? `discovery has not answered: ${cluster.discoveryError}` : 'discovery has not answered yet');
  else if (cluster.discoveryError) reasons.push(`discovery unreachable: ${cluster.discoveryError}`);
  if (healthy === 0) reasons.push(total === 0 ? 'no engine in the cluster' : `no healthy engine (0 of ${total})`);
  if (lead.replicated && !lead.leader && !lead.primary) reasons.push('replication: no known primary');
  return {
    ready: reasons.length === 0,
    reasons,
    engines: { healthy, total },
    discovery: { answered: cluster.discoveryAnswered, error: cluster.discoveryError },
    replication: { enabled: lead.replicated, leader: lead.leader, primary: lead.primary },
  };
}
