/**
 * Declarative flags for swarm's commands, read the way classic swarm read them: classic used
 * urfave/cli on top of Go's `flag` package, and its users' scripts (and docker-machine) rely on
 * Go's forms, so this parser follows Go's rules rather than getopt's:
 *
 * - One or two dashes are the same: `-strategy binpack` == `--strategy binpack`, and every name
 *   works with either (`-H`, `--H`, `-host`, `--host`).
 * - `-name=value` and `-name value` for value flags; the next argument is the value even if it
 *   starts with `-` (`--timeout -10s` reaches validation and gets its message there).
 * - Boolean flags take no separate argument: `-experimental`, `--tlsverify=true`,
 *   `--debug=false` (values as Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False).
 * - `--` ends the flags. A lone `-` is a positional.
 * - Unlike Go's flag package (but like urfave/cli, which reordered arguments), positionals may
 *   come before flags: `swarm manage token://x -H :4000` works. `stopAtPositional` gives Go's
 *   own rule, used for the global options before the command name.
 *
 * Plus what urfave/cli added: long aliases (--addr for --advertise), environment fallbacks
 * (comma-separated for repeatable flags, ParseBool for booleans) and generated help lines.
 * Errors use Go's texts ("flag provided but not defined: -x", "flag needs an argument: -x",
 * `invalid boolean value "x" for -x: parse error`).
 */
import { UsageError } from './command';

export interface FlagSpec {
  name: string;
  /** Other names, e.g. ["addr"] for --advertise. */
  aliases?: string[];
  /** A one-letter alias, e.g. "H" for --host. */
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  default?: string | string[] | boolean;
  /** Environment variable consulted when the flag is absent (comma-separated for multiple). */
  env?: string;
  /** Placeholder shown in help for string flags, e.g. "60s". */
  help: string;
}

export type FlagValues = Record<string, string | string[] | boolean | undefined>;

export interface ParseOptions {
  /** Stop at the first positional (Go's rule); the rest is returned untouched in `rest`. */
  stopAtPositional?: boolean;
}

export interface ParsedFlags {
  values: FlagValues;
  positionals: string[];
  /** With stopAtPositional: the arguments from the first positional on. */
  rest: string[];
  /** Names of the flags given on the command line (not from env or defaults). */
  given: Set<string>;
}

/** Go's strconv.ParseBool; undefined when the text is not a boolean. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

export function parseFlags(specs: FlagSpec[], args: string[], command: string, options: ParseOptions = {}): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    for (const name of [spec.name, ...(spec.aliases ?? []), ...(spec.short ? [spec.short] : [])]) byName.set(name, spec);
  }
  const usage = (message: string): UsageError => new UsageError(`${message}. See 'swarm${command ? ` ${command}` : ''} --help'.`);
  const values: FlagValues = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (options.stopAtPositional) {
        rest = args.slice(i);
        break;
      }
      positionals.push(arg);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw usage(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = byName.get(name);
    if (!spec) throw usage(`flag provided but not defined: -${name}`);
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (inline === undefined) value = true;
      else {
        const parsed = parseGoBool(inline);
        if (parsed === undefined) throw usage(`invalid boolean value "${inline}" for -${name}: parse error`);
        value = parsed;
      }
    } else if (inline !== undefined) {
      value = inline;
    } else {
      if (i + 1 >= args.length) throw usage(`flag needs an argument: -${name}`);
      value = args[++i];
    }
    if (spec.multiple) {
      const list = given.has(spec.name) ? (values[spec.name] as string[]) : [];
      list.push(String(value));
      values[spec.name] = list;
    } else {
      values[spec.name] = value;
    }
    given.add(spec.name);
  }
  for (const spec of specs) {
    if (given.has(spec.name)) continue;
    const fromEnv = spec.env ? process.env[spec.env] : undefined;
    const envValue = fromEnv ? envFlagValue(spec, fromEnv) : undefined;
    values[spec.name] = envValue ?? (Array.isArray(spec.default) ? [...spec.default] : spec.default);
  }
  return { values, positionals, rest, given };
}

/** An environment fallback as urfave/cli read it; a non-boolean text for a boolean is ignored. */
function envFlagValue(spec: FlagSpec, text: string): string | string[] | boolean | undefined {
  if (spec.multiple) return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (spec.type === 'boolean') return parseGoBool(text.trim());
  return text;
}

export function flagHelp(specs: FlagSpec[]): string {
  return specs
    .map((spec) => {
      const names = [`--${spec.name}`, ...(spec.aliases ?? []).map((a) => `--${a}`), ...(spec.short ? [`-${spec.short}`] : [])].join(', ');
      const def = spec.default === undefined || spec.default === false ? '' : ` "${Array.isArray(spec.default) ? spec.default.join(', ') : spec.default}"`;
      const env = spec.env ? ` [$${spec.env}]` : '';
      return `   ${(names + def).padEnd(44)}${spec.help}${env}`;
    })
    .join('\n');
}

/** The positional discovery URL: used when exactly one is given, else $SWARM_DISCOVERY. */
export function discoveryArgument(positionals: string[]): string | undefined {
  if (positionals.length === 1) return positionals[0];
  return process.env.SWARM_DISCOVERY || undefined;
}

/** `--discovery-opt key=value` entries as a map; throws classic's message on a bad entry. */
export function keyValueOptions(entries: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} must contain key=value strings`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

export const DISCOVERY_OPT_FLAG: FlagSpec = { name: 'discovery-opt', type: 'string', multiple: true, default: [], help: 'discovery options (key=value)' };
