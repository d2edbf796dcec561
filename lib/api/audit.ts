/**
 * The audit trail: one log line per mutating API call, written when its response ends, saying
 * who (client certificate CN, else remote address), what (method and route), on which object,
 * the engine(s) chosen and the scheduling expressions used. Handlers add what they learn with
 * `noteAudit(req, ...)`; the server writes the line.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { log } from '../log';

export interface AuditNote {
  /** The object as resolved by the handler (a container's name when the client gave its ID). */
  object?: string;
  /** Engine the call went to (name). */
  engine?: string;
  /** For calls sent to many engines: how many. */
  engines?: number;
  /** constraint:/affinity:/whitelist: expressions of a placement. */
  expressions?: string[];
}

const notes = new WeakMap<IncomingMessage, AuditNote>();

export function noteAudit(req: IncomingMessage, note: AuditNote): void {
  const existing = notes.get(req);
  if (existing) Object.assign(existing, note);
  else notes.set(req, { ...note });
}

/** Routes that use POST without changing anything: not audited. */
const NOT_MUTATING = /\/(wait|resize)$/;

export function isMutating(method: string, pattern: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && !NOT_MUTATING.test(pattern);
}

/** The client: its certificate's CN under --tlsverify, else its address. */
export function clientIdentity(req: IncomingMessage): string {
  const socket = req.socket as Partial<TLSSocket>;
  const cn = socket.getPeerCertificate?.()?.subject?.CN;
  if (cn) return `CN=${Array.isArray(cn) ? cn.join(',') : cn}`;
  return socket.remoteAddress ?? 'unix socket';
}

/** The object a call acts on: the path parameter, else the name or image in the query. */
function objectOf(params: Record<string, string>, query: URLSearchParams): string | undefined {
  const param = params.name ?? params.id;
  if (param) return param;
  const fromImage = query.get('fromImage');
  if (fromImage) return query.get('tag') ? `${fromImage}:${query.get('tag')}` : fromImage;
  return query.get('name') ?? query.get('t') ?? query.get('repo') ?? undefined;
}

export interface AuditedCall {
  req: IncomingMessage;
  method: string;
  pattern: string;
  params: Record<string, string>;
  query: URLSearchParams;
  status: number;
  error?: string;
  /** The client, when read before its socket closed (a hijacked call is audited at the close, when the address is gone). */
  who?: string;
}

export function writeAudit(call: AuditedCall): void {
  const note = notes.get(call.req) ?? {};
  const fields: Record<string, unknown> = {
    who: call.who ?? clientIdentity(call.req),
    what: `${call.method} ${call.pattern}`,
    object: note.object ?? objectOf(call.params, call.query),
    status: call.status,
  };
  if (note.engine) fields.engine = note.engine;
  if (note.engines !== undefined) fields.engines = note.engines;
  if (note.expressions && note.expressions.length > 0) fields.expressions = note.expressions;
  if (call.error) fields.error = call.error;
  log.info('audit', fields);
}
