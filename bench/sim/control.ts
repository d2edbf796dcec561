/**
 * The simulator host's control port: how a benchmark drives the simulated engines beyond the
 * Docker API (which it reaches through the manager). It is a plain HTTP server on its own
 * loopback port, separate from the engines' ports.
 *
 *   POST /storm?rate=10&seconds=60&sample-ms=200&hold-ms=5000
 *     Runs an event storm (storm.ts) and streams newline-delimited JSON while it runs:
 *     `{"sample":{engine,id,state,emittedAtMs}}` for each sampled change, then
 *     `{"done":{emitted,pause,unpause,sampled,durationMs,lateTicks,ticks,engines}}`.
 *   GET /stats
 *     `{"engines":N,"containers":M,"eventSubscribers":K,"imageTransfers":{"inFlight":I,"max":X}}`
 *     (image load/import/pull requests being served now, and the most at once since start).
 *   POST /engine-time   body: a JSON array of container IDs
 *     `{"<id>": ms, ...}`: how long this process's engines held each one's create and start
 *     (engine-time.ts), for those it answered.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimEngine } from './engine';
import type { EngineTimeLedger } from './engine-time';
import { runStorm } from './storm';
import { imageTransfers } from './server';

export async function startControlServer(engines: SimEngine[], engineTime: EngineTimeLedger, host = '127.0.0.1', port = 0): Promise<{ port: number; close(): void }> {
  let storming = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const num = (name: string, fallback: number): number => {
      const v = Number(url.searchParams.get(name) ?? fallback);
      return Number.isFinite(v) && v >= 0 ? v : fallback;
    };
    if (req.method === 'POST' && url.pathname === '/storm') {
      if (storming) {
        res.writeHead(409, { 'Content-Type': 'application/json' }).end('{"message":"a storm is already running"}\n');
        return;
      }
      storming = true;
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.flushHeaders();
      const options = { ratePerEngine: num('rate', 10), durationMs: num('seconds', 60) * 1000, sampleEveryMs: num('sample-ms', 200), holdMs: num('hold-ms', 5000) };
      void runStorm(engines, options, (sample) => res.write(JSON.stringify({ sample }) + '\n')).then((done) => {
        storming = false;
        res.end(JSON.stringify({ done }) + '\n');
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/engine-time') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let ids: unknown;
        try {
          ids = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          ids = undefined;
        }
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"message":"expected a JSON array of container IDs"}\n');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(engineTime.lookup(ids)) + '\n');
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/stats') {
      let containers = 0;
      let subscribers = 0;
      for (const e of engines) {
        containers += e.containerCount;
        subscribers += e.events.listenerCount;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ engines: engines.length, containers, eventSubscribers: subscribers, imageTransfers }) + '\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"page not found"}\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
