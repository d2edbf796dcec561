/** `swarm list`: prints the engines a discovery backend currently holds, one host:port per line. */
import type { Command } from './command';
import { UsageError } from './command';
import { durationFlag, openDiscovery, requireDiscovery } from './discovery-flags';
import { DISCOVERY_OPT_FLAG, flagHelp, parseFlags, type FlagSpec } from './flags';

const FLAGS: FlagSpec[] = [{ name: 'timeout', type: 'string', default: '10s', help: 'timeout period' }, DISCOVERY_OPT_FLAG];

export const listCommand: Command = {
  name: 'list',
  aliases: ['l'],
  summary: 'List nodes in a cluster',
  help: `Usage: swarm list [OPTIONS] <discovery>

Print the address of every engine registered in <discovery> (or $SWARM_DISCOVERY).

Options:
${flagHelp(FLAGS)}
`,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseFlags(FLAGS, args, 'list');
    const url = requireDiscovery(positionals, 'list', 'list');
    const timeoutMs = durationFlag(values, 'timeout');
    if (timeoutMs <= 0) throw new UsageError('--timeout should be a positive number');
    // Classic passes --timeout as the heartbeat too (it bounds polling and store requests).
    const discovery = openDiscovery(url, values, { heartbeatMs: timeoutMs, ttlMs: 0 });
    let timer: NodeJS.Timeout | undefined;
    try {
      const entries = await new Promise<string[]>((resolve, reject) => {
        timer = setTimeout(() => reject(new UsageError('Timed out')), timeoutMs);
        // As classic: the first list wins, the first error is fatal.
        discovery.watch({ onEntries: resolve, onError: (err) => reject(new UsageError(err.message)) });
      });
      for (const entry of entries) process.stdout.write(`${entry}\n`);
    } finally {
      clearTimeout(timer);
      await discovery.close();
    }
  },
};
