/**
 * `docker ps` and `docker inspect` wall time with the real docker CLI, through the manager and
 * directly against one engine, alternating, N samples each (default 20). Starts 3 real engines
 * and a manager. Usage: node dist/bench/cli-latency.js [samples]
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { DOCKER_CLI } from '../testbed/docker-cli';
import { startEngines } from '../testbed/engines';
import { startManager } from '../testbed/manager';
import { waitFor } from '../testbed/wait';

function timeCli(host: string, args: string[]): number {
  const start = performance.now();
  execFileSync(DOCKER_CLI, args, { env: { ...process.env, DOCKER_HOST: host }, stdio: 'pipe' });
  return performance.now() - start;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const samples = Number(process.argv[2] ?? 20);
  const engines = await startEngines(3);
  const manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]);
  try {
    await waitFor(() => execFileSync(DOCKER_CLI, ['info'], { env: { ...process.env, DOCKER_HOST: manager.host } }).toString().split('Status: Healthy').length === 4, 20_000, 'healthy nodes');
    const direct = engines.engines[0];
    // 10 containers per engine, so ps has something to list.
    for (let i = 0; i < 30; i++) execFileSync(DOCKER_CLI, ['run', '-d', '--name', `lat-${i}`, 'busybox', 'sleep', '600'], { env: { ...process.env, DOCKER_HOST: manager.host } });
    const target = execFileSync(DOCKER_CLI, ['ps', '-q', '--filter', `node=${direct.name}`], { env: { ...process.env, DOCKER_HOST: manager.host } }).toString().trim().split('\n')[0];
    const results: Record<string, { manager: number[]; direct: number[] }> = {
      'docker ps': { manager: [], direct: [] },
      'docker ps -a': { manager: [], direct: [] },
      'docker inspect': { manager: [], direct: [] },
    };
    const commands: Record<string, string[]> = { 'docker ps': ['ps'], 'docker ps -a': ['ps', '-a'], 'docker inspect': ['inspect', target] };
    for (let i = 0; i < samples + 2; i++) {
      for (const [name, args] of Object.entries(commands)) {
        const m = timeCli(manager.host, args);
        const d = timeCli(direct.host, args);
        if (i >= 2) { // the first two rounds warm up caches and connections
          results[name].manager.push(m);
          results[name].direct.push(d);
        }
      }
    }
    console.log(`\n${samples} samples each, alternating; 3 engines, 30 containers (10 on the direct engine)\n`);
    console.log('command           manager p50   direct p50   ratio   manager p90   direct p90');
    for (const [name, r] of Object.entries(results)) {
      const mp50 = percentile(r.manager, 50);
      const dp50 = percentile(r.direct, 50);
      console.log(`${name.padEnd(16)}  ${mp50.toFixed(1).padStart(8)} ms  ${dp50.toFixed(1).padStart(8)} ms  ${(mp50 / dp50).toFixed(2).padStart(5)}x  ${percentile(r.manager, 90).toFixed(1).padStart(8)} ms  ${percentile(r.direct, 90).toFixed(1).padStart(8)} ms`);
    }
  } finally {
    await manager.stop();
    await engines.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
