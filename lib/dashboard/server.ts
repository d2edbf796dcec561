/**
 * The operator's HTTP endpoint (--metrics-addr): Prometheus metrics, readiness and liveness, and
 * the live cluster page with its JSON view and its Server-Sent Events stream. Separate from the
 * Docker API so it can listen on another interface, and so a scrape never queues behind API
 * traffic on the same sockets.
 *
 *   GET /metrics       Prometheus text format (prom-client)
 *   GET /readyz        200 {"status":"ready"} or 503 with the reasons
 *   GET /_ping         200 OK while the process runs (liveness)
 *   GET /              the cluster page (static/index.html, app.js, style.css)
 *   GET /api/cluster   one page of the cluster view (see view.ts for the query)
 *   GET /api/events    SSE: `events` (recent Docker events, batched) and `changed` (state moved)
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Cluster } from '../cluster/cluster';
import type { DockerEvent } from '../engine/engine';
import { readiness } from '../metrics/cluster-metrics';
import { currentServices, METRICS_CONTENT_TYPE, scrape } from '../metrics/registry';
import { clusterView, parseViewQuery, type ViewQuery } from './view';
import { log } from '../log';

/** The page's files: shipped as-is (no bundler), read once. */
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/static/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/static/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** dist/lib/dashboard/static (copied by the build: scripts/copy-assets.ts), else the sources' lib/dashboard/static. */
const STATIC_DIR = [path.join(__dirname, 'static'), path.resolve(__dirname, '..', '..', '..', 'lib', 'dashboard', 'static')].find((d) => fs.existsSync(path.join(d, 'index.html')));

/** Most SSE clients at once: each holds a socket and an event listener. */
const MAX_STREAMS = 100;
/** How often the state version is compared, and events flushed to streams. */
const TICK_MS = 250;
/** Events sent to a new stream from the hub's history. */
const BACKLOG = 50;
/** Events per flush per stream at most (a burst is summarised by a count of the rest). */
const MAX_BATCH = 100;
/** Different page queries (filters, pages) whose last view is kept for reuse. */
const MAX_CACHED_VIEWS = 64;

export interface PageEvent {
  time: number;
  type: string;
  action: string;
  node: string;
  /** The object's name (container name, image, network...), or a short ID. */
  object: string;
}

function pageEvent(e: DockerEvent): PageEvent {
  const attrs = e.Actor?.Attributes ?? {};
  const id = e.Actor?.ID ?? e.id ?? '';
  return {
    time: Math.floor((e.timeNano ?? e.time * 1e9) / 1e6),
    type: e.Type, action: e.Action, node: attrs['node.name'] ?? '',
    object: attrs.name ?? (id.length > 12 && /^[0-9a-f]+$/.test(id) ? id.slice(0, 12) : id),
  };
}

interface Stream {
  res: http.ServerResponse;
  queue: PageEvent[];
  dropped: number;
}

export class OpsServer {
  private server?: http.Server;
  private readonly streams = new Set<Stream>();
  private unsubscribe?: () => void;
  private ticker?: NodeJS.Timeout;
  private lastVersion = '';
  /**
   * The last /api/cluster body per query, with the state it was computed from. Every open page
   * asks again on each `changed` (up to 4 times a second), and a view walks every container
   * (~20-30 ms at 30,000): pages showing the same query share one computation per state.
   */
  private readonly views = new Map<string, { stamp: string; body: Promise<string> }>();

  constructor(private readonly cluster: Cluster, private readonly addr: string) {}

  async listen(): Promise<void> {
    const m = /^(?:tcp:\/\/)?\[?([^\]]*?)\]?:(\d+)$/.exec(this.addr);
    if (!m) throw new Error(`--metrics-addr: expected host:port, got "${this.addr}"`);
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`--metrics-addr ${this.addr}: address already in use`) : err));
      server.listen(Number(m[2]), m[1] || '0.0.0.0', () => resolve());
    });
    this.server = server;
    log.info('Serving metrics, readiness and the cluster page', { addr: this.addr });
  }

  /** The bound port (tests listen on port 0). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    this.unsubscribe?.();
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ops');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.json(res, 405, { message: 'only GET is served here' });
      switch (url.pathname) {
        case '/metrics': {
          const body = await scrape();
          res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE });
          return void res.end(body);
        }
        case '/readyz': {
          const verdict = readiness(this.cluster);
          return this.json(res, verdict.ready ? 200 : 503, { status: verdict.ready ? 'ready' : 'not ready', ...verdict });
        }
        case '/_ping':
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          return void res.end('OK');
        case '/api/cluster':
          return await this.sendView(res, parseViewQuery(url.searchParams));
        case '/api/events':
          return this.openStream(req, res);
      }
      const file = STATIC_FILES[url.pathname];
      if (!file || !STATIC_DIR) return this.json(res, 404, { message: `page not found: ${url.pathname}` });
      const body = await fs.promises.readFile(path.join(STATIC_DIR, file.file));
      res.writeHead(200, { 'Content-Type': file.type, 'Cache-Control': 'no-cache', 'Content-Security-Policy': "default-src 'self'" });
      res.end(body);
    } catch (err) {
      this.json(res, 500, { message: (err as Error).message });
    }
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  /**
   * One page of the view, computed again only when something it shows may have moved: an
   * engine's state (the engines' generations), readiness (discovery, leadership) or services.
   */
  private async sendView(res: http.ServerResponse, query: ViewQuery): Promise<void> {
    const key = JSON.stringify(query);
    const stamp = `${this.stateVersion()}|${JSON.stringify(readiness(this.cluster))}|${JSON.stringify(currentServices())}`;
    let view = this.views.get(key);
    if (!view || view.stamp !== stamp) {
      if (!view && this.views.size >= MAX_CACHED_VIEWS) this.views.clear();
      // Kept while it is computed (over several turns), so pages asking meanwhile wait for this one.
      const computing = { stamp, body: clusterView(this.cluster, query).then((v) => JSON.stringify(v)) };
      computing.body.catch(() => {
        if (this.views.get(key) === computing) this.views.delete(key);
      });
      this.views.set(key, (view = computing));
    }
    const body = await view.body;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  }

  private openStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) return this.json(res, 503, { message: `too many event streams (at most ${MAX_STREAMS})` });
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(`retry: 1000\n\nevent: events\ndata: ${JSON.stringify({ events: this.cluster.events.recent(BACKLOG).map(pageEvent), dropped: 0 })}\n\n`);
    const stream: Stream = { res, queue: [], dropped: 0 };
    this.streams.add(stream);
    req.on('close', () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stopTicking();
    });
    this.startTicking();
  }

  private startTicking(): void {
    if (this.ticker) return;
    this.unsubscribe = this.cluster.events.subscribe((event) => {
      const e = pageEvent(event);
      for (const s of this.streams) {
        if (s.queue.length < MAX_BATCH) s.queue.push(e);
        else s.dropped++;
      }
    });
    let beat = 0;
    this.ticker = setInterval(() => {
      const version = this.stateVersion();
      const changed = version !== this.lastVersion;
      this.lastVersion = version;
      const keepalive = ++beat % 60 === 0; // a comment every 15 s keeps proxies from closing the stream
      for (const s of this.streams) {
        if (s.res.writableLength > 1024 * 1024) continue; // a stalled client: skip until it drains
        let out = '';
        if (s.queue.length > 0 || s.dropped > 0) {
          out += `event: events\ndata: ${JSON.stringify({ events: s.queue, dropped: s.dropped })}\n\n`;
          s.queue = [];
          s.dropped = 0;
        }
        if (changed) out += `event: changed\ndata: ${JSON.stringify({ version })}\n\n`;
        if (!out && keepalive) out = ': keepalive\n\n';
        if (out) s.res.write(out);
      }
    }, TICK_MS);
  }

  private stopTicking(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Changes whenever any engine's state does (engines bump `generation` on every change). */
  private stateVersion(): string {
    let sum = 0;
    for (const engine of this.cluster.engines.values()) sum += engine.generation;
    return `${this.cluster.engines.size}:${sum}`;
  }
}
