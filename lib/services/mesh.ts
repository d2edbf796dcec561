/**
 * The routing mesh: each ingress port a service publishes is a TCP listener on the manager's
 * address, and each connection is relayed to one of the service's running tasks, round robin.
 *
 * A task container publishes its target port on its own engine under a port the engine picks
 * (see taskContainerBody); the mesh dials `<engine ip>:<that port>`. Health: only tasks that
 * are running on a healthy engine are candidates, and a task whose port refuses a connection is
 * skipped (the connection goes to the next task) and left out for a few seconds, so a task that
 * just died gets no new connection even before its engine's event arrives.
 */
import net from 'node:net';
import { log } from '../log';
import type { NodeDirectory } from './nodes';
import type { ServiceStore } from './store';

const COOLDOWN_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;

interface Listener {
  server: net.Server;
  /** Open client connections, ended when the listener closes (service removed, manager stopping). */
  sockets: Set<net.Socket>;
  serviceId: string;
  targetPort: number;
  next: number;
}

export interface Backend {
  taskId: string;
  host: string;
  port: number;
}

export class RoutingMesh {
  private readonly listeners = new Map<number, Listener>();
  private readonly failedUntil = new Map<string, number>();
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly store: ServiceStore, private readonly nodes: NodeDirectory, private readonly addr: string) {}

  /** Opens listeners for the ingress ports services publish now, closes the others. */
  sync(): void {
    if (this.closed) return;
    const wanted = new Map<number, { serviceId: string; targetPort: number }>();
    for (const service of this.store.services.values()) {
      for (const p of service.Endpoint.Ports ?? []) {
        if (p.PublishMode === 'host' || (p.Protocol ?? 'tcp') !== 'tcp' || !p.PublishedPort || !p.TargetPort) continue;
        wanted.set(p.PublishedPort, { serviceId: service.ID, targetPort: p.TargetPort });
      }
    }
    for (const [port, listener] of this.listeners) {
      const want = wanted.get(port);
      if (!want || want.serviceId !== listener.serviceId) {
        listener.server.close();
        for (const socket of listener.sockets) socket.destroy();
        this.listeners.delete(port);
      } else {
        listener.targetPort = want.targetPort;
      }
    }
    for (const [port, want] of wanted) if (!this.listeners.has(port)) this.listen(port, want.serviceId, want.targetPort);
  }

  private listen(port: number, serviceId: string, targetPort: number): void {
    const listener: Listener = {
      server: net.createServer((socket) => {
        listener.sockets.add(socket);
        socket.on('close', () => listener.sockets.delete(socket));
        this.relay(listener, socket);
      }),
      sockets: new Set(), serviceId, targetPort, next: 0,
    };
    this.listeners.set(port, listener);
    listener.server.on('error', (err) => {
      log.error(`Routing mesh cannot listen on ${this.addr}:${port}: ${err.message}; retrying`, { service: serviceId });
      if (this.listeners.get(port) === listener) this.listeners.delete(port);
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.sync();
      }, 5000);
    });
    listener.server.listen(port, this.addr, () => log.info(`Routing mesh listening on ${this.addr}:${port}`, { service: serviceId, targetPort }));
  }

  /** Running tasks of a service that can take a connection on `targetPort`. */
  backends(serviceId: string, targetPort: number): Backend[] {
    const out: Backend[] = [];
    for (const task of this.store.tasksOf(serviceId)) {
      if (task.DesiredState !== 'running' || task.Status.State !== 'running') continue;
      const engine = this.nodes.engineOf(task.NodeID);
      const cid = task.Status.ContainerStatus?.ContainerID;
      if (!engine || !engine.isHealthy || !cid) continue;
      const record = engine.containers.get(cid);
      if (!record?.state.running) continue;
      const published = record.ports.find((p) => p.PrivatePort === targetPort && p.Type === 'tcp' && p.PublicPort);
      if (!published?.PublicPort) continue;
      const host = !published.IP || published.IP === '0.0.0.0' || published.IP === '::' ? engine.ip : published.IP;
      out.push({ taskId: task.ID, host, port: published.PublicPort });
    }
    return out.sort((a, b) => a.taskId.localeCompare(b.taskId));
  }

  private relay(listener: Listener, client: net.Socket): void {
    client.on('error', () => undefined);
    client.pause();
    const now = Date.now();
    const all = this.backends(listener.serviceId, listener.targetPort);
    const healthy = all.filter((b) => (this.failedUntil.get(`${b.host}:${b.port}`) ?? 0) <= now);
    const candidates = healthy.length > 0 ? healthy : all;
    if (candidates.length === 0) {
      client.destroy();
      return;
    }
    const start = listener.next++ % candidates.length;
    const order = [...candidates.slice(start), ...candidates.slice(0, start)];
    const attempt = (i: number): void => {
      if (i >= order.length || client.destroyed) {
        client.destroy();
        return;
      }
      const backend = order[i];
      const upstream = net.connect({ host: backend.host, port: backend.port });
      upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error('connect timeout')));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        upstream.setTimeout(0);
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', () => {
        if (connected) return client.destroy();
        this.failedUntil.set(`${backend.host}:${backend.port}`, Date.now() + COOLDOWN_MS);
        attempt(i + 1);
      });
    };
    attempt(0);
  }

  /** Published port -> listening, for tests and `docker info`. */
  get ports(): number[] {
    return [...this.listeners.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await Promise.all([...this.listeners.values()].map((l) => new Promise<void>((resolve) => {
      l.server.close(() => resolve());
      for (const socket of l.sockets) socket.destroy();
    })));
    this.listeners.clear();
  }
}
