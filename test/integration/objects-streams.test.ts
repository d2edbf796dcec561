/**
 * More of what users do through the manager: TTY sessions with the real CLI (`run -it`,
 * `exec -it` under a pseudo-terminal), stats, cp (archive), export, diff, and the merged
 * network and volume views.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DOCKER_CLI, docker } from '../../testbed/docker-cli';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

/** Runs a docker command under `script` so the CLI gets a real pseudo-terminal (for -it). */
function underTty(host: string, command: string, input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('script', ['-qec', `${DOCKER_CLI} ${command}`, '/dev/null'], { env: { ...process.env, DOCKER_HOST: host }, timeout: 30_000 }, (err, stdout) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout });
    });
    setTimeout(() => child.stdin?.write(input), 1000);
  });
}

describe('TTY sessions, streams and merged objects through the manager', function () {
  let engines: EngineSet;
  let manager: ManagerHandle;
  const ok = async (args: string[]): Promise<string> => {
    const r = await docker(manager.host, args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    engines = await getEngines();
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    await waitFor(async () => (await ok(['info'])).split('Status: Healthy').length === 4, 20_000, '3 healthy nodes');
    await ok(['run', '-d', '--name', 'obj-web', 'busybox', 'sh', '-c', 'echo content > /data.txt; sleep 1000']);
  });

  after(async function () {
    await docker(manager.host, ['rm', '-f', 'obj-web', 'obj-tty']);
    await docker(manager.host, ['volume', 'rm', 'obj-vol']);
    await manager?.stop();
  });

  it('docker run -it gives an interactive shell on a TTY', async function () {
    const r = await underTty(manager.host, 'run -it --rm --name obj-tty busybox sh', 'tty; echo tty-$((40+2)); exit 5\n');
    assert.equal(r.code, 5, r.out);
    assert.match(r.out, /\/dev\/pts\/\d+/);
    assert.match(r.out, /tty-42/);
  });

  it('docker exec -it runs an interactive shell in a running container', async function () {
    const r = await underTty(manager.host, 'exec -it obj-web sh', 'cat /data.txt; exit\n');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /content/);
  });

  it('docker stats --no-stream, cp both ways, export and diff reach the owning engine', async function () {
    assert.match(await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'obj-web']), /^obj-web \d/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-cp-'));
    try {
      await ok(['cp', 'obj-web:/data.txt', path.join(dir, 'out.txt')]);
      assert.equal(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8'), 'content\n');
      fs.writeFileSync(path.join(dir, 'in.txt'), 'uploaded\n');
      await ok(['cp', path.join(dir, 'in.txt'), 'obj-web:/in.txt']);
      assert.equal(await ok(['exec', 'obj-web', 'cat', '/in.txt']), 'uploaded\n');
      await ok(['export', '-o', path.join(dir, 'fs.tar'), 'obj-web']);
      assert.ok(fs.statSync(path.join(dir, 'fs.tar')).size > 1_000_000, 'export streams the whole filesystem');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.match(await ok(['diff', 'obj-web']), /A \/data\.txt/);
  });

  it('docker network ls shows each engine\'s local networks as node/name, inspect resolves them', async function () {
    const ls = await ok(['network', 'ls', '--format', '{{.Name}}']);
    for (const engine of engines.engines) {
      // (the test engines run with --bridge=none, so host and none are their local networks)
      assert.match(ls, new RegExp(`^${engine.name}/none$`, 'm'));
      assert.match(ls, new RegExp(`^${engine.name}/host$`, 'm'));
    }
    assert.equal((await ok(['network', 'inspect', '--format', '{{.Name}}', `${engines.engines[1].name}/host`])).trim(), 'host');
  });

  it('docker volume create/ls/inspect/rm work cluster-wide and per node', async function () {
    await ok(['volume', 'create', 'obj-vol']);
    const ls = await ok(['volume', 'ls', '--format', '{{.Name}}']);
    for (const engine of engines.engines) assert.match(ls, new RegExp(`^${engine.name}/obj-vol$`, 'm'));
    assert.equal((await ok(['volume', 'inspect', '--format', '{{.Driver}}', `${engines.engines[0].name}/obj-vol`])).trim(), 'local');
    await ok(['volume', 'rm', 'obj-vol']);
    assert.doesNotMatch(await ok(['volume', 'ls', '--format', '{{.Name}}']), /obj-vol/);
    const pinned = `${engines.engines[2].name}/obj-vol`;
    await ok(['volume', 'create', pinned]);
    const after = await ok(['volume', 'ls', '--format', '{{.Name}}']);
    assert.match(after, new RegExp(`^${pinned}$`, 'm'));
    assert.doesNotMatch(after, new RegExp(`^${engines.engines[0].name}/obj-vol$`, 'm'));
  });

  it('docker container prune and system df cover every engine', async function () {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ok(['create', '--label', 'obj-prune=1', 'busybox', 'true'])).trim());
    const nodes = new Set<string>();
    for (const id of ids) nodes.add((await ok(['inspect', '--format', '{{.Node.Name}}', id])).trim());
    assert.equal(nodes.size, 3, 'spread put one on each engine');
    const pruned = await ok(['container', 'prune', '-f', '--filter', 'label=obj-prune=1']);
    for (const id of ids) assert.match(pruned, new RegExp(id));
    assert.equal((await ok(['ps', '-aq', '--filter', 'label=obj-prune=1'])).trim(), '');
    const df = await ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    const images = Number(/^Images (\d+)$/m.exec(df)?.[1]);
    assert.ok(images >= 3, `system df counts every engine's images: ${df}`);
  });

  it('docker build places by --build-arg constraint and streams the context; run then finds the image', async function () {
    const ssd = engines.engines.find((e) => e.labels.disk === 'ssd')!;
    const r = await docker(manager.host, ['build', '-t', 'obj-built:1', '--build-arg', 'constraint:disk==ssd', '-'], {
      input: 'FROM busybox\nRUN echo built-here > /f\nCMD ["cat", "/f"]\n',
      env: { DOCKER_BUILDKIT: '0' },
    });
    assert.equal(r.code, 0, r.stderr);
    for (const engine of engines.engines) {
      const has = (await docker(engine.host, ['images', '-q', 'obj-built:1'])).stdout.trim() !== '';
      assert.equal(has, engine === ssd, `image on ${engine.name}: ${has}`);
    }
    assert.equal(await ok(['run', '--rm', 'obj-built:1']), 'built-here\n');
    await ok(['rmi', 'obj-built:1']);
  });

  it('docker commit makes the image on the container\'s engine', async function () {
    const node = (await ok(['inspect', '--format', '{{.Node.Name}}', 'obj-web'])).trim();
    await ok(['commit', 'obj-web', 'obj-committed:1']);
    for (const engine of engines.engines) {
      const has = (await docker(engine.host, ['images', '-q', 'obj-committed:1'])).stdout.trim() !== '';
      assert.equal(has, engine.name === node, `image on ${engine.name}`);
    }
    await ok(['rmi', 'obj-committed:1']);
  });
});
