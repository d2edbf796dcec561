/**
 * Placement through the real manager and the real docker CLI, against real dockerd engines.
 *
 * The shared engines (cluster-fixture.ts) are node-0 {disk=ssd, zone=a}, node-1 {disk=hdd,
 * zone=b}, node-2 {disk=hdd, zone=a}. Where a container landed is read from the engines
 * themselves, not from the manager. Most containers are only created, not started: scheduling
 * happens at create time, and the engines (all on this machine, --bridge=none) would not really
 * bind published ports anyway.
 */
import { strict as assert } from 'assert';
import { getEngines } from './cluster-fixture';
import { docker, type DockerCliResult } from '../../testbed/docker-cli';
import { EngineSet, EngineHandle, startEngines } from '../../testbed/engines';
import { ManagerHandle, startManager } from '../../testbed/manager';
import { waitFor } from '../../testbed/wait';

const PREFIX = 'sched-it-';

/** Tracks the containers a suite creates and removes them from the engines afterwards. */
class Placements {
  private readonly names: string[] = [];

  constructor(private readonly engines: EngineHandle[], private readonly manager: () => ManagerHandle) {}

  /** `docker create --name <prefix+name> <args> busybox` through the manager. */
  async create(name: string, args: string[], image = 'busybox'): Promise<DockerCliResult> {
    const full = PREFIX + name;
    this.names.push(full);
    return docker(this.manager().host, ['create', '--name', full, ...args, image, 'true']);
  }

  /** Creates and asserts success; returns the name of the engine it landed on. */
  async place(name: string, args: string[], image = 'busybox'): Promise<string> {
    const result = await this.create(name, args, image);
    assert.equal(result.code, 0, `docker create ${name} ${args.join(' ')} failed: ${result.stderr}`);
    return this.whereIs(name);
  }

  /** The engine holding the container, asked of each engine directly. */
  async whereIs(name: string): Promise<string> {
    const holders: string[] = [];
    for (const engine of this.engines) {
      const found = await engine.docker().getContainer(PREFIX + name).inspect().then(() => true, () => false);
      if (found) holders.push(engine.name);
    }
    assert.equal(holders.length, 1, `${name} is on ${holders.length} engines: ${holders}`);
    return holders[0];
  }

  async removeAll(): Promise<void> {
    for (const engine of this.engines) {
      for (const name of this.names) {
        await engine.docker().getContainer(name).remove({ force: true }).catch(() => undefined);
      }
    }
    this.names.length = 0;
  }
}

/** Starts a manager over `engines` and waits until it can place on every one of them. */
async function managerOver(engines: EngineHandle[], extraArgs: string[] = []): Promise<ManagerHandle> {
  const manager = await startManager([...extraArgs, `nodes://${engines.map((e) => e.addr).join(',')}`]);
  await waitFor(async () => {
    const info = await docker(manager.host, ['info', '--format', '{{json .SystemStatus}}']);
    return engines.every((e) => info.stdout.includes(e.name)) && (info.stdout.match(/Healthy/g) ?? []).length >= engines.length;
  }, 30_000, `the manager to register ${engines.length} healthy engines`, 200);
  return manager;
}

function assertFailed(result: DockerCliResult, ...fragments: string[]): void {
  assert.notEqual(result.code, 0, `expected failure, got: ${result.stdout}`);
  for (const fragment of fragments) assert.ok(result.stderr.includes(fragment), `stderr lacks ${JSON.stringify(fragment)}:\n${result.stderr}`);
}

describe('scheduler through the manager (3 real engines)', function () {
  this.timeout(180_000);
  let set: EngineSet;
  let manager: ManagerHandle;
  let placements: Placements;

  before(async () => {
    set = await getEngines();
    manager = await managerOver(set.engines);
    placements = new Placements(set.engines, () => manager);
  });

  after(async () => {
    await placements?.removeAll();
    await manager?.stop();
  });

  describe('constraints', () => {
    it('by node name', async () => {
      assert.equal(await placements.place('c-node', ['-e', 'constraint:node==node-1']), 'node-1');
    });

    it('by engine label', async () => {
      assert.equal(await placements.place('c-label', ['-e', 'constraint:disk==ssd']), 'node-0');
      assert.equal(await placements.place('c-labels', ['-e', 'constraint:disk==hdd', '-e', 'constraint:zone==a']), 'node-2');
    });

    it('by glob', async () => {
      assert.equal(await placements.place('c-glob', ['-e', 'constraint:node==*-2']), 'node-2');
    });

    it('by regex, whole value, with (?i)', async () => {
      assert.equal(await placements.place('c-regex', ['-e', 'constraint:node==/node-[12]/', '-e', 'constraint:zone==a']), 'node-2');
      assert.equal(await placements.place('c-regex-i', ['-e', 'constraint:node==/(?i)NODE-1/']), 'node-1');
    });

    it('by node.* forms and the com.docker.swarm.constraints label', async () => {
      assert.equal(await placements.place('c-nodelabels', ['-e', 'constraint:node.labels.zone==b']), 'node-1');
      assert.equal(await placements.place('c-label-list', ['--label', 'com.docker.swarm.constraints=["node==node-0"]']), 'node-0');
    });

    it('soft: honoured when possible, dropped when not', async () => {
      assert.equal(await placements.place('c-soft', ['-e', 'constraint:disk==~ssd']), 'node-0');
      const anywhere = await placements.place('c-soft-miss', ['-e', 'constraint:node==~node-9']);
      assert.ok(['node-0', 'node-1', 'node-2'].includes(anywhere));
      // Dropped one at a time: the satisfiable soft constraint survives the unsatisfiable one.
      assert.equal(await placements.place('c-soft-two', ['-e', 'constraint:node==~node-9', '-e', 'constraint:zone==~b']), 'node-1');
    });

    it('docker run -d places and starts the container', async () => {
      const full = `${PREFIX}c-run`;
      const run = await docker(manager.host, ['run', '-d', '--name', full, '-e', 'constraint:node==node-2', 'busybox', 'sleep', '60']);
      assert.equal(run.code, 0, run.stderr);
      const state = await set.engines[2].docker().getContainer(full).inspect();
      assert.equal(state.State.Running, true);
      await set.engines[2].docker().getContainer(full).remove({ force: true });
    });

    it('keeps the constraint env out of the container', async () => {
      await placements.place('c-env', ['-e', 'constraint:node==node-1', '-e', 'KEEP=1']);
      const env = await docker(manager.host, ['inspect', '--format', '{{json .Config.Env}}', `${PREFIX}c-env`]);
      assert.ok(env.stdout.includes('KEEP=1'), env.stdout);
      assert.ok(!env.stdout.includes('constraint:'), env.stdout);
    });

    it('unsatisfiable: classic\'s message listing the conditions', async () => {
      const result = await placements.create('c-none', ['-e', 'constraint:disk==tape', '-e', 'constraint:zone==a']);
      assertFailed(result, 'Unable to find a node that satisfies the following conditions');
      // The docker CLI does not keep the order of -e flags, so either order is the same condition list.
      assert.match(result.stderr, /\n\[(disk==tape zone==a|zone==a disk==tape)\]/);
    });

    it('answers Docker JSON errors: 400 for a malformed expression, 500 when nothing fits', async () => {
      const statusOf = (env: string[]) =>
        manager.docker().createContainer({ Image: 'busybox', Env: env }).then(
          () => assert.fail('created'),
          (err: { statusCode?: number; json?: { message?: string } }) => [err.statusCode, err.json?.message],
        );
      assert.deepEqual(await statusOf(['constraint:disk=ssd']), [400, "invalid constraint expression 'disk=ssd': one of operator ==, != is expected"]);
      assert.deepEqual(await statusOf(['constraint:disk==tape']), [500, 'Unable to find a node that satisfies the following conditions \n[available container slots]\n[disk==tape]\nconstraint filter removed 3 of 3 nodes: node-0, node-1, node-2']);
    });

    it('malformed: a 400 naming the expression', async () => {
      const result = await placements.create('c-bad', ['-e', 'constraint:disk=ssd']);
      assertFailed(result, "invalid constraint expression 'disk=ssd'");
      const regex = await placements.create('c-bad-re', ['-e', 'constraint:node==/(node/']);
      assertFailed(regex, 'invalid regular expression: error parsing regexp: missing closing )');
    });
  });

  describe('whitelists', () => {
    it('== keeps the listed engines, != excludes them', async () => {
      assert.ok(['node-0', 'node-2'].includes(await placements.place('w-in', ['-e', 'whitelist:node==node-0|node-2'])));
      assert.equal(await placements.place('w-out', ['-e', 'whitelist:node!=node-0|node-2']), 'node-1');
    });
  });

  describe('affinities', () => {
    it('to a container by name (hard and soft)', async () => {
      assert.equal(await placements.place('a-target', ['-e', 'constraint:node==node-2']), 'node-2');
      assert.equal(await placements.place('a-follow', ['-e', `affinity:container==${PREFIX}a-target`]), 'node-2');
      assert.equal(await placements.place('a-follow-soft', ['-e', `affinity:container==~${PREFIX}a-target`]), 'node-2');
      const away = await placements.place('a-away', ['-e', `affinity:container!=${PREFIX}a-target`]);
      assert.notEqual(away, 'node-2');
    });

    it('to an image present on one engine only', async () => {
      const tag = await docker(set.engines[1].host, ['tag', 'busybox:latest', `${PREFIX}img:1.0`]);
      assert.equal(tag.code, 0, tag.stderr);
      try {
        // The manager learns about the new tag from the engine's events: retry until it has.
        const where = await waitFor(async () => {
          const result = await placements.create('a-image', ['-e', `affinity:image==${PREFIX}img`]);
          return result.code === 0 ? placements.whereIs('a-image') : undefined;
        }, 20_000, 'the image affinity to be satisfiable', 300);
        assert.equal(where, 'node-1');
      } finally {
        await docker(set.engines[1].host, ['rmi', `${PREFIX}img:1.0`]);
      }
    });
  });

  describe('dependencies', () => {
    before(async () => {
      assert.equal(await placements.place('d-base', ['-e', 'constraint:node==node-1']), 'node-1');
    });

    it('--volumes-from co-locates', async () => {
      assert.equal(await placements.place('d-volumes', ['--volumes-from', `${PREFIX}d-base`]), 'node-1');
    });

    it('--net container: co-locates', async () => {
      assert.equal(await placements.place('d-net', ['--net', `container:${PREFIX}d-base`]), 'node-1');
    });

    it('--link co-locates', async () => {
      assert.equal(await placements.place('d-link', ['--link', `${PREFIX}d-base:db`]), 'node-1');
    });

    it('a missing dependency is unsatisfiable', async () => {
      const result = await placements.create('d-missing', ['--volumes-from', `${PREFIX}nope`]);
      assertFailed(result, 'Unable to find a node that satisfies the following conditions', `--volumes-from=${PREFIX}nope`);
    });
  });

  describe('ports', () => {
    it('bridge: a published host port goes to each engine once, then nothing fits', async () => {
      const nodes = new Set<string>();
      for (let i = 0; i < 3; i++) nodes.add(await placements.place(`p-bridge-${i}`, ['-p', '18090:80']));
      assert.equal(nodes.size, 3, `host port 18090 placed twice on one engine: ${[...nodes]}`);
      assertFailed(await placements.create('p-bridge-3', ['-p', '18090:80']), 'Unable to find a node that satisfies the following conditions', '[port 18090 (Bridge mode)]');
      // A host-mode container wants the same host port: conflict across modes.
      assertFailed(await placements.create('p-bridge-host', ['--net', 'host', '--expose', '18090']), '[port 18090/tcp (Host mode)]');
      // The same port over UDP is free.
      await placements.place('p-bridge-udp', ['-p', '18090:80/udp']);
    });

    it('host mode: a host port goes to each engine once, then nothing fits', async () => {
      const nodes = new Set<string>();
      for (let i = 0; i < 3; i++) nodes.add(await placements.place(`p-host-${i}`, ['--net', 'host', '--expose', '18080']));
      assert.equal(nodes.size, 3, `host port 18080 placed twice on one engine: ${[...nodes]}`);
      const fourth = await placements.create('p-host-3', ['--net', 'host', '--expose', '18080']);
      assertFailed(fourth, 'Unable to find a node that satisfies the following conditions', '[port 18080/tcp (Host mode)]');
      // Another port or protocol is still free.
      await placements.place('p-host-udp', ['--net', 'host', '--expose', '18080/udp']);
    });
  });
});

describe('scheduler strategies through the manager (real engines)', function () {
  this.timeout(180_000);
  let set: EngineSet;
  let placements: Placements;
  let manager: ManagerHandle | undefined;

  before(async () => {
    set = await getEngines();
  });

  afterEach(async () => {
    await placements?.removeAll();
    await manager?.stop();
    manager = undefined;
  });

  it('binpack fills one engine before the next', async () => {
    manager = await managerOver(set.engines, ['--strategy', 'binpack', '--cluster-opt', 'swarm.overcommit=0']);
    placements = new Placements(set.engines, () => manager as ManagerHandle);
    const memTotal = Number((await set.engines[0].docker().info()).MemTotal);
    // All engines share this machine's memory: three of these fill an engine exactly.
    const third = String(Math.floor(memTotal / 3));
    const where: string[] = [];
    for (let i = 0; i < 6; i++) where.push(await placements.place(`b-${i}`, ['-m', third]));
    assert.equal(new Set(where.slice(0, 3)).size, 1, `first three spread out: ${where}`);
    assert.equal(new Set(where.slice(3, 6)).size, 1, `next three spread out: ${where}`);
    assert.notEqual(where[3], where[0], `fourth did not move on: ${where}`);
  });

  it('a request no engine can hold: "no resources available to schedule container"', async () => {
    manager = await managerOver(set.engines, ['--strategy', 'binpack', '--cluster-opt', 'swarm.overcommit=0']);
    placements = new Placements(set.engines, () => manager as ManagerHandle);
    const memTotal = Number((await set.engines[0].docker().info()).MemTotal);
    assertFailed(await placements.create('b-huge', ['-m', String(memTotal * 2)]), 'no resources available to schedule container');
  });

  it('spread puts each container on an engine with the fewest containers', async () => {
    manager = await managerOver(set.engines);
    placements = new Placements(set.engines, () => manager as ManagerHandle);
    const counts = async () => Object.fromEntries(await Promise.all(set.engines.map(async (e) => [e.name, (await e.docker().listContainers({ all: true })).length] as const)));
    for (let i = 0; i < 6; i++) {
      const before = await counts();
      const fewest = Math.min(...Object.values(before));
      const where = await placements.place(`s-${i}`, []);
      assert.equal(before[where], fewest, `placed on ${where} with counts ${JSON.stringify(before)}`);
    }
  });
});

describe('containerslots through the manager (own engines)', function () {
  this.timeout(180_000);
  let set: EngineSet | undefined;
  let manager: ManagerHandle | undefined;
  let placements: Placements;

  before(async () => {
    set = await startEngines(2, { namePrefix: 'slots-', labels: (i) => ({ containerslots: String(i + 1) }) });
    manager = await managerOver(set.engines);
    placements = new Placements(set.engines, () => manager as ManagerHandle);
  });

  after(async () => {
    await placements?.removeAll();
    await manager?.stop();
    await set?.stop();
  });

  it('places up to each engine\'s slots (stopped containers count), then refuses', async () => {
    const where: string[] = [];
    for (let i = 0; i < 3; i++) where.push(await placements.place(`slot-${i}`, []));
    assert.deepEqual(where.sort(), ['slots-0', 'slots-1', 'slots-1']);
    const fourth = await placements.create('slot-3', []);
    assertFailed(fourth, 'Unable to find a node that satisfies the following conditions', '[available container slots]');
  });
});
