/** Reading one value out of a Prometheus text exposition (what GET /metrics returns). */

/**
 * The value of the first sample named exactly `name` (with or without labels), or undefined.
 * Comment lines (`# HELP`, `# TYPE`) are skipped.
 */
export function promValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue; // a longer metric name with the same prefix
    const value = rest.startsWith('{') ? rest.slice(rest.indexOf('}') + 1).trim() : rest.trim();
    const n = Number(value.split(/\s+/)[0]);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}
