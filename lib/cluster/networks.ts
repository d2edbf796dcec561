/**
 * Networks across engines. A local-scope network (bridge, macvlan, ...) lives on one engine; a
 * container that joins one must be created on an engine holding it (classic §3.7 step 4).
 * Global-scope networks (overlay) exist everywhere and pin nothing. Names may carry the node
 * (`node-1/backend`), as `docker network ls` shows them; engines only know the bare name.
 */
import type { Engine } from '../engine/engine';
import type { NetworkRecord } from '../engine/records';
import type { CreateBody } from '../scheduler/build-request';

/** Network modes every engine has (or that are not networks): they never pin a container. */
const BUILTIN_MODES = new Set(['', 'default', 'bridge', 'host', 'none']);

/** Splits `node/name` when `node` names one of `engines`; otherwise the name is bare. */
export function splitNodePrefix(engines: Engine[], ref: string): { engine?: Engine; name: string } {
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const node = ref.slice(0, slash);
    const engine = engines.find((e) => e.name === node || e.id === node);
    if (engine) return { engine, name: ref.slice(slash + 1) };
  }
  return { name: ref };
}

/** An engine's network by ID, unique ID prefix or name (as the engine itself resolves it). */
export function engineNetwork(engine: Engine, ref: string): NetworkRecord | undefined {
  const byId = engine.networks.get(ref);
  if (byId) return byId;
  const all = [...engine.networks.values()];
  const byName = all.find((n) => n.Name === ref);
  if (byName) return byName;
  const byPrefix = all.filter((n) => n.Id.startsWith(ref));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

export interface NetworkPin {
  /** The body with `node/name` network references rewritten to the bare names engines know. */
  body: CreateBody;
  /** Engines holding every local-scope network the container joins; undefined: no pin. */
  engines?: Engine[];
  /** The networks that pinned it, for error messages. */
  networks: string[];
}

/**
 * Where a create body's networks (NetworkMode and NetworkingConfig.EndpointsConfig keys) allow
 * the container to go. `node/name` pins to that node; a bare name of a local-scope network pins
 * to the engines holding a network of that name (several when it exists on several engines).
 * A name no engine knows pins nothing: the engine's own "network not found" answers it.
 *
 * `candidates` is called only when a network other than the built-in modes is named: at 5,000
 * engines, listing the healthy engines for every `docker run` was a tenth of its cost.
 */
export function networkPin(candidates: () => Engine[], body: CreateBody): NetworkPin {
  let listed: Engine[] | undefined;
  let allowed: Set<Engine> | undefined;
  const networks: string[] = [];
  const restrict = (ref: string): string => {
    if (BUILTIN_MODES.has(ref) || ref.startsWith('container:')) return ref;
    const engines = (listed ??= candidates());
    const { engine, name } = splitNodePrefix(engines, ref);
    const holders = (engine ? [engine] : engines).filter((e) => {
      const network = engineNetwork(e, name);
      return network !== undefined && network.Scope === 'local';
    });
    if (engine && holders.length === 0) holders.push(engine);
    if (holders.length > 0) {
      networks.push(ref);
      allowed = new Set(allowed ? holders.filter((e) => allowed?.has(e)) : holders);
    }
    return name;
  };
  const hostConfig = body.HostConfig ? { ...body.HostConfig } : body.HostConfig;
  if (hostConfig?.NetworkMode) hostConfig.NetworkMode = restrict(hostConfig.NetworkMode);
  const networking = body.NetworkingConfig as { EndpointsConfig?: Record<string, unknown> | null } | undefined;
  let networkingConfig: unknown = body.NetworkingConfig;
  if (networking?.EndpointsConfig && typeof networking.EndpointsConfig === 'object') {
    const endpoints: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(networking.EndpointsConfig)) endpoints[restrict(key)] = value;
    networkingConfig = { ...networking, EndpointsConfig: endpoints };
  }
  const rewritten: CreateBody = { ...body, HostConfig: hostConfig };
  if (networkingConfig !== undefined) rewritten.NetworkingConfig = networkingConfig;
  return { body: rewritten, engines: allowed ? [...allowed] : undefined, networks };
}

/**
 * The soft constraint classic added for a local network (`node==~<engine>`); a regex over the
 * engine names when the network exists on several.
 */
export function softNodeConstraint(engines: Engine[]): string {
  if (engines.length === 1) return `node==~${engines[0].name}`;
  const names = engines.map((e) => e.name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return `node==~/(?:${names.join('|')})/`;
}
