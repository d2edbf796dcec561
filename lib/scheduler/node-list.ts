/**
 * What the builder of a list of scheduler nodes may keep alongside it, so that a placement over
 * 5,000 nodes need not read 5,000 node objects scattered over the heap:
 * - facts about the whole list, so that a filter that would keep every node returns the list
 *   untouched (the health and containerslots filters read 10,000 nodes and 5,000 label maps per
 *   placement, a third of a `docker run`'s CPU, to keep them all);
 * - columns: the numbers spread and binpack weigh, in typed arrays indexed like the list.
 *
 * Facts belong to one array instance (a WeakMap, so lists are freed as usual). A filter that
 * keeps every node returns that same array, so the facts stay with it down the pipeline; a list
 * without facts (a filtered one, or a hand-made one in tests) is simply read node by node.
 */
import type { SchedulerNode } from './node';

export interface NodeListFacts {
  /** Nodes whose healthIndicator is 0 or less. */
  readonly unhealthy: number;
  /** For each engine label key, how many nodes carry it (keys no node carries are absent). */
  readonly labelCounts: ReadonlyMap<string, number>;
}

const factsByList = new WeakMap<readonly SchedulerNode[], NodeListFacts>();

/** The facts attached to this very array, if its builder attached any. */
export function listFacts(nodes: readonly SchedulerNode[]): NodeListFacts | undefined {
  return factsByList.get(nodes);
}

/** Attaches `facts` to `nodes` (which they must describe); returns `nodes`. */
export function withFacts<T extends readonly SchedulerNode[]>(nodes: T, facts: NodeListFacts): T {
  factsByList.set(nodes, facts);
  return nodes;
}

/** The facts of `nodes`, counted node by node. */
export function countFacts(nodes: readonly SchedulerNode[]): NodeListFacts {
  let unhealthy = 0;
  const labelCounts = new Map<string, number>();
  for (const node of nodes) {
    if (node.healthIndicator <= 0) unhealthy += 1;
    for (const key of Object.keys(node.labels)) labelCounts.set(key, (labelCounts.get(key) ?? 0) + 1);
  }
  return { unhealthy, labelCounts };
}

/** `facts` after `before` was replaced by `after` in the list (labels compared by identity first). */
export function replaceInFacts(facts: NodeListFacts, before: SchedulerNode, after: SchedulerNode): NodeListFacts {
  const unhealthy = facts.unhealthy - (before.healthIndicator <= 0 ? 1 : 0) + (after.healthIndicator <= 0 ? 1 : 0);
  if (before.labels === after.labels) return unhealthy === facts.unhealthy ? facts : { unhealthy, labelCounts: facts.labelCounts };
  const labelCounts = new Map(facts.labelCounts);
  for (const key of Object.keys(before.labels)) {
    const left = (labelCounts.get(key) ?? 1) - 1;
    if (left > 0) labelCounts.set(key, left);
    else labelCounts.delete(key);
  }
  for (const key of Object.keys(after.labels)) labelCounts.set(key, (labelCounts.get(key) ?? 0) + 1);
  return { unhealthy, labelCounts };
}

/**
 * The numbers the weighing strategies read (strategies/weigh.ts), one typed array per field,
 * index i describing node i of the list the columns are bound to. The builder owns one set,
 * updates the entries that differ from the list it hands out next, and binds it to that list:
 * the columns then describe that list only (listColumns of an older list gives undefined).
 */
export class NodeColumns {
  private bound?: readonly SchedulerNode[];
  health = new Float64Array(0);
  containers = new Float64Array(0);
  usedCpus = new Float64Array(0);
  totalCpus = new Float64Array(0);
  usedMemory = new Float64Array(0);
  totalMemory = new Float64Array(0);

  /** Sizes the columns for `nodes`, copies every node in and binds them to `nodes`. */
  reset(nodes: readonly SchedulerNode[]): void {
    const n = nodes.length;
    if (this.health.length < n) {
      for (const field of ['health', 'containers', 'usedCpus', 'totalCpus', 'usedMemory', 'totalMemory'] as const) this[field] = new Float64Array(n);
    }
    for (let i = 0; i < n; i++) this.set(i, nodes[i]);
    this.bind(nodes);
  }

  /** Copies node `i`'s numbers. */
  set(i: number, node: SchedulerNode): void {
    this.health[i] = node.healthIndicator;
    this.containers[i] = node.containers.length;
    this.usedCpus[i] = node.usedCpus;
    this.totalCpus[i] = node.totalCpus;
    this.usedMemory[i] = node.usedMemory;
    this.totalMemory[i] = node.totalMemory;
  }

  /** The columns now describe `nodes` (the caller has set every index where it differs from the previous list). */
  bind(nodes: readonly SchedulerNode[]): void {
    this.bound = nodes;
    columnsByList.set(nodes, this);
  }

  describes(nodes: readonly SchedulerNode[]): boolean {
    return this.bound === nodes;
  }
}

const columnsByList = new WeakMap<readonly SchedulerNode[], NodeColumns>();

/** The columns bound to this very array, if its builder keeps them and they still describe it. */
export function listColumns(nodes: readonly SchedulerNode[]): NodeColumns | undefined {
  const columns = columnsByList.get(nodes);
  return columns?.describes(nodes) ? columns : undefined;
}
