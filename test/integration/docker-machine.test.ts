/**
 * `docker-machine create --swarm` against swarm-ts, done exactly as libmachine's
 * provision/configure_swarm.go does it: engines serve TLS on their own port with
 * docker-machine's files (ca.pem, server.pem, server-key.pem in one directory; the server pair
 * also serves as the client pair towards engines), and through each engine's TLS API we create
 *   swarm-agent-master (master host only):
 *     Cmd = [--experimental] manage --tlsverify --tlscacert=<dir>/ca.pem --tlscert=<dir>/server.pem
 *           --tlskey=<dir>/server-key.pem -H tcp://0.0.0.0:<port> --strategy spread
 *           --advertise <ip>:<engine port> [--<each --swarm-opt>] <discovery>
 *     NetworkMode=host, Binds=[<dir>:<dir>], RestartPolicy always, ExposedPorts 2375 and 3376
 *   swarm-agent (every host): Cmd = join --advertise <ip>:<engine port> <discovery>,
 *     NetworkMode=host, RestartPolicy always
 * with a real etcd as discovery. (docker-machine pulls the image first; with no registry the
 * test loads it, which is what an offline docker-machine user does.) Then the stock docker CLI
 * with --tlsverify and a client certificate drives the manager: info, run with constraints, ps,
 * logs, exec.
 */
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import { docker as dockerCli } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startEtcd, type EtcdServer } from '../../testbed/etcd';
import { freePort } from '../../testbed/ports';
import { SWARM_IMAGE, provideSwarmImage } from '../../testbed/swarm-image';
import { makeTlsFiles, type TlsFiles } from '../../testbed/tls';
import { waitFor } from '../../testbed/wait';

interface SwarmOptions {
  /** --swarm-opt values: each becomes `--<opt>` after the fixed manage flags. */
  swarmOpts: string[];
  /** --swarm-experimental: `--experimental` before `manage`. */
  experimental: boolean;
}

/** The manage command line configure_swarm.go builds (strings.Fields of its format, then opts, then discovery). */
export function masterCmd(dir: string, host: string, advertise: string, discovery: string, options: SwarmOptions): string[] {
  return [
    ...(options.experimental ? ['--experimental'] : []),
    'manage', '--tlsverify', `--tlscacert=${dir}/ca.pem`, `--tlscert=${dir}/server.pem`, `--tlskey=${dir}/server-key.pem`,
    '-H', host, '--strategy', 'spread', '--advertise', advertise,
    ...options.swarmOpts.map((opt) => `--${opt}`),
    discovery,
  ];
}

async function createAndStart(docker: Dockerode, name: string, config: Dockerode.ContainerCreateOptions): Promise<void> {
  const container = await docker.createContainer({ ...config, name });
  await container.start();
}

describe('docker-machine --swarm with swarm-ts (real TLS engines, etcd discovery)', function () {
  this.timeout(600_000);
  let tls: TlsFiles;
  let etcd: EtcdServer;
  let engines: EngineSet;
  let discovery: string;

  before(async function () {
    tls = makeTlsFiles();
    etcd = await startEtcd();
    engines = await startEngines(3, { namePrefix: 'machine-', tls: { ca: tls.ca, cert: tls.serverCert, key: tls.serverKey } });
    for (const engine of engines.engines) {
      const timing = await provideSwarmImage(engine.docker());
      process.stdout.write(`      (swarm-ts image ${timing.how} into ${engine.name} in ${(timing.ms / 1000).toFixed(1)} s)\n`);
    }
    discovery = `etcd://${etcd.endpoint}/machine`;
    // Every host joins, as `docker-machine create --swarm` provisions each.
    for (const engine of engines.engines) {
      await createAndStart(engine.docker(), 'swarm-agent', {
        Image: SWARM_IMAGE,
        Env: [],
        Cmd: ['join', '--advertise', engine.addr, discovery],
        HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 }, NetworkMode: 'host' },
      });
    }
  });
  after(async function () {
    await engines?.stop();
    await etcd?.stop();
    tls?.remove();
  });

  /** Provisions the master on `engine` as configure_swarm.go does; returns the manager's DOCKER_HOST. */
  async function provisionMaster(engineIndex: number, options: SwarmOptions, name = 'swarm-agent-master', port?: number): Promise<{ host: string; container: Dockerode.Container }> {
    const engine = engines.engines[engineIndex];
    port ??= await freePort();
    await createAndStart(engine.docker(), name, {
      Image: SWARM_IMAGE,
      Env: [],
      ExposedPorts: { '2375/tcp': {}, '3376/tcp': {} },
      Cmd: masterCmd(tls.dir, `tcp://0.0.0.0:${port}`, engine.addr, discovery, options),
      HostConfig: {
        RestartPolicy: { Name: 'always', MaximumRetryCount: 0 },
        Binds: [`${tls.dir}:${tls.dir}`],
        PortBindings: { '3376/tcp': [{ HostIp: '', HostPort: String(port) }] },
        NetworkMode: 'host',
      },
    });
    return { host: `tcp://127.0.0.1:${port}`, container: engine.docker().getContainer(name) };
  }

  /** The docker CLI as a docker-machine user runs it: `eval $(docker-machine env --swarm m0)`. */
  function docker(host: string, args: string[]) {
    return dockerCli(host, args, { env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.clientCertPath }, timeoutMs: 90_000 });
  }

  async function waitForNodes(host: string, count: number): Promise<string> {
    return waitFor(async () => {
      const r = await docker(host, ['info']);
      const healthy = (r.stdout.match(/└ Status: Healthy/g) ?? []).length;
      return r.code === 0 && healthy === count ? r.stdout : undefined;
    }, 120_000, `the manager to report ${count} healthy nodes`, 500);
  }

  it('creates the agents with libmachine\'s configs, and the manager serves info, run with constraints, ps, logs and exec over --tlsverify', async function () {
    const { host, container } = await provisionMaster(0, { swarmOpts: ['heartbeat=1s'], experimental: true });
    const master = await container.inspect();
    assert.equal(master.HostConfig.NetworkMode, 'host');
    assert.deepEqual(master.HostConfig.Binds, [`${tls.dir}:${tls.dir}`]);
    assert.equal(master.HostConfig.RestartPolicy?.Name, 'always');
    assert.deepEqual(master.Config.Entrypoint, ['/swarm']);
    assert.equal(master.Config.Cmd[0], '--experimental');

    const info = await waitForNodes(host, 3);
    for (const engine of engines.engines) assert.ok(info.includes(`${engine.name}: ${engine.addr}`), info);
    assert.match(info, /Strategy: spread/);
    const experimental = await docker(host, ['version', '--format', '{{.Server.Experimental}}']);
    assert.equal(experimental.stdout.trim(), 'true', '--swarm-experimental reaches the manager');

    // run with constraints: by node name and by engine label
    const onNode = await docker(host, ['run', '-d', '--name', 'm-web', '-e', 'constraint:node==machine-2', 'busybox', 'sh', '-c', 'echo hello from machine-2; sleep 300']);
    assert.equal(onNode.code, 0, onNode.stderr);
    const onSsd = await docker(host, ['run', '-d', '--name', 'm-db', '-e', 'constraint:disk==ssd', 'busybox', 'sleep', '300']);
    assert.equal(onSsd.code, 0, onSsd.stderr);

    const ps = await docker(host, ['ps', '--format', '{{.Names}}']);
    const names = ps.stdout.trim().split('\n').sort();
    assert.deepEqual(names, [
      'machine-0/m-db', 'machine-0/swarm-agent', 'machine-0/swarm-agent-master', 'machine-1/swarm-agent', 'machine-2/m-web', 'machine-2/swarm-agent',
    ]);

    const logs = await waitFor(async () => {
      const r = await docker(host, ['logs', 'm-web']);
      return r.stdout.includes('hello') ? r.stdout : undefined;
    }, 30_000, 'the container output');
    assert.equal(logs, 'hello from machine-2\n');
    const exec = await docker(host, ['exec', 'm-web', 'sh', '-c', 'echo $((6 * 7)) from $(hostname)']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /^42 from \w+\n$/);

    // the join agents and the manager log as logrus (logfmt), through docker logs on their engine
    const agentLogs = await dockerCli(`unix://${engines.engines[1].socket}`, ['logs', 'swarm-agent']);
    assert.match(agentLogs.stderr, new RegExp(`^time="[^"]+" level=info msg="Registering on the discovery service every 60s\\.\\.\\." addr="${engines.engines[1].addr}"`, 'm'));
  });

  it('--tlsverify serves no client without a certificate from its CA (counted)', async function () {
    const { host } = await waitForMaster();
    const port = Number(host.split(':').pop());
    const attempts = 20;
    let served = 0;
    let refused = 0;
    const https = await import('node:https');
    const http = await import('node:http');
    const fs = await import('node:fs');
    // One attempt, over TLS or plain HTTP: only a 200 counts as served.
    const tryOnce = (get: typeof http.get, options: Record<string, unknown>): Promise<void> =>
      new Promise((resolve) => {
        const req = get({ host: '127.0.0.1', port, path: '/info', timeout: 5000, ...options }, (res) => {
          if (res.statusCode === 200) served++;
          else refused++;
          res.resume();
          resolve();
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => {
          refused++;
          resolve();
        });
      });
    for (let i = 0; i < attempts; i++) {
      await tryOnce(https.get, { ca: fs.readFileSync(tls.ca) }); // no client certificate
      await tryOnce(https.get, { ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(tls.otherClientCert), key: fs.readFileSync(tls.otherClientKey) }); // another CA's
      await tryOnce(http.get, {}); // plain HTTP
    }
    assert.equal(served, 0);
    assert.equal(refused, 3 * attempts);
    // the same client with the CA's certificate is served
    const ok = await docker(host, ['info', '--format', '{{.Containers}}']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  async function waitForMaster(): Promise<{ host: string }> {
    const master = await engines.engines[0].docker().getContainer('swarm-agent-master').inspect();
    const h = master.Config.Cmd[master.Config.Cmd.indexOf('-H') + 1].replace('0.0.0.0', '127.0.0.1');
    return { host: h };
  }

  it('--swarm-opt replication (with --swarm-opt advertise=, as docker-machine\'s HA recipe): one primary, the other master a replica', async function () {
    // docker-machine puts `--advertise <ip>:2376` (the engine) first; the HA recipe's
    // `--swarm-opt advertise=<ip>:3376` comes later and wins, as with Go's flag package.
    const masters: Array<{ host: string }> = [];
    for (const index of [1, 2]) {
      const port = await freePort();
      masters.push(await provisionMaster(index, { swarmOpts: ['replication', `advertise=127.0.0.1:${port}`], experimental: false }, 'swarm-agent-master', port));
    }
    const roles = await waitFor(async () => {
      const infos = await Promise.all(masters.map((m) => docker(m.host, ['info'])));
      const found = infos.map((r) => /Role: (primary|replica)/.exec(r.stdout)?.[1]);
      // A replica shows `Primary:` once it has read the leader key (it may say `Role: replica` first).
      const settled = found.sort().join(',') === 'primary,replica' && infos.some((r) => /Primary: /.test(r.stdout));
      return settled ? infos.map((r) => r.stdout) : undefined;
    }, 120_000, 'one primary and one replica (that knows the primary) among the replicated masters', 500);
    const replica = roles.findIndex((text) => /Role: replica/.test(text));
    const primaryHost = masters[1 - replica].host.replace('tcp://', '');
    assert.ok(roles[replica].includes(`Primary: ${primaryHost}`), roles[replica]);
    // a request to the replica is served by the primary (forwarded over TLS)
    const ps = await docker(masters[replica].host, ['ps', '--format', '{{.Names}}']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.ok(ps.stdout.includes('machine-2/m-web'), ps.stdout);
  });
});
