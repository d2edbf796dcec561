/**
 * Compact container records (lib/engine/records.ts): what repeats between containers is held
 * once, empty lists are one shared frozen list (so a stray mutation throws instead of changing
 * every record), and nothing a reader sees differs from the engine's inspect.
 */
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import { SimEngine } from '../../../bench/sim/engine';
import { containerFromInspect, containerFromSummary, provisionalContainer } from '../../../lib/engine/records';

describe('compact container records', () => {
  const sim = new SimEngine({ name: 'records-sim', images: ['busybox:latest'] });
  const inspectOf = (labels: Record<string, string>, ports?: Record<string, unknown>): Dockerode.ContainerInspectInfo => {
    const { Id } = sim.createContainer({ Image: 'busybox', Cmd: ['sleep', '1d'], Labels: labels, ExposedPorts: ports }, null);
    sim.startContainer(Id);
    // Through JSON, as the manager receives it: every string and object its own copy.
    return JSON.parse(JSON.stringify(sim.inspectContainer(Id))) as Dockerode.ContainerInspectInfo;
  };

  it('reads the same values as the inspect it came from', () => {
    const info = inspectOf({ app: 'web', 'com.docker.swarm.id': 'a'.repeat(64) }, { '80/tcp': {} });
    const record = containerFromInspect(info, 1);
    assert.equal(record.id, info.Id);
    assert.equal(record.image, info.Config.Image);
    assert.equal(record.imageId, info.Image);
    assert.deepEqual(record.labels, info.Config.Labels);
    assert.deepEqual(record.exposedPorts, ['80/tcp']);
    assert.deepEqual(record.networks, info.NetworkSettings.Networks);
    assert.equal(record.state.finishedAt, info.State.FinishedAt);
    assert.equal(record.state.startedAt, info.State.StartedAt);
  });

  it('shares one frozen empty list and map between records, and refuses changes to them', () => {
    const a = containerFromInspect(inspectOf({}), 1);
    const b = containerFromInspect(inspectOf({}), 1);
    for (const field of ['ports', 'volumesFrom', 'links', 'mounts', 'execIds', 'exposedPorts'] as const) {
      assert.equal(a[field].length, 0, field);
      assert.equal(a[field], b[field], `${field}: one shared empty list`);
      assert.ok(Object.isFrozen(a[field]), `${field}: frozen`);
    }
    assert.equal(a.labels, b.labels, 'no labels: one shared empty map');
    assert.equal(a.portBindings, b.portBindings);
    assert.throws(() => (a.execIds as string[]).push('x'), TypeError);
    const summary = containerFromSummary({ Id: 'c'.repeat(64), Names: ['/c'], Image: 'busybox', ImageID: 'sha256:1', Command: 'sh', Created: 1, State: 'running', Status: 'Up 1 second', Ports: [], Labels: {}, HostConfig: { NetworkMode: 'default' }, NetworkSettings: { Networks: {} }, Mounts: [] } as unknown as Dockerode.ContainerInfo, Date.now());
    const provisional = provisionalContainer('d'.repeat(64), 'd', { Image: 'busybox' });
    assert.equal(summary.ports, a.ports);
    assert.equal(provisional.mounts, a.mounts);
    assert.equal(provisional.labels, a.labels);
  });

  it('gives each record its own labels object, so one container\'s labels never show on another', () => {
    const a = containerFromInspect(inspectOf({ app: 'web' }), 1);
    const b = containerFromInspect(inspectOf({ app: 'web' }), 1);
    assert.notEqual(a.labels, b.labels);
    assert.deepEqual(a.labels, b.labels);
    const config = { Image: 'busybox', Labels: { app: 'web' } };
    const provisional = provisionalContainer('e'.repeat(64), 'e', config);
    config.Labels.app = 'changed after the create';
    assert.equal(provisional.labels.app, 'web', 'a later change to the request body does not reach the record');
  });
});
