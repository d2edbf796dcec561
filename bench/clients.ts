/**
 * Concurrent-clients phase (after the fill, at the final size): `clients` Docker clients, each
 * on its own keep-alive connection, send `GET /containers/json?all=1` and `GET /info` in turn
 * for a fixed time (in a worker thread, lib/client-load.ts). Meanwhile this thread sends
 * `GET /_ping` every `pingEveryMs` on a connection of its own: its latency shows how long a
 * request that needs no work waits behind the others. For a manager with --metrics-addr, the
 * manager's own event-loop delay over the phase comes from prom-client's
 * nodejs_eventloop_lag_* gauges (its histogram is reset at each scrape, so a scrape just
 * before and one just after the phase frame it).
 */
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { ClientLoadInput, ClientLoadOutput } from './lib/client-load';
import type { ApiClient } from './lib/http-client';
import { ProcSampler, type UsageOverTime } from './lib/proc-stats';
import { promValue } from './lib/prom-text';
import { summarize, type Summary } from './lib/stats';

export interface ClientsOptions {
  clients: number;
  seconds: number;
  pingEveryMs: number;
  /** Stops the phase early when the manager's RSS passes this (protects the shared machine). */
  rssLimitMB: number;
}

export interface ClientsResult {
  clients: number;
  seconds: number;
  /** /_ping through the manager every pingEveryMs, on its own connection. */
  ping: Summary;
  ps: Summary;
  info: Summary;
  /** Completed requests per second over the phase. */
  psPerSec: number;
  infoPerSec: number;
  psMBPerSec: number;
  errors: number;
  errorExamples: string[];
  /** The manager's event-loop delay over the phase (ms), when it exposes prom-client's gauges. */
  loopLag?: { p50: number; p99: number; max: number };
  /** This benchmark thread's own event-loop delay p99/max (ms): large values would inflate the /_ping figures. */
  probeLoopLag: { p99: number; max: number };
  manager: UsageOverTime;
  aborted?: string;
}

const PS = '/containers/json?all=1';
const INFO = '/info';

export async function runClients(manager: { port: number; pid: number }, metrics: ApiClient | undefined, options: ClientsOptions, log: (m: string) => void): Promise<ClientsResult> {
  if (metrics) await metrics.request('GET', '/metrics', { timeoutMs: 60_000 }); // resets the lag histogram
  let aborted: string | undefined;
  const input: ClientLoadInput = { port: manager.port, clients: options.clients, seconds: options.seconds, paths: [PS, INFO], timeoutMs: 300_000 };
  const worker = new Worker(path.join(__dirname, 'lib', 'client-load.js'), { workerData: input });
  const sampler = new ProcSampler(manager.pid, 500, (rssMB) => {
    if (!aborted && rssMB > options.rssLimitMB) {
      aborted = `stopped early: manager RSS ${rssMB} MB passed --rss-limit-mb ${options.rssLimitMB}`;
      log(`clients: ${aborted}`);
      worker.postMessage('stop');
    }
  });
  const loadDone = new Promise<ClientLoadOutput>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let finished = false;
  void loadDone.finally(() => (finished = true)).catch(() => undefined);

  const ownLag = monitorEventLoopDelay({ resolution: 5 });
  ownLag.enable();
  const pingAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pings: number[] = [];
  let pingErrors = 0;
  while (!finished) {
    const t0 = Date.now();
    try {
      pings.push(await ping(pingAgent, manager.port));
    } catch {
      pingErrors++;
    }
    const wait = t0 + options.pingEveryMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  ownLag.disable();
  pingAgent.destroy();
  const out = await loadDone;
  await worker.terminate();
  const usage = sampler.stop();

  let loopLag: ClientsResult['loopLag'];
  if (metrics) {
    const res = await metrics.request('GET', '/metrics', { keepBody: true, timeoutMs: 60_000 });
    const text = res.body?.toString('utf8') ?? '';
    const ms = (name: string): number => Math.round((promValue(text, name) ?? NaN) * 1000 * 10) / 10;
    loopLag = { p50: ms('nodejs_eventloop_lag_p50_seconds'), p99: ms('nodejs_eventloop_lag_p99_seconds'), max: ms('nodejs_eventloop_lag_max_seconds') };
  }
  const seconds = out.elapsedMs / 1000;
  return {
    clients: options.clients,
    seconds: Math.round(seconds * 10) / 10,
    ping: summarize(pings),
    ps: summarize(out.latencies[PS]),
    info: summarize(out.latencies[INFO]),
    psPerSec: Math.round((out.latencies[PS].length / seconds) * 10) / 10,
    infoPerSec: Math.round((out.latencies[INFO].length / seconds) * 10) / 10,
    psMBPerSec: Math.round((out.bytes[PS] / 1024 / 1024 / seconds) * 10) / 10,
    errors: out.errors + pingErrors,
    errorExamples: out.errorExamples.concat(pingErrors ? [`${pingErrors} /_ping failed`] : []),
    loopLag,
    probeLoopLag: { p99: Math.round(ownLag.percentile(99) / 1e5) / 10, max: Math.round(ownLag.max / 1e5) / 10 },
    manager: usage,
    aborted,
  };
}

function ping(agent: http.Agent, port: number): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/_ping', agent }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode ?? 0) === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`/_ping -> ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('/_ping timed out')));
  });
}
