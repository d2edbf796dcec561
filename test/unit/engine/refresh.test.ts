/**
 * The periodic refresh of one engine (lib/engine/engine.ts) over a simulated engine: while the
 * event stream stays open, images, networks and volumes are listed only every few refreshes
 * (events keep them current), yet a change the events missed still shows up.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine } from '../../../lib/engine/engine';
import { SimEngine } from '../../../bench/sim/engine';
import { createSimRequestHandler, tuneServer } from '../../../bench/sim/server';
import { sleep, waitFor } from '../../../testbed/wait';

const PERIOD_MS = 100;

describe('engine refresh', function () {
  this.timeout(20_000);
  let sim: SimEngine;
  let server: http.Server;
  let engine: Engine;
  /** Requests the simulated engine answered, by method and path without the query. */
  const calls = new Map<string, number>();
  const count = (route: string): number => calls.get(route) ?? 0;

  before(async () => {
    sim = new SimEngine({ name: 'refresh-sim', images: ['busybox:latest'] });
    const handle = createSimRequestHandler(() => sim);
    server = http.createServer((req, res) => {
      const route = `${req.method} ${(req.url ?? '').split('?')[0].replace(/^\/v[\d.]+/, '')}`;
      calls.set(route, count(route) + 1);
      handle(req, res);
    });
    tuneServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    engine = new Engine(`127.0.0.1:${(server.address() as AddressInfo).port}`, { refreshMinMs: PERIOD_MS, refreshMaxMs: PERIOD_MS, failureRetry: 3 });
    await engine.validate();
    await engine.start();
    await waitFor(() => sim.events.listenerCount === 1, 5000, 'the event stream open');
  });

  after(async () => {
    engine.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lists volumes about every 4th refresh while events flow, containers every time', async () => {
    await sleep(3 * PERIOD_MS); // past the first refresh after the stream opened, which lists all
    const containersBefore = count('GET /containers/json');
    const volumesBefore = count('GET /volumes');
    await sleep(20 * PERIOD_MS);
    const containerLists = count('GET /containers/json') - containersBefore;
    const volumeLists = count('GET /volumes') - volumesBefore;
    assert.ok(containerLists >= 12, `${containerLists} container lists in 20 periods`);
    assert.ok(volumeLists <= Math.ceil(containerLists / 4) + 1, `${volumeLists} volume lists for ${containerLists} refreshes`);
    assert.ok(volumeLists >= 2, `${volumeLists} volume lists in 20 periods: the safety net must still run`);
  });

  it('shows a volume created with its event at once, and one whose event was missed within a few refreshes', async () => {
    sim.createVolume({ Name: 'announced' });
    await waitFor(() => engine.volumes.has('announced'), 2 * PERIOD_MS, 'the announced volume, from its event', 10);
    const emit = sim.events.emit;
    sim.events.emit = (() => undefined) as unknown as typeof emit; // the event is lost
    try {
      sim.createVolume({ Name: 'unannounced' });
    } finally {
      sim.events.emit = emit;
    }
    await waitFor(() => engine.volumes.has('unannounced'), 6 * PERIOD_MS + 1000, 'the unannounced volume, from a periodic list', 10);
  });
});
