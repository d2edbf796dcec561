/**
 * Swarm mode's routes over plain engines: /services, /tasks, /nodes (Engine API v1.41+).
 * The routes parse and answer; lib/services does the work.
 */
import type { Cluster } from '../../cluster/cluster';
import type { ServiceController } from '../../services/controller';
import { streamServiceLogs, type LogSource } from '../../services/logs';
import type { ServiceSpec, Task } from '../../services/model';
import { readJson } from '../body';
import { FilterArgs } from '../../docker/filter-args';
import { ApiError, sendJson } from '../errors';
import type { Handler, RequestContext, Router } from '../router';

/** The `filters` parameter (both of Docker's JSON forms, dockerd's 400s) as key -> values. */
function parseFilters(raw: string | null): Record<string, string[]> {
  const args = FilterArgs.parse(raw);
  return Object.fromEntries(args.keys().map((key) => [key, args.get(key)]));
}

function boolParam(ctx: RequestContext, name: string): boolean {
  const v = ctx.query.get(name);
  return v === '1' || v === 'true' || v === 'True';
}

async function logs(ctx: RequestContext, controller: ServiceController, cluster: Cluster, tasks: Task[], tty: boolean): Promise<void> {
  const stdout = boolParam(ctx, 'stdout');
  const stderr = boolParam(ctx, 'stderr');
  if (!stdout && !stderr) throw new ApiError(400, 'You must choose at least one stream');
  const sources: LogSource[] = [];
  for (const task of tasks) {
    const containerId = task.Status.ContainerStatus?.ContainerID;
    const engine = task.NodeID ? controller.nodes.engineOf(task.NodeID) : undefined;
    if (!containerId || !engine || !engine.containers.get(containerId)) continue;
    sources.push({ task, engine, containerId, tty });
  }
  void cluster;
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  res.flushHeaders();
  await streamServiceLogs(sources, {
    follow: boolParam(ctx, 'follow'), stdout, stderr, timestamps: boolParam(ctx, 'timestamps'),
    tail: ctx.query.get('tail') ?? 'all', since: ctx.query.get('since') ?? undefined, details: boolParam(ctx, 'details'),
  }, res, tty);
  res.end();
}

/** How long a service request waits for the service state to be (re)loaded. */
const LOAD_WAIT_MS = 5000;

export function serviceRoutes(router: Router, cluster: Cluster, controller: ServiceController): void {
  // Every route waits for the service state to be loaded (a KV store may be down at start; a
  // replica that just became primary reads it again): a few seconds, then a 503 says why, and
  // nothing is answered from partial or stale state.
  const guarded = (handler: Handler): Handler => async (ctx) => {
    if (!controller.store.loaded && !(await controller.store.whenLoaded(LOAD_WAIT_MS))) {
      throw new ApiError(503, controller.store.loadError || 'service state is still loading');
    }
    await handler(ctx);
  };
  interface GuardedRouter {
    get(pattern: string, handler: Handler): GuardedRouter;
    post(pattern: string, handler: Handler): GuardedRouter;
    delete(pattern: string, handler: Handler): GuardedRouter;
  }
  const route: GuardedRouter = {
    get: (pattern, handler) => (router.get(pattern, guarded(handler)), route),
    post: (pattern, handler) => (router.post(pattern, guarded(handler)), route),
    delete: (pattern, handler) => (router.delete(pattern, guarded(handler)), route),
  };
  route
    .get('/services', (ctx) => {
      const services = controller.list(parseFilters(ctx.query.get('filters')), boolParam(ctx, 'status'));
      sendJson(ctx.res, 200, services);
    })
    .post('/services/create', async (ctx) => {
      const spec = await readJson<ServiceSpec>(ctx.req, {} as ServiceSpec);
      sendJson(ctx.res, 201, controller.create(spec));
    })
    .get('/services/{id}/logs', async (ctx) => {
      const service = controller.resolveService(ctx.params.id);
      const tasks = controller.store.tasksOf(service.ID).filter((t) => t.DesiredState !== 'remove').sort((a, b) => a.Slot - b.Slot || a.CreatedAt.localeCompare(b.CreatedAt));
      await logs(ctx, controller, cluster, tasks, service.Spec.TaskTemplate?.ContainerSpec?.TTY === true);
    })
    .post('/services/{id}/update', async (ctx) => {
      const spec = await readJson<ServiceSpec>(ctx.req, {} as ServiceSpec);
      sendJson(ctx.res, 200, controller.update(ctx.params.id, ctx.query.get('version'), spec, ctx.query.get('rollback')));
    })
    .get('/services/{id}', (ctx) => sendJson(ctx.res, 200, controller.resolveService(ctx.params.id)))
    .delete('/services/{id}', (ctx) => {
      controller.remove(ctx.params.id);
      ctx.res.writeHead(200).end();
    })
    .get('/tasks', (ctx) => {
      const tasks = controller.listTasks(parseFilters(ctx.query.get('filters')));
      sendJson(ctx.res, 200, tasks.map((t) => controller.taskToApi(t)));
    })
    .get('/tasks/{id}/logs', async (ctx) => {
      const task = controller.resolveTask(ctx.params.id);
      await logs(ctx, controller, cluster, [task], task.Spec.ContainerSpec?.TTY === true);
    })
    .get('/tasks/{id}', (ctx) => sendJson(ctx.res, 200, controller.taskToApi(controller.resolveTask(ctx.params.id))))
    .get('/nodes', (ctx) => {
      const filters = parseFilters(ctx.query.get('filters'));
      for (const key of Object.keys(filters)) {
        if (!['id', 'name', 'label', 'node.label', 'membership', 'role'].includes(key)) throw new ApiError(400, `invalid filter '${key}'`);
      }
      const nodes = [...controller.store.nodes.values()].filter((n) => {
        if (filters.id?.length && !filters.id.some((v) => n.ID.startsWith(v))) return false;
        if (filters.name?.length && !filters.name.some((v) => n.Hostname.startsWith(v))) return false;
        if (filters.role?.length && !filters.role.includes(n.Spec.Role)) return false;
        if (filters.membership?.length && !filters.membership.includes('accepted')) return false;
        if (filters['node.label']?.length && !filters['node.label'].every((l) => labelMatch(n.Spec.Labels, l))) return false;
        if (filters.label?.length && !filters.label.every((l) => labelMatch(controller.nodes.engineOf(n.ID)?.labels ?? {}, l))) return false;
        return true;
      });
      sendJson(ctx.res, 200, nodes.sort((a, b) => a.Hostname.localeCompare(b.Hostname, undefined, { numeric: true })).map((n) => controller.nodes.toApi(n)));
    })
    .get('/nodes/{id}', (ctx) => sendJson(ctx.res, 200, controller.nodes.toApi(controller.nodes.resolve(ctx.params.id))))
    .post('/nodes/{id}/update', async (ctx) => {
      const spec = await readJson<Record<string, unknown>>(ctx.req, {});
      controller.updateNode(ctx.params.id, ctx.query.get('version'), spec);
      ctx.res.writeHead(200).end();
    })
    .delete('/nodes/{id}', (ctx) => {
      controller.removeNode(ctx.params.id, boolParam(ctx, 'force'));
      ctx.res.writeHead(200).end();
    });
}

function labelMatch(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
