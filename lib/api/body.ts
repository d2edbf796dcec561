import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './errors';

/** Largest JSON body the manager parses itself (create configs, network/volume specs). */
const JSON_LIMIT = 4 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = JSON_LIMIT): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ApiError(413, `request body exceeds ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    // 'aborted': the client went away inside the body (dockerd: "unexpected EOF").
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNRESET' ? badRequest('unexpected EOF: the request body ended early') : err));
  });
}

/** Parses a JSON request body; an empty body gives `fallback`; bad JSON is a 400. */
export async function readJson<T>(req: IncomingMessage, fallback: T): Promise<T> {
  const raw = await readBody(req);
  if (raw.length === 0) return fallback;
  try {
    return JSON.parse(raw.toString('utf8')) as T;
  } catch (err) {
    throw badRequest(`invalid JSON body: ${(err as Error).message}`);
  }
}

/** Docker's `filters` query parameter: JSON of key -> [values] or key -> {value: true}. */
export function parseFilters(raw: string | null): Record<string, string[]> {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(`invalid filters: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest(`invalid filters: ${raw}`);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value)) out[key] = value.map(String);
    else if (value && typeof value === 'object') out[key] = Object.entries(value).filter(([, on]) => on).map(([v]) => v);
    else throw badRequest(`invalid filter '${key}'`);
  }
  return out;
}
