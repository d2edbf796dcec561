/**
 * /networks/* and /volumes/*: merged lists from memory; local-scope objects are shown as
 * `<node>/<name>` (classic), and `<node>/<name>` pins a create to that node.
 */
import type { Cluster } from '../../cluster/cluster';
import { ensureOk } from '../../engine/client';
import { onEngines } from '../fan-out';
import type { Engine } from '../../engine/engine';
import type { NetworkRecord, VolumeRecord } from '../../engine/records';
import { readJson, parseFilters } from '../body';
import { ApiError, badRequest, notFound, sendJson } from '../errors';
import { forward } from '../forward';
import type { RequestContext, Router } from '../router';

interface Located<T> {
  engine: Engine;
  item: T;
  /** Name as the cluster shows it (`node/name` for local scope). */
  name: string;
}

function networks(cluster: Cluster): Located<NetworkRecord>[] {
  const seen = new Set<string>();
  const out: Located<NetworkRecord>[] = [];
  for (const engine of cluster.healthyEngines()) {
    for (const n of engine.networks.values()) {
      const local = n.Scope === 'local';
      if (!local && seen.has(n.Id)) continue;
      seen.add(n.Id);
      out.push({ engine, item: n, name: local ? `${engine.name}/${n.Name}` : n.Name });
    }
  }
  return out;
}

function volumes(cluster: Cluster): Located<VolumeRecord>[] {
  const out: Located<VolumeRecord>[] = [];
  for (const engine of cluster.healthyEngines()) {
    for (const v of engine.volumes.values()) out.push({ engine, item: v, name: v.Driver === 'local' ? `${engine.name}/${v.Name}` : v.Name });
  }
  return out;
}

/** By ID, `node/name`, unique bare name, then unique ID prefix. */
function findNetwork(cluster: Cluster, ref: string): Located<NetworkRecord> {
  const all = networks(cluster);
  const exact = all.filter((n) => n.item.Id === ref || n.name === ref || `${n.engine.id}/${n.item.Name}` === ref);
  if (exact.length === 1) return exact[0];
  const byName = all.filter((n) => n.item.Name === ref);
  if (byName.length === 1) return byName[0];
  const byPrefix = all.filter((n) => n.item.Id.startsWith(ref));
  if (byName.length === 0 && byPrefix.length === 1) return byPrefix[0];
  if (byName.length > 1) throw notFound(`network ${ref} is ambiguous (${byName.length} matches): use <node>/${ref}`);
  throw notFound(`No such network: ${ref}`);
}

function findVolumes(cluster: Cluster, ref: string): Located<VolumeRecord>[] {
  return volumes(cluster).filter((v) => v.name === ref || v.item.Name === ref || `${v.engine.id}/${v.item.Name}` === ref);
}

/** Splits `node/name` when `node` is an engine name. */
function pinnedEngine(cluster: Cluster, name: string): { engine?: Engine; name: string } {
  const slash = name.indexOf('/');
  if (slash > 0) {
    const engine = cluster.engineByName(name.slice(0, slash));
    if (engine) return { engine, name: name.slice(slash + 1) };
  }
  return { name };
}

function labelFilter(labels: Record<string, string> | null | undefined, wanted: string[]): boolean {
  return wanted.every((l) => {
    const eq = l.indexOf('=');
    return eq < 0 ? l in (labels ?? {}) : (labels ?? {})[l.slice(0, eq)] === l.slice(eq + 1);
  });
}

function listNetworks(cluster: Cluster, ctx: RequestContext): void {
  const f = parseFilters(ctx.query.get('filters'));
  const rows = networks(cluster).filter(({ engine, item, name }) =>
    (!f.node || f.node.includes(engine.name)) &&
    (!f.driver || f.driver.includes(item.Driver)) &&
    (!f.id || f.id.some((id) => item.Id.startsWith(id))) &&
    (!f.name || f.name.some((n) => name.includes(n) || item.Name.includes(n))) &&
    (!f.scope || f.scope.includes(item.Scope)) &&
    (!f.label || labelFilter(item.Labels, f.label)) &&
    (!f.type || f.type.some((t) => {
      if (t !== 'custom' && t !== 'builtin') throw badRequest(`Invalid filter: 'type'='${t}'`);
      return (t === 'builtin') === ['bridge', 'host', 'none'].includes(item.Name);
    })));
  sendJson(ctx.res, 200, rows.map(({ item, name }) => ({ ...item, Name: name })));
}

async function createNetwork(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const body = await readJson<Record<string, unknown>>(ctx.req, {});
  if (typeof body.Name !== 'string' || !body.Name) throw badRequest('network name is required');
  const pinned = pinnedEngine(cluster, body.Name);
  const target = pinned.engine ?? cluster.place({}).engines[0];
  const response = ensureOk(await target.request('POST', '/networks/create', { body: { ...body, Name: pinned.name }, apiVersion: ctx.apiVersion }));
  await target.refreshList('networks').catch(() => undefined);
  sendJson(ctx.res, 201, JSON.parse(response.body.toString('utf8')));
}

async function removeNetwork(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const { engine, item } = findNetwork(cluster, ctx.params.id);
  ensureOk(await engine.request('DELETE', `/networks/${item.Id}`, { apiVersion: ctx.apiVersion }));
  await engine.refreshList('networks').catch(() => undefined);
  ctx.res.writeHead(204).end();
}

function listVolumes(cluster: Cluster, ctx: RequestContext): void {
  const f = parseFilters(ctx.query.get('filters'));
  const rows = volumes(cluster).filter(({ engine, item, name }) =>
    (!f.node || f.node.includes(engine.name)) &&
    (!f.name || f.name.some((n) => name.includes(n))) &&
    (!f.driver || f.driver.includes(item.Driver)) &&
    (!f.label || labelFilter(item.Labels, f.label)));
  sendJson(ctx.res, 200, { Volumes: rows.map(({ item, name }) => ({ ...item, Name: name })), Warnings: [] });
}

/** `node/name` creates on that node; a plain name on every healthy engine (classic). */
async function createVolume(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const body = await readJson<Record<string, unknown>>(ctx.req, {});
  const pinned = pinnedEngine(cluster, typeof body.Name === 'string' ? body.Name : '');
  const engines = pinned.engine ? [pinned.engine] : cluster.healthyEngines();
  if (engines.length === 0) throw new ApiError(503, 'No healthy node available in the cluster');
  const results = await onEngines(engines, (engine) => engine.client.request('POST', '/volumes/create', { body: { ...body, Name: pinned.name || undefined }, apiVersion: ctx.apiVersion }), (engine) => engine.refreshList('volumes'));
  sendJson(ctx.res, 201, JSON.parse(results[0].response.body.toString('utf8')));
}

async function removeVolume(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const found = findVolumes(cluster, ctx.params.name);
  if (found.length === 0) throw notFound(`No such volume: ${ctx.params.name}`);
  const qs = ctx.query.toString();
  const names = new Map(found.map(({ engine, item }) => [engine, item.Name]));
  await onEngines([...names.keys()], (engine) => engine.client.request('DELETE', `/volumes/${encodeURIComponent(names.get(engine) ?? '')}${qs ? `?${qs}` : ''}`, { apiVersion: ctx.apiVersion }), (engine) => engine.refreshList('volumes'));
  ctx.res.writeHead(204).end();
}

export function networkVolumeRoutes(router: Router, cluster: Cluster): void {
  router
    .get('/networks', (ctx) => listNetworks(cluster, ctx))
    .post('/networks/create', (ctx) => createNetwork(cluster, ctx))
    .get('/networks/{id}', (ctx) => {
      const { engine, item } = findNetwork(cluster, ctx.params.id);
      forward(ctx, engine, `/networks/${item.Id}`);
    })
    .delete('/networks/{id}', (ctx) => removeNetwork(cluster, ctx))
    .get('/volumes', (ctx) => listVolumes(cluster, ctx))
    .post('/volumes/create', (ctx) => createVolume(cluster, ctx))
    .get('/volumes/{name}', (ctx) => {
      const found = findVolumes(cluster, ctx.params.name);
      if (found.length === 0) throw notFound(`No such volume: ${ctx.params.name}`);
      forward(ctx, found[0].engine, `/volumes/${encodeURIComponent(found[0].item.Name)}`);
    })
    .delete('/volumes/{name}', (ctx) => removeVolume(cluster, ctx));
  for (const verb of ['connect', 'disconnect']) {
    router.post(`/networks/{id}/${verb}`, async (ctx) => {
      const { engine, item } = findNetwork(cluster, ctx.params.id);
      const body = await readJson<{ Container?: string }>(ctx.req, {});
      if (!body.Container) throw notFound('Container is not specified');
      const container = cluster.findContainer(body.Container);
      if (!container || container.engine !== engine) throw notFound(`No such container: ${body.Container}`);
      const r = await engine.request('POST', `/networks/${item.Id}/${verb}`, { body: { ...body, Container: container.container.id }, apiVersion: ctx.apiVersion });
      await engine.refreshContainer(container.container.id).catch(() => undefined);
      ensureOk(r);
      ctx.res.writeHead(200).end();
    });
  }
}
