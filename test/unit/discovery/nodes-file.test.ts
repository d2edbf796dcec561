import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery } from '../../../discovery';
import { DiscoveryError, UnsupportedError } from '../../../discovery/discovery';
import { parseDiscoveryFile } from '../../../discovery/file';
import { parseNodeList } from '../../../discovery/nodes';

const OPTIONS = { heartbeatMs: 50, ttlMs: 150, options: {} };

describe('nodes discovery', () => {
  it('parses a comma-separated list with ranges', () => {
    assert.deepEqual(parseNodeList('a:1, b:2,10.0.0.[1:2]:2375'), ['a:1', 'b:2', '10.0.0.1:2375', '10.0.0.2:2375']);
  });
  it('rejects an entry that is not host:port with classic\'s hint', () => {
    assert.throws(() => parseNodeList('a:1,mytoken'), /invalid address "mytoken", please check you are using the correct discovery \(missing token:\/\/ \?\)/);
  });
  it('a bare list means nodes://, and watch reports it once', async () => {
    const d = createDiscovery('a:1,b:2', OPTIONS);
    const lists = await new Promise<string[]>((resolve, reject) => d.watch({ onEntries: resolve, onError: reject }));
    assert.deepEqual(lists, ['a:1', 'b:2']);
    await assert.rejects(d.register('a:1'), UnsupportedError);
  });
  it('rejects unknown schemes', () => {
    assert.throws(() => createDiscovery('foo://x', OPTIONS), (e: Error) => e instanceof DiscoveryError && e.message === 'discovery service not supported');
    assert.throws(() => createDiscovery('constructor://x', OPTIONS), /discovery service not supported/);
  });
});

describe('file discovery', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'swarm-ts-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses lines, drops comments and blank lines, expands ranges', () => {
    const text = '# cluster\n10.0.0.1:2375\n\n  10.0.0.[2:3]:2375  # two more\n#10.0.0.9:2375\n';
    assert.deepEqual(parseDiscoveryFile(text), ['10.0.0.1:2375', '10.0.0.2:2375', '10.0.0.3:2375']);
  });

  it('reports the file, then changes only, and read errors as errors', async () => {
    const path = join(dir, 'cluster');
    writeFileSync(path, 'a:1\n');
    const d = createDiscovery(`file://${path}`, OPTIONS);
    const lists: string[][] = [];
    const errors: Error[] = [];
    d.watch({ onEntries: (l) => lists.push(l), onError: (e) => errors.push(e) });
    try {
      await until(() => lists.length === 1);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(lists.length, 1, 'an unchanged file was reported again');
      writeFileSync(path, 'a:1\nb:2\n');
      await until(() => lists.length === 2);
      assert.deepEqual(lists[1], ['a:1', 'b:2']);
      rmSync(path);
      await until(() => errors.length > 0);
      assert.match(errors[0].message, /^failed to read '.*cluster': ENOENT/);
    } finally {
      await d.close();
    }
  });
});

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
