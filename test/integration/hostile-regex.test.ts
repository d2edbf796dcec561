/**
 * Regexes from clients run on RE2 (linear time): a `ps` name filter or an affinity with nested
 * quantifiers against long matching names answers correctly instead of freezing the manager
 * (with a backtracking engine, `(a+)+$` on 100 a's and a `-` takes ~2^100 steps), and the
 * manager keeps answering other clients meanwhile.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

describe('hostile regexes do not stall the manager (RE2)', function () {
  let engines: EngineSet;
  let manager: ManagerHandle;
  const ids: Array<{ engine: number; id: string }> = [];
  const longName = (i: number): string => `${'a'.repeat(100)}${'-'.repeat(i + 1)}`;

  before(async function () {
    engines = await getEngines();
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    for (const [i, engine] of engines.engines.entries()) {
      const c = await engine.docker().createContainer({ Image: 'busybox:latest', Cmd: ['true'], name: longName(i) });
      ids.push({ engine: i, id: c.id });
    }
    await waitFor(async () => (JSON.parse((await get(manager.port, '/containers/json?all=1')).body) as Array<{ Names: string[] }>)
      .filter((c) => c.Names[0].includes('aaaaaaaaaa')).length === 3, 30_000, 'the manager to list the three containers');
  });

  after(async function () {
    await manager?.stop();
    for (const { engine, id } of ids) await engines.engines[engine].docker().getContainer(id).remove({ force: true }).catch(() => undefined);
  });

  it("answers a catastrophic ps name filter correctly while /_ping keeps answering", async function () {
    const hostile = (pattern: string): Promise<{ status: number; body: string }> =>
      get(manager.port, `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [pattern] }))}`);
    const inFlight = [hostile('(a+)+$'), hostile('(a|aa)+$'), hostile('^/?(a+)+-$'), hostile('(a*)*b')];
    const ping = await get(manager.port, '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    const [endsWithA, alternation, oneDash, needsB] = await Promise.all(inFlight);
    const names = (r: { body: string }): string[] => (JSON.parse(r.body) as Array<{ Names: string[] }>).map((c) => c.Names[0].replace(/^\/[^/]+\//, '')).sort();
    assert.deepEqual(names(endsWithA), [], 'every long name ends with -');
    assert.deepEqual(names(alternation), []);
    assert.deepEqual(names(oneDash), [longName(0)], 'exactly one dash: the container on node-0');
    assert.deepEqual(names(needsB), []);
  });

  it('evaluates a catastrophic affinity regex against long container names instead of refusing it', async function () {
    const create = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({ Image: 'busybox:latest', Cmd: ['true'], Env: ['affinity:container==/(a+)+$/'] });
      const req = http.request({ host: '127.0.0.1', port: manager.port, path: '/containers/create', method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
    // No container name is made of a's only (anchored match), so no node qualifies: the
    // scheduler's answer, reached after matching every name, not a "too complex" refusal.
    assert.equal(create.status, 500, create.body);
    assert.match(create.body, /Unable to find a node that satisfies the following conditions/);
    assert.match(create.body, /container==\/\(a\+\)\+\$\//);
  });
});
