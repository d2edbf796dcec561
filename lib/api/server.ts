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

export function buildRouter(cluster: Cluster, info: ManagerInfo, services?: ServiceController): Router {
  const router = new Router();
  const execOwners = new Map<string, Engine>();
  systemRoutes(router, cluster, info);
  maintenanceRoutes(router, cluster);
  buildRoutes(router, cluster);
  containerRoutes(router, cluster, execOwners);
  execRoutes(router, cluster, execOwners);
  imageRoutes(router, cluster);
  networkVolumeRoutes(router, cluster);
  if (services) serviceRoutes(router, cluster, services);
  return router;
}

const VERSIONED = /^\/v(\d+\.\d+)(\/.*)$/;

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
    try {
      const { apiVersion, path, query } = parseUrl(req.url ?? '/');
      if (this.options.replica && !servedByReplica(path)) {
        const outcome = await this.options.replica.forward(req, res);
        if (!outcome.local) return;
        if (outcome.replay) req = outcome.replay;
      }
      const { found } = this.router.match(req.method ?? 'GET', path);
      if (!found) throw new ApiError(404, `page not found: ${req.method} ${path}`);
      const ctx: RequestContext = { req, res, params: found.params, query, path, apiVersion };
      await found.route.handler(ctx);
    } catch (err) {
      const status = statusOf(err);
      if (status >= 500) log.warn('Request failed', { method: req.method, url: req.url, status, error: (err as Error).message });
      if (err instanceof NotPrimaryError && !res.headersSent) res.setHeader(NOT_PRIMARY_HEADER, 'true');
      sendError(res, status, (err as Error).message ?? String(err));
    }
  }

  /** `Upgrade: tcp` requests (attach, exec start): routed to the handler's raw-socket path. */
  async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    try {
      const { apiVersion, path, query } = parseUrl(req.url ?? '/');
      if (this.options.replica && (await this.options.replica.forwardUpgrade(req, socket, head))) return;
      const { found } = this.router.match(req.method ?? 'GET', path);
      if (!found?.route.upgrade) throw new ApiError(404, `page not found: ${req.method} ${path}`);
      await found.route.upgrade({ req, socket, head, params: found.params, query, path, apiVersion });
    } catch (err) {
      const body = JSON.stringify({ message: (err as Error).message });
      const status = statusOf(err);
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
        })
        : http.createServer();
      server.on('request', (req, res) => void this.handle(req, res));
      server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
        const body = JSON.stringify({ message: status === 431 ? 'request headers too large' : `bad request: ${err.message}` });
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

/** Listens on `tcp://host:port`, `host:port`, `:port` or `unix:///path`. */
function listenOn(server: http.Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`${host}: address already in use. Is Docker or another manager already running on it? Try using a different port`));
      else reject(err);
    });
    if (host.startsWith('unix://')) {
      const path = host.slice('unix://'.length);
      fs.rmSync(path, { force: true });
      server.listen(path, () => {
        fs.chmodSync(path, 0o600);
        resolve();
      });
      return;
    }
    const scheme = /^(\w+):\/\//.exec(host)?.[1];
    const m = /^(?:tcp:\/\/)?([^/]*):(\d+)$/.exec(host);
    if ((scheme && scheme !== 'tcp') || !m) return reject(new Error(`unsupported protocol: "${host}"`));
    server.listen(Number(m[2]), m[1].replace(/^\[|\]$/g, '') || '0.0.0.0', () => resolve());
  });
}
