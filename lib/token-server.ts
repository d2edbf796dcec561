/**
 * The token discovery service classic swarm's token client spoke to (Docker Hub's, shut down in
 * 2019), kept in memory:
 *   POST   /v1/clusters                     -> 200, a new token (text)
 *   POST   /v1/clusters/<token>?ttl=<secs>  body "host:port" -> 200, registers it for ttl seconds
 *   GET    /v1/clusters/<token>             -> 200, JSON array of live "host:port" (unknown token: [])
 *   DELETE /v1/clusters/<token>             -> 204, forgets the cluster
 * Errors are Docker-style JSON `{"message": "..."}`. Registrations expire ttl seconds after their
 * last POST; expired ones are never listed and are swept periodically.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isHostPort } from './host-port';

/** The default registration lifetime when a client sends no ?ttl (classic join's default). */
const DEFAULT_TTL_S = 180;
const MAX_BODY_BYTES = 1024;
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export class TokenRegistry {
  /** token -> (address -> expiry time in ms) */
  private readonly clusters = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  createCluster(): string {
    const token = randomBytes(16).toString('hex');
    this.clusters.set(token, new Map());
    return token;
  }

  register(token: string, addr: string, ttlSeconds: number): void {
    let members = this.clusters.get(token);
    if (!members) {
      members = new Map();
      this.clusters.set(token, members);
    }
    members.set(addr, this.now() + ttlSeconds * 1000);
  }

  /** Live addresses, sorted. */
  entries(token: string): string[] {
    const now = this.now();
    return [...(this.clusters.get(token) ?? [])]
      .filter(([, expiry]) => expiry > now)
      .map(([addr]) => addr)
      .sort();
  }

  deleteCluster(token: string): void {
    this.clusters.delete(token);
  }

  /** Drops expired registrations so memory follows the live set. */
  sweep(): void {
    const now = this.now();
    for (const members of this.clusters.values()) {
      for (const [addr, expiry] of members) if (expiry <= now) members.delete(addr);
    }
  }
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    // Past the limit the rest is drained and dropped, so the client still gets its 413.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function parseTtl(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_TTL_S;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new HttpError(400, `invalid ttl "${raw}": a positive number of seconds is required`);
  return Number(raw);
}

export function tokenRequestHandler(registry: TokenRegistry): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token-server');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'v1' || parts[1] !== 'clusters' || parts.length > 3) throw new HttpError(404, `page not found: ${url.pathname}`);
    const token = parts[2];
    if (token === undefined) {
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} not allowed on /v1/clusters`);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(registry.createCluster());
      return;
    }
    if (!TOKEN.test(token)) throw new HttpError(400, `invalid token "${token}"`);
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(registry.entries(token)));
    } else if (req.method === 'POST') {
      const ttl = parseTtl(url.searchParams.get('ttl'));
      const addr = (await readBody(req)).trim();
      if (!isHostPort(addr)) throw new HttpError(400, `invalid address "${addr}": host:port expected`);
      registry.register(token, addr, ttl);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end();
    } else if (req.method === 'DELETE') {
      registry.deleteCluster(token);
      res.writeHead(204);
      res.end();
    } else {
      throw new HttpError(405, `${req.method} not allowed on /v1/clusters/<token>`);
    }
  };
  return (req, res) => {
    route(req, res).catch((err: Error) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: err.message }));
    });
  };
}

export interface TokenServer {
  /** Base URL clients use: http://host:port/v1 */
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 = any free port). */
export async function startTokenServer(host: string, port: number, registry = new TokenRegistry()): Promise<TokenServer> {
  const server: Server = createServer(tokenRequestHandler(registry));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const sweeper = setInterval(() => registry.sweep(), 10_000);
  sweeper.unref();
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/v1`,
    close: async () => {
      clearInterval(sweeper);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
