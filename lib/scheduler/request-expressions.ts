/**
 * The parsed expressions of a request, one list per kind. Parsing goes through the shared cache
 * (parseExpressionCached), so a request's expressions are compiled once, not per node.
 */
import { parseExpressionCached, type Expression } from './expression';
import type { PlacementRequest } from './request';
import { SchedulerError } from './filter';

export type ExpressionKind = 'constraint' | 'affinity' | 'whitelist';

const FIELDS: Record<ExpressionKind, 'constraints' | 'affinities' | 'whitelists'> = {
  constraint: 'constraints',
  affinity: 'affinities',
  whitelist: 'whitelists',
};

/** More expressions of one kind than any placement needs: refused, as each one is checked against every node. */
export const MAX_EXPRESSIONS_PER_KIND = 100;

/** Parses (cached) the request's expressions of one kind; throws SchedulerError 400 if malformed or too many. */
export function requestExpressions(request: PlacementRequest, kind: ExpressionKind): Expression[] {
  const texts = request[FIELDS[kind]];
  if (texts.length > MAX_EXPRESSIONS_PER_KIND) {
    throw new SchedulerError(`too many ${kind} expressions: ${texts.length} (at most ${MAX_EXPRESSIONS_PER_KIND})`, 400);
  }
  return texts.map((text) => parseExpressionCached(text, kind));
}

/**
 * The order in which soft expressions are tried when not all can be honoured: affinities,
 * then constraints, then whitelists (classic's filter order), each in the order written.
 * Earlier ones win over later ones.
 */
export const SOFT_PRIORITY: ExpressionKind[] = ['affinity', 'constraint', 'whitelist'];

export interface SoftExpression {
  kind: ExpressionKind;
  text: string;
}

export function softExpressions(request: PlacementRequest): SoftExpression[] {
  const soft: SoftExpression[] = [];
  for (const kind of SOFT_PRIORITY) {
    for (const expression of requestExpressions(request, kind)) {
      if (expression.soft) soft.push({ kind, text: expression.text });
    }
  }
  return soft;
}

/** A copy of the request keeping its hard expressions and only the given soft ones. */
export function withSoftExpressions(request: PlacementRequest, keep: SoftExpression[]): PlacementRequest {
  const copy = { ...request };
  for (const kind of SOFT_PRIORITY) {
    const field = FIELDS[kind];
    const kept = new Set(keep.filter((s) => s.kind === kind).map((s) => s.text));
    copy[field] = request[field].filter((text) => !parseExpressionCached(text, kind).soft || kept.has(text));
  }
  return copy;
}

/** A copy of the request whose only expression is `expression` (to apply one expression's filter). */
export function onlyExpression(request: PlacementRequest, expression: SoftExpression): PlacementRequest {
  const copy: PlacementRequest = { ...request, constraints: [], affinities: [], whitelists: [] };
  copy[FIELDS[expression.kind]] = [expression.text];
  return copy;
}

/**
 * Classic's HaveNodeConstraint: a hard `node==...` constraint pins the container, so the create
 * path must not retry elsewhere (image affinity retry, local-network soft constraint) and
 * rescheduling cannot move it.
 */
export function hasHardNodeConstraint(request: PlacementRequest): boolean {
  return requestExpressions(request, 'constraint').some((c) => c.key === 'node' && c.operator === '==' && !c.soft);
}
