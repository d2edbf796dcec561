/**
 * `docker images` with dockerd 20.10's filters and listing rules (moby `daemon/images/images.go`),
 * applied to one engine's images as the manager holds them (all images, intermediate included).
 *
 * - `dangling`: `true` lists only untagged images that no image builds on; `false` leaves out
 *   untagged images; any other value is "Invalid filter 'dangling=[x]'".
 * - `before` / `since`: an image reference or ID (dockerd's lookup and errors), compared on
 *   nanosecond creation times. Resolved per engine: over several engines, each engine's own image
 *   by that name is the reference, and an engine without it lists nothing for the query.
 * - `reference`: Go `path.Match` patterns over the familiar `name:tag` and `name`; only the
 *   matching tags and digests are shown.
 * - `label`: every `k` / `k=v` must hold.
 * - `node` (swarm's): see nodeMatches.
 */
import { ApiError } from '../../errors';
import type { FilterArgs } from '../../docker/filter-args';
import type { ImageRecord } from '../../engine/records';
import { BadPatternError, pathMatch } from '../../docker/path-match';
import { lookupImage } from '../../docker/reference';
import { acceptedKeys, goList, invalidFilter, nodeMatches, type NodeIdentity } from './common';

export const IMAGE_FILTER_KEYS = acceptedKeys(['dangling', 'label', 'before', 'since', 'reference']);

const NO_TAG = '<none>:<none>';
const NO_DIGEST = '<none>@<none>';

export interface ImageFilter {
  engineMatches(engine: NodeIdentity): boolean;
  /**
   * One engine's listing: the images `docker images [-a]` shows with these filters, with
   * RepoTags/RepoDigests reduced as dockerd reduces them. Throws dockerd's errors (a bad
   * before/since reference, a bad reference pattern).
   */
  list(images: readonly ImageRecord[], all: boolean): ImageRecord[];
}

export function compileImageFilter(args: FilterArgs): ImageFilter {
  args.validate(IMAGE_FILTER_KEYS);
  let danglingOnly = false;
  if (args.contains('dangling')) {
    if (args.exactMatch('dangling', 'true')) danglingOnly = true;
    else if (!args.exactMatch('dangling', 'false')) throw invalidFilter('dangling', goList(args.get('dangling')));
  }
  const hasDangling = args.contains('dangling');
  const hasLabel = args.contains('label');
  const patterns = args.contains('reference') ? args.get('reference') : undefined;

  const refMatches = (ref: string): boolean => {
    if (!patterns) return true;
    const at = ref.indexOf('@');
    const colon = ref.lastIndexOf(':');
    const name = at >= 0 ? ref.slice(0, at) : colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
    for (const pattern of patterns) {
      try {
        if (pathMatch(pattern, ref) || pathMatch(pattern, name)) return true;
      } catch (err) {
        if (err instanceof BadPatternError) throw new ApiError(400, err.message);
        throw err;
      }
    }
    return false;
  };

  return {
    engineMatches: (engine) => nodeMatches(args, engine),
    list(images, all) {
      const before = resolveTime(args, 'before', images);
      const since = resolveTime(args, 'since', images);
      const parents = new Set(images.map((i) => i.ParentId).filter(Boolean));
      const out: ImageRecord[] = [];
      for (const image of images) {
        const hasChildren = parents.has(image.Id);
        if (danglingOnly && hasChildren) continue; // imageStore.Heads()
        const created = createdOf(image);
        if (before !== undefined && created >= before) continue;
        if (since !== undefined && created <= since) continue;
        if (hasLabel && !args.matchKVList('label', image.Labels)) continue;
        const tags = (image.RepoTags ?? []).filter((t) => t !== NO_TAG && refMatches(t));
        const digests = (image.RepoDigests ?? []).filter((d) => d !== NO_DIGEST && refMatches(d));
        if (tags.length === 0 && digests.length === 0) {
          if (!(all || !hasChildren)) continue;
          if (hasDangling && !danglingOnly) continue;
          if (patterns) continue;
          out.push({ ...image, RepoTags: [NO_TAG], RepoDigests: [NO_DIGEST] });
          continue;
        }
        if (danglingOnly && tags.length > 0) continue;
        out.push({ ...image, RepoTags: tags, RepoDigests: digests });
      }
      return out;
    },
  };
}

/** An image's creation time as a sortable string (nanoseconds when known). */
export function createdOf(image: ImageRecord): string {
  return image.createdOrder ?? `${String(image.Created).padStart(12, '0')}.000000000`;
}

function resolveTime(args: FilterArgs, key: string, images: readonly ImageRecord[]): string | undefined {
  let time: string | undefined;
  for (const value of args.get(key)) {
    const found = lookupImage(images, value);
    if ('error' in found) throw new ApiError(found.status, found.error);
    const t = createdOf(found.image);
    if (time === undefined || (key === 'before' ? t < time : t > time)) time = t;
  }
  return time;
}
