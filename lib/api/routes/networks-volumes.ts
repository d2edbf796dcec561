/**
 * /networks/* and /volumes/*: merged lists from memory; local-scope objects are shown as
 * `<node>/<name>` (classic), and `<node>/<name>` pins a create to that node.
 */
import type { Cluster } from '../../cluster/cluster';
import { ensureOk } from '../../engine/client';
import { onEngines } from '../fan-out';
import type { Engine } from '../../engine/engine';
import type { NetworkRecord, VolumeRecord } from '../../engine/records';
import { readJson } from '../body';
import { FilterArgs } from '../../docker/filter-args';
import { compileNetworkFilter, compileVolumeFilter } from '../filters/networks-volumes';
import { ApiError, badRequest, notFound, sendJson } from '../errors';
import { forward } from '../forward';
import { noteAudit } from '../audit';
import type { RequestContext, Router } from '../router';
import { LABEL_PREFIX } from '../../scheduler/build-request';
import { engineNetwork, splitNodePrefix } from '../../cluster/networks';

const WHITELISTS_LABEL = `${LABEL_PREFIX}.whitelists`;

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

/**
 * Splits `node/name` when `node` is an engine name. A prefix naming no node is refused: the
 * user meant to pin the object to a node that is not in the cluster (a typo, or a node gone).
 */
function pinnedEngine(cluster: Cluster, name: string): { engine?: Engine; name: string } {
  const split = splitNodePrefix(cluster.validatedEngines(), name);
  if (split.engine) {
    if (!split.engine.isHealthy) throw new ApiError(503, `Node ${split.engine.name} is not healthy: cannot create ${name}`);
    return split;
  }
  const slash = name.indexOf('/');
  if (slash > 0) throw notFound(`No such node: ${name.slice(0, slash)} (the name ${name} pins the object to a node; docker info lists the nodes)`);
  return split;
}

function listNetworks(cluster: Cluster, ctx: RequestContext): void {
  const filter = compileNetworkFilter(FilterArgs.parse(ctx.query.get('filters')));
  const rows = networks(cluster).filter(({ engine, item }) => filter.engineMatches(engine) && filter.test(item));
  sendJson(ctx.res, 200, rows.map(({ item, name }) => ({ ...item, Name: name })));
}

async function createNetwork(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const body = await readJson<Record<string, unknown>>(ctx.req, {});
  if (typeof body.Name !== 'string' || !body.Name) throw badRequest('network name is required');
  noteAudit(ctx.req, { object: body.Name });
  const pinned = pinnedEngine(cluster, body.Name);
  const target = pinned.engine ?? cluster.place({}).engine;
  noteAudit(ctx.req, { engine: target.name });
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

/** dockerd's volume route prefixes the JSON errors of `filters`. */
function parseVolumeFilters(raw: string | null): FilterArgs {
  try {
    return FilterArgs.parse(raw);
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.status, `error reading volume filters: ${err.message}`);
    throw err;
  }
}

function listVolumes(cluster: Cluster, ctx: RequestContext): void {
  const filter = compileVolumeFilter(parseVolumeFilters(ctx.query.get('filters')));
  const referencedOn = new Map<Engine, Set<string>>();
  const referenced = (engine: Engine): Set<string> => {
    let names = referencedOn.get(engine);
    if (!names) {
      names = new Set();
      if (filter.needsReferences) {
        for (const c of engine.containers.values()) {
          for (const m of c.mounts as Array<{ Type?: string; Name?: string }>) if (m.Type === 'volume' && m.Name) names.add(m.Name);
        }
      }
      referencedOn.set(engine, names);
    }
    return names;
  };
  const rows = volumes(cluster).filter(({ engine, item }) => filter.engineMatches(engine) && filter.test(item, referenced(engine)));
  sendJson(ctx.res, 200, { Volumes: rows.map(({ item, name }) => ({ ...item, Name: name })), Warnings: [] });
}

/** `node/name` creates on that node; a plain name on every healthy engine (classic). */
async function createVolume(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const body = await readJson<Record<string, unknown>>(ctx.req, {});
  const pinned = pinnedEngine(cluster, typeof body.Name === 'string' ? body.Name : '');
  const engines = pinned.engine ? [pinned.engine] : volumeEngines(cluster, body.Labels);
  noteAudit(ctx.req, { object: pinned.name || undefined, engines: engines.length });
  if (engines.length === 0) throw new ApiError(503, 'No healthy node available in the cluster');
  const results = await onEngines(engines, (engine) => engine.request('POST', '/volumes/create', { body: { ...body, Name: pinned.name || undefined }, apiVersion: ctx.apiVersion }), (engine) => engine.refreshList('volumes'));
  sendJson(ctx.res, 201, JSON.parse(results[0].response.body.toString('utf8')));
}

/**
 * Classic: a `com.docker.swarm.whitelists` label creates the volume on every node that passes
 * the scheduler with that whitelist; without it, on every healthy engine.
 */
function volumeEngines(cluster: Cluster, labels: unknown): Engine[] {
  const raw = labels && typeof labels === 'object' ? (labels as Record<string, unknown>)[WHITELISTS_LABEL] : undefined;
  if (raw === undefined) return cluster.healthyEngines();
  let whitelists: unknown;
  try {
    whitelists = JSON.parse(String(raw));
  } catch {
    whitelists = undefined;
  }
  if (!Array.isArray(whitelists) || !whitelists.every((w) => typeof w === 'string')) {
    throw badRequest(`${WHITELISTS_LABEL} must be a JSON array of expressions, e.g. ["node==node-1|node-2"], got ${String(raw)}`);
  }
  return cluster.place({ Labels: { [WHITELISTS_LABEL]: JSON.stringify(whitelists) } }).candidates().filter((e) => e.isHealthy);
}

async function removeVolume(cluster: Cluster, ctx: RequestContext): Promise<void> {
  const found = findVolumes(cluster, ctx.params.name);
  if (found.length === 0) throw notFound(`No such volume: ${ctx.params.name}`);
  const qs = ctx.query.toString();
  const names = new Map(found.map(({ engine, item }) => [engine, item.Name]));
  await onEngines([...names.keys()], (engine) => engine.request('DELETE', `/volumes/${encodeURIComponent(names.get(engine) ?? '')}${qs ? `?${qs}` : ''}`, { apiVersion: ctx.apiVersion }), (engine) => engine.refreshList('volumes'));
  ctx.res.writeHead(204).end();
}

/**
 * `network connect|disconnect <net> <container>`: the network is looked up on the container's
 * engine (a local network of that name may exist on several engines); `node/net` must name the
 * container's node.
 */
async function connect(cluster: Cluster, ctx: RequestContext, verb: string): Promise<void> {
  const body = await readJson<{ Container?: unknown }>(ctx.req, {});
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid JSON body: expected an object');
  if (typeof body.Container !== 'string' || !body.Container) throw badRequest('Container is not specified');
  const container = cluster.findContainer(body.Container);
  if (!container) throw notFound(`No such container: ${body.Container}`);
  const { engine } = container;
  const split = splitNodePrefix(cluster.validatedEngines(), ctx.params.id);
  if (split.engine && split.engine !== engine) {
    throw badRequest(`container ${body.Container} is on node ${engine.name}, network ${ctx.params.id} on node ${split.engine.name}: a local network can only be joined on its own node`);
  }
  const network = engineNetwork(engine, split.name);
  const global = network ? undefined : networks(cluster).find((n) => n.item.Scope !== 'local' && (n.item.Name === split.name || n.item.Id === split.name));
  const target = network?.Id ?? global?.item.Id;
  if (!target) throw notFound(`No such network: ${ctx.params.id}${split.engine ? '' : ` on node ${engine.name}`}`);
  const r = await engine.request('POST', `/networks/${target}/${verb}`, { body: { ...body, Container: container.container.id }, apiVersion: ctx.apiVersion });
  await engine.refreshContainer(container.container.id).catch(() => undefined);
  ensureOk(r);
  ctx.res.writeHead(200).end();
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
    router.post(`/networks/{id}/${verb}`, (ctx) => connect(cluster, ctx, verb));
  }
}
