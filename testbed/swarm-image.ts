/**
 * The swarm-ts image in test engines. The first engine that asks builds it from the current
 * dist/ (scripts/image.ts: the same registry-free build as `npm run image`); the built image
 * is saved once to <tmpdir>/swarm-ts-cache/ keyed by the build inputs, and every other engine
 * (of this or a later run) gets it with `docker load`, which is what a registry-less machine does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { IMAGE_TAGS, assembleContext, buildImage, contextKey } from '../scripts/image';

export const SWARM_IMAGE = IMAGE_TAGS[1];

export interface ImageTimings {
  /** 'built' (assembled and docker build) or 'loaded' (docker load of the cached archive). */
  how: 'built' | 'loaded';
  ms: number;
}

let archiveReady: Promise<string> | undefined;

function archivePath(): string {
  const dir = path.join(os.tmpdir(), 'swarm-ts-cache');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `swarm-ts-image-${contextKey()}.tar`);
}

/** Makes swarm-ts:latest (and :<version>) present in `docker`. */
export async function provideSwarmImage(docker: Dockerode): Promise<ImageTimings> {
  const started = Date.now();
  const archive = archivePath();
  if (!archiveReady && !fs.existsSync(archive)) {
    archiveReady = (async () => {
      const context = assembleContext();
      try {
        await buildImage(docker, context);
      } finally {
        context.remove();
      }
      const partial = `${archive}.${process.pid}.partial`;
      const stream = await (docker as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages({ names: IMAGE_TAGS });
      await pipeline(stream, fs.createWriteStream(partial));
      fs.renameSync(partial, archive);
      return archive;
    })();
    await archiveReady;
    return { how: 'built', ms: Date.now() - started };
  }
  await (archiveReady ?? Promise.resolve(archive));
  const stream = await docker.loadImage(fs.createReadStream(archive), { quiet: true });
  const output = await new Promise<string>((resolve, reject) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
  if (/"error"/.test(output)) throw new Error(`docker load of ${archive} failed: ${output}`);
  return { how: 'loaded', ms: Date.now() - started };
}
