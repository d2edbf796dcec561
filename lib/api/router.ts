/**
 * A small router for Docker API paths. Patterns use `{param}`; a param may span slashes
 * (`/containers/{name}/json` matches `node-1/web`), because swarm names carry a node prefix.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Path without the /vX.Y prefix. */
  path: string;
  /** Client API version from the path, or the manager's default. */
  apiVersion: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

/** Handles a hijacked (Upgrade: tcp) request on the raw socket. */
export type UpgradeHandler = (ctx: Omit<RequestContext, 'res'> & { socket: Duplex; head: Buffer }) => Promise<void> | void;

interface Route {
  method: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
  upgrade?: UpgradeHandler;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, upgrade?: UpgradeHandler): this {
    const keys: string[] = [];
    const source = pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, key: string) => {
      keys.push(key);
      return '(.+)';
    });
    this.routes.push({ method, regex: new RegExp(`^${source}$`), keys, handler, upgrade });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: Handler, upgrade?: UpgradeHandler): this {
    return this.add('POST', pattern, handler, upgrade);
  }

  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** First route matching method and path; `pathExists` tells 404 from 405. */
  match(method: string, path: string): { found?: RouteMatch; pathExists: boolean } {
    let pathExists = false;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      pathExists = true;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(m[i + 1])));
      return { found: { route, params }, pathExists };
    }
    return { pathExists };
  }
}
