/**
 * The simulated engine's Docker API, driven through dockerode (the client the manager uses).
 * Each test talks HTTP to a real listening simulator; nothing is mocked.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { SimEngine } from '../../bench/sim/engine';
import { SimHost } from '../../bench/sim/host';
import { startSimServer } from '../../bench/sim/server';
import { tarFromFiles } from '../../bench/tar-writer';

type Server = Awaited<ReturnType<typeof startSimServer>>;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function rawRequest(port: number, method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.toString() }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Splits Docker's multiplexed stdout/stderr framing into [stream, payload] pairs. */
function demux(buf: Buffer): Array<[number, string]> {
  const frames: Array<[number, string]> = [];
  for (let offset = 0; offset < buf.length; ) {
    const size = buf.readUInt32BE(offset + 4);
    frames.push([buf[offset], buf.subarray(offset + 8, offset + 8 + size).toString()]);
    offset += 8 + size;
  }
  return frames;
}

describe('simulated engine (through dockerode)', () => {
  let engine: SimEngine;
  let server: Server;
  let docker: Docker;

  beforeEach(async () => {
    engine = new SimEngine({
      name: 'sim-test', labels: ['zone=a', 'disk=ssd'], ncpu: 3, memTotal: 3 * 1024 ** 3,
      images: ['busybox:latest'], logText: 'line one\nline two\n',
    });
    server = await startSimServer(engine);
    docker = new Docker({ host: '127.0.0.1', port: server.port });
  });

  afterEach(async () => {
    await server.close();
  });

  it('answers GET and HEAD /_ping with OK and the Api-Version header', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    const head = await rawRequest(server.port, 'HEAD', '/_ping');
    assert.equal(head.status, 200);
    assert.equal(head.headers['api-version'], '1.41');
    assert.equal(head.body, '');
  });

  it('reports version 1.41 with minimum 1.12, and rejects newer clients like dockerd', async () => {
    const version = await docker.version();
    assert.equal(version.ApiVersion, '1.41');
    assert.equal((version as unknown as { MinAPIVersion: string }).MinAPIVersion, '1.12');
    const tooNew = await rawRequest(server.port, 'GET', '/v1.50/version');
    assert.equal(tooNew.status, 400);
    assert.deepEqual(JSON.parse(tooNew.body), { message: 'client version 1.50 is too new. Maximum supported API version is 1.41' });
    const versioned = await rawRequest(server.port, 'GET', '/v1.24/info');
    assert.equal(versioned.status, 200);
  });

  it('describes itself in /info: name, ID, labels, resources, driver, OS', async () => {
    const info = await docker.info();
    assert.equal(info.Name, 'sim-test');
    assert.match(info.ID, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    assert.deepEqual(info.Labels, ['zone=a', 'disk=ssd']);
    assert.equal(info.NCPU, 3);
    assert.equal(info.MemTotal, 3 * 1024 ** 3);
    assert.equal(info.Driver, 'vfs');
    assert.equal(info.OSType, 'linux');
    assert.ok(info.KernelVersion);
    assert.ok(info.OperatingSystem);
  });

  it('creates, starts, inspects, lists with filters, stops and removes containers', async () => {
    const web = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], name: 'web', Labels: { role: 'web' }, HostConfig: { Memory: 64 * 1024 * 1024 } });
    const db = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], Labels: { role: 'db' } });
    await web.start();

    const inspected = await web.inspect();
    assert.equal(inspected.Name, '/web');
    assert.equal(inspected.State.Running, true);
    assert.equal(inspected.Config.Image, 'busybox');
    assert.deepEqual(inspected.Config.Cmd, ['sleep', '1000']);
    assert.equal(inspected.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspected.HostConfig.CpuShares, 0);

    const running = await docker.listContainers();
    assert.deepEqual(running.map((c) => c.Names[0]), ['/web']);
    const all = await docker.listContainers({ all: true });
    assert.equal(all.length, 2);
    assert.equal(all[0].Id, db.id, 'newest first');
    assert.equal(all[0].Status, 'Created');
    assert.match(all[1].Status, /^Up /);
    const byLabel = await docker.listContainers({ all: true, filters: { label: ['role=db'] } });
    assert.deepEqual(byLabel.map((c) => c.Id), [db.id]);
    const byStatus = await docker.listContainers({ all: true, filters: { status: ['created'] } });
    assert.deepEqual(byStatus.map((c) => c.Id), [db.id]);
    const byName = await docker.listContainers({ all: true, filters: { name: ['^web$'] } });
    assert.deepEqual(byName.map((c) => c.Id), [web.id]);

    await assert.rejects(docker.createContainer({ Image: 'busybox', Cmd: ['true'], name: 'web' }), /409|already in use/);
    await assert.rejects(web.remove(), /You cannot remove a running container/);

    await web.stop();
    const stopped = await web.inspect();
    assert.equal(stopped.State.Running, false);
    assert.equal(stopped.State.Status, 'exited');
    await web.remove();
    await db.remove();
    await assert.rejects(web.inspect(), (err: { statusCode?: number; json?: { message?: string } }) => err.statusCode === 404 && err.json?.message === `No such container: ${web.id}`);
    assert.equal((await docker.listContainers({ all: true })).length, 0);
  });

  it('refuses a missing image with 404 "No such image"', async () => {
    await assert.rejects(docker.createContainer({ Image: 'nothere', Cmd: ['true'] }), (err: { statusCode?: number; json?: { message?: string } }) =>
      err.statusCode === 404 && err.json?.message === 'No such image: nothere:latest');
  });

  it('wait returns the exit code once the container ends', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'] });
    await c.start();
    const waited = c.wait();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await c.kill();
    assert.deepEqual(await waited, { Error: null, StatusCode: 137 });
    const quick = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'] });
    await quick.start();
    assert.equal((await quick.wait()).StatusCode, 3);
  });

  it('serves logs of the fixed text in multiplexed framing (raw with a TTY)', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['echo', 'x'] });
    await c.start();
    const logs = (await c.logs({ stdout: true, follow: false })) as unknown as Buffer;
    assert.deepEqual(demux(logs), [[1, 'line one\n'], [1, 'line two\n']]);
    const tail = (await c.logs({ stdout: true, tail: 1, follow: false })) as unknown as Buffer;
    assert.deepEqual(demux(tail), [[1, 'line two\n']]);
    const tty = await docker.createContainer({ Image: 'busybox', Cmd: ['echo', 'x'], Tty: true });
    await tty.start();
    assert.equal(String(await tty.logs({ stdout: true, follow: false })), 'line one\nline two\n');
    await assert.rejects(c.logs({ follow: false }), /you must choose at least one stream/);
  });

  it('loads a docker-save archive and imports a rootfs, consuming the body', async () => {
    const config = 'a'.repeat(64);
    const archive = tarFromFiles({
      [`${config}.json`]: '{}',
      'layer/layer.tar': Buffer.alloc(5000, 7),
      'manifest.json': JSON.stringify([{ Config: `${config}.json`, RepoTags: ['tiny:1.0'], Layers: ['layer/layer.tar'] }]),
    });
    const out = String(await readAll(await docker.loadImage(Readable.from([archive]))));
    assert.match(out, /Loaded image: tiny:1.0/);
    const tiny = await docker.getImage('tiny:1.0').inspect();
    assert.equal(tiny.Id, `sha256:${config}`);

    const broken = String(await readAll(await docker.loadImage(Readable.from([archive.subarray(0, 700)]))));
    assert.match(broken, /unexpected EOF/);

    const imported = String(await readAll(await docker.importImage(Readable.from([tarFromFiles({ 'bin/x': 'x' })]), { repo: 'imp', tag: 'v1' })));
    assert.match(imported, /"status":"sha256:[0-9a-f]{64}"/);
    const tags = (await docker.listImages()).flatMap((img) => img.RepoTags ?? []);
    assert.deepEqual(tags.sort(), ['busybox:latest', 'imp:v1', 'tiny:1.0']);
  });

  it('lists and inspects networks and volumes', async () => {
    const networks = await docker.listNetworks();
    assert.deepEqual(networks.map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
    const bridge = await docker.getNetwork('bridge').inspect();
    assert.equal(bridge.Driver, 'bridge');
    assert.equal((await docker.getNetwork(bridge.Id.slice(0, 12)).inspect()).Name, 'bridge');
    await assert.rejects(docker.getNetwork('nope').inspect(), /404|not found/);

    await docker.createVolume({ Name: 'data', Labels: { tier: 'db' } });
    const volumes = await docker.listVolumes();
    assert.deepEqual(volumes.Volumes.map((v) => v.Name), ['data']);
    const vol = await docker.getVolume('data').inspect();
    assert.equal(vol.Driver, 'local');
    assert.deepEqual(vol.Labels, { tier: 'db' });
    await assert.rejects(docker.getVolume('nope').inspect(), /404|no such volume/);
  });

  it('streams live events that report a create and a start, and replays them with since', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const stream = (await docker.getEvents({ filters: { type: ['container'] } })) as NodeJS.ReadableStream & { destroy(): void };
    const seen: Array<{ Type: string; Action: string; Actor: { ID: string }; time: number; timeNano: number }> = [];
    const gotBoth = new Promise<void>((resolve) => {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          seen.push(JSON.parse(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
          if (seen.length >= 2) resolve();
        }
      });
    });
    await docker.createVolume({ Name: 'filtered-out' }); // a volume event: excluded by the type filter
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'] });
    await c.start();
    await gotBoth;
    stream.destroy();
    assert.deepEqual(seen.map((e) => [e.Type, e.Action, e.Actor.ID]), [['container', 'create', c.id], ['container', 'start', c.id]]);
    assert.ok(seen[0].time >= since && seen[0].timeNano > 0);

    const until = (Date.now() / 1000).toFixed(3); // fractional seconds, as dockerd accepts
    const replay = String(await readAll((await docker.getEvents({ since, until: until as unknown as number, filters: { event: ['start'] } })) as NodeJS.ReadableStream));
    const actions = replay.trim().split('\n').map((line) => JSON.parse(line).Action);
    assert.deepEqual(actions, ['start']);
  });
});

describe('simulated engine host', () => {
  it('moves to the next port range when one of its ports is taken', async () => {
    const base = 24900 + Math.floor(Math.random() * 50) * 2;
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(base + 1, '127.0.0.1', () => resolve());
    });
    const host = new SimHost({ count: 2, basePort: base, searchAttempts: 5 });
    try {
      await host.start();
      assert.ok(host.basePort >= base + 2, `range starts at ${host.basePort}, after the busy port ${base + 1}`);
      const docker = new Docker({ host: '127.0.0.1', port: host.basePort + 1 });
      assert.equal((await docker.info()).Name, 'sim-1');
    } finally {
      await host.stop();
      blocker.close();
    }
  });

  it('serves distinct engines on consecutive ports of one process', async () => {
    const host = new SimHost({ count: 3, basePort: 10000 + Math.floor(Math.random() * 2900) * 3 /* below the benchmark simulators (20000+) */, searchAttempts: 50, latencyMs: 1, engineOptions: () => ({ images: ['busybox:latest'] }) });
    await host.start();
    try {
      assert.equal(host.addresses.length, 3);
      const names: string[] = [];
      for (const address of host.addresses) {
        const [, port] = address.split(':');
        const docker = new Docker({ host: '127.0.0.1', port: Number(port) });
        names.push((await docker.info()).Name);
      }
      assert.deepEqual(names, ['sim-0', 'sim-1', 'sim-2']);
      const first = new Docker({ host: '127.0.0.1', port: host.basePort });
      await first.createContainer({ Image: 'busybox', Cmd: ['true'] });
      const second = new Docker({ host: '127.0.0.1', port: host.basePort + 1 });
      assert.equal((await second.listContainers({ all: true })).length, 0, 'state is per engine');
      assert.equal((await first.listContainers({ all: true })).length, 1);
    } finally {
      await host.stop();
    }
  });

  it("times each container's create and start where the engine answers them, latency included", async () => {
    const host = new SimHost({ count: 2, basePort: 10000 + Math.floor(Math.random() * 2900) * 3, searchAttempts: 50, latencyMs: 20, engineOptions: () => ({ images: ['busybox:latest'] }) });
    await host.start();
    try {
      const docker = new Docker({ host: '127.0.0.1', port: host.basePort + 1 });
      const timed = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
      await timed.start();
      const untimed = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
      await untimed.inspect(); // an inspect is not one of the two calls
      const held = host.engineTime.lookup([timed.id, untimed.id, 'f'.repeat(64)]);
      assert.deepEqual(Object.keys(held).sort(), [timed.id, untimed.id].sort());
      // Two calls held 20 ms each at least; one call (the create alone) for the other. Less 1 ms
      // per call: a timer runs against the loop's cached millisecond clock, so a 20 ms delay can
      // end 19.8 ms after it was set by a nanosecond clock (seen once under load).
      assert.ok(held[timed.id] >= 38 && held[timed.id] < 1000, `create+start held ${held[timed.id]} ms`);
      assert.ok(held[untimed.id] >= 19 && held[untimed.id] < 1000, `create held ${held[untimed.id]} ms`);
    } finally {
      await host.stop();
    }
  });
});
