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
  close(): Promise<void>;
}

export async function startServices(cluster: Cluster, options: ServicesOptions): Promise<Services> {
  let backend: StateBackend | undefined;
  if (options.kv) backend = new KvBackend(options.kv.store, options.kv.dir);
  else if (options.stateFile) backend = new FileBackend(options.stateFile);
  else log.warn('Service state is kept in memory only: pass --state-file (or use a KV discovery) so services survive a manager restart');
  const store = new ServiceStore(backend);
  const nodes = new NodeDirectory(cluster, store);
  let reconciler: Reconciler | undefined;
  const mesh = new RoutingMesh(store, nodes, options.ingressAddr);
  const controller = new ServiceController(store, nodes, () => {
    reconciler?.schedule();
    mesh.sync();
  });
  reconciler = new Reconciler(cluster, store, nodes, { ...options.reconciler, isPrimary: options.isPrimary });
  // Desired vs running tasks for /metrics and the cluster page, read at scrape time.
  setServices(() => [...store.services.values()].map((service) => {
    const status = controller.status(service);
    return { name: service.Spec.Name ?? service.ID, desired: status.DesiredTasks, running: status.RunningTasks };
  }));
  // The API serves at once; until the state is loaded (a KV store may be down at start) the
  // service routes answer 503 and nothing reconciles, so nothing is decided on partial state.
  const closing = { done: false };
  void loadWithRetry(store, backend, closing).then(() => {
    if (closing.done) return;
    reconciler?.start();
    mesh.sync();
  });
  return {
    controller, reconciler, mesh, store,
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
