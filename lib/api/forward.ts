/**
 * Forwarding client requests to the engine that owns the object.
 * - `forward`: streaming HTTP through http-proxy (logs -f, stats, export, archive, wait...).
 * - `hijack`: Docker's `Upgrade: tcp` (attach, exec start). http-proxy only speaks websocket
 *   upgrades, so this is a raw byte pipe between the client socket and an engine socket, with
 *   half-close passed through so `stdin` EOF reaches the container.
 * The path is rewritten to the engine's API version, so a client speaking 1.47 works with an
 * engine that only knows 1.41.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Engine } from '../engine/engine';
import { sendError } from './errors';
import { log } from '../log';
import { metrics } from '../metrics/registry';
import { noteAudit } from './audit';
import type { RequestContext } from './router';

const proxy = httpProxy.createProxyServer({ xfwd: false, ws: false });

const toClient = metrics.forwardedBytes.labels({ kind: 'forward', direction: 'engine_to_client' });
const toEngine = metrics.forwardedBytes.labels({ kind: 'forward', direction: 'client_to_engine' });
const hijackToClient = metrics.forwardedBytes.labels({ kind: 'hijack', direction: 'engine_to_client' });
const hijackToEngine = metrics.forwardedBytes.labels({ kind: 'hijack', direction: 'client_to_engine' });

/** The engine-side URL: the path under the API version to speak, plus the client's query. */
export function engineUrl(engine: Engine, path: string, query: URLSearchParams, apiVersion: string): string {
  const qs = query.toString();
  return `${engine.client.versionedPath(path, apiVersion)}${qs ? `?${qs}` : ''}`;
}

/** What forwarding needs of a client request. */
export type ForwardContext = Pick<RequestContext, 'req' | 'res' | 'query' | 'apiVersion'>;
export type HijackContext = Pick<RequestContext, 'req' | 'query' | 'apiVersion'> & { socket: Duplex; head: Buffer };

export interface ForwardOptions {
  /** Runs after the engine's response has been fully sent (e.g. refresh the container). */
  onDone?: (status: number) => void;
  /**
   * Runs after the engine's body has been passed on but before the client's response ends (e.g.
   * refresh the image list after a build), so the client's next request sees the write.
   */
  beforeEnd?: (status: number) => Promise<unknown>;
}

interface InFlight {
  engine: Engine;
  res: ServerResponse;
  status: number;
  beforeEnd?: (status: number) => Promise<unknown>;
}

/** Headers that describe one hop, not the response (Node sets its own). */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);

/** Per-request forwarding state, found from http-proxy's single 'proxyRes' event. */
const inFlight = new WeakMap<IncomingMessage, InFlight>();

proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage) => {
  const state = inFlight.get(req);
  if (!state) return;
  state.status = proxyRes.statusCode ?? 0;
  state.engine.recordSuccess();
  proxyRes.on('data', (chunk: Buffer) => toClient.inc(chunk.length));
  const { beforeEnd } = state;
  if (beforeEnd) {
    // selfHandleResponse: pass status, headers and body on, then hold the end until beforeEnd.
    const headers = Object.fromEntries(Object.entries(proxyRes.headers).filter(([k]) => !HOP_HEADERS.has(k)));
    state.res.writeHead(state.status, headers as Record<string, string | string[]>);
    state.res.flushHeaders();
    proxyRes.pipe(state.res, { end: false });
    proxyRes.on('end', () => void beforeEnd(state.status).catch(() => undefined).then(() => state.res.end()));
    proxyRes.on('error', () => state.res.destroy());
    return;
  }
  // Long-running streams (logs -f, stats, wait) must get their headers before any data. This
  // event fires before http-proxy copies the engine's headers, so flush right after it has.
  process.nextTick(() => {
    if (!state.res.headersSent && !state.res.writableEnded) state.res.flushHeaders();
  });
});

export function forward(ctx: ForwardContext, engine: Engine, path: string, options: ForwardOptions = {}): void {
  const { req, res } = ctx;
  req.url = engineUrl(engine, path, ctx.query, ctx.apiVersion);
  const { host, port, socketPath } = engine.client.endpoint;
  const target = (socketPath ? { socketPath } : { host, port, protocol: `${engine.client.protocol}:` }) as httpProxy.ServerOptions['target'];
  const state: InFlight = { engine, res, status: 0, beforeEnd: options.beforeEnd };
  inFlight.set(req, state);
  noteAudit(req, { engine: engine.name });
  res.once('close', () => options.onDone?.(state.status));
  proxy.web(req, res, { selfHandleResponse: options.beforeEnd !== undefined, target, agent: engine.client.agent, secure: engine.client.tls?.verify ?? true }, (err) => {
    engine.recordFailure(err);
    log.warn('Forwarding to engine failed', { node: engine.name, addr: engine.addr, error: err.message });
    sendError(res, 500, `Error from engine ${engine.name} (${engine.addr}): ${err.message}`);
  });
  // After proxy.web has piped the body: counting must not start the flow before the pipe exists.
  req.on('data', (chunk: Buffer) => toEngine.inc(chunk.length));
}

/** Pipes a hijacked client connection to the engine, replaying the request line and headers. */
export function hijack(ctx: HijackContext, engine: Engine, path: string): void {
  const { req, socket: clientSocket, head } = ctx;
  const { host = '127.0.0.1', port = 2375, socketPath } = engine.client.endpoint;
  const tlsFiles = engine.client.tls;
  noteAudit(req, { engine: engine.name });
  const onConnect = (): void => {
    const lines = [`${req.method} ${engineUrl(engine, path, ctx.query, ctx.apiVersion)} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    engine.recordSuccess();
    clientSocket.pipe(upstream);
    upstream.pipe(clientSocket);
    clientSocket.on('data', (chunk: Buffer) => hijackToEngine.inc(chunk.length));
    upstream.on('data', (chunk: Buffer) => hijackToClient.inc(chunk.length));
  };
  const upstream: net.Socket = socketPath
    ? net.connect({ path: socketPath, allowHalfOpen: true }, onConnect)
    : tlsFiles
      ? tls.connect({ host, port, ca: tlsFiles.ca, cert: tlsFiles.cert, key: tlsFiles.key, rejectUnauthorized: tlsFiles.verify, servername: net.isIP(host) ? undefined : host }, onConnect)
      : net.connect({ host, port, allowHalfOpen: true }, onConnect);
  upstream.setNoDelay(true);
  upstream.on('error', (err) => {
    engine.recordFailure(err);
    if (!clientSocket.destroyed) {
      const body = JSON.stringify({ message: `Error from engine ${engine.name} (${engine.addr}): ${err.message}` });
      clientSocket.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  });
  clientSocket.on('error', () => upstream.destroy());
  clientSocket.on('close', () => upstream.destroy());
  upstream.on('close', () => clientSocket.destroy());
}
