/**
 * The live cluster page in real headless Chromium (Debian's /usr/bin/chromium, driven with
 * puppeteer-core, which downloads no browser), against 2 real engines of its own: a container
 * started with the docker CLI appears as a card, and an engine killed with SIGKILL turns
 * Unhealthy on the page, with no reload; a service shows its desired/running tasks, a container its health. The screenshot goes to the test output directory
 * (SWARM_TEST_OUTPUT, default test-output/); SWARM_UPDATE_DOCS=1 also writes docs/cluster-page.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { docker } from '../../testbed/docker-cli';
import { startEngines, type EngineSet } from '../../testbed/engines';
import { startManager, type ManagerHandle } from '../../testbed/manager';
import { freePort } from '../../testbed/ports';
import { waitFor } from '../../testbed/wait';

const CHROMIUM = '/usr/bin/chromium';
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const OUTPUT_DIR = process.env.SWARM_TEST_OUTPUT ?? path.join(REPO_ROOT, 'test-output');

/** Text of every engine column: name -> status shown. */
function columnStatuses(page: Page): Promise<Record<string, string>> {
  return page.$$eval('.engine', (cols) => Object.fromEntries(cols.map((c) => [c.getAttribute('data-engine') ?? '', c.querySelector('.status')?.textContent ?? ''])));
}

function cardNames(page: Page): Promise<string[]> {
  return page.$$eval('.card', (cards) => cards.map((c) => c.getAttribute('data-container') ?? ''));
}

describe('the live cluster page in headless Chromium (own engines, one killed)', function () {
  this.timeout(180_000);
  let engines: EngineSet;
  let manager: ManagerHandle;
  let browser: Browser;
  let page: Page;
  let base: string;

  before(async function () {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (see .ci/run)`);
    engines = await startEngines(2, { namePrefix: 'page-' });
    base = `127.0.0.1:${await freePort()}`;
    manager = await startManager([`nodes://${engines.engines.map((e) => e.addr).join(',')}`, '--metrics-addr', base]);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 760 });
  });

  after(async function () {
    await browser?.close();
    await manager?.stop();
    await engines?.stop();
  });

  it('serves its files with proper content types', async function () {
    for (const [file, type] of [['/', 'text/html'], ['/static/app.js', 'text/javascript'], ['/static/style.css', 'text/css']]) {
      const res = await fetch(`http://${base}${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}`), file);
    }
    assert.equal((await fetch(`http://${base}/static/../../package.json`)).status, 404);
  });

  it('shows a container started with the docker CLI, live, then an engine killed turns Unhealthy', async function () {
    await page.goto(`http://${base}/`, { waitUntil: 'load' });
    await waitFor(async () => {
      const statuses = await columnStatuses(page);
      return statuses['page-0'] === 'Healthy' && statuses['page-1'] === 'Healthy';
    }, 30_000, 'both engines Healthy on the page');
    assert.equal(await page.$eval('#live', (e) => e.textContent), 'live');

    const run = await docker(manager.host, ['run', '-d', '--name', 'page-web', '-l', 'app=web', '-e', 'constraint:node==page-1', 'busybox', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    // How long the page took to show it running (the issue asks for "within a second"; printed, not asserted).
    const ranAt = Date.now();
    await page.waitForFunction(`document.querySelector('.card[data-container="page-web"] .state')?.textContent === 'running'`, { polling: 'mutation', timeout: 20_000 });
    console.log(`      page-web shown running ${Date.now() - ranAt} ms after docker run returned`);
    await docker(manager.host, ['run', '-d', '--name', 'page-db', '-c', '1', '-m', '6g', '-l', 'com.docker.compose.service=db', '-e', 'constraint:node==page-0', 'busybox', 'sleep', '1000']);
    await docker(manager.host, ['create', '--name', 'page-job', '-e', 'constraint:node==page-0', 'busybox', 'true']);
    // No reload: the page follows the manager's event stream.
    await page.waitForSelector('.engine[data-engine="page-1"] .card[data-container="page-web"]', { timeout: 20_000 });
    const card = await page.$eval('.card[data-container="page-web"]', (c) => ({ image: c.querySelector('.image')?.textContent, state: c.querySelector('.state')?.textContent }));
    assert.deepEqual(card, { image: 'busybox', state: 'running' });
    await waitFor(async () => (await page.$$eval('#events li', (li) => li.map((l) => l.textContent ?? ''))).some((t) => t.includes('container start page-web on page-1')), 10_000, 'the start event listed');

    // Filters: by name, then by label, narrow the cards.
    await page.select('#f-state', 'created');
    await waitFor(async () => (await cardNames(page)).join() === 'page-job', 10_000, 'state filter');
    await page.select('#f-state', '');
    await page.type('#f-name', 'page-web');
    await waitFor(async () => (await cardNames(page)).join() === 'page-web', 10_000, 'name filter');
    await page.$eval('#f-name', (e) => { (e as unknown as { value: string }).value = ''; });
    await page.type('#f-label', 'app=web');
    await waitFor(async () => (await cardNames(page)).join() === 'page-web', 10_000, 'label filter');
    await page.$eval('#f-label', (e) => { (e as unknown as { value: string }).value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); });
    await waitFor(async () => (await cardNames(page)).sort().join() === 'page-db,page-job,page-web', 10_000, 'filters cleared');
    const db = await page.$eval('.card[data-container="page-db"]', (c) => c.querySelector('.svc')?.textContent);
    assert.equal(db, 'service db', 'the service a container belongs to');
    const cpuBar = await page.$eval('.engine[data-engine="page-0"] .bar i', (i) => (i as unknown as { style: { width: string } }).style.width);
    assert.notEqual(cpuBar, '0.0%', 'reserved CPU drawn');

    // A service: its desired/running tasks in the services section, its task's card naming it.
    const svc = await docker(manager.host, ['service', 'create', '--detach', '--name', 'page-svc', '--replicas', '2', 'busybox', 'sleep', '1000']);
    assert.equal(svc.code, 0, svc.stderr);
    await waitFor(async () => (await page.$$eval('#service-list .service', (s) => s.map((e) => e.textContent))).join() === 'page-svc 2/2', 30_000, 'the service 2/2 on the page');
    assert.equal(await page.$eval('#services', (e) => (e as unknown as { hidden: boolean }).hidden), false);
    await waitFor(async () => (await page.$$eval('.card .svc', (s) => s.map((e) => e.textContent))).filter((t) => t === 'service page-svc').length === 2, 10_000, 'its 2 tasks\' cards');

    // A container with a HEALTHCHECK: its health on the card, live from the health_status event.
    const hc = await docker(manager.host, ['run', '-d', '--name', 'page-hc', '--health-cmd', 'true', '--health-interval', '1s', '-e', 'constraint:node==page-0', 'busybox', 'sleep', '1000']);
    assert.equal(hc.code, 0, hc.stderr);
    await waitFor(async () => (await page.$eval('.card[data-container="page-hc"]', (c) => c.querySelector('.health')?.textContent ?? '').catch(() => '')) === 'healthy', 30_000, 'page-hc healthy on its card');

    await engines.engines[1].kill();
    await waitFor(async () => (await columnStatuses(page))['page-1'] === 'Unhealthy', 30_000, 'page-1 Unhealthy on the page');
    assert.equal((await columnStatuses(page))['page-0'], 'Healthy');
    await waitFor(async () => (await page.$eval('.card[data-container="page-web"] .state', (e) => e.textContent)) === 'host down', 10_000, 'its container shown as host down');
    // Counted as host down, not running, as docker ps does: in the engine's counts and the totals.
    const view = await (await fetch(`http://${base}/api/cluster`)).json() as {
      totals: { containers: Record<string, number> };
      engines: { items: Array<{ name: string; containers: number; states: Record<string, number> }> };
    };
    const dead = view.engines.items.find((e) => e.name === 'page-1')!;
    assert.deepEqual(dead.states, { 'host down': dead.containers });
    const runningOnLive = view.engines.items.filter((e) => e !== dead).reduce((n, e) => n + (e.states.running ?? 0), 0);
    assert.equal(view.totals.containers.running, runningOnLive);
    assert.equal(view.totals.containers['host down'], dead.containers);
    await page.select('#f-state', 'host down');
    await waitFor(async () => (await page.$$eval('.engine', (cols) => cols.map((c) => `${c.getAttribute('data-engine')}:${c.querySelectorAll('.card').length}`))).join() === `page-1:${dead.containers}`, 10_000, 'the host down filter');
    await page.select('#f-state', '');
    await waitFor(async () => (await page.$$eval('.engine', (cols) => cols.length)) === 2, 10_000, 'filter cleared');

    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const shot = path.join(OUTPUT_DIR, 'cluster-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = fs.readFileSync(shot);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.ok(png.length > 10_000, `screenshot of ${png.length} bytes`);
    console.log(`      screenshot: ${path.relative(process.cwd(), shot)}`);
    if (process.env.SWARM_UPDATE_DOCS === '1') fs.copyFileSync(shot, path.join(REPO_ROOT, 'docs', 'cluster-page.png'));
  });
});
