/**
 * Overhead benchmark on real engines: 3 dockerd (test harness), a manager over them, and the
 * same API calls sent through the manager and directly to engine 0, alternating one by one
 * (the order flips every sample) so both see the same machine state. Streams (logs of a large
 * output, image load of a large archive) are reported as throughput.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { startEngines, type EngineSet } from '../testbed/engines';
import { answersPing, freePort } from '../testbed/ports';
import { spawnTracked, stop } from '../testbed/processes';
import { waitFor } from '../testbed/wait';
import { waitAllHealthy } from './lib/cluster-info';
import { ApiClient, expectOk } from './lib/http-client';
import { REPO_ROOT, startManagerCommand, type RunningManager } from './lib/processes';
import type { Progress } from './lib/progress';
import { round, summarize, type Summary } from './lib/stats';
import { TAR_END, tarHeader, tarPadding, writeAll } from './tar-writer';

export interface OverheadOptions {
  /** Samples per side for ps, inspect and create+start+rm. */
  samples: number;
  /** Samples per side for the two streams (logs, image load). */
  streamSamples: number;
  /** Size of the container output read back with logs. */
  logBytes: number;
  /** Size of the random file inside the loaded image. */
  imageBytes: number;
}

export interface OverheadOp {
  name: string;
  kind: 'latency' | 'stream';
  manager: Summary;
  direct: Summary;
  /** Through a bare keep-alive Node proxy to engine 0: the floor cost of one extra hop. */
  bareProxy: Summary;
  /** Latency ops: manager p50 / direct p50. */
  ratio: number;
  /** bare proxy p50 / direct p50. */
  bareProxyRatio: number;
  /** Stream ops: bytes per sample and throughput at the median (MB/s). */
  bytes?: number;
  managerMBps?: number;
  directMBps?: number;
  /** Stream ops: manager throughput / direct throughput. */
  throughputRatio?: number;
}

export interface OverheadResult {
  manager: string;
  command: string;
  engines: number;
  ops: OverheadOp[];
}

const SLEEPER = { Image: 'busybox', Cmd: ['sleep', '3600'], Labels: { 'bench.swarm-ts': 'overhead' } };
const CONTAINERS_PER_ENGINE = 5;
const LOAD_IMAGE = 'swarm-bench-load:latest';

interface Fixture {
  engines: EngineSet;
  directs: ApiClient[];
  bareProxy: ApiClient;
  inspectId: string;
  logsId: string;
  imageArchive: string;
  tmp: string;
  expectedContainers: number;
}

/** Starts the engines and the fixture once; then measures each manager command against them. */
export async function runOverhead(
  managers: Array<{ label: string; command: string }>,
  options: OverheadOptions,
  progress: Progress,
): Promise<OverheadResult[]> {
  progress.update('overhead: engines', 0, 'starting 3 dockerd');
  const engines = await startEngines(3, { namePrefix: 'bench-' });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'swarm-bench-'));
  const directs = engines.engines.map((e) => new ApiClient(e.port, '127.0.0.1', 8));
  const proxyPort = await freePort();
  const proxy = spawnTracked({
    name: `bench-bare-proxy-${proxyPort}`,
    command: process.execPath,
    args: [path.join(REPO_ROOT, 'dist', 'bench', 'lib', 'bare-proxy.js'), String(proxyPort), String(engines.engines[0].port)],
  });
  const bareProxy = new ApiClient(proxyPort, '127.0.0.1', 8);
  try {
    await waitFor(() => answersPing(proxyPort), 10_000, 'the bare proxy to answer /_ping');
    const fixture = await prepare(engines, directs, bareProxy, tmp, options, progress);
    const results: OverheadResult[] = [];
    for (const { label, command } of managers) {
      const discovery = `nodes://${engines.engines.map((e) => e.addr).join(',')}`;
      const manager = await startManagerCommand(label, command, discovery);
      try {
        await waitAllHealthy(manager.client, 3, 60_000, () => undefined);
        await waitFor(async () => (await listCount(manager.client)) >= fixture.expectedContainers, 30_000, 'the manager to list the fixture containers');
        results.push({ manager: label, command, engines: 3, ops: await measure(manager, fixture, options, progress, label) });
      } finally {
        await manager.stop();
      }
    }
    return results;
  } finally {
    for (const d of directs) d.close();
    bareProxy.close();
    await stop(proxy.pid);
    await engines.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function listCount(client: ApiClient): Promise<number> {
  return (await client.json<unknown[]>('GET', '/containers/json?all=1')).length;
}

async function prepare(engines: EngineSet, directs: ApiClient[], bareProxy: ApiClient, tmp: string, options: OverheadOptions, progress: Progress): Promise<Fixture> {
  progress.update('overhead: fixture', 0.1, 'containers on each engine');
  let inspectId = '';
  for (const direct of directs) {
    for (let i = 0; i < CONTAINERS_PER_ENGINE; i++) {
      const { Id } = await direct.json<{ Id: string }>('POST', '/containers/create', SLEEPER);
      await direct.json('POST', `/containers/${Id}/start`);
      if (direct === directs[0] && !inspectId) inspectId = Id;
    }
  }
  progress.update('overhead: fixture', 0.3, `a container printing ${Math.round(options.logBytes / 1e6)} MB`);
  const line = 'x'.repeat(999);
  const { Id: logsId } = await directs[0].json<{ Id: string }>('POST', '/containers/create', {
    Image: 'busybox', Cmd: ['sh', '-c', `yes ${line} | head -c ${options.logBytes}`], Labels: { 'bench.swarm-ts': 'logs' },
  });
  await directs[0].json('POST', `/containers/${logsId}/start`);
  await directs[0].json('POST', `/containers/${logsId}/wait`);

  progress.update('overhead: fixture', 0.6, `a ${mb(options.imageBytes)} MiB image archive`);
  const rootfs = path.join(tmp, 'rootfs.tar');
  await writeRootfs(rootfs, options.imageBytes);
  const [repo, tag] = LOAD_IMAGE.split(':');
  const imported = await directs[0].request('POST', `/images/create?fromSrc=-&repo=${repo}&tag=${tag}`, { body: createReadStream(rootfs), keepBody: true });
  expectStreamOk(imported, 'import of the load image');
  const imageArchive = path.join(tmp, 'image.tar');
  await downloadTo(directs[0], `/images/${encodeURIComponent(LOAD_IMAGE)}/get`, imageArchive);
  rmSync(rootfs);
  progress.update('overhead: fixture', 1, 'ready');
  return { engines, directs, bareProxy, inspectId, logsId, imageArchive, tmp, expectedContainers: directs.length * CONTAINERS_PER_ENGINE + 1 };
}

async function measure(manager: RunningManager, fixture: Fixture, options: OverheadOptions, progress: Progress, label: string): Promise<OverheadOp[]> {
  const direct = fixture.directs[0];
  const ops: OverheadOp[] = [];
  type Sample = (client: ApiClient) => Promise<{ ms: number; bytes: number }>;
  const phase = `overhead ${label}`;
  const compare = async (name: string, kind: OverheadOp['kind'], samples: number, sample: Sample): Promise<void> => {
    const clients = [manager.client, direct, fixture.bareProxy];
    const times: number[][] = [[], [], []];
    let bytes = 0;
    for (const client of clients) await sample(client); // warm-up (connections, caches); not recorded
    for (let i = 0; i < samples; i++) {
      // Rotate who goes first, so no side always runs right after another's work.
      for (let k = 0; k < clients.length; k++) {
        const which = (i + k) % clients.length;
        const r = await sample(clients[which]);
        times[which].push(r.ms);
        bytes = r.bytes;
      }
      progress.update(`${phase}: ${name}`, (i + 1) / samples, `${i + 1}/${samples} rounds`);
    }
    const [m, d, p] = times.map(summarize);
    const op: OverheadOp = { name, kind, manager: m, direct: d, bareProxy: p, ratio: round(m.p50 / d.p50, 3), bareProxyRatio: round(p.p50 / d.p50, 3) };
    if (kind === 'stream') {
      op.bytes = bytes;
      op.managerMBps = round(bytes / 1024 / 1024 / (m.p50 / 1000), 1);
      op.directMBps = round(bytes / 1024 / 1024 / (d.p50 / 1000), 1);
      op.throughputRatio = round(d.p50 / m.p50, 3);
    }
    ops.push(op);
    progress.log(`${phase}: ${name}: manager p50 ${m.p50} ms, direct p50 ${d.p50} ms, bare proxy p50 ${p.p50} ms, ratio ${op.ratio}`);
  };

  await compare('ps -a', 'latency', options.samples, async (c) => timed(await c.request('GET', '/containers/json?all=1'), 'ps'));
  await compare('inspect', 'latency', options.samples, async (c) => timed(await c.request('GET', `/containers/${fixture.inspectId}/json`), 'inspect'));
  await compare('create+start+rm', 'latency', options.samples, async (c) => {
    const create = expectOk(await c.request('POST', '/containers/create', { json: SLEEPER, keepBody: true }), 'create');
    const id = (JSON.parse(create.body!.toString('utf8')) as { Id: string }).Id;
    const start = expectOk(await c.request('POST', `/containers/${id}/start`), 'start');
    const rm = expectOk(await c.request('DELETE', `/containers/${id}?force=1`), 'rm');
    return { ms: create.ms + start.ms + rm.ms, bytes: 0 };
  });
  await compare(`logs (${Math.round(options.logBytes / 1e6)} MB)`, 'stream', options.streamSamples, async (c) => {
    const res = timed(await c.request('GET', `/containers/${fixture.logsId}/logs?stdout=1&stderr=1`, { timeoutMs: 300_000 }), 'logs');
    if (res.bytes < options.logBytes) throw new Error(`logs returned ${res.bytes} bytes, expected at least ${options.logBytes}`);
    return res;
  });
  await compare(`image load (${mb(options.imageBytes)} MiB)`, 'stream', options.streamSamples, async (c) => {
    const res = await c.request('POST', '/images/load?quiet=1', { body: createReadStream(fixture.imageArchive), keepBody: true, timeoutMs: 300_000 });
    expectStreamOk(res, 'image load');
    return { ms: res.ms, bytes: fileSize(fixture.imageArchive) };
  });
  return ops;
}

function timed(res: { status: number; ms: number; bytes: number }, what: string): { ms: number; bytes: number } {
  if (res.status >= 300) throw new Error(`${what} -> ${res.status}`);
  return { ms: res.ms, bytes: res.bytes };
}

/** Streamed JSON answers (import, load) report failures in-band as `{"error": ...}`. */
function expectStreamOk(res: { status: number; body?: Buffer }, what: string): void {
  const text = res.body?.toString('utf8') ?? '';
  if (res.status >= 300 || /"error"\s*:/.test(text)) throw new Error(`${what} failed (${res.status}): ${text.slice(0, 300)}`);
}

/** A rootfs archive: busybox (so the image is runnable) plus `size` bytes of random data. */
async function writeRootfs(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  const busybox = readFileSync('/bin/busybox');
  await writeAll(out, tarHeader({ name: 'bin/', type: 'dir' }));
  await writeAll(out, tarHeader({ name: 'bin/busybox', size: busybox.length, mode: 0o755 }));
  await writeAll(out, busybox);
  await writeAll(out, tarPadding(busybox.length));
  await writeAll(out, tarHeader({ name: 'bin/sh', type: 'symlink', linkName: 'busybox', mode: 0o777 }));
  await writeAll(out, tarHeader({ name: 'data/', type: 'dir' }));
  await writeAll(out, tarHeader({ name: 'data/random.bin', size }));
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 20);
    await writeAll(out, randomBytes(n));
    left -= n;
  }
  await writeAll(out, tarPadding(size));
  await writeAll(out, TAR_END);
  out.end();
  await finished(out);
}

async function downloadTo(client: ApiClient, urlPath: string, file: string): Promise<void> {
  const res = await client.request('GET', urlPath, { sink: createWriteStream(file), timeoutMs: 300_000 });
  expectOk(res, `GET ${urlPath}`);
}

function fileSize(file: string): number {
  return statSync(file).size;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
