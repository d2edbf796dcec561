import assert from 'node:assert/strict';
import { AffinityFilter } from '../../../filters/affinity';
import { ConstraintFilter } from '../../../filters/constraint';
import { ContainerSlotsFilter } from '../../../filters/containerslots';
import { DependencyFilter, findContainer } from '../../../filters/dependency';
import { HealthFilter } from '../../../filters/health';
import { createFilters, DEFAULT_FILTERS, knownFilters } from '../../../filters/index';
import { PortFilter } from '../../../filters/port';
import { WhitelistFilter } from '../../../filters/whitelist';
import { SchedulerError } from '../../../lib/scheduler/filter';
import { nodeIndex, withoutTag } from '../../../lib/scheduler/node-index';
import { container, image, names, node, request } from './fixtures';

describe('filters', () => {
  describe('registry', () => {
    it('knows every classic filter, in classic default order', () => {
      assert.deepEqual(DEFAULT_FILTERS, ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'whitelist']);
      assert.deepEqual(knownFilters(), DEFAULT_FILTERS);
      assert.deepEqual(createFilters(DEFAULT_FILTERS).map((f) => f.name), DEFAULT_FILTERS);
    });

    it('keeps the order given with --filter and rejects unknown names', () => {
      assert.deepEqual(createFilters(['constraint', 'health']).map((f) => f.name), ['constraint', 'health']);
      assert.throws(() => createFilters(['nope']), /filter not supported/);
    });
  });

  describe('health', () => {
    it('keeps nodes with a positive health indicator', () => {
      const nodes = [node('a', { healthIndicator: 0 }), node('b', { healthIndicator: 50 })];
      assert.deepEqual(names(new HealthFilter().filter(request(), nodes)), ['b']);
    });

    it('fails verbatim with 503 when no node is healthy', () => {
      assert.throws(() => new HealthFilter().filter(request(), [node('a', { healthIndicator: 0 })]), (err: unknown) => {
        assert.ok(err instanceof SchedulerError);
        assert.equal(err.message, 'No healthy node available in the cluster');
        assert.equal(err.status, 503);
        return true;
      });
    });
  });

  describe('port', () => {
    const filter = new PortFilter();
    const bridge80 = container({ portBindings: { '80/tcp': [{ HostIp: '', HostPort: '80' }] } });
    const wants80 = request({ portBindings: { '80/tcp': [{ HostPort: '80' }] } });

    it('passes every node when no host port is requested', () => {
      const nodes = [node('a', { containers: [bridge80] })];
      assert.deepEqual(names(filter.filter(request(), nodes)), ['a']);
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostPort: '' }] } }), nodes)), ['a']);
    });

    it('bridge: rejects a node where a container (even stopped) binds the host port', () => {
      const nodes = [node('a', { containers: [bridge80] }), node('b', { containers: [{ ...bridge80, state: 'exited' }] }), node('c')];
      assert.deepEqual(names(filter.filter(wants80, nodes)), ['c']);
    });

    it('bridge: different specific IPs do not conflict; all-interfaces conflicts with any IP', () => {
      const on1 = container({ portBindings: { '80/tcp': [{ HostIp: '10.0.0.1', HostPort: '80' }] } });
      const nodes = [node('a', { containers: [on1] })];
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostIp: '10.0.0.2', HostPort: '80' }] } }), nodes)), ['a']);
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostIp: '10.0.0.1', HostPort: '80' }] } }), nodes)), []);
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '80' }] } }), nodes)), []);
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostIp: '::', HostPort: '80' }] } }), nodes)), []);
    });

    it('compares the protocol (classic rejected 53/udp because of 53/tcp)', () => {
      const tcp53 = container({ portBindings: { '53/tcp': [{ HostPort: '53' }] } });
      const nodes = [node('a', { containers: [tcp53] })];
      assert.deepEqual(names(filter.filter(request({ portBindings: { '53/udp': [{ HostPort: '53' }] } }), nodes)), ['a']);
      assert.deepEqual(names(filter.filter(request({ portBindings: { '53/tcp': [{ HostPort: '53' }] } }), nodes)), []);
    });

    it('compares port ranges', () => {
      const range = container({ portBindings: { '80/tcp': [{ HostPort: '8000-8010' }] } });
      const nodes = [node('a', { containers: [range] })];
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostPort: '8005' }] } }), nodes)), []);
      assert.deepEqual(names(filter.filter(request({ portBindings: { '80/tcp': [{ HostPort: '8011' }] } }), nodes)), ['a']);
    });

    it('host mode: rejects a node where a host-mode container exposes the same port', () => {
      const host80 = container({ networkMode: 'host', exposedPorts: ['80/tcp'] });
      const nodes = [node('a', { containers: [host80] }), node('b')];
      const hostRequest = request({ networkMode: 'host', exposedPorts: ['80/tcp'] });
      assert.deepEqual(names(filter.filter(hostRequest, nodes)), ['b']);
      assert.deepEqual(names(filter.filter(request({ networkMode: 'host', exposedPorts: ['81/tcp'] }), nodes)), ['a', 'b']);
    });

    it('host mode and bridge bindings conflict both ways (classic ignored it)', () => {
      const host80 = container({ networkMode: 'host', exposedPorts: ['80/tcp'] });
      assert.deepEqual(names(filter.filter(wants80, [node('a', { containers: [host80] })])), []);
      const hostRequest = request({ networkMode: 'host', exposedPorts: ['80/tcp'] });
      assert.deepEqual(names(filter.filter(hostRequest, [node('a', { containers: [bridge80] })])), []);
    });

    it('exposed ports of bridge containers claim nothing', () => {
      const exposedOnly = container({ exposedPorts: ['80/tcp'] });
      assert.deepEqual(names(filter.filter(wants80, [node('a', { containers: [exposedOnly] })])), ['a']);
    });

    it('describes like classic', () => {
      assert.deepEqual(filter.describe(wants80), ['port 80 (Bridge mode)']);
      assert.deepEqual(filter.describe(request({ networkMode: 'host', exposedPorts: ['80/tcp'] })), ['port 80/tcp (Host mode)']);
    });
  });

  describe('containerslots', () => {
    const filter = new ContainerSlotsFilter();
    const two = [container({ state: 'exited' }), container({ state: 'pending', id: '' })];

    it('keeps nodes below their slot count (all containers count, stopped and pending too)', () => {
      const nodes = [node('full', { labels: { containerslots: '2' }, containers: two }), node('room', { labels: { containerslots: '3' }, containers: two })];
      assert.deepEqual(names(filter.filter(request(), nodes)), ['room']);
    });

    it('treats a missing or non-numeric label as unlimited', () => {
      const nodes = [node('none', { containers: two }), node('junk', { labels: { containerslots: 'many' }, containers: two })];
      assert.deepEqual(names(filter.filter(request(), nodes)), ['none', 'junk']);
    });

    it('describes like classic', () => assert.deepEqual(filter.describe(), ['available container slots']));
  });

  describe('dependency', () => {
    const filter = new DependencyFilter();
    const dbId = 'd'.repeat(64);
    const db = container({ id: dbId, names: ['db'], labels: { 'com.docker.swarm.id': 'e'.repeat(64) } });
    const data = container({ id: 'f'.repeat(64), names: ['data'] });
    const nodes = [node('a', { containers: [db] }), node('b', { containers: [db, data] }), node('c')];

    it('co-locates with --volumes-from, --link and --net container:', () => {
      assert.deepEqual(names(filter.filter(request({ volumesFrom: ['data:ro'] }), nodes)), ['b']);
      assert.deepEqual(names(filter.filter(request({ links: ['db:database'] }), nodes)), ['a', 'b']);
      assert.deepEqual(names(filter.filter(request({ networkMode: 'container:db' }), nodes)), ['a', 'b']);
    });

    it('requires every dependency on the same node', () => {
      assert.deepEqual(names(filter.filter(request({ volumesFrom: ['data'], links: ['db:db'] }), nodes)), ['b']);
      assert.deepEqual(names(filter.filter(request({ links: ['missing:m'] }), nodes)), []);
    });

    it('resolves containers like classic: full/short ID, swarm ID, name, node/name, unique ID prefix', () => {
      const n = nodes[1];
      assert.equal(findContainer(n, dbId), db);
      assert.equal(findContainer(n, dbId.slice(0, 12)), db);
      assert.equal(findContainer(n, 'e'.repeat(64)), db);
      assert.equal(findContainer(n, 'db'), db);
      assert.equal(findContainer(n, 'b/db'), db);
      assert.equal(findContainer(n, 'ddd'), db);
      assert.equal(findContainer(n, 'nothing'), undefined);
    });

    it('treats an ambiguous name as absent', () => {
      const twin = container({ id: '1'.repeat(64), names: ['db'] });
      assert.equal(findContainer(node('x', { containers: [db, twin] }), 'db'), undefined);
    });

    it('describes like classic', () => {
      const r = request({ volumesFrom: ['data:ro'], links: ['/db:/web/db'], networkMode: 'container:db' });
      assert.deepEqual(filter.describe(r), ['--volumes-from=data', '--link=db', '--net=container:db']);
    });
  });

  describe('affinity', () => {
    const filter = new AffinityFilter();
    const redisId = '0123456789ab' + 'c'.repeat(52);
    const redis = container({ id: redisId, names: ['redis'], labels: { role: 'cache' } });
    const web = container({ id: 'f'.repeat(64), names: ['web'], labels: { role: 'frontend' } });
    const nginxImage = image({ id: `sha256:abcdef123456${'0'.repeat(52)}`, repoTags: ['nginx:1.25', 'registry:5000/team/nginx:latest'], repoDigests: ['nginx@sha256:' + '9'.repeat(64)] });
    const nodes = [node('a', { containers: [redis] }), node('b', { containers: [web], images: [nginxImage] }), node('c')];
    const affinity = (...affinities: string[]) => names(filter.filter(request({ affinities }), nodes));

    it('container by name, full ID and 12-character ID', () => {
      assert.deepEqual(affinity('container==redis'), ['a']);
      assert.deepEqual(affinity(`container==${redisId}`), ['a']);
      assert.deepEqual(affinity(`container==${redisId.slice(0, 12)}`), ['a']);
      assert.deepEqual(affinity('container==re*'), ['a']);
      assert.deepEqual(affinity('container!=redis'), ['b', 'c']);
    });

    it('image by ID, short ID, repo:tag, repo without tag, digest', () => {
      assert.deepEqual(affinity('image==nginx'), ['b']);
      assert.deepEqual(affinity('image==nginx:1.25'), ['b']);
      assert.deepEqual(affinity('image==nginx:1.24'), []);
      assert.deepEqual(affinity('image==registry:5000/team/nginx'), ['b']);
      assert.deepEqual(affinity(`image==${nginxImage.id}`), ['b']);
      assert.deepEqual(affinity('image==abcdef123456'), ['b']);
      assert.deepEqual(affinity(`image==nginx@sha256:${'9'.repeat(64)}`), ['b']);
      assert.deepEqual(affinity('image!=nginx'), ['a', 'c']);
    });

    it('any other key reads container labels', () => {
      assert.deepEqual(affinity('role==cache'), ['a']);
      assert.deepEqual(affinity('role==/(cache|frontend)/'), ['a', 'b']);
      assert.deepEqual(affinity('role!=cache'), ['b', 'c']);
    });

    it('enforces soft affinities (dropping them is the scheduler\'s job) and all affinities together', () => {
      assert.deepEqual(affinity('container==~redis'), ['a']);
      assert.deepEqual(affinity('container==redis', 'image==nginx'), []);
    });

    it('describes like classic, with the soft flag', () => {
      assert.deepEqual(filter.describe(request({ affinities: ['container==redis', 'image==~nginx'] })), ['container==redis (soft=false)', 'image==nginx (soft=true)']);
    });

    it('rejects a malformed affinity with 400', () => {
      assert.throws(() => filter.filter(request({ affinities: ['container=redis'] }), nodes), { status: 400 });
    });

    it('withoutTag keeps registry ports', () => {
      assert.equal(withoutTag('busybox:latest'), 'busybox');
      assert.equal(withoutTag('registry:5000/app'), 'registry:5000/app');
      assert.equal(withoutTag('registry:5000/app:1'), 'registry:5000/app');
    });
  });

  describe('constraint', () => {
    const filter = new ConstraintFilter();
    const nodes = [
      node('node-1', { id: 'AAAA:BBBB|10.0.0.1:2375', labels: { storage: 'ssd', region: 'us-east', storagedriver: 'overlay2', ostype: 'linux' } }),
      node('node-2', { id: 'CCCC:DDDD|10.0.0.2:2375', labels: { storage: 'disk', region: 'eu-west', storagedriver: 'vfs', ostype: 'linux' } }),
      node('node10', { id: 'EEEE:FFFF|10.0.0.3:2375', labels: { region: 'us-west', ostype: 'windows' } }),
    ];
    const constrain = (...constraints: string[]) => names(filter.filter(request({ constraints }), nodes));

    it('node by name, cluster ID, Docker ID, glob and regex', () => {
      assert.deepEqual(constrain('node==node-1'), ['node-1']);
      assert.deepEqual(constrain('node==CCCC:DDDD|10.0.0.2:2375'), ['node-2']);
      assert.deepEqual(constrain('node==CCCC:DDDD'), ['node-2']);
      assert.deepEqual(constrain('node==node-*'), ['node-1', 'node-2']);
      assert.deepEqual(constrain('node==/node-[12]/'), ['node-1', 'node-2']);
      assert.deepEqual(constrain('node==/node1/'), []);
      assert.deepEqual(constrain('node!=node-1'), ['node-2', 'node10']);
    });

    it('engine labels and built-in labels; a missing label is ""', () => {
      assert.deepEqual(constrain('storage==ssd'), ['node-1']);
      assert.deepEqual(constrain('storage!=ssd'), ['node-2', 'node10']);
      assert.deepEqual(constrain('region==us*'), ['node-1', 'node10']);
      assert.deepEqual(constrain('storagedriver==overlay2'), ['node-1']);
      assert.deepEqual(constrain('ostype==/(linux)|(windows)/'), ['node-1', 'node-2', 'node10']);
      assert.deepEqual(constrain('region==/(?i)US-.*/'), ['node-1', 'node10']);
    });

    it('node.* and engine.labels.* forms', () => {
      assert.deepEqual(constrain('node.name==node-2'), ['node-2']);
      assert.deepEqual(constrain('node.hostname==node-2'), ['node-2']);
      assert.deepEqual(constrain('node.id==AAAA:BBBB'), ['node-1']);
      assert.deepEqual(constrain('node.labels.storage==ssd'), ['node-1']);
      assert.deepEqual(constrain('engine.labels.region==eu-west'), ['node-2']);
      assert.deepEqual(constrain('node.platform.os==windows'), ['node10']);
    });

    it('all constraints must hold', () => {
      assert.deepEqual(constrain('region==us*', 'storage==ssd'), ['node-1']);
      assert.deepEqual(constrain('region==us*', 'storage==disk'), []);
    });

    it('describes like classic, without the soft flag', () => {
      assert.deepEqual(filter.describe(request({ constraints: ['storage==ssd', 'node==~node-1'] })), ['storage==ssd', 'node==node-1']);
    });
  });

  describe('whitelist', () => {
    const filter = new WhitelistFilter();
    const nodes = [node('node1'), node('node2'), node('node3')];
    const whitelist = (...whitelists: string[]) => names(filter.filter(request({ whitelists }), nodes));

    it('keeps the nodes named in the |-separated list, exactly', () => {
      assert.deepEqual(whitelist('node==node1|node2'), ['node1', 'node2']);
      assert.deepEqual(whitelist('node==node*'), []);
    });

    it('!= excludes the listed nodes (classic treated != as ==)', () => {
      assert.deepEqual(whitelist('node!=node1|node2'), ['node3']);
    });

    it('describes like classic, with the soft flag', () => {
      assert.deepEqual(filter.describe(request({ whitelists: ['node==~node1|node2'] })), ['node==node1|node2 (soft=true)']);
    });
  });
});

describe('node index', () => {
  it('is computed once per containers array and reflects a new array', () => {
    const first = [container({ id: 'a'.repeat(64), names: ['web'] })];
    assert.equal(nodeIndex(first), nodeIndex(first));
    assert.ok(nodeIndex(first).containerKeys.has('web'));
    assert.ok(nodeIndex(first).containerKeys.has('a'.repeat(12)));
    const second = [...first, container({ names: ['db'], portBindings: { '80/tcp': [{ HostPort: '80' }] } })];
    assert.ok(nodeIndex(second).containerKeys.has('db'));
    assert.deepEqual(nodeIndex(second).hostPorts, [{ first: 80, last: 80, protocol: 'tcp', ip: '' }]);
    assert.deepEqual(nodeIndex(first).hostPorts, []);
  });
});
