/**
 * The test image. No registry is reachable here, so the `busybox:latest` image is made locally
 * from busybox-static: a tarball holding /bin/busybox plus one symlink per applet, which the
 * engines load with `docker import` (POST /images/create?fromSrc=-).
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Where busybox-static installs its statically linked binary (Debian). */
export const BUSYBOX_BINARY = '/bin/busybox';

/** The image the harness loads into every engine. */
export const BUSYBOX_IMAGE = 'busybox:latest';

/** `changes` applied on import, like the official image's default command. */
export const BUSYBOX_IMPORT_CHANGES = ['CMD ["sh"]'];

let building: Promise<string> | undefined;

/**
 * Path of the busybox rootfs tarball, built once per busybox binary and cached under
 * `<tmpdir>/swarm-ts-cache/` (shared by concurrent test runs: the file is written under a
 * temporary name and renamed into place, so readers never see a partial tarball).
 */
export function busyboxTarball(): Promise<string> {
  building ??= Promise.resolve().then(buildTarball);
  return building;
}

function buildTarball(): string {
  const binary = fs.statSync(BUSYBOX_BINARY, { throwIfNoEntry: false });
  if (!binary) {
    throw new Error(`${BUSYBOX_BINARY} not found: install it with "apt-get install -y busybox-static"`);
  }
  const applets = listApplets();
  const key = crypto
    .createHash('sha256')
    .update(`${binary.size}:${binary.mtimeMs}:${applets.join(',')}`)
    .digest('hex')
    .slice(0, 16);
  const cacheDir = path.join(os.tmpdir(), 'swarm-ts-cache');
  fs.mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `busybox-rootfs-${key}.tar`);
  if (fs.existsSync(tarball)) return tarball;

  const staging = fs.mkdtempSync(path.join(cacheDir, 'busybox-staging-'));
  try {
    const bin = path.join(staging, 'bin');
    fs.mkdirSync(bin);
    fs.copyFileSync(BUSYBOX_BINARY, path.join(bin, 'busybox'));
    fs.chmodSync(path.join(bin, 'busybox'), 0o755);
    for (const applet of applets) {
      if (applet !== 'busybox') fs.symlinkSync('busybox', path.join(bin, applet));
    }
    // A minimal /etc so user lookups (`-u root`, `id`, `whoami`) work, and the usual dirs.
    fs.mkdirSync(path.join(staging, 'etc'));
    fs.writeFileSync(path.join(staging, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    fs.writeFileSync(path.join(staging, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    for (const dir of ['root', 'tmp', 'var', 'home']) fs.mkdirSync(path.join(staging, dir));
    fs.chmodSync(path.join(staging, 'tmp'), 0o1777);

    const partial = `${tarball}.${process.pid}.partial`;
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', staging, '-cf', partial, '.']);
    fs.renameSync(partial, tarball);
    return tarball;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Applet names compiled into this busybox (`sh`, `sleep`, `cat`, `echo`, `top`, ...). */
function listApplets(): string[] {
  const out = execFileSync(BUSYBOX_BINARY, ['--list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => /^[\w.[\]-]+$/.test(name))
    .sort();
}
