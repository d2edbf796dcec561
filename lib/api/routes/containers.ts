/** /containers/*: list from memory, create through the scheduler, everything else to the owner engine. */
import { BodyWriter } from '../body-writer';
import type { Cluster, ContainerRef } from '../../cluster/cluster';
import type { OrderSnapshot } from '../../cluster/container-index';
import { createContainer } from '../../cluster/create';
import { ensureOk } from '../../engine/client';
import type { ContainerRecord } from '../../engine/records';
import type { Engine } from '../../engine/engine';
import { parseJsonBody, readBody, readJson } from '../body';
import { FilterArgs } from '../../docker/filter-args';
import { compileContainerFilter, type ContainerFilter, type ReferenceContainer } from '../filters/containers';
import { ApiError, badRequest, notFound, sendJson } from '../errors';
import { forward, hijack } from '../forward';
import { BLOCK_ROWS, PsBlocks, publicIp, writePsRow } from '../ps-rows';
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
/** In that budget, a ready block counts as this many rows (a check per row, one write), a rebuilt one as all of its rows. */
const READY_BLOCK_COST = 32;
const COMMA = Buffer.from(',');

/** The unfiltered listings, kept as ready blocks (see PsBlocks). */
interface Listings {
  all: PsBlocks;
  running: PsBlocks;
}

/** Whether an engine's containers are listed: validated, and still the cluster's engine at its address. */
function listedEngine(cluster: Cluster, engine: Engine): boolean {
  return engine.isValidated && cluster.engines.get(engine.addr) === engine;
}

/**
 * `docker ps`: walks the cluster's ready order (newest first, see ContainerIndex) and writes
 * the rows in batches: ready blocks of rows when nothing is filtered (see PsBlocks), else row by
 * row. Between batches it waits for the client to drain, or at least yields to
 * the event loop, so a listing of 150,000 containers (125 MB) never holds the loop for more than
 * a batch: `/_ping` and every other request are served in between.
 */
async function listContainers(cluster: Cluster, listings: Listings, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const all = q.get('all') === '1' || q.get('all') === 'true';
  const limit = Number(q.get('limit') ?? '-1');
  const args = FilterArgs.parse(q.get('filters'));
  const filter = compileContainerFilter(args, (ref) => referenceContainer(cluster, ref));
  const showAll = all || limit > 0 || q.has('before') || q.has('since') || filter.showAll;
  const unfiltered = args.size === 0 && limit <= 0 && !q.has('before') && !q.has('since');
  const snapshot = filter.onlyIds ? cluster.containerIndex.snapshotOf(filter.onlyIds) : cluster.containerIndex.snapshot();
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const out = new BodyWriter(res);
  out.append('[');
  // One batch per step; the shared driver interleaves the batches of every open listing.
  await out.produce(unfiltered ? blockSteps(out, snapshot, showAll ? listings.all : listings.running) : rowSteps(cluster, out, snapshot, filter, showAll, limit));
}

/** The unfiltered listing: ready blocks, newest first. */
function blockSteps(out: BodyWriter, snapshot: OrderSnapshot, blocks: PsBlocks): () => boolean {
  let b = PsBlocks.count(snapshot) - 1;
  let wroteRow = false;
  return () => {
    const now = Date.now();
    // Until the client's connection is full: a ready block is ~200 KB handed over without copying.
    for (let cost = 0; b >= 0 && cost < PS_BATCH_ROWS && !out.congested; b--) {
      const written = blocks.writeBlock(out, snapshot, b, now, wroteRow);
      wroteRow = written.wroteRow;
      cost += written.reused ? READY_BLOCK_COST : BLOCK_ROWS;
    }
    if (b >= 0) return false;
    out.append(']');
    return true;
  };
}

/** A filtered or limited listing: row by row, each tested. */
function rowSteps(cluster: Cluster, out: BodyWriter, snapshot: OrderSnapshot, filter: ContainerFilter, showAll: boolean, limit: number): () => boolean {
  // Per engine, at its first row: whether it is listed at all, and its precompiled container
  // test (null: not a validated engine of the cluster, or left out by the node filter). Lazily,
  // so a listing of a few IDs costs nothing per engine of a 5,000-engine cluster.
  const tests = new Map<Engine, ((c: ContainerRecord) => boolean) | null>();
  const testFor = (engine: Engine): ((c: ContainerRecord) => boolean) | null => {
    let test = tests.get(engine);
    if (test === undefined) {
      test = listedEngine(cluster, engine) && filter.engineMatches(engine) ? filter.forEngine(engine) : null;
      tests.set(engine, test);
    }
    return test;
  };
  const { entries, length } = snapshot;
  let written = 0;
  let index = length - 1;
  return () => {
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
  };
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
  const listed = (engine: Engine): boolean => listedEngine(cluster, engine);
  const listings: Listings = { all: new PsBlocks(true, listed), running: new PsBlocks(false, listed) };
  router
    .get('/containers/json', (ctx) => listContainers(cluster, listings, ctx))
    .get('/containers/ps', (ctx) => listContainers(cluster, listings, ctx))
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
