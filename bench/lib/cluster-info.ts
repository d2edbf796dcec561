/** Reading a manager's `GET /info`: how many engines it lists and how many are Healthy. */
import type { ApiClient } from './http-client';

export interface ClusterHealth {
  nodes: number;
  healthy: number;
  containers: number;
}

/**
 * Classic swarm's SystemStatus holds `["Nodes", "N"]` and, per engine, `["  └ Status", "Healthy"]`.
 */
export function parseClusterHealth(info: { SystemStatus?: unknown; Containers?: number }): ClusterHealth {
  const pairs = Array.isArray(info.SystemStatus) ? (info.SystemStatus as unknown[]) : [];
  let nodes = 0;
  let healthy = 0;
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length < 2) continue;
    const key = String(pair[0]).trim();
    const value = String(pair[1]).trim();
    if (key === 'Nodes') nodes = Number(value) || 0;
    if (key === '└ Status' && value === 'Healthy') healthy++;
  }
  return { nodes, healthy, containers: info.Containers ?? 0 };
}

export async function clusterHealth(client: ApiClient): Promise<ClusterHealth> {
  return parseClusterHealth(await client.json<{ SystemStatus?: unknown; Containers?: number }>('GET', '/info'));
}

/** Polls /info until `expected` engines are Healthy; reports progress; returns the time it took. */
export async function waitAllHealthy(
  client: ApiClient,
  expected: number,
  timeoutMs: number,
  onPoll: (health: ClusterHealth) => void,
  intervalMs = 250,
): Promise<ClusterHealth> {
  const deadline = Date.now() + timeoutMs;
  let last: ClusterHealth = { nodes: 0, healthy: 0, containers: 0 };
  for (;;) {
    try {
      last = await clusterHealth(client);
      onPoll(last);
      if (last.healthy >= expected) return last;
    } catch {
      // the manager may still be starting; keep polling
    }
    if (Date.now() > deadline) {
      throw new Error(`only ${last.healthy}/${expected} engines Healthy (Nodes: ${last.nodes}) after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
