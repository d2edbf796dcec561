/**
 * Docker image references (docker/distribution `reference`, as dockerd 20.10 uses it): parsing
 * with its grammar and messages, the familiar form users see (`busybox:latest`, not
 * `docker.io/library/busybox:latest`), and dockerd's image lookup by reference or ID prefix.
 */
import { compileRe2 } from './regex';

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO = 'library';

const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]*)';
const nameComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?`;
const name = `(?:${domain}/)?${nameComponent}(?:/${nameComponent})*`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
/** RE2, not JavaScript's engine: the grammar's nested repetitions would backtrack on hostile input. */
const referenceRegexp = compileRe2(`(${name})(?::(${tag}))?(?:@(${digest}))?`, { anchored: true });
const nameOnly = compileRe2(name, { anchored: true });
const tagOnly = compileRe2(tag, { anchored: true });
const digestOnly = compileRe2(digest, { anchored: true });
const fullHexId = /^[a-f0-9]{64}$/;

/** A parsed, normalised reference: `docker.io/library/busybox` + tag/digest. */
export interface NamedReference {
  /** Full name, e.g. `docker.io/library/busybox`. */
  name: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {}

/** Splits `name[:tag][@digest]` after the grammar has accepted it. */
function splitReference(s: string): NamedReference {
  let rest = s;
  let dig: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    dig = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let t: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    t = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag: t, digest: dig };
}

/** reference.Parse: the grammar check with distribution's messages. */
function parse(s: string): NamedReference {
  if (!referenceRegexp.test(s)) {
    if (s === '') throw new ReferenceError('repository name must have at least one component');
    if (referenceRegexp.test(s.toLowerCase())) throw new ReferenceError('repository name must be lowercase');
    throw new ReferenceError('invalid reference format');
  }
  const ref = splitReference(s);
  if (ref.name.length > 255) throw new ReferenceError('repository name must not be more than 255 characters');
  if (!nameOnly.test(ref.name) || (ref.tag !== undefined && !tagOnly.test(ref.tag)) || (ref.digest !== undefined && !digestOnly.test(ref.digest))) {
    throw new ReferenceError('invalid reference format');
  }
  return ref;
}

/** reference.ParseNormalizedNamed: `busybox` -> docker.io/library/busybox. */
export function parseNormalizedNamed(s: string): NamedReference {
  if (fullHexId.test(s)) throw new ReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  let dom: string;
  let remainder: string;
  const slash = s.indexOf('/');
  if (slash === -1 || (!/[.:]/.test(s.slice(0, slash)) && s.slice(0, slash) !== 'localhost')) {
    dom = DEFAULT_DOMAIN;
    remainder = s;
  } else {
    dom = s.slice(0, slash);
    remainder = s.slice(slash + 1);
  }
  if (dom === LEGACY_DEFAULT_DOMAIN) dom = DEFAULT_DOMAIN;
  if (dom === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = `${OFFICIAL_REPO}/${remainder}`;
  const colon = remainder.indexOf(':');
  const remoteName = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remoteName.toLowerCase() !== remoteName) throw new ReferenceError('invalid reference format: repository name must be lowercase');
  return parse(`${dom}/${remainder}`);
}

/** The name as users write it: `busybox`, `me/app`, `registry:5000/app`. */
export function familiarName(fullName: string): string {
  let n = fullName;
  if (n.startsWith(`${DEFAULT_DOMAIN}/`)) {
    n = n.slice(DEFAULT_DOMAIN.length + 1);
    if (n.startsWith(`${OFFICIAL_REPO}/`) && !n.slice(OFFICIAL_REPO.length + 1).includes('/')) n = n.slice(OFFICIAL_REPO.length + 1);
  }
  return n;
}

/** `busybox:latest`, `me/app@sha256:...`: the familiar string, `:latest` added when untagged and undigested. */
export function familiarTagged(ref: NamedReference): string {
  const base = familiarName(ref.name);
  if (ref.tag === undefined && ref.digest === undefined) return `${base}:latest`;
  return `${base}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What dockerd's image store needs to find an image: its ID, tags and digests as it lists them. */
export interface ImageLike {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
}

export type ImageLookup<T> = { image: T } | { error: string; status: number };

/**
 * dockerd's `GetImage(refOrID)` over an engine's images: a full 64-hex ID or `sha256:` digest,
 * else a normalised name[:tag] or name@digest, else a unique ID prefix. Errors carry dockerd's
 * status and message ("No such image: nope:latest" 404, bad references 400).
 */
export function lookupImage<T extends ImageLike>(images: readonly T[], refOrId: string): ImageLookup<T> {
  const byId = (hex: string): T | undefined => images.find((i) => i.Id === `sha256:${hex}`);
  if (fullHexId.test(refOrId)) return found(byId(refOrId), `sha256:${refOrId}`);
  if (/^sha256:[a-f0-9]{64}$/.test(refOrId)) return found(byId(refOrId.slice(7)), refOrId);
  let ref: NamedReference;
  try {
    ref = parseNormalizedNamed(refOrId);
  } catch (err) {
    return { error: (err as Error).message, status: 400 };
  }
  const wanted = familiarTagged(ref);
  const listed = ref.digest !== undefined && ref.tag === undefined ? 'RepoDigests' : 'RepoTags';
  const byRef = images.find((i) => (i[listed] ?? []).some((t) => t === wanted));
  if (byRef) return { image: byRef };
  // imageStore.Search: a unique ID prefix (with or without sha256:).
  const hex = refOrId.startsWith('sha256:') ? refOrId.slice(7) : refOrId;
  if (/^[a-f0-9]+$/.test(hex)) {
    const matches = images.filter((i) => i.Id.startsWith(`sha256:${hex}`));
    if (matches.length === 1) return { image: matches[0] };
  }
  return { error: `No such image: ${wanted}`, status: 404 };

  function found(image: T | undefined, shown: string): ImageLookup<T> {
    return image ? { image } : { error: `No such image: ${shown}`, status: 404 };
  }
}
