/**
 * What create does when the chosen engine lacks the image (classic §3.7 steps 5-6):
 * 1. pull it on that engine (with the client's X-Registry-Auth) and retry there;
 * 2. if the pull fails but some engine holds the image (e.g. it was built there):
 *    - when the container is pinned to this engine (a hard `node==` constraint, or a local
 *      network that only this engine holds), copy the image from a holder (save -> load,
 *      streamed engine to engine) and retry here [classic gave up: the retry below would put the
 *      container where its network is missing];
 *    - otherwise retry once through the scheduler with a temporary hard `image==<image>`
 *      affinity, which is not saved on the container.
 * Image lists are refreshed first, so an image built or loaded a moment ago counts.
 */
import type { IncomingMessage } from 'node:http';
import type { Cluster } from './cluster';
import type { Engine } from '../engine/engine';
import type { CreateBody } from '../docker-types';
import type { PlacementRequest } from '../scheduler/request';
import { imageKeys } from '../scheduler/node-index';
import { parseMessage } from '../engine/client';
import { log } from '../log';

export interface MissingImageOptions {
  /** The create body and name, to place again with the image affinity. */
  spec: CreateBody;
  name?: string;
  exclude?: ReadonlySet<Engine>;
  /** Engines the container's local networks allow (undefined: not pinned by a network). */
  pinnedTo?: Engine[];
  /** A hard `node==` constraint pins the container. */
  nodePinned: boolean;
  auth?: string | string[];
}

/** The engine to retry the create on, or undefined when the image cannot be had anywhere. */
export async function whereImageIs(cluster: Cluster, engine: Engine, request: PlacementRequest, options: MissingImageOptions): Promise<Engine | undefined> {
  if (await pull(engine, request.image, options.auth)) return engine;
  await Promise.all(cluster.healthyEngines().map((e) => e.refreshList('images').catch(() => undefined)));
  const holders = cluster.nodes().filter((n) => n.healthIndicator > 0 && imageKeys(n.images).has(request.image));
  if (holders.length === 0) return undefined;
  const pinnedHere = options.nodePinned || (options.pinnedTo !== undefined && options.pinnedTo.includes(engine));
  if (pinnedHere) {
    const holder = holders.map((n) => cluster.engines.get(n.addr)).find((e): e is Engine => e !== undefined && e !== engine);
    if (holder && await copyImage(holder, engine, request.image)) return engine;
    return undefined;
  }
  try {
    return cluster.place(options.spec, { name: options.name, exclude: options.exclude, affinities: [`image==${request.image}`] }).engine;
  } catch {
    return undefined;
  }
}

/** Docker's pull parameters for a reference: `repo` + `tag`, or `repo@digest` whole. */
function pullQuery(image: string): string {
  if (image.includes('@')) return `fromImage=${encodeURIComponent(image)}`;
  const colon = image.lastIndexOf(':');
  const tagged = colon > image.lastIndexOf('/');
  return `fromImage=${encodeURIComponent(tagged ? image.slice(0, colon) : image)}&tag=${encodeURIComponent(tagged ? image.slice(colon + 1) : 'latest')}`;
}

async function pull(engine: Engine, image: string, auth: string | string[] | undefined): Promise<boolean> {
  try {
    const response = await engine.stream('POST', `/images/create?${pullQuery(image)}`, { headers: auth ? { 'X-Registry-Auth': auth } : {} });
    const text = await readAll(response);
    const failed = response.statusCode !== 200 || /"error"\s*:/.test(text);
    if (failed) log.debug('Pull before create failed', { node: engine.name, image, error: parseMessage(text.trim().split('\n').pop() ?? '') });
    else await engine.refreshList('images').catch(() => undefined);
    return !failed;
  } catch {
    return false;
  }
}

/** `docker save` on one engine piped into `docker load` on another; nothing is buffered. */
async function copyImage(from: Engine, to: Engine, image: string): Promise<boolean> {
  try {
    const saved = await from.stream('GET', `/images/get?names=${encodeURIComponent(image)}`);
    if (saved.statusCode !== 200) {
      saved.resume();
      return false;
    }
    const loaded = await to.stream('POST', '/images/load?quiet=1', { body: saved, headers: { 'Content-Type': 'application/x-tar' } });
    const text = await readAll(loaded);
    if (loaded.statusCode !== 200 || /"error"\s*:/.test(text)) return false;
    await to.refreshList('images').catch(() => undefined);
    log.info('Copied image to the engine the container is pinned to', { image, from: from.name, to: to.name });
    return true;
  } catch {
    return false;
  }
}

/** The whole (small: progress messages) body of a stream. */
async function readAll(stream: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
