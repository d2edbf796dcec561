import assert from 'node:assert/strict';
import { FilterArgs } from '../../../lib/docker/filter-args';
import { compileContainerFilter, type ReferenceContainer } from '../../../lib/api/filters/containers';
import { compileImageFilter } from '../../../lib/api/filters/images';
import { compileNetworkFilter, compileVolumeFilter } from '../../../lib/api/filters/networks-volumes';
import { compileEventFilter } from '../../../lib/api/filters/events';
import type { ContainerRecord, ImageRecord, NetworkRecord } from '../../../lib/engine/records';

function container(id: string, name: string, order: number, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id, name, image: 'busybox', imageId: 'sha256:img', command: 'true', created: order, createdOrder: `${String(order).padStart(12, '0')}.000000000`,
    isolation: '', labels: {}, ports: [], portBindings: {}, exposedPorts: [], networkMode: 'default', cpuShares: 0, nanoCpus: 0, memory: 0,
    volumesFrom: [], links: [], networks: {}, mounts: [], execIds: [], observedAt: 0,
    state: { status: 'running', running: true, paused: false, restarting: false, exitCode: 0, startedAt: '2026-01-01T00:00:00Z', finishedAt: '' },
    ...extra,
  };
}

const exited = (code: number) => ({ status: 'exited', running: false, paused: false, restarting: false, exitCode: code, startedAt: '2026-01-01T00:00:00Z', finishedAt: '' });
const created = { status: 'created', running: false, paused: false, restarting: false, exitCode: 0, startedAt: '0001-01-01T00:00:00Z', finishedAt: '' };

const records = [
  container('aa11', 'web', 1, { labels: { app: 'web', tier: 'front' }, ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }, { PrivatePort: 9000, Type: 'udp' }], state: { ...exited(0), status: 'running', running: true, health: 'healthy' } }),
  container('aa22', 'db', 2, { labels: { app: 'db' }, state: exited(3), mounts: [{ Type: 'volume', Name: 'data', Destination: '/var/lib' }] }),
  container('bb33', 'batch', 3, { state: exited(0), networks: { mynet: { NetworkID: 'n123' } } }),
  container('cc44', 'fresh', 4, { state: created }),
];
const engine = { name: 'node-1', id: 'ID1|addr', osType: 'linux', containers: { values: () => records, get: (id: string) => records.find((c) => c.id === id) }, images: [] as ImageRecord[] };

function ps(filters: Record<string, string[]>): string[] {
  const resolve = (ref: string): ReferenceContainer | undefined => records.find((c) => c.id === ref || c.name === ref.replace(/^\//, ''));
  const f = compileContainerFilter(FilterArgs.of(filters), resolve);
  const test = f.forEngine(engine);
  return f.engineMatches(engine) ? records.filter(test).map((c) => c.name) : [];
}

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return `${(err as { status?: number }).status} ${(err as Error).message}`;
  }
  return 'no error';
}

describe('ps filters (dockerd semantics)', function () {
  it('label values are ANDed; other keys OR their values and AND across keys', function () {
    assert.deepEqual(ps({ label: ['app', 'tier=front'] }), ['web']);
    assert.deepEqual(ps({ label: ['app'] }), ['web', 'db']);
    assert.deepEqual(ps({ status: ['exited', 'created'] }), ['db', 'batch', 'fresh']);
    assert.deepEqual(ps({ status: ['exited'], label: ['app'] }), ['db']);
  });

  it('name is a regex on the name with and without /, never the node prefix', function () {
    assert.deepEqual(ps({ name: ['^/w'] }), ['web']);
    assert.deepEqual(ps({ name: ['b$'] }), ['web', 'db']);
    assert.deepEqual(ps({ name: ['node-1'] }), []);
    assert.deepEqual(ps({ name: ['('] }), [], 'an invalid regex matches nothing (only itself exactly)');
  });

  it('id is a unique prefix on the engine (ambiguous prefixes match nothing); no value: no filter', function () {
    assert.deepEqual(ps({ id: ['aa1'] }), ['web']);
    assert.deepEqual(ps({ id: ['aa'] }), []);
    assert.deepEqual(ps({ id: ['aa', 'bb'] }), ['batch']);
    assert.deepEqual(ps({ id: [] }), ['web', 'db', 'batch', 'fresh']);
  });

  it('exited needs a started, stopped container; bad values give strconv messages', function () {
    assert.deepEqual(ps({ exited: ['0'] }), ['batch']);
    assert.deepEqual(ps({ exited: ['+3'] }), ['db']);
    assert.equal(error(() => ps({ exited: ['x'] })), '400 strconv.Atoi: parsing "x": invalid syntax');
    assert.equal(error(() => ps({ exited: ['99999999999999999999'] })), '400 strconv.Atoi: parsing "99999999999999999999": value out of range');
  });

  it('before / since compare creation order; a reference outside the name filter changes them as in dockerd', function () {
    assert.deepEqual(ps({ before: ['batch'] }), ['web', 'db']);
    assert.deepEqual(ps({ since: ['db'] }), ['batch', 'fresh']);
    assert.deepEqual(ps({ before: ['batch'], name: ['web'] }), [], 'before never reached: nothing');
    assert.deepEqual(ps({ since: ['db'], name: ['web'] }), ['web'], 'since never reached: no limit');
    assert.equal(error(() => ps({ before: ['nope'] })), '400 no such container nope');
  });

  it('publish / expose: ports and ranges per protocol, with nat\'s messages', function () {
    assert.deepEqual(ps({ publish: ['8080'] }), ['web']);
    assert.deepEqual(ps({ publish: ['8000-8100/tcp'] }), ['web']);
    assert.deepEqual(ps({ publish: ['8080/udp'] }), []);
    assert.deepEqual(ps({ expose: ['9000/udp'] }), ['web']);
    assert.equal(error(() => ps({ publish: ['1:2'] })), "400 filter for 'publish' should not contain ':': 1:2");
    assert.equal(error(() => ps({ expose: ['5-1'] })), '400 error while looking up for expose 5-1: Invalid range specified for the Port: 5-1');
    assert.equal(error(() => ps({ publish: ['70000'] })), '400 error while looking up for publish 70000: strconv.ParseUint: parsing "70000": value out of range');
  });

  it('health, volume, network, is-task, node, and key validation', function () {
    assert.deepEqual(ps({ health: ['healthy'] }), ['web']);
    assert.deepEqual(ps({ health: ['none'] }), ['db', 'batch', 'fresh']);
    assert.equal(error(() => ps({ health: ['sick'] })), '400 Unrecognised filter value for health: sick');
    assert.deepEqual(ps({ volume: ['data'] }), ['db']);
    assert.deepEqual(ps({ volume: ['/var/lib'] }), ['db']);
    assert.deepEqual(ps({ volume: [] }), [], 'dockerd: a volume key without values matches nothing');
    assert.deepEqual(ps({ network: ['mynet'] }), ['batch']);
    assert.deepEqual(ps({ network: ['n1'] }), ['batch']);
    assert.deepEqual(ps({ 'is-task': ['true'] }), []);
    assert.equal(error(() => ps({ 'is-task': ['maybe'] })), "400 Invalid filter 'is-task=[maybe]'");
    assert.deepEqual(ps({ node: ['node-1'], name: ['web'] }), ['web']);
    assert.deepEqual(ps({ node: ['^node-2$'] }), []);
    assert.equal(error(() => ps({ bogus: ['x'] })), "400 Invalid filter 'bogus'");
    assert.equal(error(() => ps({ status: ['up'] })), "400 Invalid filter 'status=up'");
  });
});

describe('images, networks, volumes and events filters', function () {
  const img = (id: string, tags: string[], created: number, parent = '', labels: Record<string, string> | null = null): ImageRecord =>
    ({ Id: id, ParentId: parent, RepoTags: tags, RepoDigests: [], Created: created, Size: 1, SharedSize: 0, Labels: labels, Containers: 0 });
  const images = [
    img('sha256:base', ['busybox:latest'], 1),
    img('sha256:mid', ['<none>:<none>'], 2, 'sha256:base'),
    img('sha256:app', ['me/app:1', 'me/app:latest'], 3, 'sha256:mid', { tier: 'app' }),
    img('sha256:loose', ['<none>:<none>'], 4, '', { tier: 'x' }),
  ];
  const list = (filters: Record<string, string[]>, all = false): string[] =>
    compileImageFilter(FilterArgs.of(filters)).list(images, all).map((i) => `${i.Id.slice(7)}:${(i.RepoTags ?? []).join('|')}`);

  it('images: intermediate images hidden unless all; dangling; reference trims the tags shown', function () {
    assert.deepEqual(list({}), ['base:busybox:latest', 'app:me/app:1|me/app:latest', 'loose:<none>:<none>']);
    assert.equal(list({}, true).length, 4);
    assert.deepEqual(list({ dangling: ['true'] }), ['loose:<none>:<none>']);
    assert.deepEqual(list({ dangling: ['false'] }), ['base:busybox:latest', 'app:me/app:1|me/app:latest']);
    assert.deepEqual(list({ reference: ['me/*:1'] }), ['app:me/app:1']);
    assert.deepEqual(list({ reference: ['busybox'] }), ['base:busybox:latest']);
    assert.deepEqual(list({ before: ['me/app:1'], label: ['tier'] }), []);
    assert.deepEqual(list({ since: ['busybox'] }), ['app:me/app:1|me/app:latest', 'loose:<none>:<none>']);
    assert.throws(() => list({ dangling: ['maybe'] }), /Invalid filter 'dangling=\[maybe\]'/);
    assert.throws(() => list({ before: ['nope'] }), /No such image: nope:latest/);
    assert.throws(() => list({ reference: ['['] }), /syntax error in pattern/);
  });

  it('networks: regex names on the engine\'s own name, type, 20.10\'s dangling', function () {
    const nets: NetworkRecord[] = [
      { Id: 'n1', Name: 'host', Scope: 'local', Driver: 'host' },
      { Id: 'n2', Name: 'front', Scope: 'local', Driver: 'bridge', Labels: { env: 'prod' } },
    ];
    const names = (filters: Record<string, string[]>): string[] => nets.filter((n) => compileNetworkFilter(FilterArgs.of(filters)).test(n)).map((n) => n.Name);
    assert.deepEqual(names({ name: ['^fr'] }), ['front']);
    assert.deepEqual(names({ type: ['builtin'] }), ['host']);
    assert.deepEqual(names({ dangling: ['1'] }), ['front']);
    assert.deepEqual(names({ label: ['env=prod'], driver: ['bridge'] }), ['front']);
    assert.throws(() => names({ type: ['x'] }), /invalid filter: 'type'='x'/);
    assert.throws(() => names({ dangling: ['true', 'false'] }), /got more than one value for filter key "dangling"/);
  });

  it('volumes: dangling means no container of that engine mounts it', function () {
    const f = compileVolumeFilter(FilterArgs.of({ dangling: ['true'], name: ['^d'] }));
    assert.equal(f.needsReferences, true);
    assert.equal(f.test({ Name: 'data', Driver: 'local' }, new Set(['data'])), false);
    assert.equal(f.test({ Name: 'data', Driver: 'local' }, new Set()), true);
    assert.throws(() => compileVolumeFilter(FilterArgs.of({ dangling: ['yes'] })), /Invalid filter 'dangling=\[yes\]'/);
  });

  it('events: exact, fuzzy and name matching as dockerd; node is the engine; unknown keys ignored', function () {
    const start = { Type: 'container', Action: 'start', Actor: { ID: 'abc123', Attributes: { name: 'web', image: 'busybox:latest', 'node.name': 'node-1', app: 'shop' } }, scope: 'local' };
    const pull = { Type: 'image', Action: 'pull', Actor: { ID: 'busybox:latest', Attributes: { name: 'busybox', 'node.name': 'node-2' } }, scope: 'local' };
    const exec = { Type: 'container', Action: 'exec_start: sh -c ls', Actor: { ID: 'abc123', Attributes: { name: 'web' } }, scope: 'local' };
    const m = (filters: Record<string, string[]>, event: typeof start | typeof pull | typeof exec): boolean => compileEventFilter(FilterArgs.of(filters))(event);
    assert.ok(m({ type: ['container'], event: ['start', 'stop'] }, start));
    assert.ok(!m({ event: ['stop'] }, start));
    assert.ok(m({ container: ['we'] }, start), 'name prefix');
    assert.ok(m({ container: ['abc'] }, start), 'ID prefix');
    assert.ok(!m({ container: ['web'] }, pull), 'a container key filters events of every type');
    assert.ok(m({ image: ['busybox'] }, start) && m({ image: ['busybox'] }, pull));
    assert.ok(m({ label: ['app=shop', 'app'] }, start) && !m({ label: ['app=other'] }, start));
    assert.ok(m({ node: ['node-1'] }, start) && !m({ node: ['node-1'] }, pull));
    assert.ok(m({ event: ['exec_start'] }, exec), 'exec_start carries the command after a colon');
    assert.ok(m({ unknownkey: ['x'] }, start));
  });
});
