// The live cluster page: renders one page of /api/cluster, re-fetches it when the manager's
// event stream (/api/events, Server-Sent Events) says the state changed, and lists recent
// events. Plain DOM, no framework; at most perPage columns x cards cards are ever in the page.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { page: 0, perPage: 12, cards: 24, inflight: false, again: false };
  const MAX_EVENTS = 200;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const gib = (b) => (b / 1024 ** 3).toFixed(1) + ' GiB';
  const fmtCpu = (n) => (Math.round(n * 100) / 100).toString();

  function query() {
    const q = new URLSearchParams({ page: state.page, perPage: state.perPage, cards: state.cards });
    for (const k of ['name', 'label', 'state']) { const v = $('f-' + k).value.trim(); if (v) q.set(k, v); }
    return q;
  }

  async function refresh() {
    if (state.inflight) { state.again = true; return; }
    state.inflight = true;
    try {
      const res = await fetch('/api/cluster?' + query());
      if (res.ok) render(await res.json());
    } catch (e) { /* the manager may be restarting; the next change retries */ }
    state.inflight = false;
    if (state.again) { state.again = false; refresh(); }
  }

  function meter(label, used, total, fmt) {
    const wrap = el('div');
    const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
    const m = el('div', 'meter');
    m.append(el('span', '', label), el('span', '', fmt(used) + ' / ' + fmt(total)));
    const bar = el('div', 'bar' + (pct >= 100 ? ' full' : ''));
    const fill = el('i'); fill.style.width = pct.toFixed(1) + '%'; bar.append(fill);
    wrap.append(m, bar);
    return wrap;
  }

  function engineColumn(e) {
    const col = el('div', 'engine ' + e.status);
    col.dataset.engine = e.name;
    const h = el('h3');
    h.append(el('span', 'name', e.name), el('span', 'status ' + e.status, e.status === 'healthy' ? 'Healthy' : e.status === 'unhealthy' ? 'Unhealthy' : 'Pending'));
    col.append(h, el('div', 'addr', e.addr));
    if (e.error && e.status !== 'healthy') col.append(el('div', 'err', e.error));
    const labels = el('div', 'labels');
    for (const [k, v] of Object.entries(e.labels)) {
      if (['storagedriver', 'kernelversion', 'operatingsystem', 'ostype'].includes(k)) continue;
      labels.append(el('span', '', k + '=' + v));
    }
    col.append(labels, meter('CPU reserved', e.cpus.reserved, e.cpus.total, fmtCpu), meter('Memory reserved', e.memory.reserved, e.memory.total, gib));
    const states = Object.entries(e.states).map(([s, n]) => n + ' ' + s).join(', ');
    col.append(el('div', 'meter', e.containers + (e.containers === 1 ? ' container' : ' containers') + (states ? ': ' + states : '')));
    for (const c of e.cards) {
      const card = el('div', 'card ' + c.state.replace(/\s+/g, '-'));
      card.dataset.container = c.name;
      card.append(el('div', 'n', c.name));
      const meta = el('div', 'm');
      meta.append(el('span', 'image', c.image), el('span', 'state', c.state));
      if (c.health) meta.append(el('span', 'health', c.health));
      if (c.service) meta.append(el('span', 'svc', 'service ' + c.service));
      card.append(meta);
      col.append(card);
    }
    if (e.matching > e.cards.length) col.append(el('div', 'more', '+ ' + (e.matching - e.cards.length) + ' more'));
    return col;
  }

  function render(view) {
    const r = view.readiness;
    const ready = $('ready');
    ready.textContent = r.ready ? 'ready' : 'not ready: ' + r.reasons.join('; ');
    ready.className = 'pill ' + (r.ready ? 'ok' : 'bad');
    const t = view.totals;
    const totals = $('totals');
    totals.replaceChildren();
    const add = (label, n) => { const s = el('span'); s.append(el('b', '', String(n ?? 0)), document.createTextNode(' ' + label)); totals.append(s); };
    add('engines', t.engines.total); add('healthy', t.engines.healthy); add('unhealthy', t.engines.unhealthy);
    add('containers', t.containers.total); add('running', t.containers.running);
    const svc = $('services');
    svc.hidden = view.services.length === 0;
    $('service-list').replaceChildren(...view.services.map((s) => el('div', 'service' + (s.running < s.desired ? ' short' : ''), s.name + ' ' + s.running + '/' + s.desired)));
    const main = $('engines');
    const cols = view.engines.items.map(engineColumn);
    if (cols.length === 0) cols.push(el('div', 'empty', 'No engine matches.'));
    main.replaceChildren(...cols);
    state.page = view.engines.page;
    $('pageinfo').textContent = 'engines ' + (view.engines.matching === 0 ? 0 : view.engines.page * state.perPage + 1) + '–' +
      Math.min(view.engines.matching, (view.engines.page + 1) * state.perPage) + ' of ' + view.engines.matching;
    $('prev').disabled = view.engines.page === 0;
    $('next').disabled = view.engines.page >= view.engines.pages - 1;
    document.body.dataset.updated = String(view.time);
  }

  function addEvents(batch) {
    const list = $('events');
    for (const e of batch.events) {
      const li = el('li');
      li.append(el('span', 't', new Date(e.time).toLocaleTimeString()), document.createTextNode(e.type + ' ' + e.action + ' ' + e.object + (e.node ? ' on ' + e.node : '')));
      list.prepend(li);
    }
    if (batch.dropped > 0) list.prepend(el('li', '', '… ' + batch.dropped + ' more events'));
    while (list.children.length > MAX_EVENTS) list.lastChild.remove();
  }

  function connect() {
    const source = new EventSource('/api/events');
    source.addEventListener('open', () => { $('live').textContent = 'live'; $('live').className = 'pill ok'; refresh(); });
    source.addEventListener('error', () => { $('live').textContent = 'reconnecting'; $('live').className = 'pill muted'; });
    source.addEventListener('events', (m) => addEvents(JSON.parse(m.data)));
    source.addEventListener('changed', () => refresh());
  }

  let typing;
  $('filters').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => { state.page = 0; refresh(); }, 200); });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('prev').addEventListener('click', () => { state.page = Math.max(0, state.page - 1); refresh(); });
  $('next').addEventListener('click', () => { state.page++; refresh(); });
  refresh();
  connect();
})();
