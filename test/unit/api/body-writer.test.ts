import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyWriter } from '../../../lib/api/body-writer';

/** Serves `handler` on a loopback port for the duration of `fn`. */
async function withServer(handler: (res: http.ServerResponse) => Promise<void>, fn: (port: number) => Promise<void>): Promise<void> {
  const server = http.createServer((_req, res) => void handler(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function get(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    }).on('error', reject);
  });
}

describe('BodyWriter', () => {
  it('writes every piece in order across chunks, multi-byte text and pieces larger than a chunk included', async () => {
    const pieces = Array.from({ length: 5000 }, (_, i) => `"row-${i}-${'é'.repeat(i % 50)}"`);
    pieces.push(`"${'x'.repeat(300_000)}"`);
    await withServer(async (res) => {
      const out = new BodyWriter(res);
      let next = 0;
      out.append('[');
      await out.produce(() => {
        for (const stop = next + 700; next < Math.min(stop, pieces.length); next++) out.append((next > 0 ? ',' : '') + pieces[next]);
        if (next < pieces.length) return false;
        out.append(']');
        return true;
      });
    }, async (port) => {
      const body = JSON.parse(await get(port)) as string[];
      assert.equal(body.length, pieces.length);
      assert.deepEqual(body.slice(0, 3), ['row-0-', 'row-1-é', 'row-2-éé']);
      assert.equal(body[body.length - 1].length, 300_000);
    });
  });

  it('interleaves the batches of concurrent bodies instead of finishing one first', async () => {
    const steps: string[] = [];
    await withServer(async (res) => {
      const name = String(res.req.url).slice(1);
      const out = new BodyWriter(res);
      let batches = 0;
      await out.produce(() => {
        steps.push(name);
        // Each batch takes ~3 ms, so a slice holds a few batches, not all of them.
        const until = performance.now() + 3;
        while (performance.now() < until) out.append('.');
        return ++batches === 20;
      });
    }, async (port) => {
      await Promise.all([get(port, '/a'), get(port, '/b')]);
    });
    const firstB = steps.indexOf('b');
    const lastA = steps.lastIndexOf('a');
    assert.equal(steps.length, 40);
    assert.ok(firstB > 0 && firstB < lastA, `b started before a finished: ${steps.join('')}`);
  });
});
