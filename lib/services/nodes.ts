/**
 * Engines as swarm-mode nodes. The cluster's engines are the nodes; the manager keeps what swarm
 * mode keeps per node (availability, node labels, role) in the service store, keyed by a node ID
 * derived from the engine's cluster id. Engines seen once stay listed (as `down`) until
 * `docker node rm`.
 */
import os from 'node:os';
import type { Cluster } from '../cluster/cluster';
import type { Engine } from '../engine/engine';
import { ApiError } from '../errors';
import { isoNow, nodeIdFor, type ConstraintNode, type NodeRecord } from './model';
import type { ServiceStore } from './store';

export type NodeState = 'ready' | 'down' | 'unknown' | 'disconnected';

const GO_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

export class NodeDirectory {
  /** Engine cluster id -> node ID, memoised (a hash per lookup would add up at scale). */
  private readonly ids = new Map<string, string>();
  private readonly byNodeId = new Map<string, Engine>();
  /** What the last sync saw: each validated engine with its name and address, and the store's node revision. */
  private synced: { engines: Array<{ engine: Engine; name: string; addr: string }>; nodesRevision: number } = { engines: [], nodesRevision: -1 };

  constructor(private readonly cluster: Cluster, private readonly store: ServiceStore) {}

  nodeIdOf(engineId: string): string {
    let id = this.ids.get(engineId);
    if (!id) {
      id = nodeIdFor(engineId);
      this.ids.set(engineId, id);
    }
    return id;
  }

  /**
   * Records every validated engine as a node (new ones active workers); refreshes the engine
   * index. Runs on every reconciliation pass (each second), so it returns at once when neither
   * the engines nor the stored nodes changed: at 5,000 engines rebuilding the index each time
   * held the event loop for ~14 ms a second, services or not.
   */
  sync(): void {
    const engines = this.cluster.validatedEngines();
    if (!this.changedSinceSync(engines)) return;
    this.byNodeId.clear();
    for (const engine of engines) {
      const id = this.nodeIdOf(engine.id);
      this.byNodeId.set(id, engine);
      const known = this.store.nodes.get(id);
      if (!known) {
        const now = isoNow();
        this.store.putNode({
          ID: id, Version: { Index: this.store.nextVersion() }, CreatedAt: now, UpdatedAt: now,
          Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
          EngineID: engine.id, Addr: engine.addr, Hostname: engine.name,
        });
      } else if (known.Hostname !== engine.name || known.Addr !== engine.addr) {
        this.store.putNode({ ...known, Hostname: engine.name, Addr: engine.addr });
      }
    }
    this.synced = { engines: engines.map((engine) => ({ engine, name: engine.name, addr: engine.addr })), nodesRevision: this.store.nodesRevision };
  }

  private changedSinceSync(engines: readonly Engine[]): boolean {
    const { engines: seen, nodesRevision } = this.synced;
    if (nodesRevision !== this.store.nodesRevision || seen.length !== engines.length) return true;
    return engines.some((engine, i) => seen[i].engine !== engine || seen[i].name !== engine.name || seen[i].addr !== engine.addr);
  }

  /** The engine behind a node, if the cluster has it validated. */
  engineOf(nodeId: string): Engine | undefined {
    const engine = this.byNodeId.get(nodeId);
    return engine && engine.status !== 'disconnected' && this.cluster.engines.get(engine.addr) === engine ? engine : undefined;
  }

  stateOf(nodeId: string): NodeState {
    const engine = this.engineOf(nodeId);
    if (!engine) return 'down';
    if (engine.status === 'healthy') return 'ready';
    if (engine.status === 'pending') return 'unknown';
    return 'down';
  }

  /** Resolves `docker node ...` references: ID, hostname, then a unique ID prefix. */
  resolve(ref: string): NodeRecord {
    if (ref === 'self') throw new ApiError(404, `node self not found: the manager is not one of its nodes`);
    const exact = this.store.nodes.get(ref);
    if (exact) return exact;
    const all = [...this.store.nodes.values()];
    const byName = all.filter((n) => n.Hostname === ref || n.Spec.Name === ref);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) throw new ApiError(400, `node ${ref} is ambiguous (${byName.length} matches found)`);
    const byPrefix = all.filter((n) => n.ID.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ApiError(400, `node ${ref} is ambiguous (${byPrefix.length} matches found)`);
    throw new ApiError(404, `node ${ref} not found`);
  }

  constraintView(node: NodeRecord): ConstraintNode {
    const engine = this.engineOf(node.ID);
    return {
      id: node.ID,
      hostname: engine?.name ?? node.Hostname,
      role: node.Spec.Role,
      os: engine?.osType || 'linux',
      arch: GO_ARCH[os.arch()] ?? os.arch(),
      nodeLabels: node.Spec.Labels,
      engineLabels: engine?.labels ?? {},
    };
  }

  /** The Engine API's Node object. */
  toApi(node: NodeRecord): Record<string, unknown> {
    const engine = this.engineOf(node.ID);
    const state = this.stateOf(node.ID);
    const engineLabels = engine?.labels ?? {};
    return {
      ID: node.ID,
      Version: node.Version,
      CreatedAt: node.CreatedAt,
      UpdatedAt: node.UpdatedAt,
      Spec: node.Spec,
      Description: {
        Hostname: engine?.name ?? node.Hostname,
        Platform: { Architecture: GO_ARCH[os.arch()] ?? os.arch(), OS: engine?.osType || 'linux' },
        Resources: { NanoCPUs: (engine?.cpus ?? 0) * 1e9, MemoryBytes: engine?.memory ?? 0 },
        Engine: { EngineVersion: engine?.serverVersion ?? '', Labels: engineLabels, Plugins: [] },
        TLSInfo: {},
      },
      Status: {
        State: state,
        Message: state === 'down' ? (engine?.lastError || 'engine unreachable') : '',
        Addr: engine?.ip ?? node.Addr.replace(/:\d+$/, ''),
      },
    };
  }
}
