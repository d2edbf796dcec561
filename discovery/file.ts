import { readFile } from 'node:fs/promises';
import type { Discovery, DiscoveryFactory, DiscoveryOptions, DiscoveryWatcher } from './discovery';
import { DiscoveryError, UnsupportedError } from './discovery';
import { expandRange } from './range';

/** Parses a discovery file: one address per line, `#` comments, range expansion. */
export function parseDiscoveryFile(text: string): string[] {
  const entries: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line) entries.push(...expandRange(line));
  }
  return entries;
}

/** `file:///path`: re-read every heartbeat; changes are reported, unchanged reads are not. */
class FileDiscovery implements Discovery {
  private timer?: NodeJS.Timeout;
  private last?: string;

  constructor(private readonly path: string, private readonly options: DiscoveryOptions) {}

  watch(watcher: DiscoveryWatcher): void {
    const poll = async (): Promise<void> => {
      try {
        const entries = parseDiscoveryFile(await readFile(this.path, 'utf8'));
        const key = entries.join(',');
        if (key !== this.last) {
          this.last = key;
          watcher.onEntries(entries);
        }
      } catch (err) {
        watcher.onError(new DiscoveryError(`failed to read '${this.path}': ${(err as Error).message}`));
      }
      this.timer = setTimeout(poll, this.options.heartbeatMs);
      this.timer.unref();
    };
    void poll();
  }

  async register(): Promise<void> {
    throw new UnsupportedError();
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
  }
}

export const createFileDiscovery: DiscoveryFactory = (location, options) => new FileDiscovery(location, options);
