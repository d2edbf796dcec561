/**
 * Real Docker engines for tests and `npm start`.
 *
 * Each engine is a dockerd 20.10 in its own UTS namespace (so `docker info` reports the
 * hostname we give it as its Name), with its own temp dir holding data root, exec root,
 * pidfile, unix socket, config file and log, listening on a free 127.0.0.1 TCP port:
 *
 *   unshare --uts sh -c 'hostname node-0; exec dockerd --data-root ... -H tcp://127.0.0.1:PORT'
 *
 * `unshare` (no --fork) and `sh -c 'exec ...'` both exec, so the pid we spawn IS dockerd's pid.
 *
 * dockerd starts its own containerd (in a new session, so not in dockerd's process group) and
 * containerd starts one runc shim per container, which outlives both. Those processes all carry
 * the engine's exec root on their command line and the containers are the shims' children, so
 * the harness finds exactly them through /proc (see findProcessesByMarker) and kills them.
 *
 * Default labels (override with `options.labels`), chosen so that every node can be singled
 * out by a constraint and every label value except `ssd` is shared by two nodes:
 *   node i: disk = ssd for i = 0, hdd otherwise;  zone = a for even i, b for odd i
 *   -> node-0 {disk=ssd, zone=a}, node-1 {disk=hdd, zone=b}, node-2 {disk=hdd, zone=a}
 *
 * All engines on a machine share /etc/docker/key.json, hence the same Docker ID (as the
 * reference says): the manager must key engines by ID and address.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Dockerode from 'dockerode';
import { BUSYBOX_IMPORT_CHANGES, busyboxTarball } from './busybox';
import { answersPing, freePort, isPortOpen } from './ports';
import {
  TrackedProcess,
  findProcessesByMarker,
  kill as killTracked,
  killPids,
  onEmergencyExit,
  pidAlive,
  spawnTracked,
  tailLines,
} from './processes';
import { waitFor } from './wait';

export interface EngineHandle {
  name: string;
  /** "127.0.0.1:PORT" */
  addr: string;
  port: number;
  /** "tcp://127.0.0.1:PORT" */
  host: string;
  labels: Record<string, string>;
  /** dockerd's pid while it runs. */
  pid(): number | undefined;
  /** SIGKILL the engine and everything it runs (containerd, shims, containers): a real node failure. */
  kill(): Promise<void>;
  /** Start again with the same data root and port (kills it first if it runs); waits until ready. */
  restart(): Promise<void>;
  /** Kill everything the engine runs and remove its temp dir. Final: no restart() after it. */
  stop(): Promise<void>;
  docker(): Dockerode;
  /** dockerd's log so far. */
  logs(): string;
  /** The engine's temp dir (data root, exec root, socket, log). */
  dir: string;
  /** unix:// path of the engine's plain set-up socket. */
  socket: string;
  /** TLS files when the TCP port serves TLS. */
  tls?: EngineTls;
}

export interface EngineSet {
  engines: EngineHandle[];
  stop(): Promise<void>;
}

export interface StartEnginesOptions {
  /** Engine i is named `${namePrefix}${i}` (default "node-"). */
  namePrefix?: string;
  /** Labels of engine i (default: defaultEngineLabels). */
  labels?: (i: number) => Record<string, string>;
  /** Import busybox:latest into every engine (default true). */
  loadBusybox?: boolean;
  /**
   * Give each engine a bridge and subnet of its own, so containers get an IP and published ports
   * really bind (through docker-proxy) instead of `--bridge=none`. Bridge names and subnets are
   * random per run (other test runs may share the machine); bridges go when the engine stops.
   */
  bridge?: boolean;
  /**
   * Serve the TCP port with TLS as docker-machine's engines do (`dockerd --tlsverify
   * --tlscacert --tlscert --tlskey`): only clients with a certificate from `ca` get in. The
   * unix socket stays for the harness; docker() speaks TLS with `clientCert`/`clientKey`
   * (default: the server pair, which docker-machine makes usable as a client certificate).
   */
  tls?: EngineTls;
}

export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
  clientCert?: string;
  clientKey?: string;
}

const DOCKERD = 'dockerd';
const READY_TIMEOUT_MS = 30_000;
const KEY_FILE = '/etc/docker/key.json';

export function defaultEngineLabels(i: number): Record<string, string> {
  return { disk: i === 0 ? 'ssd' : 'hdd', zone: i % 2 === 0 ? 'a' : 'b' };
}

/** Commands the harness needs, with the Debian package that provides each. */
export const ENGINE_PREREQUISITES: ReadonlyArray<{ command: string; pkg: string }> = [
  { command: 'dockerd', pkg: 'docker.io' },
  { command: 'containerd', pkg: 'docker.io' },
  { command: 'runc', pkg: 'docker.io' },
  { command: 'unshare', pkg: 'util-linux' },
  { command: 'tar', pkg: 'tar' },
];

/** Prerequisites missing on this machine (busybox-static is checked by its binary path). */
export function missingEnginePrerequisites(): Array<{ what: string; pkg: string }> {
  const missing: Array<{ what: string; pkg: string }> = [];
  for (const { command, pkg } of ENGINE_PREREQUISITES) {
    if (!commandExists(command)) missing.push({ what: command, pkg });
  }
  if (!fs.existsSync('/bin/busybox') || !isStaticBinary('/bin/busybox')) {
    missing.push({ what: '/bin/busybox (static)', pkg: 'busybox-static' });
  }
  return missing;
}

/** Starts `count` engines in parallel and waits until each answers /_ping and has busybox. */
export async function startEngines(count: number, options: StartEnginesOptions = {}): Promise<EngineSet> {
  const prefix = options.namePrefix ?? 'node-';
  const labelsOf = options.labels ?? defaultEngineLabels;
  const tarball = options.loadBusybox === false ? undefined : busyboxTarball();
  tarball?.catch(() => undefined); // awaited below; do not report it as unhandled meanwhile
  const engines = Array.from({ length: count }, (_, i) => new Engine(`${prefix}${i}`, labelsOf(i), options.tls, options.bridge ? createBridge() : undefined));
  const stopAll = async (): Promise<void> => {
    await Promise.all(engines.map((engine) => engine.stop()));
  };
  try {
    // The first dockerd ever started on a machine writes the shared key.json; let one engine
    // create it before the others start, so none reads a half-written file.
    let rest = engines;
    if (!fs.existsSync(KEY_FILE) && engines.length > 0) {
      await engines[0].firstStart();
      rest = engines.slice(1);
    }
    await Promise.all(rest.map((engine) => engine.firstStart()));
    if (tarball) {
      const file = await tarball;
      await Promise.all(engines.map((engine) => importBusybox(engine.docker(), file, engine.name)));
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { engines, stop: stopAll };
}

/** Imports the busybox tarball as busybox:latest through the engine API. */
export async function importBusybox(docker: Dockerode, tarball: string, where: string): Promise<void> {
  const stream = await docker.importImage(fs.createReadStream(tarball), {
    repo: 'busybox',
    tag: 'latest',
    changes: BUSYBOX_IMPORT_CHANGES,
  });
  const messages = await readAll(stream);
  const error = messages
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { error?: string })
    .find((message) => message.error);
  if (error) throw new Error(`importing busybox into ${where} failed: ${error.error}`);
}

class Engine implements EngineHandle {
  readonly dir: string;
  port = 0;
  private proc: TrackedProcess | undefined;
  private readonly unregisterCleanup: () => void;
  private stopped = false;

  constructor(
    readonly name: string,
    readonly labels: Record<string, string>,
    readonly tls?: EngineTls,
    readonly bridge?: string,
  ) {
    this.dir = makeEngineDir();
    fs.writeFileSync(path.join(this.dir, 'daemon.json'), '{}\n');
    // If the test process dies, leave nothing behind.
    this.unregisterCleanup = onEmergencyExit(() => {
      this.killLeftoversSync();
      fs.rmSync(this.dir, { recursive: true, force: true });
      if (this.bridge) deleteBridge(this.bridge);
    });
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get host(): string {
    return `tcp://${this.addr}`;
  }

  pid(): number | undefined {
    return this.proc?.isRunning() ? this.proc.pid : undefined;
  }

  docker(): Dockerode {
    if (!this.tls) return new Dockerode({ host: '127.0.0.1', port: this.port, protocol: 'http' });
    return new Dockerode({
      host: '127.0.0.1',
      port: this.port,
      protocol: 'https',
      ca: fs.readFileSync(this.tls.ca),
      cert: fs.readFileSync(this.tls.clientCert ?? this.tls.cert),
      key: fs.readFileSync(this.tls.clientKey ?? this.tls.key),
    });
  }

  /** The engine's unix socket (plain, for set-up), e.g. when its TCP port wants TLS. */
  get socket(): string {
    return path.join(this.dir, 'd.sock');
  }

  logs(): string {
    return this.proc?.logs() ?? '';
  }

  /** First start: picks a free port, and picks another if someone grabbed it meanwhile. */
  async firstStart(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        await this.start();
        return;
      } catch (err) {
        const portTaken = /address already in use/.test(this.logs());
        await this.kill();
        if (!portTaken || attempt >= 3) throw err;
      }
    }
  }

  async kill(): Promise<void> {
    if (this.proc) await killTracked(this.proc.pid);
    this.killLeftoversSync();
    await waitFor(async () => !(await isPortOpen(this.port)), 5000, `${this.name} to stop listening on ${this.port}`);
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`${this.name} was stopped (its data root is gone); it cannot restart`);
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.port !== 0) await this.kill();
    else this.killLeftoversSync();
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.bridge) deleteBridge(this.bridge);
    this.unregisterCleanup();
  }

  private async start(): Promise<void> {
    // Stale pidfiles from a killed run: dockerd refuses to start if its pidfile names a live
    // pid, and waits for "still running" containerd if containerd's does. A killed process can
    // linger as a zombie (where pid 1 does not reap), which kill(pid, 0) reports as alive; we
    // know both are dead (killLeftoversSync), so remove the files.
    fs.rmSync(path.join(this.dir, 'pid'), { force: true });
    fs.rmSync(path.join(this.dir, 'x', 'containerd', 'containerd.pid'), { force: true });
    const proc = spawnTracked({
      name: this.name,
      command: 'unshare',
      // $0 is the hostname, "$@" dockerd's arguments: no shell quoting of paths needed.
      args: ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', this.name, DOCKERD, ...this.dockerdArgs()],
      logDir: this.dir,
    });
    this.proc = proc;
    const exitedEarly = proc.exited.then((info) => {
      throw new Error(
        `dockerd ${this.name} exited during start-up (code ${info.code}, signal ${info.signal}); ` +
          `log ${proc.logFile}:\n${tailLines(proc.logs(), 15)}`,
      );
    });
    exitedEarly.catch(() => undefined);
    await Promise.race([
      exitedEarly,
      this.tls
        ? waitFor(async () => (await answersPing(this.port, 1000, this.socket)) && (await isPortOpen(this.port)), READY_TIMEOUT_MS, `dockerd ${this.name} to answer /_ping on ${this.socket} and listen on ${this.addr}`, 50)
        : waitFor(() => answersPing(this.port), READY_TIMEOUT_MS, `dockerd ${this.name} to answer /_ping on ${this.addr}`, 50),
    ]);
  }

  private dockerdArgs(): string[] {
    const args = [
      `--config-file=${path.join(this.dir, 'daemon.json')}`,
      `--data-root=${path.join(this.dir, 'data')}`,
      `--exec-root=${path.join(this.dir, 'x')}`,
      `--pidfile=${path.join(this.dir, 'pid')}`,
      `--host=unix://${path.join(this.dir, 'd.sock')}`,
      `--host=tcp://${this.addr}`,
      '--storage-driver=vfs',
      `--bridge=${this.bridge ?? 'none'}`,
      '--iptables=false',
      '--ip-masq=false',
    ];
    for (const [key, value] of Object.entries(this.labels)) args.push(`--label=${key}=${value}`);
    if (this.tls) args.push('--tlsverify', `--tlscacert=${this.tls.ca}`, `--tlscert=${this.tls.cert}`, `--tlskey=${this.tls.key}`);
    return args;
  }

  /**
   * Kills whatever this engine left running (containerd, shims, container processes: they all
   * reference our exec root or descend from something that does), then lazily unmounts what
   * dockerd mounted under our dir (container /dev/shm, network namespaces), as a crashed
   * machine would have neither. Synchronous so it can run in an 'exit' hook.
   */
  private killLeftoversSync(): void {
    const marker = `${path.join(this.dir, 'x')}/`;
    for (let round = 0; round < 5; round++) {
      const pids = findProcessesByMarker(marker).filter(pidAlive);
      if (pids.length === 0) break;
      killPids(pids);
      spinWait(50);
    }
    unmountUnder(this.dir);
  }
}

/**
 * A bridge with a /24 of its own: `stsXXXXXX` (random) on 10.A.B.1/24, A and B random, retried
 * until the subnet is not on any interface of this machine.
 */
function createBridge(): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const name = `sts${Math.random().toString(36).slice(2, 8)}`;
    const subnet = `10.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 256)}`;
    const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
    if (used.includes(` ${subnet}.`)) continue;
    try {
      execFileSync('ip', ['link', 'add', name, 'type', 'bridge'], { stdio: 'ignore' });
    } catch {
      continue; // name taken
    }
    execFileSync('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', name]);
    execFileSync('ip', ['link', 'set', name, 'up']);
    return name;
  }
  throw new Error('could not create a bridge with a free subnet');
}

function deleteBridge(name: string): void {
  try {
    execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/**
 * A fresh temp dir for one engine. Unix socket paths must stay under 108 bytes, and containerd
 * puts its socket at <exec-root>/containerd/containerd.sock, so fall back to /tmp if TMPDIR is long.
 */
function makeEngineDir(): string {
  const base = os.tmpdir().length <= 40 ? os.tmpdir() : '/tmp';
  return fs.mkdtempSync(path.join(base, 'swe-'));
}

/** Mount points under `dir` (from /proc/self/mountinfo), deepest first, lazily unmounted. */
function unmountUnder(dir: string): void {
  let mountinfo: string;
  try {
    mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const prefix = `${dir}/`;
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

function commandExists(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A statically linked ELF has no PT_INTERP program header; the dynamic busybox does. */
function isStaticBinary(file: string): boolean {
  const header = fs.readFileSync(file).subarray(0, 4096);
  return !header.includes(Buffer.from('/lib64/ld-linux')) && !header.includes(Buffer.from('/lib/ld-linux'));
}

function spinWait(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer | string) => chunks.push(Buffer.from(chunk)));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
