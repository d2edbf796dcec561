/**
 * The swarm-ts image (scripts/image.ts, `npm run image`): built with no registry into a real
 * engine, then run the way classic users ran `swarm`: `docker run swarm-ts <command>` with
 * --net host, for token-server, create, join, list and manage (and manage with --network none on
 * its default SWARM_HOST); `docker stop` of each long-running
 * command ends it by its SIGTERM handler (exit 0), not by the SIGKILL after the 10 s grace.
 */
import assert from 'node:assert/strict';
import { docker } from '../../testbed/docker-cli';
import type { EngineHandle } from '../../testbed/engines';
import { freePort } from '../../testbed/ports';
import { SWARM_IMAGE, provideSwarmImage } from '../../testbed/swarm-image';
import { waitFor } from '../../testbed/wait';
import { builtCommit } from '../../scripts/image';
import { getEngines } from './cluster-fixture';

describe('the swarm-ts image', function () {
  this.timeout(300_000);
  let engine: EngineHandle;
  let other: EngineHandle;
  const containers: string[] = [];
  const run = (args: string[], timeoutMs = 60_000) => docker(engine.host, args, { timeoutMs });

  before(async function () {
    const engines = await getEngines();
    [engine, other] = engines.engines;
    const timing = await provideSwarmImage(engine.docker());
    process.stdout.write(`      (image ${timing.how} in ${(timing.ms / 1000).toFixed(1)} s)\n`);
  });
  after(async function () {
    if (containers.length) await run(['rm', '-f', ...containers]);
  });

  it("has classic's interface: entrypoint swarm, --help by default, SWARM_HOST=:2375, port 2375", async function () {
    const image = await engine.docker().getImage(SWARM_IMAGE).inspect();
    assert.deepEqual(image.Config.Entrypoint, ['/swarm']);
    assert.deepEqual(image.Config.Cmd, ['--help']);
    assert.ok(image.Config.Env.includes('SWARM_HOST=:2375'), image.Config.Env.join(' '));
    assert.deepEqual(Object.keys(image.Config.ExposedPorts ?? {}), ['2375/tcp']);
    assert.equal(image.RepoTags.sort().join(' '), `swarm-ts:${require('../../../package.json').version} swarm-ts:latest`);
    process.stdout.write(`      (image size ${(image.Size / 1e6).toFixed(1)} MB)\n`);

    const help = await run(['run', '--rm', '--network', 'none', SWARM_IMAGE]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: swarm \[OPTIONS\] COMMAND/);
    for (const command of ['manage', 'join', 'list', 'create', 'token-server']) assert.match(help.stdout, new RegExp(`^   ${command}\\b`, 'm'));
    const version = await run(['run', '--rm', '--network', 'none', SWARM_IMAGE, '--version']);
    assert.equal(version.stdout, `swarm version ${require('../../../package.json').version} (${builtCommit()})\n`);
  });

  it('holds the product only: no TypeScript sources, maps, tests or dev dependencies', async function () {
    const walk = `const fs=require('fs'),p=require('path');const out={ts:0,map:0,test:0,typescript:fs.existsSync('/swarm-ts/node_modules/typescript'),mocha:fs.existsSync('/swarm-ts/node_modules/mocha'),js:0};
      (function w(d){for(const e of fs.readdirSync(d,{withFileTypes:true})){const f=p.join(d,e.name);if(e.isDirectory()){if(/^(test|testbed|bench)$/.test(e.name)&&d==='/swarm-ts/dist')out.test++;w(f)}else if(/\\.ts$/.test(e.name))out.ts++;else if(/\\.map$/.test(e.name))out.map++;else if(/\\.js$/.test(e.name))out.js++}})('/swarm-ts');console.log(JSON.stringify(out))`;
    const r = await run(['run', '--rm', '--network', 'none', '--entrypoint', '/usr/local/bin/node', SWARM_IMAGE, '-e', walk]);
    assert.equal(r.code, 0, r.stderr);
    const counts = JSON.parse(r.stdout) as Record<string, number | boolean>;
    assert.deepEqual({ ...counts, js: counts.js as number > 100 }, { ts: 0, map: 0, test: 0, typescript: false, mocha: false, js: true });
  });

  it('manage without -H listens on SWARM_HOST=:2375, with no network at all (--network none)', async function () {
    const name = 'img-manage-nonet';
    const started = await run(['run', '-d', '--name', name, '--network', 'none', SWARM_IMAGE, 'manage', 'nodes://127.0.0.1:1']);
    assert.equal(started.code, 0, started.stderr);
    containers.push(name);
    // The image has no shell or curl: its own node asks the manager, inside the container's namespace.
    const ping = "require('http').get('http://127.0.0.1:2375/_ping',r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>console.log(r.statusCode+' '+b))}).on('error',e=>console.log('ERR '+e.message))";
    const answer = await waitFor(async () => {
      const r = await run(['exec', name, '/usr/local/bin/node', '-e', ping]);
      return r.stdout.startsWith('200') ? r.stdout : undefined;
    }, 60_000, 'the manager in a --network none container to answer /_ping on :2375');
    assert.equal(answer, '200 OK\n');
    const logs = await run(['logs', name]);
    assert.match(logs.stderr, /level=info msg="Listening for HTTP" addr=":2375" proto=tcp/);
    const stop = await run(['stop', name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await engine.docker().getContainer(name).inspect()).State.ExitCode, 0);
  });

  it('runs token-server, create, join, list and manage with --net host, and each stops cleanly on docker stop', async function () {
    const tokenPort = await freePort();
    const managerPort = await freePort();
    const tokenUrl = `SWARM_TOKEN_URL=http://127.0.0.1:${tokenPort}/v1`;
    const detached = async (name: string, args: string[]): Promise<void> => {
      const r = await run(['run', '-d', '--name', name, '--net', 'host', '-e', tokenUrl, SWARM_IMAGE, ...args]);
      assert.equal(r.code, 0, r.stderr);
      containers.push(name);
    };
    const logs = async (name: string): Promise<string> => {
      const r = await run(['logs', name]);
      return r.stdout + r.stderr;
    };
    await detached('img-token-server', ['token-server', '--addr', `127.0.0.1:${tokenPort}`]);
    await waitFor(async () => /Token server listening/.test(await logs('img-token-server')), 30_000, 'the token server in its container');

    const created = await run(['run', '--rm', '--net', 'host', '-e', tokenUrl, SWARM_IMAGE, 'create']);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^[0-9a-f]{32}$/);

    await detached('img-join', ['join', '--heartbeat', '1s', '--ttl', '5s', '--advertise', other.addr, `token://${token}`]);
    await waitFor(async () => {
      const list = await run(['run', '--rm', '--net', 'host', '-e', tokenUrl, SWARM_IMAGE, 'list', '--timeout', '5s', `token://${token}`]);
      return list.code === 0 && list.stdout === `${other.addr}\n`;
    }, 60_000, 'list (in a container) to show the joined engine');

    await detached('img-manage', ['manage', '-H', `tcp://127.0.0.1:${managerPort}`, '-heartbeat=1s', `token://${token}`]);
    const manager = `tcp://127.0.0.1:${managerPort}`;
    const info = await waitFor(async () => {
      const r = await docker(manager, ['info', '--format', '{{json .SystemStatus}}']);
      return r.code === 0 && r.stdout.includes(other.name) && /Status","Healthy"/.test(r.stdout) ? r.stdout : undefined;
    }, 60_000, 'the manager (in a container) to front the joined engine');
    assert.ok(info.includes(other.addr), info);
    const logLines = (await logs('img-manage')).trim().split('\n');
    assert.ok(logLines.every((line) => /^time="[^"]+" level=(debug|info|warning|error) msg=/.test(line)), `logfmt lines:\n${logLines.join('\n')}`);

    const names = ['img-manage', 'img-join', 'img-token-server'];
    const stop = await run(['stop', ...names]);
    assert.equal(stop.code, 0, stop.stderr);
    for (const name of names) {
      const state = (await engine.docker().getContainer(name).inspect()).State;
      // A SIGKILL after the grace period would show as 137.
      assert.equal(state.ExitCode, 0, `${name} exit code ${state.ExitCode}; logs:\n${await logs(name)}`);
      assert.match(await logs(name), /Received SIGTERM, shutting down/);
    }
  });
});
