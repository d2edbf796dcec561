/**
 * `npm start`: a real local cluster for trying swarm-ts by hand.
 *
 * Checks (and, as root, installs) the system packages, starts 3 dockerd engines named
 * node-0..2 with distinct labels and a busybox image, starts the manager on 127.0.0.1:3376
 * (SWARM_PORT to change it) over them with nodes://, prints how to point the docker CLI at
 * it, then streams the manager's log until Ctrl-C / SIGTERM, when it tears everything down.
 *
 * It uses the testbed library (testbed/), so `npm start` runs exactly what the
 * integration tests run.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { EngineSet, missingEnginePrerequisites, startEngines } from '../testbed/engines';
import { ManagerHandle, startManager } from '../testbed/manager';
import { followFile } from '../testbed/processes';

const DEFAULT_PORT = 3376;
const ENGINE_COUNT = 3;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Installs what is missing (as root) or explains exactly what to install and exits 1. */
function ensurePrerequisites(): void {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    say('npm start runs real dockerd engines, which needs root. Run it as root (e.g. sudo -E npm start).');
    const missing = missingEnginePrerequisites();
    if (missing.length > 0) {
      const packages = [...new Set(missing.map((m) => m.pkg))].join(' ');
      say(`Missing: ${missing.map((m) => m.what).join(', ')}. Install with:\n  sudo apt-get install -y ${packages}`);
    }
    process.exit(1);
  }
  const missing = missingEnginePrerequisites();
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((m) => m.pkg))];
  say(`Missing ${missing.map((m) => m.what).join(', ')}: installing ${packages.join(' ')} with apt-get...`);
  const installer = path.join(REPO_ROOT, 'scripts', 'install-system-packages.sh');
  const result = spawnSync(installer, packages, { stdio: 'inherit' });
  const stillMissing = missingEnginePrerequisites();
  if (result.status !== 0 || stillMissing.length > 0) {
    say(`Could not install ${packages.join(' ')} (apt-get exit status ${result.status}); install them and retry.`);
    process.exit(1);
  }
}

function parsePort(): number {
  const raw = process.env.SWARM_PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    say(`SWARM_PORT must be a TCP port (1-65535), got "${raw}"`);
    process.exit(1);
  }
  return port;
}

function banner(manager: ManagerHandle, engines: EngineSet): void {
  const nodes = engines.engines
    .map((engine) => {
      const labels = Object.entries(engine.labels).map(([key, value]) => `${key}=${value}`).join(' ');
      return `    ${engine.name}  ${engine.addr}  ${labels}`;
    })
    .join('\n');
  say(`
swarm-ts is up: manager on 127.0.0.1:${manager.port} over ${engines.engines.length} engines
${nodes}

Point the docker CLI at it:

    export DOCKER_HOST=${manager.host}
    docker info
    docker run -d --name web busybox sleep 1000 && docker ps
    docker run -d --name on-ssd -e constraint:disk==ssd busybox sleep 1000
    docker ps --filter name=on-ssd      # NAMES shows node-0/on-ssd

Manager log follows (${manager.logFile}). Ctrl-C stops everything.
`);
}

async function main(): Promise<void> {
  ensurePrerequisites();
  const port = parsePort();

  let engines: EngineSet | undefined;
  let manager: ManagerHandle | undefined;
  let stopFollowing: (() => void) | undefined;
  let tearingDown = false;

  const teardown = async (code: number): Promise<void> => {
    if (tearingDown) return;
    tearingDown = true;
    stopFollowing?.();
    say('\nStopping the manager and the engines...');
    await manager?.stop();
    await engines?.stop();
    say('Stopped.');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A second Ctrl-C during teardown: exit now; the exit hook still kills every child.
      if (tearingDown) process.exit(1);
      void teardown(0);
    });
  }

  try {
    const startedAt = Date.now();
    engines = await startEngines(ENGINE_COUNT);
    say(`${ENGINE_COUNT} engines ready with busybox in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    const discovery = `nodes://${engines.engines.map((engine) => engine.addr).join(',')}`;
    manager = await startManager([discovery], { port });
  } catch (err) {
    say(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
    await teardown(1);
    return;
  }

  banner(manager, engines);
  stopFollowing = followFile(manager.logFile, (text) => process.stdout.write(text));
  void manager.exited.then((info) => {
    if (tearingDown) return;
    say(`\nThe manager exited (code ${info.code}, signal ${info.signal}); stopping the engines.`);
    void teardown(1);
  });
}

void main();
