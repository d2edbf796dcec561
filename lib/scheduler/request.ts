/**
 * What the scheduler is asked to place: the parts of a Docker create request that filters and
 * strategies look at, with swarm's expressions already extracted from env and labels.
 */
import type { PortBinding } from './node';

export interface PlacementRequest {
  /** Container name requested by the user (without slash), if any. */
  name?: string;
  image: string;
  /** Container labels after merging (includes com.docker.swarm.* labels). */
  labels: Record<string, string>;
  /** Raw expressions, e.g. "disk==ssd", from `-e constraint:` and com.docker.swarm.constraints. */
  constraints: string[];
  affinities: string[];
  whitelists: string[];
  /** CPUs to reserve (0 = no reservation) and memory in bytes (0 = none). */
  cpus: number;
  memory: number;
  networkMode: string;
  portBindings: Record<string, PortBinding[]>;
  exposedPorts: string[];
  volumesFrom: string[];
  links: string[];
}

export function emptyRequest(image = ''): PlacementRequest {
  return {
    image, labels: {}, constraints: [], affinities: [], whitelists: [], cpus: 0, memory: 0,
    networkMode: 'default', portBindings: {}, exposedPorts: [], volumesFrom: [], links: [],
  };
}
