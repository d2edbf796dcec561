/**
 * Declarative flags for swarm's commands, parsed with node's util.parseArgs. Adds what
 * classic's urfave/cli had and parseArgs lacks: long aliases (--addr for --advertise),
 * environment fallbacks, and generated help lines.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './command';

export interface FlagSpec {
  name: string;
  /** Other long names, e.g. ["addr"] for --advertise. */
  aliases?: string[];
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

export function parseFlags(specs: FlagSpec[], args: string[], command: string): { values: FlagValues; positionals: string[] } {
  const aliasToName = new Map<string, string>();
  for (const spec of specs) for (const alias of spec.aliases ?? []) aliasToName.set(alias, spec.name);
  const normalised = args.map((arg) => {
    const m = /^--([^=]+)(=.*)?$/.exec(arg);
    if (m && aliasToName.has(m[1])) return `--${aliasToName.get(m[1])}${m[2] ?? ''}`;
    return arg;
  });
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const spec of specs) {
    options[spec.name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: normalised, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}. See 'swarm ${command} --help'.`);
  }
  const values = { ...parsed.values } as FlagValues;
  for (const spec of specs) {
    if (values[spec.name] !== undefined) continue;
    const fromEnv = spec.env ? process.env[spec.env] : undefined;
    if (fromEnv) values[spec.name] = spec.multiple ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : spec.type === 'boolean' ? fromEnv !== '0' && fromEnv !== 'false' : fromEnv;
    else values[spec.name] = spec.default;
  }
  return { values, positionals: parsed.positionals };
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
