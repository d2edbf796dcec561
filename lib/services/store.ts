/**
 * The desired (and last observed) state of services: services, their tasks and the manager's
 * view of nodes, in memory, with every change written through to a persistence backend
 * (a local state file, or the KV store when discovery has one) so it survives the manager.
 *
 * Writes are batched: a change marks the object dirty and a flush follows within FLUSH_MS, so a
 * reconciliation pass creating 3,000 tasks is one write, not 3,000. Reads never touch the backend.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Store as KvStore } from '../kv/store';
import { normalizeKey } from '../kv/store';
import { log } from '../log';
import type { NodeRecord, Service, Task } from './model';

export type Kind = 'services' | 'tasks' | 'nodes';

export interface Snapshot {
  services: Service[];
  tasks: Task[];
  nodes: NodeRecord[];
}

/** Where state is kept between manager runs. */
export interface StateBackend {
  readonly description: string;
  load(): Promise<Snapshot>;
  /** Writes the changed objects (`undefined` value: deleted); `all` is the full state. */
  save(changes: Array<{ kind: Kind; id: string; value: unknown }>, all: Snapshot): Promise<void>;
}

const FLUSH_MS = 50;

export class ServiceStore {
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly nodes = new Map<string, NodeRecord>();
  /** Swarm's object versions: one counter for all objects, bumped on every change. */
  private version = 1;
  /** Bumped whenever the node map may have changed (a put, a delete, a load): see NodeDirectory.sync. */
  nodesRevision = 0;
  private readonly dirty = new Map<string, { kind: Kind; id: string }>();
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();
  /** False until load() succeeded: nothing may be decided on partial state. */
  loaded = false;
  /** Why loading failed so far (the API's 503 says it). */
  loadError = '';

  private loadWaiters: Array<() => void> = [];

  /**
   * `mayWrite`: whether this manager may write the shared state now (the primary, under
   * --replication). Changes made while it may not (an action finishing after it lost or gave up
   * the lock) are dropped rather than written over what the new primary decides.
   */
  constructor(private readonly backend?: StateBackend, private readonly mayWrite: () => boolean = () => true) {}

  /** Reads the whole state, replacing what is in memory (at start, and again on becoming primary). */
  async load(): Promise<void> {
    if (!this.backend) {
      this.setLoaded();
      return;
    }
    const snapshot = await this.backend.load();
    this.services.clear();
    this.tasks.clear();
    this.nodes.clear();
    this.dirty.clear(); // unwritten changes of an earlier reign: the store's state is newer
    for (const s of snapshot.services) this.services.set(s.ID, s);
    for (const t of snapshot.tasks) this.tasks.set(t.ID, t);
    for (const n of snapshot.nodes) this.nodes.set(n.ID, n);
    this.nodesRevision++;
    const versions = [...snapshot.services, ...snapshot.tasks, ...snapshot.nodes].map((o) => o.Version.Index);
    this.version = Math.max(this.version, ...versions) + 1;
    this.setLoaded();
    log.info('Loaded service state', { from: this.backend.description, services: this.services.size, tasks: this.tasks.size, nodes: this.nodes.size });
  }

  /** Marks the state stale until the next load() (a replica taking over as primary). */
  unload(): void {
    if (this.backend) this.loaded = false;
  }

  /** Resolves true once the state is loaded, false if that takes longer than `ms`. */
  whenLoaded(ms: number): Promise<boolean> {
    if (this.loaded) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.loadWaiters = this.loadWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      this.loadWaiters.push(done);
    });
  }

  private setLoaded(): void {
    this.loaded = true;
    this.loadError = '';
    const waiters = this.loadWaiters;
    this.loadWaiters = [];
    for (const waiter of waiters) waiter();
  }

  nextVersion(): number {
    return ++this.version;
  }

  /** Called after every change (the reconciler listens). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  putService(service: Service): void {
    this.services.set(service.ID, service);
    this.markDirty('services', service.ID);
  }

  deleteService(id: string): void {
    if (this.services.delete(id)) this.markDirty('services', id);
  }

  putTask(task: Task): void {
    this.tasks.set(task.ID, task);
    this.markDirty('tasks', task.ID);
  }

  deleteTask(id: string): void {
    if (this.tasks.delete(id)) this.markDirty('tasks', id);
  }

  putNode(node: NodeRecord): void {
    this.nodes.set(node.ID, node);
    this.nodesRevision++;
    this.markDirty('nodes', node.ID);
  }

  deleteNode(id: string): void {
    if (this.nodes.delete(id)) {
      this.nodesRevision++;
      this.markDirty('nodes', id);
    }
  }

  tasksOf(serviceId: string): Task[] {
    const out: Task[] = [];
    for (const t of this.tasks.values()) if (t.ServiceID === serviceId) out.push(t);
    return out;
  }

  private markDirty(kind: Kind, id: string): void {
    for (const listener of this.listeners) listener();
    if (!this.backend) return;
    this.dirty.set(`${kind}/${id}`, { kind, id });
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  /** Writes pending changes now (also used at shutdown). Failures are logged and retried. */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(async () => {
      if (!this.backend || this.dirty.size === 0) return;
      if (!this.mayWrite()) {
        log.debug('Service state changes dropped: this manager is not the primary', { changes: this.dirty.size });
        this.dirty.clear();
        return;
      }
      const batch = [...this.dirty.values()];
      this.dirty.clear();
      const changes = batch.map(({ kind, id }) => ({ kind, id, value: this.objects(kind).get(id) }));
      try {
        await this.backend.save(changes, this.snapshot());
      } catch (err) {
        log.error(`Could not save service state: ${(err as Error).message}`, { to: this.backend.description });
        for (const b of batch) if (!this.dirty.has(`${b.kind}/${b.id}`)) this.dirty.set(`${b.kind}/${b.id}`, b);
        this.flushTimer ??= setTimeout(() => void this.flush(), 1000);
      }
    });
    return this.flushing;
  }

  snapshot(): Snapshot {
    return { services: [...this.services.values()], tasks: [...this.tasks.values()], nodes: [...this.nodes.values()] };
  }

  private objects(kind: Kind): Map<string, unknown> {
    return kind === 'services' ? this.services : kind === 'tasks' ? this.tasks : this.nodes;
  }
}

/** The whole state as one JSON file, replaced atomically (write to a temp file, then rename). */
export class FileBackend implements StateBackend {
  constructor(private readonly file: string) {}

  get description(): string {
    return `file ${this.file}`;
  }

  async load(): Promise<Snapshot> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { services: [], tasks: [], nodes: [] };
      throw err;
    }
    const parsed = JSON.parse(text) as Partial<Snapshot>;
    return { services: parsed.services ?? [], tasks: parsed.tasks ?? [], nodes: parsed.nodes ?? [] };
  }

  async save(_changes: unknown, all: Snapshot): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(all));
    await fs.promises.rename(tmp, this.file);
  }
}

/**
 * One key per object under `<dir>/{services,tasks,nodes}/<id>` (values stay small, under the
 * stores' value limits, and a change writes only what changed).
 */
export class KvBackend implements StateBackend {
  private readonly dir: string;

  constructor(private readonly store: KvStore, dir: string) {
    this.dir = normalizeKey(dir);
  }

  get description(): string {
    return `key-value store under ${this.dir}`;
  }

  async load(): Promise<Snapshot> {
    const read = async <T>(kind: Kind): Promise<T[]> => (await this.store.list(`${this.dir}/${kind}`)).map((p) => JSON.parse(p.value) as T);
    return { services: await read<Service>('services'), tasks: await read<Task>('tasks'), nodes: await read<NodeRecord>('nodes') };
  }

  async save(changes: Array<{ kind: Kind; id: string; value: unknown }>): Promise<void> {
    const limit = 16;
    for (let i = 0; i < changes.length; i += limit) {
      await Promise.all(changes.slice(i, i + limit).map(({ kind, id, value }) => {
        const key = `${this.dir}/${kind}/${id}`;
        return value === undefined ? this.store.delete(key) : this.store.put(key, JSON.stringify(value));
      }));
    }
  }
}
