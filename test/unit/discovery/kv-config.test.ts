import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodesDirectory, parseStoreLocation, readStoreTLS } from '../../../lib/kv/config';
import { directChildren, normalizeKey } from '../../../lib/kv/store';

describe('KV discovery URL parsing', () => {
  it('splits endpoints and prefix', () => {
    assert.deepEqual(parseStoreLocation('etcd', '10.0.0.1:2379,10.0.0.2:2379/my/cluster'), {
      endpoints: ['10.0.0.1:2379', '10.0.0.2:2379'],
      prefix: 'my/cluster',
    });
    assert.deepEqual(parseStoreLocation('zk', 'zk1:2181'), { endpoints: ['zk1:2181'], prefix: '' });
  });
  it('adds the store default port when none is given', () => {
    assert.deepEqual(parseStoreLocation('consul', 'consul.local/p').endpoints, ['consul.local:8500']);
    assert.deepEqual(parseStoreLocation('etcd', 'a,b:1').endpoints, ['a:2379', 'b:1']);
    assert.deepEqual(parseStoreLocation('zk', '[::1]').endpoints, ['[::1]:2181']);
  });
  it('rejects missing hosts and bad ports', () => {
    assert.throws(() => parseStoreLocation('etcd', '/prefix'), /missing etcd address in "etcd:\/\/\/prefix"/);
    assert.throws(() => parseStoreLocation('etcd', 'a:1,,b:2'), /missing etcd address/);
    assert.throws(() => parseStoreLocation('zk', 'host:99999/x'), /invalid zk address "host:99999"/);
    assert.throws(() => parseStoreLocation('zk', 'host:/x'), /invalid zk address "host:"/);
  });
  it('consul takes one endpoint only (classic)', () => {
    assert.throws(() => parseStoreLocation('consul', 'a:8500,b:8500/p'), /^StoreError: consul does not support multiple endpoints$/);
  });
  it('puts nodes under <prefix>/docker/swarm/nodes unless kv.path says otherwise', () => {
    assert.equal(nodesDirectory('custom', {}), 'custom/docker/swarm/nodes');
    assert.equal(nodesDirectory('', {}), 'docker/swarm/nodes');
    assert.equal(nodesDirectory('p', { 'kv.path': '/other/dir/' }), 'p/other/dir');
  });
  it('uses TLS only when all three files are set, and names an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-ts-tls-'));
    try {
      for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, f), `${f}-pem`);
      assert.equal(readStoreTLS({ 'kv.cacertfile': join(dir, 'ca'), 'kv.certfile': join(dir, 'cert') }), undefined);
      const tls = readStoreTLS({ 'kv.cacertfile': join(dir, 'ca'), 'kv.certfile': join(dir, 'cert'), 'kv.keyfile': join(dir, 'key') });
      assert.equal(tls?.key.toString(), 'key-pem');
      assert.throws(
        () => readStoreTLS({ 'kv.cacertfile': join(dir, 'nope'), 'kv.certfile': join(dir, 'cert'), 'kv.keyfile': join(dir, 'key') }),
        /couldn't read kv.cacertfile ".*nope": ENOENT/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('normalises keys and keeps only direct children', () => {
    assert.equal(normalizeKey('/a//b/'), 'a/b');
    const pairs = ['d', 'd/x:1', 'd/y:2/deep', 'dd/z:3', 'd/a:0'].map((key) => ({ key, value: key }));
    assert.deepEqual(directChildren('/d/', pairs).map((p) => p.key), ['d/a:0', 'd/x:1']);
  });
});
