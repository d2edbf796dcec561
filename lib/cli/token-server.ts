/** `swarm token-server`: runs the token discovery service (lib/token-server.ts). */
import { isHostPort } from '../host-port';
import { log } from '../log';
import { startTokenServer } from '../token-server';
import type { Command } from './command';
import { UsageError } from './command';
import { flagHelp, parseFlags, type FlagSpec } from './flags';

const FLAGS: FlagSpec[] = [
  { name: 'addr', type: 'string', default: '127.0.0.1:8500', env: 'SWARM_TOKEN_ADDR', help: 'host:port to listen on (0.0.0.0:port to serve other machines)' },
];

export const tokenServerCommand: Command = {
  name: 'token-server',
  aliases: [],
  summary: 'Run a token discovery service',
  help: `Usage: swarm token-server [--addr host:port]

Serve token discovery (the API of Docker Hub's retired service) from memory:
  POST /v1/clusters, POST|GET|DELETE /v1/clusters/<token>
Point clients at it with --discovery-opt token.url=http://<addr>/v1 or SWARM_TOKEN_URL.

Options:
${flagHelp(FLAGS)}
`,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseFlags(FLAGS, args, 'token-server');
    if (positionals.length > 0) throw new UsageError("the `token-server` command takes no arguments. See 'swarm token-server --help'.");
    const addr = String(values.addr);
    if (!isHostPort(addr)) throw new UsageError(`--addr should be of the form ip:port or hostname:port, got "${addr}"`);
    const i = addr.lastIndexOf(':');
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    let server;
    try {
      server = await startTokenServer(host, Number(addr.slice(i + 1)));
    } catch (err) {
      throw new UsageError(`cannot listen on ${addr}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    log.info(`Token server listening on ${server.url}`, { url: server.url });
    await new Promise<never>(() => undefined);
  },
};
