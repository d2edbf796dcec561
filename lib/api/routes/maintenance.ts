/**
 * Cluster-wide housekeeping: `docker {container,image,network,volume} prune` and
 * `docker system df` run on every healthy engine and their answers are merged (arrays joined,
 * byte counts summed). Classic swarm did not serve these at all.
 */
import type { Cluster } from '../../cluster/cluster';
import { ApiError, sendJson } from '../errors';
import { onEngines } from '../fan-out';
import type { RequestContext, Router } from '../router';

/** Joins arrays and sums numbers key by key; other values keep the first engine's. */
export function mergeAnswers(answers: Array<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const answer of answers) {
    for (const [key, value] of Object.entries(answer ?? {})) {
      const current = merged[key];
      if (Array.isArray(value)) merged[key] = [...(Array.isArray(current) ? current : []), ...value];
      else if (typeof value === 'number') merged[key] = (typeof current === 'number' ? current : 0) + value;
      else if (current === undefined || current === null) merged[key] = value;
    }
  }
  return merged;
}

async function onEveryEngine(cluster: Cluster, ctx: RequestContext, method: string, path: string): Promise<void> {
  const engines = cluster.healthyEngines();
  if (engines.length === 0) throw new ApiError(503, 'No healthy node available in the cluster');
  const qs = ctx.query.toString();
  const results = await onEngines(
    engines,
    (engine) => engine.request(method, `${path}${qs ? `?${qs}` : ''}`, { apiVersion: ctx.apiVersion, timeoutMs: 300_000 }),
    (engine) => (method === 'POST' ? engine.refreshAll(false) : Promise.resolve()),
  );
  sendJson(ctx.res, 200, mergeAnswers(results.map((r) => JSON.parse(r.response.body.toString('utf8') || '{}') as Record<string, unknown>)));
}

export function maintenanceRoutes(router: Router, cluster: Cluster): void {
  for (const kind of ['containers', 'images', 'networks', 'volumes']) {
    router.post(`/${kind}/prune`, (ctx) => onEveryEngine(cluster, ctx, 'POST', `/${kind}/prune`));
  }
  router.get('/system/df', (ctx) => onEveryEngine(cluster, ctx, 'GET', '/system/df'));
}
