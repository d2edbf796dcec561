/**
 * Defects found by hostile-input and fault probes, each checked against a real dockerd where
 * the manager claims to behave like one: create bodies of the wrong types, API version
 * prefixes, `until` beyond any timer, bodies that end early, multi-byte UTF-8 characters split
 * across the engine's chunks (through a re-chunking TCP proxy in front of a real engine), and
 * one event subscription per engine after it is SIGKILLed and restarted.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

interface Answer {
  status: number;
  body: string;
}

async function call(base: string, method: string, path: string, body?: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body });
  return { status: res.status, body: await res.text() };
}

function message(answer: Answer): string {
  try {
    return (JSON.parse(answer.body) as { message: string }).message;
  } catch {
    return answer.body.trim();
  }
}

/** Sends a request whose body stops short of its Content-Length, then half-closes. */
function truncatedRequest(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Image":"bu`);
      setTimeout(() => socket.end(), 300);
    });
    let out = '';
    socket.on('data', (d) => (out += d.toString('utf8')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('hostile input and faults: answered like dockerd, nothing lost', function () {
  this.timeout(180_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  let managerUrl: string;
  let engineUrl: string;

  before(async function () {
    engines = await getEngines();
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    managerUrl = manager.host.replace('tcp://', 'http://');
    engineUrl = engines.engines[0].host.replace('tcp://', 'http://');
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.split('Status: Healthy').length === 4, 20_000, '3 healthy nodes');
  });

  after(async function () {
    await manager?.stop();
  });

  it('create bodies of the wrong JSON types: 400 with dockerd\'s own message naming the field', async function () {
    const bodies = [
      '{"Image":"busybox","Env":[1,2,{}]}', '{"Image":5}', '{"Image":"busybox","Env":"x"}', '{"Image":"busybox","Labels":{"a":1}}',
      '{"Image":"busybox","HostConfig":{"Memory":"x"}}', '{"Image":"busybox","HostConfig":{"NetworkMode":3}}',
      '{"Image":"busybox","HostConfig":{"Links":[3]}}', '{"Image":"busybox","HostConfig":[]}', '{"Image":"busybox","Cmd":5}',
      '{"Image":"busybox","ExposedPorts":[]}', '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}',
      '[]', '"x"', '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":[]}}', '{"Image":"busybox","HostConfig":{"CpuShares":1.5}}',
      '{"Image":"busybox","Hostname":3}', '{"Image":"busybox","Tty":"yes"}', '{"Image":"busybox","HostConfig":{"VolumesFrom":"a"}}',
      // Syntax errors: Go's decoder words them ("unexpected EOF", "invalid character ...").
      '{"Image":"busybox"', '{"Image":', 'x', '{"Image":"busybox",}', '{"Image" "busybox"}', '{"Image":"busybox","Env":["a\\qb"]}', '[1 2]', '-',
    ];
    for (const body of bodies) {
      const [viaManager, viaEngine] = await Promise.all([call(managerUrl, 'POST', '/v1.41/containers/create', body), call(engineUrl, 'POST', '/v1.41/containers/create', body)]);
      // dockerd 20.10 answers these 500 (Docker 23+ answers 400): a client's mistake is a 400 here.
      assert.ok(viaEngine.status >= 400, `${body}: the engine refuses it too (${viaEngine.status})`);
      assert.equal(viaManager.status, 400, `${body}: ${viaManager.body}`);
      assert.equal(message(viaManager), message(viaEngine), body);
    }
    // Well-typed nulls are accepted by both.
    const fine = await call(managerUrl, 'POST', '/v1.41/containers/create?name=hostile-nulls', '{"Image":"busybox","Env":null,"HostConfig":null,"Labels":null}');
    assert.equal(fine.status, 201, fine.body);
    await call(managerUrl, 'DELETE', '/v1.41/containers/hostile-nulls?force=1');
    // dockerd reads the first JSON value and ignores what follows it.
    const trailing = '{"Image":"busybox","Labels":{"hostile":"trailing"}} and then some';
    const [viaManager, viaEngine] = await Promise.all([call(managerUrl, 'POST', '/v1.41/containers/create', trailing), call(engineUrl, 'POST', '/v1.41/containers/create', trailing)]);
    assert.equal(viaEngine.status, 201, viaEngine.body);
    assert.equal(viaManager.status, 201, viaManager.body);
    for (const [url, answer] of [[managerUrl, viaManager], [engineUrl, viaEngine]] as const) await call(url, 'DELETE', `/v1.41/containers/${(JSON.parse(answer.body) as { Id: string }).Id}?force=1`);
    // A container action's body (docker update) cut short, or with bytes after its value.
    const target = JSON.parse((await call(engineUrl, 'POST', '/v1.41/containers/create', '{"Image":"busybox","Cmd":["true"]}')).body) as { Id: string };
    await waitFor(async () => (await call(managerUrl, 'GET', `/v1.41/containers/${target.Id}/json`)).status === 200, 20_000, 'the manager to see the container');
    for (const body of ['{"CpuShares":', '{"CpuShares":512,}', '{"CpuShares":512} trailing']) {
      const path = `/v1.41/containers/${target.Id}/update`;
      const [m, e] = await Promise.all([call(managerUrl, 'POST', path, body), call(engineUrl, 'POST', path, body)]);
      // dockerd 20.10 answers the malformed ones 500: a client's mistake is a 400 here.
      assert.equal(m.status, e.status === 500 ? 400 : e.status, `${body}: ${m.body} vs ${e.body}`);
      if (e.status >= 400) assert.equal(message(m), message(e), body);
    }
    await call(engineUrl, 'DELETE', `/v1.41/containers/${target.Id}?force=1`);
    // Network and volume bodies cut short: dockerd's 400 and words.
    for (const path of ['/v1.41/networks/create', '/v1.41/volumes/create']) {
      const [m, e] = await Promise.all([call(managerUrl, 'POST', path, '{"Name":'), call(engineUrl, 'POST', path, '{"Name":')]);
      assert.equal(m.status, e.status, `${path}: ${m.body} vs ${e.body}`);
      assert.equal(message(m), message(e), path);
    }
  });

  it('API version prefixes: the same status as dockerd for every form', async function () {
    const paths = ['/v99/_ping', '/v1.999/info', '/v1.999/_ping', '/v1/info', '/v1.2.3/info', '/vabc/info', '/v1.41abc/info', '/v/info', '/v1.41/_ping', '/v1.24/version'];
    for (const path of paths) {
      const [viaManager, viaEngine] = await Promise.all([call(managerUrl, 'GET', path), call(engineUrl, 'GET', path)]);
      assert.equal(viaManager.status, viaEngine.status, `${path}: manager ${viaManager.status} ${viaManager.body} vs engine ${viaEngine.status} ${viaEngine.body}`);
      if (viaEngine.status >= 400) {
        // Same words; only the supported range differs (manager 1.24-1.47, engine 1.12-1.41).
        // The manager's 404 also names the method and path ("page not found: GET /vabc/info").
        const normalize = (m: string): string => m.replace(/\d+\.\d+(?=[,. ]|$)/g, 'N').replace(/^(page not found): .*/, '$1');
        assert.equal(normalize(message(viaManager)), normalize(message(viaEngine)), path);
      }
    }
  });

  it('events until beyond int64 seconds is a 400; a far until keeps the stream open', async function () {
    const huge = await call(managerUrl, 'GET', '/v1.41/events?until=99999999999999999999999999');
    assert.equal(huge.status, 400, huge.body);
    assert.match(message(huge), /until.*out of range/);
    // 40 days ahead: beyond setTimeout's 2^31-1 ms, which used to fire at once and end the stream.
    const until = Math.floor(Date.now() / 1000) + 40 * 86_400;
    const ended = await new Promise<boolean>((resolve) => {
      const req = http.get(`${managerUrl}/v1.41/events?until=${until}`, (res) => {
        res.resume();
        res.on('end', () => resolve(true));
        setTimeout(() => {
          resolve(false);
          req.destroy();
        }, 2000);
      });
      req.on('error', () => undefined);
    });
    assert.equal(ended, false, 'the event stream ended before its until');
  });

  it('a body that ends early gets a 400 with a JSON message (dockerd: "unexpected EOF")', async function () {
    const port = Number(manager.host.split(':').pop());
    const raw = await truncatedRequest(port, '/v1.41/containers/create');
    assert.match(raw, /^HTTP\/1\.1 400 /);
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    assert.match((JSON.parse(body) as { message: string }).message, /unexpected EOF/);
    const fromEngine = await truncatedRequest(engines.engines[0].port, '/v1.41/containers/create');
    assert.match(fromEngine, /unexpected EOF/);
  });
});

interface SplittingProxy {
  port: number;
  close: () => void;
  /** Drops every connection through the proxy (the engine stays up): a network blip. */
  reset: () => void;
  /** Connections the manager holds open through the proxy. */
  connections: () => number;
}

/**
 * A TCP proxy in front of a real engine that splits what the engine sends right after the
 * first byte of every multi-byte UTF-8 character, with a pause, so the manager reads the two
 * halves of the character in different chunks.
 */
function splittingProxy(target: number): Promise<SplittingProxy> {
  const sockets = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pipe(upstream);
    let queue = Promise.resolve();
    upstream.on('data', (data: Buffer) => {
      upstream.pause();
      const pieces: Buffer[] = [];
      let start = 0;
      for (let i = 0; i < data.length; i++) {
        if (data[i] >= 0xc0) {
          pieces.push(data.subarray(start, i + 1));
          start = i + 1;
        }
      }
      pieces.push(data.subarray(start));
      queue = queue.then(async () => {
        for (const piece of pieces) {
          if (piece.length === 0) continue;
          client.write(piece);
          await new Promise((r) => setTimeout(r, 30));
        }
        upstream.resume();
      });
    });
    upstream.on('end', () => void queue.then(() => client.end()));
    for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => [client, upstream].forEach((x) => x.destroy()));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.close();
      sockets.forEach((s) => s.destroy());
    },
    connections: () => open.size,
    reset: () => {
      sockets.forEach((s) => s.destroy());
      sockets.clear();
    },
  })));
}

describe('engine streams and subscriptions under faults (own engine, killed for real)', function () {
  this.timeout(240_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  let proxy: SplittingProxy;

  before(async function () {
    engines = await startEngines(1, { namePrefix: 'fault-' });
    proxy = await splittingProxy(engines.engines[0].port);
    manager = await startManager([`nodes://127.0.0.1:${proxy.port}`]);
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.includes('Status: Healthy'), 30_000, 'healthy node');
  });

  after(async function () {
    await manager?.stop();
    proxy?.close();
    await engines?.stop();
  });

  /** Events for `name` seen on the manager's /events during `action`. */
  async function eventsDuring(name: string, action: () => Promise<void>): Promise<Array<{ Action: string; Actor: { Attributes: Record<string, string> } }>> {
    const since = Math.floor(Date.now() / 1000) - 1;
    await action();
    await new Promise((r) => setTimeout(r, 1500));
    const until = Math.floor(Date.now() / 1000) + 1;
    const r = await docker(manager.host, ['events', '--since', String(since), '--until', String(until), '--filter', `container=${name}`, '--format', '{{json .}}']);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
  }

  it('keeps a multi-byte character whole when it arrives split across chunks', async function () {
    const label = 'café-日本-🚀';
    const events = await eventsDuring('utf8-probe', async () => {
      const r = await docker(engines.engines[0].host, ['create', '--name', 'utf8-probe', '--label', `greeting=${label}`, 'busybox', 'true']);
      assert.equal(r.code, 0, r.stderr);
    });
    const create = events.filter((e) => e.Action === 'create');
    assert.equal(create.length, 1, JSON.stringify(events));
    assert.equal(create[0].Actor.Attributes.greeting, label);
    await docker(engines.engines[0].host, ['rm', '-f', 'utf8-probe']);
  });

  it('an event stream dropped while the engine lives: the resubscription replays nothing twice', async function () {
    const engine = engines.engines[0];
    const listeners = async (): Promise<number> => ((await engine.docker().info()) as { NEventsListener: number }).NEventsListener;
    await waitFor(async () => (await listeners()) === 1, 10_000, 'one subscription before the drop');
    const events = await eventsDuring('replay-probe', async () => {
      const r = await docker(engine.host, ['create', '--name', 'replay-probe', 'busybox', 'true']);
      assert.equal(r.code, 0, r.stderr);
      // The manager has the event, then loses its stream (and every other connection) at once;
      // it resubscribes from the last event's second, which the engine replays in full.
      await waitFor(async () => (await docker(manager.host, ['ps', '-a', '--filter', 'name=replay-probe', '-q'])).stdout.trim() !== '', 10_000, 'the manager to see the container');
      proxy.reset();
      await new Promise((r) => setTimeout(r, 3000));
      await waitFor(async () => (await listeners()) === 1, 20_000, 'one subscription after the drop');
    });
    assert.deepEqual(events.map((e) => e.Action), ['create'], JSON.stringify(events));
    await docker(engine.host, ['rm', '-f', 'replay-probe']);
  });

  it('after a SIGKILL and restart: one event subscription on the engine, every event once', async function () {
    const engine = engines.engines[0];
    const listeners = async (): Promise<number> => {
      const info = await engine.docker().info() as { NEventsListener: number };
      return info.NEventsListener;
    };
    await waitFor(async () => (await listeners()) === 1, 10_000, 'one subscription before the kill');
    await engine.kill();
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.includes('Status: Unhealthy'), 30_000, 'unhealthy');
    await engine.restart();
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.includes('Status: Healthy'), 60_000, 'healthy again');
    // Give every path that (re)subscribes (probe, recovered calls, refresh) time to have done so.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(await listeners(), 1, 'event subscriptions held by the manager on the engine');
    // One event stream and at most one idle keep-alive connection (the refresh loop's calls
    // come and go); three subscriptions held three times the connections.
    await waitFor(async () => proxy.connections() <= 2, 20_000, 'at most 2 connections to the engine');
    const events = await eventsDuring('after-restart', async () => {
      const r = await docker(manager.host, ['run', '--name', 'after-restart', 'busybox', 'true']);
      assert.equal(r.code, 0, r.stderr);
    });
    assert.deepEqual(events.map((e) => e.Action).filter((a) => ['create', 'start', 'die'].includes(a)), ['create', 'start', 'die']);
    await docker(manager.host, ['rm', '-f', 'after-restart']);
  });
});
