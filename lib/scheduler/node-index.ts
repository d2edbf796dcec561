/**
 * Lookups derived from a node's container list, built once per list and cached: nodes are
 * immutable snapshots (see node.ts), so a decision over 1,000 nodes with 30 containers each does
 * not rescan 30,000 containers for every `container==name` affinity or published port.
 *
 * The caches are keyed by the `containers` and `images` arrays themselves (WeakMaps, so
 * snapshots are freed as usual). Whoever builds snapshots must therefore give a node a NEW array
 * when its containers or images change, never push into the old one.
 */
import { SHORT_ID_LENGTH, type NodeContainer, type NodeImage } from './node';
import { hostPortClaims, type HostPortClaim } from './host-ports';


export interface NodeIndex {
  /** First name, full ID and 12-character ID of every container (what `container==x` matches literally). */
  readonly containerKeys: ReadonlySet<string>;
  /** The host ports the node's containers hold (published bindings, host-mode exposed ports). */
  readonly hostPorts: readonly HostPortClaim[];
}

const cache = new WeakMap<readonly NodeContainer[], NodeIndex>();

export function nodeIndex(containers: readonly NodeContainer[]): NodeIndex {
  let index = cache.get(containers);
  if (!index) {
    index = buildIndex(containers);
    cache.set(containers, index);
  }
  return index;
}

function buildIndex(containers: readonly NodeContainer[]): NodeIndex {
  const containerKeys = new Set<string>();
  const hostPorts: HostPortClaim[] = [];
  for (const c of containers) {
    if (c.names.length > 0) containerKeys.add(c.names[0]);
    if (c.id !== '') {
      containerKeys.add(c.id);
      containerKeys.add(c.id.slice(0, SHORT_ID_LENGTH));
    }
    hostPorts.push(...hostPortClaims(c.networkMode, c.exposedPorts, c.portBindings));
  }
  return { containerKeys, hostPorts };
}

const imageCache = new WeakMap<readonly NodeImage[], ReadonlySet<string>>();

/**
 * Every string `image==x` matches literally on a node: each image's ID (`sha256:...`), bare and
 * 12-character ID, repo:tag, repo without tag, and repo@digest.
 */
export function imageKeys(images: readonly NodeImage[]): ReadonlySet<string> {
  let keys = imageCache.get(images);
  if (!keys) {
    keys = new Set(images.flatMap(imageNames));
    imageCache.set(images, keys);
  }
  return keys;
}

/** The names an image answers to (see imageKeys). */
export function imageNames(image: NodeImage): string[] {
  const bareId = image.id.startsWith('sha256:') ? image.id.slice('sha256:'.length) : image.id;
  const names = [image.id, bareId, bareId.slice(0, SHORT_ID_LENGTH), ...image.repoDigests];
  for (const tag of image.repoTags) names.push(tag, withoutTag(tag));
  return names.filter((name) => name !== '');
}

/** "registry:5000/app:1.0" -> "registry:5000/app" (a ":" before the last "/" is a registry port). */
export function withoutTag(reference: string): string {
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference;
}
