/**
 * TLS both ways, with real dockerd engines serving TLS (testbed/engines `tls`): classic's
 * --tls (no verification), beyond-classic engine-side files (--engine-tls*) for engines signed
 * by another CA than the manager's clients, one clear line naming the engine for every
 * plain-vs-TLS or certificate mismatch, and the DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH
 * trio for the single engine manage fronts without discovery.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineHandle, type EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { swarm } from '../../testbed/swarm-cli';
import { makeTlsFiles, type TlsFiles } from '../../testbed/tls';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';

describe('TLS to clients and engines', function () {
  this.timeout(180_000);
  let a: TlsFiles; // the engines' CA (docker-machine's)
  let b: TlsFiles; // another CA, for the manager's clients
  let set: EngineSet;
  let tlsEngine: EngineHandle;
  let plainEngine: EngineHandle;
  const managers: ManagerHandle[] = [];

  before(async function () {
    a = makeTlsFiles();
    b = makeTlsFiles();
    set = await startEngines(1, { namePrefix: 'tls-', loadBusybox: false, tls: { ca: a.ca, cert: a.serverCert, key: a.serverKey } });
    tlsEngine = set.engines[0];
    plainEngine = (await getEngines()).engines[0];
  });
  afterEach(async function () {
    await Promise.all(managers.splice(0).map((m) => m.stop()));
  });
  after(async function () {
    await set?.stop();
    a?.remove();
    b?.remove();
  });

  async function manage(args: string[], clientTls?: { ca?: string; cert?: string; key?: string }, env?: Record<string, string>): Promise<ManagerHandle> {
    const manager = await startManager(args, { clientTls, env });
    managers.push(manager);
    return manager;
  }

  /** The manager's per-node status lines once the engine is Healthy, or its one-line Error. */
  async function nodeState(manager: ManagerHandle, want: 'Healthy' | 'Error'): Promise<string> {
    return waitFor(async () => {
      const info = (await manager.docker().info()) as { SystemStatus: Array<[string, string]> };
      const status = info.SystemStatus.find(([k]) => k.endsWith('Status'))?.[1];
      const error = info.SystemStatus.find(([k]) => k.endsWith('Error'))?.[1];
      if (want === 'Healthy') return status === 'Healthy' ? status : undefined;
      return error || undefined;
    }, 60_000, `the node to be ${want}`, 250);
  }

  it('--tls without --tlsverify: clients need no certificate, engines are reached with the key pair', async function () {
    const manager = await manage(['--tls', `--tlscert=${a.serverCert}`, `--tlskey=${a.serverKey}`, tlsEngine.addr], {});
    // the stock CLI with --tls and no client certificate: its ~/.docker holds only a CA file
    // (which the CLI insists on reading), from a CA unrelated to the manager's certificate
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-certs-'));
    fs.mkdirSync(path.join(empty, '.docker'));
    fs.copyFileSync(b.ca, path.join(empty, '.docker', 'ca.pem'));
    try {
      const status = await waitFor(async () => {
        const r = await docker(manager.host, ['--tls', 'info', '--format', '{{json .SystemStatus}}'], { env: { HOME: empty } });
        return r.code === 0 && /Status","Healthy"/.test(r.stdout) ? r.stdout : undefined;
      }, 60_000, 'docker --tls info to show the engine healthy', 250);
      assert.ok(status.includes(tlsEngine.addr), status);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('--engine-tls* reach engines signed by another CA than the clients\'; clients of the engines\' CA are refused', async function () {
    const args = [
      '--tlsverify', `--tlscacert=${b.ca}`, `--tlscert=${b.serverCert}`, `--tlskey=${b.serverKey}`,
      `--engine-tlscacert=${a.ca}`, `--engine-tlscert=${a.clientCert}`, `--engine-tlskey=${a.clientKey}`,
      tlsEngine.addr,
    ];
    const manager = await manage(args, { ca: b.ca, cert: b.clientCert, key: b.clientKey });
    assert.equal(await nodeState(manager, 'Healthy'), 'Healthy');
    const { answersTlsPing } = await import('../../testbed/manager');
    assert.equal(await answersTlsPing(manager.port, { ca: b.ca, cert: a.clientCert, key: a.clientKey }), false);
  });

  it('says in one line naming the engine when its certificate is not trusted, it speaks plain HTTP, or it speaks TLS', async function () {
    const cases: Array<{ args: string[]; engine: () => EngineHandle; clientTls?: { ca: string; cert: string; key: string }; message: RegExp }> = [
      {
        // the manager's own files (CA b) used for engines signed by CA a
        args: ['--tlsverify', `--tlscacert=${b.ca}`, `--tlscert=${b.serverCert}`, `--tlskey=${b.serverKey}`],
        engine: () => tlsEngine,
        clientTls: { ca: b.ca, cert: b.clientCert, key: b.clientKey },
        message: /^engine 127\.0\.0\.1:\d+ presented a certificate the manager does not trust \(\w+: .*\); check --tlscacert or --engine-tlscacert$/,
      },
      {
        args: [`--engine-tlscacert=${a.ca}`, `--engine-tlscert=${a.clientCert}`, `--engine-tlskey=${a.clientKey}`],
        engine: () => plainEngine,
        message: /^engine 127\.0\.0\.1:\d+ speaks plain HTTP, not TLS: /,
      },
      { args: [], engine: () => tlsEngine, message: /^engine 127\.0\.0\.1:\d+ speaks TLS, not plain HTTP: give swarm manage --tlsverify/ },
      {
        // the engine wants a client certificate from CA a; the manager presents CA b's
        args: [`--engine-tlscacert=${a.ca}`, `--engine-tlscert=${b.clientCert}`, `--engine-tlskey=${b.clientKey}`],
        engine: () => tlsEngine,
        message: /^engine 127\.0\.0\.1:\d+ refused the manager's client certificate \(/,
      },
    ];
    for (const { args, engine, clientTls, message } of cases) {
      const manager = await manage([...args, engine().addr], clientTls);
      const error = await nodeState(manager, 'Error');
      assert.match(error, message);
      assert.ok(error.includes(engine().addr) && !error.includes('\n'), error);
      assert.match(manager.logs(), new RegExp(`level=warning msg="Engine validation failed, will retry" addr="${engine().addr}" error="engine ${engine().addr.replace(/\./g, '\\.')} `));
      await manager.stop();
    }
  });

  it('fronts $DOCKER_HOST with $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH when given no discovery', async function () {
    const env = { DOCKER_HOST: tlsEngine.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: a.clientCertPath };
    const manager = await manage([], undefined, env);
    assert.equal(await nodeState(manager, 'Healthy'), 'Healthy');
  });

  it('checks the engine-side flags like the client-side ones', async function () {
    const cases: Array<[string[], string]> = [
      [[`--engine-tlscert=${a.clientCert}`], '--engine-tlscert and --engine-tlskey must be provided together'],
      [['--tls', `--tlscert=${a.serverCert}`, `--tlskey=${a.ca}`], `Couldn't load X509 key pair (${a.serverCert}, ${a.ca}): `],
      [['--tlsverify=false', `--tlscert=${a.serverCert}`], '--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify'],
      [['-tlsverify', `-tlscert=${a.serverCert}`, `-tlskey=${a.serverKey}`], '--tlscacert must be provided when using --tlsverify'],
    ];
    for (const [args, message] of cases) {
      const r = await swarm(['manage', ...args, 'nodes://127.0.0.1:1']);
      assert.equal(r.code, 1, args.join(' '));
      assert.ok(r.stderr.startsWith(`swarm: ${message}`), `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});
