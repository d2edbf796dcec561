/** API versions the manager speaks. Clients may use any version in [MIN, CURRENT]. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';
/** Classic swarm reported `swarm/<version>`; we keep the prefix so tools can tell a manager from an engine. */
export const SERVER_VERSION_PREFIX = 'swarm-ts/';

export function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number);
  const [bMajor, bMinor] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
