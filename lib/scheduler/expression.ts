/**
 * Swarm's placement expressions: `key==value`, `key!=value`, soft `key==~value` / `key!=~value`
 * (classic `scheduler/filter/expr.go`), parsed once into a precompiled matcher.
 *
 * Grammar
 * - Operator: the first `==` or `!=` in the text splits key from value (neither: 400).
 * - Key: `[A-Za-z_][A-Za-z0-9._-]*` (surrounding spaces trimmed).
 * - Soft: a value starting with `~` (`==~`, `!=~`) is soft; the `~` is not part of the value.
 * - Value kinds:
 *   - `/regex/`: a value starting with `/` (it must end with `/`) is a JavaScript regular
 *     expression; RE2's `(?i)` is accepted at its start (translated to the `i` flag).
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
 * - `(?i)` is honoured at the start of a regex or glob; elsewhere it is a 400 [RE2 allowed it
 *   anywhere; JavaScript has no inline flags].
 * - A malformed expression (bad key/value, invalid regex, `/` without its closing `/`) is an
 *   HTTP 400 naming the expression [an invalid regex was logged and silently matched nothing,
 *   so `!=` matched every node; other parse errors were a 500].
 * - Values may contain `@` (image digests), and regexes may use `{n,m}` quantifiers
 *   [both rejected by the value grammar].
 * - Keys may be one character long [at least two were required].
 *
 * Hostile input is bounded: expressions longer than MAX_EXPRESSION_LENGTH are rejected;
 * regexes that a backtracking engine could take exponential or high-polynomial time on are
 * rejected before they are compiled (see checkRegexIsBounded), and a regex is never run on a
 * candidate longer than MAX_PATTERN_CANDIDATE_LENGTH (such a candidate does not match). Globs use
 * minimatch's non-recursive matcher, which does not backtrack exponentially.
 */
import { Minimatch, minimatch, type MinimatchOptions } from 'minimatch';
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
/**
 * The most variable-length quantifiers (`*`, `+`, `?`, `{n,}`, `{n,m}`) a regex may contain.
 * Backtracking work grows like (value length)^(this number) on hostile values; three allows the
 * common `.*name-[0-9]+.*` while keeping a worst case in the low milliseconds for 256-character
 * values.
 */
export const MAX_REGEX_VARIABLE_QUANTIFIERS = 3;
/**
 * A regex never matches a candidate longer than this (so hostile label values cannot make an
 * accepted regex slow); literals and globs compare candidates of any length.
 */
export const MAX_PATTERN_CANDIDATE_LENGTH = 256;
/** Largest repetition count accepted in `{n}`, `{n,}` and `{n,m}`. */
export const MAX_REGEX_REPEAT = 255;

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
  let body = value.slice(1, -1);
  const ignoreCase = body.startsWith(CASE_INSENSITIVE_PREFIX);
  if (ignoreCase) body = body.slice(CASE_INSENSITIVE_PREFIX.length);
  if (body.includes(CASE_INSENSITIVE_PREFIX)) fail('(?i) is only supported at the start of a regular expression');
  if (body === '') fail('regular expression is empty');
  let regex: RegExp;
  try {
    // Anchored: the whole value must match (classic matched any substring).
    regex = new RegExp(`^(?:${body})$`, ignoreCase ? 'i' : '');
  } catch (err) {
    return fail(`invalid regular expression: ${(err as Error).message}`);
  }
  const problem = checkRegexIsBounded(body);
  if (problem) fail(`regular expression is too complex: ${problem}`);
  return (candidate) => candidate.length <= MAX_PATTERN_CANDIDATE_LENGTH && regex.test(candidate);
}

interface GroupScan {
  /** The group contains a quantifier or an alternation (directly or in a nested group). */
  variable: boolean;
}

/**
 * Rejects what a backtracking engine cannot match in bounded time (classic used RE2, which is
 * linear): backreferences and lookarounds (not RE2 syntax either), a group repeated more than
 * once that itself contains a quantifier or an alternation (`(a+)+`, `(a|aa)*`, `(a?){30}`),
 * more than MAX_REGEX_VARIABLE_QUANTIFIERS variable quantifiers, and repeat counts above
 * MAX_REGEX_REPEAT. `source` must already be a syntactically valid JavaScript regex.
 * Returns the reason, or undefined when the regex is accepted.
 */
export function checkRegexIsBounded(source: string): string | undefined {
  const groups: GroupScan[] = [{ variable: false }];
  let variableQuantifiers = 0;
  let i = 0;
  /** What the last atom was: a just-closed group (with its scan) or a plain atom. */
  let lastGroup: GroupScan | undefined;

  while (i < source.length) {
    const ch = source[i];
    const current = groups[groups.length - 1];
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'backreferences are not supported';
      i += 2;
      lastGroup = undefined;
      continue;
    }
    if (ch === '[') {
      i = skipCharacterClass(source, i);
      lastGroup = undefined;
      continue;
    }
    if (ch === '(') {
      if (/^\(\?<?[=!]/.test(source.slice(i, i + 4))) return 'lookaround assertions are not supported';
      groups.push({ variable: false });
      i += source.startsWith('(?:', i) ? 3 : source.startsWith('(?<', i) ? source.indexOf('>', i) + 1 : 1;
      lastGroup = undefined;
      continue;
    }
    if (ch === ')') {
      const closed = groups.pop() as GroupScan;
      if (closed.variable) groups[groups.length - 1].variable = true;
      lastGroup = closed;
      i += 1;
      continue;
    }
    if (ch === '|') {
      current.variable = true;
      lastGroup = undefined;
      i += 1;
      continue;
    }
    const quantifier = readQuantifier(source, i);
    if (quantifier) {
      if (quantifier.min > MAX_REGEX_REPEAT || (Number.isFinite(quantifier.max) && quantifier.max > MAX_REGEX_REPEAT)) {
        return `repeat counts above ${MAX_REGEX_REPEAT} are not supported`;
      }
      if (quantifier.max !== quantifier.min) variableQuantifiers += 1;
      if (lastGroup && lastGroup.variable && quantifier.max > 1) {
        return 'a repeated group contains a quantifier or an alternation (nested quantifiers)';
      }
      current.variable = true;
      lastGroup = undefined;
      i = quantifier.end;
      if (source[i] === '?') i += 1; // lazy modifier
      continue;
    }
    lastGroup = undefined;
    i += 1;
  }
  if (variableQuantifiers > MAX_REGEX_VARIABLE_QUANTIFIERS) {
    return `more than ${MAX_REGEX_VARIABLE_QUANTIFIERS} variable-length quantifiers`;
  }
  return undefined;
}

function skipCharacterClass(source: string, start: number): number {
  let i = start + 1;
  if (source[i] === '^') i += 1;
  if (source[i] === ']') i += 1; // a leading `]` is literal in RE2; JS treats `[]` as empty, harmless here
  while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

interface Quantifier {
  min: number;
  max: number;
  end: number;
}

function readQuantifier(source: string, i: number): Quantifier | undefined {
  const ch = source[i];
  if (ch === '*') return { min: 0, max: Infinity, end: i + 1 };
  if (ch === '+') return { min: 1, max: Infinity, end: i + 1 };
  if (ch === '?') return { min: 0, max: 1, end: i + 1 };
  if (ch !== '{') return undefined;
  const counted = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
  if (!counted) return undefined; // a literal `{`
  const min = Number(counted[1]);
  const max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
  return { min, max, end: i + counted[0].length };
}
