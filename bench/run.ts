/**
 * `npm run bench`: the scale benchmark (simulated engines) and the overhead benchmark (real
 * engines) for one manager command, or two side by side. Prints a table, writes
 * bench/results/<timestamp>.json. See bench/README.md for what each figure means.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runOverhead, type OverheadOptions } from './overhead';
import { checkTargets, renderReport, type BenchReport, type ManagerResults } from './report';
import { runScale, type ScaleOptions } from './scale';
import { REPO_ROOT } from './lib/processes';
import { Progress } from './lib/progress';

interface RunOptions {
  only?: 'scale' | 'overhead';
  quick: boolean;
  managerCmd: string;
  label: string;
  compareCmd?: string;
  compareLabel: string;
  outDir: string;
  /** Scale part repetitions (fresh simulator and manager each); clients and storm run in the last one. */
  runs: number;
  /** Of the `runs`, how many the compared manager takes part in (the last ones). */
  compareRuns?: number;
  /** Pass --metrics-addr to the manager under test (classic swarm has no such flag). */
  metrics: boolean;
  scale: ScaleOptions;
  overhead: OverheadOptions;
}

const FULL_SCALE = { engines: 1000, containers: 30000 };
const MB = 1024 * 1024;

const USAGE = `Usage: npm run bench -- [options]
  --only scale|overhead     run one part (default: both)
  --quick                   development size: 100 engines / 3,000 containers, 5 samples, 50 single samples,
                            20 clients for 5 s, a 10 s storm, 20 MB logs, 10 MB image
  --manager-cmd CMD         manager command; "-H tcp://127.0.0.1:PORT <discovery>" is appended
                            (default: "bin/swarm manage", run in the repository root)
  --label NAME              name of that manager in the report (default: swarm-ts)
  --compare-cmd CMD         a second manager, measured the same way and shown side by side
  --compare-label NAME      its name (default: other)
  --engines N               simulated engines (default 1000)
  --containers N            containers to fill (default 30000)
  --concurrency N           parallel create+start during the fill (default 16)
  --latency-ms MS           simulated engine latency per call (default 5)
  --samples N               samples per checkpoint / per side (default 20)
  --single-samples N        containers created one at a time per checkpoint, for create+start alone (default 200)
  --runs N                  repeat the scale part N times, fresh simulator and manager each (default 1);
                            reports ps -a p50 per run and the p50 over runs
  --compare-runs N          the compared manager runs only the last N of them (default: all)
  --clients N               concurrent clients after the fill (default 200; 0 skips the phase)
  --clients-seconds S       how long they run (default 20)
  --ping-ms MS              /_ping probe interval during the clients phase (default 20)
  --rss-limit-mb MB         stop the clients phase early if the manager's RSS passes this (default 8000)
  --storm-rate N            event storm: events/s per engine (default 10; 0 skips the phase)
  --storm-seconds S         event storm duration (default 60; 0 skips the phase)
  --storm-sample-ms MS      one sampled change (event-to-ps lag) per MS (default 200)
  --storm-hold-ms MS        a sampled change counts as a timeout after MS (default 5000)
  --storm-subscribers N     /events readers counting what they receive (default 3)
  --engines-per-sim N       simulated engines per simulator process (default 1700: the open-files limit)
  --no-metrics              do not give the manager under test --metrics-addr (e.g. classic as --manager-cmd)
  --stream-samples N        samples per side of logs and image load (default 20)
  --log-mb N                container output read with logs (default 100)
  --image-mb N              random payload of the loaded image (default 50)
  --discovery nodes|file    how the manager finds the simulated engines (default nodes, range syntax)
  --out DIR                 where the JSON result goes (default bench/results)`;

function parseArgs(argv: string[]): RunOptions {
  const quick = argv.includes('--quick');
  const options: RunOptions = {
    quick,
    managerCmd: 'bin/swarm manage',
    label: 'swarm-ts',
    compareLabel: 'other',
    outDir: path.join(REPO_ROOT, 'bench', 'results'),
    runs: 1,
    metrics: true,
    scale: {
      engines: quick ? 100 : FULL_SCALE.engines,
      containers: quick ? 3000 : FULL_SCALE.containers,
      concurrency: 16,
      latencyMs: 5,
      samples: quick ? 5 : 20,
      singleSamples: quick ? 50 : 200,
      discovery: 'nodes',
      healthyTimeoutMs: 300_000,
      checkpoints: [10, 50, 90, 100],
      clients: { clients: quick ? 20 : 200, seconds: quick ? 5 : 20, pingEveryMs: 20, rssLimitMB: 8000 },
      storm: { rate: 10, seconds: quick ? 10 : 60, sampleMs: 200, holdMs: 5000, subscribers: 3, drainMs: 30_000 },
    },
    overhead: {
      samples: quick ? 5 : 20,
      streamSamples: quick ? 5 : 20,
      logBytes: (quick ? 20 : 100) * 1_000_000,
      imageBytes: (quick ? 10 : 50) * MB,
    },
  };
  const int = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const takes = (): string => {
      if (value === undefined) throw new Error(`${flag} needs a value`);
      i++;
      return value;
    };
    switch (flag) {
      case '--quick': break;
      case '--only': {
        const v = takes();
        if (v !== 'scale' && v !== 'overhead') throw new Error(`--only takes scale or overhead, got ${v}`);
        options.only = v;
        break;
      }
      case '--manager-cmd': options.managerCmd = takes(); break;
      case '--label': options.label = takes(); break;
      case '--compare-cmd': options.compareCmd = takes(); break;
      case '--compare-label': options.compareLabel = takes(); break;
      case '--engines': options.scale.engines = int(flag, takes()); break;
      case '--containers': options.scale.containers = int(flag, takes()); break;
      case '--concurrency': options.scale.concurrency = Math.max(1, int(flag, takes())); break;
      case '--latency-ms': options.scale.latencyMs = int(flag, takes()); break;
      case '--samples': options.scale.samples = options.overhead.samples = Math.max(1, int(flag, takes())); break;
      case '--single-samples': options.scale.singleSamples = Math.max(1, int(flag, takes())); break;
      case '--runs': options.runs = Math.max(1, int(flag, takes())); break;
      case '--compare-runs': options.compareRuns = Math.max(1, int(flag, takes())); break;
      case '--clients': options.scale.clients!.clients = int(flag, takes()); break;
      case '--clients-seconds': options.scale.clients!.seconds = int(flag, takes()); break;
      case '--ping-ms': options.scale.clients!.pingEveryMs = Math.max(1, int(flag, takes())); break;
      case '--rss-limit-mb': options.scale.clients!.rssLimitMB = int(flag, takes()); break;
      case '--storm-rate': options.scale.storm!.rate = int(flag, takes()); break;
      case '--storm-seconds': options.scale.storm!.seconds = int(flag, takes()); break;
      case '--storm-sample-ms': options.scale.storm!.sampleMs = Math.max(1, int(flag, takes())); break;
      case '--storm-hold-ms': options.scale.storm!.holdMs = Math.max(1, int(flag, takes())); break;
      case '--storm-subscribers': options.scale.storm!.subscribers = int(flag, takes()); break;
      case '--engines-per-sim': options.scale.enginesPerSim = Math.max(1, int(flag, takes())); break;
      case '--no-metrics': options.metrics = false; break;
      case '--stream-samples': options.overhead.streamSamples = Math.max(1, int(flag, takes())); break;
      case '--log-mb': options.overhead.logBytes = int(flag, takes()) * 1_000_000; break;
      case '--image-mb': options.overhead.imageBytes = int(flag, takes()) * MB; break;
      case '--discovery': {
        const v = takes();
        if (v !== 'nodes' && v !== 'file') throw new Error(`--discovery takes nodes or file, got ${v}`);
        options.scale.discovery = v;
        break;
      }
      case '--out': options.outDir = path.resolve(takes()); break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (options.scale.engines < 1) throw new Error('--engines must be at least 1');
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const progress = new Progress();
  const started = new Date();
  const managers: ManagerResults[] = [{ label: options.label, command: options.managerCmd }];
  if (options.compareCmd) managers.push({ label: options.compareLabel, command: options.compareCmd });
  const failures: string[] = [];

  if (options.only !== 'overhead') {
    for (let run = 1; run <= options.runs; run++) {
      const last = run === options.runs;
      for (const m of managers) {
        // The compared manager (classic fills 30,000 containers ~10x slower) may sit out the first runs.
        if (m !== managers[0] && run <= options.runs - (options.compareRuns ?? options.runs)) continue;
        if (options.runs > 1) progress.log(`scale run ${run}/${options.runs} (${m.label})`);
        try {
          // Only the manager under test is known to take --metrics-addr (a comparison may be classic swarm).
          const result = await runScale(m.label, m.command, {
            ...options.scale,
            metrics: options.metrics && m === managers[0],
            clients: last ? options.scale.clients : undefined,
            storm: last ? options.scale.storm : undefined,
          }, progress);
          (m.scaleRuns ??= []).push(result);
          m.scale = result;
        } catch (err) {
          failures.push(`scale (${m.label}, run ${run}): ${(err as Error).message}`);
          progress.log(`scale benchmark for ${m.label} failed: ${(err as Error).message}`);
        }
      }
    }
  }
  const scaleDone = Date.now();
  if (options.only !== 'scale') {
    try {
      const results = await runOverhead(managers.map((m) => ({ label: m.label, command: m.command })), options.overhead, progress);
      for (const r of results) managers.find((m) => m.label === r.manager)!.overhead = r;
    } catch (err) {
      failures.push(`overhead: ${(err as Error).message}`);
      progress.log(`overhead benchmark failed: ${(err as Error).message}`);
    }
  }
  progress.done();
  const overheadSec = options.only === 'scale' ? undefined : (Date.now() - scaleDone) / 1000;

  const finished = new Date();
  const report: BenchReport = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSec: (finished.getTime() - started.getTime()) / 1000,
    machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version, kernel: os.release() },
    options: { ...options, argv: process.argv.slice(2) } as unknown as Record<string, unknown>,
    managers,
    overheadSec,
    targets: [],
  };
  report.targets = checkTargets(report, FULL_SCALE);
  const text = renderReport(report) + (failures.length ? `\nFAILED PARTS:\n${failures.map((f) => `- ${f}`).join('\n')}\n` : '');
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ ...report, failures }, null, 2) + '\n');
  process.stdout.write(text);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
});
