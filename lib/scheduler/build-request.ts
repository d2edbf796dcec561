/**
 * Turns a Docker container-create body into a PlacementRequest. Swarm's `constraint:`,
 * `affinity:`, `whitelist:` and `reschedule:` env entries are moved into com.docker.swarm.*
 * JSON-array labels (which are what filters and rescheduling read) and removed from Env.
 */
import type { PlacementRequest } from './request';
import type { PortBinding } from './node';
import { reservedMemory } from './resources';
import type { CreateBody } from '../docker-types';

export type { CreateBody } from '../docker-types';

export const LABEL_PREFIX = 'com.docker.swarm';
const LIST_LABELS: Record<string, string> = {
  constraint: `${LABEL_PREFIX}.constraints`,
  affinity: `${LABEL_PREFIX}.affinities`,
  whitelist: `${LABEL_PREFIX}.whitelists`,
  reschedule: `${LABEL_PREFIX}.reschedule-policies`,
};

function readListLabel(labels: Record<string, string>, key: string): string[] {
  const raw = labels[key];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

export function buildPlacementRequest(input: CreateBody, name?: string): { request: PlacementRequest; body: CreateBody } {
  const labels: Record<string, string> = { ...(input.Labels ?? {}) };
  const lists: Record<string, string[]> = {};
  for (const [kind, label] of Object.entries(LIST_LABELS)) lists[kind] = readListLabel(labels, label);
  const env: string[] = [];
  for (const entry of input.Env ?? []) {
    const colon = entry.indexOf(':');
    const kind = colon > 0 ? entry.slice(0, colon) : '';
    if (kind in LIST_LABELS && !entry.slice(0, colon).includes('=')) lists[kind].push(entry.slice(colon + 1));
    else env.push(entry);
  }
  for (const [kind, label] of Object.entries(LIST_LABELS)) {
    if (lists[kind].length > 0) labels[label] = JSON.stringify(lists[kind]);
  }
  const hostConfig = input.HostConfig ?? {};
  const portBindings: Record<string, PortBinding[]> = {};
  for (const [port, bindings] of Object.entries(hostConfig.PortBindings ?? {})) portBindings[port] = bindings ?? [];
  const request: PlacementRequest = {
    name,
    image: input.Image ?? '',
    labels,
    constraints: lists.constraint,
    affinities: lists.affinity,
    whitelists: lists.whitelist,
    cpus: (hostConfig.NanoCpus ?? 0) > 0 ? (hostConfig.NanoCpus as number) / 1e9 : hostConfig.CpuShares ?? 0,
    memory: reservedMemory(hostConfig),
    networkMode: hostConfig.NetworkMode || 'default',
    portBindings,
    exposedPorts: Object.keys(input.ExposedPorts ?? {}),
    volumesFrom: hostConfig.VolumesFrom ?? [],
    links: hostConfig.Links ?? [],
  };
  return { request, body: { ...input, Env: env, Labels: labels } };
}
