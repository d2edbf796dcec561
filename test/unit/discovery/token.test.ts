import * as assert from 'node:assert/strict';
import { HOSTED_TOKEN_URL, parseTokenLocation, tokenServiceUrl } from '../../../discovery/token';
import { startTokenServer, TokenRegistry, type TokenServer } from '../../../lib/token-server';

describe('token discovery URL', () => {
  const saved = process.env.SWARM_TOKEN_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.SWARM_TOKEN_URL;
    else process.env.SWARM_TOKEN_URL = saved;
  });

  it('token://<token> uses token.url, then $SWARM_TOKEN_URL, then the hosted default', () => {
    delete process.env.SWARM_TOKEN_URL;
    assert.deepEqual(parseTokenLocation('abc', {}), { url: HOSTED_TOKEN_URL, token: 'abc' });
    process.env.SWARM_TOKEN_URL = 'http://env:1/v1/';
    assert.deepEqual(parseTokenLocation('abc', {}), { url: 'http://env:1/v1', token: 'abc' });
    assert.equal(tokenServiceUrl({ 'token.url': 'http://opt:2/v1' }), 'http://opt:2/v1');
  });
  it('token://<host>/<path>/<token> means https://<host>/<path>, as in classic', () => {
    assert.deepEqual(parseTokenLocation('disco.example.com/v1/abc', {}), { url: 'https://disco.example.com/v1', token: 'abc' });
  });
  it('rejects an empty token', () => {
    assert.throws(() => parseTokenLocation('', {}), /^DiscoveryError: token is empty$/);
    assert.throws(() => parseTokenLocation('host/v1/', {}), /token is empty/);
  });
});

describe('token registry', () => {
  it('lists live registrations sorted and expires them after their ttl', () => {
    let now = 1_000_000;
    const registry = new TokenRegistry(() => now);
    const token = registry.createCluster();
    assert.match(token, /^[0-9a-f]{32}$/);
    registry.register(token, 'b:2', 10);
    registry.register(token, 'a:1', 5);
    assert.deepEqual(registry.entries(token), ['a:1', 'b:2']);
    now += 5_000;
    assert.deepEqual(registry.entries(token), ['b:2']);
    registry.register(token, 'b:2', 10); // a heartbeat pushes expiry out again
    now += 9_000;
    assert.deepEqual(registry.entries(token), ['b:2']);
    registry.sweep();
    registry.deleteCluster(token);
    assert.deepEqual(registry.entries(token), []);
  });
  it('keeps clusters apart', () => {
    const registry = new TokenRegistry();
    const a = registry.createCluster();
    const b = registry.createCluster();
    assert.notEqual(a, b);
    registry.register(a, 'x:1', 60);
    assert.deepEqual(registry.entries(b), []);
  });
});

describe('token server HTTP API', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer('127.0.0.1', 0);
  });
  after(() => server.close());

  it('creates a token, registers, lists and deletes', async () => {
    const created = await fetch(`${server.url}/clusters`, { method: 'POST' });
    assert.equal(created.status, 200);
    const token = await created.text();
    const reg = await fetch(`${server.url}/clusters/${token}?ttl=30`, { method: 'POST', body: '10.0.0.1:2375' });
    assert.equal(reg.status, 200);
    const list = await fetch(`${server.url}/clusters/${token}`);
    assert.deepEqual(await list.json(), ['10.0.0.1:2375']);
    assert.equal((await fetch(`${server.url}/clusters/${token}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await (await fetch(`${server.url}/clusters/${token}`)).json(), []);
  });
  it('answers bad input with a JSON message and the right status', async () => {
    const badAddr = await fetch(`${server.url}/clusters/t1?ttl=30`, { method: 'POST', body: 'not-an-address' });
    assert.equal(badAddr.status, 400);
    assert.deepEqual(await badAddr.json(), { message: 'invalid address "not-an-address": host:port expected' });
    const badTtl = await fetch(`${server.url}/clusters/t1?ttl=-3`, { method: 'POST', body: 'a:1' });
    assert.equal(badTtl.status, 400);
    assert.match(((await badTtl.json()) as { message: string }).message, /invalid ttl "-3"/);
    const badToken = await fetch(`${server.url}/clusters/bad%20token`);
    assert.equal(badToken.status, 400);
    const nowhere = await fetch(`${server.url.replace(/\/v1$/, '')}/v2/other`);
    assert.equal(nowhere.status, 404);
    assert.equal((await fetch(`${server.url}/clusters`)).status, 405);
    const tooBig = await fetch(`${server.url}/clusters/t1`, { method: 'POST', body: 'x'.repeat(5000) });
    assert.equal(tooBig.status, 413);
  });
});
