import assert from 'node:assert/strict';
import { Engine } from '../../../lib/engine/engine';
import type { NetworkRecord } from '../../../lib/engine/records';
import { networkPin, softNodeConstraint } from '../../../lib/cluster/networks';
import { parseExpression } from '../../../lib/scheduler/expression';

function engine(name: string, networks: Array<Pick<NetworkRecord, 'Id' | 'Name' | 'Scope'>>): Engine {
  const e = new Engine(`127.0.0.1:${1000 + name.length}`, { refreshMinMs: 1000, refreshMaxMs: 2000, failureRetry: 3 });
  e.name = name;
  e.networks = new Map(networks.map((n) => [n.Id, n as NetworkRecord]));
  return e;
}

describe('networks across engines (networkPin)', function () {
  const n0 = engine('node-0', [{ Id: 'aaa0', Name: 'shared', Scope: 'local' }, { Id: 'ov1', Name: 'overlay1', Scope: 'swarm' }]);
  const n1 = engine('node-1', [{ Id: 'bbb1', Name: 'backend', Scope: 'local' }]);
  const n2 = engine('node-2', [{ Id: 'ccc2', Name: 'shared', Scope: 'local' }]);
  const all = [n0, n1, n2];
  after(() => all.forEach((e) => e.stop()));

  it('pins to the engine holding a local network and rewrites node/name to the bare name', function () {
    const pin = networkPin(() => all, { Image: 'busybox', HostConfig: { NetworkMode: 'node-1/backend' }, NetworkingConfig: { EndpointsConfig: { 'node-1/backend': { Aliases: ['web'] } } } });
    assert.deepEqual(pin.engines, [n1]);
    assert.equal(pin.body.HostConfig?.NetworkMode, 'backend');
    assert.deepEqual(pin.body.NetworkingConfig, { EndpointsConfig: { backend: { Aliases: ['web'] } } });
  });

  it('a bare name held by several engines allows each of them; built-in modes and global networks pin nothing', function () {
    assert.deepEqual(networkPin(() => all, { HostConfig: { NetworkMode: 'shared' } }).engines, [n0, n2]);
    for (const mode of ['default', 'bridge', 'host', 'none', 'container:abc', 'overlay1', 'unknown-net']) {
      assert.equal(networkPin(() => all, { HostConfig: { NetworkMode: mode } }).engines, undefined, mode);
    }
  });

  it('several networks: the engines holding all of them', function () {
    const pin = networkPin(() => all, { HostConfig: { NetworkMode: 'shared' }, NetworkingConfig: { EndpointsConfig: { 'node-2/shared': {} } } });
    assert.deepEqual(pin.engines, [n2]);
  });

  it('the soft constraint is a valid expression matching exactly the holders', function () {
    assert.equal(softNodeConstraint([n1]), 'node==~node-1');
    const expr = parseExpression(softNodeConstraint([n0, n2]), 'constraint');
    assert.equal(expr.soft, true);
    assert.deepEqual(['node-0', 'node-1', 'node-2', 'node-00'].map((n) => expr.matches(n)), [true, false, true, false]);
  });
});
