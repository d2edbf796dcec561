import assert from 'node:assert/strict';
import { containerReservation, engineCpuShares, nodeCapacity, nodeUsage, reservesResources } from '../../../lib/scheduler/resources';
import { DEFAULT_SCHEDULER_OPTIONS, parseClusterOpts } from '../../../lib/scheduler/options';
import { buildPlacementRequest } from '../../../lib/scheduler/build-request';
import { container } from './fixtures';

describe('resources and options', () => {
  it('engineCpuShares converts a CPU count to engine shares: ceil(cpus*1024/NCPU)', () => {
    assert.equal(engineCpuShares(1, 2), 512);
    assert.equal(engineCpuShares(1, 3), 342);
    assert.equal(engineCpuShares(2, 2), 1024);
    assert.equal(engineCpuShares(0, 4), 0);
  });

  it('containerReservation inverts engineCpuShares for whole CPU counts', () => {
    for (const ncpu of [1, 2, 3, 8, 48]) {
      for (let cpus = 1; cpus <= ncpu; cpus++) {
        assert.equal(containerReservation({ CpuShares: engineCpuShares(cpus, ncpu) }, ncpu).cpus, cpus, `${cpus}/${ncpu}`);
      }
    }
  });

  it('containerReservation reads NanoCpus (--cpus) as a CPU fraction, before CpuShares', () => {
    assert.deepEqual(containerReservation({ NanoCpus: 1.5e9, CpuShares: 1024, Memory: 64 }, 4), { cpus: 1.5, memory: 64 });
  });

  it('memory reserved is the larger of the limit and the soft reservation, for a request and for a container', () => {
    for (const [memory, reservation, reserved] of [[0, 0, 0], [64, 0, 64], [0, 48, 48], [64, 48, 64], [32, 48, 48]]) {
      const hostConfig = { Memory: memory || undefined, MemoryReservation: reservation || undefined };
      assert.equal(containerReservation(hostConfig, 4).memory, reserved, `Memory ${memory}, MemoryReservation ${reservation}`);
      assert.equal(buildPlacementRequest({ Image: 'busybox', HostConfig: hostConfig }).request.memory, reserved);
    }
  });

  it('nodeCapacity applies overcommit as a real fraction (classic truncated 5% of 2 CPUs to 0)', () => {
    assert.deepEqual(nodeCapacity(2, 1000, 0.05), { cpus: 2.1, memory: 1050 });
    assert.deepEqual(nodeCapacity(2, 1000, -0.5), { cpus: 1, memory: 500 });
  });

  it('stopped containers reserve by default and stop reserving with swarm.reservestopped=false', () => {
    const containers = [container({ cpus: 1, memory: 10 }), container({ state: 'exited', cpus: 2, memory: 20 }), container({ state: 'pending', cpus: 4, memory: 40 })];
    assert.deepEqual(nodeUsage(containers, DEFAULT_SCHEDULER_OPTIONS), { cpus: 7, memory: 70 });
    const freeing = parseClusterOpts(['swarm.reservestopped=false']);
    assert.deepEqual(nodeUsage(containers, freeing), { cpus: 5, memory: 50 });
    for (const state of ['running', 'paused', 'restarting', 'created', 'pending']) assert.equal(reservesResources(state, freeing), true, state);
    for (const state of ['exited', 'dead', 'removing']) assert.equal(reservesResources(state, freeing), false, state);
  });

  it('parses cluster options with classic messages', () => {
    assert.deepEqual(parseClusterOpts([]), { overcommit: 0.05, createRetry: 0, reserveStopped: true });
    assert.deepEqual(parseClusterOpts(['swarm.overcommit=0.2', 'swarm.createretry=2', 'swarm.reservestopped=true', 'unknown=1']), { overcommit: 0.2, createRetry: 2, reserveStopped: true });
    assert.throws(() => parseClusterOpts(['swarm.overcommit=-1']), /swarm.overcommit should be larger than -1, -1.000000 is invalid/);
    assert.throws(() => parseClusterOpts(['swarm.createretry=-1']), /swarm.createretry can not be negative/);
    assert.throws(() => parseClusterOpts(['swarm.reservestopped=no']), /swarm.reservestopped must be true or false/);
    assert.throws(() => parseClusterOpts(['swarm.overcommit']), /must contain key=value/);
  });

  describe('buildPlacementRequest', () => {
    it('moves constraint/affinity/whitelist env entries into labels, merged with existing label lists', () => {
      const { request, body } = buildPlacementRequest({
        Image: 'busybox',
        Env: ['A=1', 'constraint:disk==ssd', 'affinity:container==~db', 'whitelist:node==n1|n2'],
        Labels: { 'com.docker.swarm.constraints': '["zone==a"]' },
      }, 'web');
      assert.deepEqual(request.constraints, ['zone==a', 'disk==ssd']);
      assert.deepEqual(request.affinities, ['container==~db']);
      assert.deepEqual(request.whitelists, ['node==n1|n2']);
      assert.deepEqual(body.Env, ['A=1']);
      assert.equal((body.Labels as Record<string, string>)['com.docker.swarm.constraints'], '["zone==a","disk==ssd"]');
    });

    it('reads CPUs from NanoCpus, else CpuShares as a CPU count; memory from Memory', () => {
      assert.equal(buildPlacementRequest({ HostConfig: { NanoCpus: 5e8, CpuShares: 3 } }).request.cpus, 0.5);
      assert.equal(buildPlacementRequest({ HostConfig: { CpuShares: 3, Memory: 1024 } }).request.cpus, 3);
      assert.equal(buildPlacementRequest({ HostConfig: { Memory: 1024 } }).request.memory, 1024);
    });
  });
});
