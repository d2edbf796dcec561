/**
 * `docker build` and `docker commit`: images made on one engine.
 * - POST /build picks the engine through the scheduler; as in classic swarm, build args
 *   `--build-arg constraint:disk==ssd` (and affinity:, whitelist:) steer placement and are not
 *   passed to the build. The build context streams through to that engine.
 * - POST /commit runs on the container's engine.
 * Both refresh that engine's images when done.
 */
import type { Cluster } from '../../cluster/cluster';
import { badRequest } from '../errors';
import { forward } from '../forward';
import type { RequestContext, Router } from '../router';
import { resolveContainer } from './containers';

const PLACEMENT_ARG = /^(constraint|affinity|whitelist):/;

function build(cluster: Cluster, ctx: RequestContext): void {
  let buildArgs: Record<string, string> = {};
  const raw = ctx.query.get('buildargs');
  if (raw) {
    try {
      buildArgs = JSON.parse(raw) as Record<string, string>;
    } catch {
      throw badRequest(`invalid buildargs: ${raw}`);
    }
  }
  // The CLI splits "constraint:disk==ssd" at its first "=": key "constraint:disk", value "=ssd".
  const env = Object.entries(buildArgs).filter(([key]) => PLACEMENT_ARG.test(key)).map(([key, value]) => `${key}=${value}`);
  const memory = Number(ctx.query.get('memory') ?? 0);
  const engine = cluster.place({ Image: '', Env: env, HostConfig: { Memory: Number.isFinite(memory) ? memory : 0 } }).engine;
  const remaining = Object.fromEntries(Object.entries(buildArgs).filter(([key]) => !PLACEMENT_ARG.test(key)));
  if (raw) ctx.query.set('buildargs', JSON.stringify(remaining));
  forward(ctx, engine, '/build', { beforeEnd: () => engine.refreshList('images') });
}

function commit(cluster: Cluster, ctx: RequestContext): void {
  const ref = ctx.query.get('container');
  if (!ref) throw badRequest('container is required');
  const { engine, container } = resolveContainer(cluster, ref);
  ctx.query.set('container', container.id);
  forward(ctx, engine, '/commit', { beforeEnd: () => engine.refreshList('images') });
}

export function buildRoutes(router: Router, cluster: Cluster): void {
  router.post('/build', (ctx) => build(cluster, ctx)).post('/commit', (ctx) => commit(cluster, ctx));
}
