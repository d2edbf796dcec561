/**
 * CLI: host N simulated Docker engines in this process.
 *
 *   node dist/bench/sim/main.js --count 1000 --base-port 20000 --latency-ms 5 \
 *        [--discovery-file /tmp/engines.txt] [--json] [--search 20] [--images busybox:latest] [--control]
 *
 * Prints one `host:port` per line (or, with --json, one JSON line describing the range), and
 * writes the same addresses to --discovery-file for `file://` discovery. Runs until SIGINT or
 * SIGTERM (or, with --exit-on-stdin-close, until its parent closes stdin).
 */
import { writeFileSync } from 'node:fs';
import { startControlServer } from './control';
import { SimHost } from './host';

interface SimCliOptions {
  count: number;
  basePort: number;
  search: number;
  host: string;
  latencyMs: number;
  namePrefix: string;
  images: string[];
  ncpu: number;
  memGiB: number;
  discoveryFile?: string;
  json: boolean;
  exitOnStdinClose: boolean;
  control: boolean;
  firstIndex: number;
  nameWidth: number;
}

const USAGE = `Usage: node dist/bench/sim/main.js [options]
  --count N               engines to host (default 1)
  --base-port P           first port (default 20000); engines use P..P+N-1
  --search K              if the range is busy, try the K-1 following ranges (default 1)
  --host ADDR             listen address (default 127.0.0.1)
  --latency-ms MS         delay before answering each API call (default 0)
  --name-prefix S         engine names S0, S1, ... (default sim-)
  --images LIST           comma-separated images present on every engine (default busybox:latest)
  --ncpu N                NCPU per engine (default 4)
  --mem-gib G             MemTotal per engine in GiB (default 8)
  --discovery-file PATH   write one address per line (for file:// discovery)
  --json                  print one JSON line {basePort,count,host,addresses:"host:[a:b]"} instead of the list
  --exit-on-stdin-close   exit when stdin ends (for use as a child process)
  --first-index I         this process hosts engines I..I+N-1 of a larger set (names, labels; default 0)
  --name-width W          zero-pad engine numbers to W digits (default: the width of I+N-1)
  --control               also open a control port (event storms, stats; see control.ts); with --json its
                          number is the "controlPort" field`;

function parseArgs(argv: string[]): SimCliOptions {
  const options: SimCliOptions = {
    count: 1, basePort: 20000, search: 1, host: '127.0.0.1', latencyMs: 0, namePrefix: 'sim-',
    images: ['busybox:latest'], ncpu: 4, memGiB: 8, json: false, exitOnStdinClose: false, control: false, firstIndex: 0, nameWidth: 0,
  };
  const number = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--count': options.count = number(flag, value); i++; break;
      case '--base-port': options.basePort = number(flag, value); i++; break;
      case '--search': options.search = Math.max(1, number(flag, value)); i++; break;
      case '--host': options.host = value; i++; break;
      case '--latency-ms': options.latencyMs = number(flag, value); i++; break;
      case '--name-prefix': options.namePrefix = value; i++; break;
      case '--images': options.images = value.split(',').filter(Boolean); i++; break;
      case '--ncpu': options.ncpu = number(flag, value); i++; break;
      case '--mem-gib': options.memGiB = number(flag, value); i++; break;
      case '--discovery-file': options.discoveryFile = value; i++; break;
      case '--json': options.json = true; break;
      case '--exit-on-stdin-close': options.exitOnStdinClose = true; break;
      case '--control': options.control = true; break;
      case '--first-index': options.firstIndex = number(flag, value); i++; break;
      case '--name-width': options.nameWidth = number(flag, value); i++; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error('--count must be a positive integer');
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const host = new SimHost({
    count: options.count,
    basePort: options.basePort,
    searchAttempts: options.search,
    host: options.host,
    latencyMs: options.latencyMs,
    namePrefix: options.namePrefix,
    firstIndex: options.firstIndex,
    nameWidth: options.nameWidth || undefined,
    engineOptions: (i) => ({
      labels: ['sim=true', `zone=zone-${i % 4}`, `disk=${i % 2 === 0 ? 'ssd' : 'hdd'}`],
      ncpu: options.ncpu,
      memTotal: Math.round(options.memGiB * 1024 ** 3),
      images: options.images,
    }),
  });
  await host.start();
  const control = options.control ? await startControlServer(host.engines, host.engineTime, options.host) : undefined;
  const addresses = host.addresses;
  if (options.discoveryFile) writeFileSync(options.discoveryFile, addresses.join('\n') + '\n');
  if (options.json) {
    const last = host.basePort + options.count - 1;
    process.stdout.write(JSON.stringify({ pid: process.pid, host: options.host, basePort: host.basePort, count: options.count, range: `${options.host}:[${host.basePort}:${last}]`, controlPort: control?.port }) + '\n');
  } else {
    process.stdout.write(addresses.join('\n') + '\n');
  }
  const shutdown = (): void => {
    void host.stop().finally(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  if (options.exitOnStdinClose) {
    process.stdin.on('end', shutdown);
    process.stdin.on('close', shutdown);
    process.stdin.resume();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${(err as Error).message}\n`);
  process.exit(1);
});
