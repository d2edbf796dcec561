/**
 * Sends one client request to several engines (image pull, import, load) with at most
 * `parallelism` engines at a time, and merges their JSON progress streams into one a person can
 * read (see ProgressAggregator): one line per layer with counts of engines, each text once, and
 * a closing error naming the engines that failed, grouped by message. If every engine refuses
 * the request up front with the same status, the client gets that status and the engine's
 * message unchanged (as from one engine), not a 200 stream carrying an error.
 *
 * The request body (import, load) is streamed to every engine at once, paced by the slowest,
 * when all engines fit in one wave. With more engines than `parallelism` it is first written to
 * a temporary file (disk, not memory) that each wave reads again; the file is removed at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { Engine } from '../engine/engine';
import { runLimited } from '../engine/engine';
import { parseMessage } from '../engine/client';
import { metrics } from '../metrics/registry';
import { engineUrl, type ForwardContext } from './forward';
import { noteAudit } from './audit';
import { ProgressAggregator, type ProgressMessage } from './progress';
import { log } from '../log';
import split2 from 'split2';

export interface BroadcastOptions {
  /** What the progress lines call the operation ("pull", "import", "load"). */
  operation: string;
  /** Whether the client's request body is sent to every engine. */
  withBody: boolean;
  parallelism: number;
  /** Runs before the response ends (refresh image lists), so the client's next read sees the write. */
  onDone?: () => Promise<unknown> | void;
}

/** Where each engine's request body comes from. */
type BodySource = { kind: 'none' } | { kind: 'tee'; upstreams: http.ClientRequest[] } | { kind: 'file'; file: string };

/** One engine's result: its error message if it failed, and its HTTP status if it refused up front. */
interface Outcome {
  error?: string;
  status?: number;
}

const bytesIn = metrics.forwardedBytes.labels({ kind: 'broadcast', direction: 'client_to_engine' });
const bytesOut = metrics.forwardedBytes.labels({ kind: 'broadcast', direction: 'engine_to_client' });

export function broadcast(ctx: ForwardContext, engines: Engine[], enginePath: string, options: BroadcastOptions): void {
  void run(ctx, engines, enginePath, options).catch((err: Error) => {
    log.warn('Broadcast failed', { path: enginePath, error: err.message });
    if (!ctx.res.writableEnded) ctx.res.end(JSON.stringify({ errorDetail: { message: err.message }, error: err.message }) + '\n');
  });
}

async function run(ctx: ForwardContext, engines: Engine[], enginePath: string, options: BroadcastOptions): Promise<void> {
  const { req, res } = ctx;
  noteAudit(req, { engines: engines.length });
  // The 200 and its progress stream start with the first engine's progress (or after a second);
  // until then an answer where every engine refused can still carry their status. The
  // aggregator's "engines" summary alone does not start it: it is held and sent first.
  let heldSummary: ProgressMessage | undefined;
  const send = (message: ProgressMessage): void => {
    if (!res.writableEnded) res.write(JSON.stringify(message) + '\n');
  };
  const start = (): void => {
    if (res.headersSent) return;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    if (heldSummary) send(heldSummary);
    heldSummary = undefined;
  };
  const keepAlive = setTimeout(start, 1000);
  const write = (message: ProgressMessage): void => {
    if (!res.headersSent && message.id === 'engines') {
      heldSummary = message;
      return;
    }
    start();
    send(message);
  };
  const outcomes: Outcome[] = [];
  const progress = new ProgressAggregator(options.operation, engines.length, write);
  const parallelism = Math.max(1, options.parallelism);
  let body: BodySource = { kind: 'none' };
  let spooled: string | undefined;
  if (options.withBody && engines.length > parallelism) {
    spooled = await spoolBody(req);
    body = { kind: 'file', file: spooled };
  } else if (options.withBody) {
    body = { kind: 'tee', upstreams: [] };
  }
  try {
    // With a tee, every engine's request must exist before the body flows: runLimited starts
    // all of them synchronously (parallelism >= engines here).
    const done = runLimited(engines, parallelism, async (engine) => {
      progress.engineStarted();
      const outcome = await sendTo(ctx, engine, enginePath, body, progress);
      outcomes.push(outcome);
      const error = outcome.error;
      metrics.broadcastEngines.inc({ operation: options.operation, result: error ? 'failed' : 'succeeded' });
      progress.engineDone(engine.name, error);
    });
    if (body.kind === 'tee') teeBody(req, body.upstreams);
    await done;
  } finally {
    if (spooled) fs.rm(path.dirname(spooled), { recursive: true, force: true }, () => undefined);
  }
  clearTimeout(keepAlive);
  const first = outcomes[0];
  const refusedAlike = first?.status !== undefined && outcomes.every((o) => o.status === first.status && o.error === first.error);
  if (refusedAlike && !res.headersSent) {
    res.writeHead(first.status ?? 500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: first.error ?? '' }) + '\n');
    return;
  }
  const error = progress.finish();
  if (error) write({ errorDetail: { message: error }, error });
  start();
  await Promise.resolve(options.onDone?.()).catch(() => undefined);
  res.end();
}

/** One engine's request; resolves with its error (and status, if it refused before streaming). */
function sendTo(ctx: ForwardContext, engine: Engine, enginePath: string, body: BodySource, progress: ProgressAggregator): Promise<Outcome> {
  const { req } = ctx;
  const headers: http.OutgoingHttpHeaders = {};
  for (const name of ['content-type', 'x-registry-auth', 'x-registry-config']) if (req.headers[name]) headers[name] = req.headers[name];
  if (body.kind !== 'none') headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve) => {
    const transport = engine.client.protocol === 'https' ? https : http;
    const upstream = transport.request(engine.client.requestOptions(req.method ?? 'POST', engineUrl(engine, enginePath, ctx.query, ctx.apiVersion), headers), (response) => {
      const status = response.statusCode ?? 500;
      if (status >= 400) {
        // An error answer is one JSON document, not a progress stream.
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status, error: parseMessage(Buffer.concat(chunks).toString('utf8')) || `HTTP ${status}` }));
        response.on('error', (err) => resolve({ error: err.message }));
        return;
      }
      let lastError: string | undefined;
      const handleLine = (line: string): void => {
        const parsed = safeParse(line);
        if (!parsed) progress.add(engine.name, { stream: `${line}\n` });
        else if (parsed.error) lastError = String(parsed.error);
        else progress.add(engine.name, parsed);
      };
      response.on('data', (chunk: Buffer) => bytesOut.inc(chunk.length));
      // split2 keeps a multi-byte UTF-8 character whole when it straddles two chunks.
      const lines = response.pipe(split2());
      lines.on('data', (raw: string) => {
        const line = raw.trim();
        if (line) handleLine(line);
      });
      lines.on('end', () => {
        engine.recordSuccess();
        resolve({ error: lastError });
      });
      response.on('error', (err) => resolve({ error: err.message }));
    });
    upstream.on('error', (err) => {
      engine.recordFailure(err);
      resolve({ error: err.message });
    });
    if (body.kind === 'none') upstream.end();
    else if (body.kind === 'tee') body.upstreams.push(upstream);
    else {
      const file = fs.createReadStream(body.file);
      file.on('data', (chunk) => bytesIn.inc(chunk.length));
      file.on('error', (err) => upstream.destroy(err));
      file.pipe(upstream);
    }
  });
}

/** Writes the client's body to a private temporary file; returns its path. */
async function spoolBody(req: IncomingMessage): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'swarm-broadcast-'));
  const file = path.join(dir, 'body');
  await pipeline(req, fs.createWriteStream(file, { mode: 0o600 }));
  return file;
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
      bytesIn.inc(chunk.length);
      if (!upstream.write(chunk)) full.add(upstream);
    }
    if (full.size > 0) req.pause();
  });
  req.on('end', () => upstreams.forEach((u) => u.end()));
  req.on('error', () => upstreams.forEach((u) => u.destroy()));
}

function safeParse(line: string): ProgressMessage | undefined {
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as ProgressMessage) : undefined;
  } catch {
    return undefined;
  }
}
