/**
 * A worker thread that plays many Docker clients at once: each client has its own keep-alive
 * connection and sends its requests one after another (alternating over `paths`) until the
 * deadline, reading every body to the end and discarding it. It runs off the benchmark's main
 * thread so the main thread's own latency probe (clients.ts) is not delayed by this work.
 *
 * workerData: ClientLoadInput. Posts one ClientLoadOutput when all clients have finished
 * (requests in flight at the deadline are completed). The message 'stop' ends it early.
 */
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface ClientLoadInput {
  port: number;
  clients: number;
  seconds: number;
  /** Each client alternates over these, client k starting at index k % paths.length. */
  paths: string[];
  timeoutMs: number;
}

export interface ClientLoadOutput {
  /** Latencies in ms per path, in completion order. */
  latencies: Record<string, number[]>;
  bytes: Record<string, number>;
  errors: number;
  errorExamples: string[];
  elapsedMs: number;
}

function get(agent: http.Agent, port: number, path: string, timeoutMs: number): Promise<{ ms: number; bytes: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`GET ${path} -> ${res.statusCode}`));
        else resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
  });
}

async function run(input: ClientLoadInput): Promise<ClientLoadOutput> {
  const started = Date.now();
  let deadline = started + input.seconds * 1000;
  parentPort?.on('message', (m) => {
    if (m === 'stop') deadline = 0;
  });
  const out: ClientLoadOutput = { latencies: {}, bytes: {}, errors: 0, errorExamples: [], elapsedMs: 0 };
  for (const p of input.paths) {
    out.latencies[p] = [];
    out.bytes[p] = 0;
  }
  const client = async (k: number): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = k; Date.now() < deadline; i++) {
      const path = input.paths[i % input.paths.length];
      try {
        const r = await get(agent, input.port, path, input.timeoutMs);
        out.latencies[path].push(r.ms);
        out.bytes[path] += r.bytes;
      } catch (err) {
        out.errors++;
        if (out.errorExamples.length < 5) out.errorExamples.push((err as Error).message);
        await new Promise((resolve) => setTimeout(resolve, 100)); // no hot loop on a refusing manager
      }
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: input.clients }, (_, k) => client(k)));
  out.elapsedMs = Date.now() - started;
  return out;
}

if (parentPort && workerData) {
  void run(workerData as ClientLoadInput).then((out) => parentPort!.postMessage(out));
}
