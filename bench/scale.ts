/**
 * Scale benchmark: N simulated engines (child processes of up to 1,700 each), a manager over them, the time
 * until all N are Healthy, then a fill to M containers through the manager with create+start
 * (what `docker run -d` sends), pausing at 10/50/90/100% (and at 30,000 containers when the
 * fill goes beyond) to sample `GET /containers/json?all=1` (`docker ps -a`), `GET /info` and
 * the manager's RSS and CPU time. At the final size, optionally: the concurrent-clients phase
 * (clients.ts) and the event storm (storm.ts). Every phase's wall time is recorded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runClients, type ClientsOptions, type ClientsResult } from './clients';
import { runStormPhase, type StormPhaseOptions, type StormResult } from './storm';
import { waitAllHealthy } from './lib/cluster-info';
import { ApiClient, expectOk } from './lib/http-client';
import { freePort } from '../testbed/ports';
import { tailLines } from '../testbed/processes';
import { startManagerCommand, startSimHost, type RunningManager } from './lib/processes';
import { openFiles, procStats } from './lib/proc-stats';
import type { Progress } from './lib/progress';
import { shift, summarize, type Summary } from './lib/stats';

export interface ScaleOptions {
  engines: number;
  containers: number;
  concurrency: number;
  /** The simulator's delay per API call. */
  latencyMs: number;
  /** Samples of ps and info at each checkpoint. */
  samples: number;
  /** Containers created one at a time at each checkpoint (create+start alone, own share). */
  singleSamples: number;
  discovery: 'nodes' | 'file';
  /** Simulated engines per simulator process (see ENGINES_PER_SIM_PROCESS). */
  enginesPerSim?: number;
  healthyTimeoutMs: number;
  /** Percentages of `containers` where the fill pauses to sample (30,000 is added when the fill passes it). */
  checkpoints: number[];
  /** The concurrent-clients phase at the final size (skipped when undefined or clients = 0). */
  clients?: ClientsOptions;
  /** The event storm at the final size (skipped when undefined or seconds = 0). */
  storm?: StormPhaseOptions;
  /** Starts the manager with --metrics-addr and samples GET /metrics at each checkpoint (swarm-ts only). */
  metrics?: boolean;
}

export interface ScaleCheckpoint {
  percent: number;
  /** Containers created and started so far. */
  containers: number;
  /** How many containers the last `ps -a` sample returned (checks the fill is real). */
  listed: number;
  /** create+start through the manager during the concurrent fill since the previous checkpoint (includes queueing). */
  createStart: Summary;
  /** create+start one at a time at this fill level (what one `docker run -d` sees). */
  single: Summary;
  /**
   * The manager's own share of each `single` sample: its time minus how long the engine held
   * the two calls (create, start), as the simulated engine measured it (sim/engine-time.ts).
   */
  singleOwn: Summary;
  /** `single` minus the nominal latency of the two calls (2 x latencyMs): also charges the simulator's lateness to the manager. */
  singleOwnNominal: Summary;
  /** How long the engine held the two calls, per sample (what singleOwn subtracts). */
  singleEngine: Summary;
  /** Throughput of that fill segment (containers/s at the configured concurrency). */
  fillRate: number;
  ps: Summary;
  psMB: number;
  info: Summary;
  /** GET /metrics on --metrics-addr (when options.metrics): scrape time and exposition size. */
  metrics?: Summary;
  metricsKB?: number;
  /** The manager's CPU time per request (from /proc, over all samples): robust to a loaded machine, unlike latency. */
  metricsCpuMs?: number;
  /** GET /api/cluster (the cluster page's first page: 12 engine columns x 24 cards, the totals and services), same sampling. */
  page?: Summary;
  pageKB?: number;
  pageCpuMs?: number;
  infoCpuMs?: number;
  rssMB: number;
  cpuSec: number;
  /** The manager's open file descriptors (its limit is in ScaleResult.fdLimit). */
  fds: number;
}

/** One step of the run and its wall time. */
export interface PhaseTime {
  phase: string;
  seconds: number;
}

export interface ScaleResult {
  manager: string;
  command: string;
  engines: number;
  containers: number;
  latencyMs: number;
  concurrency: number;
  discovery: string;
  /** From spawning the manager to all engines Healthy in its /info. */
  healthyMs: number;
  /** Manager RSS/CPU right after all engines became Healthy (no containers). */
  idle: { rssMB: number; cpuSec: number };
  checkpoints: ScaleCheckpoint[];
  /** All containers over all concurrent fill segments / their summed time (probes and sampling excluded). */
  fillRate: number;
  clients?: ClientsResult;
  storm?: StormResult;
  /** Manager RSS max over the whole run (checkpoints and phases). */
  rssMBMax: number;
  /** The simulator host process at the end of the run (it must not be the bottleneck). */
  sim: { rssMB: number; cpuSec: number };
  phases: PhaseTime[];
  /** Open-files limit of the manager and the most descriptors any simulator process held at the end of the fill. */
  fdLimit: number;
  simFdsMax: number;
  errors: { count: number; examples: string[] };
  aborted?: string;
  /** Failures of the clients/storm phases (the rest of the run stands). */
  phaseErrors: string[];
}

/** The fill levels to pause at: the given percentages, plus 30,000 containers when the fill passes it (issue 13's figure at 1,000 engines). */
export function checkpointTargets(containers: number, percents: number[]): Array<{ percent: number; target: number }> {
  const list = percents.map((percent) => ({ percent, target: Math.round((containers * percent) / 100) }));
  if (containers > 30_000 && !list.some((c) => c.target === 30_000)) list.push({ percent: Math.round((30_000 / containers) * 1000) / 10, target: 30_000 });
  return list.sort((a, b) => a.target - b.target);
}

const CONTAINER_BODY = { Image: 'busybox', Cmd: ['sleep', '86400'], Labels: { 'bench.swarm-ts': 'scale' } };
const MAX_ERROR_EXAMPLES = 5;

export async function runScale(label: string, command: string, options: ScaleOptions, progress: Progress): Promise<ScaleResult> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'swarm-bench-'));
  const discoveryFile = path.join(tmp, 'engines.txt');
  const phase = `scale ${label}`;
  const phases: PhaseTime[] = [];
  let phaseStart = Date.now();
  const endPhase = (name: string): void => {
    const now = Date.now();
    const prev = phases.find((p) => p.phase === name);
    if (prev) prev.seconds = Math.round((prev.seconds + (now - phaseStart) / 1000) * 10) / 10;
    else phases.push({ phase: name, seconds: Math.round((now - phaseStart) / 100) / 10 });
    phaseStart = now;
  };
  progress.update(`${phase}: engines`, 0, `starting ${options.engines} simulated engines`);
  const sims = await startSimHost(options.engines, options.latencyMs, discoveryFile, options.enginesPerSim);
  endPhase('simulator start');
  let manager: RunningManager | undefined;
  try {
    const discovery = options.discovery === 'file' ? `file://${discoveryFile}` : `nodes://${sims.range}`;
    const metricsPort = options.metrics ? await freePort() : 0;
    manager = await startManagerCommand(label, metricsPort ? `${command} --metrics-addr 127.0.0.1:${metricsPort}` : command, discovery);
    const metricsClient = metricsPort ? new ApiClient(metricsPort) : undefined;
    const result: ScaleResult = {
      manager: label, command, engines: options.engines, containers: options.containers, latencyMs: options.latencyMs,
      concurrency: options.concurrency, discovery, healthyMs: NaN, idle: { rssMB: NaN, cpuSec: NaN }, checkpoints: [],
      fillRate: NaN, fdLimit: NaN, simFdsMax: NaN, rssMBMax: 0, sim: { rssMB: NaN, cpuSec: NaN }, phases, errors: { count: 0, examples: [] }, phaseErrors: [],
    };
    const m = manager;
    await waitAllHealthy(m.client, options.engines, options.healthyTimeoutMs, (h) =>
      progress.update(`${phase}: engines healthy`, h.healthy / options.engines, `${h.healthy}/${options.engines} Healthy (Nodes: ${h.nodes})`),
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last lines of the manager's log:\n${tailLines(m.logs(), 10)}`);
    });
    result.healthyMs = Date.now() - m.startedAt;
    result.idle = pick(procStats(m.pid));
    endPhase('manager start + all Healthy');
    progress.log(`${phase}: ${options.engines} engines Healthy after ${(result.healthyMs / 1000).toFixed(1)} s`);

    let created = 0;
    let attempts = 0;
    let filled = 0;
    let fillMs = 0;
    for (const { percent, target } of checkpointTargets(options.containers, options.checkpoints)) {
      // The last `singleSamples` containers of each step are created one at a time (the probe).
      const fillTarget = Math.max(created, target - options.singleSamples);
      const segment: number[] = [];
      const segmentStart = Date.now();
      const maxAttempts = Math.ceil(target * 1.02) + 50;
      const inFlight = { count: 0 };
      const worker = async (): Promise<void> => {
        while (created + inFlight.count < fillTarget && attempts < maxAttempts) {
          attempts++;
          inFlight.count++;
          try {
            segment.push(await createAndStart(m));
            created++;
          } catch (err) {
            result.errors.count++;
            if (result.errors.examples.length < MAX_ERROR_EXAMPLES) result.errors.examples.push((err as Error).message);
          } finally {
            inFlight.count--;
          }
          if (created % 50 === 0) {
            progress.update(`${phase}: fill`, created / options.containers, `${created}/${options.containers} containers`);
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      const fillSeconds = (Date.now() - segmentStart) / 1000;
      filled += segment.length;
      fillMs += Date.now() - segmentStart;
      endPhase('fill (concurrent)');
      const probe: number[] = [];
      const probeIds: string[] = [];
      for (let i = 0; created < target && i < options.singleSamples * 2; i++) {
        try {
          probe.push(await createAndStart(m, probeIds));
          created++;
        } catch (err) {
          result.errors.count++;
          if (result.errors.examples.length < MAX_ERROR_EXAMPLES) result.errors.examples.push((err as Error).message);
        }
        progress.update(`${phase}: sample at ${percent}%`, probe.length / (options.singleSamples * 3), `create+start one at a time`);
      }
      endPhase('fill (one at a time)');
      if (created < target) {
        result.aborted = `fill stopped at ${created}/${target} containers after ${result.errors.count} errors (first: ${result.errors.examples[0] ?? 'none'})`;
        progress.log(`${phase}: ${result.aborted}`);
      }
      const sampled = await sampleCheckpoint(m, options.samples, (i) =>
        progress.update(`${phase}: sample at ${percent}%`, (options.samples + i) / (options.samples * 3), `ps -a / info over ${created} containers`),
      );
      const scraped = metricsClient ? await sampleMetrics(metricsClient, () => '/metrics', options.samples, m.pid) : undefined;
      const paged = metricsClient ? await sampleMetrics(metricsClient, pageView, options.samples, m.pid) : undefined;
      endPhase('checkpoint sampling (ps, info, metrics)');
      const single = summarize(probe);
      const createStart = summarize(segment);
      const engineMs = await engineTimeOf(sims.controlPorts, probeIds);
      const own = probe.flatMap((ms, i) => (engineMs[probeIds[i]] === undefined ? [] : [ms - engineMs[probeIds[i]]]));
      if (own.length < probe.length) progress.log(`${phase}: ${percent}%: the simulator had no time for ${probe.length - own.length} of ${probe.length} samples`);
      result.checkpoints.push({
        percent, containers: created, listed: sampled.listed, createStart, single,
        singleOwn: summarize(own), singleOwnNominal: shift(single, 2 * options.latencyMs), singleEngine: summarize(Object.values(engineMs)), fillRate: Math.round(segment.length / Math.max(fillSeconds, 0.001)),
        ps: sampled.ps, psMB: sampled.psMB, info: sampled.info, metrics: scraped?.summary, metricsKB: scraped?.kb, metricsCpuMs: scraped?.cpuMs,
        page: paged?.summary, pageKB: paged?.kb, pageCpuMs: paged?.cpuMs, infoCpuMs: sampled.infoCpuMs, ...pick(procStats(m.pid)), fds: openFiles(m.pid).open,
      });
      progress.log(
        `${phase}: ${percent}% (${created} containers): create+start p50 ${createStart.p50} ms p99 ${createStart.p99} ms, ` +
          `single p50 ${single.p50} ms p99 ${single.p99} ms, ps -a p50 ${sampled.ps.p50} ms (${sampled.listed} listed), info p50 ${sampled.info.p50} ms, ` +
          (scraped ? `/metrics p50 ${scraped.summary.p50} ms p99 ${scraped.summary.p99} ms (${scraped.kb} KB; manager CPU ${scraped.cpuMs} ms per scrape vs ${sampled.infoCpuMs} ms per info), ` : '') +
          (paged ? `page view p50 ${paged.summary.p50} ms p99 ${paged.summary.p99} ms (${paged.kb} KB; manager CPU ${paged.cpuMs} ms), ` : '') + `RSS ${procStats(m.pid).rssMB} MB`,
      );
      result.rssMBMax = Math.max(result.rssMBMax, result.checkpoints[result.checkpoints.length - 1].rssMB);
      if (result.aborted) break;
    }
    result.fillRate = Math.round(filled / Math.max(fillMs / 1000, 0.001));
    result.fdLimit = openFiles(m.pid).limit;
    result.simFdsMax = Math.max(...sims.pids.map((pid) => openFiles(pid).open));

    if (!result.aborted && options.clients && options.clients.clients > 0 && options.clients.seconds > 0) {
      progress.update(`${phase}: clients`, 0, `${options.clients.clients} clients for ${options.clients.seconds} s`);
      try {
        result.clients = await runClients(m, metricsClient, options.clients, (msg) => progress.log(`${phase}: ${msg}`));
        result.rssMBMax = Math.max(result.rssMBMax, result.clients.manager.rssMBMax);
        const c = result.clients;
        progress.log(`${phase}: clients: /_ping p50 ${c.ping.p50} p99 ${c.ping.p99} max ${c.ping.max} ms; ps ${c.psPerSec}/s p50 ${c.ps.p50} ms; info ${c.infoPerSec}/s p50 ${c.info.p50} ms` + (c.loopLag ? `; manager loop lag max ${c.loopLag.max} ms` : ''));
      } catch (err) {
        result.phaseErrors.push(`clients: ${(err as Error).message}`);
        progress.log(`${phase}: clients phase failed: ${(err as Error).message}`);
      }
      endPhase('concurrent clients');
    }
    if (!result.aborted && options.storm && options.storm.seconds > 0 && options.storm.rate > 0) {
      progress.update(`${phase}: event storm`, 0, `${options.storm.rate} events/s per engine for ${options.storm.seconds} s`);
      try {
        result.storm = await runStormPhase(m, sims, options.storm, (msg) => progress.log(`${phase}: ${msg}`));
        result.rssMBMax = Math.max(result.rssMBMax, result.storm.manager.rssMBMax);
        const st = result.storm;
        progress.log(`${phase}: storm: lag p50 ${st.lag.p50} p99 ${st.lag.p99} ms (${st.sampled} sampled, ${st.timeouts} timeouts); received ${st.received.join('/')} of ${st.emitted}`);
      } catch (err) {
        result.phaseErrors.push(`storm: ${(err as Error).message}`);
        progress.log(`${phase}: storm phase failed: ${(err as Error).message}`);
      }
      endPhase('event storm');
    }
    result.sim = pick(procStats(sims.pids));
    return result;
  } finally {
    await manager?.stop();
    await sims.stop();
    rmSync(tmp, { recursive: true, force: true });
    endPhase('stop');
  }
}

/** create + start of one container through the manager; returns the total latency in ms. */
/** Creates and starts one container; its ID is appended to `ids` when given. */
async function createAndStart(manager: RunningManager, ids?: string[]): Promise<number> {
  const create = await manager.client.request('POST', '/containers/create', { json: CONTAINER_BODY, keepBody: true });
  expectOk(create, 'POST /containers/create');
  const id = (JSON.parse(create.body!.toString('utf8')) as { Id: string }).Id;
  const start = await manager.client.request('POST', `/containers/${id}/start`, { keepBody: true });
  expectOk(start, `POST /containers/${id}/start`);
  ids?.push(id);
  return create.ms + start.ms;
}

/** How long the simulated engines held each container's create and start (sim/control.ts). */
async function engineTimeOf(controlPorts: number[], ids: string[]): Promise<Record<string, number>> {
  const parts = await Promise.all(controlPorts.map(async (port) => {
    const control = new ApiClient(port);
    try {
      const res = expectOk(await control.request('POST', '/engine-time', { json: ids, keepBody: true }), 'POST /engine-time');
      return JSON.parse(res.body!.toString('utf8')) as Record<string, number>;
    } finally {
      control.close();
    }
  }));
  return Object.assign({}, ...parts) as Record<string, number>;
}

async function sampleCheckpoint(
  manager: RunningManager,
  samples: number,
  onSample: (i: number) => void,
): Promise<{ ps: Summary; psMB: number; listed: number; info: Summary; infoCpuMs: number }> {
  const ps: number[] = [];
  const info: number[] = [];
  let listed = 0;
  let bytes = 0;
  for (let i = 0; i < samples; i++) {
    const last = i === samples - 1;
    const res = expectOk(await manager.client.request('GET', '/containers/json?all=1', { keepBody: last, timeoutMs: 120_000 }), 'GET /containers/json?all=1');
    ps.push(res.ms);
    bytes = res.bytes;
    if (last) listed = (JSON.parse(res.body!.toString('utf8')) as unknown[]).length;
    onSample(i + 1);
  }
  const cpuBefore = procStats(manager.pid).cpuSec;
  for (let i = 0; i < samples; i++) {
    info.push(expectOk(await manager.client.request('GET', '/info', { timeoutMs: 60_000 }), 'GET /info').ms);
    onSample(samples + i + 1);
  }
  const infoCpuMs = Math.round(((procStats(manager.pid).cpuSec - cpuBefore) * 1000 * 10) / samples) / 10;
  return { ps: summarize(ps), psMB: Math.round((bytes / 1024 / 1024) * 100) / 100, listed, info: summarize(info), infoCpuMs };
}

/**
 * The cluster page's request when it opens or follows a change, default sizes. Each sample asks
 * another page: the manager reuses an answer for the same query while nothing changed, and the
 * figure is what a computation costs (a walk over every engine and container).
 */
const pageView = (i: number): string => `/api/cluster?page=${i}&perPage=12&cards=24`;

/** GET `urlPath(i)` on the metrics address `samples` times: what a Prometheus scrape (or the page's view) costs at this fill level. */
async function sampleMetrics(client: ApiClient, urlPath: (sample: number) => string, samples: number, pid: number): Promise<{ summary: Summary; kb: number; cpuMs: number }> {
  const times: number[] = [];
  let bytes = 0;
  const cpuBefore = procStats(pid).cpuSec;
  for (let i = 0; i < samples; i++) {
    const res = expectOk(await client.request('GET', urlPath(i), { timeoutMs: 60_000 }), `GET ${urlPath(i)}`);
    times.push(res.ms);
    bytes = res.bytes;
  }
  const cpuMs = Math.round(((procStats(pid).cpuSec - cpuBefore) * 1000 * 10) / samples) / 10;
  return { summary: summarize(times), kb: Math.round(bytes / 1024), cpuMs };
}

function pick(stats: { rssMB: number; cpuSec: number }): { rssMB: number; cpuSec: number } {
  return { rssMB: stats.rssMB, cpuSec: Math.round(stats.cpuSec * 100) / 100 };
}
