/**
 * A test double of Consul's HTTP API, the part KV discovery and leader election use. Consul
 * cannot be installed on these machines, so the consul backend is tested against this double
 * only. It follows Consul's documented behaviour (developer.hashicorp.com/consul/api-docs/kv,
 * /session, /features/blocking):
 *
 * - KV: GET (`?recurse`, `?keys` [+ `separator`], `?raw`), PUT (`?cas`, `?flags`, `?acquire`,
 *   `?release`; answers `true`/`false`), DELETE (`?recurse`, `?cas`). Values are base64 in JSON.
 *   A missing key or empty prefix is a 404 that still carries X-Consul-Index.
 * - Blocking queries: `?index=N&wait=D` holds the request until the result's index exceeds N or
 *   the wait (default 5m, max 10m, plus up to wait/16 jitter) elapses. The index of a prefix is
 *   the highest ModifyIndex among its keys and its tombstones (deleted keys), else the table index.
 * - Sessions: create (`TTL` within [session_ttl_min, 24h], `Behavior` release|delete, `LockDelay`
 *   default 15s), renew (404 when unknown), destroy, info, list. A TTL session is invalidated only
 *   after 2x its TTL without renewal (Consul's grace). Invalidation releases or deletes the keys
 *   it holds, and those keys cannot be re-acquired during the lock delay.
 * - Outage: stop() drops the listener and every open connection (in-flight blocking queries
 *   fail) and keeps the data, like a server restart; start() serves again on the same port and,
 *   as Consul does after a leader election, gives every session a fresh TTL.
 *
 * `sessionTtlMinMs` mirrors Consul's `session_ttl_min` agent setting (default 10s), lowered in
 * tests so TTL expiry takes seconds.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';

interface Entry {
  key: string;
  value: Buffer | null;
  flags: number;
  createIndex: number;
  modifyIndex: number;
  lockIndex: number;
  session?: string;
}

interface Session {
  id: string;
  name: string;
  behavior: 'release' | 'delete';
  ttlMs: number;
  lockDelayMs: number;
  createIndex: number;
  lastRenew: number;
}

export interface ConsulDoubleOptions {
  port?: number;
  sessionTtlMinMs?: number;
  /** Serve HTTPS and require a client certificate signed by `ca` (Consul's verify_incoming). */
  tls?: { ca: string; cert: string; key: string };
}

const DURATION = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseDuration(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
}

export class ConsulDouble {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly entries = new Map<string, Entry>();
  private readonly tombstones = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();
  /** Keys unlockable until the given time (lock delay after a session invalidation). */
  private readonly lockDelays = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private index = 1;
  private kvIndex = 1;
  private expiryTimer?: NodeJS.Timeout;
  port = 0;

  constructor(private readonly options: ConsulDoubleOptions = {}) {}

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const listener: RequestListener = (req, res) => {
      this.handle(req, res).catch((err: Error) => this.send(res, 500, err.message));
    };
    const tls = this.options.tls;
    const server: Server = tls
      ? createHttpsServer(
          { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), requestCert: true, rejectUnauthorized: true },
          listener,
        )
      : createServer(listener);
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port || this.options.port || 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
    const now = Date.now();
    for (const session of this.sessions.values()) session.lastRenew = now;
    this.expiryTimer = setInterval(() => this.expireSessions(), 100);
  }

  async stop(): Promise<void> {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    this.waiters.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The live keys and values, for assertions. */
  dump(): Record<string, string> {
    return Object.fromEntries([...this.entries.values()].map((e) => [e.key, e.value?.toString() ?? '']));
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    const body = await readBody(req);
    const path = url.pathname;
    if (path.startsWith('/v1/kv/') || path === '/v1/kv') return this.kv(req.method ?? 'GET', decodeURIComponent(path.slice('/v1/kv/'.length)), url.searchParams, body, req, res);
    if (path === '/v1/session/create' && req.method === 'PUT') return this.sessionCreate(body, res);
    if (path.startsWith('/v1/session/renew/') && req.method === 'PUT') return this.sessionRenew(path.slice('/v1/session/renew/'.length), res);
    if (path.startsWith('/v1/session/destroy/') && req.method === 'PUT') {
      this.invalidate(path.slice('/v1/session/destroy/'.length));
      return this.json(res, true);
    }
    if (path.startsWith('/v1/session/info/') && req.method === 'GET') {
      const session = this.sessions.get(path.slice('/v1/session/info/'.length));
      return this.json(res, session ? [this.sessionJson(session)] : null);
    }
    if (path === '/v1/session/list' && req.method === 'GET') return this.json(res, [...this.sessions.values()].map((s) => this.sessionJson(s)));
    if (path === '/v1/status/leader') return this.json(res, this.endpoint);
    this.send(res, 404, `Invalid URL path: ${path}`);
  }

  private async kv(method: string, key: string, query: URLSearchParams, body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'GET') return this.kvGet(key, query, req, res);
    if (method === 'PUT') return this.kvPut(key, query, body, res);
    if (method === 'DELETE') return this.kvDelete(key, query, res);
    this.send(res, 405, `method ${method} not allowed`);
  }

  private matching(key: string, recurse: boolean): Entry[] {
    if (!recurse) {
      const entry = this.entries.get(key);
      return entry ? [entry] : [];
    }
    return [...this.entries.values()].filter((e) => e.key.startsWith(key)).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Consul's index for a read: highest ModifyIndex among the prefix's keys and tombstones, else the table index. */
  private queryIndex(key: string, recurse: boolean): number {
    let max = 0;
    for (const e of this.matching(key, recurse)) max = Math.max(max, e.modifyIndex);
    for (const [k, idx] of this.tombstones) if (recurse ? k.startsWith(key) : k === key) max = Math.max(max, idx);
    return max || this.kvIndex;
  }

  private async kvGet(key: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const keysOnly = query.has('keys');
    const recurse = query.has('recurse') || keysOnly;
    const minIndex = Number(query.get('index') ?? 0);
    if (minIndex > 0) {
      const requested = parseDuration(query.get('wait')) ?? 5 * 60_000;
      if (Number.isNaN(requested)) return this.send(res, 400, `Invalid wait time`);
      const wait = Math.min(requested, 10 * 60_000);
      const deadline = Date.now() + wait + Math.random() * (wait / 16);
      while (this.queryIndex(key, recurse) <= minIndex && Date.now() < deadline && this.server) {
        const closed = await this.waitForWrite(deadline - Date.now(), req);
        if (closed) return;
      }
      if (!this.server) return;
    }
    const index = this.queryIndex(key, recurse);
    res.setHeader('X-Consul-Index', String(index));
    res.setHeader('X-Consul-KnownLeader', 'true');
    res.setHeader('X-Consul-LastContact', '0');
    const found = this.matching(key, recurse);
    if (found.length === 0) return this.send(res, 404, '');
    if (keysOnly) {
      const separator = query.get('separator');
      const keys = new Set<string>();
      for (const e of found) {
        const rest = e.key.slice(key.length);
        const cut = separator ? rest.indexOf(separator) : -1;
        keys.add(cut >= 0 ? key + rest.slice(0, cut + separator!.length) : e.key);
      }
      return this.json(res, [...keys]);
    }
    if (query.has('raw') && !recurse) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(found[0].value ?? Buffer.alloc(0));
      return;
    }
    this.json(
      res,
      found.map((e) => ({
        LockIndex: e.lockIndex,
        Key: e.key,
        Flags: e.flags,
        Value: e.value === null ? null : e.value.toString('base64'),
        ...(e.session ? { Session: e.session } : {}),
        CreateIndex: e.createIndex,
        ModifyIndex: e.modifyIndex,
      })),
    );
  }

  /** Waits for the next KV write, the deadline, or the client going away (returns true then). */
  private waitForWrite(ms: number, req: IncomingMessage): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (closed: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        req.socket.off('close', onClose);
        resolve(closed);
      };
      const wake = (): void => done(false);
      const onClose = (): void => done(true);
      const timer = setTimeout(wake, Math.max(0, ms));
      this.waiters.add(wake);
      req.socket.once('close', onClose);
    });
  }

  private bump(): number {
    this.index += 1;
    return this.index;
  }

  private kvWritten(index: number): void {
    this.kvIndex = index;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  private kvPut(key: string, query: URLSearchParams, body: Buffer, res: ServerResponse): void {
    if (!key) return this.send(res, 400, 'Missing key name');
    const existing = this.entries.get(key);
    if (query.has('cas')) {
      const cas = Number(query.get('cas'));
      if (cas === 0 ? existing !== undefined : existing?.modifyIndex !== cas) return this.json(res, false);
    }
    const acquire = query.get('acquire');
    const release = query.get('release');
    if (acquire) {
      if (!this.sessions.has(acquire)) return this.send(res, 500, `invalid session "${acquire}"`);
      if (existing?.session && existing.session !== acquire) return this.json(res, false);
      if ((this.lockDelays.get(key) ?? 0) > Date.now()) return this.json(res, false);
    }
    if (release && existing?.session !== release) return this.json(res, false);
    const index = this.bump();
    const entry: Entry = existing ?? { key, value: null, flags: 0, createIndex: index, modifyIndex: index, lockIndex: 0 };
    entry.value = body;
    entry.modifyIndex = index;
    if (query.has('flags')) entry.flags = Number(query.get('flags'));
    if (acquire && entry.session !== acquire) {
      entry.session = acquire;
      entry.lockIndex += 1;
    }
    if (release) entry.session = undefined;
    this.entries.set(key, entry);
    this.tombstones.delete(key);
    this.kvWritten(index);
    this.json(res, true);
  }

  private kvDelete(key: string, query: URLSearchParams, res: ServerResponse): void {
    const recurse = query.has('recurse');
    if (query.has('cas')) {
      const existing = this.entries.get(key);
      if (!existing || existing.modifyIndex !== Number(query.get('cas'))) return this.json(res, false);
    }
    const doomed = this.matching(key, recurse);
    if (doomed.length > 0) {
      const index = this.bump();
      for (const e of doomed) this.deleteEntry(e.key, index);
      this.kvWritten(index);
    }
    this.json(res, true);
  }

  private deleteEntry(key: string, index: number): void {
    this.entries.delete(key);
    this.tombstones.set(key, index);
  }

  private sessionCreate(body: Buffer, res: ServerResponse): void {
    let spec: { TTL?: string; Behavior?: string; LockDelay?: string | number; Name?: string } = {};
    try {
      spec = body.length ? JSON.parse(body.toString()) : {};
    } catch {
      return this.send(res, 400, 'Request decode failed');
    }
    const ttlMs = parseDuration(spec.TTL) ?? 0;
    const min = this.options.sessionTtlMinMs ?? 10_000;
    if (spec.TTL && (Number.isNaN(ttlMs) || ttlMs < min || ttlMs > 24 * 3_600_000)) {
      return this.send(res, 400, `Invalid Session TTL '${spec.TTL}', must be between [${min / 1000}s=24h0m0s]`);
    }
    const behavior = spec.Behavior ?? 'release';
    if (behavior !== 'release' && behavior !== 'delete') return this.send(res, 400, `Invalid Behavior setting '${behavior}'`);
    const lockDelayMs = typeof spec.LockDelay === 'number' ? spec.LockDelay / 1e6 : parseDuration(spec.LockDelay) ?? 15_000;
    const session: Session = { id: randomUUID(), name: spec.Name ?? '', behavior, ttlMs, lockDelayMs, createIndex: this.bump(), lastRenew: Date.now() };
    this.sessions.set(session.id, session);
    this.json(res, { ID: session.id });
  }

  private sessionRenew(id: string, res: ServerResponse): void {
    const session = this.sessions.get(id);
    if (!session) return this.send(res, 404, `Session id '${id}' not found`);
    session.lastRenew = Date.now();
    this.json(res, [this.sessionJson(session)]);
  }

  private sessionJson(s: Session): object {
    return {
      ID: s.id,
      Name: s.name,
      Node: 'consul-double',
      LockDelay: s.lockDelayMs * 1e6,
      Behavior: s.behavior,
      TTL: s.ttlMs ? `${s.ttlMs / 1000}s` : '',
      NodeChecks: ['serfHealth'],
      ServiceChecks: null,
      CreateIndex: s.createIndex,
      ModifyIndex: s.createIndex,
    };
  }

  /** Consul invalidates a TTL session after twice its TTL without a renewal. */
  private expireSessions(): void {
    const now = Date.now();
    for (const session of [...this.sessions.values()]) {
      if (session.ttlMs > 0 && now - session.lastRenew > 2 * session.ttlMs) this.invalidate(session.id);
    }
  }

  private invalidate(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    const held = [...this.entries.values()].filter((e) => e.session === id);
    if (held.length === 0) return;
    const index = this.bump();
    for (const entry of held) {
      if (session.lockDelayMs > 0) this.lockDelays.set(entry.key, Date.now() + session.lockDelayMs);
      if (session.behavior === 'delete') {
        this.deleteEntry(entry.key, index);
      } else {
        entry.session = undefined;
        entry.modifyIndex = index;
      }
    }
    this.kvWritten(index);
  }

  private json(res: ServerResponse, value: unknown): void {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(value));
  }

  private send(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const double = new ConsulDouble(options);
  await double.start();
  return double;
}
