/**
 * Event-storm phase (after the fill, at the final size): the simulator makes every engine
 * pause/unpause its containers at `rate` events/s for `seconds` (bench/sim/storm.ts), each
 * with dockerd's event, so each event changes what `ps -a` shows.
 *
 * - Event-to-ps lag: the simulator reports one change every `sampleMs` with the time it wrote
 *   the event. For each, this side polls the manager's `GET /containers/json?all=1` with an
 *   `id` filter for that container, back to back, until its State is the new one; the lag is
 *   the time of that answer minus the emission time (same machine clock). A poll's own
 *   duration is included (the figure is an upper bound by at most one poll). A change not
 *   shown within `holdMs` counts as a timeout (and as holdMs in the percentiles).
 * - Lost events: `subscribers` clients read the manager's `/events` as fast as they can and
 *   count the container pause/unpause events they get; the simulator says how many it emitted.
 * - The manager's and the simulator's CPU and RSS are sampled every second.
 */
import http from 'node:http';
import type { ApiClient } from './lib/http-client';
import { ProcSampler, type UsageOverTime } from './lib/proc-stats';
import { summarize, type Summary } from './lib/stats';

export interface StormPhaseOptions {
  /** Events per second per engine. */
  rate: number;
  seconds: number;
  sampleMs: number;
  holdMs: number;
  subscribers: number;
  /** After the storm, how long subscribers may take to catch up. */
  drainMs: number;
}

export interface StormResult {
  rate: number;
  seconds: number;
  engines: number;
  /** pause/unpause events the simulator emitted. */
  emitted: number;
  /** Simulator ticks that ran late (> 3 ticks): it was the bottleneck if many. */
  simLateTicks: number;
  simTicks: number;
  /** Event-to-ps lag of the sampled changes (ms), timeouts counted as holdMs. */
  lag: Summary;
  sampled: number;
  timeouts: number;
  pollErrors: number;
  /** The first poll errors' messages (e.g. a ps that took longer than the hold time). */
  pollErrorExamples: string[];
  /** Per /events subscriber: pause/unpause events received. */
  received: number[];
  /** emitted - min(received), never below 0. */
  lost: number;
  manager: UsageOverTime;
  sim: UsageOverTime;
  errors: string[];
}

interface Sample {
  engine: number;
  id: string;
  state: 'running' | 'paused';
  emittedAtMs: number;
}

interface Done {
  emitted: number;
  durationMs: number;
  lateTicks: number;
  ticks: number;
  engines: number;
}

const STORM_EVENT = /"Action":"(?:un)?pause"/g;
const STORM_EVENT_MAX_LENGTH = '"Action":"unpause"'.length;

export async function runStormPhase(
  manager: { port: number; pid: number; client: ApiClient },
  sim: { pids: number[]; controlPorts: number[]; perProcess: number },
  options: StormPhaseOptions,
  log: (m: string) => void,
): Promise<StormResult> {
  const errors: string[] = [];
  const subscribers = await Promise.all(Array.from({ length: options.subscribers }, () => subscribe(manager.port)));
  const managerUsage = new ProcSampler(manager.pid, 1000);
  const simUsage = new ProcSampler(sim.pids, 1000);
  const lags: number[] = [];
  let timeouts = 0;
  let pollErrors = 0;
  const pollErrorExamples: string[] = [];
  const pollError = (message: string): void => {
    pollErrors++;
    if (pollErrorExamples.length < 3) pollErrorExamples.push(message);
  };
  const watchers: Promise<void>[] = [];

  const watch = async (s: Sample): Promise<void> => {
    const path = `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ id: [s.id] }))}`;
    const deadline = s.emittedAtMs + options.holdMs;
    while (Date.now() < deadline) {
      try {
        const res = await manager.client.request('GET', path, { keepBody: true, timeoutMs: options.holdMs });
        const list = res.status === 200 ? (JSON.parse(res.body!.toString('utf8')) as Array<{ State?: string }>) : [];
        if (list[0]?.State === s.state) {
          lags.push(Date.now() - s.emittedAtMs);
          return;
        }
        if (res.status !== 200) pollError(`GET /containers/json?filters=id -> ${res.status}`);
      } catch (err) {
        pollError((err as Error).message.replace(/\?all=1&filters=\S+/, '?all=1&filters={"id":[…]}'));
      }
    }
    timeouts++;
    lags.push(options.holdMs);
  };

  // Every simulator process storms its engines at the same time; each samples one change per
  // sampleMs * processes, so the whole storm samples about one per sampleMs.
  const processes = sim.controlPorts.length;
  const query = `rate=${options.rate}&seconds=${options.seconds}&sample-ms=${options.sampleMs * processes}&hold-ms=${options.holdMs}`;
  const parts = await Promise.all(sim.controlPorts.map((port, j) => stormOn(port, query, (s) => watchers.push(watch({ ...s, engine: s.engine + j * sim.perProcess })))));
  const done: Done = {
    emitted: parts.reduce((a, p) => a + p.emitted, 0),
    durationMs: Math.max(...parts.map((p) => p.durationMs)),
    lateTicks: parts.reduce((a, p) => a + p.lateTicks, 0),
    ticks: parts.reduce((a, p) => a + p.ticks, 0),
    engines: parts.reduce((a, p) => a + p.engines, 0),
  };
  log(`storm: simulator emitted ${done.emitted} events in ${(done.durationMs / 1000).toFixed(1)} s (${done.lateTicks}/${done.ticks} late ticks)`);
  await Promise.all(watchers);

  // Let subscribers catch up: until each has all events, or nothing new arrived for 3 s, or drainMs.
  const drainDeadline = Date.now() + options.drainMs;
  let lastTotal = -1;
  let stableSince = Date.now();
  while (Date.now() < drainDeadline && subscribers.some((s) => s.count < done.emitted)) {
    const total = subscribers.reduce((a, s) => a + s.count, 0);
    if (total !== lastTotal) {
      lastTotal = total;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 3000) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  for (const s of subscribers) {
    s.close();
    if (s.error) errors.push(s.error);
  }
  const received = subscribers.map((s) => s.count);
  return {
    rate: options.rate,
    seconds: options.seconds,
    engines: done.engines,
    emitted: done.emitted,
    simLateTicks: done.lateTicks,
    simTicks: done.ticks,
    lag: summarize(lags),
    sampled: lags.length,
    timeouts,
    pollErrors,
    pollErrorExamples,
    received,
    lost: Math.max(0, done.emitted - Math.min(...received, done.emitted)),
    manager: managerUsage.stop(),
    sim: simUsage.stop(),
    errors,
  };
}

/** POST /storm on one simulator process's control port; calls onSample per sampled change; resolves with its totals. */
function stormOn(port: number, query: string, onSample: (s: Sample) => void): Promise<Done> {
  return new Promise<Done>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/storm?${query}` }, (res) => {
      let buffer = '';
      let result: Done | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const msg = JSON.parse(line) as { sample?: Sample; done?: Done };
          if (msg.sample) onSample(msg.sample);
          if (msg.done) result = msg.done;
        }
      });
      res.on('end', () => (result ? resolve(result) : reject(new Error(`storm control answered ${res.statusCode} without a result`))));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Subscriber {
  count: number;
  error?: string;
  close(): void;
}

/**
 * A `/events` reader that counts container pause/unpause events. Resolves once the response
 * headers arrive, or after 5 s (a manager may hold them back until the first event).
 */
function subscribe(port: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const sub: Subscriber = { count: 0, close: () => req.destroy() };
    setTimeout(() => resolve(sub), 5000);
    let rest = '';
    const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /events -> ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // Classic swarm writes events back to back without newlines, so count matches in the
        // text itself. A match split across chunks is found in `rest` (the unmatched tail of
        // the previous chunk, shorter than the pattern) + this chunk; none is counted twice.
        const text = rest + chunk;
        let end = 0;
        for (const m of text.matchAll(STORM_EVENT)) {
          sub.count++;
          end = m.index! + m[0].length;
        }
        rest = text.slice(Math.max(end, text.length - STORM_EVENT_MAX_LENGTH));
      });
      res.on('error', (err) => (sub.error = `events subscriber: ${err.message}`));
      resolve(sub);
    });
    req.on('error', (err) => {
      if (!sub.error && err.message !== 'socket hang up') sub.error = `events subscriber: ${err.message}`;
      reject(err);
    });
  });
}
