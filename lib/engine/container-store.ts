import type { ContainerRecord } from './records';

/**
 * One engine's containers by ID, with a name index so cluster-wide name checks and lookups
 * cost one map probe per engine instead of a scan of every container.
 */
export class ContainerStore {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly idByName = new Map<string, string>();
  /** 12-character short IDs, as `docker ps` prints them. */
  private readonly idByShortId = new Map<string, string>();

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

  set(record: ContainerRecord): void {
    const previous = this.records.get(record.id);
    if (previous && previous.name !== record.name && this.idByName.get(previous.name) === record.id) this.idByName.delete(previous.name);
    this.records.set(record.id, record);
    this.idByShortId.set(record.id.slice(0, 12), record.id);
    if (record.name) this.idByName.set(record.name, record.id);
  }

  delete(id: string): boolean {
    const previous = this.records.get(id);
    if (!previous) return false;
    this.records.delete(id);
    if (this.idByShortId.get(id.slice(0, 12)) === id) this.idByShortId.delete(id.slice(0, 12));
    if (this.idByName.get(previous.name) === id) this.idByName.delete(previous.name);
    return true;
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  values(): IterableIterator<ContainerRecord> {
    return this.records.values();
  }
}
