/**
 * The command line as Go's flag package (under classic's urfave/cli) reads it. The cases are
 * generated: every spelling Go accepts for each flag of the real commands must give the same
 * values as the canonical `--name value`.
 */
import assert from 'node:assert/strict';
import { parseFlags, parseGoBool, type FlagSpec } from '../../../lib/cli/flags';
import { formatEntry, parseLogLevel } from '../../../lib/log';

const SPECS: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'string', multiple: true, default: ['tcp://127.0.0.1:2375'], help: '' },
  { name: 'strategy', type: 'string', default: 'spread', help: '' },
  { name: 'heartbeat', type: 'string', default: '60s', help: '' },
  { name: 'timeout', type: 'string', default: '10s', help: '' },
  { name: 'advertise', aliases: ['addr'], type: 'string', help: '' },
  { name: 'tlsverify', type: 'boolean', default: false, help: '' },
  { name: 'experimental', type: 'boolean', default: false, help: '' },
  { name: 'cors', aliases: ['api-enable-cors'], type: 'boolean', default: false, help: '' },
];

/** Every spelling of "flag `name` has `value`" that Go's flag package accepts. */
function valueForms(name: string, value: string): string[][] {
  return [
    [`--${name}`, value],
    [`-${name}`, value],
    [`--${name}=${value}`],
    [`-${name}=${value}`],
  ];
}

const TRUE_TEXTS = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_TEXTS = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

describe('Go-style command line (lib/cli/flags)', function () {
  const valueSpecs = SPECS.filter((s) => s.type === 'string');
  const values = ['binpack', '5s', '-10s', '-', 'tcp://0.0.0.0:3376', '10.0.0.1:2376', 'a=b', '--looks-like-a-flag'];
  for (const spec of valueSpecs) {
    const names = [spec.name, ...(spec.aliases ?? []), ...(spec.short ? [spec.short] : [])];
    for (const name of names) {
      it(`reads every Go spelling of ${name.length === 1 ? '-' : '--'}${name} <value> (${values.length} values x 4 forms)`, function () {
        for (const value of values) {
          for (const form of valueForms(name, value)) {
            const { values: parsed, positionals, given } = parseFlags(SPECS, [...form, 'token://abc'], 'manage');
            const expected = spec.multiple ? [value] : value;
            assert.deepEqual(parsed[spec.name], expected, form.join(' '));
            assert.deepEqual(positionals, ['token://abc'], form.join(' '));
            assert.ok(given.has(spec.name));
          }
        }
      });
    }
  }

  for (const spec of SPECS.filter((s) => s.type === 'boolean')) {
    for (const name of [spec.name, ...(spec.aliases ?? [])]) {
      it(`reads every Go spelling of the boolean --${name}`, function () {
        for (const dashes of ['-', '--']) {
          assert.equal(parseFlags(SPECS, [`${dashes}${name}`], 'manage').values[spec.name], true, `${dashes}${name}`);
          for (const text of TRUE_TEXTS) assert.equal(parseFlags(SPECS, [`${dashes}${name}=${text}`], 'manage').values[spec.name], true, text);
          for (const text of FALSE_TEXTS) assert.equal(parseFlags(SPECS, [`${dashes}${name}=${text}`], 'manage').values[spec.name], false, text);
        }
        // A boolean never swallows the next argument (Go: `-tlsverify x` leaves x as an argument).
        assert.deepEqual(parseFlags(SPECS, [`--${name}`, 'token://abc'], 'manage').positionals, ['token://abc']);
        for (const bad of ['yes', 'on', '', '2']) {
          assert.throws(() => parseFlags(SPECS, [`--${name}=${bad}`], 'manage'), new RegExp(`invalid boolean value "${bad}" for -${name}: parse error`));
        }
      });
    }
  }

  it('matches strconv.ParseBool exactly', function () {
    for (const text of TRUE_TEXTS) assert.equal(parseGoBool(text), true);
    for (const text of FALSE_TEXTS) assert.equal(parseGoBool(text), false);
    for (const text of ['tRUE', 'yes', 'y', 'on', 'off', ' 1']) assert.equal(parseGoBool(text), undefined, text);
  });

  it('lets repeated value flags accumulate only when repeatable, last one wins otherwise', function () {
    const { values } = parseFlags(SPECS, ['-H', 'tcp://a:1', '--host=tcp://b:2', '-H=unix:///s', '--strategy', 'random', '-strategy=binpack'], 'manage');
    assert.deepEqual(values.host, ['tcp://a:1', 'tcp://b:2', 'unix:///s']);
    assert.equal(values.strategy, 'binpack');
  });

  it('gives Go flag errors with a usage hint', function () {
    const cases: Array<[string[], string]> = [
      [['--nope'], 'flag provided but not defined: -nope'],
      [['-nope=1'], 'flag provided but not defined: -nope'],
      [['--strategy'], 'flag needs an argument: -strategy'],
      [['---strategy', 'x'], 'bad flag syntax: ---strategy'],
      [['-=x'], 'bad flag syntax: -=x'],
    ];
    for (const [args, message] of cases) {
      assert.throws(() => parseFlags(SPECS, args, 'manage'), (err: Error) => err.message === `${message}. See 'swarm manage --help'.`, args.join(' '));
    }
  });

  it('ends flags at --, keeps a lone - as an argument, and stops at the command with stopAtPositional', function () {
    assert.deepEqual(parseFlags(SPECS, ['--', '--strategy', 'x'], 'manage').positionals, ['--strategy', 'x']);
    assert.deepEqual(parseFlags(SPECS, ['-'], 'manage').positionals, ['-']);
    const global = parseFlags(SPECS, ['-experimental', 'manage', '-H', 'x'], '', { stopAtPositional: true });
    assert.equal(global.values.experimental, true);
    assert.deepEqual(global.rest, ['manage', '-H', 'x']);
  });

  it('reads boolean environment fallbacks as ParseBool (a non-boolean is ignored)', function () {
    const specs: FlagSpec[] = [{ name: 'debug', type: 'boolean', default: false, env: 'TEST_GO_FLAGS_DEBUG', help: '' }];
    const cases: Array<[string, boolean]> = [['1', true], ['true', true], ['0', false], ['false', false], ['yes', false]];
    try {
      for (const [text, expected] of cases) {
        process.env.TEST_GO_FLAGS_DEBUG = text;
        assert.equal(parseFlags(specs, [], '').values.debug, expected, text);
      }
      process.env.TEST_GO_FLAGS_DEBUG = '1';
      assert.equal(parseFlags(specs, ['--debug=false'], '').values.debug, false, 'the command line wins over the environment');
    } finally {
      delete process.env.TEST_GO_FLAGS_DEBUG;
    }
  });
});

describe('logrus-shaped logs (lib/log)', function () {
  const at = new Date('2026-01-02T03:04:05.678Z');

  it('writes logfmt as logrus TextFormatter: time, level, msg, then sorted fields, quoting as logrus', function () {
    assert.equal(
      formatEntry('text', 'warning', 'Engine validation failed, will retry', { error: 'boom', addr: '10.0.0.1:2376', retryInMs: 1000, proto: 'tcp' }, at),
      'time="2026-01-02T03:04:05Z" level=warning msg="Engine validation failed, will retry" addr="10.0.0.1:2376" error=boom proto=tcp retryInMs=1000',
    );
  });

  it('writes JSON lines with keys sorted as Go encoding/json', function () {
    const line = formatEntry('json', 'info', 'Listening for HTTP', { proto: 'tcp', addr: ':2375' }, at);
    assert.equal(line, '{"addr":":2375","level":"info","msg":"Listening for HTTP","proto":"tcp","time":"2026-01-02T03:04:05Z"}');
  });

  it('parses level names as logrus.ParseLevel', function () {
    assert.equal(parseLogLevel('warn'), 'warning');
    assert.equal(parseLogLevel('WARNING'), 'warning');
    assert.equal(parseLogLevel('debug'), 'debug');
    assert.equal(parseLogLevel('verbose'), undefined);
  });
});
