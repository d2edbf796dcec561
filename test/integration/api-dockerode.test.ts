/**
 * The Docker API through the manager with dockerode and raw HTTP: versions, ping, errors in
 * Docker's JSON shape with the right status, hostile input, a TTY exec, and reads served from
 * the manager's memory.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type Dockerode from 'dockerode';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function raw(port: number, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function jsonMessage(r: RawResponse): string {
  assert.match(String(r.headers['content-type']), /application\/json/, `not JSON: ${r.body}`);
  const parsed = JSON.parse(r.body) as { message?: unknown };
  assert.equal(typeof parsed.message, 'string', r.body);
  return parsed.message as string;
}

describe('Docker API through the manager (dockerode, raw HTTP)', function () {
  let engines: EngineSet;
  let manager: ManagerHandle;
  let docker: Dockerode;

  before(async function () {
    engines = await getEngines();
    manager = await startManager([`${engines.engines.map((e) => e.addr).join(',')}`, '--api-enable-cors']);
    docker = manager.docker();
    await waitFor(async () => ((await docker.info()) as { SystemStatus: string[][] }).SystemStatus.filter((p) => p[0] === '  └ Status' && p[1] === 'Healthy').length === 3, 20_000, '3 healthy nodes');
  });

  after(async function () {
    for (const name of ['dk-a', 'dk-b', 'dk-tty']) await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    await manager?.stop();
  });

  it('answers GET and HEAD /_ping with Api-Version', async function () {
    const get = await raw(manager.port, 'GET', '/_ping');
    assert.equal(get.status, 200);
    assert.equal(get.body, 'OK');
    const head = await raw(manager.port, 'HEAD', '/_ping');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.match(String(head.headers['api-version']), /^1\.\d+$/);
  });

  it('accepts API versions from 1.24 up and rejects others with a JSON 400', async function () {
    assert.equal((await raw(manager.port, 'GET', '/v1.24/containers/json')).status, 200);
    assert.equal((await raw(manager.port, 'GET', '/v1.44/containers/json')).status, 200);
    const old = await raw(manager.port, 'GET', '/v1.12/containers/json');
    assert.equal(old.status, 400);
    assert.match(jsonMessage(old), /client version 1\.12 is too old/);
    const tooNew = await raw(manager.port, 'GET', '/v9.99/containers/json');
    assert.equal(tooNew.status, 400);
    assert.match(jsonMessage(tooNew), /too new/);
  });

  it('creates, starts and lists through dockerode with node-prefixed names', async function () {
    const container = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], name: 'dk-a', Labels: { suite: 'dockerode' } });
    await container.start();
    const list = await docker.listContainers({ filters: { label: ['suite=dockerode'] } });
    assert.equal(list.length, 1);
    assert.match(list[0].Names[0], /^\/node-\d\/dk-a$/);
    assert.equal(list[0].State, 'running');
    const info = await container.inspect() as Dockerode.ContainerInspectInfo & { Node: { Name: string } };
    assert.match(info.Node.Name, /^node-\d$/);
    const byNode = await docker.listContainers({ filters: { node: [info.Node.Name], label: ['suite=dockerode'] } });
    assert.equal(byNode.length, 1);
    // Forwarded responses keep the engine's status and headers.
    const top = await raw(manager.port, 'GET', '/v1.41/containers/dk-a/top');
    assert.equal(top.status, 200);
    assert.match(String(top.headers['content-type']), /application\/json/);
    assert.match(top.body, /sleep/);
  });

  it('spreads new containers over the engines', async function () {
    const b = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], name: 'dk-b' });
    const a = await docker.getContainer('dk-a').inspect() as unknown as { Node: { Name: string } };
    const bInfo = await b.inspect() as unknown as { Node: { Name: string } };
    assert.notEqual(bInfo.Node.Name, a.Node.Name, 'spread must not stack the second container on the first node');
  });

  it('runs a TTY exec over a hijacked connection', async function () {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], name: 'dk-tty' });
    await c.start();
    const exec = await c.exec({ Cmd: ['sh'], AttachStdin: true, AttachStdout: true, Tty: true });
    const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
    let out = '';
    stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
    stream.write('tty; echo tty-$((6*7))\nexit\n');
    await new Promise((resolve) => stream.on('end', resolve));
    assert.match(out, /\/dev\/pts\/\d+/);
    assert.match(out, /tty-42/);
    const inspected = await exec.inspect();
    assert.equal(inspected.ExitCode, 0);
  });

  it('answers 404 JSON for unknown containers, images, routes, and exec IDs', async function () {
    const c = await raw(manager.port, 'GET', '/v1.41/containers/nope-nope/json');
    assert.equal(c.status, 404);
    assert.equal(jsonMessage(c), 'No such container: nope-nope');
    const i = await raw(manager.port, 'GET', '/v1.41/images/nope:nope/json');
    assert.equal(i.status, 404);
    assert.match(jsonMessage(i), /No such image: nope:nope/);
    const route = await raw(manager.port, 'GET', '/v1.41/does/not/exist');
    assert.equal(route.status, 404);
    jsonMessage(route);
    const exec = await raw(manager.port, 'GET', '/v1.41/exec/0123456789/json');
    assert.equal(exec.status, 404);
    jsonMessage(exec);
  });

  it('answers 400 JSON for malformed bodies and filters, and stays up', async function () {
    const bad = await raw(manager.port, 'POST', '/v1.41/containers/create', '{"Image": "busybox",', { 'Content-Type': 'application/json' });
    assert.equal(bad.status, 400);
    assert.equal(jsonMessage(bad), 'unexpected EOF', 'dockerd\'s json.Decoder words a body cut short so');
    const notObject = await raw(manager.port, 'POST', '/v1.41/containers/create', '[1,2]', { 'Content-Type': 'application/json' });
    assert.equal(notObject.status, 400);
    const noImage = await raw(manager.port, 'POST', '/v1.41/containers/create', '{}', { 'Content-Type': 'application/json' });
    assert.equal(noImage.status, 400);
    const filters = await raw(manager.port, 'GET', '/v1.41/containers/json?filters=%7Bbroken');
    assert.equal(filters.status, 400);
    jsonMessage(filters);
    const badPath = await raw(manager.port, 'GET', '/v1.41/containers/%E0%A4%A/json');
    assert.equal(badPath.status, 400);
    jsonMessage(badPath);
    const badName = await raw(manager.port, 'POST', '/v1.41/containers/create?name=bad%20name', '{"Image":"busybox"}', { 'Content-Type': 'application/json' });
    assert.equal(badName.status, 400);
    assert.equal((await raw(manager.port, 'GET', '/_ping')).body, 'OK');
  });

  it('answers 431 for oversized headers and 400 for garbage, without crashing', async function () {
    const big = await raw(manager.port, 'GET', '/_ping', undefined, { 'X-Big': 'x'.repeat(64 * 1024) }).catch((e: Error) => ({ status: -1, headers: {}, body: e.message }));
    assert.equal(big.status, 431);
    const garbage = await new Promise<string>((resolve) => {
      const socket = net.connect(manager.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('close', () => resolve(data));
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.equal((await raw(manager.port, 'GET', '/_ping')).body, 'OK');
  });

  it('sends CORS headers when enabled', async function () {
    const r = await raw(manager.port, 'OPTIONS', '/v1.41/containers/json');
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], '*');
  });

  it('serves ps and info from memory, kept current by engine events', async function () {
    // A container created directly on an engine (not through the manager) shows up via events.
    const direct = engines.engines[2].docker();
    const c = await direct.createContainer({ Image: 'busybox', Cmd: ['true'], name: 'dk-direct' });
    try {
      await waitFor(async () => (await docker.listContainers({ all: true })).some((x) => x.Names[0] === `/${engines.engines[2].name}/dk-direct`), 5000, 'event-driven state update');
    } finally {
      await c.remove({ force: true });
    }
    await waitFor(async () => !(await docker.listContainers({ all: true })).some((x) => x.Names[0].endsWith('/dk-direct')), 5000, 'destroy event removes it');
  });
});
