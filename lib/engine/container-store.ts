import type { ContainerRecord } from './records';

/**
 * One engine's containers by ID, with a name index so cluster-wide name checks and lookups
 * cost one map probe per engine instead of a scan of every container, and optional label
 * indexes: the few label keys the manager's background loops ask about (reschedule policies,
 * service tasks) are indexed, so a loop that runs every second or on every event visits the
 * containers that carry the label, not all 150,000 of them.
 */
/** Told when a container appears or goes (a change of creation time is a removal and an addition), and of every other change. */
export interface ContainerStoreObserver {
  added(record: ContainerRecord): void;
  removed(record: ContainerRecord): void;
  updated(record: ContainerRecord): void;
}

/** `docker info`'s split of an engine's containers. */
export interface StateCounts {
  running: number;
  paused: number;
  stopped: number;
}

function bucket(record: ContainerRecord): keyof StateCounts {
  return record.state.paused ? 'paused' : record.state.running ? 'running' : 'stopped';
}

export class ContainerStore {
  private observer?: ContainerStoreObserver;
  /** Kept as records change, so `docker info` over 150,000 containers counts nothing. */
  readonly counts: StateCounts = { running: 0, paused: 0, stopped: 0 };
  private readonly records = new Map<string, ContainerRecord>();
  private readonly idByName = new Map<string, string>();
  /** 12-character short IDs, as `docker ps` prints them. */
  private readonly idByShortId = new Map<string, string>();
  /** Indexed label key -> IDs of the containers that carry it (whatever its value). */
  private readonly idsByLabel = new Map<string, Set<string>>();

  constructor(indexedLabels: readonly string[] = []) {
    for (const key of indexedLabels) this.idsByLabel.set(key, new Set());
  }

  /** One observer (the cluster's ps order); replaces any earlier one. */
  observe(observer: ContainerStoreObserver | undefined): void {
    this.observer = observer;
  }

  get size(): number {
    return this.records.size;
  }

  get(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  /** By full ID or 12-character short ID. */
  byId(ref: string): ContainerRecord | undefined {
    const id = ref.length === 12 ? this.idByShortId.get(ref) : ref;
    return id === undefined ? undefined : this.records.get(id);
  }

  byName(name: string): ContainerRecord | undefined {
    const id = this.idByName.get(name);
    return id === undefined ? undefined : this.records.get(id);
  }

  /** How many containers carry label `key` (an indexed key, as for withLabel). */
  countWithLabel(key: string): number {
    const ids = this.idsByLabel.get(key);
    if (!ids) throw new Error(`label ${key} is not indexed`);
    return ids.size;
  }

  /**
   * The containers carrying label `key`. Only for keys given to the constructor: asking for
   * another key is a programming error (it would silently answer "none").
   */
  *withLabel(key: string): IterableIterator<ContainerRecord> {
    const ids = this.idsByLabel.get(key);
    if (!ids) throw new Error(`label ${key} is not indexed`);
    for (const id of ids) {
      const record = this.records.get(id);
      if (record) yield record;
    }
  }

  set(record: ContainerRecord): void {
    const previous = this.records.get(record.id);
    this.records.set(record.id, record);
    if (previous) this.counts[bucket(previous)]--;
    this.counts[bucket(record)]++;
    // A state change (the common case: an event) keeps the name and the labels object.
    if (previous?.name !== record.name) {
      if (previous && this.idByName.get(previous.name) === record.id) this.idByName.delete(previous.name);
      if (record.name) this.idByName.set(record.name, record.id);
    }
    if (!previous) this.idByShortId.set(record.id.slice(0, 12), record.id);
    if (previous?.labels !== record.labels) {
      for (const [key, ids] of this.idsByLabel) {
        if (record.labels[key] !== undefined) ids.add(record.id);
        else ids.delete(record.id);
      }
    }
    if (!previous) this.observer?.added(record);
    else if (previous.createdOrder !== record.createdOrder) {
      this.observer?.removed(previous);
      this.observer?.added(record);
    } else this.observer?.updated(record);
  }

  delete(id: string): boolean {
    const previous = this.records.get(id);
    if (!previous) return false;
    this.counts[bucket(previous)]--;
    this.records.delete(id);
    if (this.idByShortId.get(id.slice(0, 12)) === id) this.idByShortId.delete(id.slice(0, 12));
    if (this.idByName.get(previous.name) === id) this.idByName.delete(previous.name);
    for (const ids of this.idsByLabel.values()) ids.delete(id);
    this.observer?.removed(previous);
    return true;
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  values(): IterableIterator<ContainerRecord> {
    return this.records.values();
  }
}
