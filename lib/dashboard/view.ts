/**
 * What the cluster page shows, computed from the cluster's memory on each request (no engine is
 * asked anything): totals, services, and one page of engine columns, each with at most `cards`
 * container cards. A page of 12 columns x 24 cards is a few hundred DOM nodes whatever the size
 * of the cluster; the totals summarise the rest.
 */
import type { Cluster } from '../cluster/cluster';
import type { Engine } from '../engine/engine';
import type { ContainerRecord } from '../engine/records';
import { readiness, type Readiness } from '../metrics/cluster-metrics';
import { currentServices, type ServiceStatus } from '../metrics/registry';
import { TimeSlice } from '../time-slice';

/** Labels that name a container's service: swarm-ts services, then docker-compose. */
const SERVICE_LABELS = ['com.docker.swarm.service.name', 'com.docker.compose.service'];

export function serviceOf(labels: Record<string, string>): string {
  for (const key of SERVICE_LABELS) if (labels[key]) return labels[key];
  return '';
}

export interface ViewQuery {
  /** Substring of a container's or an engine's name. */
  name: string;
  /** A container state (running, exited, ..., "host down") or an engine status (healthy, unhealthy, pending). */
  state: string;
  /** `key` or `key=value`, on a container's labels or its engine's. */
  label: string;
  page: number;
  perPage: number;
  cards: number;
}

const ENGINE_STATES = new Set(['healthy', 'unhealthy', 'pending']);

export function parseViewQuery(query: URLSearchParams): ViewQuery {
  const int = (key: string, fallback: number, max: number): number => {
    const n = Number(query.get(key) ?? fallback);
    return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
  };
  return {
    name: (query.get('name') ?? '').slice(0, 200),
    state: (query.get('state') ?? '').slice(0, 50),
    label: (query.get('label') ?? '').slice(0, 400),
    page: int('page', 0, 1_000_000),
    perPage: Math.max(1, int('perPage', 12, 100)),
    cards: int('cards', 24, 500),
  };
}

export interface CardView {
  name: string;
  image: string;
  state: string;
  health: string;
  service: string;
}

export interface EngineView {
  name: string;
  addr: string;
  status: string;
  error: string;
  labels: Record<string, string>;
  cpus: { reserved: number; total: number };
  memory: { reserved: number; total: number };
  containers: number;
  /** Containers per state on this engine. */
  states: Record<string, number>;
  /** Containers matching the filters; the first `cards` of them are in `cards`. */
  matching: number;
  cards: CardView[];
}

export interface ClusterView {
  time: number;
  readiness: Readiness;
  totals: { engines: Record<string, number>; containers: Record<string, number> };
  services: ServiceStatus[];
  engines: { matching: number; page: number; pages: number; items: EngineView[] };
}

function labelMatcher(expr: string): ((labels: Record<string, string>) => boolean) | undefined {
  if (!expr) return undefined;
  const eq = expr.indexOf('=');
  if (eq < 0) return (labels) => expr in labels;
  const key = expr.slice(0, eq);
  const value = expr.slice(eq + 1);
  return (labels) => labels[key] === value;
}

/**
 * What the page calls a container's state: Docker's, or "host down" while its engine is not
 * healthy (as `docker ps` shows "Host Down" and leaves it out of the running ones). Cards,
 * per-engine counts, totals and the state filter all use it, so a dead engine's containers are
 * not counted as running.
 */
const HOST_DOWN = 'host down';

function pageState(c: ContainerRecord, engineHealthy: boolean): string {
  return engineHealthy ? c.state.status : HOST_DOWN;
}

function card(c: ContainerRecord, engine: Engine): CardView {
  return { name: c.name, image: c.image, state: pageState(c, engine.isHealthy), health: c.state.health ?? '', service: serviceOf(c.labels) };
}

/** Running first, then by name: the cards worth seeing first. */
function cardOrder(a: ContainerRecord, b: ContainerRecord): number {
  return Number(b.state.running) - Number(a.state.running) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Engines in name order, node-2 before node-10. One collator for every comparison:
 * `localeCompare(b, 'en', { numeric: true })` sets one up per call, and sorting 5,000 engines
 * that way took 25 ms (1 ms with this one).
 */
const byName = new Intl.Collator('en', { numeric: true });

/** How long the view works before letting other requests run (it walks every container). */
const SLICE_MS = 5;

export async function clusterView(cluster: Cluster, q: ViewQuery): Promise<ClusterView> {
  const engineTotals: Record<string, number> = { total: 0, healthy: 0, unhealthy: 0, pending: 0 };
  const containerTotals: Record<string, number> = { total: 0 };
  const nameNeedle = q.name.toLowerCase();
  const labelOk = labelMatcher(q.label);
  const engineStateFilter = ENGINE_STATES.has(q.state) ? q.state : '';
  const containerStateFilter = engineStateFilter ? '' : q.state;
  const containerFilterActive = Boolean(nameNeedle || labelOk || containerStateFilter);
  const nodes = new Map(cluster.nodes().map((n) => [n.addr, n]));
  /** cards: the matching containers, or undefined for all of the engine's. */
  const matched: Array<{ engine: Engine; cards?: ContainerRecord[]; matching: number; states: Record<string, number> }> = [];
  const engines = [...cluster.engines.values()].sort((a, b) => byName.compare(a.name || a.addr, b.name || b.addr));
  const slice = new TimeSlice(SLICE_MS);
  for (const engine of engines) {
    // Computed over several turns: an engine shows as it is when the walk reaches it.
    if (slice.due()) {
      await slice.next();
      if (cluster.engines.get(engine.addr) !== engine) continue; // left the cluster meanwhile
    }
    engineTotals.total++;
    engineTotals[engine.status] = (engineTotals[engine.status] ?? 0) + 1;
    const states: Record<string, number> = {};
    const engineNameHit = nameNeedle !== '' && engine.name.toLowerCase().includes(nameNeedle);
    const engineLabelHit = labelOk?.(engine.labels) ?? false;
    // Without a container filter every container matches: the cards of the engines on the page
    // are taken from them below, instead of copying every engine's containers here.
    const hits: ContainerRecord[] = [];
    let matching = 0;
    const engineHealthy = engine.isHealthy;
    for (const c of engine.containers.values()) {
      const state = pageState(c, engineHealthy);
      states[state] = (states[state] ?? 0) + 1;
      containerTotals[state] = (containerTotals[state] ?? 0) + 1;
      containerTotals.total++;
      if (containerStateFilter && state !== containerStateFilter) continue;
      if (nameNeedle && !engineNameHit && !c.name.toLowerCase().includes(nameNeedle)) continue;
      if (labelOk && !engineLabelHit && !labelOk(c.labels)) continue;
      matching++;
      if (containerFilterActive) hits.push(c);
    }
    if (engineStateFilter && engine.status !== engineStateFilter) continue;
    const engineSelected = !containerFilterActive || matching > 0 || ((!nameNeedle || engineNameHit) && (!labelOk || engineLabelHit) && !containerStateFilter);
    if (!engineSelected) continue;
    matched.push({ engine, cards: containerFilterActive ? hits : undefined, matching, states });
  }
  const pages = Math.max(1, Math.ceil(matched.length / q.perPage));
  const page = Math.min(q.page, pages - 1);
  const items = matched.slice(page * q.perPage, (page + 1) * q.perPage).map(({ engine, cards = [...engine.containers.values()], matching, states }): EngineView => {
    const node = nodes.get(engine.addr);
    const shown = cards.length > q.cards ? partialSort(cards, q.cards) : cards.sort(cardOrder);
    return {
      name: engine.name || engine.addr, addr: engine.addr, status: engine.status, error: engine.lastError, labels: engine.labels,
      cpus: { reserved: node?.usedCpus ?? 0, total: node?.totalCpus ?? engine.cpus },
      memory: { reserved: node?.usedMemory ?? 0, total: node?.totalMemory ?? engine.memory },
      containers: engine.containers.size, states, matching,
      cards: shown.map((c) => card(c, engine)),
    };
  });
  return {
    time: Date.now(),
    readiness: readiness(cluster),
    totals: { engines: engineTotals, containers: containerTotals },
    services: currentServices(),
    engines: { matching: matched.length, page, pages, items },
  };
}

/** The first `n` in card order, without sorting everything (an engine may hold thousands). */
function partialSort(list: ContainerRecord[], n: number): ContainerRecord[] {
  const top: ContainerRecord[] = [];
  for (const c of list) {
    if (top.length < n) {
      top.push(c);
      if (top.length === n) top.sort(cardOrder);
      continue;
    }
    if (cardOrder(c, top[n - 1]) >= 0) continue;
    top[n - 1] = c;
    top.sort(cardOrder);
  }
  return top.length < n ? top.sort(cardOrder) : top;
}
