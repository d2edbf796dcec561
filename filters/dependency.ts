import type { Filter } from '../lib/scheduler/filter';
import { SHORT_ID_LENGTH, type NodeContainer, type SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';

const SWARM_ID_LABEL = 'com.docker.swarm.id';

/** The containers a request must be co-located with: `--volumes-from`, `--link`, `--net container:`. */
interface Dependencies {
  volumesFrom: string[];
  links: string[];
  netContainer?: string;
}

/** "db:ro" -> "db", "/db:/web/alias" -> "db". */
function referenceOf(entry: string): string {
  const name = entry.split(':')[0];
  return name.startsWith('/') ? name.slice(1) : name;
}

function dependenciesOf(request: PlacementRequest): Dependencies {
  const net = request.networkMode.startsWith('container:') ? request.networkMode.slice('container:'.length) : undefined;
  return {
    volumesFrom: request.volumesFrom.map(referenceOf).filter(Boolean),
    links: request.links.map(referenceOf).filter(Boolean),
    netContainer: net || undefined,
  };
}

/**
 * Keeps nodes that hold every container the request depends on, resolved on that node as
 * classic's Containers.Get did: full or 12-character ID, swarm ID (com.docker.swarm.id), name
 * (`name`, `<node name>/name`), then a unique ID prefix.
 */
export class DependencyFilter implements Filter {
  readonly name = 'dependency';

  filter(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    const { volumesFrom, links, netContainer } = dependenciesOf(request);
    const references = [...volumesFrom, ...links, ...(netContainer ? [netContainer] : [])];
    if (references.length === 0) return nodes;
    return nodes.filter((node) => references.every((reference) => findContainer(node, reference) !== undefined));
  }

  describe(request: PlacementRequest): string[] {
    const { volumesFrom, links, netContainer } = dependenciesOf(request);
    return [
      ...volumesFrom.map((v) => `--volumes-from=${v}`),
      ...links.map((l) => `--link=${l}`),
      ...(netContainer ? [`--net=container:${netContainer}`] : []),
    ];
  }
}

/** Resolves a container reference on one node (undefined when absent or ambiguous). */
export function findContainer(node: SchedulerNode, reference: string): NodeContainer | undefined {
  const byId = node.containers.find(
    (c) => c.id !== '' && (c.id === reference || (reference.length === SHORT_ID_LENGTH && c.id.startsWith(reference))),
  );
  if (byId) return byId;
  const bySwarmId = node.containers.find((c) => {
    const swarmId = c.labels[SWARM_ID_LABEL];
    return swarmId !== undefined && (swarmId === reference || (reference.length === SHORT_ID_LENGTH && swarmId.startsWith(reference)));
  });
  if (bySwarmId) return bySwarmId;

  const slash = reference.indexOf('/');
  const name = slash > 0 && [node.name, node.id].includes(reference.slice(0, slash)) ? reference.slice(slash + 1) : reference;
  const byName = node.containers.filter((c) => c.names.includes(name));
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) return undefined;

  const byPrefix = node.containers.filter((c) => c.id !== '' && c.id.startsWith(reference));
  if (byPrefix.length === 1) return byPrefix[0];
  const bySwarmPrefix = node.containers.filter((c) => c.labels[SWARM_ID_LABEL]?.startsWith(reference));
  return bySwarmPrefix.length === 1 ? bySwarmPrefix[0] : undefined;
}
