import assert from 'node:assert/strict';
import net from 'node:net';
import { GaugeFamily, metrics, registerCollector, scrape, setLeadership, setServices, startProcessMetrics } from '../../../lib/metrics/registry';
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

  it('waits for a collector that works across event-loop turns', async function () {
    const remove = registerCollector(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const f = new GaugeFamily('swarm_later', 'l', ['engine']);
      f.add(['e2'], 4);
      return f.render();
    });
    try {
      assert.equal(metricValue(parseMetrics(await scrape()), 'swarm_later', { engine: 'e2' }), 4);
    } finally {
      remove();
    }
  });

  it('counts open descriptors and active handles under prom-client\'s names, once each', async function () {
    startProcessMetrics();
    const before = await scrape();
    for (const name of ['process_open_fds', 'nodejs_active_handles', 'nodejs_active_handles_total']) {
      assert.equal(before.split('\n').filter((line) => line === `# TYPE ${name} gauge`).length, 1, `${name} registered once`);
    }
    const servers = await Promise.all([1, 2, 3].map(() => new Promise<net.Server>((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => resolve(s)); })));
    try {
      const was = parseMetrics(before);
      const now = parseMetrics(await scrape());
      assert.equal(metricValue(now, 'nodejs_active_handles', { type: 'Server' }) - metricValue(was, 'nodejs_active_handles', { type: 'Server' }), 3, 'three more listening servers');
      assert.ok(metricValue(now, 'nodejs_active_handles_total') - metricValue(was, 'nodejs_active_handles_total') >= 3, 'the total counts them too');
      assert.ok(metricValue(now, 'process_open_fds') - metricValue(was, 'process_open_fds') >= 3, 'each holds a descriptor');
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
