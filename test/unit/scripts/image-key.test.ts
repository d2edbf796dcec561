/**
 * The cache key of the swarm-ts image (scripts/image.ts contextKey): tests load a cached image
 * whose key matches instead of building, so every input of the build must move the key, or a
 * change to the recipe, the launcher or the dashboard's assets would be tested on a stale image.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contextKey } from '../../../scripts/image';

describe('the image cache key (scripts/image.ts contextKey)', function () {
  let root: string;
  const write = (file: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  const node = { version: 'v20.19.0', path: '/usr/bin/node' };

  beforeEach(function () {
    // A miniature checkout: the files contextKey reads, as `npm run build` leaves them.
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'image-key-'));
    write('package-lock.json', '{"lockfileVersion":3}');
    write('bin/swarm', "#!/usr/bin/env node\nrequire('../dist/lib/cli/main');\n");
    write('dist/build-info.json', '{"commit":"abc1234-dirty"}');
    write('dist/scripts/image.js', 'FROM scratch');
    write('dist/lib/cli/main.js', 'main()');
    write('dist/lib/dashboard/static/page.html', '<html>');
    write('dist/lib/cli/main.js.map', '{}');
    for (const dir of ['discovery', 'filters', 'strategies']) write(`dist/${dir}/index.js`, dir);
  });
  afterEach(function () {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('is stable for the same inputs', function () {
    assert.equal(contextKey(root, node), contextKey(root, node));
    assert.match(contextKey(root, node), /^[0-9a-f]{16}$/);
  });

  const inputs: Array<[string, string]> = [
    ['the image recipe (dist/scripts/image.js: Dockerfile, entrypoint, pruning)', 'dist/scripts/image.js'],
    ['the launcher bin/swarm', 'bin/swarm'],
    ['product code', 'dist/lib/cli/main.js'],
    ["the dashboard's static assets", 'dist/lib/dashboard/static/page.html'],
    ['the lock file', 'package-lock.json'],
    ['the commit stamp', 'dist/build-info.json'],
  ];
  for (const [what, file] of inputs) {
    it(`changes with ${what}`, function () {
      const before = contextKey(root, node);
      write(file, `${fs.readFileSync(path.join(root, file), 'utf8')} changed`);
      assert.notEqual(contextKey(root, node), before);
    });
  }

  it('changes with the node binary copied in, and ignores what the image leaves out (source maps)', function () {
    const before = contextKey(root, node);
    assert.notEqual(contextKey(root, { ...node, version: 'v22.0.0' }), before);
    write('dist/lib/cli/main.js.map', '{"changed":true}');
    assert.equal(contextKey(root, node), before);
  });
});
