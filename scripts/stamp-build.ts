/**
 * Run by `npm run build` after tsc: records the commit the build was made from in
 * dist/build-info.json, so `swarm --version` names it (classic embedded GITCOMMIT with ldflags)
 * also where there is no git: in the image, or an installed copy. `-dirty` marks uncommitted
 * changes to tracked files; "HEAD" (classic's fallback) when git is unavailable.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

// SWARM_GIT_COMMIT wins: a build without .git (the Dockerfile's) passes the commit in.
let commit = process.env.SWARM_GIT_COMMIT || 'HEAD';
if (!process.env.SWARM_GIT_COMMIT) try {
  commit = git(['rev-parse', '--short=7', 'HEAD']);
  if (git(['status', '--porcelain', '--untracked-files=no']) !== '') commit += '-dirty';
} catch {
  // not a git checkout: keep classic's "HEAD"
}
fs.writeFileSync(path.join(root, 'dist', 'build-info.json'), `${JSON.stringify({ commit })}\n`);
