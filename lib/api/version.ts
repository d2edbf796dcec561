/** API versions the manager speaks. Clients may use any version in [MIN, CURRENT]. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';
/** Classic swarm reported `swarm/<version>`; we keep the prefix so tools can tell a manager from an engine. */
export const SERVER_VERSION_PREFIX = 'swarm-ts/';

/** Compares dotted versions part by part, a missing part counting as 0 (Go's versions.compare). */
export function compareVersions(a: string, b: string): number {
  const aParts = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const bParts = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(aParts.length, bParts.length); i++) {
    const d = (aParts[i] ?? 0) - (bParts[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
