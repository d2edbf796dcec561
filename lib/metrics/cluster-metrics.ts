/**
 * Gauges computed at scrape time from the cluster's in-memory state (no engine is asked
 * anything), and the readiness verdict shared by /readyz on the API and the metrics address.
 */
import type { Cluster } from '../cluster/cluster';
import { currentLeadership, GaugeFamily, registerCollector, type Metrics } from './registry';

const ENGINE_STATUSES = ['pending', 'healthy', 'unhealthy'] as const;

/** Engines by status (a prom-client gauge) and the per-engine families, rendered as text. */
export function collectCluster(cluster: Cluster, m: Metrics): string {
  const byStatus: Record<string, number> = { pending: 0, healthy: 0, unhealthy: 0 };
  for (const engine of cluster.engines.values()) if (engine.status in byStatus) byStatus[engine.status]++;
  for (const status of ENGINE_STATUSES) m.engines.set({ status }, byStatus[status]);
  m.discoveryHealthy.set(cluster.discoveryError ? 0 : 1);
  const containers = new GaugeFamily('swarm_containers', 'Containers per engine and state.', ['engine', 'state']);
  const cpusReserved = new GaugeFamily('swarm_engine_cpus_reserved', 'CPUs reserved by containers on the engine (classic semantics: CpuShares or NanoCpus).', ['engine']);
  const cpusTotal = new GaugeFamily('swarm_engine_cpus', 'CPUs of the engine (with --cluster-opt swarm.overcommit applied).', ['engine']);
  const memoryReserved = new GaugeFamily('swarm_engine_memory_reserved_bytes', 'Memory reserved by containers on the engine.', ['engine']);
  const memoryTotal = new GaugeFamily('swarm_engine_memory_bytes', 'Memory of the engine (with overcommit applied).', ['engine']);
  const healthy = new GaugeFamily('swarm_engine_healthy', '1 when the engine is healthy, 0 otherwise.', ['engine']);
  // Scheduler snapshots are cached per engine generation, so this is cheap when nothing changed.
  for (const node of cluster.nodes()) {
    const engine = cluster.engineForNode(node);
    if (!engine) continue;
    const name = [node.name];
    cpusReserved.add(name, node.usedCpus);
    cpusTotal.add(name, node.totalCpus);
    memoryReserved.add(name, node.usedMemory);
    memoryTotal.add(name, node.totalMemory);
    healthy.add(name, engine.isHealthy ? 1 : 0);
    const states = new Map<string, number>();
    for (const c of engine.containers.values()) states.set(c.state.status, (states.get(c.state.status) ?? 0) + 1);
    for (const [state, count] of states) containers.add([node.name, state], count);
  }
  return [containers, cpusReserved, cpusTotal, memoryReserved, memoryTotal, healthy].map((f) => f.render()).join('');
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
