/**
 * `npm run image`: builds swarm-ts:<version> and swarm-ts:latest with no registry (see
 * scripts/image.ts) and writes them as a `docker load` archive, dist/image/swarm-ts-<version>.tar.
 *
 * Where it builds: the engine at $DOCKER_HOST (with $DOCKER_TLS_VERIFY/$DOCKER_CERT_PATH) or
 * /var/run/docker.sock when one is there, so the image lands where `docker images` shows it.
 * Without one (CI, these machines) it starts a throw-away dockerd with the testbed library,
 * builds there, and the archive is the result: `docker load -i dist/image/swarm-ts-<version>.tar`.
 *
 * Prints the image size and how long each step took.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Dockerode from 'dockerode';
import { startEngines, type EngineSet } from '../testbed/engines';
import { IMAGE_TAGS, IMAGE_VERSION, REPO_ROOT, assembleContext, buildImage } from './image';

/** GET /images/get?names=...&names=... (dockerode's getImages is not in its typings). */
export function saveImages(docker: Dockerode, names: string[]): Promise<NodeJS.ReadableStream> {
  return (docker as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages({ names });
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const local = process.env.DOCKER_HOST || fs.existsSync('/var/run/docker.sock');
  let engines: EngineSet | undefined;
  let docker: Dockerode;
  const engineStart = Date.now();
  if (local) {
    docker = new Dockerode();
  } else {
    process.stdout.write('No $DOCKER_HOST or /var/run/docker.sock: starting a throw-away dockerd to build in...\n');
    engines = await startEngines(1, { namePrefix: 'image-builder-', loadBusybox: false });
    docker = engines.engines[0].docker();
  }
  const engineTime = seconds(engineStart);
  try {
    const assembleStart = Date.now();
    const context = assembleContext();
    const assembleTime = seconds(assembleStart);
    try {
      const buildStart = Date.now();
      const id = await buildImage(docker, context);
      const buildTime = seconds(buildStart);
      const saveStart = Date.now();
      const archive = path.join(REPO_ROOT, 'dist', 'image', `swarm-ts-${IMAGE_VERSION}.tar`);
      fs.mkdirSync(path.dirname(archive), { recursive: true });
      // One archive holding both tags: `docker load` restores swarm-ts:<version> and :latest.
      await pipeline(await saveImages(docker, IMAGE_TAGS), fs.createWriteStream(`${archive}.partial`));
      fs.renameSync(`${archive}.partial`, archive);
      const saveTime = seconds(saveStart);
      const size = (await docker.getImage(id).inspect()).Size;
      process.stdout.write(
        `Built ${IMAGE_TAGS.join(' and ')} (${id.slice(7, 19)}, commit ${context.commit}) ${local ? 'in the local engine' : ''}\n` +
          `  image size        ${(size / 1e6).toFixed(1)} MB (one layer; rootfs.tar ${(context.rootfsBytes / 1e6).toFixed(1)} MB)\n` +
          `  archive           ${path.relative(process.cwd(), archive)} (${(fs.statSync(archive).size / 1e6).toFixed(1)} MB): docker load -i ${path.relative(process.cwd(), archive)}\n` +
          (engines ? `  builder engine    ${engineTime} to start\n` : '') +
          `  assemble context  ${assembleTime}\n  docker build      ${buildTime}\n  docker save       ${saveTime}\n  total             ${seconds(started)}\n`,
      );
    } finally {
      context.remove();
    }
  } finally {
    await engines?.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`build-image: ${err.message}\n`);
  process.exitCode = 1;
});
