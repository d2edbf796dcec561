/**
 * Sends one client request to several engines (image pull, import, load): the request body is
 * streamed to all of them at once (paced by the slowest), and their JSON progress streams are
 * merged into one, each message naming its node. Nothing is buffered beyond a chunk.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Engine } from '../engine/engine';
import split2 from 'split2';
import { parseMessage } from '../engine/client';
import { engineUrl, type ForwardContext } from './forward';

interface Outcome {
  engine: Engine;
  /** The engine's HTTP status when it refused the request before streaming. */
  status?: number;
  error?: string;
}

/** Prefixes a progress message with its node so per-node progress stays readable. */
function tagMessage(engine: Engine, line: string): string {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return JSON.stringify({ stream: `${engine.name}: ${line}\n` });
  }
  if (typeof msg.stream === 'string') msg.stream = `${engine.name}: ${msg.stream}`;
  if (typeof msg.status === 'string') msg.id = msg.id ? `${engine.name}: ${String(msg.id)}` : engine.name;
  return JSON.stringify(msg);
}

export function broadcast(ctx: ForwardContext, engines: Engine[], path: string, withBody: boolean, onDone?: () => Promise<unknown> | void): void {
  const { req, res } = ctx;
  // The 200 and its progress stream start with the first engine that accepts the request; if
  // every engine refuses it up front, the client gets their status and message unchanged.
  const start = (): void => {
    if (res.headersSent) return;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
  };
  const keepAlive = setTimeout(start, 1000);
  const headers: http.OutgoingHttpHeaders = {};
  for (const name of ['content-type', 'x-registry-auth', 'x-registry-config']) if (req.headers[name]) headers[name] = req.headers[name];
  if (withBody) headers['transfer-encoding'] = 'chunked';
  const upstreams: http.ClientRequest[] = [];
  const outcomes = engines.map((engine) => new Promise<Outcome>((resolve) => {
    const transport = engine.client.protocol === 'https' ? https : http;
    const upstream = transport.request(engine.client.requestOptions(req.method ?? 'POST', engineUrl(engine, path, ctx.query, ctx.apiVersion), headers), (response) => {
      const status = response.statusCode ?? 500;
      if (status >= 400) {
        // An error answer is one JSON document, not a progress stream.
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ engine, status, error: parseMessage(Buffer.concat(chunks).toString('utf8')) || `HTTP ${status}` }));
        response.on('error', (err) => resolve({ engine, error: err.message }));
        return;
      }
      start();
      let lastError: string | undefined;
      // split2 keeps a multi-byte UTF-8 character whole when it straddles two chunks.
      const lines = response.pipe(split2());
      lines.on('data', (raw: string) => {
        const line = raw.trim();
        if (!line) return;
        const parsed = safeParse(line);
        if (parsed?.error) lastError = String(parsed.error);
        else res.write(tagMessage(engine, line) + '\n');
      });
      lines.on('end', () => {
        engine.recordSuccess();
        resolve({ engine, error: lastError });
      });
      response.on('error', (err) => resolve({ engine, error: err.message }));
    });
    upstream.on('error', (err) => {
      engine.recordFailure(err);
      resolve({ engine, error: err.message });
    });
    if (!withBody) upstream.end();
    else upstreams.push(upstream);
  }));
  if (withBody) teeBody(req, upstreams);
  void Promise.all(outcomes).then(async (results) => {
    clearTimeout(keepAlive);
    const failed = results.filter((r) => r.error);
    const refused = failed.length === results.length && results.every((r) => r.status !== undefined && r.status === results[0].status);
    if (refused && !res.headersSent) {
      // Every engine answered the same error status: pass it on, the message unchanged when they agree.
      const same = results.every((r) => r.error === results[0].error);
      const message = same ? results[0].error ?? '' : failed.map((f) => `${f.engine.name}: ${f.error}`).join('; ');
      res.writeHead(results[0].status ?? 500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message }) + '\n');
      return;
    }
    start();
    if (failed.length > 0) {
      const message = failed.map((f) => `${f.engine.name}: ${f.error}`).join('; ');
      res.write(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
    }
    // Refreshed before the answer ends, so the client's next read sees the pulled/loaded image.
    await Promise.resolve(onDone?.()).catch(() => undefined);
    res.end();
  });
}

/** Writes the client body to every upstream, pausing the client while any upstream is full. */
function teeBody(req: IncomingMessage, upstreams: http.ClientRequest[]): void {
  const full = new Set<http.ClientRequest>();
  const release = (upstream: http.ClientRequest): void => {
    if (full.delete(upstream) && full.size === 0) req.resume();
  };
  for (const upstream of upstreams) {
    upstream.on('drain', () => release(upstream));
    upstream.on('close', () => release(upstream));
  }
  req.on('data', (chunk: Buffer) => {
    for (const upstream of upstreams) {
      if (upstream.destroyed) continue;
      if (!upstream.write(chunk)) full.add(upstream);
    }
    if (full.size > 0) req.pause();
  });
  req.on('end', () => upstreams.forEach((u) => u.end()));
  req.on('error', () => upstreams.forEach((u) => u.destroy()));
}

function safeParse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
