/**
 * Classic swarm's IP-range generator: the first `[from:to]` in an entry expands to one entry per
 * integer in the inclusive range, e.g. `10.0.0.[10:12]:2375` or `192.168.1.2:[2:20]375`.
 * Non-integer bounds keep the string literally.
 */
const RANGE = /\[(.+):(.+)\]/;

export function expandRange(pattern: string): string[] {
  const match = RANGE.exec(pattern);
  if (!match) return [pattern];
  const from = Number(match[1]);
  const to = Number(match[2]);
  if (!Number.isInteger(from) || !Number.isInteger(to) || !/^-?\d+$/.test(match[1]) || !/^-?\d+$/.test(match[2])) {
    return [pattern];
  }
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(pattern.replace(match[0], String(i)));
  return out;
}
