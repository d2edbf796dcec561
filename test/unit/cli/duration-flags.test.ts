import assert from 'node:assert/strict';
import { parseDuration } from '../../../lib/cli/duration';
import { keyValueOptions, parseFlags, type FlagSpec } from '../../../lib/cli/flags';
import { isAdvertiseAddress } from '../../../lib/host-port';

describe('CLI parsing', function () {
  it('parses Go durations to milliseconds', function () {
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('2'), 2000);
    assert.equal(parseDuration('-5s'), -5000);
    assert.ok(Number.isNaN(parseDuration('abc')));
    assert.ok(Number.isNaN(parseDuration('10x')));
    assert.ok(Number.isNaN(parseDuration('')));
  });

  const specs: FlagSpec[] = [
    { name: 'host', short: 'H', type: 'string', multiple: true, default: ['tcp://127.0.0.1:2375'], env: 'TEST_SWARM_HOST', help: '' },
    { name: 'advertise', aliases: ['addr'], type: 'string', help: '' },
    { name: 'cors', type: 'boolean', default: false, help: '' },
  ];

  it('parses repeated flags, long aliases, defaults and env fallbacks', function () {
    const { values, positionals } = parseFlags(specs, ['-H', 'tcp://a:1', '--host=unix:///x.sock', '--addr', '1.2.3.4:2375', 'nodes://a:1'], 'manage');
    assert.deepEqual(values.host, ['tcp://a:1', 'unix:///x.sock']);
    assert.equal(values.advertise, '1.2.3.4:2375');
    assert.equal(values.cors, false);
    assert.deepEqual(positionals, ['nodes://a:1']);
    process.env.TEST_SWARM_HOST = 'tcp://e:1,tcp://e:2';
    try {
      assert.deepEqual(parseFlags(specs, [], 'manage').values.host, ['tcp://e:1', 'tcp://e:2']);
    } finally {
      delete process.env.TEST_SWARM_HOST;
    }
    assert.deepEqual(parseFlags(specs, [], 'manage').values.host, ['tcp://127.0.0.1:2375']);
  });

  it('rejects unknown flags with a usage hint', function () {
    assert.throws(() => parseFlags(specs, ['--nope'], 'manage'), /See 'swarm manage --help'/);
  });

  it('validates key=value options and advertise addresses like classic', function () {
    assert.deepEqual(keyValueOptions(['kv.path=a/b', 'x=1=2'], '--discovery-opt'), { 'kv.path': 'a/b', x: '1=2' });
    assert.throws(() => keyValueOptions(['novalue'], '--discovery-opt'), /--discovery-opt must contain key=value strings/);
    assert.ok(isAdvertiseAddress('10.0.0.5:2375'));
    assert.ok(isAdvertiseAddress('host.example:1'));
    assert.ok(!isAdvertiseAddress('10.0.0.5'));
    assert.ok(!isAdvertiseAddress('10.0.0.5:0'));
    assert.ok(!isAdvertiseAddress('10.0.0.5:70000'));
  });
});
