/**
 * What a replica manager does with a request it does not serve itself (classic api/replica.go):
 * it passes the request to the primary and the primary's answer back, streams (logs -f,
 * events, build) and hijacked connections (attach, exec) included.
 *
 * Better than classic:
 * - While no primary is known (an election under way, a crashed primary's lock not yet
 *   expired), the request waits up to `waitMs`, then gets a JSON 503 saying so.
 * - A primary that cannot be reached is retried until the wait runs out: a request is retried
 *   only when its connection to the primary never opened, so nothing is ever sent twice.
 * - A forwarded request (X-Swarm-Hops) reaching a manager that is not primary (it just resigned
 *   or lost its lock) is not executed and not forwarded again: that manager answers 421 with
 *   X-Swarm-Not-Primary, and the replica that forwarded it waits for the next primary and
 *   sends it there. No request bounces between managers, none is executed twice.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Role } from '../leadership/leadership';
import { ApiError, sendError } from './errors';
import { log } from '../log';

export interface ReplicaOptions {
  /** How long a request waits for a reachable primary before the 503. */
  waitMs: number;
  /** The manager's TLS material, also used towards the primary (as classic did). */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; verify: boolean };
}

export const HOPS_HEADER = 'x-swarm-hops';
export const NOT_PRIMARY_HEADER = 'x-swarm-not-primary';
const RETRY_MS = 250;
/** Bodies up to this size (create, exec, networks...) are held so a 421 can be retried. */
const REPLAYABLE_BODY = 1024 * 1024;

/** Thrown for a forwarded request that reached a manager which is not primary. */
export class NotPrimaryError extends ApiError {
  constructor() {
    super(421, 'this manager is no longer the primary; the request was not executed');
  }
}

/** Paths a replica answers itself (classic: /_ping, /info; /debug is not served here). */
export function servedByReplica(path: string): boolean {
  return path === '/_ping' || path === '/info';
}

function hops(req: http.IncomingMessage): number {
  const n = Number(req.headers[HOPS_HEADER] ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

function bodyExpected(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function isSmallBody(req: http.IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return req.headers['transfer-encoding'] === undefined && Number.isFinite(length) && length <= REPLAYABLE_BODY;
}

/** The same request again, with a body already read (served locally after a 421). */
function replayRequest(req: http.IncomingMessage, body: Buffer): http.IncomingMessage {
  const replay = new http.IncomingMessage(req.socket);
  Object.assign(replay, { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, httpVersion: req.httpVersion, httpVersionMajor: req.httpVersionMajor, httpVersionMinor: req.httpVersionMinor });
  if (body.length > 0) replay.push(body);
  // Complete, as the parser marks a request read to its end: an IncomingMessage destroyed
  // (autoDestroy, once its body is read) while not complete counts as aborted and destroys the
  // socket, which cut the client off while its request was being executed here.
  replay.complete = true;
  replay.push(null);
  return replay;
}

async function readAll(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

export class ReplicaProxy {
  constructor(private readonly role: Role, private readonly options: ReplicaOptions) {}

  /**
   * Waits until this manager is primary (resolves 'local') or a primary to forward to is known
   * (resolves its address); throws the 503 when the wait runs out or the client went away.
   */
  async target(req: http.IncomingMessage, deadline: number, closed: () => boolean): Promise<'local' | string> {
    for (;;) {
      if (this.role.isPrimary()) return 'local';
      if (hops(req) > 0) throw new NotPrimaryError();
      const primary = this.role.primaryAddress();
      if (primary) return primary;
      if (closed()) throw new ApiError(499, 'client closed the request');
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ApiError(503, `No elected primary cluster manager: none became reachable within ${Math.round(this.options.waitMs / 1000)}s (an election may be under way or the replication store unreachable); retry later`);
      }
      await this.changeOr(Math.min(left, RETRY_MS * 4));
    }
  }

  /**
   * After an attempt at `failed` found no primary there (unreachable, or a 421): at once if
   * leadership already moved on (this manager won, or the key names another primary), else at
   * the next change of leadership or after RETRY_MS. A fixed pause here was up to a quarter
   * second of every failover.
   */
  private async nextAttempt(failed: string): Promise<void> {
    if (this.role.isPrimary() || this.role.primaryAddress() !== failed) return;
    await this.changeOr(RETRY_MS);
  }

  private changeOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.role.off('change', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.role.on('change', done);
    });
  }

  /**
   * Serves `req` through the primary. Returns `local` when this manager is (or became, while
   * waiting) the primary: the caller serves the request itself, from `replay` when the body was
   * already read here.
   */
  async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<{ local: false } | { local: true; replay?: http.IncomingMessage }> {
    const deadline = Date.now() + this.options.waitMs;
    let body: Buffer | undefined;
    let streamed = false;
    for (;;) {
      // Not req.destroyed: a request whose body was read is destroyed (autoDestroy) while the client waits.
      const target = await this.target(req, deadline, () => res.destroyed || req.socket.destroyed);
      if (target === 'local') return { local: true, replay: body ? replayRequest(req, body) : undefined };
      if (streamed) throw new ApiError(503, 'the primary changed while the request body was sent; it was not executed, retry');
      // Small bodies are held so the request can be sent again after a 421; big ones stream.
      if (!body && isSmallBody(req)) body = await readAll(req);
      const outcome = await this.forwardOnce(req, res, target, body);
      if (outcome === 'done') return { local: false };
      if (outcome === 'not-primary' && !body && bodyExpected(req)) streamed = true;
      log.debug('Primary unreachable or not primary, waiting', { primary: target });
      await this.nextAttempt(target);
    }
  }

  /** One attempt; 'unreachable' only if the connection never opened (nothing was sent). */
  private forwardOnce(req: http.IncomingMessage, res: http.ServerResponse, primary: string, body?: Buffer): Promise<'done' | 'unreachable' | 'not-primary'> {
    return new Promise((resolve) => {
      // One outcome per attempt: events of an abandoned upstream (its error after a 421, say)
      // must not touch the client's response, which a retry may be writing.
      let settled = false;
      const finish = (outcome: 'done' | 'unreachable' | 'not-primary'): void => {
        if (settled) return;
        settled = true;
        res.off('close', onClientClose);
        if (outcome !== 'done') upstream.destroy();
        resolve(outcome);
      };
      const { host, port } = splitAddr(primary);
      const headers: http.OutgoingHttpHeaders = { ...req.headers, [HOPS_HEADER]: String(hops(req) + 1) };
      delete headers.connection;
      delete headers['keep-alive'];
      const tlsOptions = this.options.tls;
      const requestOptions: https.RequestOptions = {
        host, port, method: req.method, path: req.url, headers, agent: false,
        ...(tlsOptions ? { cert: tlsOptions.cert, key: tlsOptions.key, ca: tlsOptions.ca, rejectUnauthorized: tlsOptions.verify } : {}),
      };
      const upstream = tlsOptions ? https.request(requestOptions) : http.request(requestOptions);
      let connected = false;
      let answering = false;
      const onClientClose = (): void => {
        if (!res.writableFinished) upstream.destroy();
      };
      res.once('close', onClientClose);
      upstream.once('socket', (socket: net.Socket) => {
        const opened = (): void => {
          if (settled) return;
          connected = true;
          if (body) upstream.end(body);
          else req.pipe(upstream);
        };
        if (socket.connecting) socket.once(tlsOptions ? 'secureConnect' : 'connect', opened);
        else opened();
      });
      upstream.on('response', (answer) => {
        if (settled) return void answer.resume();
        if (answer.statusCode === 421 && answer.headers[NOT_PRIMARY_HEADER]) {
          answer.resume(); // not executed there: try the next primary
          return finish('not-primary');
        }
        settled = true; // from here on the answer is the client's
        answering = true;
        const copy = { ...answer.headers };
        delete copy.connection;
        delete copy['keep-alive'];
        res.writeHead(answer.statusCode ?? 502, copy);
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.on('end', () => resolve('done'));
        res.once('close', () => {
          answer.destroy();
          resolve('done');
        });
      });
      upstream.on('error', (err) => {
        if (answering && !res.writableFinished) res.destroy(); // the primary went away mid-answer
        if (settled) return;
        if (!connected) return finish('unreachable');
        sendError(res, 502, `Unable to reach primary cluster manager (${primary}): ${err.message}`);
        finish('done');
      });
    });
  }

  /**
   * The hijacked counterpart (attach, exec start): a raw byte pipe to the primary. Resolves
   * `forwarded`, or the head to serve the request with here when this manager became primary
   * (the request's body may have been read off the socket by then).
   */
  async forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<{ forwarded: true } | { forwarded: false; head: Buffer }> {
    const deadline = Date.now() + this.options.waitMs;
    let body: Buffer | 'stream' | undefined;
    for (;;) {
      const target = await this.target(req, deadline, () => socket.destroyed);
      if (target === 'local') return { forwarded: false, head: body instanceof Buffer ? body : head };
      body ??= await readUpgradeBody(req, socket, head, deadline);
      if (await this.pipeOnce(req, socket, body === 'stream' ? head : body, target, body === 'stream')) return { forwarded: true };
      await this.nextAttempt(target);
    }
  }

  /**
   * One attempt: the request line, headers and `head` (the whole body, unless `stream`), then
   * the primary's answer is looked at before the client's stream is joined to it: a 421 from a
   * manager that is not primary means "try the next one", and the client sends nothing (stdin)
   * before it has the answer (101 UPGRADED), so nothing is lost by waiting. A body that could not
   * be held (chunked, or huge; the docker CLI sends neither) streams at once, without retry.
   */
  private pipeOnce(req: http.IncomingMessage, client: Duplex, head: Buffer, primary: string, stream: boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const { host, port } = splitAddr(primary);
      const t = this.options.tls;
      let opened = false;
      let joined = false;
      const join = (): void => {
        joined = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        resolve(true);
      };
      const onConnect = (): void => {
        opened = true;
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          if (req.rawHeaders[i].toLowerCase() !== HOPS_HEADER) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        }
        lines.push(`X-Swarm-Hops: ${hops(req) + 1}`);
        upstream.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        if (stream) return join();
        upstream.once('data', (first: Buffer) => {
          const text = first.subarray(0, 512).toString('latin1');
          if (text.startsWith('HTTP/1.1 421') && text.toLowerCase().includes(NOT_PRIMARY_HEADER)) {
            upstream.destroy();
            return resolve(false);
          }
          client.write(first);
          join();
        });
        upstream.once('end', () => {
          if (!joined) upstream.destroy();
          resolve(false);
        });
      };
      // Half-open both ways: the client half-closes when its stdin ends and still reads output.
      // (tls.connect honours allowHalfOpen; @types/node does not list it in ConnectionOptions.)
      const tlsOptions: tls.ConnectionOptions & { allowHalfOpen: boolean } = { host, port, cert: t?.cert, key: t?.key, ca: t?.ca, rejectUnauthorized: t?.verify, servername: net.isIP(host) ? undefined : host, allowHalfOpen: true };
      const upstream: net.Socket = t
        ? tls.connect(tlsOptions, onConnect)
        : net.connect({ host, port, allowHalfOpen: true }, onConnect);
      upstream.setNoDelay(true);
      upstream.once('error', () => {
        if (!opened) resolve(false);
        else client.destroy();
      });
    });
  }
}

/**
 * An upgrade request's body (exec start sends `{"Detach":false,"Tty":false}`), whole: what
 * came with the headers (`head`) and the rest read off the raw socket. Node hands the socket
 * over once the headers are parsed, and the body may arrive in a later TCP segment. It must go
 * to the primary with the request: the primary (and dockerd behind it) answers only once it
 * has the body, and the client sends nothing more until that answer; left in the socket until
 * the answer, it deadlocked `docker exec -i` through a replica whenever body and headers came
 * apart. 'stream' when the body cannot be held (chunked, or larger than REPLAYABLE_BODY).
 */
function readUpgradeBody(req: http.IncomingMessage, socket: Duplex, head: Buffer, deadline: number): Promise<Buffer | 'stream'> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(length) || length > REPLAYABLE_BODY) return Promise.resolve('stream');
  if (head.length >= length) return Promise.resolve(head);
  return new Promise((resolve, reject) => {
    const chunks = [head];
    let have = head.length;
    const done = (err?: ApiError): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onReadable = (): void => {
      for (let chunk: Buffer | null; have < length && (chunk = socket.read() as Buffer | null) !== null;) {
        chunks.push(chunk);
        have += chunk.length;
      }
      if (have >= length) done();
    };
    const onEnd = (): void => done(new ApiError(400, 'unexpected EOF: the request body ended early'));
    const timer = setTimeout(() => done(new ApiError(408, 'the request body did not arrive in time')), Math.max(0, deadline - Date.now()));
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}
