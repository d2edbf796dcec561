import type { Filter } from '../lib/scheduler/filter';
import { SHORT_ID_LENGTH, type SchedulerNode } from '../lib/scheduler/node';
import type { PlacementRequest } from '../lib/scheduler/request';
import { applyOperator, describeExpression, type Expression } from '../lib/scheduler/expression';
import { requestExpressions } from '../lib/scheduler/request-expressions';
import { imageKeys, imageNames, nodeIndex } from '../lib/scheduler/node-index';


/**
 * Affinities (`-e affinity:...`, label com.docker.swarm.affinities) place a container next to
 * other containers or images:
 * - `container==<x>`: a container whose full ID, 12-character ID or name matches.
 * - `image==<x>`: an image whose ID (`sha256:...`, bare or 12-character), repo:tag, repo
 *   (tag dropped) or repo@digest matches.
 * - any other key: the value of that container label on some container ("" if unset).
 * Soft affinities (`==~`) are enforced here; the scheduler drops them when they cannot be met.
 *
 * Classic quirks fixed: 12-character container and image IDs match (classic needed the full ID
 * or a glob), digests match, and containers without a name are considered by ID.
 */
export class AffinityFilter implements Filter {
  readonly name = 'affinity';

  filter(request: PlacementRequest, nodes: SchedulerNode[]): SchedulerNode[] {
    const affinities = requestExpressions(request, 'affinity');
    if (affinities.length === 0) return nodes;
    return nodes.filter((node) => affinities.every((a) => applyOperator(a, anyCandidateMatches(node, a))));
  }

  describe(request: PlacementRequest): string[] {
    return requestExpressions(request, 'affinity').map((a) => describeExpression(a, true));
  }
}

function anyCandidateMatches(node: SchedulerNode, affinity: Expression): boolean {
  const matches = affinity.matches;
  if (affinity.key === 'container') {
    // The common `container==<name or id>`: a set lookup instead of a scan.
    if (affinity.literal !== undefined) return nodeIndex(node.containers).containerKeys.has(affinity.literal);
    return node.containers.some(
      (c) =>
        (c.names.length > 0 && matches(c.names[0])) ||
        (c.id !== '' && (matches(c.id) || (c.id.length > SHORT_ID_LENGTH && matches(c.id.slice(0, SHORT_ID_LENGTH))))),
    );
  }
  if (affinity.key === 'image') {
    if (affinity.literal !== undefined) return imageKeys(node.images).has(affinity.literal);
    return node.images.some((image) => imageNames(image).some(matches));
  }
  return node.containers.some((c) => matches(c.labels[affinity.key] ?? ''));
}
