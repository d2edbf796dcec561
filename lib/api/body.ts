import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './errors';
import { goJsonDecodeFirst } from '../docker/go-json';

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

/**
 * Parses a JSON request body as dockerd's json.Decoder does: an empty (or blank) body gives
 * `fallback`; only the first JSON value is read (bytes after it are ignored, as dockerd ignores
 * them); a malformed one is a 400 with Go's message (`unexpected EOF`, `invalid character ...`).
 */
export async function readJson<T>(req: IncomingMessage, fallback: T): Promise<T> {
  return parseJsonBody(await readBody(req), fallback);
}

/** A body already read, parsed as readJson does. */
export function parseJsonBody<T>(raw: Buffer, fallback: T): T {
  if (raw.length === 0) return fallback;
  try {
    return JSON.parse(raw.toString('utf8')) as T;
  } catch (err) {
    const first = goJsonDecodeFirst(raw);
    if ('empty' in first) return fallback;
    if ('error' in first) throw badRequest(first.error);
    try {
      return JSON.parse(raw.subarray(0, first.end).toString('utf8')) as T;
    } catch {
      throw badRequest(`invalid JSON body: ${(err as Error).message}`);
    }
  }
}
