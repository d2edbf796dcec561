/**
 * Networks across engines and what classic's create does: a container joining a local network
 * goes to an engine holding it; `node/name` references; unknown nodes refused; images copied or
 * followed when the chosen engine lacks them; volume whitelists; and every acknowledged write
 * (build, commit, tag, load, import, network and volume create/rm) visible to the next read.
 * Driven by the real docker CLI against the manager over the 3 shared engines.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../../testbed/docker-cli';
import type { EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

describe('networks across engines, image placement and read-your-writes', function () {
  this.timeout(300_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  let buildDir: string;
  const tag = `np${process.pid}`;
  const ok = async (args: string[]): Promise<string> => {
    const r = await docker(manager.host, args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const nodeOf = async (container: string): Promise<string> => (await ok(['inspect', '--format', '{{.Node.Name}}', container])).trim();
  const names = async (args: string[]): Promise<string[]> => (await ok(args)).split('\n').filter(Boolean);

  before(async function () {
    engines = await getEngines();
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
    await waitFor(async () => (await docker(manager.host, ['info'])).stdout.split('Status: Healthy').length === 4, 20_000, '3 healthy nodes');
    buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-build-'));
    fs.writeFileSync(path.join(buildDir, 'Dockerfile'), 'FROM busybox:latest\nARG greeting=hello\nENV GREETING=$greeting\nCMD ["sh", "-c", "echo greeting=$GREETING"]\n');
  });

  after(async function () {
    const containers = (await docker(manager.host, ['ps', '-aq', '--filter', `label=test=${tag}`])).stdout.split('\n').filter(Boolean);
    if (containers.length > 0) await docker(manager.host, ['rm', '-f', ...containers]);
    for (const net of [`node-1/${tag}-net`, `node-0/${tag}-shared`, `node-2/${tag}-shared`, `node-2/${tag}-copy`]) await docker(manager.host, ['network', 'rm', net]);
    await docker(manager.host, ['volume', 'rm', `${tag}-wv`]);
    await docker(manager.host, ['rmi', '-f', `${tag}-x`, `${tag}-y`, `${tag}-z`, `${tag}-committed`, `${tag}-tagged`, `${tag}-loaded`, `${tag}-imported`]);
    fs.rmSync(buildDir, { recursive: true, force: true });
    await manager?.stop();
  });

  it('network create node-9/x for a node not in the cluster is a 404 naming the node', async function () {
    const r = await docker(manager.host, ['network', 'create', 'node-9/x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such node: node-9/);
    const res = await fetch(`${manager.host.replace('tcp://', 'http://')}/v1.41/networks/create`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Name: 'node-9/x' }) });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { message: string }).message, /No such node: node-9/);
  });

  it('--net node-1/<net> places the container on node-1 with the bare network name; ls/inspect show it once', async function () {
    await ok(['network', 'create', `node-1/${tag}-net`]);
    assert.deepEqual(await names(['network', 'ls', '--filter', `name=${tag}-net`, '--format', '{{.Name}}']), [`node-1/${tag}-net`]);
    assert.equal((await ok(['network', 'inspect', '--format', '{{.Name}} {{.Scope}}', `node-1/${tag}-net`])).trim(), `${tag}-net local`);
    await ok(['run', '-d', '--name', `${tag}-a`, '--label', `test=${tag}`, '--net', `node-1/${tag}-net`, 'busybox', 'sleep', '1000']);
    assert.equal(await nodeOf(`${tag}-a`), 'node-1');
    assert.equal((await ok(['inspect', '--format', '{{.HostConfig.NetworkMode}}', `${tag}-a`])).trim(), `${tag}-net`);
    // A bare name resolves to the one engine holding it, too.
    await ok(['run', '-d', '--name', `${tag}-b`, '--label', `test=${tag}`, '--net', `${tag}-net`, 'busybox', 'sleep', '1000']);
    assert.equal(await nodeOf(`${tag}-b`), 'node-1');
  });

  it('network connect node-1/<net> joins a container on node-1, and refuses one on another node', async function () {
    await ok(['run', '-d', '--name', `${tag}-c`, '--label', `test=${tag}`, '-e', 'constraint:node==node-1', 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', `node-1/${tag}-net`, `${tag}-c`]);
    assert.match(await ok(['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', `${tag}-c`]), new RegExp(`${tag}-net`));
    await ok(['network', 'disconnect', `${tag}-net`, `${tag}-c`]);
    assert.doesNotMatch(await ok(['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', `${tag}-c`]), new RegExp(`${tag}-net`));
    await ok(['run', '-d', '--name', `${tag}-d`, '--label', `test=${tag}`, '-e', 'constraint:node==node-0', 'busybox', 'sleep', '1000']);
    const r = await docker(manager.host, ['network', 'connect', `node-1/${tag}-net`, `${tag}-d`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /on node node-0.*on node node-1/);
  });

  it('a network name held by two engines sends every container to one of those two', async function () {
    await ok(['network', 'create', `node-0/${tag}-shared`]);
    await ok(['network', 'create', `node-2/${tag}-shared`]);
    assert.deepEqual((await names(['network', 'ls', '--filter', `name=${tag}-shared`, '--format', '{{.Name}}'])).sort(), [`node-0/${tag}-shared`, `node-2/${tag}-shared`]);
    const placed: string[] = [];
    for (let i = 0; i < 5; i++) {
      await ok(['run', '-d', '--name', `${tag}-s${i}`, '--label', `test=${tag}`, '--net', `${tag}-shared`, 'busybox', 'sleep', '1000']);
      placed.push(await nodeOf(`${tag}-s${i}`));
    }
    assert.ok(placed.every((n) => n === 'node-0' || n === 'node-2'), placed.join(','));
    assert.equal(new Set(placed).size, 2, `spread over both holders: ${placed.join(',')}`);
  });

  it('docker build && docker run at once sees the build arg, also with --build-arg constraint:node==node-1', async function () {
    await ok(['build', '-q', '-t', `${tag}-x`, '--build-arg', 'greeting=hi', buildDir]);
    assert.equal(await ok(['run', '--rm', `${tag}-x`]), 'greeting=hi\n');
    await ok(['build', '-q', '-t', `${tag}-y`, '--build-arg', 'greeting=yo', '--build-arg', 'constraint:node==node-1', buildDir]);
    assert.deepEqual(await names(['images', '--filter', 'node=node-1', '--filter', `reference=${tag}-y`, '--format', '{{.Repository}}']), [`${tag}-y`]);
    assert.equal(await ok(['run', '--rm', `${tag}-y`]), 'greeting=yo\n');
  });

  it('image only on node-1: an unpinned create follows it there (temporary image affinity, not saved)', async function () {
    await ok(['build', '-q', '-t', `${tag}-z`, '--build-arg', 'constraint:node==node-1', buildDir]);
    for (let i = 0; i < 3; i++) {
      await ok(['run', '-d', '--name', `${tag}-f${i}`, '--label', `test=${tag}`, `${tag}-z`, 'sleep', '1000']);
      assert.equal(await nodeOf(`${tag}-f${i}`), 'node-1');
      assert.doesNotMatch(await ok(['inspect', '--format', '{{json .Config.Labels}}', `${tag}-f${i}`]), /affinities/);
    }
  });

  it('image only on node-1, network only on node-2: the image is copied to node-2', async function () {
    await ok(['network', 'create', `node-2/${tag}-copy`]);
    assert.equal(await ok(['run', '--rm', '--net', `node-2/${tag}-copy`, `${tag}-z`]), 'greeting=hello\n');
    assert.deepEqual(await names(['images', '--filter', 'node=node-2', '--filter', `reference=${tag}-z`, '--format', '{{.Repository}}']), [`${tag}-z`]);
  });

  it('docker volume create with a whitelist label creates the volume on the whitelisted nodes only', async function () {
    await ok(['volume', 'create', '--label', 'com.docker.swarm.whitelists=["node==node-1|node-2"]', `${tag}-wv`]);
    assert.deepEqual((await names(['volume', 'ls', '--filter', `name=${tag}-wv`, '--format', '{{.Name}}'])).sort(), [`node-1/${tag}-wv`, `node-2/${tag}-wv`]);
  });

  it('every acknowledged write is visible to the next read', async function () {
    const images = async (): Promise<string> => ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    await ok(['run', '-d', '--name', `${tag}-w`, '--label', `test=${tag}`, 'busybox', 'sleep', '1000']);
    assert.deepEqual(await names(['ps', '--filter', `name=${tag}-w`, '--format', '{{.Status}}']).then((s) => s.map((x) => x.split(' ')[0])), ['Up']);
    await ok(['commit', `${tag}-w`, `${tag}-committed:v1`]);
    assert.match(await images(), new RegExp(`${tag}-committed:v1`));
    await ok(['tag', `${tag}-committed:v1`, `${tag}-tagged:v2`]);
    assert.match(await images(), new RegExp(`${tag}-tagged:v2`));
    await ok(['rmi', `${tag}-tagged:v2`]);
    assert.doesNotMatch(await images(), new RegExp(`${tag}-tagged:v2`));
    const saved = path.join(buildDir, 'saved.tar');
    await ok(['save', '-o', saved, `${tag}-committed:v1`]);
    await ok(['rmi', `${tag}-committed:v1`]);
    assert.doesNotMatch(await images(), new RegExp(`${tag}-committed:v1`));
    await ok(['load', '-i', saved]);
    assert.match(await images(), new RegExp(`${tag}-committed:v1`));
    await ok(['tag', `${tag}-committed:v1`, `${tag}-loaded:v1`]);
    assert.match(await images(), new RegExp(`${tag}-loaded:v1`));
    const rootfs = path.join(buildDir, 'rootfs.tar');
    await ok(['export', '-o', rootfs, `${tag}-w`]);
    await ok(['import', rootfs, `${tag}-imported:v1`]);
    assert.match(await images(), new RegExp(`${tag}-imported:v1`));
    await ok(['rm', '-f', `${tag}-w`]);
    assert.deepEqual(await names(['ps', '-a', '--filter', `name=${tag}-w`, '--format', '{{.Names}}']), []);
    await ok(['network', 'create', `node-0/${tag}-tmpnet`]);
    assert.deepEqual(await names(['network', 'ls', '--filter', `name=${tag}-tmpnet`, '--format', '{{.Name}}']), [`node-0/${tag}-tmpnet`]);
    await ok(['network', 'rm', `node-0/${tag}-tmpnet`]);
    assert.deepEqual(await names(['network', 'ls', '--filter', `name=${tag}-tmpnet`, '--format', '{{.Name}}']), []);
    await ok(['volume', 'create', `${tag}-tmpvol`]);
    assert.equal((await names(['volume', 'ls', '--filter', `name=${tag}-tmpvol`, '--format', '{{.Name}}'])).length, 3);
    await ok(['volume', 'rm', `${tag}-tmpvol`]);
    assert.deepEqual(await names(['volume', 'ls', '--filter', `name=${tag}-tmpvol`, '--format', '{{.Name}}']), []);
    await ok(['rmi', `${tag}-committed:v1`, `${tag}-loaded:v1`, `${tag}-imported:v1`]);
  });

  it('docker run -d <64 hex> fails as on one engine (same message, same exit code)', async function () {
    const hex = 'a'.repeat(64);
    const viaManager = await docker(manager.host, ['run', '-d', hex]);
    const viaEngine = await docker(engines.engines[0].host, ['run', '-d', hex]);
    assert.equal(viaManager.code, viaEngine.code);
    assert.equal(viaManager.stderr, viaEngine.stderr);
    // And the pull's own refusal reaches the client unchanged, with the engine's status.
    const pullManager = await fetch(`${manager.host.replace('tcp://', 'http://')}/v1.41/images/create?fromImage=${hex}&tag=latest`, { method: 'POST' });
    const pullEngine = await fetch(`${engines.engines[0].host.replace('tcp://', 'http://')}/v1.41/images/create?fromImage=${hex}&tag=latest`, { method: 'POST' });
    assert.equal(pullManager.status, pullEngine.status);
    assert.deepEqual(await pullManager.json(), await pullEngine.json());
  });
});
