/**
 * pull / import / load through the manager to 100 simulated engines (bench/sim: scale beyond a
 * handful of engines is the one place the suite stands in for dockerd) with the real docker
 * CLI: progress stays a few readable lines instead of 100 copies, failures come back as one
 * error naming every engine, and every engine gets the image with at most
 * --broadcast-parallelism engines at a time (the load body is spooled once and replayed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimHost, type RunningSimHost } from '../../bench/lib/processes';
import { docker } from '../../testbed/docker-cli';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { metricValue, scrapeMetrics } from '../../testbed/metrics';
import { freePort } from '../../testbed/ports';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

const ENGINES = 100;
const PARALLELISM = 20;

describe(`long operations to ${ENGINES} simulated engines`, function () {
  this.timeout(240_000);
  let sims: RunningSimHost;
  let manager: ManagerHandle;
  let metricsAddr: string;
  let tmp: string;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-sim-ops-'));
    sims = await startSimHost(ENGINES, 2, path.join(tmp, 'engines.txt'));
    metricsAddr = `127.0.0.1:${await freePort()}`;
    manager = await startManager([`nodes://${sims.range}`, '--metrics-addr', metricsAddr, '--broadcast-parallelism', String(PARALLELISM)]);
    await waitFor(async () => metricValue((await scrapeMetrics(metricsAddr)).samples, 'swarm_engines', { status: 'healthy' }) === ENGINES, 120_000, `${ENGINES} healthy simulated engines`, 500);
  });

  after(async function () {
    await manager?.stop();
    await sims?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const outcomes = async (operation: string, result: string) => metricValue((await scrapeMetrics(metricsAddr)).samples, 'swarm_broadcast_engine_operations_total', { operation, result });
  /** The most image transfers (load, import, pull) the simulated engines served at once so far (one simulator process). */
  const mostTransfersAtOnce = async (): Promise<number> => {
    assert.equal(sims.controlPorts.length, 1, 'one simulator process counts every engine');
    const stats = await (await fetch(`http://127.0.0.1:${sims.controlPorts[0]}/stats`)).json() as { imageTransfers: { inFlight: number; max: number } };
    return stats.imageTransfers.max;
  };

  it('docker load: one "Loaded image" line and a summary, the image on every engine', async function () {
    // A real `docker save` archive, from a real engine.
    const real = (await getEngines()).engines[0];
    const archive = path.join(tmp, 'busybox.tar');
    execFileSync('docker', ['-H', real.host, 'save', '-o', archive, 'busybox:latest']);
    const r = await docker(manager.host, ['load', '-i', archive], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.includes('Loaded image: busybox:latest')).length, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`load: ${ENGINES}/${ENGINES} done`));
    assert.ok(lines.length <= 12, `${lines.length} lines for ${ENGINES} engines:\n${r.stdout}`);
    assert.equal(await outcomes('load', 'succeeded'), ENGINES);
    // --broadcast-parallelism 20: engines served in parallel, never more than 20 at once.
    const most = await mostTransfersAtOnce();
    assert.ok(most > 1 && most <= PARALLELISM, `${most} loads at once`);
  });

  it('docker pull: a few aggregate lines for 100 engines', async function () {
    const r = await docker(manager.host, ['pull', 'example/app:1'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    // Not one copy per engine: texts once (at most 5 different digests, as each simulated
    // engine makes up its own, then a count), and layer lines that count engines. How often a
    // layer line is rewritten depends on the machine's speed (at most every 500 ms), not on
    // the number of engines.
    assert.ok(lines.length < ENGINES / 2, `${lines.length} lines:\n${r.stdout}`);
    assert.ok(lines.filter((l) => l.startsWith('Digest: sha256:')).length <= 5, r.stdout);
    assert.match(r.stdout, /^Digest: \d+ more different values not shown$/m);
    const layerLines = lines.filter((l) => l.startsWith('1: '));
    assert.ok(layerLines.length > 0 && layerLines.every((l) => new RegExp(`^1: Pulling from example/app \\d+/${ENGINES}$`).test(l)), r.stdout);
    assert.equal(lines.filter((l) => l.includes('Status: Downloaded newer image for example/app:1')).length, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`pull: ${ENGINES}/${ENGINES} done`));
    assert.ok(await mostTransfersAtOnce() <= PARALLELISM, 'at most --broadcast-parallelism pulls at once');
    const images = await docker(manager.host, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(images.stdout, /example\/app:1/);
  });

  it('the cluster page\'s view pages engines and caps cards instead of sending everything', async function () {
    for (let i = 0; i < 30; i++) {
      const r = await docker(manager.host, ['run', '-d', '--name', `view-${i}`, '-e', 'constraint:node==sim-07', 'busybox', 'sleep', '100']);
      assert.equal(r.code, 0, r.stderr);
    }
    const view = await (await fetch(`http://${metricsAddr}/api/cluster?perPage=12&cards=24`)).json() as {
      totals: { engines: Record<string, number>; containers: Record<string, number> };
      engines: { matching: number; pages: number; items: Array<{ name: string; containers: number; matching: number; cards: unknown[] }> };
    };
    assert.equal(view.totals.engines.healthy, ENGINES);
    assert.equal(view.engines.matching, ENGINES);
    assert.equal(view.engines.pages, Math.ceil(ENGINES / 12));
    assert.equal(view.engines.items.length, 12);
    const busy = view.engines.items.find((e) => e.name === 'sim-07');
    assert.ok(busy, view.engines.items.map((e) => e.name).join());
    assert.equal(busy.matching, 30);
    assert.equal(busy.cards.length, 24, 'cards capped; the rest is "+ 6 more" on the page');
    // Pages asking the same while nothing moved share one computation (the same body, its time).
    await waitFor(async () => {
      const [a, b] = [await (await fetch(`http://${metricsAddr}/api/cluster?perPage=12&cards=24`)).text(), await (await fetch(`http://${metricsAddr}/api/cluster?perPage=12&cards=24`)).text()];
      return a === b;
    }, 10_000, 'two identical answers in a row');
    const filtered = await (await fetch(`http://${metricsAddr}/api/cluster?name=view-29`)).json() as typeof view;
    assert.deepEqual(filtered.engines.items.map((e) => [e.name, e.matching]), [['sim-07', 1]]);
    const paged = await (await fetch(`http://${metricsAddr}/api/cluster?perPage=12&page=8`)).json() as typeof view;
    assert.deepEqual(paged.engines.items.map((e) => e.name), ['sim-96', 'sim-97', 'sim-98', 'sim-99']);
  });

  it('an import every engine refuses alike fails with the engine\'s own message, once', async function () {
    const r = await docker(manager.host, ['import', 'http://127.0.0.1:1/rootfs.tar', 'never:1'], { timeoutMs: 180_000 });
    assert.notEqual(r.code, 0);
    const errorLines = r.stderr.split('\n').filter(Boolean);
    assert.equal(errorLines.length, 1, r.stderr);
    assert.match(errorLines[0], /^Error response from daemon: Get "http:\/\/127\.0\.0\.1:1\/rootfs\.tar": simulated engine has no network access$/);
    assert.equal(await outcomes('import', 'failed'), ENGINES);
  });
});
