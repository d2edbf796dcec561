import assert from 'node:assert/strict';
import {
  describeExpression, holds, MAX_EXPRESSION_LENGTH,
  parseExpression, parseExpressionCached,
} from '../../../lib/scheduler/expression';
import { SchedulerError } from '../../../lib/scheduler/filter';
import { timeMs } from './fixtures';

function parse(text: string) {
  return parseExpression(text, 'constraint');
}

/** Whether `text` holds for a single candidate value. */
function check(text: string, candidate: string): boolean {
  return holds(parse(text), [candidate]);
}

function assertRejected(text: string, reason: RegExp): void {
  assert.throws(() => parse(text), (err: unknown) => {
    assert.ok(err instanceof SchedulerError, `expected SchedulerError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.message, /^invalid constraint expression '/);
    assert.match(err.message, reason);
    return true;
  });
}

describe('expression parser', () => {
  describe('structure', () => {
    it('splits key, operator and value', () => {
      const e = parse('region==us-east');
      assert.deepEqual([e.key, e.operator, e.value, e.soft], ['region', '==', 'us-east', false]);
      const ne = parse('storage!=ssd');
      assert.deepEqual([ne.key, ne.operator, ne.value, ne.soft], ['storage', '!=', 'ssd', false]);
    });

    it('reads ==~ and !=~ as soft and strips the ~', () => {
      const e = parse('node==~node1');
      assert.deepEqual([e.operator, e.value, e.soft], ['==', 'node1', true]);
      const ne = parse('image!=~redis');
      assert.deepEqual([ne.operator, ne.value, ne.soft], ['!=', 'redis', true]);
    });

    it('splits at the first operator and trims spaces around key and value', () => {
      const e = parse(' disk == ssd ');
      assert.deepEqual([e.key, e.value], ['disk', 'ssd']);
      assert.equal(parse('a!=b').key, 'a');
    });

    it('keeps spaces inside values (operatingsystem==Ubuntu 22.04.4 LTS)', () => {
      assert.equal(check('operatingsystem==Ubuntu 22.04.4 LTS', 'Ubuntu 22.04.4 LTS'), true);
    });

    it('accepts dotted keys and one-character keys (classic required two)', () => {
      assert.equal(parse('node.labels.zone==a').key, 'node.labels.zone');
      assert.equal(parse('z==1').key, 'z');
    });

    it('describes with and without the soft suffix', () => {
      assert.equal(describeExpression(parse('image==~redis'), true), 'image==redis (soft=true)');
      assert.equal(describeExpression(parse('storage==ssd'), false), 'storage==ssd');
    });
  });

  describe('literals', () => {
    it('match the whole value, case-sensitively', () => {
      assert.equal(check('storage==ssd', 'ssd'), true);
      assert.equal(check('storage==ssd', 'SSD'), false);
      assert.equal(check('storage==ssd', 'ssd2'), false);
    });

    it('== holds when any candidate matches, != when none does', () => {
      const e = parse('node==node1');
      assert.equal(holds(e, ['ID|addr', 'node1']), true);
      assert.equal(holds(parse('node!=node1'), ['ID|addr', 'node1']), false);
      assert.equal(holds(parse('node!=node1'), ['ID|addr', 'node2']), true);
    });

    it('with no candidates == is false and != is true', () => {
      assert.equal(holds(parse('a==b'), []), false);
      assert.equal(holds(parse('a!=b'), []), true);
    });

    it('accept image digests (@), rejected by classic', () => {
      const digest = `busybox@sha256:${'f'.repeat(64)}`;
      assert.equal(check(`image==${digest}`, digest), true);
    });

    it('treat a backslash-escaped glob character literally', () => {
      assert.equal(check('name==a\\*', 'a*'), true);
      assert.equal(check('name==a\\*', 'abc'), false);
    });

    it('honour a leading (?i)', () => {
      assert.equal(check('node==(?i)NODE1', 'node1'), true);
      assert.equal(check('node==(?i)NODE1', 'node12'), false);
    });
  });

  describe('globs (minimatch, whole value)', () => {
    it('us* matches values starting with us', () => {
      assert.equal(check('region==us*', 'us-east'), true);
      assert.equal(check('region==us*', 'eu-us'), false);
    });

    it('* crosses / (repositories)', () => {
      assert.equal(check('image==*nginx*', 'library/nginx:1.25'), true);
    });

    it('supports ? and character classes', () => {
      assert.equal(check('node==node-?', 'node-1'), true);
      assert.equal(check('node==node-?', 'node-12'), false);
      assert.equal(check('node==node-[12]', 'node-2'), true);
      assert.equal(check('node==node-[12]', 'node-3'), false);
    });

    it('treats regex metacharacters as literals (classic gave . + | their regex meaning)', () => {
      assert.equal(check('version==1.2*', '1.2.3'), true);
      assert.equal(check('version==1.2*', '1x2.3'), false);
      assert.equal(check('x==a|b*', 'a|bc'), true);
      assert.equal(check('x==a|b*', 'a'), false);
    });

    it('(?i) makes it case-insensitive', () => {
      assert.equal(check('node==(?i)NODE*', 'node-1'), true);
      assert.equal(check('node==NODE*', 'node-1'), false);
    });

    it('!= with a glob excludes every match', () => {
      assert.equal(check('region!=us*', 'us-west'), false);
      assert.equal(check('region!=us*', 'eu-west'), true);
    });
  });

  describe('regexes', () => {
    it('match the whole value (classic matched substrings: /node1/ matched node10)', () => {
      assert.equal(check('node==/node1/', 'node1'), true);
      assert.equal(check('node==/node1/', 'node10'), false);
      assert.equal(check('node==/.*node1.*/', 'my-node10'), true);
    });

    it('/node[12]/ matches node1 and node2 only', () => {
      assert.equal(check('node==/node[12]/', 'node1'), true);
      assert.equal(check('node==/node[12]/', 'node2'), true);
      assert.equal(check('node==/node[12]/', 'node3'), false);
    });

    it('translate a leading (?i) to the i flag', () => {
      assert.equal(check('node==/(?i)NODE1/', 'node1'), true);
      assert.equal(check('node==/NODE1/', 'node1'), false);
    });

    it('anchor alternations as a whole: ostype==/(linux)|(windows)/', () => {
      assert.equal(check('ostype==/(linux)|(windows)/', 'windows'), true);
      assert.equal(check('ostype==/(linux)|(windows)/', 'linux'), true);
      assert.equal(check('ostype==/(linux)|(windows)/', 'linuxwindows'), false);
    });

    it('accept escaped characters: /foo\\[bar\\]/ matches foo[bar]', () => {
      assert.equal(check('name==/foo\\[bar\\]/', 'foo[bar]'), true);
      assert.equal(check('name==/foo\\[bar\\]/', 'foob'), false);
      assert.equal(check('path==/\\/data\\/.*/', '/data/x'), true);
    });

    it('accept counted quantifiers (rejected by classic)', () => {
      assert.equal(check('rack==/r[0-9]{2}/', 'r42'), true);
      assert.equal(check('rack==/r[0-9]{2}/', 'r420'), false);
    });

    it('!= with a regex excludes every match', () => {
      assert.equal(check('node!=/node[12]/', 'node1'), false);
      assert.equal(check('node!=/node[12]/', 'node3'), true);
    });

    it('soft regexes parse: node==~/node[12]/', () => {
      const e = parse('node==~/node[12]/');
      assert.equal(e.soft, true);
      assert.equal(holds(e, ['node2']), true);
    });
  });

  describe('malformed input is a 400 naming the expression', () => {
    it('empty', () => assertRejected('', /expression is empty/));
    it('blank', () => assertRejected('   ', /expression is empty/));
    it('no operator', () => assertRejected('storage=ssd', /one of operator ==, != is expected/));
    it('invalid key', () => assertRejected('1abc==x', /key '1abc' is invalid/));
    it('empty key', () => assertRejected('==x', /key '' is invalid/));
    it('empty value', () => assertRejected('disk==', /value is empty/));
    it('empty soft value', () => assertRejected('disk==~', /value is empty/));
    it('characters outside the value grammar', () => {
      assertRejected('node==node1,node2', /value 'node1,node2' is invalid/);
      assertRejected("a=='x'", /is invalid/);
      assertRejected('a==b{1}', /is invalid/);
    });
    it('unbalanced / (regex without its closing slash)', () => {
      assertRejected('node==/node1', /missing its closing '\/'/);
      assertRejected('node==/', /missing its closing '\/'/);
    });
    it('empty regex', () => assertRejected('node==//', /regular expression is empty/));
    it('invalid regex', () => assertRejected('node==/node[/', /invalid regular expression/));
    it('unbalanced parenthesis', () => assertRejected('node==/(node/', /invalid regular expression/));
    it('(?i) inside a glob (only a leading one is a flag there)', () => {
      assertRejected('node==node(?i)x', /\(\?i\) is only supported at the start/);
    });
    it('RE2 syntax errors, with RE2\'s message', () => {
      assertRejected('node==/a(/', /invalid regular expression: error parsing regexp: missing closing \)/);
      assertRejected('node==/a{1001}/', /invalid repeat count/);
    });
    it('names the expression in the message', () => {
      assert.throws(() => parseExpression('disk=ssd', 'affinity'), /^SchedulerError: invalid affinity expression 'disk=ssd'/);
    });
  });

  describe('hostile input is bounded', () => {
    it(`rejects expressions longer than ${MAX_EXPRESSION_LENGTH} characters, quickly`, () => {
      const huge = `key==${'a'.repeat(1024 * 1024)}`;
      const ms = timeMs(() => assertRejected(huge, /longer than 1024 characters/));
      assert.ok(ms < 50, `took ${ms} ms`);
    });

    it('accepts an expression of exactly the maximum length', () => {
      const text = `key==${'a'.repeat(MAX_EXPRESSION_LENGTH - 5)}`;
      assert.equal(parse(text).value.length, MAX_EXPRESSION_LENGTH - 5);
    });

    for (const catastrophic of ['(a+)+', '(a*)*b', '(a|aa)*', '(a|a)+$', '(?:a?){30}a{30}', '((a+))+', '(\\w+\\s?)*', '([a-z]+)*x', '.*a.*a.*a.*a.*b']) {
      it(`accepts /${catastrophic}/ and matches it in linear time (RE2)`, () => {
        const e = parse(`name==/${catastrophic}/`);
        // A backtracking engine needs ~2^30 steps on 30 a's followed by a mismatch; RE2 is linear.
        assert.equal(holds(e, ['a'.repeat(30) + '-']), false);
        assert.equal(holds(e, ['a'.repeat(100_000) + '!']), false);
      });
    }

    it('(?i) works anywhere in a regex, as in RE2 and classic', () => {
      assert.equal(check('node==/node-(?i)AB/', 'node-ab'), true);
      assert.equal(check('node==/node-(?i)AB/', 'NODE-ab'), false);
    });

    it('rejects what RE2 does not support (backreferences; lookarounds are outside the grammar)', () => {
      assertRejected('name==/(a)\\1/', /invalid regular expression/);
      assertRejected('name==/a(?=b)b/', /is invalid/);
    });

    it('matches hostile globs on huge values quickly (minimatch does not backtrack)', () => {
      const e = parse('name==*a*a*a*a*a*a*a*a*b');
      const ms = timeMs(() => assert.equal(holds(e, ['a'.repeat(1_000_000)]), false));
      assert.ok(ms < 500, `took ${ms} ms`);
      assert.equal(holds(e, ['a'.repeat(100_000) + 'b']), true);
    });
  });

  describe('cache', () => {
    it('returns the same compiled expression for the same kind and text', () => {
      assert.equal(parseExpressionCached('disk==ssd', 'constraint'), parseExpressionCached('disk==ssd', 'constraint'));
      assert.notEqual(parseExpressionCached('disk==ssd', 'constraint'), parseExpressionCached('disk==ssd', 'affinity'));
    });
  });
});
