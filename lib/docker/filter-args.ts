/**
 * Docker's `filters` query parameter (moby `api/types/filters`), parsed once per request into
 * precompiled matchers. The semantics are dockerd's, helper for helper:
 * - `match`: a value equal to the source, or an RE2 regex found anywhere in it (a value that is
 *   not a valid regex is skipped, never an error);
 * - `exactMatch`: equal to one of the values; `fuzzyMatch`: equal to or starting with one;
 * - `matchKVList` (labels): EVERY value must hold, `k` (key present) or `k=v` (equal value);
 * - a key given with no values filters nothing (`exactMatch` and `matchKVList` are true).
 *
 * Both wire forms are accepted, as dockerd does: `{"k":{"v":true}}` (API >= 1.22) and the
 * legacy `{"k":["v"]}`. Malformed JSON is a 400 whose message is Go's json decoder's, e.g.
 * `json: cannot unmarshal string into Go value of type map[string]bool`, or its scanner's for a
 * syntax error (`invalid character 'x' looking for beginning of value`, see go-json.ts); dockerd
 * 20.10 answers those with a 500, newer dockerd with a 400.
 */
import { ApiError } from '../errors';
import { tryCompileRe2, type Re2Pattern } from './regex';
import { goJsonSyntaxError } from './go-json';

export class FilterArgs {
  /** key -> value -> flag as sent (`{"v": false}` keeps `v` in the set, as Go does). */
  private readonly fields: Map<string, Map<string, boolean>>;
  private readonly regexes = new Map<string, Array<Re2Pattern>>();

  constructor(fields: Map<string, Map<string, boolean>> = new Map()) {
    this.fields = fields;
  }

  /** Parses the raw `filters` parameter (missing or empty: no filters). */
  static parse(raw: string | null | undefined): FilterArgs {
    return new FilterArgs(raw ? decodeFilters(raw) : new Map());
  }

  /** Builds args from plain lists (tests, internal callers). */
  static of(entries: Record<string, string[]>): FilterArgs {
    return new FilterArgs(new Map(Object.entries(entries).map(([k, vs]) => [k, new Map(vs.map((v) => [v, true]))])));
  }

  get size(): number {
    return this.fields.size;
  }

  keys(): string[] {
    return [...this.fields.keys()];
  }

  contains(key: string): boolean {
    return this.fields.has(key);
  }

  /** The values of `key` (empty when absent). */
  get(key: string): string[] {
    return [...(this.fields.get(key)?.keys() ?? [])];
  }

  /** dockerd's `Invalid filter '<key>'` (400) for the first key not in `accepted`. */
  validate(accepted: ReadonlySet<string>): void {
    for (const key of this.fields.keys()) if (!accepted.has(key)) throw new ApiError(400, `Invalid filter '${key}'`);
  }

  /** True when no values are given for `key`, or `source` is one of them (with flag true). */
  exactMatch(key: string, source: string): boolean {
    const values = this.fields.get(key);
    if (!values || values.size === 0) return true;
    return values.get(source) === true;
  }

  /** exactMatch, or `source` starts with one of the values. */
  fuzzyMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const prefix of this.fields.get(key)?.keys() ?? []) if (source.startsWith(prefix)) return true;
    return false;
  }

  /** exactMatch, or one of the values (as an RE2 regex) is found in `source`. */
  match(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const re of this.patterns(key)) if (re.test(source)) return true;
    return false;
  }

  /** Every `k` / `k=v` value of `key` holds in `labels`; true when `key` has no values. */
  matchKVList(key: string, labels: Readonly<Record<string, string>> | null | undefined): boolean {
    const values = this.fields.get(key);
    if (!values || values.size === 0) return true;
    if (!labels) return false;
    let any = false;
    for (const value of values.keys()) {
      any = true;
      const eq = value.indexOf('=');
      const name = eq < 0 ? value : value.slice(0, eq);
      if (!Object.prototype.hasOwnProperty.call(labels, name)) return false;
      if (eq >= 0 && labels[name] !== value.slice(eq + 1)) return false;
    }
    return any;
  }

  /** The values of `key` compiled as regexes, once per request (invalid ones left out). */
  private patterns(key: string): Re2Pattern[] {
    let list = this.regexes.get(key);
    if (!list) {
      list = [];
      for (const value of this.fields.get(key)?.keys() ?? []) {
        const re = tryCompileRe2(value);
        if (re) list.push(re);
      }
      this.regexes.set(key, list);
    }
    return list;
  }
}

/** Go's json type names, as its decoder's errors spell them. */
function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return typeof value === 'boolean' ? 'bool' : typeof value; // string, number
}

const unmarshalError = (value: unknown, goType: string): string => `json: cannot unmarshal ${jsonKind(value)} into Go value of type ${goType}`;

/**
 * Decodes like moby's `filters.FromJSON`: first as map[string]map[string]bool; if that fails,
 * as the legacy map[string][]string; if both fail, the FIRST attempt's error (Go reports the
 * first type error in document order).
 */
function decodeFilters(raw: string): Map<string, Map<string, boolean>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    // Go's own wording (what dockerd answers); JSON.parse's only if the two disagree on validity.
    throw new ApiError(400, goJsonSyntaxError(raw) ?? `invalid filters: ${(err as Error).message}`);
  }
  const modern = decodeModern(parsed);
  if (typeof modern !== 'string') return modern;
  const legacy = decodeLegacy(parsed);
  if (legacy) return legacy;
  throw new ApiError(400, modern);
}

function decodeModern(parsed: unknown): Map<string, Map<string, boolean>> | string {
  const out = new Map<string, Map<string, boolean>>();
  if (parsed === null) return out;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) return unmarshalError(parsed, 'map[string]map[string]bool');
  let firstError: string | undefined;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const values = new Map<string, boolean>();
    out.set(key, values);
    if (value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      firstError ??= unmarshalError(value, 'map[string]bool');
      continue;
    }
    for (const [v, flag] of Object.entries(value as Record<string, unknown>)) {
      if (flag !== null && typeof flag !== 'boolean') {
        firstError ??= unmarshalError(flag, 'bool');
        continue;
      }
      values.set(v, flag === true);
    }
  }
  return firstError ?? out;
}

function decodeLegacy(parsed: unknown): Map<string, Map<string, boolean>> | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out = new Map<string, Map<string, boolean>>();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const values = new Map<string, boolean>();
    out.set(key, values);
    if (value === null) continue;
    if (!Array.isArray(value)) return undefined;
    for (const v of value) {
      if (v !== null && typeof v !== 'string') return undefined;
      values.set(v ?? '', true);
    }
  }
  return out;
}
