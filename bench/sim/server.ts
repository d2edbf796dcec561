/**
 * The Docker Remote API over HTTP for simulated engines, on node's `http` module. One request
 * handler serves any number of engines: the caller maps each request to its engine (host.ts
 * does it by local port). Paths may carry a `/vX.Y` prefix, checked against 1.12..1.41 like
 * dockerd; errors are dockerd's JSON `{"message": ...}`; every call can be delayed by a fixed
 * latency to stand in for a real engine's work.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { SimError, multiplexFrame, normalizeImageRef, parseFilters, parseSignal } from './docker-format';
import { SIM_API_VERSION, SIM_MIN_API_VERSION, SIM_SERVER_VERSION, SimEngine, type WaitCondition } from './engine';
import { parseEventTime, type SimEvent } from './events';
import { TarMetadataReader } from './tar-manifest';
import { attributeTo, type EngineTimeLedger } from './engine-time';

export interface SimServerOptions {
  /** Added before every API call is answered (streams: before the first byte). */
  latencyMs?: number;
  /** Records how long each container's create and start were held (see engine-time.ts). */
  engineTime?: EngineTimeLedger;
}

type Json = Record<string, unknown>;
type Params = URLSearchParams;
type Handler = (engine: SimEngine, req: http.IncomingMessage, res: http.ServerResponse, match: string[], query: Params) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const JSON_BODY_LIMIT = 10 * 1024 * 1024;

function commonHeaders(res: http.ServerResponse): void {
  res.setHeader('Api-Version', SIM_API_VERSION);
  res.setHeader('Docker-Experimental', 'false');
  res.setHeader('Ostype', 'linux');
  res.setHeader('Server', `Docker/${SIM_SERVER_VERSION} (linux)`);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendEmpty(res: http.ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

function sendError(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { message });
}

/** Starts a streamed JSON response (pull, load, import) and returns a line writer. */
function startJsonStream(res: http.ServerResponse): (obj: Json) => void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  return (obj) => res.write(JSON.stringify(obj) + '\n');
}

async function readJson(req: http.IncomingMessage): Promise<Json> {
  const type = req.headers['content-type'];
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > JSON_BODY_LIMIT) throw new SimError(413, 'request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  if (type && !type.startsWith('application/json')) {
    throw new SimError(400, `Content-Type specified (${type}) must be 'application/json'`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Json;
  } catch (err) {
    throw new SimError(400, `invalid JSON: ${(err as Error).message}`);
  }
}

function flag(query: Params, name: string): boolean {
  const v = query.get(name);
  return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

// ------------------------------------------------------------------ handlers

const ping: Handler = (_engine, req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Content-Length': req.method === 'HEAD' ? 0 : 2 });
  res.end(req.method === 'HEAD' ? undefined : 'OK');
};

const events: Handler = (engine, req, res, _m, query) => {
  const filter = parseFilters(query.get('filters'));
  const sinceRaw = query.get('since');
  const untilRaw = query.get('until');
  const since = sinceRaw ? parseEventTime(sinceRaw) : undefined;
  const until = untilRaw ? parseEventTime(untilRaw) : undefined;
  if ((sinceRaw && since === undefined) || (untilRaw && until === undefined)) {
    throw new SimError(400, `failed to parse value: ${sinceRaw ?? untilRaw}`);
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  if (since !== undefined) for (const e of engine.events.replay(since, until, filter)) res.write(e.line);
  const nowNano = BigInt(Date.now()) * 1_000_000n;
  if (until !== undefined && until <= nowNano) {
    res.end();
    return;
  }
  const unsubscribe = engine.events.subscribe({ filter, send: (e: SimEvent) => res.write(e.line) });
  let timer: NodeJS.Timeout | undefined;
  if (until !== undefined) timer = setTimeout(() => res.end(), Number((until - nowNano) / 1_000_000n));
  const stop = (): void => {
    unsubscribe();
    if (timer) clearTimeout(timer);
  };
  res.on('close', stop);
  req.on('close', stop);
};

const createContainer: Handler = async (engine, req, res, _m, query) => {
  const body = await readJson(req);
  const created = engine.createContainer(body, query.get('name'));
  attributeTo(res, created.Id);
  sendJson(res, 201, created);
};

const listContainers: Handler = (engine, _req, res, _m, query) => {
  const limit = Number(query.get('limit') ?? '-1');
  sendJson(res, 200, engine.listContainers(flag(query, 'all'), parseFilters(query.get('filters')), Number.isFinite(limit) ? limit : -1));
};

const inspectContainer: Handler = (engine, _req, res, m) => sendJson(res, 200, engine.inspectContainer(m[1]));

const startContainer: Handler = async (engine, req, res, m) => {
  req.resume(); // a legacy HostConfig body is accepted and ignored, as by dockerd >= 1.24
  const started = engine.startContainer(m[1]);
  attributeTo(res, engine.getContainer(m[1]).id);
  sendEmpty(res, started ? 204 : 304);
};

const stopContainer: Handler = (engine, _req, res, m) => sendEmpty(res, engine.stopContainer(m[1]) ? 204 : 304);

const killContainer: Handler = (engine, _req, res, m, query) => {
  const raw = query.get('signal') || 'KILL';
  const signal = parseSignal(raw);
  if (signal === undefined) throw new SimError(400, `Invalid signal: ${raw}`);
  engine.killContainer(m[1], signal);
  sendEmpty(res, 204);
};

const restartContainer: Handler = (engine, _req, res, m) => {
  engine.restartContainer(m[1]);
  sendEmpty(res, 204);
};

const pauseContainer: Handler = (engine, _req, res, m) => {
  engine.pauseContainer(m[1], m[2] === 'pause');
  sendEmpty(res, 204);
};

const waitContainer: Handler = async (engine, _req, res, m, query) => {
  const condition = (query.get('condition') || 'not-running') as WaitCondition;
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new SimError(400, `invalid condition: "${condition}"`);
  const exit = engine.waitContainer(m[1], condition);
  // dockerd sends the headers at once so clients know the wait is registered.
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const code = await exit;
  res.end(JSON.stringify({ Error: null, StatusCode: code }) + '\n');
};

const removeContainer: Handler = (engine, _req, res, m, query) => {
  engine.removeContainer(m[1], flag(query, 'force'));
  sendEmpty(res, 204);
};

const containerLogs: Handler = async (engine, req, res, m, query) => {
  const stdout = flag(query, 'stdout');
  if (!stdout && !flag(query, 'stderr')) throw new SimError(400, 'Bad parameters: you must choose at least one stream');
  const { container, text } = engine.containerLog(m[1]);
  let lines = stdout && text ? text.split(/(?<=\n)/) : [];
  const tail = query.get('tail');
  if (tail && tail !== 'all' && /^\d+$/.test(tail)) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail));
  if (flag(query, 'timestamps')) lines = lines.map((line) => `${container.startedAt} ${line}`);
  const tty = container.config.Tty === true;
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
  for (const line of lines) {
    const payload = Buffer.from(line);
    res.write(tty ? payload : multiplexFrame(1, payload));
  }
  if (flag(query, 'follow') && (container.state === 'running' || container.state === 'paused')) {
    await Promise.race([
      engine.waitContainer(container.id, 'next-exit'),
      new Promise((resolve) => req.on('close', resolve)),
    ]);
  }
  res.end();
};

const listImages: Handler = (engine, _req, res, _m, query) => sendJson(res, 200, engine.listImages(parseFilters(query.get('filters'))));

const inspectImage: Handler = (engine, _req, res, m) => sendJson(res, 200, engine.inspectImage(decodeURIComponent(m[1])));

/** `docker load`: streams the archive through a tar reader; only manifest.json is kept. */
const loadImages: Handler = async (engine, req, res) => {
  const reader = new TarMetadataReader();
  for await (const chunk of req as AsyncIterable<Buffer>) reader.write(chunk);
  const summary = reader.end();
  const write = startJsonStream(res);
  const manifestText = summary.files.get('manifest.json');
  if (!summary.complete || manifestText === undefined) {
    const message = summary.complete ? 'open manifest.json: no such file or directory' : 'Error processing tar file(exit status 1): unexpected EOF';
    write({ errorDetail: { message }, error: message });
    res.end();
    return;
  }
  try {
    const manifest = JSON.parse(manifestText) as Array<{ Config: string; RepoTags: string[] | null }>;
    for (const entry of manifest) {
      const hex = entry.Config.replace(/^.*\//, '').replace(/\.json$/, '');
      const id = `sha256:${hex}`;
      const tags = entry.RepoTags ?? [];
      if (tags.length === 0) {
        engine.addImage('load', undefined, summary.bytes, id);
        write({ stream: `Loaded image ID: ${id}\n` });
      }
      for (const tag of tags) {
        engine.addImage('load', normalizeImageRef(tag), summary.bytes, id);
        write({ stream: `Loaded image: ${tag}\n` });
      }
    }
  } catch (err) {
    const message = `invalid manifest.json: ${(err as Error).message}`;
    write({ errorDetail: { message }, error: message });
  }
  res.end();
};

/** `POST /images/create`: import (`fromSrc=-`, body consumed and hashed) or a simulated pull. */
const createImage: Handler = async (engine, req, res, _m, query) => {
  const fromSrc = query.get('fromSrc');
  const fromImage = query.get('fromImage');
  if (fromSrc !== null) {
    if (fromSrc !== '-') throw new SimError(500, `Get "${fromSrc}": simulated engine has no network access`);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    const repo = query.get('repo');
    const tag = repo ? normalizeImageRef(query.get('tag') ? `${repo}:${query.get('tag')}` : repo) : undefined;
    const image = engine.addImage('import', tag, size, `sha256:${hash.digest('hex')}`);
    startJsonStream(res)({ status: image.id });
    res.end();
    return;
  }
  if (!fromImage) throw new SimError(400, 'fromImage or fromSrc is required');
  req.resume();
  const tag = query.get('tag');
  const ref = normalizeImageRef(tag ? `${fromImage}:${tag}` : fromImage);
  const write = startJsonStream(res);
  const [repo, version] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  if (engine.findImage(ref)) {
    write({ status: `Status: Image is up to date for ${ref}` });
  } else {
    // The simulated registry has every image: a pull always succeeds.
    write({ status: `Pulling from ${repo.includes('/') ? repo : `library/${repo}`}`, id: version });
    const image = engine.addImage('pull', ref, 1982256);
    write({ status: `Digest: ${image.layer}` });
    write({ status: `Status: Downloaded newer image for ${ref}` });
  }
  res.end();
};

const listNetworks: Handler = (engine, _req, res, _m, query) => sendJson(res, 200, engine.listNetworks(parseFilters(query.get('filters'))));
const inspectNetwork: Handler = (engine, _req, res, m) => sendJson(res, 200, engine.inspectNetwork(m[1]));
const listVolumes: Handler = (engine, _req, res, _m, query) => sendJson(res, 200, engine.listVolumes(parseFilters(query.get('filters'))));
const inspectVolume: Handler = (engine, _req, res, m) => sendJson(res, 200, engine.inspectVolume(decodeURIComponent(m[1])));
const createVolume: Handler = async (engine, req, res) => sendJson(res, 201, engine.createVolume(await readJson(req)));
const removeVolume: Handler = (engine, _req, res, m) => {
  engine.removeVolume(decodeURIComponent(m[1]));
  sendEmpty(res, 204);
};

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/_ping$/, handler: ping },
  { method: 'HEAD', pattern: /^\/_ping$/, handler: ping },
  { method: 'GET', pattern: /^\/version$/, handler: (e, _q, res) => sendJson(res, 200, e.version()) },
  { method: 'GET', pattern: /^\/info$/, handler: (e, _q, res) => sendJson(res, 200, e.info()) },
  { method: 'GET', pattern: /^\/events$/, handler: events },
  { method: 'GET', pattern: /^\/containers\/json$/, handler: listContainers },
  { method: 'POST', pattern: /^\/containers\/create$/, handler: createContainer },
  { method: 'GET', pattern: /^\/containers\/([^/]+)\/json$/, handler: inspectContainer },
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/start$/, handler: startContainer },
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/stop$/, handler: stopContainer },
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/kill$/, handler: killContainer },
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/restart$/, handler: restartContainer },
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/(pause|unpause)$/, handler: pauseContainer },
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/wait$/, handler: waitContainer },
  { method: 'GET', pattern: /^\/containers\/([^/]+)\/logs$/, handler: containerLogs },
  { method: 'DELETE', pattern: /^\/containers\/([^/]+)$/, handler: removeContainer },
  { method: 'GET', pattern: /^\/images\/json$/, handler: listImages },
  { method: 'POST', pattern: /^\/images\/load$/, handler: loadImages },
  { method: 'POST', pattern: /^\/images\/create$/, handler: createImage },
  { method: 'GET', pattern: /^\/images\/(.+)\/json$/, handler: inspectImage },
  { method: 'GET', pattern: /^\/networks$/, handler: listNetworks },
  { method: 'GET', pattern: /^\/networks\/([^/]+)$/, handler: inspectNetwork },
  { method: 'GET', pattern: /^\/volumes$/, handler: listVolumes },
  { method: 'POST', pattern: /^\/volumes\/create$/, handler: createVolume },
  { method: 'GET', pattern: /^\/volumes\/([^/]+)$/, handler: inspectVolume },
  { method: 'DELETE', pattern: /^\/volumes\/([^/]+)$/, handler: removeVolume },
];

function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

async function dispatch(engine: SimEngine, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sim');
  let path = url.pathname;
  const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (versioned) {
    path = versioned[2];
    commonHeaders(res);
    if (compareVersions(versioned[1], SIM_API_VERSION) > 0) {
      throw new SimError(400, `client version ${versioned[1]} is too new. Maximum supported API version is ${SIM_API_VERSION}`);
    }
    if (compareVersions(versioned[1], SIM_MIN_API_VERSION) < 0) {
      throw new SimError(400, `client version ${versioned[1]} is too old. Minimum supported API version is ${SIM_MIN_API_VERSION}, please upgrade your client to a newer version`);
    }
  }
  for (const route of ROUTES) {
    if (route.method !== req.method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    commonHeaders(res);
    if (route.handler === loadImages || route.handler === createImage) countImageTransfer(res);
    await route.handler(engine, req, res, match, url.searchParams);
    return;
  }
  req.resume();
  sendJson(res, 404, { message: 'page not found' });
}

/**
 * Image transfers (load, import, pull) in progress on all engines of this process, and the most
 * seen at once: how a test checks that the manager keeps --broadcast-parallelism.
 */
export const imageTransfers = { inFlight: 0, max: 0 };

function countImageTransfer(res: http.ServerResponse): void {
  imageTransfers.inFlight++;
  imageTransfers.max = Math.max(imageTransfers.max, imageTransfers.inFlight);
  res.once('close', () => imageTransfers.inFlight--);
}

/**
 * Builds the request listener. `engineFor` maps a request to its engine (undefined gives 404).
 */
export function createSimRequestHandler(
  engineFor: (req: http.IncomingMessage) => SimEngine | undefined,
  options: SimServerOptions = {},
): http.RequestListener {
  const latency = options.latencyMs ?? 0;
  const run = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const engine = engineFor(req);
    if (!engine) {
      req.resume();
      sendJson(res, 404, { message: 'no simulated engine on this port' });
      return;
    }
    dispatch(engine, req, res).catch((err: unknown) => {
      req.resume();
      if (err instanceof SimError) sendError(res, err.status, err.message);
      else sendError(res, 500, (err as Error).message ?? String(err));
    });
  };
  const ledger = options.engineTime;
  const answer = latency > 0 ? (req: http.IncomingMessage, res: http.ServerResponse) => void setTimeout(run, latency, req, res) : run;
  return ledger ? (req, res) => {
    ledger.track(res);
    answer(req, res);
  } : answer;
}

/** Tunes a server for long-lived Docker clients (keep-alive forever, long streams and uploads). */
export function tuneServer(server: http.Server): void {
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
}

/** One engine on its own port; used by unit tests and small setups. Port 0 picks a free one. */
export async function startSimServer(
  engine: SimEngine,
  port = 0,
  options: SimServerOptions = {},
): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer(createSimRequestHandler(() => engine, options));
  tuneServer(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
