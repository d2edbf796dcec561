/**
 * Declarative services over plain engines, assembled: the store (and where it persists), the
 * node directory, the controller the API calls, the reconciler, and the routing mesh.
 */
import type { Cluster } from '../cluster/cluster';
import type { Store as KvStore } from '../kv/store';
import { log } from '../log';
import { setServices } from '../metrics/registry';
import { ServiceController } from './controller';
import { RoutingMesh } from './mesh';
import { NodeDirectory } from './nodes';
import { Reconciler, type ReconcilerOptions } from './reconciler';
import { FileBackend, KvBackend, ServiceStore, type StateBackend } from './store';

export interface ServicesOptions {
  /** Where desired state lives: a KV store (with the directory), else a file, else memory only. */
  kv?: { store: KvStore; dir: string };
  stateFile?: string;
  isPrimary: () => boolean;
  /** Address the routing mesh listens on for ingress ports. */
  ingressAddr: string;
  reconciler?: Partial<ReconcilerOptions>;
}

export interface Services {
  controller: ServiceController;
  reconciler: Reconciler;
  mesh: RoutingMesh;
  store: ServiceStore;
  /**
   * This manager just became primary (--replication): the state it loaded as a replica is stale
   * (the old primary changed it since), so it is read again before anything reconciles or
   * answers from it.
   */
  takeOver(): void;
  /** Stops acting and writes what is pending (before a primary resigns). */
  quiesce(): Promise<void>;
  close(): Promise<void>;
}

export async function startServices(cluster: Cluster, options: ServicesOptions): Promise<Services> {
  let backend: StateBackend | undefined;
  if (options.kv) backend = new KvBackend(options.kv.store, options.kv.dir);
  else if (options.stateFile) backend = new FileBackend(options.stateFile);
  else log.warn('Service state is kept in memory only: pass --state-file (or use a KV discovery) so services survive a manager restart');
  const store = new ServiceStore(backend, options.isPrimary);
  const nodes = new NodeDirectory(cluster, store);
  let reconciler: Reconciler | undefined;
  const mesh = new RoutingMesh(store, nodes, options.ingressAddr);
  const controller = new ServiceController(store, nodes, () => {
    reconciler?.schedule();
    mesh.sync();
  });
  // Nothing reconciles from state that is loading (at start, or again on taking over).
  reconciler = new Reconciler(cluster, store, nodes, { ...options.reconciler, isPrimary: () => options.isPrimary() && store.loaded });
  // Desired vs running tasks for /metrics and the cluster page, read at scrape time.
  setServices(() => [...store.services.values()].map((service) => {
    const status = controller.status(service);
    return { name: service.Spec.Name ?? service.ID, desired: status.DesiredTasks, running: status.RunningTasks };
  }));
  // The API serves at once; until the state is loaded (a KV store may be down at start) the
  // service routes answer 503 and nothing reconciles, so nothing is decided on partial state.
  const closing = { done: false };
  const loaded = loadWithRetry(store, backend, closing).then(() => {
    if (closing.done) return;
    reconciler?.start();
    mesh.sync();
  });
  // Taking over: read the state again (after the first load, if that is still under way), and
  // once more if leadership came back again meanwhile.
  let reloading: Promise<void> | undefined;
  let reloadAgain = false;
  const reload = (): void => {
    store.unload();
    if (reloading) {
      reloadAgain = true;
      return;
    }
    reloading = (async () => {
      await loaded;
      do {
        reloadAgain = false;
        store.unload();
        await loadWithRetry(store, backend, closing);
      } while (reloadAgain && !closing.done);
      reloading = undefined;
      if (closing.done) return;
      reconciler?.schedule();
      mesh.sync();
    })();
  };
  return {
    controller, reconciler, mesh, store,
    takeOver() {
      if (backend && !closing.done) reload();
    },
    async quiesce() {
      reconciler?.stop();
      await store.flush();
    },
    async close() {
      closing.done = true;
      reconciler?.stop();
      await mesh.close();
      await store.flush();
    },
  };
}

/** A KV store may be unreachable for a while: retry every second until the state is loaded. */
async function loadWithRetry(store: ServiceStore, backend: StateBackend | undefined, closing: { done: boolean }): Promise<void> {
  for (let attempt = 0; !closing.done; attempt++) {
    try {
      await store.load();
      return;
    } catch (err) {
      store.loadError = `cannot load service state from ${backend?.description}: ${(err as Error).message}`;
      if (attempt % 30 === 0) log.warn(store.loadError);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
