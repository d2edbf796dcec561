/**
 * Hosts many simulated engines in one process, each on its own loopback port. To keep the
 * per-engine cost to one listening socket and the engine's state, there is a single HTTP
 * server (never listening itself): each port's `net.Server` hands its connections to it, and
 * the request is routed to the engine owning the connection's local port.
 */
import http from 'node:http';
import net from 'node:net';
import { SimEngine, type SimEngineOptions } from './engine';
import { EngineTimeLedger } from './engine-time';
import { createSimRequestHandler, tuneServer } from './server';

export interface SimHostOptions {
  count: number;
  /** First port; engines take `basePort .. basePort+count-1`. */
  basePort: number;
  /** When the range is busy, try the next ranges (up to this many attempts). */
  searchAttempts?: number;
  host?: string;
  latencyMs?: number;
  /** Engine `i` is named `${namePrefix}${firstIndex + i}` (zero-padded to nameWidth, default the width of the last index). */
  namePrefix?: string;
  /** The global index of this host's first engine, when several hosts share one engine set. */
  firstIndex?: number;
  nameWidth?: number;
  /** Builds per-engine options beyond the name (labels, resources, images...); gets the global index. */
  engineOptions?: (index: number) => Omit<SimEngineOptions, 'name'>;
}

export class SimHost {
  readonly engines: SimEngine[] = [];
  /** How long this host's engines held each container's create and start. */
  readonly engineTime = new EngineTimeLedger();
  private readonly listeners: net.Server[] = [];
  private readonly byPort = new Map<number, SimEngine>();
  private readonly http: http.Server;
  private readonly sockets = new Set<net.Socket>();
  basePort = 0;

  constructor(private readonly options: SimHostOptions) {
    this.http = http.createServer(
      createSimRequestHandler((req) => this.byPort.get(req.socket.localPort ?? -1), { latencyMs: options.latencyMs, engineTime: this.engineTime }),
    );
    tuneServer(this.http);
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get addresses(): string[] {
    return this.engines.map((_, i) => `${this.host}:${this.basePort + i}`);
  }

  /** Binds every port; on a busy port, releases the range and tries the next one. */
  async start(): Promise<void> {
    const { count } = this.options;
    const first = this.options.firstIndex ?? 0;
    const width = this.options.nameWidth ?? String(Math.max(first + count - 1, 0)).length;
    const prefix = this.options.namePrefix ?? 'sim-';
    for (let i = first; i < first + count; i++) {
      const extra = this.options.engineOptions?.(i) ?? {};
      this.engines.push(new SimEngine({ ...extra, name: `${prefix}${String(i).padStart(width, '0')}` }));
    }
    const attempts = this.options.searchAttempts ?? 1;
    let base = this.options.basePort;
    for (let attempt = 0; attempt < attempts; attempt++, base += count) {
      if (base + count - 1 > 65535) break;
      if (await this.bindRange(base)) {
        this.basePort = base;
        this.engines.forEach((engine, i) => this.byPort.set(base + i, engine));
        return;
      }
    }
    throw new Error(`could not bind ${count} consecutive ports from ${this.options.basePort} (${attempts} attempt(s))`);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    this.listeners.length = 0;
  }

  private async bindRange(base: number): Promise<boolean> {
    const bound: net.Server[] = [];
    try {
      for (let i = 0; i < this.options.count; i++) bound.push(await this.listen(base + i));
      this.listeners.push(...bound);
      return true;
    } catch {
      await Promise.all(bound.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
      return false;
    }
  }

  private listen(port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        this.http.emit('connection', socket);
      });
      server.once('error', reject);
      server.listen({ port, host: this.host, backlog: 128 }, () => {
        server.removeListener('error', reject);
        resolve(server);
      });
    });
  }
}
