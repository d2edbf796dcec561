/**
 * Go's `path.Match` (shell patterns over slash-separated names), which dockerd's image
 * `reference` filter uses: `*` matches any run of non-`/` characters, `?` one non-`/`
 * character, `[...]` a class (`[^...]` negated, ranges `a-z`), `\` escapes. A malformed pattern
 * is Go's ErrBadPattern, "syntax error in pattern". Linear-time enough: no backtracking beyond
 * Go's own (one level per `*`, bounded by the name's length).
 */
export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern');
  }
}

/** Whether `name` matches `pattern` as a whole; throws BadPatternError for a malformed pattern. */
export function pathMatch(pattern: string, name: string): boolean {
  const pat = [...pattern];
  const str = [...name];
  let p = 0;
  let s = 0;
  // Classic glob matching with a single backtrack point (the last `*`), as Go's algorithm
  // effectively does for patterns without `/`; `*` never crosses `/`.
  let starP = -1;
  let starS = -1;
  while (s < str.length) {
    if (p < pat.length) {
      const c = pat[p];
      if (c === '*') {
        while (p < pat.length && pat[p] === '*') p++;
        starP = p;
        starS = s;
        continue;
      }
      const step = matchOne(pat, p, str[s]);
      if (step > 0) {
        p = step;
        s++;
        continue;
      }
    }
    // Mismatch: let the last `*` absorb one more character, unless that character is `/`.
    if (starP >= 0 && str[starS] !== '/') {
      starS++;
      s = starS;
      p = starP;
      continue;
    }
    validateRest(pat, p);
    return false;
  }
  while (p < pat.length && pat[p] === '*') p++;
  if (p < pat.length) {
    validateRest(pat, p);
    return false;
  }
  return true;
}

/** Matches one pattern item at `p` against `ch`: the index after the item, or -1 (no match). */
function matchOne(pat: string[], p: number, ch: string): number {
  const c = pat[p];
  if (c === '?') return ch === '/' ? -1 : p + 1;
  if (c === '\\') {
    if (p + 1 >= pat.length) throw new BadPatternError();
    return pat[p + 1] === ch ? p + 2 : -1;
  }
  if (c === '[') {
    let i = p + 1;
    let negated = false;
    if (pat[i] === '^') {
      negated = true;
      i++;
    }
    let matched = false;
    let first = true;
    for (;;) {
      if (i >= pat.length) throw new BadPatternError();
      if (pat[i] === ']' && !first) {
        i++;
        break;
      }
      first = false;
      let lo = pat[i];
      if (lo === '\\') {
        i++;
        if (i >= pat.length) throw new BadPatternError();
        lo = pat[i];
      } else if (lo === '-' || lo === ']') {
        throw new BadPatternError();
      }
      i++;
      let hi = lo;
      if (pat[i] === '-') {
        i++;
        if (i >= pat.length) throw new BadPatternError();
        hi = pat[i];
        if (hi === '\\') {
          i++;
          if (i >= pat.length) throw new BadPatternError();
          hi = pat[i];
        } else if (hi === ']' || hi === '-') {
          throw new BadPatternError();
        }
        i++;
      }
      if (lo <= ch && ch <= hi) matched = true;
    }
    return matched !== negated && ch !== '/' ? i : -1;
  }
  return c === ch ? p + 1 : -1;
}

/** Go reports a malformed pattern even when the name already failed to match. */
function validateRest(pat: string[], p: number): void {
  for (let i = p; i < pat.length; ) {
    if (pat[i] === '*') {
      i++;
      continue;
    }
    i = Math.max(skipItem(pat, i), i + 1);
  }
}

function skipItem(pat: string[], p: number): number {
  try {
    const next = matchOne(pat, p, '\u0000');
    if (next > 0) return next;
  } catch (err) {
    throw err;
  }
  // No match on the probe character: find the item's end without matching.
  if (pat[p] === '\\') return p + 2;
  if (pat[p] === '[') {
    // matchOne already validated the class syntax (it throws otherwise); walk to its end.
    let i = p + 1;
    if (pat[i] === '^') i++;
    let first = true;
    while (i < pat.length && !(pat[i] === ']' && !first)) {
      first = false;
      i += pat[i] === '\\' ? 2 : 1;
    }
    return i + 1;
  }
  return p + 1;
}
