/**
 * Every container of every engine, kept as containers come and go: in `docker ps` order, so a
 * listing walks a ready order instead of gathering and sorting the whole cluster per request
 * (at 30,000 containers the per-request sort and row building took ~200 ms of one event loop),
 * and by full ID, so resolving `docker start <id>` is one probe, not one per engine.
 *
 * Entries are kept oldest first by the engine's creation time to the nanosecond
 * (ContainerRecord.createdOrder), so new containers, which are the newest, are appended. A
 * record whose creation time changes (the manager's provisional record replaced by the
 * engine's inspect) is removed and added again. Removals only mark an entry dead; the array is
 * compacted once dead entries are a quarter of it. Sorting and compaction build a new array,
 * so a listing that walks a snapshot while it waits for its client is never reordered under it.
 */
import type { Engine } from '../engine/engine';
import type { ContainerRecord } from '../engine/records';

export interface OrderEntry {
  order: string;
  engine: Engine;
  id: string;
  /** The container as its engine records it now (kept current by the engine's store). */
  record: ContainerRecord;
  live: boolean;
  /**
   * A listing's cached rendering of this container (see api/routes/containers.ts), which checks
   * itself against `record`: a slot here costs a listing nothing to find, where a map from
   * record to rendering cost a lookup per row.
   */
  rendered?: object;
}

/** The entries at one moment: walk indexes length-1 .. 0 for newest first. */
export interface OrderSnapshot {
  entries: readonly OrderEntry[];
  length: number;
  /**
   * Which array `entries` is: it grows by appends, and each sort or compaction makes a new one
   * with a higher layout. A cache of positions in it (api/ps-rows.ts) keeps to the newest.
   */
  layout: number;
}

export class ContainerIndex {
  private entries: OrderEntry[] = [];
  private readonly byEngine = new Map<Engine, Map<string, OrderEntry>>();
  private readonly owners = new Map<string, Engine>();
  private sorted = true;
  private dead = 0;
  private layout = 0;

  get size(): number {
    return this.entries.length - this.dead;
  }

  add(engine: Engine, record: ContainerRecord): void {
    this.remove(engine, record.id);
    const entry: OrderEntry = { order: record.createdOrder, engine, id: record.id, record, live: true };
    const last = this.entries[this.entries.length - 1];
    if (last && last.order > entry.order) this.sorted = false;
    this.entries.push(entry);
    let ids = this.byEngine.get(engine);
    if (!ids) this.byEngine.set(engine, (ids = new Map()));
    ids.set(record.id, entry);
    this.owners.set(record.id, engine);
  }

  /** A container changed (same creation time, so the same place in the order). */
  update(engine: Engine, record: ContainerRecord): void {
    const entry = this.byEngine.get(engine)?.get(record.id);
    if (entry) entry.record = record;
  }

  /** The engine holding the container with this full ID. */
  ownerOf(id: string): Engine | undefined {
    return this.owners.get(id);
  }

  remove(engine: Engine, id: string): void {
    const ids = this.byEngine.get(engine);
    const entry = ids?.get(id);
    if (!ids || !entry) return;
    ids.delete(id);
    entry.live = false;
    this.dead++;
    if (this.owners.get(id) === engine) this.owners.delete(id);
  }

  /** Forgets every container of an engine that left the cluster. */
  removeEngine(engine: Engine): void {
    const ids = this.byEngine.get(engine);
    if (!ids) return;
    for (const [id, entry] of ids) {
      entry.live = false;
      if (this.owners.get(id) === engine) this.owners.delete(id);
    }
    this.dead += ids.size;
    this.byEngine.delete(engine);
  }

  /** The live entries of the containers with these full IDs, as a snapshot in the same order. */
  snapshotOf(ids: readonly string[]): OrderSnapshot {
    const found = new Set<OrderEntry>();
    for (const id of ids) {
      // Looked up on every engine, as the full walk would meet it: two engines can hold one ID.
      for (const entries of this.byEngine.values()) {
        const entry = entries.get(id);
        if (entry) found.add(entry);
      }
    }
    const entries = [...found].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    // A new array every time: a layout no cache will keep (see OrderSnapshot.layout).
    return { entries, length: entries.length, layout: -1 };
  }

  snapshot(): OrderSnapshot {
    if (this.dead > 0 && this.dead * 4 >= this.entries.length) {
      this.entries = this.entries.filter((e) => e.live);
      this.dead = 0;
      this.layout++;
    }
    if (!this.sorted) {
      // Nearly sorted (a few late arrivals): TimSort makes this close to one pass.
      this.entries = [...this.entries].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
      this.sorted = true;
      this.layout++;
    }
    return { entries: this.entries, length: this.entries.length, layout: this.layout };
  }
}
