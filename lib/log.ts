/**
 * Structured logging shaped like classic swarm's logrus output, on stderr (logrus's default
 * writer), so scripts and log shippers that parsed classic's logs keep working:
 *
 * - `text` (logrus's TextFormatter without a terminal, i.e. logfmt):
 *     time="2026-01-02T15:04:05Z" level=info msg="Registered Engine node-1 at 10.0.0.1:2375" id=ABCD
 * - `json` (logrus's JSONFormatter): one object per line, keys sorted as Go's encoding/json
 *     {"addr":":2375","level":"info","msg":"Listening for HTTP","proto":"tcp","time":"..."}
 * - on a terminal, by default: logrus's coloured layout, `INFO[0003] message  key=value`
 *   (seconds since start).
 *
 * Level names are logrus's: debug, info, warning, error, fatal, panic (`warn` is accepted as input).
 */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'fatal' | 'panic';
export const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warning', 'error', 'fatal', 'panic'];
export type LogFormat = 'text' | 'json' | 'terminal';

type Fields = Record<string, unknown>;

interface LogConfig {
  level: LogLevel;
  format: LogFormat;
  write: (line: string) => void;
}

const started = Date.now();

export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'terminal' : 'text';
}

const config: LogConfig = {
  level: 'info',
  format: defaultLogFormat(),
  write: (line) => process.stderr.write(line + '\n'),
};

export function configureLog(options: Partial<LogConfig>): void {
  Object.assign(config, options);
}

/** logrus.ParseLevel: the level for a name, or undefined ("warn" reads as "warning"). */
export function parseLogLevel(value: string): LogLevel | undefined {
  const lower = value.toLowerCase();
  if (lower === 'warn') return 'warning';
  return (LOG_LEVELS as string[]).includes(lower) ? (lower as LogLevel) : undefined;
}

/** logrus quotes a value unless it is made only of letters, digits and `-._/@^+`. */
function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value instanceof Error ? value.message : JSON.stringify(value) ?? String(value);
  return /^[A-Za-z0-9\-._/@^+]+$/.test(text) ? text : JSON.stringify(text);
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const COLOURS: Record<LogLevel, number> = { debug: 37, info: 36, warning: 33, error: 31, fatal: 31, panic: 31 };

export function formatEntry(format: LogFormat, level: LogLevel, message: string, fields: Fields = {}, now = new Date()): string {
  if (format === 'json') {
    const entry: Fields = { ...fields, level, msg: message, time: rfc3339(now) };
    const sorted: Fields = {};
    for (const key of Object.keys(entry).sort()) sorted[key] = entry[key] instanceof Error ? (entry[key] as Error).message : entry[key];
    return JSON.stringify(sorted);
  }
  const keys = Object.keys(fields).sort();
  if (format === 'terminal') {
    const seconds = String(Math.floor((now.getTime() - started) / 1000)).padStart(4, '0');
    const head = `\x1b[${COLOURS[level]}m${level.toUpperCase().slice(0, 4)}\x1b[0m[${seconds}] ${message}`;
    const extra = keys.map((k) => ` \x1b[${COLOURS[level]}m${k}\x1b[0m=${logfmtValue(fields[k])}`).join('');
    return keys.length ? `${head.padEnd(44 + 9)}${extra}` : head;
  }
  const parts = [`time=${logfmtValue(rfc3339(now))}`, `level=${level}`, `msg=${logfmtValue(message)}`];
  for (const key of keys) parts.push(`${key}=${logfmtValue(fields[key])}`);
  return parts.join(' ');
}

function emit(level: LogLevel, message: string, fields?: Fields): void {
  if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(config.level)) return;
  config.write(formatEntry(config.format, level, message, fields));
}

export const log = {
  debug: (message: string, fields?: Fields) => emit('debug', message, fields),
  info: (message: string, fields?: Fields) => emit('info', message, fields),
  warn: (message: string, fields?: Fields) => emit('warning', message, fields),
  error: (message: string, fields?: Fields) => emit('error', message, fields),
  isDebug: () => config.level === 'debug',
};
