/** /exec/*: exec instances live on the engine of their container. */
import type { Cluster } from '../../cluster/cluster';
import type { Engine } from '../../engine/engine';
import { notFound } from '../errors';
import { forward, hijack } from '../forward';
import type { Router, UpgradeHandler } from '../router';

/** Exec IDs are recorded when created through the manager; otherwise found in cached ExecIDs. */
function execEngine(cluster: Cluster, execOwners: Map<string, Engine>, id: string): Engine {
  const owner = execOwners.get(id);
  if (owner && cluster.engines.get(owner.addr) === owner) return owner;
  for (const engine of cluster.healthyEngines()) {
    for (const c of engine.containers.values()) if (c.execIds.includes(id)) return engine;
  }
  throw notFound(`No such exec instance: ${id}`);
}

export function execRoutes(router: Router, cluster: Cluster, execOwners: Map<string, Engine>): void {
  const startUpgrade: UpgradeHandler = (ctx) => {
    const engine = execEngine(cluster, execOwners, ctx.params.id);
    hijack(ctx.req, ctx.socket, ctx.head, engine, `/exec/${ctx.params.id}/start`, ctx.query);
  };
  router
    .post('/exec/{id}/start', (ctx) => forward(ctx.req, ctx.res, execEngine(cluster, execOwners, ctx.params.id), `/exec/${ctx.params.id}/start`, ctx.query), startUpgrade)
    .post('/exec/{id}/resize', (ctx) => forward(ctx.req, ctx.res, execEngine(cluster, execOwners, ctx.params.id), `/exec/${ctx.params.id}/resize`, ctx.query))
    .get('/exec/{id}/json', (ctx) => forward(ctx.req, ctx.res, execEngine(cluster, execOwners, ctx.params.id), `/exec/${ctx.params.id}/json`, ctx.query));
}
