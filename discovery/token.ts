/**
 * `token://<token>` and `token://<host>/<path>/<token>`: classic's hosted token discovery,
 * spoken to a `swarm token-server` (the Docker Hub service classic used was shut down in 2019).
 * Managers poll `GET <base>/clusters/<token>` every heartbeat; `join` posts
 * `<base>/clusters/<token>?ttl=<secs>` with the address as body.
 *
 * Base URL: `--discovery-opt token.url=`, else $SWARM_TOKEN_URL, else classic's dead default.
 * In the host form, the URL is https://<host>/<path> as in classic.
 */
import type { Discovery, DiscoveryFactory, DiscoveryOptions, DiscoveryWatcher } from './discovery';
import { DiscoveryError } from './discovery';
import { isHostPort } from '../lib/host-port';

export const HOSTED_TOKEN_URL = 'https://discovery.hub.docker.com/v1';
const REQUEST_TIMEOUT_MS = 10_000;

/** The token service base URL from the discovery options and the environment. */
export function tokenServiceUrl(options: Record<string, string>): string {
  return (options['token.url'] || process.env.SWARM_TOKEN_URL || HOSTED_TOKEN_URL).replace(/\/+$/, '');
}

/** Splits the part after token:// into the service URL and the token. */
export function parseTokenLocation(location: string, options: Record<string, string>): { url: string; token: string } {
  const slash = location.lastIndexOf('/');
  const token = slash < 0 ? location : location.slice(slash + 1);
  if (!token) throw new DiscoveryError('token is empty');
  const url = slash < 0 ? tokenServiceUrl(options) : `https://${location.slice(0, slash)}`;
  return { url, token };
}

/** One request to the token service, with errors that say what to do about a dead service. */
async function tokenRequest(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    if (url.startsWith(HOSTED_TOKEN_URL)) {
      throw new DiscoveryError(
        `the Docker Hub token service (${HOSTED_TOKEN_URL}) was shut down in 2019 (${reason}); run \`swarm token-server\` and point --discovery-opt token.url= or SWARM_TOKEN_URL at it`,
      );
    }
    throw new DiscoveryError(`token service ${url} unreachable: ${reason}`);
  }
}

/** `swarm create`: asks the service for a new cluster token. */
export async function createToken(baseUrl: string): Promise<string> {
  const res = await tokenRequest(`${baseUrl}/clusters`, { method: 'POST' });
  const body = (await res.text()).trim();
  if (!res.ok || !body) throw new DiscoveryError(`Failed to create a token, discovery service returned ${res.status} HTTP status code`);
  return body;
}

class TokenDiscovery implements Discovery {
  private readonly url: string;
  private readonly token: string;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(location: string, private readonly options: DiscoveryOptions) {
    ({ url: this.url, token: this.token } = parseTokenLocation(location, options.options));
  }

  private get clusterUrl(): string {
    return `${this.url}/clusters/${encodeURIComponent(this.token)}`;
  }

  async fetchEntries(): Promise<string[]> {
    const res = await tokenRequest(this.clusterUrl);
    if (res.status !== 200) throw new DiscoveryError(`Failed to fetch entries, Discovery service returned ${res.status} HTTP status code`);
    const body = (await res.json()) as unknown;
    if (!Array.isArray(body) || body.some((e) => typeof e !== 'string' || !isHostPort(e))) {
      throw new DiscoveryError(`token service ${this.url} returned an invalid entry list`);
    }
    return body as string[];
  }

  watch(watcher: DiscoveryWatcher): void {
    let last: string | undefined;
    const poll = async (): Promise<void> => {
      try {
        const entries = await this.fetchEntries();
        const key = entries.join(',');
        if (key !== last) {
          last = key;
          watcher.onEntries(entries);
        }
      } catch (err) {
        watcher.onError(err as Error);
      }
      if (this.closed) return;
      this.timer = setTimeout(poll, this.options.heartbeatMs);
    };
    void poll();
  }

  async register(addr: string): Promise<void> {
    const ttl = Math.max(1, Math.round(this.options.ttlMs / 1000));
    const res = await tokenRequest(`${this.clusterUrl}?ttl=${ttl}`, { method: 'POST', body: addr });
    if (!res.ok) throw new DiscoveryError(`Failed to register, discovery service returned ${res.status} HTTP status code`);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

export const createTokenDiscovery: DiscoveryFactory = (location, options) => new TokenDiscovery(location, options);
