/**
 * Structured logging: one JSON object per line (machine-readable, the default when stdout is
 * not a terminal) or a human "LEVEL[time] message key=value" line on terminals. Like classic
 * swarm (logrus), logs go to stdout.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'panic';
export const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error', 'fatal', 'panic'];

type Fields = Record<string, unknown>;

interface LogConfig {
  level: LogLevel;
  format: 'json' | 'text';
  write: (line: string) => void;
}

const config: LogConfig = {
  level: 'info',
  format: process.stdout.isTTY ? 'text' : 'json',
  write: (line) => process.stdout.write(line + '\n'),
};

export function configureLog(options: Partial<LogConfig>): void {
  Object.assign(config, options);
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as string[]).includes(value);
}

function emit(level: LogLevel, message: string, fields?: Fields): void {
  if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(config.level)) return;
  const time = new Date().toISOString();
  if (config.format === 'json') {
    config.write(JSON.stringify({ level, time, msg: message, ...fields }));
    return;
  }
  const extra = fields
    ? Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`).join('')
    : '';
  config.write(`${level.toUpperCase().slice(0, 4)}[${time}] ${message}${extra}`);
}

export const log = {
  debug: (message: string, fields?: Fields) => emit('debug', message, fields),
  info: (message: string, fields?: Fields) => emit('info', message, fields),
  warn: (message: string, fields?: Fields) => emit('warn', message, fields),
  error: (message: string, fields?: Fields) => emit('error', message, fields),
  isDebug: () => config.level === 'debug',
};
