/**
 * A thin timed HTTP client for the Docker API (node's `http`, keep-alive). The benchmark uses
 * it instead of dockerode so the client's own cost stays small and identical for the manager
 * and for the engines it is compared with.
 */
import http from 'node:http';
import type { Readable, Writable } from 'node:stream';

export interface TimedResponse {
  status: number;
  /** Body bytes received. */
  bytes: number;
  /** From sending the request to the last body byte. */
  ms: number;
  /** The body, when `keepBody` was set. */
  body?: Buffer;
}

export interface RequestOptions {
  json?: unknown;
  /** A request body stream (e.g. an image archive). */
  body?: Readable;
  contentType?: string;
  keepBody?: boolean;
  /** Streams the response body into this (e.g. a file) instead of discarding it. */
  sink?: Writable;
  timeoutMs?: number;
}

export class ApiClient {
  private readonly agent: http.Agent;

  constructor(readonly port: number, readonly host = '127.0.0.1', maxSockets = 32) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<TimedResponse> {
    const started = process.hrtime.bigint();
    const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
    const headers: http.OutgoingHttpHeaders = {};
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    } else if (options.body) {
      headers['Content-Type'] = options.contentType ?? 'application/x-tar';
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        if (options.sink) {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.pipe(options.sink);
          options.sink.on('finish', () => resolve({ status: res.statusCode ?? 0, bytes, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
          options.sink.on('error', reject);
          return;
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (options.keepBody) chunks.push(chunk);
        });
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          resolve({ status: res.statusCode ?? 0, bytes, ms, body: options.keepBody ? Buffer.concat(chunks) : undefined });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${options.timeoutMs} ms`)));
      if (payload) req.end(payload);
      else if (options.body) options.body.pipe(req);
      else req.end();
    });
  }

  /** A request whose status must be 2xx (or 304); returns the parsed JSON body (if any). */
  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, { json: body, keepBody: true });
    const text = res.body?.toString('utf8') ?? '';
    if (res.status >= 300 && res.status !== 304) throw new ApiError(res.status, `${method} ${path} -> ${res.status}: ${text.trim().slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Throws unless the response status is 2xx or 304. */
export function expectOk(res: TimedResponse, what: string): TimedResponse {
  if (res.status >= 300 && res.status !== 304) {
    throw new ApiError(res.status, `${what} -> ${res.status}${res.body ? `: ${res.body.toString('utf8').trim().slice(0, 300)}` : ''}`);
  }
  return res;
}
