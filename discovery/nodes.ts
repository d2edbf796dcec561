import type { Discovery, DiscoveryFactory, DiscoveryWatcher } from './discovery';
import { DiscoveryError, UnsupportedError } from './discovery';
import { expandRange } from './range';
import { isHostPort } from '../lib/host-port';

/** Parses a comma-separated address list with range expansion; throws on a bad entry. */
export function parseNodeList(list: string): string[] {
  const entries: string[] = [];
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    for (const entry of expandRange(item)) {
      if (!isHostPort(entry) && !entry.startsWith('unix://')) {
        throw new DiscoveryError(`invalid address "${entry}", please check you are using the correct discovery (missing token:// ?)`);
      }
      entries.push(entry);
    }
  }
  return entries;
}

/** `nodes://a:1,b:2` or a bare list: a static set of engines. */
class NodesDiscovery implements Discovery {
  private readonly entries: string[];
  constructor(location: string) {
    this.entries = parseNodeList(location);
  }
  watch(watcher: DiscoveryWatcher): void {
    setImmediate(() => watcher.onEntries([...this.entries]));
  }
  async register(): Promise<void> {
    throw new UnsupportedError();
  }
  async close(): Promise<void> {}
}

export const createNodesDiscovery: DiscoveryFactory = (location) => new NodesDiscovery(location);
