import assert from 'node:assert/strict';
import { humanDuration, parseHumanDuration } from '../../../lib/docker/human-duration';

describe('human durations', function () {
  it('parseHumanDuration reads every text humanDuration writes back to a duration with the same text', function () {
    // Generated: durations across every unit, from under a second to decades.
    const seen = new Set<string>();
    for (let ms = 0; ms < 40 * 365 * 86_400_000; ms = Math.floor(ms * 1.07) + 137) {
      const text = humanDuration(ms);
      const back = parseHumanDuration(text);
      assert.ok(Number.isFinite(back), text);
      assert.equal(humanDuration(back), text, `${ms} ms -> "${text}" -> ${back} ms`);
      assert.ok(back <= ms, `"${text}": ${back} ms is the start of the range that holds ${ms} ms`);
      seen.add(text.replace(/^\d+ (?=\w+s$)/, 'N '));
    }
    assert.deepEqual([...seen].sort(), ['1 second', 'About a minute', 'About an hour', 'Less than a second', 'N days', 'N hours', 'N minutes', 'N months', 'N seconds', 'N weeks', 'N years'].sort());
  });

  it('parseHumanDuration refuses what humanDuration never writes', function () {
    for (const text of ['', 'soon', '5', 'five minutes', '5 fortnights', '-5 minutes', '5 minutes ago']) assert.ok(Number.isNaN(parseHumanDuration(text)), text);
  });
});
