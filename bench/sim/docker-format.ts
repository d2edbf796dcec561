/**
 * Small formatting helpers that reproduce how dockerd 20.10 renders values on the wire, so the
 * simulated engine's output parses exactly like the real one's (docker CLI, dockerode, manager).
 */
import { randomBytes } from 'node:crypto';

/** Go's zero time, as dockerd prints it for "never happened" (e.g. FinishedAt of a running container). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A 64-hex Docker object ID. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** The daemon ID format of dockerd 20.10: 12 groups of 4 base32 characters, e.g. `AAXT:RL7T:...`. */
export function daemonIdFrom(seed: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const groups: string[] = [];
  for (let g = 0; g < 12; g++) {
    let group = '';
    for (let c = 0; c < 4; c++) group += alphabet[seed[(g * 4 + c) % seed.length] % 32];
    groups.push(group);
  }
  return groups.join(':');
}

/** Normalises an image reference the way the engine stores it: `busybox` -> `busybox:latest`. */
export function normalizeImageRef(ref: string): string {
  let name = ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
  if (name.includes('@')) return name;
  const lastSlash = name.lastIndexOf('/');
  if (!name.slice(lastSlash + 1).includes(':')) name += ':latest';
  return name;
}

/** Signal names accepted by `POST /containers/{id}/kill?signal=`, mapped to Linux numbers. */
const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, WINCH: 28,
};

/** Parses `9`, `KILL` or `SIGKILL`; undefined when the signal is not known. */
export function parseSignal(value: string): number | undefined {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    return n > 0 && n < 65 ? n : undefined;
  }
  return SIGNALS[value.toUpperCase().replace(/^SIG/, '')];
}

/**
 * Docker's stdio multiplexing for non-TTY streams: an 8-byte header (stream type, 3 zero bytes,
 * big-endian payload length) before each payload. Stream 1 is stdout, 2 is stderr.
 */
export function multiplexFrame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** An API error with the HTTP status dockerd would answer; the server renders `{"message": ...}`. */
export class SimError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Parses Docker's `filters` query value. Both encodings clients send are accepted:
 * `{"label":{"a=b":true}}` (current) and `{"label":["a=b"]}` (legacy).
 */
export function parseFilters(raw: string | null): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  if (!raw) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SimError(400, `invalid filter '${raw}'`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SimError(400, `invalid filter '${raw}'`);
  }
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value)) filters.set(key, value.map(String));
    else if (value && typeof value === 'object') filters.set(key, Object.keys(value));
    else throw new SimError(400, `invalid filter '${raw}'`);
  }
  return filters;
}

/** True when every `key` or `key=value` label filter matches the labels. */
export function labelsMatch(wanted: string[] | undefined, labels: Record<string, string> | null): boolean {
  if (!wanted) return true;
  return wanted.every((entry) => {
    const eq = entry.indexOf('=');
    if (eq < 0) return labels !== null && entry in labels;
    return labels !== null && labels[entry.slice(0, eq)] === entry.slice(eq + 1);
  });
}
