/**
 * ReplicaProxy over loopback sockets, against stand-in primaries.
 *
 * Hijacked requests (exec start, attach) are forwarded byte for byte: the client speaks as the docker CLI does (headers, then the JSON body in a
 * separate write, then stdin only after 101 UPGRADED, then a half-close), the "primary" answers as
 * dockerd does (101 only once it has the whole body, echo until the client's EOF, then end).
 *
 * Regression: when the body arrived after the headers, the replica kept it in the client socket
 * until the primary's first answer, which never came (exec -i through a replica hung).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import { ReplicaProxy } from '../../../lib/api/replica';
import { readBody } from '../../../lib/api/body';
import { configureLog } from '../../../lib/log';
import { ApiServer } from '../../../lib/api/server';
import { Router } from '../../../lib/api/router';
import type { Role, RoleView } from '../../../lib/leadership/leadership';
import { freePort } from '../../../testbed/ports';
import { makeTlsFiles, type TlsFiles } from '../../../testbed/tls';

const BODY = '{"Detach":false,"Tty":false}\n';
const HEADERS = `POST /v1.47/exec/abc/start HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`;
const UPGRADED = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';

/** A replica's view of leadership: forwarding to `address`, until `primary` is set. */
class FollowerRole extends EventEmitter implements Role {
  primary = false;
  constructor(public address: string) {
    super();
  }
  isPrimary(): boolean {
    return this.primary;
  }
  primaryAddress(): string {
    return this.address;
  }
  view(): RoleView {
    return { role: 'replica', primary: this.address };
  }
}

interface FakePrimary {
  address: string;
  /** The bodies of the requests it got, each complete. */
  bodies: string[];
  /** Stops listening and ends every connection. */
  close(): void;
}

/** dockerd's side of a hijack: reads head and body, answers (101, or 421 as a non-primary manager), echoes stdin until EOF. */
async function fakePrimary(options: { notPrimary?: boolean; onAnswer?: () => void; tls?: TlsFiles } = {}): Promise<FakePrimary> {
  const bodies: string[] = [];
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      if (answered) return void socket.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffered.subarray(0, end).toString())?.[1] ?? 0);
      const rest = buffered.subarray(end + 4);
      if (rest.length < length) return; // dockerd decodes the body before it answers
      answered = true;
      bodies.push(rest.subarray(0, length).toString());
      options.onAnswer?.();
      if (options.notPrimary) {
        const body = '{"message":"not primary"}';
        return void socket.end(`HTTP/1.1 421 Misdirected Request\r\nX-Swarm-Not-Primary: true\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      }
      socket.write(UPGRADED);
      if (rest.length > length) socket.write(rest.subarray(length));
    });
    socket.on('end', () => socket.end()); // stdin closed: the output ends
    socket.on('error', () => undefined);
  };
  const server = options.tls
    ? tls.createServer({ allowHalfOpen: true, cert: fs.readFileSync(options.tls.serverCert), key: fs.readFileSync(options.tls.serverKey), ca: fs.readFileSync(options.tls.ca), requestCert: true, rejectUnauthorized: true }, onConnection)
    : net.createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    bodies,
    close: () => {
      for (const socket of sockets) socket.destroy(); // a stuck pipe (a failed test) ends here
      server.close();
    },
  };
}

/** The docker CLI's side: headers, the body `bodyDelayMs` later, stdin after 101, half-close; all it read until EOF. */
function hijackClient(port: number, options: { bodyDelayMs: number; stdin: string; tls?: TlsFiles }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = options.tls
      ? tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(options.tls.ca), cert: fs.readFileSync(options.tls.clientCert), key: fs.readFileSync(options.tls.clientKey), allowHalfOpen: true } as tls.ConnectionOptions)
      : net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = '';
    let upgraded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no EOF from the replica; received so far: ${JSON.stringify(received)}`));
    }, 5000);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      if (options.bodyDelayMs === 0) return void socket.write(HEADERS + BODY);
      socket.write(HEADERS);
      setTimeout(() => socket.write(BODY), options.bodyDelayMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!upgraded && received.includes('\r\n\r\n')) {
        upgraded = true;
        socket.end(options.stdin); // stdin, then its EOF as a half-close (CloseWrite)
      }
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', reject);
  });
}

describe('ReplicaProxy: requests through a replica', function () {
  let tlsFiles: TlsFiles | undefined;
  const replicas: ApiServer[] = [];
  const primaries: FakePrimary[] = [];

  async function startReplica(role: Role, tlsOn = false, router = new Router()): Promise<number> {
    const port = await freePort();
    const serverTls = tlsOn && tlsFiles ? { cert: fs.readFileSync(tlsFiles.serverCert), key: fs.readFileSync(tlsFiles.serverKey), ca: fs.readFileSync(tlsFiles.ca), verify: true } : undefined;
    const server = new ApiServer(router, { hosts: [`tcp://127.0.0.1:${port}`], cors: false, tls: serverTls, replica: new ReplicaProxy(role, { waitMs: 3000, tls: serverTls }) });
    await server.listen();
    replicas.push(server);
    return port;
  }

  before(() => configureLog({ level: 'warning' }));
  afterEach(async function () {
    for (const p of primaries.splice(0)) p.close();
    // Bounded: a socket a failed test left paused never notices its peer's close.
    for (const r of replicas.splice(0)) await Promise.race([r.close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  });
  after(() => {
    configureLog({ level: 'info' });
    tlsFiles?.remove();
  });

  for (const bodyDelayMs of [0, 100]) {
    it(`forwards the body, stdin and the half-close, and the output until EOF (body ${bodyDelayMs ? 'after' : 'with'} the headers)`, async function () {
      const primary = await fakePrimary();
      primaries.push(primary);
      const port = await startReplica(new FollowerRole(primary.address));
      const received = await hijackClient(port, { bodyDelayMs, stdin: 'through exec\n' });
      assert.equal(received, `${UPGRADED}through exec\n`);
      assert.deepEqual(primary.bodies, [BODY]);
    });
  }

  it('sends the held body again to the next primary after a 421 from a manager that is no longer primary', async function () {
    const next = await fakePrimary();
    const role = new FollowerRole('');
    const stale = await fakePrimary({ notPrimary: true, onAnswer: () => (role.address = next.address) });
    role.address = stale.address;
    primaries.push(next, stale);
    const port = await startReplica(role);
    const received = await hijackClient(port, { bodyDelayMs: 100, stdin: 'after a failover\n' });
    assert.equal(received, `${UPGRADED}after a failover\n`);
    assert.deepEqual(stale.bodies, [BODY]);
    assert.deepEqual(next.bodies, [BODY]);
  });

  it('over TLS (--tlsverify managers): the same, the half-close included', async function () {
    this.timeout(30_000);
    tlsFiles ??= makeTlsFiles();
    const primary = await fakePrimary({ tls: tlsFiles });
    primaries.push(primary);
    const port = await startReplica(new FollowerRole(primary.address), true);
    for (const bodyDelayMs of [0, 100]) {
      const received = await hijackClient(port, { bodyDelayMs, stdin: 'over tls\n', tls: tlsFiles });
      assert.equal(received, `${UPGRADED}over tls\n`);
    }
    assert.deepEqual(primary.bodies, [BODY, BODY]);
  });

  it('a plain request the old primary refused (421) is served here once this manager wins, and the client gets the answer', async function () {
    const role = new FollowerRole('');
    const old = http.createServer((req, res) => {
      req.resume();
      res.writeHead(421, { 'X-Swarm-Not-Primary': 'true', 'Content-Type': 'application/json' }).end('{"message":"not primary"}');
      role.primary = true; // this manager won the election meanwhile
      role.emit('change');
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    role.address = `127.0.0.1:${(old.address() as net.AddressInfo).port}`;
    const router = new Router().post('/containers/create', async (ctx) => {
      const body = await readBody(ctx.req); // the body read before the 421, replayed
      ctx.res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Id: 'x', got: JSON.parse(body.toString()) }));
    });
    try {
      const port = await startReplica(role, false, router);
      // Regression: the replayed request was never marked complete; destroyed once read, it
      // counted as aborted and destroyed the client's socket while the create ran here.
      const res = await fetch(`http://127.0.0.1:${port}/v1.47/containers/create?name=a`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Image: 'busybox' }) });
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { Id: 'x', got: { Image: 'busybox' } });
    } finally {
      old.close();
    }
  });
});
