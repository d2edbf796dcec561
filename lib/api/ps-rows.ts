/**
 * `docker ps` rows as ready bytes.
 *
 * Each container's row is serialised once per change of its record (cachedRow): records are
 * replaced, never mutated, so a row is encoded once per change, not once per request, and its
 * Status text ("Up 5 minutes") once per change of that text.
 *
 * The listing nobody filters (`docker ps -a`, `docker ps`: what the CLI and most tools ask) is
 * also kept whole, as the bodies of runs of BLOCK_ROWS consecutive containers in the cluster's
 * order (PsBlocks). A block is rebuilt when one of its rows changed or one of its Status texts
 * moved on; otherwise a listing checks a few references per row and writes the block as it is.
 * Copying cached rows one by one cost ~1.3 µs a row (entries, records and buffers scattered over
 * the heap): ~4 ms of the ~5 ms a `ps -a` of 3,000 containers took.
 */
import type { OrderEntry, OrderSnapshot } from '../cluster/container-index';
import type { Engine, EngineStatus } from '../engine/engine';
import type { ContainerRecord } from '../engine/records';
import { statusTextUntil } from './format';

/** Marks where the time-dependent Status goes in a cached row. */
const STATUS_SLOT = '"Status":"\\u0000"';
const HOST_DOWN = Buffer.from('"Status":"Host Down"');
const COMMA = Buffer.from(',');

interface CachedRow {
  record: ContainerRecord;
  engineName: string;
  /** The row's UTF-8 JSON before and after the Status member. */
  head: Buffer;
  tail: Buffer;
  /** `"Status":"Up 5 minutes"`, exact until statusUntil (ms since epoch). */
  status: Buffer;
  statusUntil: number;
}

/** Replaces an unspecified host IP with the engine's address, so published ports are reachable. */
export function publicIp(ip: string | undefined, engine: Engine): string | undefined {
  return ip === '0.0.0.0' || ip === '::' || ip === '' ? engine.ip : ip;
}

/**
 * The container's serialised row, kept on its entry in the cluster's order: a slot there costs
 * a listing nothing to find, where a map from record to row cost a lookup per row.
 */
function cachedRow(entry: OrderEntry): CachedRow {
  const { engine, record: c } = entry;
  const cached = entry.rendered as CachedRow | undefined;
  if (cached && cached.record === c && cached.engineName === engine.name) return cached;
  const json = JSON.stringify({
    Id: c.id,
    Names: [`/${engine.name}/${c.name}`],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.command,
    Created: c.created,
    Ports: c.ports.map((p) => (p.IP !== undefined ? { ...p, IP: publicIp(p.IP, engine) } : p)),
    Labels: c.labels,
    State: c.state.status,
    Status: '\u0000',
    HostConfig: { NetworkMode: c.networkMode },
    NetworkSettings: { Networks: c.networks },
    Mounts: c.mounts,
  });
  const at = json.indexOf(STATUS_SLOT);
  const row: CachedRow = {
    record: c,
    engineName: engine.name,
    head: Buffer.from(json.slice(0, at)),
    tail: Buffer.from(json.slice(at + STATUS_SLOT.length)),
    status: HOST_DOWN,
    statusUntil: -Infinity,
  };
  entry.rendered = row;
  return row;
}

/**
 * `"Status":"Up 5 seconds"` once per distinct text: many rows show the same text at once, and a
 * young container's text changes every second. A Buffer per row per second lived just long
 * enough for each young-generation collection to copy it (30,000 of them at 30,000 young
 * containers). Cleared when it holds STATUS_TEXTS_KEPT texts (exit codes times durations).
 */
const statusMembers = new Map<string, Buffer>();
const STATUS_TEXTS_KEPT = 4096;

function statusMember(text: string): Buffer {
  let bytes = statusMembers.get(text);
  if (!bytes) {
    if (statusMembers.size >= STATUS_TEXTS_KEPT) statusMembers.clear();
    bytes = Buffer.from(`"Status":${JSON.stringify(text)}`);
    statusMembers.set(text, bytes);
  }
  return bytes;
}

/** `"Status":...` of the row at `now`: Host Down on an engine that is not healthy. */
function statusBytes(row: CachedRow, engine: Engine, now: number): Buffer {
  if (!engine.isHealthy) return HOST_DOWN;
  if (now >= row.statusUntil) {
    const { text, until } = statusTextUntil(row.record.state, now);
    row.status = statusMember(text);
    row.statusUntil = until;
  }
  return row.status;
}

/** One `docker ps` row (engine list format, names prefixed with the node). */
export function writePsRow(out: RowSink, entry: OrderEntry, now: number): void {
  const row = cachedRow(entry);
  out.appendBytes(row.head);
  out.appendBytes(statusBytes(row, entry.engine, now));
  out.appendBytes(row.tail);
}

/** Containers per block: ~200 KB of rows, written as one buffer without copying. */
export const BLOCK_ROWS = 256;
/**
 * A block is kept only when its Status texts hold this long: a block of containers seconds old
 * changes every second, and a fresh buffer per second (page faults included) cost more than
 * copying its rows into the writer's warm chunks.
 */
const KEEP_MIN_MS = 5000;
const EMPTY = Buffer.alloc(0);

/** Where rows are written: a response body (BodyWriter). */
export interface RowSink {
  appendBytes(bytes: Buffer): void;
}

interface Block {
  /** Entries [b * BLOCK_ROWS, + count) as they were when built: the record (undefined if not live) ... */
  records: (ContainerRecord | undefined)[];
  /** ... and what of its engine a row shows or depends on (its address is fixed). */
  statuses: EngineStatus[];
  names: string[];
  /** The listed rows newest first, each after a comma (`,{…},{…}`); empty when none is listed. */
  bytes: Buffer;
  /** When the first of its Status texts changes (ms since epoch). */
  until: number;
}

/**
 * The unfiltered listing (all containers, or the running ones of healthy engines) as blocks of
 * ready bytes over one layout of the cluster's order. A block checks itself per row against the
 * entries (record, liveness, the engine's status and name), so no change anywhere needs
 * to tell it; an engine that leaves the cluster marks its entries dead, which the check sees.
 */
export class PsBlocks {
  private layout = -1;
  private blocks: (Block | undefined)[] = [];

  /**
   * @param showAll `ps -a` (every container) or `ps` (running, on healthy engines)
   * @param listed whether an engine's containers are listed at all (validated, in the cluster)
   */
  constructor(
    private readonly showAll: boolean,
    private readonly listed: (engine: Engine) => boolean,
  ) {}

  /** How many blocks a snapshot has; they are asked for from the last (newest rows) down. */
  static count(snapshot: OrderSnapshot): number {
    return Math.ceil(snapshot.length / BLOCK_ROWS);
  }

  /**
   * Writes block `b` of the snapshot: its listed rows newest first, each after a comma but the
   * listing's first (`wroteRow`: whether the listing has written a row yet, as returned by the
   * previous block). `reused`: the block was current and written as it was.
   */
  writeBlock(out: RowSink, snapshot: OrderSnapshot, b: number, now: number, wroteRow: boolean): { wroteRow: boolean; reused: boolean } {
    if (snapshot.layout > this.layout) {
      this.layout = snapshot.layout;
      this.blocks = [];
    }
    const first = b * BLOCK_ROWS;
    const count = Math.min(BLOCK_ROWS, snapshot.length - first);
    // A listing still walking an older layout (or an ID listing's own array, layout -1) is served uncached.
    const cacheable = snapshot.layout >= 0 && snapshot.layout === this.layout;
    const cached = cacheable ? this.blocks[b] : undefined;
    if (cached && now < cached.until && isCurrent(cached, snapshot.entries, first, count)) {
      return { wroteRow: writeBytes(out, cached.bytes, wroteRow), reused: true };
    }
    const { block, parts } = this.build(snapshot.entries, first, count, now);
    if (cacheable && block.until - now >= KEEP_MIN_MS) {
      block.bytes = Buffer.concat(parts);
      this.blocks[b] = block;
      return { wroteRow: writeBytes(out, block.bytes, wroteRow), reused: false };
    }
    // Its Status texts change within seconds (young containers): copied row by row into the
    // writer's warm chunks, instead of into a fresh buffer that would be dropped again soon.
    if (cacheable) this.blocks[b] = undefined;
    for (let i = wroteRow ? 0 : 1; i < parts.length; i++) out.appendBytes(parts[i]);
    return { wroteRow: wroteRow || parts.length > 0, reused: false };
  }

  /** The block's rows as parts (comma, head, status, tail per listed row), and what they depend on. */
  private build(entries: readonly OrderEntry[], first: number, count: number, now: number): { block: Block; parts: Buffer[] } {
    const block: Block = { records: new Array(count), statuses: new Array(count), names: new Array(count), bytes: EMPTY, until: Infinity };
    const parts: Buffer[] = [];
    for (let k = count - 1; k >= 0; k--) {
      const entry = entries[first + k];
      const { engine, record: c } = entry;
      block.records[k] = entry.live ? c : undefined;
      block.statuses[k] = engine.status;
      block.names[k] = engine.name;
      if (!entry.live || !this.listed(engine)) continue;
      if (!this.showAll && (!c.state.running || !engine.isHealthy)) continue;
      const row = cachedRow(entry);
      const status = statusBytes(row, engine, now);
      if (engine.isHealthy && row.statusUntil < block.until) block.until = row.statusUntil;
      parts.push(COMMA, row.head, status, row.tail);
    }
    return { block, parts };
  }
}

/** Writes a block's bytes (`,{…},{…}`), without the leading comma when no row was written yet. */
function writeBytes(out: RowSink, bytes: Buffer, wroteRow: boolean): boolean {
  if (bytes.length === 0) return wroteRow;
  out.appendBytes(wroteRow ? bytes : bytes.subarray(1));
  return true;
}

function isCurrent(block: Block, entries: readonly OrderEntry[], first: number, count: number): boolean {
  if (block.records.length !== count) return false;
  for (let k = 0; k < count; k++) {
    const entry = entries[first + k];
    const { engine } = entry;
    if ((entry.live ? entry.record : undefined) !== block.records[k]) return false;
    if (engine.status !== block.statuses[k] || engine.name !== block.names[k]) return false;
  }
  return true;
}
