/** Rescheduling's pure parts: the policy from labels, and an inspect turned back into a create body. */
import * as assert from 'node:assert/strict';
import { createBodyFromInspect, dependsOnContainers, reschedulePolicy } from '../../../lib/cluster/reschedule';
import { buildPlacementRequest } from '../../../lib/scheduler/build-request';

describe('rescheduling', () => {
  it('reads the policy from -e reschedule: (moved into the label) or the label itself', () => {
    const { body } = buildPlacementRequest({ Image: 'busybox', Env: ['reschedule:on-node-failure', 'A=1'] });
    assert.equal(reschedulePolicy(body.Labels ?? {}), 'on-node-failure');
    assert.equal(reschedulePolicy({ 'com.docker.swarm.reschedule-policies': '["on-node-failure"]' }), 'on-node-failure');
    assert.equal(reschedulePolicy({ 'com.docker.swarm.reschedule-policies': '["off"]' }), 'off');
    assert.equal(reschedulePolicy({ 'com.docker.swarm.reschedule-policies': 'not json' }), 'off');
    assert.equal(reschedulePolicy({}), 'off');
  });

  it('recreates containers that name others (links, volumes-from, container: modes) after the rest', () => {
    assert.equal(dependsOnContainers({ Image: 'busybox', HostConfig: { NetworkMode: 'bridge', Links: null, VolumesFrom: [] } }), false);
    assert.equal(dependsOnContainers({ Image: 'busybox' }), false);
    assert.equal(dependsOnContainers({ Image: 'busybox', HostConfig: { Links: ['/db:/web/db'] } }), true);
    assert.equal(dependsOnContainers({ Image: 'busybox', HostConfig: { VolumesFrom: ['data:ro'] } }), true);
    assert.equal(dependsOnContainers({ Image: 'busybox', HostConfig: { NetworkMode: 'container:web' } }), true);
    assert.equal(dependsOnContainers({ Image: 'busybox', HostConfig: { PidMode: 'container:web' } }), true);
    assert.equal(dependsOnContainers({ Image: 'busybox', HostConfig: { IpcMode: 'container:web' } }), true);
  });

  it('recreates from an inspect: same config, host config and user networks; default hostname and endpoint IDs dropped', () => {
    const id = 'abcdef0123456789'.repeat(4);
    const body = createBodyFromInspect({
      Id: id,
      Config: { Hostname: id.slice(0, 12), Image: 'busybox', Cmd: ['sleep', '1'], Labels: { 'com.docker.swarm.id': 'X', team: 'a' }, ExposedPorts: { '80/tcp': {} } },
      HostConfig: { NetworkMode: 'front', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, PublishAllPorts: true },
      NetworkSettings: { Networks: { front: { Aliases: ['web', id.slice(0, 12)], NetworkID: 'n1', EndpointID: 'e1', IPAddress: '10.0.0.2' }, back: { Aliases: null, NetworkID: 'n2' } } },
    });
    assert.equal(body.Hostname, undefined);
    assert.deepEqual(body.Cmd, ['sleep', '1']);
    assert.equal(body.Labels?.['com.docker.swarm.id'], 'X');
    assert.deepEqual(body.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
    assert.equal(body.HostConfig?.PublishAllPorts, true);
    assert.deepEqual(body.NetworkingConfig, { EndpointsConfig: { back: { Aliases: [], IPAMConfig: null, Links: null } } });
    const named = createBodyFromInspect({ Id: id, Config: { Hostname: 'db' }, HostConfig: {}, NetworkSettings: { Networks: {} } });
    assert.equal(named.Hostname, 'db');
  });
});
