/**
 * dockerd is the oracle for what the manager reads from an engine's container list before the
 * inspect (containerFromSummary, used at start-up): for real containers in every state, the
 * record built from `GET /containers/json?all=1` must agree with the one built from the
 * inspect on everything `docker ps` shows (and the Status text it regenerates), and on the
 * published ports the port filter checks.
 */
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import type { EngineSet } from '../../testbed/engines';
import { containerFromInspect, containerFromSummary, type ContainerRecord } from '../../lib/engine/records';
import { statusText } from '../../lib/api/format';
import { getEngines } from './cluster-fixture';

const LABEL = 'swarm-ts.test.records-oracle';

/**
 * What ps shows of a record (ports in a stable order: the list and the inspect order them
 * differently). Not compared: HostConfig.PortBindings, which the inspect gives as configured
 * ("" = any port) and the list as bound (the port filter treats both as taken or free alike),
 * and Config.ExposedPorts, which the list does not carry (the inspect that follows brings it).
 */
function shown(r: ContainerRecord): Record<string, unknown> {
  const port = (p: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }): string => `${p.IP ?? ''}|${p.PrivatePort}|${p.PublicPort ?? ''}|${p.Type}`;
  return {
    id: r.id, name: r.name, image: r.image, imageId: r.imageId, command: r.command, created: r.created,
    labels: r.labels, status: r.state.status, running: r.state.running, paused: r.state.paused, restarting: r.state.restarting,
    exitCode: r.state.status === 'exited' ? r.state.exitCode : undefined, health: r.state.health,
    ports: r.ports.map(port).sort(), networkMode: r.networkMode,
    networks: Object.keys(r.networks).sort(), mounts: (r.mounts as Array<{ Destination: string }>).map((m) => m.Destination).sort(),
  };
}

describe('container records from the engine list agree with the inspect (dockerd as oracle)', function () {
  let engines: EngineSet;
  let docker: Dockerode;

  before(async function () {
    engines = await getEngines();
    docker = engines.engines[0].docker();
    const make = async (name: string, options: Partial<Dockerode.ContainerCreateOptions>, then: (c: Dockerode.Container) => Promise<unknown>): Promise<void> => {
      const c = await docker.createContainer({ Image: 'busybox:latest', name: `records-oracle-${name}`, Labels: { [LABEL]: name, tier: 'x' }, ...options });
      await then(c);
    };
    const sleep = { Cmd: ['sleep', '600'] };
    await make('created', sleep, async () => undefined);
    await make('running', { ...sleep, ExposedPorts: { '80/tcp': {}, '53/udp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '' }] } } }, (c) => c.start());
    await make('paused', sleep, async (c) => { await c.start(); await c.pause(); });
    await make('exited-3', { Cmd: ['sh', '-c', 'exit 3'] }, async (c) => { await c.start(); await c.wait(); });
    await make('healthy', { ...sleep, Healthcheck: { Test: ['CMD', 'true'], Interval: 500_000_000, StartPeriod: 0 } }, (c) => c.start());
    await make('starting', { ...sleep, Healthcheck: { Test: ['CMD', 'true'], Interval: 3_600_000_000_000 } }, (c) => c.start());
    await make('volume', { ...sleep, HostConfig: { Binds: ['/tmp:/host-tmp:ro'] }, Volumes: { '/data': {} } }, (c) => c.start());
    // The healthy one needs its first check.
    for (let i = 0; i < 50; i++) {
      const info = await docker.getContainer('records-oracle-healthy').inspect();
      if ((info.State as { Health?: { Status: string } }).Health?.Status === 'healthy') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async function () {
    const list = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
    await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  it('every state: same name, command, state, exit code, health, ports, networks and mounts; the same Status text', async function () {
    const listedAt = Date.now();
    const list = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
    assert.equal(list.length, 7, 'seven containers listed');
    const states = new Set<string>();
    for (const summary of list) {
      const inspect = await docker.getContainer(summary.Id).inspect();
      const record = containerFromSummary(summary, listedAt);
      const fromList = shown(record);
      const fromInspect = shown(containerFromInspect(inspect, Date.now()));
      assert.deepEqual(fromList, fromInspect, `${summary.Names[0]} (${summary.Status})`);
      // The start time read back from the Status text gives the same text at the time of listing.
      assert.equal(statusText(record.state, listedAt), summary.Status, summary.Names[0]);
      states.add(`${fromList.status}${fromList.health ? `/${fromList.health}` : ''}`);
    }
    assert.deepEqual([...states].sort(), ['created', 'exited', 'paused', 'running', 'running/healthy', 'running/starting'].sort());
  });
});
