import assert from 'node:assert/strict';
import { compileRe2, RegexSyntaxError, tryCompileRe2 } from '../../../lib/docker/regex';
import { FilterArgs } from '../../../lib/docker/filter-args';
import { goJsonDecodeFirst } from '../../../lib/docker/go-json';
import { BadPatternError, pathMatch } from '../../../lib/docker/path-match';
import { familiarTagged, lookupImage, parseNormalizedNamed } from '../../../lib/docker/reference';

describe('RE2 regex wrapper', function () {
  it('searches unanchored like Go MatchString, or anchored on request', function () {
    assert.equal(compileRe2('eb').test('web'), true);
    assert.equal(compileRe2('^eb').test('web'), false);
    assert.equal(compileRe2('w.b$').test('/web'), true);
    assert.equal(compileRe2('w.b', { anchored: true }).test('/web'), false);
    assert.equal(compileRe2('/?w.b', { anchored: true }).test('/web'), true);
    assert.equal(compileRe2('a|b', { anchored: true }).test('b'), true, 'alternation inside the anchors');
  });

  it('literal fast paths agree with the engine', function () {
    for (const [pattern, input] of [['web', 'a-web-1'], ['^web', 'web-1'], ['^web', 'a-web'], ['web$', 'my-web'], ['^web$', 'web'], ['^web$', 'webb'], ['', 'x'], ['^$', '']]) {
      const viaRe2 = compileRe2(`(?:${pattern})`).test(input);
      assert.equal(compileRe2(pattern).test(input), viaRe2, `${pattern} on ${input}`);
    }
  });

  it('supports (?i) anywhere, as RE2 does', function () {
    assert.equal(compileRe2('node-(?i)AB').test('node-ab'), true);
    assert.equal(compileRe2('node-(?i)AB').test('NODE-ab'), false);
  });

  it('rejects what RE2 rejects, with its message; tryCompile gives undefined', function () {
    assert.throws(() => compileRe2('a('), (err: Error) => err instanceof RegexSyntaxError && /missing closing \)/.test(err.message));
    assert.throws(() => compileRe2('(a)\\1'), RegexSyntaxError);
    assert.throws(() => compileRe2('(?=a)'), RegexSyntaxError);
    assert.equal(tryCompileRe2('['), undefined);
  });

  it('matches catastrophic patterns in linear time (the ps name filter that froze the manager)', function () {
    const re = compileRe2('(a+)+$');
    // A backtracking engine needs ~2^30 steps for 30 a's followed by a mismatch.
    assert.equal(re.test(`${'a'.repeat(30)}-`), false);
    assert.equal(re.test(`${'a'.repeat(200_000)}-`), false);
    assert.equal(compileRe2('(x+x+)+y').test('x'.repeat(5000)), false);
  });
});

describe('FilterArgs (moby api/types/filters)', function () {
  it('parses the map form and the legacy list form alike', function () {
    const modern = FilterArgs.parse('{"label":{"a=1":true,"b":true},"name":{"web":true}}');
    const legacy = FilterArgs.parse('{"label":["a=1","b"],"name":["web"]}');
    for (const args of [modern, legacy]) {
      assert.deepEqual(args.keys().sort(), ['label', 'name']);
      assert.deepEqual(args.get('label').sort(), ['a=1', 'b']);
    }
    assert.equal(FilterArgs.parse('').size, 0);
    assert.equal(FilterArgs.parse('null').size, 0);
    assert.equal(FilterArgs.parse('{"label":null}').contains('label'), true);
  });

  it("answers malformed JSON with Go's decode errors (the first one in document order)", function () {
    const message = (raw: string): string => {
      try {
        FilterArgs.parse(raw);
      } catch (err) {
        return (err as Error).message;
      }
      return 'parsed';
    };
    assert.equal(message('{"name":"x"}'), 'json: cannot unmarshal string into Go value of type map[string]bool');
    assert.equal(message('{"name":{"x":"yes"}}'), 'json: cannot unmarshal string into Go value of type bool');
    assert.equal(message('{"name":["x",1]}'), 'json: cannot unmarshal array into Go value of type map[string]bool');
    assert.equal(message('[]'), 'json: cannot unmarshal array into Go value of type map[string]map[string]bool');
    assert.equal(message('7'), 'json: cannot unmarshal number into Go value of type map[string]map[string]bool');
    assert.equal(message('{"a":{"x":1},"b":[2]}'), 'json: cannot unmarshal number into Go value of type bool');
    assert.equal(message('{"name":[null]}'), 'parsed');
    // Syntax errors worded by Go's scanner, byte by byte (dockerd's answers, checked live in filters-differential).
    assert.equal(message('not json'), "invalid character 'o' in literal null (expecting 'u')");
    assert.equal(message('{"broken":'), 'unexpected end of JSON input');
    assert.equal(message('{"a":[1 2]}'), "invalid character '2' after array element");
    assert.equal(message('{"a" 1}'), "invalid character '1' after object key");
    assert.equal(message('{"a":1,}'), "invalid character '}' looking for beginning of object key string");
    assert.equal(message('{"a":"\\u12g4"}'), "invalid character 'g' in \\u hexadecimal character escape");
    assert.equal(message('-'), "invalid character ' ' in numeric literal");
    assert.equal(message('{}x'), "invalid character 'x' after top-level value");
    assert.equal(message("'x'"), "invalid character '\\'' looking for beginning of value");
    assert.equal(message('é'), "invalid character 'Ã' looking for beginning of value");
    assert.equal(message('"\\u0001"'), 'json: cannot unmarshal string into Go value of type map[string]map[string]bool');
    assert.equal(message('"\u0001"'), "invalid character '\\x01' in string literal");
  });

  it("reads request bodies as Go's json.Decoder: the first value only, 'unexpected EOF' when cut short", function () {
    const first = (text: string): unknown => goJsonDecodeFirst(Buffer.from(text));
    assert.deepEqual(first('{"a":1} trailing'), { end: 7 });
    assert.deepEqual(first('  [1,[2]]x'), { end: 9 });
    assert.deepEqual(first('"s"x'), { end: 3 });
    assert.deepEqual(first('12'), { end: 2 });
    assert.deepEqual(first(' \n '), { empty: true });
    assert.deepEqual(first('{"a":'), { error: 'unexpected EOF' });
    assert.deepEqual(first('-'), { error: 'unexpected EOF' });
    assert.deepEqual(first('{"a":1,}'), { error: "invalid character '}' looking for beginning of object key string" });
  });

  it('validates keys with dockerd\'s message', function () {
    assert.throws(() => FilterArgs.of({ bogus: ['x'] }).validate(new Set(['name'])), /^ApiError: Invalid filter 'bogus'$/);
  });

  it('label lists: every value must hold (AND), k or k=v; no values means no filtering', function () {
    const labels = { app: 'web', tier: 'front', empty: '' };
    assert.equal(FilterArgs.of({ label: ['app', 'tier=front'] }).matchKVList('label', labels), true);
    assert.equal(FilterArgs.of({ label: ['app', 'tier=back'] }).matchKVList('label', labels), false);
    assert.equal(FilterArgs.of({ label: ['empty='] }).matchKVList('label', labels), true);
    assert.equal(FilterArgs.of({ label: ['app=web=x'] }).matchKVList('label', { app: 'web=x' }), true, 'the first = splits');
    assert.equal(FilterArgs.of({ label: ['app'] }).matchKVList('label', {}), false);
    assert.equal(FilterArgs.of({ label: [] }).matchKVList('label', {}), true);
    assert.equal(FilterArgs.of({ label: ['constructor'] }).matchKVList('label', labels), false, 'no prototype keys');
  });

  it('match is exact-or-regex (bad regexes skipped); exactMatch and fuzzyMatch as dockerd', function () {
    const args = FilterArgs.of({ name: ['^we', '(', 'x'], event: ['exec_start'] });
    assert.equal(args.match('name', 'web'), true);
    assert.equal(args.match('name', 'db'), false);
    assert.equal(args.match('name', '('), true, 'an invalid regex still matches exactly');
    assert.equal(args.exactMatch('event', 'exec_start: sh'), false);
    assert.equal(args.fuzzyMatch('event', 'exec_start: sh'), true);
    assert.equal(args.exactMatch('missing', 'anything'), true);
    // {"v": false} keeps v in the set but not for exact matches (Go's map[string]bool).
    const flagged = FilterArgs.parse('{"status":{"running":false}}');
    assert.equal(flagged.exactMatch('status', 'running'), false);
    assert.equal(flagged.match('status', 'running'), true);
  });
});

describe('Go path.Match (image reference filter)', function () {
  it('matches shell patterns that do not cross /', function () {
    assert.equal(pathMatch('busy*', 'busybox'), true);
    assert.equal(pathMatch('*', 'me/app'), false);
    assert.equal(pathMatch('*/*', 'me/app'), true);
    assert.equal(pathMatch('a?c', 'abc'), true);
    assert.equal(pathMatch('a[b-d]c', 'acc'), true);
    assert.equal(pathMatch('a[^b]c', 'abc'), false);
    assert.equal(pathMatch('a\\*', 'a*'), true);
    assert.equal(pathMatch('*x*y*z', 'axxbyyz'), true);
  });

  it('reports malformed patterns as Go does', function () {
    for (const bad of ['[', 'a[b-', '\\', '[]a]']) assert.throws(() => pathMatch(bad, 'zzz'), BadPatternError, bad);
  });
});

describe('image references', function () {
  it('normalises and resolves like dockerd', function () {
    assert.equal(familiarTagged(parseNormalizedNamed('busybox')), 'busybox:latest');
    assert.equal(familiarTagged(parseNormalizedNamed('docker.io/library/busybox:1')), 'busybox:1');
    assert.equal(familiarTagged(parseNormalizedNamed('example.com/team/app')), 'example.com/team/app:latest');
    assert.throws(() => parseNormalizedNamed('UPPER'), /invalid reference format: repository name must be lowercase/);
    assert.throws(() => parseNormalizedNamed('a b'), /^Error: invalid reference format$/);
    const images = [
      { Id: `sha256:${'ab'.repeat(32)}`, RepoTags: ['busybox:latest'] },
      { Id: `sha256:${'ac'.repeat(32)}`, RepoTags: ['me/app:1'] },
    ];
    assert.equal((lookupImage(images, 'busybox') as { image: { Id: string } }).image, images[0]);
    assert.equal((lookupImage(images, 'abab') as { image: { Id: string } }).image, images[0]);
    assert.deepEqual(lookupImage(images, 'a'), { error: 'No such image: a:latest', status: 404 }, 'ambiguous prefix');
    assert.deepEqual(lookupImage(images, 'me/app'), { error: 'No such image: me/app:latest', status: 404 });
    assert.equal((lookupImage(images, `sha256:${'ac'.repeat(32)}`) as { image: { Id: string } }).image, images[1]);
  });
});
