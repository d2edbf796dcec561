/**
 * An error that carries the HTTP status the API should answer with. Thrown anywhere (cluster,
 * engine calls, scheduler) and turned into Docker's `{"message": ...}` by the API server.
 */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}
