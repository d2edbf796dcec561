/**
 * The Docker API endpoint of the manager: listeners for every `-H`, version handling,
 * routing, Docker-style JSON errors, CORS, and the raw-socket path for hijacked requests.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Cluster } from '../cluster/cluster';
import type { Engine } from '../engine/engine';
import { ApiError, sendError } from './errors';
import { Router, type RequestContext } from './router';
import { API_VERSION, MIN_API_VERSION, compareVersions } from './version';
import { containerRoutes } from './routes/containers';
import { execRoutes } from './routes/exec';
import { buildRoutes } from './routes/build';
import { imageRoutes } from './routes/images';
import { maintenanceRoutes } from './routes/maintenance';
import { networkVolumeRoutes } from './routes/networks-volumes';
import { systemRoutes, type ManagerInfo } from './routes/system';
import { serviceRoutes } from './routes/services';
import type { ServiceController } from '../services/controller';
import { log } from '../log';
import { NOT_PRIMARY_HEADER, NotPrimaryError, servedByReplica, type ReplicaProxy } from './replica';
import { DEFAULT_BROADCAST_PARALLELISM } from './broadcast-limits';
import { metrics } from '../metrics/registry';
import { readiness } from '../metrics/cluster-metrics';
import { clientIdentity, isMutating, writeAudit } from './audit';
import { sendJson } from './errors';

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** Require and verify client certificates (--tlsverify). */
  verify: boolean;
}

export interface ApiServerOptions {
  hosts: string[];
  cors: boolean;
  tls?: ServerTls;
  /** With --replication: passes what a replica does not serve itself to the primary. */
  replica?: ReplicaProxy;
}

export interface RouterOptions {
  /** Engines served at once by pull/import/load (--broadcast-parallelism). */
  broadcastParallelism: number;
}

export function buildRouter(cluster: Cluster, info: ManagerInfo, options: RouterOptions = { broadcastParallelism: DEFAULT_BROADCAST_PARALLELISM }, services?: ServiceController): Router {
  const router = new Router();
  const execOwners = new Map<string, Engine>();
  systemRoutes(router, cluster, info);
  maintenanceRoutes(router, cluster);
  buildRoutes(router, cluster);
  containerRoutes(router, cluster, execOwners);
  execRoutes(router, cluster, execOwners);
  imageRoutes(router, cluster, options.broadcastParallelism);
  networkVolumeRoutes(router, cluster);
  router.get('/readyz', (ctx) => sendReadiness(cluster, ctx.res));
  if (services) serviceRoutes(router, cluster, services);
  return router;
}

/** Readiness for load balancers and HEALTHCHECKs: 200 when ready, else 503 saying why. */
export function sendReadiness(cluster: Cluster, res: http.ServerResponse): void {
  const verdict = readiness(cluster);
  sendJson(res, verdict.ready ? 200 : 503, { status: verdict.ready ? 'ready' : 'not ready', ...verdict });
}

/** The message of an error the manager itself raised, for the debug log of its answer. */
const errorMessages = new WeakMap<http.ServerResponse, string>();

/**
 * At debug level, every JSON 4xx/5xx answer (the manager's own or an engine's passed through)
 * is logged with the request that got it: what an operator needs to see why a client failed.
 */
function logErrorAnswers(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.once('finish', () => {
    if (res.statusCode < 400 || !/json/i.test(String(res.getHeader('content-type') ?? ''))) return;
    const error = errorMessages.get(res);
    log.debug('Error answered', { method: req.method, url: req.url, status: res.statusCode, ...(error ? { error } : {}), remote: req.socket.remoteAddress });
  });
}

/** dockerd's version prefix: `/v` and digits and dots (`/v99/`, `/v1.41/`); anything else is a plain path. */
const VERSIONED = /^\/v([0-9.]+)(\/.*)$/;

/** Splits `/v1.41/containers/json?all=1` into version, path and query; rejects unusable versions. */
function parseUrl(rawUrl: string): { apiVersion: string; path: string; query: URLSearchParams } {
  let url: URL;
  try {
    url = new URL(rawUrl, 'http://manager');
  } catch {
    throw new ApiError(400, `malformed URL: ${rawUrl}`);
  }
  const m = VERSIONED.exec(url.pathname);
  const apiVersion = m ? m[1] : API_VERSION;
  if (compareVersions(apiVersion, MIN_API_VERSION) < 0) {
    throw new ApiError(400, `client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  if (compareVersions(apiVersion, API_VERSION) > 0) {
    throw new ApiError(400, `client version ${apiVersion} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  return { apiVersion, path: (m ? m[2] : url.pathname).replace(/\/+$/, '') || '/', query: url.searchParams };
}

function statusOf(err: unknown): number {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

export class ApiServer {
  private readonly servers: http.Server[] = [];

  constructor(private readonly router: Router, private readonly options: ApiServerOptions) {}

  async handle(incoming: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let req = incoming;
    if (log.isDebug()) logErrorAnswers(req, res);
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', 'swarm-ts');
    if (this.options.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', 'Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, PUT, OPTIONS, HEAD');
      if (req.method === 'OPTIONS') {
        res.writeHead(200).end();
        return;
      }
    }
    const startedAt = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let pattern = 'unmatched';
    let params: Record<string, string> = {};
    let query = new URLSearchParams();
    let error: string | undefined;
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      const status = res.statusCode;
      metrics.apiRequests.observe({ route: pattern, method, status: String(status) }, seconds);
      // A replica's forwarded calls are audited by the primary that serves them.
      if (pattern !== 'unmatched' && pattern !== 'forwarded to primary' && isMutating(method, pattern)) writeAudit({ req, method, pattern, params, query, status, error });
    });
    try {
      const parsed = parseUrl(req.url ?? '/');
      query = parsed.query;
      if (this.options.replica && !servedByReplica(parsed.path)) {
        pattern = 'forwarded to primary';
        const outcome = await this.options.replica.forward(req, res);
        if (!outcome.local) return;
        pattern = 'unmatched';
        if (outcome.replay) req = outcome.replay;
      }
      const { found } = this.router.match(method, parsed.path);
      if (!found) throw new ApiError(404, `page not found: ${method} ${parsed.path}`);
      pattern = found.route.pattern;
      params = found.params;
      const ctx: RequestContext = { req, res, params: found.params, query, path: parsed.path, apiVersion: parsed.apiVersion };
      await found.route.handler(ctx);
    } catch (err) {
      const status = statusOf(err);
      error = (err as Error).message ?? String(err);
      if (status >= 500) log.warn('Request failed', { method: req.method, url: req.url, status, error });
      if (err instanceof NotPrimaryError && !res.headersSent) res.setHeader(NOT_PRIMARY_HEADER, 'true');
      errorMessages.set(res, error);
      sendError(res, status, (err as Error).message ?? String(err));
    }
  }

  /** `Upgrade: tcp` requests (attach, exec start): routed to the handler's raw-socket path. */
  async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    const startedAt = process.hrtime.bigint();
    const method = req.method ?? 'POST';
    let pattern = 'unmatched';
    let params: Record<string, string> = {};
    let query = new URLSearchParams();
    let status = 101;
    let error: string | undefined;
    const who = clientIdentity(req);
    socket.once('close', () => {
      metrics.apiRequests.observe({ route: pattern, method, status: String(status) }, Number(process.hrtime.bigint() - startedAt) / 1e9);
      if (pattern !== 'unmatched' && pattern !== 'forwarded to primary' && isMutating(method, pattern)) writeAudit({ req, method, pattern, params, query, status, error, who });
    });
    try {
      const parsed = parseUrl(req.url ?? '/');
      query = parsed.query;
      if (this.options.replica) {
        const outcome = await this.options.replica.forwardUpgrade(req, socket, head);
        if (outcome.forwarded) {
          pattern = 'forwarded to primary';
          return;
        }
        head = outcome.head; // this manager became primary; the body may have been read already
      }
      const { found } = this.router.match(method, parsed.path);
      if (!found?.route.upgrade) throw new ApiError(404, `page not found: ${method} ${parsed.path}`);
      pattern = found.route.pattern;
      params = found.params;
      await found.route.upgrade({ req, socket, head, params: found.params, query, path: parsed.path, apiVersion: parsed.apiVersion });
    } catch (err) {
      const body = JSON.stringify({ message: (err as Error).message });
      status = statusOf(err);
      error = (err as Error).message;
      log.debug('Error answered', { method: req.method, url: req.url, status, error, remote: req.socket.remoteAddress });
      const extra = err instanceof NotPrimaryError ? `X-Swarm-Not-Primary: true\r\n` : '';
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  }

  async listen(): Promise<void> {
    for (const host of this.options.hosts) {
      const server = this.options.tls
        ? https.createServer({
          cert: this.options.tls.cert, key: this.options.tls.key, ca: this.options.tls.ca,
          requestCert: this.options.tls.verify, rejectUnauthorized: this.options.tls.verify, minVersion: 'TLSv1.2',
          // As http.Server does for plain sockets: a hijacked exec/attach client half-closes
          // (close_notify) when its stdin ends and must still receive the output.
          allowHalfOpen: true,
        })
        : http.createServer();
      server.on('request', (req, res) => void this.handle(req, res));
      server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
        const body = JSON.stringify({ message: clientErrorMessage(err) });
        if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        else socket.destroy();
      });
      server.keepAliveTimeout = 65_000;
      server.requestTimeout = 0; // streams (logs -f, events, attach) may last forever
      await listenOn(server, host);
      this.servers.push(server);
      log.info(`Listening for HTTP${this.options.tls ? 'S' : ''}`, { addr: host, proto: host.startsWith('unix://') ? 'unix' : 'tcp' });
    }
  }

  /**
   * Stops listening. Requests in flight get up to `graceMs` to finish (a resigning primary
   * completes the creates it started), then every connection is closed (streams never end).
   */
  async close(graceMs = 0): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => s.closeAllConnections?.(), graceMs);
      s.close(() => {
        clearTimeout(timer);
        resolve();
      });
      s.closeIdleConnections?.();
      if (graceMs <= 0) s.closeAllConnections?.();
    })));
  }
}

/** What a malformed request (rejected by Node's HTTP parser) is told. */
function clientErrorMessage(err: NodeJS.ErrnoException): string {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'request headers too large';
  // The connection ended inside the body (fewer bytes than Content-Length, or no last chunk).
  if (err.code === 'HPE_INVALID_EOF_STATE') return 'unexpected EOF: the request body ended early';
  return `bad request: ${err.message}${err.code ? ` (${err.code})` : ''}`;
}

/** A `-H` address: `tcp://host:port`, `host:port`, `:port` or `unix:///path`; anything else is refused. */
export function parseListenAddress(host: string): { unix: string } | { host: string; port: number } {
  if (host.startsWith('unix://')) return { unix: host.slice('unix://'.length) };
  const scheme = /^(\w+):\/\//.exec(host)?.[1];
  const m = /^(?:tcp:\/\/)?([^/]*):(\d+)$/.exec(host);
  if ((scheme && scheme !== 'tcp') || !m) throw new Error(`unsupported protocol: "${host}"`);
  return { host: m[1].replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(m[2]) };
}

/** Listens on one `-H` address (see parseListenAddress). */
function listenOn(server: http.Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`${host}: address already in use. Is Docker or another manager already running on it? Try using a different port`));
      else reject(err);
    });
    let address: ReturnType<typeof parseListenAddress>;
    try {
      address = parseListenAddress(host);
    } catch (err) {
      return reject(err);
    }
    if ('unix' in address) {
      const path = address.unix;
      fs.rmSync(path, { force: true });
      server.listen(path, () => {
        fs.chmodSync(path, 0o600);
        resolve();
      });
      return;
    }
    server.listen(address.port, address.host, () => resolve());
  });
}
