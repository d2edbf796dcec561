/**
 * The periodic refresh of one engine (lib/engine/engine.ts) over a simulated engine: while the
 * event stream stays open, containers, images, networks and volumes are listed only every few
 * refreshes (events keep them current) and the refreshes in between only ping the engine, yet a
 * change the events missed still shows up.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine, type EngineOptions } from '../../../lib/engine/engine';
import { RateBudget } from '../../../lib/gate';
import { SimEngine } from '../../../bench/sim/engine';
import { createSimRequestHandler, tuneServer } from '../../../bench/sim/server';
import { sleep, waitFor } from '../../../testbed/wait';

const PERIOD_MS = 100;

/** A simulated engine on a local port, counting the requests it answered by method and path without the query. */
async function startSim(name: string): Promise<{ sim: SimEngine; server: http.Server; count: (route: string) => number }> {
  const sim = new SimEngine({ name, images: ['busybox:latest'] });
  const calls = new Map<string, number>();
  const count = (route: string): number => calls.get(route) ?? 0;
  const handle = createSimRequestHandler(() => sim);
  const server = http.createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '').split('?')[0].replace(/^\/v[\d.]+/, '')}`;
    calls.set(route, count(route) + 1);
    handle(req, res);
  });
  tuneServer(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { sim, server, count };
}

async function startEngine(server: http.Server, sim: SimEngine, options: Partial<EngineOptions> = {}): Promise<Engine> {
  const engine = new Engine(`127.0.0.1:${(server.address() as AddressInfo).port}`, { refreshMinMs: PERIOD_MS, refreshMaxMs: PERIOD_MS, failureRetry: 3, ...options });
  await engine.validate();
  await engine.start();
  await waitFor(() => sim.events.listenerCount === 1, 5000, 'the event stream open');
  return engine;
}

async function stop(engine: Engine, server: http.Server): Promise<void> {
  engine.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('engine refresh', function () {
  this.timeout(20_000);
  let sim: SimEngine;
  let server: http.Server;
  let engine: Engine;
  let count: (route: string) => number;

  before(async () => {
    ({ sim, server, count } = await startSim('refresh-sim'));
    engine = await startEngine(server, sim);
  });

  after(() => stop(engine, server));

  it('lists containers and volumes about every 4th refresh while events flow, and pings in between', async () => {
    await sleep(3 * PERIOD_MS); // past the first refresh after the stream opened, which lists all
    const before = { containers: count('GET /containers/json'), volumes: count('GET /volumes'), pings: count('GET /_ping') };
    const updatedBefore = engine.updatedAt.getTime();
    await sleep(20 * PERIOD_MS);
    const containerLists = count('GET /containers/json') - before.containers;
    const volumeLists = count('GET /volumes') - before.volumes;
    const pings = count('GET /_ping') - before.pings;
    const refreshes = containerLists + pings;
    assert.ok(refreshes >= 12, `${refreshes} refreshes (${containerLists} lists, ${pings} pings) in 20 periods`);
    assert.ok(containerLists <= Math.ceil(refreshes / 4) + 1, `${containerLists} container lists for ${refreshes} refreshes`);
    assert.ok(containerLists >= 2, `${containerLists} container lists in 20 periods: the safety net must still run`);
    // Volumes are listed right after containers in the same refresh (the window may cut one in two).
    assert.ok(Math.abs(volumeLists - containerLists) <= 1, `${volumeLists} volume lists, ${containerLists} container lists`);
    assert.ok(engine.updatedAt.getTime() > updatedBefore, 'a ping is a refresh: UpdatedAt moves on');
  });

  it('shows a container whose events were missed within a few refreshes', async () => {
    const emit = sim.events.emit;
    sim.events.emit = (() => undefined) as unknown as typeof emit; // the events are lost
    let id: string;
    try {
      id = sim.createContainer({ Image: 'busybox', Cmd: ['sleep', '1d'] }, 'unannounced').Id;
    } finally {
      sim.events.emit = emit;
    }
    await waitFor(() => engine.containers.get(id) !== undefined, 6 * PERIOD_MS + 1000, 'the unannounced container, from a periodic list', 10);
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

  it('marks the engine changed after a full list only when the list found something the events missed', async () => {
    let changes = 0;
    const onChange = (): void => void changes++;
    engine.on('change', onChange);
    try {
      const updatedBefore = engine.updatedAt.getTime();
      await sleep(2);
      await engine.refreshAll(false);
      await engine.refreshAll(false);
      assert.equal(changes, 0, 'lists equal to what the events left: no change');
      assert.ok(engine.updatedAt.getTime() > updatedBefore, 'a list is a refresh: UpdatedAt moves on');
      const id = sim.createContainer({ Image: 'busybox', Cmd: ['sleep', '1d'] }, 'vanishing').Id;
      await waitFor(() => engine.containers.get(id) !== undefined, 2000, 'the container, from its event', 10);
      const emit = sim.events.emit;
      sim.events.emit = (() => undefined) as unknown as typeof emit; // the destroy event is lost
      try {
        sim.removeContainer(id, true);
      } finally {
        sim.events.emit = emit;
      }
      changes = 0;
      await engine.refreshAll(false);
      assert.equal(engine.containers.get(id), undefined, 'the vanished container is dropped');
      assert.equal(changes, 1, 'and the engine marked changed');
    } finally {
      engine.off('change', onChange);
    }
  });

  it('keeps the objects of a list whose answer did not change, and replaces them when it does', async () => {
    await engine.refreshList('volumes');
    const before = engine.volumes;
    await engine.refreshList('volumes');
    assert.equal(engine.volumes, before, 'an equal answer: the same map, nothing parsed again');
    sim.createVolume({ Name: 'another' });
    await engine.refreshList('volumes');
    assert.notEqual(engine.volumes, before);
    assert.ok(engine.volumes.has('another'));
  });
});

describe('engine refresh with the safety-net budget spent', function () {
  this.timeout(20_000);

  it('pings instead of listing while the budget refuses, and lists again once it grants', async () => {
    const { sim, server, count } = await startSim('refused-sim');
    let granting = false;
    const budget = new RateBudget(1000);
    const take = budget.take.bind(budget);
    budget.take = () => granting && take();
    const engine = await startEngine(server, sim, { safetyNetBudget: budget });
    try {
      await sleep(3 * PERIOD_MS); // past the first refresh after the stream opened, which lists whatever the budget says
      const lists = count('GET /containers/json');
      const pings = count('GET /_ping');
      await sleep(12 * PERIOD_MS);
      assert.equal(count('GET /containers/json'), lists, 'no safety-net list while the budget refuses');
      assert.ok(count('GET /_ping') - pings >= 8, `${count('GET /_ping') - pings} pings in 12 periods: every refresh still pings`);
      granting = true;
      await waitFor(() => count('GET /containers/json') > lists, 3 * PERIOD_MS + 1000, 'a list at the first refresh the budget grants', 10);
    } finally {
      await stop(engine, server);
    }
  });
});
