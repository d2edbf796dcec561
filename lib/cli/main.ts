import { basename } from 'node:path';
import type { Command } from './command';
import { UsageError } from './command';
import { COMMANDS } from './commands';
import { flagHelp, parseFlags, type FlagSpec } from './flags';
import { GIT_COMMIT, VERSION } from './version';
import { configureLog, defaultLogFormat, parseLogLevel, type LogFormat } from '../log';
import { installSignalHandlers } from './signals';

const PROGRAM = basename(process.argv[1] ?? 'swarm');

/** Options before the command, read as Go's flag package does (stops at the command name). */
const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'debug', type: 'boolean', default: false, env: 'DEBUG', help: 'debug mode (same as --log-level debug unless --log-level is given)' },
  { name: 'log-level', short: 'l', type: 'string', default: 'info', help: 'Log level (options: debug, info, warn, error, fatal, panic)' },
  { name: 'log-format', type: 'string', default: 'auto', help: 'Log format on stderr (options: auto, text, json); auto is text (logfmt), coloured on a terminal' },
  { name: 'experimental', type: 'boolean', default: false, help: 'enable experimental features' },
  { name: 'help', short: 'h', type: 'boolean', default: false, help: 'show help' },
  { name: 'version', short: 'v', type: 'boolean', default: false, help: 'print the version' },
];

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases.includes(name));
}

function appHelp(): string {
  const lines = COMMANDS.map((c) => `   ${[c.name, ...c.aliases].join(', ').padEnd(16)}${c.summary}`);
  return `Usage: ${PROGRAM} [OPTIONS] COMMAND [arg...]

A Docker-native clustering system (swarm-ts ${VERSION})

Options:
${flagHelp(GLOBAL_FLAGS)}

Commands:
${lines.join('\n')}
   help, h         Shows a list of commands or help for one command

Run '${PROGRAM} COMMAND --help' for more information on a command.
`;
}

const HELP_FLAGS = new Set(['-h', '--h', '-help', '--help']);

/** Parses global options (before the command), then dispatches. */
export async function main(argv: string[]): Promise<void> {
  // PID 1 in a container ignores SIGTERM unless a handler exists: every command must stop on it.
  installSignalHandlers();
  let parsed;
  try {
    parsed = parseFlags(GLOBAL_FLAGS, argv, '', { stopAtPositional: true });
  } catch (err) {
    return fail((err as Error).message);
  }
  const { values, given, rest: commandLine } = parsed;
  if (values.version) {
    process.stdout.write(`${PROGRAM} version ${VERSION} (${GIT_COMMIT})\n`);
    return;
  }
  if (values.help) {
    process.stdout.write(appHelp());
    return;
  }
  // As classic: --debug means debug level unless --log-level was given explicitly.
  const levelText = given.has('log-level') || !values.debug ? String(values['log-level']) : 'debug';
  const level = parseLogLevel(levelText);
  if (!level) return fail(`not a valid logrus Level: "${levelText}"`);
  const formatText = String(values['log-format']);
  if (!['auto', 'json', 'text'].includes(formatText)) return fail(`invalid --log-format "${formatText}" (options: auto, json, text)`);
  const format: LogFormat = formatText === 'auto' ? defaultLogFormat() : (formatText as LogFormat);
  configureLog({ level, format });
  process.env.SWARM_EXPERIMENTAL = values.experimental ? '1' : process.env.SWARM_EXPERIMENTAL ?? '';

  const [name, ...rest] = commandLine;
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
  if (rest.some((arg) => HELP_FLAGS.has(arg))) {
    process.stdout.write(command.help);
    return;
  }
  try {
    await command.run(rest);
  } catch (err) {
    fail(err instanceof UsageError ? err.message : ((err as Error).message ?? String(err)));
    // A command that failed part-way may have left handles open: `manage` whose address is
    // taken has already opened its store and timers. It must end, not linger serving nothing
    // (a container that looks up while its API is gone, which no restart policy restarts).
    // stderr to a file or pipe is written synchronously, so the line is out before the exit.
    process.exit(1);
  }
}

function fail(message: string): void {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  process.exitCode = 1;
}
