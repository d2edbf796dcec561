/**
 * A small router for Docker API paths. Patterns use `{param}`; a param may span slashes
 * (`/containers/{name}/json` matches `node-1/web`), because swarm names carry a node prefix.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../errors';

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
  /** The pattern as written, e.g. `/containers/{name}/start`: the route class in metrics and audit. */
  pattern: string;
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
    this.routes.push({ method, pattern, regex: new RegExp(`^${source}$`), keys, handler, upgrade });
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

  /** The first route matching method and path (HEAD is served by GET routes). */
  match(method: string, path: string): { found?: RouteMatch } {
    for (const route of this.routes) {
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeParam(m[i + 1])));
      return { found: { route, params } };
    }
    return {};
  }
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, `malformed path parameter: ${raw}`);
  }
}
