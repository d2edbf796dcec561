/**
 * Run by `npm run build` after tsc: copies the files tsc does not emit but the product serves
 * (the cluster page's HTML, CSS and browser JS) into dist/, so dist/ alone is a complete
 * manager: the image and the Dockerfile ship dist/, not the sources.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const ASSET_DIRS = ['lib/dashboard/static'];

for (const dir of ASSET_DIRS) {
  fs.cpSync(path.join(root, dir), path.join(root, 'dist', dir), { recursive: true });
}
