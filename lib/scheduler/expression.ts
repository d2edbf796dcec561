/**
 * Swarm's placement expressions: `key==value`, `key!=value`, soft `key==~value` / `key!=~value`
 * (classic `scheduler/filter/expr.go`), parsed once into a precompiled matcher.
 *
 * Grammar
 * - Operator: the first `==` or `!=` in the text splits key from value (neither: 400).
 * - Key: `[A-Za-z_][A-Za-z0-9._-]*` (surrounding spaces trimmed).
 * - Soft: a value starting with `~` (`==~`, `!=~`) is soft; the `~` is not part of the value.
 * - Value kinds:
 *   - `/regex/`: a value starting with `/` (it must end with `/`) is an RE2 regular expression
 *     (Go's syntax, as classic: `(?i)` anywhere, no backreferences or lookarounds), matched in
 *     linear time by lib/docker/regex.
 *   - glob: a value containing `*`, `?` or `[...]`, matched with minimatch (`*` also crosses `/`,
 *     so `*nginx` matches `library/nginx`); `(?i)` at its start makes it case-insensitive.
 *   - literal: anything else (`\` escapes a glob character: `a\*` is the literal `a*`).
 * - `==` holds when ANY candidate string matches (e.g. a node's ID or its name); `!=` when NONE
 *   does. No candidates: `==` is false, `!=` true (classic semantics).
 *
 * Classic quirks fixed here (classic behaviour in brackets):
 * - Regexes and globs match the WHOLE value [regexes matched a substring: `/node1/` matched
 *   `node10`]. Write `.*` (regex) or `*` (glob) for a substring: the regex `.*node1.*` between slashes, or the glob `*node1*`.
 * - Globs are real globs: `.`, `+`, `(`, `)`, `|` are literal [they kept their regex meaning].
 * - `(?i)` is honoured at the start of a glob; elsewhere in a glob it is a 400 [globs were
 *   regexes; in a regex `(?i)` works anywhere, as in classic].
 * - A malformed expression (bad key/value, invalid regex, `/` without its closing `/`) is an
 *   HTTP 400 naming the expression [an invalid regex was logged and silently matched nothing,
 *   so `!=` matched every node; other parse errors were a 500].
 * - Values may contain `@` (image digests), and regexes may use `{n,m}` quantifiers
 *   [both rejected by the value grammar].
 * - Keys may be one character long [at least two were required].
 *
 * Hostile input is bounded: expressions longer than MAX_EXPRESSION_LENGTH are rejected; regexes
 * run on RE2 (linear time in the candidate, whatever the pattern: `/(a+)+$/` is harmless); globs
 * use minimatch's non-recursive matcher, which does not backtrack exponentially.
 */
import { Minimatch, minimatch, type MinimatchOptions } from 'minimatch';
import { compileRe2, RegexSyntaxError } from '../docker/regex';
import { SchedulerError } from './filter';

export type ExpressionOperator = '==' | '!=';

/** A parsed, precompiled expression. Immutable; safe to cache and share between requests. */
export interface Expression {
  /** The expression as written, e.g. `disk==~ssd`. */
  readonly text: string;
  readonly key: string;
  readonly operator: ExpressionOperator;
  /** The value without the soft marker `~`, e.g. `ssd`, `us*`, `/(?i)node[12]/`. */
  readonly value: string;
  readonly soft: boolean;
  /** True when `candidate` matches the value (the operator is applied by `holds`). */
  readonly matches: (candidate: string) => boolean;
  /** Set when the value is a plain case-sensitive literal: `matches(x)` is `x === literal`. Lets hot filters skip the call. */
  readonly literal?: string;
}

/** The longest expression accepted (characters), to bound parsing and matching work. */
export const MAX_EXPRESSION_LENGTH = 1024;
const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9._-]*$/;
/** Classic's value alphabet (letters, digits, spaces and the characters : - _ . * / ( ) ? + [ ] \ ^ $ |) plus `@`. */
const VALUE_PATTERN = /^[A-Za-z0-9:\-_\s.*\/()?+[\]\\^$|@]+$/;
/** Regex values may also use counted quantifiers. */
const REGEX_VALUE_PATTERN = /^[A-Za-z0-9:\-_\s.*\/()?+[\]\\^$|@{},]+$/;
const CASE_INSENSITIVE_PREFIX = '(?i)';
/** Stands in for `/` in globs so that minimatch (which treats `/` as a path separator) lets `*` cross it. */
const SLASH_STAND_IN = '\uE000';
const GLOB_OPTIONS: MinimatchOptions = {
  dot: true, noext: true, nobrace: true, nonegate: true, nocomment: true, noglobstar: true,
};

/** `kind` names the expression in errors: "constraint", "affinity", "whitelist". */
export function parseExpression(text: string, kind: string): Expression {
  const fail = (reason: string): never => {
    const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text;
    throw new SchedulerError(`invalid ${kind} expression '${shown}': ${reason}`, 400);
  };
  if (text.length > MAX_EXPRESSION_LENGTH) fail(`longer than ${MAX_EXPRESSION_LENGTH} characters`);
  if (text.trim() === '') fail('expression is empty');

  const eq = text.indexOf('==');
  const ne = text.indexOf('!=');
  const at = eq < 0 ? ne : ne < 0 ? eq : Math.min(eq, ne);
  if (at < 0) fail('one of operator ==, != is expected');
  const operator = text.slice(at, at + 2) as ExpressionOperator;
  const key = text.slice(0, at).trim();
  let value = text.slice(at + 2).trim();
  if (!KEY_PATTERN.test(key)) fail(`key '${key}' is invalid`);
  const soft = value.startsWith('~');
  if (soft) value = value.slice(1).trimStart();
  if (value === '') fail('value is empty');

  const { matches, literal } = compileValue(value, fail);
  return { text, key, operator, value, soft, matches, literal };
}

/** Applies the operator: `==` holds if any candidate matches, `!=` if none does. */
export function holds(expression: Expression, candidates: readonly string[]): boolean {
  return applyOperator(expression, candidates.some(expression.matches));
}

/** For callers that search candidates themselves: `anyMatched` is whether some candidate matched. */
export function applyOperator(expression: Expression, anyMatched: boolean): boolean {
  return expression.operator === '==' ? anyMatched : !anyMatched;
}

/** `key==value`, with classic's ` (soft=true|false)` suffix when `withSoft`. */
export function describeExpression(expression: Expression, withSoft: boolean): string {
  const base = `${expression.key}${expression.operator}${expression.value}`;
  return withSoft ? `${base} (soft=${expression.soft})` : base;
}

const cache = new Map<string, Expression>();
const CACHE_LIMIT = 4096;

/**
 * Parses with a process-wide cache keyed by kind and text: the same expression (and its
 * compiled regex or glob) is parsed once, not once per node or per request.
 */
export function parseExpressionCached(text: string, kind: string): Expression {
  const cacheKey = `${kind}\u0000${text}`;
  let parsed = cache.get(cacheKey);
  if (!parsed) {
    parsed = parseExpression(text, kind);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(cacheKey, parsed);
  }
  return parsed;
}

type Fail = (reason: string) => never;

interface CompiledValue {
  matches: (candidate: string) => boolean;
  literal?: string;
}

function compileValue(value: string, fail: Fail): CompiledValue {
  if (value.startsWith('/')) return { matches: compileRegex(value, fail) };
  if (!VALUE_PATTERN.test(value)) fail(`value '${value}' is invalid`);
  let pattern = value;
  const ignoreCase = pattern.startsWith(CASE_INSENSITIVE_PREFIX);
  if (ignoreCase) pattern = pattern.slice(CASE_INSENSITIVE_PREFIX.length);
  if (pattern.includes(CASE_INSENSITIVE_PREFIX)) fail('(?i) is only supported at the start of a value');
  if (pattern === '') fail('value is empty');

  const glob = new Minimatch(pattern.split('/').join(SLASH_STAND_IN), { ...GLOB_OPTIONS, nocase: ignoreCase });
  if (!glob.hasMagic()) {
    const literal = minimatch.unescape(pattern);
    if (!ignoreCase) return { matches: (candidate) => candidate === literal, literal };
    const lower = literal.toLowerCase();
    return { matches: (candidate) => candidate.length === lower.length && candidate.toLowerCase() === lower };
  }
  return { matches: (candidate) => glob.match(candidate.includes('/') ? candidate.split('/').join(SLASH_STAND_IN) : candidate) };
}

function compileRegex(value: string, fail: Fail): (candidate: string) => boolean {
  if (value.length < 2 || !value.endsWith('/')) fail(`regular expression '${value}' is missing its closing '/'`);
  if (!REGEX_VALUE_PATTERN.test(value)) fail(`value '${value}' is invalid`);
  const body = value.slice(1, -1);
  if (body === '' || body === CASE_INSENSITIVE_PREFIX) fail('regular expression is empty');
  try {
    // Anchored: the whole value must match (classic matched any substring).
    return compileRe2(body, { anchored: true }).test;
  } catch (err) {
    if (err instanceof RegexSyntaxError) return fail(`invalid regular expression: ${err.message}`);
    throw err;
  }
}
