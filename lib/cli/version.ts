/** The swarm-ts version, and the commit it was built from (see scripts/stamp-build.ts). */
import fs from 'node:fs';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-var-requires
export const VERSION: string = (require('../../../package.json') as { version: string }).version;

function builtCommit(): string {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'build-info.json'), 'utf8')) as { commit?: string };
    return info.commit || 'HEAD';
  } catch {
    return 'HEAD';
  }
}

export const GIT_COMMIT = process.env.SWARM_GIT_COMMIT || builtCommit();
