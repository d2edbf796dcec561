/**
 * dockerd is the oracle for list filters. The suite builds a varied set of objects on each of
 * the 3 shared engines (containers created / running / paused / exited with several codes /
 * healthy / unhealthy / starting, with labels, volumes, networks, published and exposed ports;
 * images in a parent chain, tagged, untagged, dangling, labelled; networks; volumes), then
 * GENERATES queries from those objects' own attributes (filter-cases.ts) and sends each
 *
 * - to a manager fronting only engine 0 and to engine 0 itself: same status, same message,
 *   same set of IDs (and so the same count);
 * - to a manager fronting all 3 engines and to each engine: the manager's IDs are the union.
 *
 * The only status the manager changes on purpose: where dockerd 20.10 answers 500 for a bad
 * filter value (`exited=x`, `publish=a:b`, a malformed `filters` JSON), the manager answers 400
 * with dockerd's message (malformed JSON included: the manager words syntax errors as Go's
 * scanner does). Everything else must be equal; the per-key tally is printed at the end.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type Dockerode from 'dockerode';
import type { EngineHandle, EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { freePort } from '../../testbed/ports';
import { waitFor } from '../../testbed/wait';
import { getEngines } from './cluster-fixture';
import { generateCases, malformedCases, type FilterCase, type Pool } from './filter-cases';

const API = '/v1.41';

interface Answer {
  status: number;
  message?: string;
  /** Sorted row keys (IDs; tags too for images), when 200. */
  rows?: string[];
}

function get(addr: string, path: string): Promise<{ status: number; body: string }> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: Number(port), path, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: GET ${addr}${path}`)));
    req.on('error', reject);
  });
}

type Kind = 'containers' | 'images' | 'networks' | 'volumes' | 'events';

/** Row keys of a listing: what "the same answer" means for each kind. */
function rowKeys(kind: Kind, body: string, engineName?: string): string[] {
  const parsed = kind === 'events' ? undefined : (JSON.parse(body) as unknown);
  switch (kind) {
    case 'containers':
      return (parsed as Array<{ Id: string }>).map((c) => c.Id).sort();
    case 'images':
      return (parsed as Array<{ Id: string; RepoTags: string[] | null }>).map((i) => `${i.Id} ${[...(i.RepoTags ?? [])].sort().join(',')}`).sort();
    case 'networks':
      return (parsed as Array<{ Id: string }>).map((n) => n.Id).sort();
    case 'volumes':
      // The manager shows local volumes as node/name; an engine's own answer gets the prefix here.
      return ((parsed as { Volumes: Array<{ Name: string }> | null }).Volumes ?? []).map((v) => (engineName ? `${engineName}/${v.Name}` : v.Name)).sort();
    case 'events':
      return body.split('\n').filter((l) => l.trim()).map((l) => parseLine(l) as { Type: string; Action: string; Actor: { ID: string }; timeNano: number })
        .filter((e) => e.Type !== 'swarm') // the manager's own engine_connect events
        .map((e) => `${e.timeNano} ${e.Type} ${e.Action} ${e.Actor.ID}`).sort();
  }
}

/**
 * dockerd keeps its last 256 events only, and health checks keep adding exec events while the
 * cases run: the oldest event `addr` still holds in the window, as a row's timeNano (0: none).
 * Asked after a case's answers, rows older than it may be missing from dockerd's answer through
 * no fault of the manager's (which keeps 10,000).
 */
async function oldestRetained(addr: string, window: string): Promise<number> {
  const first = (await get(addr, `${API}/events?${window}`)).body.split('\n').find((l) => l.trim());
  return first ? (parseLine(first) as { timeNano: number }).timeNano : 0;
}

/** The answer without the event rows older than `cut` (see oldestRetained). */
function trimOlder(answer: Answer, cut: number): Answer {
  return answer.rows ? { ...answer, rows: answer.rows.filter((row) => Number(row.slice(0, row.indexOf(' '))) >= cut) } : answer;
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`not one JSON object per line: ${line.slice(0, 400)}`);
  }
}

async function ask(addr: string, kind: Kind, c: FilterCase, window: string, engineName?: string): Promise<Answer> {
  const path = kind === 'events' ? '/events' : kind === 'containers' ? '/containers/json' : kind === 'images' ? '/images/json' : `/${kind}`;
  const params = [`filters=${encodeURIComponent(c.filters)}`, c.extra, kind === 'events' ? window : ''].filter(Boolean).join('&');
  const r = await get(addr, `${API}${path}?${params}`);
  if (r.status !== 200) return { status: r.status, message: (JSON.parse(r.body) as { message: string }).message };
  return { status: 200, rows: rowKeys(kind, r.body, engineName) };
}

/** Runs `fn` over items with a few in flight (the machine is shared). */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

interface Tally {
  cases: number;
  equal: number;
  /** Equal but 400 where dockerd 20.10 said 500. */
  statusFixed: number;
}

const tallies = new Map<string, Tally>();
/** Whole cases per object kind (a case with three keys counts once here). */
const perKind = new Map<string, { one: Tally; three: Tally }>();
function tally(kind: string, keys: string[], equal: boolean, statusFixed: boolean): void {
  for (const key of keys) {
    const name = `${kind} ${key}`;
    const t = tallies.get(name) ?? { cases: 0, equal: 0, statusFixed: 0 };
    t.cases++;
    if (equal) t.equal++;
    if (equal && statusFixed) t.statusFixed++;
    tallies.set(name, t);
  }
}

/**
 * The tally as a table, one row per object kind and filter key: cases over one engine (equal /
 * compared), over three (equal / compared), and how many of the equal ones were a 400 where
 * dockerd 20.10 answers 500. `node` (swarm's own filter) is compared with the one engine it names.
 */
function summary(): string {
  const rows = new Map<string, { kind: string; key: string; one?: Tally; three?: Tally }>();
  for (const [name, t] of tallies) {
    const [, kind, three, key] = /^(\w+)( \(3 engines\))? (.+)$/.exec(name) ?? [];
    const row = rows.get(`${kind} ${key}`) ?? { kind, key };
    if (three) row.three = t;
    else row.one = t;
    rows.set(`${kind} ${key}`, row);
  }
  const cell = (t?: Tally): string => (t ? `${t.equal} / ${t.cases}` : '-');
  const table = [['kind', 'filter', '1 engine equal / cases', '3 engines equal / cases', '400 for 500']];
  const totals = { oneEqual: 0, one: 0, threeEqual: 0, three: 0 };
  for (const row of [...rows.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key))) {
    table.push([row.kind, row.key, cell(row.one), cell(row.three), String(row.one?.statusFixed ?? 0)]);
    totals.oneEqual += row.one?.equal ?? 0;
    totals.one += row.one?.cases ?? 0;
    totals.threeEqual += row.three?.equal ?? 0;
    totals.three += row.three?.cases ?? 0;
  }
  table.push(['all', '(per key)', `${totals.oneEqual} / ${totals.one}`, `${totals.threeEqual} / ${totals.three}`, '']);
  for (const [kind, t] of perKind) table.push([kind, '(whole cases)', cell(t.one), cell(t.three), String(t.one.statusFixed)]);
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const lines = table.map((r) => `  ${r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`);
  return `\n  generated filter cases compared with dockerd (a case counts once for each key it uses):\n${lines.join('\n')}\n`;
}

/** One engine's objects, created directly on it (the managers learn them from events). */
interface Made {
  containers: string[];
  images: string[];
  networks: string[];
  volumes: string[];
}

async function run(docker: Dockerode, opts: Dockerode.ContainerCreateOptions, action: 'create' | 'start' | 'wait' | 'pause'): Promise<string> {
  const c = await docker.createContainer(opts);
  if (action === 'create') return c.id;
  await c.start();
  if (action === 'wait') await c.wait();
  if (action === 'pause') await c.pause();
  return c.id;
}

async function commit(docker: Dockerode, from: string, label: [string, string] | undefined, repo?: string, tag?: string): Promise<string> {
  const c = await docker.createContainer({ Image: from, Cmd: ['true'] });
  const r = (await c.commit({ repo, tag, changes: label ? [`LABEL ${label[0]}=${label[1]}`] : [] })) as { Id: string };
  await c.remove();
  return r.Id;
}

async function build(engine: EngineHandle, i: number): Promise<Made> {
  const d = engine.docker();
  const made: Made = { containers: [], images: [], networks: [], volumes: [] };
  const p = `fd${i}`;
  made.networks.push((await d.createNetwork({ Name: `${p}-net`, Labels: { 'fd.net': String(i), 'fd.kind': 'used' } })).id);
  made.networks.push((await d.createNetwork({ Name: `${p}-spare`, Labels: { 'fd.kind': 'spare' }, Internal: true })).id);
  await d.createVolume({ Name: `${p}-vol`, Labels: { 'fd.vol': String(i) } });
  await d.createVolume({ Name: `${p}-spare-vol`, Labels: { 'fd.kind': 'spare' } });
  made.volumes.push(`${p}-vol`, `${p}-spare-vol`);
  // Images: busybox <- A (tagged twice, labelled) <- B (tagged); busybox <- D (untagged parent) <- E; C dangling.
  const a = await commit(d, 'busybox:latest', ['fd.tier', 'base'], `${p}-a`, '1');
  await d.getImage(a).tag({ repo: `example.com/team/${p}-a`, tag: '2' });
  const b = await commit(d, `${p}-a:1`, ['fd.tier', 'app'], `${p}-b`, '1');
  await d.getImage(b).tag({ repo: `${p}-b`, tag: 'latest' });
  const c = await commit(d, 'busybox:latest', ['fd.dangling', 'yes']);
  const dd = await commit(d, 'busybox:latest', undefined);
  const e = await commit(d, dd, ['fd.tier', 'leaf'], `${p}-e`, '1');
  made.images.push(b, a, e, dd, c);
  const hostPort = await freePort();
  const base = { Image: 'busybox:latest', Cmd: ['sleep', '600'] };
  made.containers.push(await run(d, { ...base, name: `${p}-created`, Image: `${p}-b:1`, Labels: { 'fd.app': 'web', 'fd.tier': 'front' } }, 'create'));
  made.containers.push(await run(d, {
    ...base, name: `${p}-run`, Labels: { 'fd.app': 'web', 'fd.role': 'main' }, ExposedPorts: { '80/tcp': {}, '9000/udp': {} },
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 1 },
    HostConfig: { NetworkMode: `${p}-net`, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] }, Binds: [`${p}-vol:/data`] },
  }, 'start'));
  made.containers.push(await run(d, { ...base, name: `${p}-sick`, Labels: { 'fd.app': 'db' }, Healthcheck: { Test: ['CMD', 'false'], Interval: 1e9, Retries: 1 }, HostConfig: { NetworkMode: 'none' } }, 'start'));
  made.containers.push(await run(d, { ...base, name: `${p}-starting`, Labels: { 'fd.app': 'db', 'fd.tier': 'back' }, Healthcheck: { Test: ['CMD', 'true'], Interval: 300e9, StartPeriod: 300e9 } }, 'start'));
  made.containers.push(await run(d, { ...base, name: `${p}-paused`, Image: `${p}-a:1`, Labels: { 'fd.tier': 'back' }, HostConfig: { NetworkMode: 'host' } }, 'pause'));
  made.containers.push(await run(d, { Image: 'busybox:latest', Cmd: ['true'], name: `${p}-exit0`, Labels: { 'fd.app': 'batch' } }, 'wait'));
  made.containers.push(await run(d, { Image: 'busybox:latest', Cmd: ['sh', '-c', 'exit 3'], name: `${p}-exit3`, Labels: { 'fd.app': 'batch', 'fd.code': '3' }, Volumes: { '/anon': {} } }, 'wait'));
  made.containers.push(await run(d, { Image: c, Cmd: ['sh', '-c', `exit ${7 + i}`], name: `${p}-exit-dangling`, ExposedPorts: { '8080/tcp': {} } }, 'wait'));
  made.containers.push(await run(d, { Image: e, Cmd: ['true'], name: `${p}-leaf`, HostConfig: { Binds: [`${p}-spare-vol:/spare:ro`] } }, 'create'));
  return made;
}

async function cleanup(engine: EngineHandle, made: Made | undefined): Promise<void> {
  if (!made) return;
  const d = engine.docker();
  for (const id of made.containers) await d.getContainer(id).remove({ force: true, v: true }).catch(() => undefined);
  for (const id of made.images) await d.getImage(id).remove({ force: true }).catch(() => undefined);
  for (const id of made.networks) await d.getNetwork(id).remove().catch(() => undefined);
  for (const name of made.volumes) await d.getVolume(name).remove().catch(() => undefined);
}

describe('list filters: the manager answers as dockerd does (generated differential cases)', function () {
  this.timeout(600_000);
  let engines: EngineSet;
  let one: ManagerHandle;
  let three: ManagerHandle;
  let oneAddr: string;
  let threeAddr: string;
  const made: Made[] = [];
  let window = '';

  before(async function () {
    engines = await getEngines();
    [one, three] = await Promise.all([
      startManager([`nodes://${engines.engines[0].addr}`]),
      startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`]),
    ]);
    oneAddr = `127.0.0.1:${one.port}`;
    threeAddr = `127.0.0.1:${three.port}`;
    await waitFor(async () => {
      const infos = await Promise.all([one, three].map((m) => get(`127.0.0.1:${m.port}`, `${API}/info`)));
      return infos.every((r, i) => r.body.split('Healthy').length - 1 === (i === 0 ? 1 : 3));
    }, 30_000, 'both managers see their engines healthy');
    const since = (Date.now() / 1000).toFixed(3);
    made.push(...(await Promise.all(engines.engines.map((e, i) => build(e, i)))));
    // Health states settle (healthy / unhealthy after a probe or two).
    await waitFor(async () => {
      const list = await Promise.all(engines.engines.map((e) => e.docker().listContainers({ all: true, filters: { health: ['healthy', 'unhealthy'] } })));
      return list.every((l) => l.filter((c) => /^\/fd\d-(run|sick)$/.test(c.Names[0])).length === 2);
    }, 60_000, 'fdN-run healthy and fdN-sick unhealthy');
    // The managers' views converge (from events): same containers in the same states, same images/networks/volumes.
    const sameView = async (managerAddr: string, addrs: string[]): Promise<boolean> => {
      for (const path of ['/containers/json?all=1', '/images/json?all=1', '/networks']) {
        const m = await get(managerAddr, `${API}${path}`);
        const e = await Promise.all(addrs.map((a) => get(a, `${API}${path}`)));
        const summarise = (body: string): string[] => (JSON.parse(body) as Array<{ Id: string; State?: string; Status?: string }>).map((r) => `${r.Id} ${r.State ?? ''} ${/\((\w+)\)/.exec(r.Status ?? '')?.[1] ?? ''}`).sort();
        if (JSON.stringify(summarise(m.body)) !== JSON.stringify(e.flatMap((x) => summarise(x.body)).sort())) return false;
      }
      return true;
    };
    await waitFor(() => sameView(oneAddr, [engines.engines[0].addr]), 30_000, 'the one-engine manager to converge');
    await waitFor(() => sameView(threeAddr, engines.engines.map((e) => e.addr)), 30_000, 'the three-engine manager to converge');
    // dockerd keeps only its last 256 events (the healthchecks' exec events fill that fast); the
    // manager keeps 10,000. Compare over a window every engine still holds completely.
    const until = (Date.now() / 1000).toFixed(3);
    let from = Math.ceil(Number(since));
    for (const e of engines.engines) {
      const lines = (await get(e.addr, `${API}/events?since=${since}&until=${until}`)).body.split('\n').filter((l) => l.trim());
      const oldest = Math.min(...lines.map((l) => (JSON.parse(l) as { timeNano: number }).timeNano));
      if (lines.length >= 200) from = Math.max(from, Math.ceil(oldest / 1e9) + 1);
    }
    window = `since=${from}&until=${until}`;
  });

  after(async function () {
    console.log(summary());
    await Promise.all([one?.stop(), three?.stop()]);
    if (engines) await Promise.all(engines.engines.map((e, i) => cleanup(e, made[i])));
  });

  /** The pools of values for each key, drawn from engine 0's objects as dockerd lists them. */
  async function pools(kind: Kind): Promise<Record<string, Pool>> {
    const d = engines.engines[0].docker();
    const p = 'fd0';
    if (kind === 'containers') {
      const list = (await d.listContainers({ all: true })).filter((c) => c.Names[0]?.startsWith(`/${p}-`));
      const inspected = await Promise.all(list.map((c) => d.getContainer(c.Id).inspect()));
      const labels = [...new Set(list.flatMap((c) => Object.entries(c.Labels).flatMap(([k, v]) => [k, `${k}=${v}`, `${k}=other`])))];
      const names = list.map((c) => c.Names[0].slice(1));
      const images = await d.listImages({ all: true });
      const tagged = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      const nets = (await d.listNetworks()).filter((n) => n.Name.startsWith(p) || ['host', 'none'].includes(n.Name));
      const exitCodes = [...new Set(inspected.filter((c) => c.State.Status === 'exited').map((c) => String(c.State.ExitCode)))];
      const ports = list.flatMap((c) => c.Ports);
      return {
        label: { good: [...labels, 'fd.absent'], bad: [] },
        name: { good: [...names, ...names.map((n) => n.slice(0, 5)), `^/${names[0]}$`, `^${names[1]}$`, 'exit[0-9]$', '(?i)FD0-RUN', 'fd0-(run|sick)', 'nomatch', '^/fd'], bad: ['(', 'a**'] },
        id: { good: [...list.map((c) => c.Id), ...list.slice(0, 3).map((c) => c.Id.slice(0, 12)), list[0].Id.slice(0, 1), 'ffffffffffff', ''], bad: [] },
        status: { good: ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'], bad: ['bogus', 'Running'] },
        exited: { good: [...exitCodes, '1', '+3', '03'], bad: ['x', '99999999999999999999', '1.5'] },
        ancestor: { good: ['busybox', 'busybox:latest', ...tagged.filter((t) => t.startsWith(p) || t.includes(`/${p}`)), ...images.slice(0, 4).map((i) => i.Id), ...images.slice(0, 4).map((i) => i.Id.slice(7, 19)), 'nope', 'nope:1'], bad: ['UPPER', 'a b'] },
        before: { good: [...names.slice(0, 4), `/${names[2]}`, list[3].Id], bad: ['nope', list[0].Id.slice(0, 12)], singleValued: true },
        since: { good: [...names.slice(3, 7), list[5].Id], bad: ['nope', `/${names[0]}x`], singleValued: true },
        volume: { good: [`${p}-vol`, '/data', '/anon', `${p}-spare-vol`, '/spare', 'nope', ...inspected.flatMap((c) => c.Mounts.filter((m) => m.Type === 'volume').map((m) => m.Name ?? ''))], bad: [] },
        network: { good: [...nets.map((n) => n.Name), ...nets.map((n) => n.Id.slice(0, 10)), 'bridge', 'nope'], bad: [] },
        health: { good: ['healthy', 'unhealthy', 'starting', 'none'], bad: ['sick'] },
        publish: { good: [...ports.filter((x) => x.PublicPort).map((x) => `${x.PublicPort}`), ...ports.filter((x) => x.PublicPort).map((x) => `${x.PublicPort}/${x.Type}`), '80', '1-65535', '0', '9000/udp'], bad: ['a:b', 'abc', '70000', '5-1', '', '/tcp'] },
        expose: { good: ['80', '80/tcp', '9000/udp', '9000', '8080', '1-1000', '8000-9999/tcp', '9000/sctp'], bad: ['1-x', '-', '99999'] },
        'is-task': { good: ['true', 'false'], bad: ['maybe'] },
        isolation: { good: ['default', 'def', 'hyperv', 'process'], bad: [] },
        bogus: { good: [], bad: ['x'] },
      };
    }
    if (kind === 'images') {
      const images = await d.listImages({ all: true });
      const labels = [...new Set(images.flatMap((i) => Object.entries(i.Labels ?? {}).flatMap(([k, v]) => [k, `${k}=${v}`, `${k}=nope`])))];
      const tags = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      const ours = tags.filter((t) => t.includes(p));
      return {
        dangling: { good: ['true', 'false'], bad: ['maybe', '1'] },
        label: { good: [...labels, 'fd.absent'], bad: [] },
        before: { good: [...ours.slice(0, 3), 'busybox', images[1].Id, images[2].Id.slice(7, 19)], bad: ['nope', 'UPPER', 'nope:2'], singleValued: true },
        since: { good: ['busybox:latest', ...ours.slice(1, 4), images[images.length - 1].Id], bad: ['nope:latest', 'a b'], singleValued: true },
        reference: { good: [...ours, 'busybox', `${p}-*`, `${p}-?`, '*', 'example.com/*/*', `*/*/${p}-a`, `${p}-[ab]:1`, `${p}-b:*`, 'nope'], bad: ['[', 'a[b-', '\\'] },
        bogus: { good: [], bad: ['x'] },
      };
    }
    if (kind === 'networks') {
      const nets = await d.listNetworks();
      const labels = [...new Set(nets.flatMap((n) => Object.entries(n.Labels ?? {}).flatMap(([k, v]) => [k, `${k}=${v}`, `${k}=nope`])))];
      return {
        driver: { good: ['bridge', 'host', 'null', 'overlay', 'nope'], bad: [] },
        id: { good: [...nets.map((n) => n.Id), ...nets.map((n) => n.Id.slice(0, 6)), '^[0-9a-f]', 'zz'], bad: ['('] },
        label: { good: [...labels, 'fd.absent'], bad: [] },
        name: { good: [...nets.map((n) => n.Name), 'fd0', '^fd0-(net|spare)$', 'o', 'nope'], bad: ['['] },
        scope: { good: ['local', 'swarm', 'global'], bad: [] },
        type: { good: ['custom', 'builtin'], bad: ['other'] },
        dangling: { good: ['true', 'false', '1', '0'], bad: ['yes'], singleValued: true },
        bogus: { good: [], bad: ['x'] },
      };
    }
    if (kind === 'volumes') {
      const vols = (await d.listVolumes()).Volumes ?? [];
      const labels = [...new Set(vols.flatMap((v) => Object.entries(v.Labels ?? {}).flatMap(([k, val]) => [k, `${k}=${val}`, `${k}=nope`])))];
      return {
        dangling: { good: ['true', 'false', '1', '0'], bad: ['yes'] },
        driver: { good: ['local', 'nope'], bad: [] },
        label: { good: [...labels, 'fd.absent'], bad: [] },
        name: { good: [...vols.map((v) => v.Name), 'fd0', '^fd0-.*vol$', 'spare', 'nope'], bad: ['('] },
        bogus: { good: [], bad: ['x'] },
      };
    }
    const list = (await d.listContainers({ all: true })).filter((c) => c.Names[0]?.startsWith(`/${p}-`));
    const nets = (await d.listNetworks()).filter((n) => n.Name.startsWith(p));
    const info = (await d.info()) as { ID: string; Name: string };
    return {
      type: { good: ['container', 'image', 'network', 'volume', 'daemon', 'plugin'], bad: [] },
      event: { good: ['create', 'start', 'die', 'pause', 'tag', 'commit', 'health_status', 'exec_create', 'exec_start', 'destroy', 'connect', 'mount', 'exec_die'], bad: [] },
      container: { good: [...list.map((c) => c.Names[0].slice(1)), ...list.map((c) => c.Id.slice(0, 8)), 'fd0-ex'], bad: [] },
      image: { good: ['busybox', 'busybox:latest', `${p}-a:1`, `${p}-a`, `${p}-b`, 'nope'], bad: [] },
      label: { good: ['fd.app', 'fd.app=web', 'fd.tier=base', 'fd.absent', 'name'], bad: [] },
      network: { good: [...nets.map((n) => n.Name), ...nets.map((n) => n.Id.slice(0, 8))], bad: [] },
      volume: { good: [`${p}-vol`, `${p}-spare`, 'fd0'], bad: [] },
      daemon: { good: [info.ID, info.Name], bad: [] },
      scope: { good: ['local', 'swarm'], bad: [] },
      // Swarm-mode keys: dockerd matches them on every event's actor ID or name, as `container` does.
      plugin: { good: [`${p}-run`, 'nope'], bad: [] },
      service: { good: [`${p}-exit`, list[0].Id.slice(0, 8), 'nope'], bad: [] },
      secret: { good: [`${p}-vol`, 'nope'], bad: [] },
      config: { good: [nets[0]?.Name ?? 'nope', 'nope'], bad: [] },
      bogus: { good: ['x'], bad: [] },
    };
  }

  const kinds: Array<{ kind: Kind; combinations: number; extras: string[] }> = [
    { kind: 'containers', combinations: 240, extras: ['all=1', 'all=1', ''] },
    { kind: 'images', combinations: 90, extras: ['', 'all=1'] },
    { kind: 'networks', combinations: 60, extras: [''] },
    { kind: 'volumes', combinations: 40, extras: [''] },
    { kind: 'events', combinations: 80, extras: [''] },
  ];

  for (const { kind, combinations, extras } of kinds) {
    it(`${kind}: every generated query gets dockerd's answer, over one engine and over three`, async function () {
      const cases = [...generateCases(await pools(kind), { seed: 20261201, combinations, extras }), ...malformedCases(kind === 'events' ? 'type' : 'label', 'x', extras[0])];
      const e0 = engines.engines[0];
      const mismatches: string[] = [];
      let nonEmpty = 0;
      let index = 0;
      const kindTally = { one: { cases: 0, equal: 0, statusFixed: 0 }, three: { cases: 0, equal: 0, statusFixed: 0 } };
      perKind.set(kind, kindTally);
      await pool(cases, 6, async (c) => {
        const n = index++;
        let [want, got] = await Promise.all([ask(e0.addr, kind, c, window, e0.name), ask(oneAddr, kind, c, window)]);
        if (kind === 'events') {
          const cut = await oldestRetained(e0.addr, window);
          [want, got] = [trimOlder(want, cut), trimOlder(got, cut)];
        }
        const statusFixed = want.status === 500 && got.status === 400;
        const equal = (want.status === got.status || statusFixed) && want.message === got.message && JSON.stringify(want.rows) === JSON.stringify(got.rows);
        tally(kind, c.keys, equal, statusFixed);
        kindTally.one.cases++;
        if (equal) kindTally.one.equal++;
        if (equal && statusFixed) kindTally.one.statusFixed++;
        if ((want.rows?.length ?? 0) > 0) nonEmpty++;
        if (!equal) mismatches.push(`one engine ${c.extra} filters=${c.filters}\n      dockerd: ${JSON.stringify(want)}\n      manager: ${JSON.stringify(got)}`);
        // Over three engines: the union of the engines' answers (errors: the same error everywhere).
        let each = await Promise.all(engines.engines.map((e) => ask(e.addr, kind, c, window, e.name)));
        let whole = await ask(threeAddr, kind, c, window);
        if (kind === 'events') {
          const cut = Math.max(...(await Promise.all(engines.engines.map((e) => oldestRetained(e.addr, window)))));
          [each, whole] = [each.map((a) => trimOlder(a, cut)), trimOlder(whole, cut)];
        }
        const ok = each.filter((a) => a.status === 200);
        // Swarm's own `node` filter: the three-engine manager narrowed to engine 1 answers as engine 1 does.
        const parsed = c.keys[0] === '(json)' ? undefined : (JSON.parse(c.filters) as Record<string, unknown>);
        if (n % 3 === 0 && parsed && each[1].status === 200 && kind !== 'events') {
          const legacy = Object.values(parsed).some(Array.isArray);
          const withNode = JSON.stringify({ ...parsed, node: legacy ? [engines.engines[1].name] : { [engines.engines[1].name]: true } });
          const narrowed = await ask(threeAddr, kind, { ...c, filters: withNode }, window);
          const nodeEqual = JSON.stringify(narrowed.rows) === JSON.stringify(each[1].rows) && narrowed.status === 200;
          tally(kind, ['node'], nodeEqual, false);
          if (!nodeEqual) mismatches.push(`node=${engines.engines[1].name} filters=${withNode}\n      engine: ${JSON.stringify(each[1])}\n      manager: ${JSON.stringify(narrowed)}`);
        }
        const crossEngine = c.keys.some((k) => k === 'before' || k === 'since') && kind === 'containers';
        if (crossEngine) return; // resolved cluster-wide by the manager; no single engine can answer it
        let expected: Answer;
        if (ok.length === 0) expected = { ...each[0], status: each[0].status === 500 ? 400 : each[0].status };
        else if (kind === 'images') expected = { status: 200, rows: mergeImages(ok.flatMap((a) => a.rows ?? [])) };
        else expected = { status: 200, rows: ok.flatMap((a) => a.rows ?? []).sort() };
        if (ok.length > 0 && ok.length < each.length && !(kind === 'images')) expected = { ...each.find((a) => a.status !== 200)!, status: 400 };
        const unionEqual = expected.status === whole.status && expected.message === whole.message && JSON.stringify(expected.rows) === JSON.stringify(whole.rows);
        tally(`${kind} (3 engines)`, c.keys, unionEqual, false);
        kindTally.three.cases++;
        if (unionEqual) kindTally.three.equal++;
        if (!unionEqual) mismatches.push(`three engines ${c.extra} filters=${c.filters}\n      union: ${JSON.stringify(expected)}\n      manager: ${JSON.stringify(whole)}`);
      });
      assert.ok(cases.length > 50, `generated ${cases.length} cases`);
      assert.ok(nonEmpty > cases.length / 5, `only ${nonEmpty} of ${cases.length} cases list anything: the objects or the event window are missing`);
      assert.deepEqual(mismatches, [], `${mismatches.length} of ${cases.length} ${kind} cases differ:\n    ${mismatches.slice(0, 40).join('\n    ')}`);
    });
  }
});

/** The manager merges images by ID, tags united: the same over the engines' rows `ID tags`. */
function mergeImages(rows: string[]): string[] {
  const byId = new Map<string, Set<string>>();
  for (const row of rows) {
    const [id, tags = ''] = row.split(' ');
    const set = byId.get(id) ?? new Set<string>();
    for (const t of tags.split(',').filter(Boolean)) set.add(t);
    byId.set(id, set);
  }
  return [...byId.entries()].map(([id, tags]) => `${id} ${[...tags].sort().join(',')}`).sort();
}
