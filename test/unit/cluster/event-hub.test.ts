import assert from 'node:assert/strict';
import { EventHub } from '../../../lib/cluster/event-hub';
import type { DockerEvent } from '../../../lib/engine/engine';

function event(Type: string, Action: string, ID: string, attrs: Record<string, string>, timeNano: number): DockerEvent {
  return { Type, Action, Actor: { ID, Attributes: attrs }, time: Math.floor(timeNano / 1e9), timeNano, scope: 'local' };
}

describe('EventHub', function () {
  const start = event('container', 'start', 'abc123', { name: 'web', image: 'busybox:latest', 'node.name': 'node-1', app: 'shop' }, 1e18);
  const pull = event('image', 'pull', 'busybox:latest', { name: 'busybox', 'node.name': 'node-2' }, 1e18 + 5e6);
  const exec = event('container', 'exec_start: sh -c ls', 'abc123', { name: 'web', 'node.name': 'node-1' }, 1e18 + 10e6);

  it('replays history by time window and notifies subscribers', function () {
    const hub = new EventHub();
    const seen: DockerEvent[] = [];
    const unsubscribe = hub.subscribe((e) => seen.push(e));
    hub.publish(start);
    hub.publish(pull);
    unsubscribe();
    hub.publish(exec);
    assert.deepEqual(seen, [start, pull]);
    assert.deepEqual(hub.replay(1e18 + 1e6), [pull, exec]);
    assert.deepEqual(hub.replay(0, 1e18 + 5e6), [start, pull]);
    assert.equal(hub.listenerCount, 0);
  });

  it('keeps only the newest events, in order, once the history is full', function () {
    const hub = new EventHub(3);
    const events = [1, 2, 3, 4, 5].map((i) => event('container', 'start', `c${i}`, {}, 1e18 + i * 1e6));
    for (const e of events) hub.publish(e);
    assert.deepEqual(hub.replay(0).map((e) => e.Actor.ID), ['c3', 'c4', 'c5']);
    assert.deepEqual(hub.replay(1e18 + 4e6).map((e) => e.Actor.ID), ['c4', 'c5']);
  });
});
