/**
 * /images/*: the merged image list from memory; reads forwarded to an engine holding the image;
 * pull/import/load broadcast to every healthy engine (bounded parallelism, merged progress); tag and rmi applied on every holder.
 */
import type { Cluster } from '../../cluster/cluster';
import type { JsonResponse } from '../../engine/client';
import { onEngines, type EngineResult } from '../fan-out';
import type { Engine } from '../../engine/engine';
import type { ImageRecord } from '../../engine/records';
import { broadcast } from '../broadcast';
import { FilterArgs } from '../../docker/filter-args';
import { lookupImage } from '../../docker/reference';
import { compileImageFilter } from '../filters/images';
import { ApiError, badRequest, notFound, sendJson } from '../errors';
import { forward } from '../forward';
import type { RequestContext, Router } from '../router';

/** Engines holding `ref`, found as dockerd finds an image (lib/docker/reference.ts). */
function holders(cluster: Cluster, ref: string): Engine[] {
  return cluster.healthyEngines().filter((e) => 'image' in lookupImage(e.images, ref));
}

/** The first healthy engine holding `ref`; else dockerd's own answer (404 No such image, 400 bad reference). */
function firstHolder(cluster: Cluster, ref: string): Engine {
  let refusal: { error: string; status: number } | undefined;
  for (const engine of cluster.healthyEngines()) {
    const found = lookupImage(engine.images, ref);
    if ('image' in found) return engine;
    refusal ??= found;
  }
  throw new ApiError(refusal?.status ?? 404, refusal?.error ?? `No such image: ${ref}`);
}

/**
 * The merged `docker images`: each engine's listing as dockerd would give it (see
 * filters/images.ts), merged by image ID. A `before`/`since` reference resolves per engine;
 * engines where it does not resolve add nothing, and if it resolves nowhere the request gets
 * the (first) engine's error, as one dockerd would answer.
 */
function listImages(cluster: Cluster, ctx: RequestContext): void {
  const filter = compileImageFilter(FilterArgs.parse(ctx.query.get('filters')));
  const all = ctx.query.get('all') === '1' || ctx.query.get('all') === 'true';
  const merged = new Map<string, ImageRecord>();
  let lookupError: unknown;
  let answered = false;
  for (const engine of cluster.healthyEngines()) {
    if (!filter.engineMatches(engine)) continue;
    let listed: ImageRecord[];
    try {
      listed = filter.list(engine.images, all);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        lookupError ??= err;
        continue;
      }
      throw err;
    }
    answered = true;
    for (const image of listed) {
      const existing = merged.get(image.Id);
      if (existing) {
        existing.RepoTags = [...new Set([...(existing.RepoTags ?? []), ...(image.RepoTags ?? [])])];
        existing.RepoDigests = [...new Set([...(existing.RepoDigests ?? []), ...(image.RepoDigests ?? [])])];
      } else {
        const { createdOrder: _created, ...row } = image;
        merged.set(image.Id, { ...row, RepoTags: [...(image.RepoTags ?? [])], RepoDigests: [...(image.RepoDigests ?? [])] });
      }
    }
  }
  if (!answered && lookupError) throw lookupError;
  sendJson(ctx.res, 200, [...merged.values()].sort((a, b) => b.Created - a.Created));
}

/** Runs one call on every healthy engine holding the image, then refreshes their images. */
function onHolders(cluster: Cluster, ref: string, call: (engine: Engine) => Promise<JsonResponse>): Promise<EngineResult[]> {
  const targets = holders(cluster, ref);
  if (targets.length === 0) throw notFound(`No such image: ${ref}`);
  return onEngines(targets, call, (engine) => engine.refreshList('images'));
}

function requireHealthy(cluster: Cluster): Engine[] {
  const engines = cluster.healthyEngines();
  if (engines.length === 0) throw new ApiError(503, 'No healthy node available in the cluster');
  return engines;
}

export function imageRoutes(router: Router, cluster: Cluster, broadcastParallelism: number): void {
  const refreshAll = (engines: Engine[]) => () => Promise.all(engines.map((e) => e.refreshList('images').catch(() => undefined)));
  router
    .get('/images/json', (ctx) => listImages(cluster, ctx))
    .post('/images/create', (ctx) => {
      const engines = requireHealthy(cluster);
      const fromSrc = ctx.query.get('fromSrc');
      if (!ctx.query.get('fromImage') && !fromSrc) throw badRequest('fromImage or fromSrc is required');
      broadcast(ctx, engines, '/images/create', { operation: fromSrc ? 'import' : 'pull', withBody: fromSrc === '-', parallelism: broadcastParallelism, onDone: refreshAll(engines) });
    })
    .post('/images/load', (ctx) => {
      const engines = requireHealthy(cluster);
      broadcast(ctx, engines, '/images/load', { operation: 'load', withBody: true, parallelism: broadcastParallelism, onDone: refreshAll(engines) });
    })
    .get('/images/search', (ctx) => forward(ctx, requireHealthy(cluster)[0], '/images/search'))
    .get('/images/get', (ctx) => {
      const names = ctx.query.getAll('names');
      const engine = cluster.healthyEngines().find((e) => names.every((n) => 'image' in lookupImage(e.images, n)));
      if (!engine) throw notFound(`Unable to find a healthy engine containing all images: [${names.join(' ')}]`);
      forward(ctx, engine, '/images/get');
    })
    .get('/images/{name}/json', (ctx) => forward(ctx, firstHolder(cluster, ctx.params.name), `/images/${ctx.params.name}/json`))
    .get('/images/{name}/history', (ctx) => forward(ctx, firstHolder(cluster, ctx.params.name), `/images/${ctx.params.name}/history`))
    .get('/images/{name}/get', (ctx) => forward(ctx, firstHolder(cluster, ctx.params.name), `/images/${ctx.params.name}/get`))
    .post('/images/{name}/push', (ctx) => forward(ctx, firstHolder(cluster, ctx.params.name), `/images/${ctx.params.name}/push`))
    .post('/images/{name}/tag', async (ctx) => {
      const qs = ctx.query.toString();
      await onHolders(cluster, ctx.params.name, (engine) => engine.request('POST', `/images/${encodeURIComponent(ctx.params.name)}/tag?${qs}`, { apiVersion: ctx.apiVersion }));
      ctx.res.writeHead(201).end();
    })
    .delete('/images/{name}', async (ctx) => {
      const qs = ctx.query.toString();
      const results = await onHolders(cluster, ctx.params.name, (engine) => engine.request('DELETE', `/images/${encodeURIComponent(ctx.params.name)}${qs ? `?${qs}` : ''}`, { apiVersion: ctx.apiVersion }));
      const merged = results.flatMap((r) => JSON.parse(r.response.body.toString('utf8') || '[]') as unknown[]);
      sendJson(ctx.res, 200, merged);
    });
}
