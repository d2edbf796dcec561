/**
 * Generates `filters` queries for the differential filter suite from value pools drawn from the
 * objects actually present on an engine: every key with each of its values, each key repeated,
 * random combinations of two and three keys (seeded, so a failure reproduces), both wire forms
 * (map and legacy list), and malformed JSON.
 */
import { seededRandom } from '../../testbed/seeded-random';

/** Values of one filter key: `good` ones dockerd accepts, `bad` ones it rejects (or may). */
export interface Pool {
  good: string[];
  bad: string[];
  /**
   * dockerd keeps an arbitrary one of several values for this key (Go map order: `before`,
   * `since`), so no case repeats the key with two good values.
   */
  singleValued?: boolean;
}

export interface FilterCase {
  /** The filter keys the case exercises (for the per-key tally); `(json)` for malformed JSON. */
  keys: string[];
  /** The raw `filters` query parameter. */
  filters: string;
  /** Extra query parameters (e.g. all=1). */
  extra: string;
}

export interface GenerateOptions {
  seed: number;
  combinations: number;
  /** Extra query strings to rotate through (e.g. ['all=1', '']). */
  extras: string[];
}

function mapForm(entries: Record<string, string[]>): string {
  const out: Record<string, Record<string, boolean>> = {};
  for (const [k, vs] of Object.entries(entries)) out[k] = Object.fromEntries(vs.map((v) => [v, true]));
  return JSON.stringify(out);
}

export function generateCases(pools: Record<string, Pool>, options: GenerateOptions): FilterCase[] {
  const random = seededRandom(options.seed);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const cases: FilterCase[] = [];
  let n = 0;
  const add = (entries: Record<string, string[]>): void => {
    const legacy = n % 3 === 2;
    cases.push({ keys: Object.keys(entries), filters: legacy ? JSON.stringify(entries) : mapForm(entries), extra: options.extras[n % options.extras.length] });
    n++;
  };
  const keys = Object.keys(pools);
  const all = (key: string): string[] => [...pools[key].good, ...pools[key].bad];

  // Every key with each of its values, and with no value at all.
  for (const key of keys) {
    for (const value of all(key)) add({ [key]: [value] });
    add({ [key]: [] });
  }
  // Each key repeated: two good values, and a good with a bad one (never two bad ones: which
  // one dockerd names would depend on Go's map order).
  for (const key of keys) {
    const { good, bad, singleValued } = pools[key];
    for (let i = 0; i < 3 && good.length >= 2 && !singleValued; i++) {
      const a = pick(good);
      const b = pick(good.filter((v) => v !== a));
      add({ [key]: [a, b] });
    }
    if (good.length > 0 && bad.length > 0) add({ [key]: [pick(good), pick(bad)] });
  }
  // Combinations of two and three keys; at most one bad value in all (dockerd reports the
  // first error in its own order, which the manager follows, but keep cases readable).
  for (let i = 0; i < options.combinations; i++) {
    const size = i % 2 === 0 ? 2 : 3;
    const chosen = new Set<string>();
    while (chosen.size < size) chosen.add(pick(keys));
    const entries: Record<string, string[]> = {};
    let badUsed = false;
    for (const key of chosen) {
      const { good, bad } = pools[key];
      const useBad = !badUsed && bad.length > 0 && (good.length === 0 || random() < 0.15);
      if (useBad) badUsed = true;
      const value = useBad ? pick(bad) : good.length > 0 ? pick(good) : undefined;
      if (value !== undefined) entries[key] = [value];
    }
    if (Object.keys(entries).length > 0) add(entries);
  }
  return cases;
}

/** Malformed `filters` parameters: wrong JSON types (Go's decode errors) and broken JSON. */
export function malformedCases(key: string, value: string, extra: string): FilterCase[] {
  const raw = [
    JSON.stringify({ [key]: value }),
    JSON.stringify({ [key]: [value, 1] }),
    JSON.stringify({ [key]: { [value]: 'yes' } }),
    JSON.stringify({ [key]: 5 }),
    JSON.stringify([key]),
    '"text"',
    '7',
    'null',
    JSON.stringify({ [key]: null }),
    JSON.stringify({ [key]: { [value]: null } }),
    JSON.stringify({ [key]: { [value]: false } }),
    JSON.stringify({ [key]: [null] }),
    JSON.stringify({ [key]: { [value]: true }, other: [value] }),
    '{"broken":',
    'not json',
    // Syntax errors in every state of Go's scanner: dockerd words each one its own way.
    '  ', `{"${key}":tru}`, `{"${key}" 1}`, `{"${key}":["${value}",]}`, `{"${key}":{"${value}":true},}`, `[1 2]`,
    `{"${key}":"\\q"}`, `{"${key}":"\\u12g4"}`, '-', '1.', '1e+', `{"${key}":{}}x`, `{"${key}":[]]`, 'é', `{${key}:1}`,
    "'x'", '"\u0001', '01', `{"${key}":nul}`, `{"${key}":fals`,
  ];
  return raw.map((filters) => ({ keys: ['(json)'], filters, extra }));
}
