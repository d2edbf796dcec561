import { basename } from 'node:path';
import type { Command } from './command';
import { UsageError } from './command';
import { COMMANDS } from './commands';
import { GIT_COMMIT, VERSION } from './version';
import { configureLog, isLogLevel } from '../log';

const PROGRAM = basename(process.argv[1] ?? 'swarm');

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases.includes(name));
}

function appHelp(): string {
  const lines = COMMANDS.map((c) => `   ${[c.name, ...c.aliases].join(', ').padEnd(16)}${c.summary}`);
  return `Usage: ${PROGRAM} [OPTIONS] COMMAND [arg...]

A Docker-native clustering system (swarm-ts ${VERSION})

Options:
   --debug                     debug mode [$DEBUG]
   --log-level, -l "info"      Log level (options: debug, info, warn, error, fatal, panic)
   --log-format "auto"         Log format (options: auto, json, text)
   --experimental              enable experimental features
   --help, -h                  show help
   --version, -v               print the version

Commands:
${lines.join('\n')}
   help, h         Shows a list of commands or help for one command

Run '${PROGRAM} COMMAND --help' for more information on a command.
`;
}

/** Parses global options (before the command), then dispatches. */
export async function main(argv: string[]): Promise<void> {
  let level: string | undefined;
  let debug = Boolean(process.env.DEBUG);
  let format = 'auto';
  let experimental = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--debug') debug = true;
    else if (flag === '--experimental') experimental = true;
    else if (flag === '--log-level' || flag === '-l') level = inline ?? argv[++i];
    else if (flag === '--log-format') format = inline ?? argv[++i] ?? '';
    else if (flag === '--version' || flag === '-v') {
      process.stdout.write(`${PROGRAM} version ${VERSION} (${GIT_COMMIT})\n`);
      return;
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(appHelp());
      return;
    } else break;
  }
  const resolvedLevel = level ?? (debug ? 'debug' : 'info');
  if (!isLogLevel(resolvedLevel)) return fail(`not a valid logrus Level: "${resolvedLevel}"`);
  if (!['auto', 'json', 'text'].includes(format)) return fail(`invalid --log-format "${format}" (options: auto, json, text)`);
  configureLog({ level: resolvedLevel, ...(format === 'auto' ? {} : { format: format as 'json' | 'text' }) });
  process.env.SWARM_EXPERIMENTAL = experimental ? '1' : process.env.SWARM_EXPERIMENTAL ?? '';

  const name = argv[i];
  const rest = argv.slice(i + 1);
  if (name === undefined) {
    process.stdout.write(appHelp());
    return;
  }
  if (name === 'help' || name === 'h') {
    const target = rest[0] ? findCommand(rest[0]) : undefined;
    if (rest[0] && !target) return fail(`No help topic for '${rest[0]}'`);
    process.stdout.write(target ? target.help : appHelp());
    return;
  }
  const command = findCommand(name);
  if (!command) return fail(`'${name}' is not a ${PROGRAM} command. See '${PROGRAM} --help'.`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return;
  }
  try {
    await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message);
    return fail((err as Error).message ?? String(err));
  }
}

function fail(message: string): void {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  process.exitCode = 1;
}
