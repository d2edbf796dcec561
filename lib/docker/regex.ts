/**
 * Regular expressions with RE2 semantics, as Docker and classic swarm use them (Go's `regexp`):
 * matching time is linear in the input whatever the pattern, so no filter, constraint or
 * affinity a client sends can stall the manager; the syntax is RE2's (`(?i)` anywhere, no
 * backreferences or lookarounds).
 *
 * Backed by re2js, a pure-JavaScript port of RE2 (chosen over the native `re2` addon, whose
 * install script npm does not run here). re2js costs a few microseconds per match, so
 * patterns that are plain literals or anchored literals take a fast path with the same result.
 */
import { RE2JS } from 're2js';

/** A compiled pattern. `test` searches (unanchored, like Go's MatchString). */
export interface Re2Pattern {
  readonly source: string;
  test(input: string): boolean;
}

/** Thrown for a pattern RE2 rejects; the message is RE2's (Go's) own, e.g. "error parsing regexp: missing closing ): `a(`". */
export class RegexSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexSyntaxError';
  }
}

/** Characters with a meaning in RE2 syntax; a pattern without any of them is a literal. */
const META = /[\\.+*?()|[\]{}^$]/;

/**
 * Compiles `source` with RE2 semantics (searching anywhere in the input). `anchored` makes it
 * match the whole input instead, like `^(?:source)$`.
 */
export function compileRe2(source: string, options: { anchored?: boolean } = {}): Re2Pattern {
  const anchored = options.anchored ?? false;
  const fast = literalFastPath(source, anchored);
  if (fast) return fast;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(anchored ? `^(?:${source})$` : source);
  } catch (err) {
    throw new RegexSyntaxError((err as Error).message);
  }
  return { source, test: (input) => compiled.test(input) };
}

/** Like compileRe2, but a syntax error gives undefined (Docker skips a filter value that does not compile). */
export function tryCompileRe2(source: string, options: { anchored?: boolean } = {}): Re2Pattern | undefined {
  try {
    return compileRe2(source, options);
  } catch (err) {
    if (err instanceof RegexSyntaxError) return undefined;
    throw err;
  }
}

/** `lit`, `^lit`, `lit$`, `^lit$` with no other metacharacter: string comparisons give RE2's answer. */
function literalFastPath(source: string, anchored: boolean): Re2Pattern | undefined {
  let body = source;
  let start = anchored;
  let end = anchored;
  if (!anchored) {
    if (body.startsWith('^')) {
      start = true;
      body = body.slice(1);
    }
    if (body.endsWith('$') && !body.endsWith('\\$')) {
      end = true;
      body = body.slice(0, -1);
    }
  }
  if (META.test(body)) return undefined;
  if (start && end) return { source, test: (input) => input === body };
  if (start) return { source, test: (input) => input.startsWith(body) };
  if (end) return { source, test: (input) => input.endsWith(body) };
  return { source, test: (input) => input.includes(body) };
}
