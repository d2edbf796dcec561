/**
 * How the manager talks to one engine: a dockerode client for typed calls (info, inspect,
 * events...) and a raw JSON request helper for calls whose bodies must pass through untouched
 * (container create). Both share one keep-alive agent so connections are reused.
 */
import http from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import type { Readable } from 'node:stream';
import Dockerode from 'dockerode';
import { ApiError } from '../errors';
import { compareVersions } from '../api/version';

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Verify the engine's certificate against `ca` (classic --tlsverify). */
  verify: boolean;
}

export interface EngineEndpoint {
  /** host:port, or unix:///path for a local socket. */
  addr: string;
  host?: string;
  port?: number;
  socketPath?: string;
}

export function parseEngineAddr(addr: string): EngineEndpoint {
  if (addr.startsWith('unix://')) return { addr, socketPath: addr.slice('unix://'.length) };
  const bare = addr.replace(/^tcp:\/\//, '');
  const colon = bare.lastIndexOf(':');
  const host = bare.slice(0, colon).replace(/^\[|\]$/g, '');
  return { addr: bare, host, port: Number(bare.slice(colon + 1)) };
}

export interface RequestOptions {
  body?: unknown;
  headers?: http.OutgoingHttpHeaders;
  timeoutMs?: number;
  /** The API version the client spoke (see versionedPath). */
  apiVersion?: string;
}

export interface JsonResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class EngineClient {
  readonly endpoint: EngineEndpoint;
  readonly agent: http.Agent;
  readonly protocol: 'http' | 'https';
  docker: Dockerode;
  /** The engine's API version (from its /version), e.g. "1.41"; empty until validated. */
  apiVersion = '';

  constructor(addr: string, readonly tls?: TlsFiles) {
    this.endpoint = parseEngineAddr(addr);
    this.protocol = tls ? 'https' : 'http';
    // Few idle connections per engine: a burst (the 8 inspects of a full refresh) would
    // otherwise leave 8 open sockets behind on every engine, 40,000 at 5,000 engines, each
    // holding memory in the manager and the engine. Two cover the usual one call at a time.
    const pool = { keepAlive: true, maxSockets: 64, maxFreeSockets: 2 };
    this.agent = tls
      ? new https.Agent({ ...pool, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.verify })
      : new http.Agent(pool);
    // docker-modem formats every request's options with util.inspect(showHidden, depth: null)
    // even with debug logging off; through the agent that walks every pooled socket. At 1,000
    // engines that was ~75% of the manager's CPU (bench/README.md, profiling).
    Object.defineProperty(this.agent, inspect.custom, { value: () => '[Agent]' });
    this.docker = this.makeDockerode();
  }

  /** Pins the API version used for every later call (after reading the engine's /version). */
  setApiVersion(version: string): void {
    this.apiVersion = version;
    this.docker = this.makeDockerode(`v${version}`);
  }

  private makeDockerode(version?: string): Dockerode {
    const { host, port, socketPath } = this.endpoint;
    const options: Dockerode.DockerOptions & { agent: http.Agent } = socketPath
      ? { socketPath, agent: this.agent, version }
      : { host, port, protocol: this.protocol, agent: this.agent, version, ca: this.tls?.ca, cert: this.tls?.cert, key: this.tls?.key };
    return new Dockerode(options);
  }

  /** Request options (host/port or socket, agent) for a raw call to `path` on this engine. */
  requestOptions(method: string, path: string, headers: http.OutgoingHttpHeaders = {}): http.RequestOptions {
    const { host, port, socketPath } = this.endpoint;
    return { method, path, headers, agent: this.agent, ...(socketPath ? { socketPath } : { host, port }) };
  }

  /**
   * `path` under the API version to speak: the client's when the engine supports it (so the
   * engine reads the request as the client meant it), else the engine's own newest.
   */
  versionedPath(path: string, clientVersion?: string): string {
    if (!this.apiVersion) return path;
    const version = clientVersion && compareVersions(clientVersion, this.apiVersion) < 0 ? clientVersion : this.apiVersion;
    return `/v${version}${path}`;
  }

  /** One request with an optional JSON body; resolves with the whole (small) response. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<JsonResponse> {
    const { body, headers = {}, timeoutMs = 30_000, apiVersion } = options;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const allHeaders: http.OutgoingHttpHeaders = { ...headers };
    if (payload) {
      allHeaders['content-type'] = 'application/json';
      allHeaders['content-length'] = payload.length;
    }
    const transport = this.protocol === 'https' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(this.requestOptions(method, this.versionedPath(path, apiVersion), allHeaders), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * A request whose response is streamed to the caller (saves, loads, pulls): resolves with the
   * response as soon as its headers arrive. `body` may itself be a stream (piped, not buffered).
   */
  stream(method: string, path: string, options: { body?: Readable; headers?: http.OutgoingHttpHeaders; apiVersion?: string } = {}): Promise<http.IncomingMessage> {
    const transport = this.protocol === 'https' ? https : http;
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { ...options.headers };
      if (options.body) headers['transfer-encoding'] = 'chunked';
      const req = transport.request(this.requestOptions(method, this.versionedPath(path, options.apiVersion), headers), resolve);
      req.on('error', reject);
      if (options.body) {
        options.body.on('error', (err) => req.destroy(err));
        options.body.pipe(req);
      } else {
        req.end();
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Errors that mean "the engine is not reachable" (they count towards unhealthy). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT', 'ECONNABORTED'].includes(code)) return true;
  const message = e?.message ?? '';
  return /onnection refused|socket hang up|timeout after|annot connect to the docker|no route to host/i.test(message);
}

const UNTRUSTED_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

/**
 * One clear line for the TLS mismatches operators hit when wiring engines (instead of an
 * OpenSSL record error): plain HTTP vs TLS either way, an untrusted engine certificate, and an
 * engine refusing the manager's client certificate. Other errors pass through unchanged.
 */
export function describeEngineError(err: unknown, addr: string, usingTls: boolean): string {
  const e = err as { code?: string; message?: string; statusCode?: number; json?: unknown } | undefined;
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (usingTls && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(message))) {
    return `engine ${addr} speaks plain HTTP, not TLS: drop the engine TLS options (--tls, --tlsverify, --engine-tls*) or start the engine with --tlsverify`;
  }
  if (!usingTls && /client sent an http request to an https server/i.test(`${message} ${JSON.stringify(e?.json ?? '')}`)) {
    return `engine ${addr} speaks TLS, not plain HTTP: give swarm manage --tlsverify with --tlscacert, --tlscert and --tlskey (or --engine-tlscacert, --engine-tlscert, --engine-tlskey)`;
  }
  if (UNTRUSTED_CERT_CODES.has(code)) {
    return `engine ${addr} presented a certificate the manager does not trust (${code}: ${message}); check --tlscacert or --engine-tlscacert`;
  }
  if (/alert (bad certificate|certificate required|unknown ca|certificate unknown)|ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA)/i.test(`${code} ${message}`)) {
    return `engine ${addr} refused the manager's client certificate (${message.replace(/^.*alert /i, 'alert ').trim()}); check --tlscert/--tlskey or --engine-tlscert/--engine-tlskey against the engine's CA`;
  }
  return message;
}

/** The message of an engine error body (JSON `{"message"}` or, from old engines, plain text). */
export function parseMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: string };
    if (parsed && typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: engines before API 1.24 answered plain text
  }
  return text.trim();
}

/** Passes a successful engine response through; turns an error answer into an ApiError. */
export function ensureOk(response: JsonResponse): JsonResponse {
  if (response.status >= 400) throw new ApiError(response.status, parseMessage(response.body.toString('utf8')));
  return response;
}
