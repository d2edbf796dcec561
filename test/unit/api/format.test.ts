import assert from 'node:assert/strict';
import { bytesSize, humanDuration, naturalCompare, statusText, statusTextUntil } from '../../../lib/api/format';
import type { ContainerState } from '../../../lib/engine/records';

const base: ContainerState = { status: 'running', running: true, paused: false, restarting: false, exitCode: 0, startedAt: '', finishedAt: '' };

describe('format', function () {
  it('humanDuration matches docker units.HumanDuration', function () {
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(61_000), 'About a minute');
    assert.equal(humanDuration(5 * 60_000), '5 minutes');
    assert.equal(humanDuration(60 * 60_000), 'About an hour');
    assert.equal(humanDuration(3 * 3_600_000), '3 hours');
    assert.equal(humanDuration(3 * 24 * 3_600_000), '3 days');
  });

  it('statusText regenerates docker ps status from state', function () {
    const now = Date.parse('2024-01-01T00:10:00Z');
    assert.equal(statusText({ ...base, startedAt: '2024-01-01T00:05:00Z' }, now), 'Up 5 minutes');
    assert.equal(statusText({ ...base, paused: true, startedAt: '2024-01-01T00:05:00Z' }, now), 'Up 5 minutes (Paused)');
    assert.equal(statusText({ ...base, health: 'healthy', startedAt: '2024-01-01T00:09:00Z' }, now), 'Up About a minute (healthy)');
    assert.equal(statusText({ ...base, health: 'starting', startedAt: '2024-01-01T00:09:59Z' }, now), 'Up 1 second (health: starting)');
    const exited = { ...base, running: false, status: 'exited', exitCode: 137, finishedAt: '2024-01-01T00:08:00Z' };
    assert.equal(statusText(exited, now), 'Exited (137) 2 minutes ago');
    assert.equal(statusText({ ...base, running: false, status: 'created', finishedAt: '0001-01-01T00:00:00Z' }, now), 'Created');
    assert.equal(statusText({ ...base, running: false, status: 'dead' }, now), 'Dead');
  });

  it('statusTextUntil: the text holds until the time it gives, and changes there below an hour', function () {
    // Generated: elapsed times across every unit, for running, paused, restarting and exited states.
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const started = Date.parse('2024-01-01T00:00:00.250Z');
    const states: ContainerState[] = [
      { ...base, startedAt: '2024-01-01T00:00:00.250Z' },
      { ...base, paused: true, startedAt: '2024-01-01T00:00:00.250Z' },
      { ...base, restarting: true, exitCode: 1, finishedAt: '2024-01-01T00:00:00.250Z' },
      { ...base, running: false, status: 'exited', exitCode: 2, finishedAt: '2024-01-01T00:00:00.250Z' },
    ];
    let changed = 0;
    for (let i = 0; i < 2000; i++) {
      const scale = [1_000, 60_000, 3_600_000, 86_400_000 * 30, 86_400_000 * 800][i % 5];
      const now = started + Math.floor(random() * scale * 3);
      const state = states[i % states.length];
      const { text, until } = statusTextUntil(state, now);
      assert.equal(text, statusText(state, now));
      assert.ok(until > now, `until ${until} after now ${now}`);
      assert.equal(statusText(state, until - 1), text, `still "${text}" 1 ms before until (elapsed ${now - started} ms)`);
      if (until - started < 3_600_000) {
        assert.notEqual(statusText(state, until), text, `changes at until (elapsed ${now - started} ms)`);
        changed++;
      }
    }
    assert.ok(changed > 500, `${changed} cases below an hour`);
    assert.equal(statusTextUntil({ ...base, running: false, status: 'created', finishedAt: '0001-01-01T00:00:00Z' }).until, Infinity);
  });

  it('bytesSize formats like go-units BytesSize (%.4g, binary units)', function () {
    assert.equal(bytesSize(0), '0 B');
    assert.equal(bytesSize(1023), '1023 B');
    assert.equal(bytesSize(2048), '2 KiB');
    assert.equal(bytesSize(2.053 * 1024 ** 3), '2.053 GiB');
    assert.equal(bytesSize(1536 * 1024 ** 2), '1.5 GiB');
  });

  it('naturalCompare orders node-2 before node-10', function () {
    assert.deepEqual(['node-10', 'node-2', 'node-1'].sort(naturalCompare), ['node-1', 'node-2', 'node-10']);
  });
});
