/** /containers/*: list from memory, create through the scheduler, everything else to the owner engine. */
import { BodyWriter } from '../body-writer';
import type { Cluster, ContainerRef } from '../../cluster/cluster';
import type { OrderEntry } from '../../cluster/container-index';
import { createContainer } from '../../cluster/create';
import { ensureOk } from '../../engine/client';
import type { ContainerRecord } from '../../engine/records';
import type { Engine } from '../../engine/engine';
import { parseJsonBody, readBody, readJson } from '../body';
import { FilterArgs } from '../../docker/filter-args';
import { compileContainerFilter, type ReferenceContainer } from '../filters/containers';
import { ApiError, badRequest, notFound, sendJson } from '../errors';
import { forward, hijack } from '../forward';
import { statusTextUntil } from '../format';
import { noteAudit } from '../audit';
import type { RequestContext, Router, UpgradeHandler } from '../router';
import type { CreateBody } from '../../docker-types';
import { validateCreateBody } from '../create-body';

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
const HOST_DOWN = Buffer.from('"Status":"Host Down"');
const COMMA = Buffer.from(',');

interface CachedRow {
  record: ContainerRecord;
  engineName: string;
  engineIp: string;
  /** The row's UTF-8 JSON before and after the Status member. */
  head: Buffer;
  tail: Buffer;
  /** `"Status":"Up 5 minutes"`, exact until statusUntil (ms since epoch). */
  status: Buffer;
  statusUntil: number;
}

/**
 * A serialised `docker ps` row, kept on the container's entry in the cluster's order. Records
 * are replaced (never mutated) when a container changes, so a row is serialised once per
 * change, not once per request, and its Status text once per change of that text (once a second
 * for a young container, once a minute or hour after). `ps` at 30,000 containers copies bytes:
 * encoding every row to UTF-8 and parsing every start time per request cost ~40 of the ~110 ms
 * a listing took, and finding rows in a WeakMap another ~10.
 */
function cachedRow(entry: OrderEntry): CachedRow {
  const { engine, record: c } = entry;
  const cached = entry.rendered as CachedRow | undefined;
  if (cached && cached.record === c && cached.engineName === engine.name && cached.engineIp === engine.ip) return cached;
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
  const row: CachedRow = {
    record: c,
    engineName: engine.name,
    engineIp: engine.ip,
    head: Buffer.from(json.slice(0, at)),
    tail: Buffer.from(json.slice(at + STATUS_SLOT.length)),
    status: HOST_DOWN,
    statusUntil: -Infinity,
  };
  entry.rendered = row;
  return row;
}

/** One `docker ps` row (engine list format, names prefixed with the node). */
function writePsRow(out: BodyWriter, entry: OrderEntry, now: number): void {
  const { engine, record: c } = entry;
  const row = cachedRow(entry);
  out.appendBytes(row.head);
  if (!engine.isHealthy) out.appendBytes(HOST_DOWN);
  else {
    if (now >= row.statusUntil) {
      const { text, until } = statusTextUntil(c.state, now);
      row.status = Buffer.from(`"Status":${JSON.stringify(text)}`);
      row.statusUntil = until;
    }
    out.appendBytes(row.status);
  }
  out.appendBytes(row.tail);
}

/**
 * A `before` / `since` container: full ID, or a name (`web`, `/web`, `node-1/web`) that is
 * unique in the cluster. dockerd takes no ID prefixes here either.
 */
function referenceContainer(cluster: Cluster, ref: string): ReferenceContainer | undefined {
  const engines = cluster.validatedEngines();
  for (const engine of engines) {
    const c = engine.containers.get(ref);
    if (c) return c;
  }
  const name = ref.replace(/^\//, '');
  const slash = name.indexOf('/');
  if (slash > 0) {
    const engine = engines.find((e) => e.name === name.slice(0, slash));
    const c = engine?.containers.byName(name.slice(slash + 1));
    if (c) return c;
  }
  const found = engines.map((e) => e.containers.byName(name)).filter((c) => c !== undefined);
  return found.length === 1 ? found[0] : undefined;
}

/** Rows per step of the shared body driver (see BodyWriter.produce): about a millisecond of work. */
const PS_BATCH_ROWS = 1000;

/**
 * `docker ps`: walks the cluster's ready order (newest first, see ContainerIndex) and writes
 * the rows in batches. Between batches it waits for the client to drain, or at least yields to
 * the event loop, so a listing of 150,000 containers (125 MB) never holds the loop for more than
 * a batch: `/_ping` and every other request are served in between.
 */
async function listContainers(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const all = q.get('all') === '1' || q.get('all') === 'true';
  const limit = Number(q.get('limit') ?? '-1');
  const filter = compileContainerFilter(FilterArgs.parse(q.get('filters')), (ref) => referenceContainer(cluster, ref));
  const showAll = all || limit > 0 || q.has('before') || q.has('since') || filter.showAll;
  // Per engine, at its first row: whether it is listed at all, and its precompiled container
  // test (null: not a validated engine of the cluster, or left out by the node filter). Lazily,
  // so a listing of a few IDs costs nothing per engine of a 5,000-engine cluster.
  const tests = new Map<Engine, ((c: ContainerRecord) => boolean) | null>();
  const testFor = (engine: Engine): ((c: ContainerRecord) => boolean) | null => {
    let test = tests.get(engine);
    if (test === undefined) {
      const listed = engine.isValidated && cluster.engines.get(engine.addr) === engine && filter.engineMatches(engine);
      test = listed ? filter.forEngine(engine) : null;
      tests.set(engine, test);
    }
    return test;
  };
  const { entries, length } = filter.onlyIds ? cluster.containerIndex.snapshotOf(filter.onlyIds) : cluster.containerIndex.snapshot();
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const out = new BodyWriter(res);
  out.append('[');
  let written = 0;
  let index = length - 1;
  // One batch per step; the shared driver interleaves the batches of every open listing.
  await out.produce(() => {
    const now = Date.now();
    const stop = written + PS_BATCH_ROWS;
    // Also bounded by entries looked at: a filter that matches little must not scan 150,000 in one step.
    const scanEnd = index - PS_BATCH_ROWS * 10;
    for (; index >= 0 && index > scanEnd && written < stop && (limit <= 0 || written < limit); index--) {
      const entry = entries[index];
      if (!entry.live) continue;
      const test = testFor(entry.engine);
      if (!test) continue;
      const c = entry.record;
      if (!showAll && (!c.state.running || !entry.engine.isHealthy)) continue;
      if (!test(c)) continue;
      if (written > 0) out.appendBytes(COMMA);
      writePsRow(out, entry, now);
      written++;
    }
    if (index >= 0 && (limit <= 0 || written < limit)) return false;
    out.append(']');
    return true;
  });
}

async function create(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const body = await readJson<CreateBody>(ctx.req, {});
  validateCreateBody(body);
  if (!body.Image) throw badRequest('Config cannot be empty in order to create a container');
  const name = ctx.query.get('name') ?? undefined;
  const result = await createContainer(cluster, body, name || undefined, ctx.req.headers, ctx.apiVersion, {
    onExpressions: (expressions) => noteAudit(ctx.req, { expressions }),
    onEngine: (engine) => noteAudit(ctx.req, { engine: engine.name }),
  });
  if (!name) noteAudit(ctx.req, { object: result.id.slice(0, 12) });
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
  noteAudit(ctx.req, { engine: engine.name, object: container.name });
  const raw = await readBody(ctx.req);
  const query = ctx.query.toString();
  const path = `/containers/${container.id}${verb ? `/${verb}` : ''}${query ? `?${query}` : ''}`;
  const method = ctx.req.method ?? 'POST';
  if (verb === 'rename') {
    const newName = (ctx.query.get('name') ?? '').replace(/^\//, '');
    if (!newName) throw badRequest('name is required');
    cluster.assertNameFree(newName);
  }
  const body = parseJsonBody<unknown>(raw, undefined);
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
  noteAudit(ctx.req, { object: container.name });
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
    noteAudit(ctx.req, { object: container.name });
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
