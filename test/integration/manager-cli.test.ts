/**
 * The user commands of the foundation issue, through the real manager, with the real docker
 * CLI, against 3 real engines: info/version, run/ps/inspect, lifecycle, logs -f, exec -i,
 * run -i with stdin close, attach, images, load/import, rmi, events.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker, spawnDocker } from '../../testbed/docker-cli';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { busyboxTarball } from '../../testbed/busybox';
import { getEngines } from './cluster-fixture';

describe('manager through the docker CLI (3 real engines)', function () {
  let engines: EngineSet;
  let manager: ManagerHandle;
  const run = async (args: string[], input?: string | Buffer) => {
    const r = await docker(manager.host, args, { input });
    return r;
  };
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await run(args, input);
    assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    engines = await getEngines();
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    await waitFor(async () => (await ok(['info'])).includes('Nodes: 3') && !(await ok(['info'])).includes('Pending'), 20_000, '3 healthy nodes');
  });

  after(async function () {
    await docker(manager.host, ['rm', '-f', 'cli-web', 'cli-web2', 'cli-once', 'cli-attach']).catch(() => undefined);
    await manager?.stop();
  });

  it('docker info shows the classic cluster view', async function () {
    const info = await ok(['info']);
    assert.match(info, /Role: primary/);
    assert.match(info, /Strategy: spread/);
    assert.match(info, /Filters: health/);
    assert.match(info, /Nodes: 3/);
    for (const engine of engines.engines) {
      assert.match(info, new RegExp(`${engine.name}: ${engine.addr.replace(/\./g, '\\.')}`));
      assert.match(info, new RegExp(`└ ID: [A-Z0-9:]+\\|${engine.addr.replace(/\./g, '\\.')}`));
    }
    assert.match(info, /└ Status: Healthy/);
    assert.match(info, /└ Containers: \d+ \(\d+ Running, \d+ Paused, \d+ Stopped\)/);
    assert.match(info, /└ Reserved CPUs: [\d.]+ \/ [\d.]+/);
    assert.match(info, /└ Reserved Memory: [\d.]+ \w?B \/ [\d.]+ \w+B/);
    assert.match(info, /└ Labels: disk=ssd, kernelversion=/);
    assert.match(info, /└ UpdatedAt: \d{4}-\d\d-\d\dT/);
    assert.match(info, /└ ServerVersion: \d+\.\d+/);
  });

  it('docker version negotiates a modern API version', async function () {
    const out = await ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Client.APIVersion}}']);
    const [server, min, client] = out.trim().split(' ');
    assert.ok(Number(server.split('.')[1]) >= 44, `server API ${server} must be at least 1.44`);
    assert.equal(min, '1.24');
    assert.equal(client, server);
  });

  it('runs a container, lists it as node/name, inspects it with its Node', async function () {
    const id = (await ok(['run', '-d', '--name', 'cli-web', 'busybox', 'sleep', '1000'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await ok(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
    const line = ps.split('\n').find((l) => id.startsWith(l.split(' ')[0]));
    assert.ok(line, `container not in ps:\n${ps}`);
    assert.match(line, /^[0-9a-f]{12} node-\d\/cli-web Up /);
    const filtered = await ok(['ps', '-a', '--filter', 'name=cli-web', '--format', '{{.Names}}']);
    assert.match(filtered.trim(), /^node-\d\/cli-web$/);
    const node = (await ok(['inspect', '--format', '{{.Node.Name}} {{.Node.Addr}} {{.State.Running}}', 'cli-web'])).trim();
    const [name, addr, running] = node.split(' ');
    assert.equal(running, 'true');
    assert.equal(engines.engines.find((e) => e.name === name)?.addr, addr);
    // The same container by ID prefix and by node-qualified name.
    assert.equal((await ok(['inspect', '--format', '{{.Id}}', id.slice(0, 12)])).trim(), id);
    assert.equal((await ok(['inspect', '--format', '{{.Id}}', `${name}/cli-web`])).trim(), id);
  });

  it('refuses a second container with the same name anywhere in the cluster (409)', async function () {
    const r = await run(['create', '--name', 'cli-web', 'busybox', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Conflict.*cli-web is already assigned/);
    // Renaming onto a taken name is refused the same way, wherever the holder runs.
    await ok(['create', '--name', 'cli-other', 'busybox', 'true']);
    const rename = await run(['rename', 'cli-other', 'cli-web']);
    assert.notEqual(rename.code, 0);
    assert.match(rename.stderr, /Conflict.*cli-web is already assigned/);
    await ok(['rm', 'cli-other']);
  });

  it('stop/start/restart/pause/unpause/kill/wait/top/rm behave as on one engine', async function () {
    await ok(['stop', '-t', '1', 'cli-web']);
    assert.match(await ok(['ps', '-a', '--filter', 'name=cli-web', '--format', '{{.Status}}']), /^Exited \(137\)/);
    assert.equal((await ok(['ps', '-q', '--filter', 'name=cli-web'])).trim(), '');
    await ok(['start', 'cli-web']);
    assert.match(await ok(['ps', '--filter', 'name=cli-web', '--format', '{{.Status}}']), /^Up /);
    await ok(['restart', '-t', '1', 'cli-web']);
    await ok(['pause', 'cli-web']);
    assert.match(await ok(['ps', '--filter', 'name=cli-web', '--format', '{{.Status}}']), /\(Paused\)/);
    await ok(['unpause', 'cli-web']);
    assert.match(await ok(['top', 'cli-web']), /sleep 1000/);
    await ok(['kill', 'cli-web']);
    assert.equal((await ok(['wait', 'cli-web'])).trim(), '137');
    await ok(['rename', 'cli-web', 'cli-web2']);
    assert.match(await ok(['ps', '-a', '--format', '{{.Names}}']), /node-\d\/cli-web2/);
    await ok(['rm', 'cli-web2']);
    const gone = await run(['container', 'inspect', 'cli-web2']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such container: cli-web2/);
  });

  it('docker run (attached) streams output and returns the exit code', async function () {
    const out = await run(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(out.code, 3);
    assert.equal(out.stdout, 'out\n');
    assert.equal(out.stderr, 'err\n');
  });

  it('docker run -i passes stdin through and closes it (EOF reaches the container)', async function () {
    const r = await run(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'wc -l'], 'a\nb\nc\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '3');
  });

  it('docker exec -i runs in the container with stdin', async function () {
    await ok(['run', '-d', '--name', 'cli-once', 'busybox', 'sleep', '1000']);
    const r = await run(['exec', '-i', 'cli-once', 'sh'], 'echo from-exec; cat /proc/1/cmdline | tr "\\0" " "\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /from-exec\nsleep 1000/);
    const code = await run(['exec', 'cli-once', 'sh', '-c', 'exit 7']);
    assert.equal(code.code, 7);
  });

  it('docker logs -f follows output as it is produced', async function () {
    const child = spawnDocker(manager.host, ['logs', '-f', 'cli-once']);
    let seen = '';
    child.stdout?.on('data', (c: Buffer) => (seen += c.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500));
      await ok(['exec', 'cli-once', 'sh', '-c', 'echo line-one > /proc/1/fd/1; echo line-two > /proc/1/fd/1']);
      await waitFor(() => seen.includes('line-one\nline-two\n'), 10_000, 'followed log lines');
    } finally {
      child.kill();
    }
  });

  it('docker attach sends stdin and receives output', async function () {
    // The container answers one line and exits; attach must carry both directions and then end.
    await ok(['run', '-d', '-i', '--name', 'cli-attach', 'busybox', 'sh', '-c', 'read l; echo "got $l"; exit 4']);
    const child = spawnDocker(manager.host, ['attach', 'cli-attach']);
    let seen = '';
    child.stdout?.on('data', (c: Buffer) => (seen += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise((r) => setTimeout(r, 300));
    child.stdin?.write('hello\n');
    assert.equal(await closed, 4);
    assert.equal(seen, 'got hello\n');
  });

  it('docker images, image inspect, tag and rmi across engines', async function () {
    const images = await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(images, /busybox:latest/);
    assert.match(await ok(['image', 'inspect', '--format', '{{.Os}}', 'busybox']), /linux/);
    await ok(['tag', 'busybox', 'cli-tagged:v1']);
    for (const engine of engines.engines) {
      const direct = await docker(engine.host, ['images', '-q', 'cli-tagged:v1']);
      assert.notEqual(direct.stdout.trim(), '', `tag missing on ${engine.name}`);
    }
    const rmi = await ok(['rmi', 'cli-tagged:v1']);
    assert.equal(rmi.match(/Untagged: cli-tagged:v1/g)?.length, 3, rmi);
    const missing = await run(['rmi', 'cli-tagged:v1']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such image: cli-tagged:v1/);
  });

  it('docker pull goes to every engine; refused by all alike, it fails as one engine does (no registry here)', async function () {
    const r = await run(['pull', '127.0.0.1:1/nothing/here:v1']);
    const direct = await docker(engines.engines[0].host, ['pull', '127.0.0.1:1/nothing/here:v1']);
    assert.notEqual(r.code, 0);
    assert.equal(r.code, direct.code);
    assert.equal(r.stderr, direct.stderr);
  });

  it('docker import and docker load reach every healthy engine', async function () {
    const tarball = await busyboxTarball();
    const imported = await run(['import', '-', 'cli-imported:1'], fs.readFileSync(tarball));
    assert.equal(imported.code, 0, imported.stderr);
    // docker save of the imported image (from one engine), then load it under another name everywhere
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-load-'));
    const saved = path.join(dir, 'img.tar');
    try {
      execFileSync('docker', ['-H', engines.engines[0].host, 'tag', 'cli-imported:1', 'cli-loaded:1']);
      execFileSync('docker', ['-H', engines.engines[0].host, 'save', '-o', saved, 'cli-loaded:1']);
      execFileSync('docker', ['-H', engines.engines[0].host, 'rmi', 'cli-loaded:1']);
      const loaded = execFileSync('docker', ['load', '-i', saved], { env: { ...process.env, DOCKER_HOST: manager.host } }).toString();
      assert.equal(loaded.match(/Loaded image: cli-loaded:1/g)?.length, 1, `one line, not one per engine: ${loaded}`);
      assert.match(loaded, /load: 3\/3 done/);
      for (const engine of engines.engines) {
        for (const ref of ['cli-imported:1', 'cli-loaded:1']) {
          const direct = await docker(engine.host, ['images', '-q', ref]);
          assert.notEqual(direct.stdout.trim(), '', `${ref} missing on ${engine.name}`);
        }
      }
      const listed = await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
      assert.match(listed, /cli-loaded:1/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await run(['rmi', 'cli-imported:1']);
      await run(['rmi', 'cli-loaded:1']);
    }
  });
});
