import assert from 'node:assert/strict';
import { GaugeFamily, metrics, registerCollector, scrape, setLeadership, setServices } from '../../../lib/metrics/registry';
import { parseMetrics, metricValue } from '../../../testbed/metrics';

describe('metrics registry', function () {
  afterEach(function () {
    setLeadership(() => ({ replicated: false, leader: true, primary: '' }));
    setServices(() => []);
  });

  it('renders gauge families in the exposition format, escaping label values', function () {
    const f = new GaugeFamily('swarm_test', 'A test.', ['engine', 'state']);
    f.add(['node-"1"\\x', 'running'], 3);
    f.add(['node\n2', 'exited'], 0.5);
    assert.equal(f.render(), '# HELP swarm_test A test.\n# TYPE swarm_test gauge\nswarm_test{engine="node-\\"1\\"\\\\x",state="running"} 3\nswarm_test{engine="node\\n2",state="exited"} 0.5\n');
  });

  it('scrapes hooks: collectors\' text, leadership and services from the layers that own them', async function () {
    const remove = registerCollector(() => { const f = new GaugeFamily('swarm_hooked', 'h', ['engine']); f.add(['e1'], 7); return f.render(); });
    setLeadership(() => ({ replicated: true, leader: false, primary: '10.0.0.1:3376' }));
    setServices(() => [{ name: 'web', desired: 3, running: 2 }]);
    metrics.reschedules.inc({ result: 'rescheduled' });
    metrics.leaderFailovers.inc();
    try {
      const samples = parseMetrics(await scrape());
      assert.equal(metricValue(samples, 'swarm_hooked', { engine: 'e1' }), 7);
      assert.equal(metricValue(samples, 'swarm_leader'), 0);
      assert.equal(metricValue(samples, 'swarm_service_desired_tasks', { service: 'web' }), 3);
      assert.equal(metricValue(samples, 'swarm_service_running_tasks', { service: 'web' }), 2);
      assert.ok(metricValue(samples, 'swarm_reschedules_total', { result: 'rescheduled' }) >= 1);
      assert.ok(metricValue(samples, 'swarm_leader_failovers_total') >= 1);
    } finally {
      remove();
    }
    assert.equal(metricValue(parseMetrics(await scrape()), 'swarm_hooked', { engine: 'e1' }), 0, 'removed collectors stop reporting');
  });
});
