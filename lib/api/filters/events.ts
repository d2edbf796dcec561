/**
 * `docker events` filters with dockerd 20.10's semantics (moby `daemon/events/filter.go`):
 * `type`, `event` (exact; a prefix when one of the values is health_status, exec_create or
 * exec_start), `scope`, `container` / `network` / `volume` / `daemon` / `plugin` / `service` /
 * `secret` / `config` (the actor's ID or `name` attribute, exact or as a prefix, applied to
 * events of every type, as dockerd does), `image` (exact ID or name, with or without its tag),
 * `label` (every `k` / `k=v` among the actor's attributes). Unknown keys are ignored, as dockerd
 * ignores them. Swarm's `node` is the engine (its name, ID, address or an RE2 regex on its
 * name), not dockerd's swarm-mode node events.
 */
import type { FilterArgs } from '../../docker/filter-args';
import { familiarName, parseNormalizedNamed } from '../../docker/reference';

/** The fields of an event the filters read. */
export interface FilterableEvent {
  Type: string;
  Action: string;
  Actor?: { ID: string; Attributes?: Record<string, string> };
  scope?: string;
}

const FUZZY_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);
const NAMED_TYPES = ['daemon', 'container', 'plugin', 'volume', 'network', 'service', 'secret', 'config'];

export function compileEventFilter(args: FilterArgs): (event: FilterableEvent) => boolean {
  if (args.size === 0) return () => true;
  const fuzzyEvent = args.get('event').some((v) => FUZZY_ACTIONS.has(v));
  const named = NAMED_TYPES.filter((t) => args.contains(t));
  const hasScope = args.contains('scope');
  const hasLabel = args.contains('label');
  const hasImage = args.contains('image');
  const hasNode = args.contains('node');
  return (event) => {
    const id = event.Actor?.ID ?? '';
    const attrs = event.Actor?.Attributes ?? {};
    if (!(fuzzyEvent ? args.fuzzyMatch('event', event.Action) : args.exactMatch('event', event.Action))) return false;
    if (!args.exactMatch('type', event.Type)) return false;
    if (hasScope && !args.exactMatch('scope', event.scope ?? '')) return false;
    for (const key of named) if (!args.fuzzyMatch(key, id) && !args.fuzzyMatch(key, attrs.name ?? '')) return false;
    if (hasImage) {
      const imageName = (event.Type === 'image' ? attrs.name : attrs.image) ?? '';
      if (!args.exactMatch('image', id) && !args.exactMatch('image', imageName) && !args.exactMatch('image', stripTag(id)) && !args.exactMatch('image', stripTag(imageName))) return false;
    }
    if (hasNode && !args.match('node', attrs['node.name'] ?? '') && !args.exactMatch('node', attrs['node.id'] ?? '') && !args.exactMatch('node', attrs['node.addr'] ?? '')) return false;
    if (hasLabel && !args.matchKVList('label', attrs)) return false;
    return true;
  };
}

/** The familiar repository name without tag or digest; the input itself when it does not parse. */
function stripTag(image: string): string {
  try {
    return familiarName(parseNormalizedNamed(image).name);
  } catch {
    return image;
  }
}
