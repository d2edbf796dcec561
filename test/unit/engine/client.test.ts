import assert from 'node:assert/strict';
import { EngineClient, isConnectionError, parseEngineAddr, parseMessage } from '../../../lib/engine/client';
import { ContainerStore } from '../../../lib/engine/container-store';
import { provisionalContainer } from '../../../lib/engine/records';
import { Engine } from '../../../lib/engine/engine';

describe('engine client', function () {
  it('speaks the client\'s API version when the engine has it, else the engine\'s newest', function () {
    const client = new EngineClient('127.0.0.1:2375');
    assert.equal(client.versionedPath('/containers/json', '1.30'), '/containers/json', 'unversioned before validation');
    client.setApiVersion('1.41');
    assert.equal(client.versionedPath('/containers/json', '1.30'), '/v1.30/containers/json');
    assert.equal(client.versionedPath('/containers/json', '1.47'), '/v1.41/containers/json');
    assert.equal(client.versionedPath('/containers/json'), '/v1.41/containers/json');
    assert.equal(client.versionedPath('/info', '1.9'), '/v1.9/info', 'numeric, not string, comparison');
    client.close();
  });

  it('parses engine addresses: host:port, tcp://, IPv6, unix sockets', function () {
    assert.deepEqual(parseEngineAddr('10.0.0.5:2375'), { addr: '10.0.0.5:2375', host: '10.0.0.5', port: 2375 });
    assert.deepEqual(parseEngineAddr('tcp://node1:2376'), { addr: 'node1:2376', host: 'node1', port: 2376 });
    assert.deepEqual(parseEngineAddr('[::1]:2375'), { addr: '[::1]:2375', host: '::1', port: 2375 });
    assert.deepEqual(parseEngineAddr('unix:///var/run/docker.sock'), { addr: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock' });
  });

  it('reads engine error messages from JSON or plain text', function () {
    assert.equal(parseMessage('{"message":"No such container: x"}'), 'No such container: x');
    assert.equal(parseMessage('page not found\n'), 'page not found');
  });

  it('tells connection failures from other errors', function () {
    assert.ok(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })));
    assert.ok(isConnectionError(new Error('socket hang up')));
    assert.ok(!isConnectionError(Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404 })));
  });
});

describe('ContainerStore', function () {
  it('indexes containers by ID, short ID and name, following renames and removals', function () {
    const store = new ContainerStore();
    const id = 'a'.repeat(12) + 'b'.repeat(52);
    const web = provisionalContainer(id, 'web', { Image: 'busybox' });
    store.set(web);
    assert.equal(store.byId(id), web);
    assert.equal(store.byId(id.slice(0, 12)), web);
    assert.equal(store.byName('web'), web);
    const renamed = { ...web, name: 'web2' };
    store.set(renamed);
    assert.equal(store.byName('web'), undefined);
    assert.equal(store.byName('web2'), renamed);
    assert.equal(store.size, 1);
    assert.ok(store.delete(id));
    assert.equal(store.byId(id.slice(0, 12)), undefined);
    assert.equal(store.byName('web2'), undefined);
    assert.ok(!store.delete(id));
  });

  it('builds a provisional record from a create body', function () {
    const record = provisionalContainer('c1', 'db', { Image: 'busybox', Cmd: ['sleep', '1'], Labels: { a: 'b' }, HostConfig: { Memory: 64, PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } });
    assert.equal(record.command, 'sleep 1');
    assert.equal(record.state.status, 'created');
    assert.equal(record.memory, 64);
    assert.deepEqual(record.portBindings, { '80/tcp': [{ HostPort: '8080' }] });
    assert.deepEqual(record.labels, { a: 'b' });
  });
});

describe('Engine.markStarted (optimistic state after a start)', function () {
  const options = { refreshMinMs: 30_000, refreshMaxMs: 60_000, failureRetry: 3 };

  it('marks a container running when what the manager knows predates the start', function () {
    const engine = new Engine('127.0.0.1:1', options);
    engine.containers.set(provisionalContainer('c1', 'web', { Image: 'busybox' }, 1000));
    engine.markStarted('c1', 2000);
    assert.equal(engine.containers.get('c1')?.state.running, true);
    assert.equal(engine.containers.get('c1')?.observedAt, 2000);
    engine.stop();
  });

  it('keeps an inspect asked after the start (the container may already have exited)', function () {
    const engine = new Engine('127.0.0.1:1', options);
    const exited = provisionalContainer('c2', 'job', { Image: 'busybox' }, 3000);
    engine.containers.set({ ...exited, state: { ...exited.state, status: 'exited', exitCode: 0 } });
    engine.markStarted('c2', 2000);
    assert.equal(engine.containers.get('c2')?.state.status, 'exited');
    engine.stop();
  });
});
