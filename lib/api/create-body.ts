/**
 * Type checks of a container-create body at the edge, before the manager reads it: a field of
 * the wrong JSON type is the client's mistake, answered 400 with the message dockerd gives for
 * it (Go's encoding/json, e.g. `json: cannot unmarshal number into Go struct field
 * ContainerConfigWrapper.Env of type string`). dockerd 20.10 answers these 500; Docker 23+
 * answers 400, as here. Only the fields the manager reads or rewrites, and the common scalars,
 * are checked; the engine judges the rest.
 */
import { badRequest } from './errors';

type GoType = 'string' | 'bool' | 'int64' | 'int' | '[]string' | 'strslice' | 'map[string]string' | { object: string; fields?: Record<string, GoType>; struct: string } | { portMap: true };

const HOST_CONFIG: Record<string, GoType> = {
  CpuShares: 'int64', NanoCpus: 'int64', Memory: 'int64', MemorySwap: 'int64', MemoryReservation: 'int64',
  CpuPeriod: 'int64', CpuQuota: 'int64', NetworkMode: 'string', Links: '[]string', VolumesFrom: '[]string',
  Binds: '[]string', Dns: '[]string', ExtraHosts: '[]string', PortBindings: { portMap: true }, AutoRemove: 'bool',
  Privileged: 'bool', PublishAllPorts: 'bool', ReadonlyRootfs: 'bool',
};

const CONFIG: Record<string, GoType> = {
  Hostname: 'string', Domainname: 'string', User: 'string', Image: 'string', WorkingDir: 'string',
  StopSignal: 'string', MacAddress: 'string', AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool',
  Tty: 'bool', OpenStdin: 'bool', StdinOnce: 'bool', NetworkDisabled: 'bool', Env: '[]string', OnBuild: '[]string',
  Cmd: 'strslice', Entrypoint: 'strslice', Labels: 'map[string]string', StopTimeout: 'int',
  ExposedPorts: { object: 'nat.PortSet', struct: '' }, Volumes: { object: 'map[string]struct {}', struct: '' },
  HostConfig: { object: 'container.HostConfig', struct: 'HostConfig', fields: HOST_CONFIG },
  NetworkingConfig: { object: 'network.NetworkingConfig', struct: 'NetworkingConfig', fields: {} },
};

/** Go's name for a JSON value's kind in unmarshal errors. */
function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'object' ? 'object' : typeof value;
}

function fail(value: unknown, field: string, type: string): never {
  const kind = typeof value === 'number' && !Number.isInteger(value) && /int/.test(type) ? `number ${value}` : jsonKind(value);
  throw badRequest(`json: cannot unmarshal ${kind} into Go struct field ${field} of type ${type}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function check(value: unknown, type: GoType, struct: string, path: string): void {
  const field = `${struct}.${path}`;
  if (value === null) return; // JSON null leaves the Go field at its zero value
  if (typeof type === 'object' && 'portMap' in type) {
    if (!isObject(value)) fail(value, field, 'nat.PortMap');
    for (const bindings of Object.values(value)) {
      if (bindings === null) continue;
      if (!Array.isArray(bindings)) fail(bindings, field, '[]nat.PortBinding');
      for (const b of bindings) {
        if (b === null) continue;
        if (!isObject(b)) fail(b, field, 'nat.PortBinding');
        for (const key of ['HostIp', 'HostPort']) if (b[key] != null && typeof b[key] !== 'string') fail(b[key], `PortBinding.${path}.${key}`, 'string');
      }
    }
    return;
  }
  if (typeof type === 'object') {
    if (!isObject(value)) fail(value, field, type.object);
    for (const [key, fieldType] of Object.entries(type.fields ?? {})) {
      if (key in value) check(value[key], fieldType, type.struct, `${path}.${key}`);
    }
    if (type.struct === 'NetworkingConfig' && value.EndpointsConfig != null && !isObject(value.EndpointsConfig)) {
      fail(value.EndpointsConfig, `NetworkingConfig.${path}.EndpointsConfig`, 'map[string]*network.EndpointSettings');
    }
    return;
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') fail(value, field, /NetworkMode$/.test(field) ? 'container.NetworkMode' : 'string');
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail(value, field, 'bool');
      return;
    case 'int':
    case 'int64':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(value, field, type);
      return;
    case 'strslice':
      if (typeof value === 'string') return;
      if (!Array.isArray(value)) fail(value, field, 'string');
      for (const item of value) if (typeof item !== 'string') fail(item, field, 'string');
      return;
    case '[]string':
      if (!Array.isArray(value)) fail(value, field, '[]string');
      for (const item of value) if (typeof item !== 'string') fail(item, field, 'string');
      return;
    case 'map[string]string':
      if (!isObject(value)) fail(value, field, 'map[string]string');
      for (const item of Object.values(value)) if (typeof item !== 'string') fail(item, field, 'string');
      return;
  }
}

/** Throws a 400 naming the field when the body is not a well-typed create request. */
export function validateCreateBody(body: unknown): void {
  if (!isObject(body)) throw badRequest(`json: cannot unmarshal ${jsonKind(body)} into Go value of type runconfig.ContainerConfigWrapper`);
  for (const [key, type] of Object.entries(CONFIG)) {
    if (key in body) check(body[key], type, 'ContainerConfigWrapper', key);
  }
}
