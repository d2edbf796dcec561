import type { ServerResponse } from 'node:http';

import { ApiError } from '../errors';

export { ApiError };

export const notFound = (message: string): ApiError => new ApiError(404, message);
export const badRequest = (message: string): ApiError => new ApiError(400, message);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** Answers with a Docker JSON error, or ends a response whose headers already went out. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    // Mid-stream failure: the status is gone; Docker's streaming error shape is the best we can do.
    if (!res.writableEnded) res.end(JSON.stringify({ error: message, errorDetail: { message } }) + '\n');
    return;
  }
  sendJson(res, status, { message });
}
