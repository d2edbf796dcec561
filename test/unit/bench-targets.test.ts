/** Issue 13's benchmark logic without processes: checkpoints, targets, run-to-run p50, exposition parsing, the storm. */
import assert from 'node:assert/strict';
import { checkTargets, medianOf, type ManagerResults } from '../../bench/report';
import type { ScaleCheckpoint, ScaleResult } from '../../bench/scale';
import { checkpointTargets } from '../../bench/scale';
import { pickBasePort } from '../../bench/lib/processes';
import { promValue } from '../../bench/lib/prom-text';
import { summarize } from '../../bench/lib/stats';
import { SimEngine } from '../../bench/sim/engine';
import { runStorm, type StormSample } from '../../bench/sim/storm';

function checkpoint(containers: number, psP50: number, ownP99: number, rssMB: number): ScaleCheckpoint {
  const s = summarize([1]);
  return {
    percent: 100, containers, listed: containers, createStart: s, single: { ...s, n: 200 }, singleOwn: { ...s, p99: ownP99 }, singleOwnNominal: s, singleEngine: s,
    fillRate: 600, ps: { ...s, p50: psP50 }, psMB: 1, info: { ...s, p50: 50 }, rssMB, cpuSec: 1, fds: 10,
  };
}

function scaleRun(engines: number, checkpoints: ScaleCheckpoint[], extra: Partial<ScaleResult> = {}): ScaleResult {
  return {
    manager: 'm', command: 'c', engines, containers: checkpoints[checkpoints.length - 1].containers, latencyMs: 5, concurrency: 16,
    discovery: 'nodes://x', healthyMs: 20_000, idle: { rssMB: 1, cpuSec: 0 }, checkpoints, fillRate: 700, rssMBMax: Math.max(...checkpoints.map((c) => c.rssMB)),
    sim: { rssMB: 1, cpuSec: 1 }, phases: [], fdLimit: 20000, simFdsMax: 1, errors: { count: 0, examples: [] }, phaseErrors: [], ...extra,
  };
}

const find = (checks: ReturnType<typeof checkTargets>, manager: string, prefix: string) => {
  const c = checks.find((x) => x.manager === manager && x.target.startsWith(prefix));
  assert.ok(c, `no target "${prefix}" for ${manager}: ${checks.map((x) => x.target).join(' | ')}`);
  return c;
};

describe('bench targets (issue 13)', () => {
  it('adds a 30,000-container checkpoint only when the fill goes beyond it', () => {
    assert.deepEqual(checkpointTargets(150_000, [10, 50, 90, 100]).map((c) => c.target), [15_000, 30_000, 75_000, 135_000, 150_000]);
    assert.equal(checkpointTargets(150_000, [10, 50])[1].percent, 20);
    assert.deepEqual(checkpointTargets(30_000, [10, 100]).map((c) => c.target), [3_000, 30_000]);
    assert.deepEqual(checkpointTargets(3_000, [50, 100]).map((c) => c.target), [1_500, 3_000]);
  });

  it('takes the p50 over runs of the known values', () => {
    assert.equal(medianOf([300, 100, 200]), 200);
    assert.equal(medianOf([undefined, 40, NaN]), 40);
    assert.ok(Number.isNaN(medianOf([])));
  });

  it('checks ps -a against 1 s at 150,000 and 100 ms at 30,000, p50 over runs', () => {
    const runs = [900, 1200, 950].map((ps) => scaleRun(5000, [checkpoint(30_000, 90, 5, 800), checkpoint(150_000, ps, 8, 1400)]));
    const checks = checkTargets({ managers: [{ label: 'ts', command: 'c', scale: runs[2], scaleRuns: runs }], durationSec: 40 * 60 }, { engines: 1000, containers: 30000 });
    const ps = find(checks, 'ts', 'ps -a p50 ≤ 1000 ms');
    assert.equal(ps.met, true);
    assert.match(ps.measured, /^950 ms \(p50 over 3 runs\)/);
    assert.equal(find(checks, 'ts', 'ps -a p50 ≤ 100 ms at 5000/30000').met, true);
    assert.equal(find(checks, 'ts', 'own share').met, true);
    assert.equal(find(checks, 'ts', 'manager RSS ≤ 1.5 GB').met, true);
    assert.equal(find(checks, 'run', 'whole benchmark < 45 min').met, true);
    assert.ok(!checks.some((c) => c.target.includes('reduced scale')), 'a 5,000/150,000 run is not reduced');
  });

  it('fails own share on the worst checkpoint of any run, and RSS on the run maximum', () => {
    const good = scaleRun(100, [checkpoint(300, 5, 4, 100), checkpoint(3000, 20, 6, 200)]);
    const bad = scaleRun(100, [checkpoint(300, 5, 12, 100), checkpoint(3000, 20, 6, 200)], { rssMBMax: 1600 });
    const checks = checkTargets({ managers: [{ label: 'ts', command: 'c', scale: bad, scaleRuns: [good, bad] }], durationSec: 60 }, { engines: 1000, containers: 30000 });
    const own = find(checks, 'ts', 'own share');
    assert.equal(own.met, false);
    assert.match(own.measured, /^12 ms \(worst: 100%, n=200, worst of 2 runs\)/);
    assert.equal(find(checks, 'ts', 'manager RSS').met, false);
    assert.match(find(checks, 'ts', 'ps -a p50 ≤ 100 ms').target, /reduced scale/);
  });

  it('compares RSS (≤ 0.5x) and ps -a p50 (≤ 0.2x) with the second manager', () => {
    const a: ManagerResults = { label: 'ts', command: 'a', scale: scaleRun(1000, [checkpoint(30_000, 50, 5, 240)]) };
    const b: ManagerResults = { label: 'classic', command: 'b', scale: scaleRun(1000, [checkpoint(30_000, 200, 60, 500)]) };
    const checks = checkTargets({ managers: [a, b], durationSec: 60 }, { engines: 1000, containers: 30000 });
    const rss = find(checks, 'ts', "RSS ≤ 0.5x classic's");
    assert.equal(rss.met, true);
    assert.match(rss.measured, /^0\.480x/);
    const ps = find(checks, 'ts', "ps -a p50 ≤ 0.2x classic's");
    assert.equal(ps.met, false);
    assert.match(ps.measured, /^0\.250x/);
  });

  it('reads one sample out of a Prometheus exposition', () => {
    const text = [
      '# HELP nodejs_eventloop_lag_max_seconds The maximum recorded event loop delay.',
      '# TYPE nodejs_eventloop_lag_max_seconds gauge',
      'nodejs_eventloop_lag_max_seconds_total 9',
      'nodejs_eventloop_lag_max_seconds 0.0421',
      'nodejs_eventloop_lag_p99_seconds{instance="a"} 0.012 1700000000',
    ].join('\n');
    assert.equal(promValue(text, 'nodejs_eventloop_lag_max_seconds'), 0.0421);
    assert.equal(promValue(text, 'nodejs_eventloop_lag_p99_seconds'), 0.012);
    assert.equal(promValue(text, 'nodejs_eventloop_lag_p50_seconds'), undefined);
  });

  it('keeps simulator ports below the ephemeral range', () => {
    for (let i = 0; i < 50; i++) {
      const base = pickBasePort(5000, 32768);
      assert.ok(base >= 10_000 && base + 5000 <= 32768, `base ${base}`);
      assert.equal(base % 1000, 0);
    }
    assert.equal(pickBasePort(30_000, 32768), 20_000);
  });
});

describe('simulated event storm', () => {
  it('toggles pause/unpause round-robin at the rate, with events, and holds sampled containers', async () => {
    const engines = [0, 1].map((i) => new SimEngine({ name: `s${i}`, images: ['busybox:latest'] }));
    const ids = engines.map((e) => Array.from({ length: 3 }, () => {
      const { Id } = e.createContainer({ Image: 'busybox', Cmd: ['sleep', '9'] }, null);
      e.startContainer(Id);
      return Id;
    }));
    const actions: string[] = [];
    engines[0].events.subscribe({ filter: new Map(), send: (ev) => actions.push(ev.action) });
    const samples: StormSample[] = [];
    const totals = await runStorm(engines, { ratePerEngine: 50, durationMs: 300, sampleEveryMs: 100, holdMs: 10_000 }, (s) => samples.push(s));
    // 50/s for 0.3 s: 15 per engine, give or take the random phase.
    assert.ok(totals.emitted >= 28 && totals.emitted <= 32, `emitted ${totals.emitted}`);
    assert.equal(totals.pause + totals.unpause, totals.emitted);
    assert.equal(actions.filter((a) => a === 'pause' || a === 'unpause').length, actions.length);
    assert.ok(actions.length >= 14 && actions.length <= 16, `engine 0 emitted ${actions.length}`);
    assert.ok(samples.length >= 2, `${samples.length} samples`);
    for (const s of samples) {
      // A held container keeps the sampled state to the end.
      const state = engines[s.engine].listContainers(true, new Map([['id', [s.id]]]), -1)[0].State;
      assert.equal(state, s.state);
      assert.ok(ids[s.engine].includes(s.id));
    }
  });
});
