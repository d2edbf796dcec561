/** /containers/*: list from memory, create through the scheduler, everything else to the owner engine. */
import { once } from 'node:events';
import type { Cluster, ContainerRef } from '../../cluster/cluster';
import { createContainer } from '../../cluster/create';
import { ensureOk } from '../../engine/client';
import type { ContainerRecord } from '../../engine/records';
import type { Engine } from '../../engine/engine';
import { readBody, readJson, parseFilters } from '../body';
import { ApiError, badRequest, notFound, sendJson } from '../errors';
import { forward, hijack } from '../forward';
import { statusText } from '../format';
import type { RequestContext, Router, UpgradeHandler } from '../router';
import type { CreateBody } from '../../docker-types';

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export function resolveContainer(cluster: Cluster, ref: string): ContainerRef {
  const found = cluster.findContainer(ref);
  if (!found) throw notFound(`No such container: ${ref}`);
  if (!found.engine.isHealthy) throw new ApiError(500, `Container ${ref} running on unhealthy node ${found.engine.name}`);
  return found;
}

/** Replaces an unspecified host IP with the engine's address, so published ports are reachable. */
function publicIp(ip: string | undefined, engine: Engine): string | undefined {
  return ip === '0.0.0.0' || ip === '::' || ip === '' ? engine.ip : ip;
}

/** Marks where the time-dependent Status goes in a cached row. */
const STATUS_SLOT = '"Status":"\\u0000"';

interface CachedRow {
  engineName: string;
  engineIp: string;
  /** The row's JSON up to and after the Status value. */
  head: string;
  tail: string;
}

/**
 * Serialised `docker ps` rows, per container record. Records are replaced (never mutated) when
 * a container changes, so a row is serialised once per change, not once per request: `ps` at
 * 30,000 containers only stitches strings and computes each Status text.
 */
const rowCache = new WeakMap<ContainerRecord, CachedRow>();

/** One `docker ps` row as JSON, in the engine list format, names prefixed with the node. */
function psRowJson(engine: Engine, c: ContainerRecord, now: number): string {
  let cached = rowCache.get(c);
  if (!cached || cached.engineName !== engine.name || cached.engineIp !== engine.ip) {
    const json = JSON.stringify({
      Id: c.id,
      Names: [`/${engine.name}/${c.name}`],
      Image: c.image,
      ImageID: c.imageId,
      Command: c.command,
      Created: c.created,
      Ports: c.ports.map((p) => (p.IP !== undefined ? { ...p, IP: publicIp(p.IP, engine) } : p)),
      Labels: c.labels,
      State: c.state.status,
      Status: '\u0000',
      HostConfig: { NetworkMode: c.networkMode },
      NetworkSettings: { Networks: c.networks },
      Mounts: c.mounts,
    });
    const at = json.indexOf(STATUS_SLOT);
    cached = { engineName: engine.name, engineIp: engine.ip, head: json.slice(0, at), tail: json.slice(at + STATUS_SLOT.length) };
    rowCache.set(c, cached);
  }
  const status = engine.isHealthy ? statusText(c.state, now) : 'Host Down';
  return `${cached.head}"Status":${JSON.stringify(status)}${cached.tail}`;
}

function matchesFilters(engine: Engine, c: ContainerRecord, filters: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'name':
          return safeRegex(v).test(c.name) || safeRegex(v).test(`/${c.name}`) || safeRegex(v).test(`${engine.name}/${c.name}`);
        case 'id':
          return c.id.startsWith(v);
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in c.labels : c.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'status':
          if (!STATUSES.includes(v)) throw badRequest(`Invalid filter 'status=${v}'`);
          return c.state.status === v;
        case 'node':
          return engine.name === v || engine.id === v || safeRegex(v).test(engine.name);
        case 'health':
          return (c.state.health ?? 'none') === v;
        case 'exited':
          if (!/^-?\d+$/.test(v)) throw badRequest(`invalid filter 'exited=${v}'`);
          return c.state.status === 'exited' && c.state.exitCode === Number(v);
        case 'ancestor':
          return c.image === v || c.image === `${v}:latest` || c.imageId === v || c.imageId.startsWith(`sha256:${v}`);
        case 'network':
          return Object.entries(c.networks).some(([name, n]) => name === v || (n as { NetworkID?: string }).NetworkID?.startsWith(v));
        case 'volume':
          return c.mounts.some((m) => (m as { Name?: string }).Name === v || (m as { Destination?: string }).Destination === v);
        case 'is-task':
          return (v === 'true') === ('com.docker.swarm.task' in c.labels);
        default:
          throw badRequest(`Invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** Docker treats the name filter as a regex; a broken one must not crash the request. */
function safeRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
}

async function listContainers(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const all = q.get('all') === '1' || q.get('all') === 'true';
  const limit = Number(q.get('limit') ?? '-1');
  const filters = parseFilters(q.get('filters'));
  const now = Date.now();
  const rows: Array<{ created: number; json: string }> = [];
  const showAll = all || limit > 0 || q.has('before') || q.has('since') || 'status' in filters;
  for (const engine of cluster.validatedEngines()) {
    for (const c of engine.containers.values()) {
      if (!showAll && (!c.state.running || !engine.isHealthy)) continue;
      if (!matchesFilters(engine, c, filters)) continue;
      rows.push({ created: c.created, json: psRowJson(engine, c, now) });
    }
  }
  rows.sort((a, b) => b.created - a.created);
  const selected = limit > 0 ? rows.slice(0, limit) : rows;
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  // Written in batches, waiting for the client to drain each: at 30,000 containers the body is
  // ~25 MB and need never sit in memory whole.
  res.write('[');
  for (let i = 0; i < selected.length; i += 500) {
    if (res.destroyed) return;
    if (!res.write((i > 0 ? ',' : '') + selected.slice(i, i + 500).map((r) => r.json).join(','))) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  res.end(']');
}

async function create(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const body = await readJson<CreateBody>(ctx.req, {});
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid JSON body: expected an object');
  if (!body.Image) throw badRequest('Config cannot be empty in order to create a container');
  const name = ctx.query.get('name') ?? undefined;
  const result = await createContainer(cluster, body, name || undefined, ctx.req.headers, ctx.apiVersion);
  sendJson(ctx.res, 201, { Id: result.id, Warnings: result.warnings });
}

/** Live inspect from the engine, plus the `Node` object classic swarm added. */
async function inspect(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const { engine, container } = resolveContainer(cluster, ctx.params.name);
  const query = ctx.query.toString();
  const response = ensureOk(await engine.request('GET', `/containers/${container.id}/json${query ? `?${query}` : ''}`, { apiVersion: ctx.apiVersion }));
  const info = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
  const ports = (info.NetworkSettings as { Ports?: Record<string, Array<{ HostIp: string }> | null> } | undefined)?.Ports ?? {};
  for (const bindings of Object.values(ports)) for (const b of bindings ?? []) b.HostIp = publicIp(b.HostIp, engine) ?? b.HostIp;
  info.Node = { ID: engine.id, IP: engine.ip, Addr: engine.addr, Name: engine.name, Cpus: engine.cpus, Memory: engine.memory, Labels: engine.labels };
  sendJson(ctx.res, 200, info);
}

/**
 * State-changing actions (start, stop, kill, ...) are small and quick: the manager calls the
 * engine, refreshes its cached copy, then answers, so a `docker ps` right after sees the change.
 */
async function action(cluster: Cluster, ctx: RequestContext, verb: string): Promise<void> {
  const { engine, container } = resolveContainer(cluster, ctx.params.name);
  const raw = await readBody(ctx.req);
  const query = ctx.query.toString();
  const path = `/containers/${container.id}${verb ? `/${verb}` : ''}${query ? `?${query}` : ''}`;
  const method = ctx.req.method ?? 'POST';
  if (verb === 'rename') {
    const newName = (ctx.query.get('name') ?? '').replace(/^\//, '');
    if (!newName) throw badRequest('name is required');
    cluster.assertNameFree(newName);
  }
  let body: unknown;
  try {
    body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch (err) {
    throw badRequest(`invalid JSON body: ${(err as Error).message}`);
  }
  const sentAt = Date.now();
  const response = await engine.request(method, path, { body, timeoutMs: 120_000, apiVersion: ctx.apiVersion });
  if (method === 'DELETE' && response.status < 300) {
    engine.forgetContainer(container.id);
  } else if (verb === 'start' && response.status === 204) {
    // The hot path of `docker run -d`: no extra inspect; the engine's start event brings it.
    engine.markStarted(container.id, sentAt);
  } else {
    await engine.refreshContainer(container.id).catch(() => undefined);
  }
  ensureOk(response);
  ctx.res.writeHead(response.status, response.headers['content-type'] ? { 'Content-Type': String(response.headers['content-type']) } : {});
  ctx.res.end(response.body);
}

function forwardToContainer(cluster: Cluster, ctx: RequestContext, suffix: string, refresh = false): void {
  const { engine, container } = resolveContainer(cluster, ctx.params.name);
  forward(ctx, engine, `/containers/${container.id}/${suffix}`, {
    onDone: refresh ? () => void engine.refreshContainer(container.id).catch(() => undefined) : undefined,
  });
}

/** Exec IDs created through the manager, newest last; bounded so it cannot grow forever. */
const EXEC_OWNERS_LIMIT = 10_000;

function rememberExec(execOwners: Map<string, Engine>, id: string, engine: Engine): void {
  execOwners.set(id, engine);
  if (execOwners.size > EXEC_OWNERS_LIMIT) execOwners.delete(execOwners.keys().next().value as string);
}

export function containerRoutes(router: Router, cluster: Cluster, execOwners: Map<string, Engine>): void {
  const attachUpgrade: UpgradeHandler = (ctx) => {
    const { engine, container } = resolveContainer(cluster, ctx.params.name);
    hijack(ctx, engine, `/containers/${container.id}/attach`);
  };
  router
    .get('/containers/json', (ctx) => listContainers(cluster, ctx))
    .get('/containers/ps', (ctx) => listContainers(cluster, ctx))
    .post('/containers/create', (ctx) => create(cluster, ctx))
    .get('/containers/{name}/json', (ctx) => inspect(cluster, ctx))
    .post('/containers/{name}/attach', (ctx) => forwardToContainer(cluster, ctx, 'attach'), attachUpgrade)
    .post('/containers/{name}/exec', async (ctx) => {
      const { engine, container } = resolveContainer(cluster, ctx.params.name);
      const body = await readJson<{ Cmd?: string[] }>(ctx.req, {});
      if (!body.Cmd || body.Cmd.length === 0) throw badRequest('No exec command specified');
      const response = ensureOk(await engine.request('POST', `/containers/${container.id}/exec`, { body, apiVersion: ctx.apiVersion }));
      const created = JSON.parse(response.body.toString('utf8')) as { Id: string };
      rememberExec(execOwners, created.Id, engine);
      sendJson(ctx.res, 201, created);
    })
    .post('/containers/{name}/wait', (ctx) => forwardToContainer(cluster, ctx, 'wait', true))
    .post('/containers/{name}/resize', (ctx) => forwardToContainer(cluster, ctx, 'resize'))
    .post('/containers/{name}/copy', (ctx) => forwardToContainer(cluster, ctx, 'copy'))
    .get('/containers/{name}/logs', (ctx) => forwardToContainer(cluster, ctx, 'logs'))
    .get('/containers/{name}/stats', (ctx) => forwardToContainer(cluster, ctx, 'stats'))
    .get('/containers/{name}/top', (ctx) => forwardToContainer(cluster, ctx, 'top'))
    .get('/containers/{name}/changes', (ctx) => forwardToContainer(cluster, ctx, 'changes'))
    .get('/containers/{name}/export', (ctx) => forwardToContainer(cluster, ctx, 'export'))
    .get('/containers/{name}/archive', (ctx) => forwardToContainer(cluster, ctx, 'archive'))
    .add('HEAD', '/containers/{name}/archive', (ctx) => forwardToContainer(cluster, ctx, 'archive'))
    .add('PUT', '/containers/{name}/archive', (ctx) => forwardToContainer(cluster, ctx, 'archive', true))
    .delete('/containers/{name}', (ctx) => action(cluster, ctx, ''));
  for (const verb of ['start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rename', 'update']) {
    router.post(`/containers/{name}/${verb}`, (ctx) => action(cluster, ctx, verb));
  }
}
