/** `swarm create`: asks the token service (see `swarm token-server`) for a new cluster token. */
import { createToken, tokenServiceUrl } from '../../discovery/token';
import { DiscoveryError } from '../../discovery/discovery';
import type { Command } from './command';
import { UsageError } from './command';
import { DISCOVERY_OPT_FLAG, flagHelp, keyValueOptions, parseFlags, type FlagSpec } from './flags';

const FLAGS: FlagSpec[] = [DISCOVERY_OPT_FLAG];

const NOTICE = `Token based discovery is deprecated: Docker's hosted service was shut down in 2019.
swarm-ts serves it with \`swarm token-server\`; consul, etcd and zk discovery need no token.
`;

export const createCommand: Command = {
  name: 'create',
  aliases: ['c'],
  summary: 'Create a cluster',
  help: `Usage: swarm create [--discovery-opt token.url=http://host:port/v1]

Create a cluster token on the token service given by --discovery-opt token.url or
$SWARM_TOKEN_URL (start one with \`swarm token-server\`), and print it.

Options:
${flagHelp(FLAGS)}
`,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseFlags(FLAGS, args, 'create');
    if (positionals.length > 0) throw new UsageError("the `create` command takes no arguments. See 'swarm create --help'.");
    const options = keyValueOptions((values['discovery-opt'] as string[]) ?? [], '--discovery-opt');
    try {
      const token = await createToken(tokenServiceUrl(options));
      process.stderr.write(NOTICE);
      process.stdout.write(`${token}\n`);
    } catch (err) {
      if (err instanceof DiscoveryError) throw new UsageError(err.message);
      throw err;
    }
  },
};
