/**
 * The manager's Prometheus metrics: one registry, the counters and histograms updated where
 * things happen, and a small hook for the gauges computed at scrape time from in-memory state.
 *
 * This module sits low in the tree (it imports nothing of the project), so any layer can count:
 * the engine (event-stream reconnects, refresh failures), the cluster (placements, discovery
 * errors), the API (requests, forwarded bytes), and the subsystems built alongside this one:
 *
 *   import { metrics } from '../metrics/registry';
 *   metrics.leaderFailovers.inc();                           // leader election (--replication)
 *   metrics.reschedules.inc({ result: 'rescheduled' });      // rescheduling on node failure
 *   registerCollector((m) => m.serviceTasks.set(...));       // anything computed at scrape time
 *   setLeadership(() => ({ replicated: true, leader: true, primary: '10.0.0.1:3376' }));
 *   setServices(() => [{ name: 'web', desired: 3, running: 2 }]);
 *
 * Label values are bounded: engine names, states, filter names, route patterns, service names;
 * never a container ID or name (a cardinality explosion at 30,000 containers).
 */
import { promises as fs } from 'node:fs';
import client from 'prom-client';

export const registry = new client.Registry();

/** Latency buckets for API requests, seconds: sub-millisecond reads up to long streams. */
const API_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const metrics = {
  // ---- computed at scrape time (see registerCollector) ------------------------------------
  engines: new client.Gauge({ name: 'swarm_engines', help: 'Engines known from discovery, by status (pending, healthy, unhealthy).', labelNames: ['status'], registers: [registry] }),
  discoveryHealthy: new client.Gauge({ name: 'swarm_discovery_healthy', help: '1 when the last discovery read succeeded.', registers: [registry] }),
  leader: new client.Gauge({ name: 'swarm_leader', help: '1 when this manager is the primary (always 1 without --replication).', registers: [registry] }),
  serviceDesired: new client.Gauge({ name: 'swarm_service_desired_tasks', help: 'Desired tasks per service.', labelNames: ['service'], registers: [registry] }),
  serviceRunning: new client.Gauge({ name: 'swarm_service_running_tasks', help: 'Running tasks per service.', labelNames: ['service'], registers: [registry] }),
  // ---- counted where they happen ----------------------------------------------------------
  placements: new client.Counter({ name: 'swarm_placements_total', help: 'Containers placed by the scheduler, by chosen engine.', labelNames: ['engine'], registers: [registry] }),
  placementRefusals: new client.Counter({ name: 'swarm_placement_refusals_total', help: 'Placements refused, by the filter that removed the last candidates ("resources" when none could hold the reservation, "none" when no engine was available).', labelNames: ['filter'], registers: [registry] }),
  apiRequests: new client.Histogram({ name: 'swarm_api_request_duration_seconds', help: 'Docker API requests by route class, method and status; duration until the response ended (streams included).', labelNames: ['route', 'method', 'status'], buckets: API_BUCKETS, registers: [registry] }),
  forwardedBytes: new client.Counter({ name: 'swarm_forwarded_bytes_total', help: 'Bytes relayed between clients and engines (forward, hijack, broadcast), by direction.', labelNames: ['kind', 'direction'], registers: [registry] }),
  eventStreamReconnects: new client.Counter({ name: 'swarm_engine_event_stream_reconnects_total', help: 'Engine event streams reopened after they dropped.', labelNames: ['engine'], registers: [registry] }),
  refreshFailures: new client.Counter({ name: 'swarm_engine_refresh_failures_total', help: 'Periodic full refreshes of an engine that failed.', labelNames: ['engine'], registers: [registry] }),
  discoveryErrors: new client.Counter({ name: 'swarm_discovery_errors_total', help: 'Discovery reads or watches that failed.', registers: [registry] }),
  leaderFailovers: new client.Counter({ name: 'swarm_leader_failovers_total', help: 'Times the primary changed as seen by this manager (--replication).', registers: [registry] }),
  reschedules: new client.Counter({ name: 'swarm_reschedules_total', help: 'Containers rescheduled after an engine failure, by result (rescheduled, failed).', labelNames: ['result'], registers: [registry] }),
  broadcastEngines: new client.Counter({ name: 'swarm_broadcast_engine_operations_total', help: 'Per-engine outcomes of pull/import/load sent to many engines.', labelNames: ['operation', 'result'], registers: [registry] }),
};

export type Metrics = typeof metrics;

/** Leadership as the replication layer reports it; without it the manager is alone and primary. */
export interface LeadershipStatus {
  replicated: boolean;
  leader: boolean;
  /** Address of the known primary ('' when none is known). */
  primary: string;
}

export interface ServiceStatus {
  name: string;
  desired: number;
  running: number;
}

let leadership: () => LeadershipStatus = () => ({ replicated: false, leader: true, primary: '' });
let services: () => ServiceStatus[] = () => [];
/** A scrape-time collector; a slow one (the per-engine families) returns a promise and yields to the loop as it goes. */
type Collector = (m: Metrics) => string | void | Promise<string | void>;
const collectors: Collector[] = [];

/** The replication layer (issue 8) tells who leads; read by /metrics, /readyz and the page. */
export function setLeadership(source: () => LeadershipStatus): void {
  leadership = source;
}

export function currentLeadership(): LeadershipStatus {
  return leadership();
}

/** The services layer (issue 11) lists services with desired/running; read by /metrics and the page. */
export function setServices(source: () => ServiceStatus[]): void {
  services = source;
}

export function currentServices(): ServiceStatus[] {
  return services();
}

/**
 * Per-engine gauge families (containers by state, CPUs, memory...) rendered straight to the
 * exposition format. At 1,000 engines that is ~8,000 series per scrape; going through
 * prom-client's labelled gauges (hash, store, format each) measured ~5x slower than this
 * writer (bench: see README "Operating"), for the same output.
 */
export class GaugeFamily {
  private readonly lines: string[] = [];

  constructor(readonly name: string, private readonly help: string, private readonly labelNames: string[]) {}

  add(labelValues: string[], value: number): void {
    this.lines.push(this.line(labelValues, value));
  }

  /** One sample line, e.g. to cache it and pass it to addLine later. */
  line(labelValues: string[], value: number): string {
    let labels = '';
    for (let i = 0; i < this.labelNames.length; i++) labels += `${i > 0 ? ',' : ''}${this.labelNames[i]}="${escapeLabel(labelValues[i])}"`;
    return `${this.name}{${labels}} ${formatValue(value)}`;
  }

  addLine(line: string): void {
    this.lines.push(line);
  }

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.lines.join('\n')}${this.lines.length > 0 ? '\n' : ''}`;
  }
}

function escapeLabel(value: string): string {
  return /[\\\n"]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * Adds a function run before each scrape: it may set gauges of `metrics` and may return
 * exposition text of its own (GaugeFamily.render). Returns its removal.
 */
export function registerCollector(collect: Collector): () => void {
  collectors.push(collect);
  return () => {
    const i = collectors.indexOf(collect);
    if (i >= 0) collectors.splice(i, 1);
  };
}

let defaultMetricsStarted = false;

/** Process metrics (heap, CPU, event-loop lag, GC) under prom-client's standard names. */
export function startProcessMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  replaceScalingCollectors();
}

/**
 * Three of prom-client's defaults grow with the connections, so with the engines: at 5,000
 * engines (10,000 sockets) `process_open_fds` read /proc/self/fd synchronously (14-16 ms) and
 * the two handle gauges each listed every libuv handle (6-8 ms apiece), ~30 ms of one scrape in
 * one piece. Same names, help and values; the directory is read off the event loop, and the
 * handles are listed once per scrape for both gauges.
 */
function replaceScalingCollectors(): void {
  for (const name of ['process_open_fds', 'nodejs_active_handles', 'nodejs_active_handles_total']) {
    if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  }
  if (process.platform === 'linux') {
    new client.Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers: [registry],
      async collect() {
        try {
          // Minus the descriptor the read itself held open.
          this.set((await fs.readdir('/proc/self/fd')).length - 1);
        } catch {
          // /proc unreadable (a restricted container): the gauge keeps its last value
        }
      },
    });
  }
  const handles = activeHandlesPerScrape();
  new client.Gauge({
    name: 'nodejs_active_handles',
    help: 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of handles().byType) this.set({ type }, count);
    },
  });
  new client.Gauge({
    name: 'nodejs_active_handles_total',
    help: 'Total number of active handles.',
    registers: [registry],
    collect() {
      this.set(handles().total);
    },
  });
}

/**
 * The active handles counted by type, listed once per registry read: prom-client calls every
 * metric's collect in one synchronous pass, so the count is dropped at the next microtask.
 */
function activeHandlesPerScrape(): () => { total: number; byType: Map<string, number> } {
  let counted: { total: number; byType: Map<string, number> } | undefined;
  return () => {
    if (counted) return counted;
    // process._getActiveHandles is what prom-client reads; not in @types/node.
    const list = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
    const byType = new Map<string, number>();
    for (const handle of list) {
      const type = handle?.constructor?.name;
      if (type) byType.set(type, (byType.get(type) ?? 0) + 1);
    }
    counted = { total: list.length, byType };
    queueMicrotask(() => (counted = undefined));
    return counted;
  };
}

/** Runs the collectors and renders the exposition text. */
export async function scrape(): Promise<string> {
  const lead = leadership();
  metrics.leader.set(lead.leader ? 1 : 0);
  metrics.serviceDesired.reset();
  metrics.serviceRunning.reset();
  for (const s of services()) {
    metrics.serviceDesired.set({ service: s.name }, s.desired);
    metrics.serviceRunning.set({ service: s.name }, s.running);
  }
  let text = '';
  for (const collect of collectors) text += (await collect(metrics)) ?? '';
  return (await registry.metrics()) + text;
}

export const METRICS_CONTENT_TYPE = registry.contentType;
