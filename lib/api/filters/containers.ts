/**
 * `docker ps` filters with dockerd 20.10's semantics (moby `daemon/list.go`), precompiled once
 * per request, then applied per engine and per container from the manager's memory.
 *
 * - `name`: an RE2 regex (or exact value) matched against the container's own name, with and
 *   without the leading `/` — NOT the `node-1/` prefix the manager shows (classic did the same):
 *   combine with `node=` to pick an engine.
 * - `id`: a prefix that is unique among the engine's containers (dockerd's truncindex; an
 *   ambiguous prefix matches nothing).
 * - `before` / `since`: a full ID or exact name, resolved cluster-wide; containers created
 *   strictly before / after it (nanosecond creation times). As in dockerd, when `name` or `id`
 *   filters leave the reference container out, `before` matches nothing and `since` everything.
 * - `ancestor`: the image (as dockerd resolves a reference or ID prefix on that engine) and its
 *   descendants; unknown images are ignored.
 * - `isolation`: matched (as a regex) on Windows engines only; Linux dockerd accepts and ignores it.
 * - `is-task`: dockerd reads an internal flag the API never shows; the manager treats a
 *   container with a `com.docker.swarm.task.id` label (set on every swarm-mode task) as a task.
 * - `node` (swarm's): see nodeMatches.
 * Errors are dockerd's messages; where dockerd 20.10 answered 500 for a bad value (`exited=x`,
 * `publish=a:b`, an unknown `before`), the manager answers 400, as later dockerd does.
 */
import { ApiError } from '../../errors';
import type { FilterArgs } from '../../docker/filter-args';
import type { ContainerRecord, ImageRecord } from '../../engine/records';
import { lookupImage } from '../../docker/reference';
import { acceptedKeys, goList, invalidFilter, nodeMatches, type NodeIdentity } from './common';

export const CONTAINER_FILTER_KEYS = acceptedKeys([
  'ancestor', 'before', 'exited', 'id', 'isolation', 'label', 'name', 'status', 'health', 'since', 'volume', 'network', 'is-task', 'publish', 'expose',
]);

const STATES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);
const HEALTH = new Set(['starting', 'healthy', 'unhealthy', 'none']);
const TASK_LABEL = 'com.docker.swarm.task.id';
const MAX_INT64 = 2n ** 63n - 1n;

/** What a container filter needs of one engine. */
export interface ContainerSource extends NodeIdentity {
  /** The engine's OSType: dockerd applies `isolation` on Windows only (Linux accepts and ignores it). */
  osType: string;
  containers: { values(): Iterable<ContainerRecord>; get(id: string): ContainerRecord | undefined };
  images: readonly ImageRecord[];
}

/** A container found cluster-wide by `before` / `since`. */
export interface ReferenceContainer {
  id: string;
  name: string;
  createdOrder: string;
}

export interface ContainerFilter {
  /** A `status` filter lists stopped containers too (as `all` does). */
  readonly showAll: boolean;
  /** Whether the engine can hold matches at all (the `node` filter). */
  engineMatches(engine: NodeIdentity): boolean;
  /**
   * When every `id` value is a full ID: no container outside these can match, so a listing
   * looks at these alone (tools poll `ps --filter id=<full id>`; walking 150,000 containers for
   * each poll held the listing driver for a second under an event storm).
   */
  readonly onlyIds?: readonly string[];
  /** The per-container test for one engine (ID prefixes and ancestors precomputed). */
  forEngine(engine: ContainerSource): (c: ContainerRecord) => boolean;
}

interface PortRange {
  proto: string;
  start: number;
  end: number;
}

/**
 * Validates and precompiles. `resolve` finds a container by full ID or exact name (with or
 * without `/`) across the cluster, for `before` and `since`.
 */
export function compileContainerFilter(args: FilterArgs, resolve: (ref: string) => ReferenceContainer | undefined): ContainerFilter {
  args.validate(CONTAINER_FILTER_KEYS);
  const exited = args.get('exited').map(parseExitCode);
  let showAll = false;
  for (const status of args.get('status')) {
    if (!STATES.has(status)) throw invalidFilter('status', status);
    showAll = true;
  }
  let isTask: boolean | undefined;
  if (args.contains('is-task')) {
    if (args.exactMatch('is-task', 'true')) isTask = true;
    else if (args.exactMatch('is-task', 'false')) isTask = false;
    else throw invalidFilter('is-task', goList(args.get('is-task')));
  }
  for (const health of args.get('health')) {
    if (!HEALTH.has(health)) throw new ApiError(400, `Unrecognised filter value for health: ${health}`);
  }
  const before = referenceFor(args, 'before', resolve);
  const since = referenceFor(args, 'since', resolve);
  const publish = args.get('publish').map((v) => parsePortFilter('publish', v));
  const expose = args.get('expose').map((v) => parsePortFilter('expose', v));

  const hasName = args.contains('name');
  // dockerd's name/ID fast path runs only when some name or ID value is given.
  const hasId = args.get('id').length > 0;
  const nameMatches = (name: string): boolean => args.match('name', `/${name}`) || args.match('name', name);
  // dockerd walks only the name/ID matches; a `before`/`since` container outside them is never met.
  const reachable = (ref: ReferenceContainer): boolean => !hasName || nameMatches(ref.name);
  const hasLabel = args.contains('label');
  const hasIsolation = args.contains('isolation');
  const hasStatus = args.contains('status');
  const hasHealth = args.contains('health');
  const volumes = args.contains('volume') ? args.get('volume') : undefined;
  const networks = args.contains('network') ? args.get('network') : undefined;

  const idValues = args.get('id');
  return {
    showAll,
    onlyIds: idValues.length > 0 && idValues.every((v) => v.length === FULL_ID_LENGTH) ? idValues : undefined,
    engineMatches: (engine) => nodeMatches(args, engine),
    forEngine(engine) {
      const windows = engine.osType === 'windows';
      const ids = hasId ? uniquePrefixMatches(engine.containers, args.get('id')) : undefined;
      const ancestors = args.contains('ancestor') ? ancestorImages(engine.images, args.get('ancestor')) : undefined;
      const beforeReached = before && (!hasId || ids?.has(before.id)) && reachable(before);
      const sinceReached = since && (!hasId || ids?.has(since.id)) && reachable(since);
      return (c) => {
        if (before && (!beforeReached || c.createdOrder >= before.createdOrder)) return false;
        if (sinceReached && since && c.createdOrder <= since.createdOrder) return false;
        if (hasName && !nameMatches(c.name)) return false;
        if (ids && !ids.has(c.id)) return false;
        if (isTask !== undefined && isTask !== TASK_LABEL in c.labels) return false;
        if (hasLabel && !args.matchKVList('label', c.labels)) return false;
        if (hasIsolation && windows && !args.match('isolation', c.isolation || 'default')) return false;
        if (exited.length > 0 && (c.state.running || isZeroTime(c.state.startedAt) || !exited.includes(c.state.exitCode))) return false;
        if (hasStatus && !args.match('status', c.state.status)) return false;
        if (hasHealth && !args.exactMatch('health', c.state.health ?? 'none')) return false;
        if (volumes && !mountsAny(c, volumes)) return false;
        if (ancestors && !ancestors.has(c.imageId)) return false;
        if (networks && !onAnyNetwork(c, networks)) return false;
        if ((publish.length > 0 || expose.length > 0) && !portsMatch(c, publish, expose)) return false;
        return true;
      };
    },
  };
}

/** strconv.Atoi, with its messages. */
function parseExitCode(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new ApiError(400, `strconv.Atoi: parsing ${goQuote(value)}: invalid syntax`);
  const n = BigInt(value);
  if (n > MAX_INT64 || n < -MAX_INT64 - 1n) throw new ApiError(400, `strconv.Atoi: parsing ${goQuote(value)}: value out of range`);
  return Number(n);
}

/** Go's %q for the strings filters carry. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function referenceFor(args: FilterArgs, key: string, resolve: (ref: string) => ReferenceContainer | undefined): ReferenceContainer | undefined {
  let found: ReferenceContainer | undefined;
  for (const value of args.get(key)) {
    const ref = resolve(value);
    if (!ref) throw new ApiError(400, `no such container ${value}`);
    // dockerd keeps whichever value its map yields last; the manager keeps the strictest.
    if (!found || (key === 'before' ? ref.createdOrder < found.createdOrder : ref.createdOrder > found.createdOrder)) found = ref;
  }
  return found;
}

/** nat.SplitProtoPort + nat.ParsePortRange, with dockerd's messages. */
function parsePortFilter(key: string, value: string): PortRange {
  if (value.includes(':')) throw new ApiError(400, `filter for '${key}' should not contain ':': ${value}`);
  const parts = value.split('/');
  let proto = 'tcp';
  let port = value;
  if (value === '' || parts[0] === '') {
    proto = '';
    port = '';
  } else if (parts.length > 1) {
    port = parts[0];
    if (parts[1] !== '') proto = parts[1];
  }
  const fail = (reason: string): never => {
    throw new ApiError(400, `error while looking up for ${key} ${value}: ${reason}`);
  };
  if (port === '') return fail('Empty string specified for ports.');
  const dash = port.indexOf('-');
  if (dash < 0) {
    const n = parseUint16(port, fail);
    return { proto, start: n, end: n };
  }
  const pieces = port.split('-');
  const start = parseUint16(pieces[0], fail);
  const end = parseUint16(pieces[1], fail);
  if (end < start) fail(`Invalid range specified for the Port: ${port}`);
  return { proto, start, end };
}

/** strconv.ParseUint(s, 10, 16). */
function parseUint16(s: string, fail: (reason: string) => never): number {
  if (!/^\d+$/.test(s)) return fail(`strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`);
  const n = Number(BigInt(s));
  if (n > 65535) return fail(`strconv.ParseUint: parsing ${goQuote(s)}: value out of range`);
  return n;
}

/** A container's full ID: 64 hex digits. */
const FULL_ID_LENGTH = 64;

/** truncindex.Get per value: the container whose ID is the only one starting with it. */
function uniquePrefixMatches(containers: ContainerSource['containers'], prefixes: string[]): Set<string> {
  const out = new Set<string>();
  // A full ID is its own unique prefix: one probe, not a scan of every container (tools poll
  // `ps --filter id=<full id>`; over 1,000 engines that scanned the whole cluster each time).
  for (const p of prefixes) if (p.length === FULL_ID_LENGTH && containers.get(p)) out.add(p);
  const wanted = prefixes.filter((p) => p !== '' && p.length !== FULL_ID_LENGTH);
  if (wanted.length === 0) return out;
  const hits = new Map<string, string[]>(wanted.map((p) => [p, []]));
  for (const c of containers.values()) for (const p of wanted) if (c.id.startsWith(p)) hits.get(p)?.push(c.id);
  for (const ids of hits.values()) if (ids.length === 1) out.add(ids[0]);
  return out;
}

/** The image IDs each value resolves to on this engine, plus all their descendants. */
function ancestorImages(images: readonly ImageRecord[], refs: string[]): Set<string> {
  const children = new Map<string, string[]>();
  for (const image of images) {
    if (!image.ParentId) continue;
    const list = children.get(image.ParentId) ?? [];
    list.push(image.Id);
    children.set(image.ParentId, list);
  }
  const out = new Set<string>();
  const add = (id: string): void => {
    if (out.has(id)) return;
    out.add(id);
    for (const child of children.get(id) ?? []) add(child);
  };
  for (const ref of refs) {
    const found = lookupImage(images, ref);
    if ('image' in found) add(found.image.Id);
  }
  return out;
}

interface MountView {
  Name?: string;
  Source?: string;
  Destination?: string;
}

function mountsAny(c: ContainerRecord, values: string[]): boolean {
  const mounts = c.mounts as MountView[];
  return values.some((v) => mounts.some((m) => m.Destination === v || (m.Name ? m.Name === v : m.Source === v)));
}

function onAnyNetwork(c: ContainerRecord, values: string[]): boolean {
  return values.some((v) => Object.prototype.hasOwnProperty.call(c.networks, v)
    || Object.values(c.networks).some((n) => typeof (n as { NetworkID?: string } | null)?.NetworkID === 'string' && (n as { NetworkID: string }).NetworkID.startsWith(v)));
}

function portsMatch(c: ContainerRecord, publish: PortRange[], expose: PortRange[]): boolean {
  const within = (ranges: PortRange[], port: number, proto: string): boolean => ranges.some((r) => r.proto === proto && port >= r.start && port <= r.end);
  return c.ports.some((p) => within(publish, p.PublicPort ?? 0, p.Type) || within(expose, p.PrivatePort, p.Type));
}

function isZeroTime(iso: string): boolean {
  return !iso || iso.startsWith('0001-01-01');
}
