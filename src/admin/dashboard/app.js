/* Portico dashboard: draws the frames the admin process pushes over the
 * WebSocket /dashboard/ws (docs/dashboard.md has the frame format).
 *
 * Plain JavaScript, no library, no build step and no external URL: the page
 * is compiled into the binary and must work offline. The page is served
 * with `Content-Security-Policy: default-src 'self'`, so there is no inline
 * script or style anywhere; positions and sizes are set through the CSSOM
 * (element.style), which that policy allows. Text that comes from the node
 * (paths, names) only ever goes into textContent. */
'use strict';

/* Connection states in the order the slot grid draws them: the busy ones
 * first, so a worker's load reads as a bar growing from the top left. */
const STATES = ['active', 'reading', 'writing', 'waiting', 'keepalive', 'free'];
const HISTORY_MAX = 300;          /* points, one a second: the admin's ring */
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
const STALE_MS = 5000;            /* frames come every 250 ms: 5 s of silence is a dead socket */
const BADGE_MS = 10000;           /* how long a respawned worker stays marked */
const GRID_MAX_HEIGHT = 220;      /* CSS px of slot grid per worker */

const view = {
  token: readToken(),
  masterPid: null,
  history: [],
  lastFrame: null,
  cards: new Map(),       /* slot -> worker card */
  pids: new Map(),        /* slot -> { pid, generation, badge, badgeUntil }, kept while a slot is empty */
  upstreamsKey: '',
  selectedTrace: null,
  colours: null,
};

const conn = { ws: null, first: true, backoffMs: BACKOFF_MIN_MS, timer: 0, lastMessage: 0 };

/* ---- small helpers ---------------------------------------------------- */

function $(id) {
  return document.getElementById(id);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className)
    node.className = className;
  if (text !== undefined)
    node.textContent = text;
  return node;
}

/* Only touch the DOM when the text changes: frames come 4 times a second
 * and most values stay the same. */
function setText(node, text) {
  text = String(text);
  if (node.textContent !== text)
    node.textContent = text;
}

function isNum(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

/* No digit grouping: the numbers must stay readable by parseFloat (the
 * browser test reads #rps). */
function fmtRate(x) {
  if (!isNum(x))
    return '–';
  return x >= 100 ? String(Math.round(x)) : x.toFixed(1);
}

function fmtMs(x) {
  if (!isNum(x))
    return '–';
  if (x < 1)
    return x.toFixed(2);
  return x < 10 ? x.toFixed(1) : String(Math.round(x));
}

function fmtUs(us) {
  if (us < 1000)
    return `${Math.round(us)} µs`;
  return `${(us / 1000).toFixed(us < 10000 ? 2 : 1)} ms`;
}

function fmtDuration(s) {
  if (!isNum(s))
    return '–';
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60, sec = s % 60;
  if (d)
    return `${d}d ${h}h`;
  if (h)
    return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m)
    return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/* A round step (1, 2, 2.5 or 5 times a power of ten) that cuts `total`
 * into at most about `n` parts: axis ticks and chart scales. */
function niceStep(total, n) {
  if (!(total > 0))
    return 1 / n;
  const raw = total / n;
  const e = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5])
    if (m * e >= raw)
      return m * e;
  return 10 * e;
}

/* The token comes in the URL fragment (/#token=T): a fragment is never sent
 * to the server, so it stays out of access logs. */
function readToken() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  return params.get('token') || '';
}

function authHeaders() {
  return view.token ? { Authorization: `Bearer ${view.token}` } : {};
}

/* The state colours live in app.css only; the canvas reads them from there. */
function colours() {
  if (!view.colours) {
    const style = getComputedStyle(document.documentElement);
    view.colours = {};
    for (const s of STATES)
      view.colours[s] = style.getPropertyValue(`--${s}`).trim() || '#888';
  }
  return view.colours;
}

/* ---- the socket --------------------------------------------------------- */

function setWsState(state, detail) {
  const node = $('ws-state');
  node.dataset.state = state;
  let text = state;
  if (state === 'reconnecting')
    text = `reconnecting in ${(detail / 1000).toFixed(1)} s`;
  else if (state === 'error')
    text = detail;
  setText(node, text);
  /* Browsers cannot tell a refused token from a node that is down. */
  node.title = state === 'live' ? '' :
    'No frames. Is the node running? With node.admin_token set, open this page as /#token=TOKEN.';
  document.body.dataset.live = state === 'live' ? '1' : '0';
}

function connect() {
  clearTimeout(conn.timer);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}/dashboard/ws`;
  let ws;
  try {
    /* Browsers cannot put headers on a WebSocket: the token travels as a
     * subprotocol, which the admin process accepts instead. */
    ws = view.token ? new WebSocket(url, `portico-token.${view.token}`) : new WebSocket(url);
  } catch (e) {
    setWsState('error', `token unusable (${e.name})`);
    return;
  }
  conn.ws = ws;
  conn.first = true;
  conn.lastMessage = Date.now();
  setWsState('connecting');
  ws.onmessage = (ev) => onMessage(ws, ev);
  ws.onclose = () => dropSocket(ws);
  /* An error is always followed by a close event: nothing to do here. */
}

function onMessage(ws, ev) {
  if (ws !== conn.ws)
    return;
  let frame;
  try {
    frame = JSON.parse(ev.data);
  } catch (e) {
    return;
  }
  if (!frame || frame.type !== 'frame')
    return;
  conn.lastMessage = Date.now();
  const first = conn.first;
  if (first) {
    conn.first = false;
    conn.backoffMs = BACKOFF_MIN_MS;
    setWsState('live');
  }
  applyFrame(frame, first);
}

/* Forget a socket (closed, or silent too long) and try again later, waiting
 * longer after each failure: a node that restarts comes back on its own. */
function dropSocket(ws) {
  if (ws !== conn.ws)
    return;
  conn.ws = null;
  ws.onmessage = ws.onclose = null;
  if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN)
    ws.close();
  const delay = conn.backoffMs;
  conn.backoffMs = Math.min(conn.backoffMs * 2, BACKOFF_MAX_MS);
  setWsState('reconnecting', delay);
  conn.timer = setTimeout(connect, delay);
}

/* A stopped (not dead) node keeps its socket open: no close event ever comes. */
function watchdog() {
  if (conn.ws && Date.now() - conn.lastMessage > STALE_MS)
    dropSocket(conn.ws);
}

/* ---- a frame ---------------------------------------------------------- */

function applyFrame(frame, first) {
  const node = frame.node || {};
  const workers = frame.workers || [];
  if (node.master_pid !== view.masterPid) {
    /* Another node (restarted, or the next variant of a scenario): its
     * pids are not respawns and its trace ids start over. */
    view.masterPid = node.master_pid;
    view.pids.clear();
    view.selectedTrace = null;
    $('traces').replaceChildren();
    waterfallMessage('No request picked.');
  }
  view.lastFrame = frame;
  renderNode(node, workers);
  renderTotals(frame.rates || {}, workers);
  if (mergeHistory(frame.history || [], first))
    renderCharts();
  renderWorkers(workers, node);
  renderUpstreams(frame.upstreams || []);
  renderTls(frame.tls || {});
  renderTraceList(frame.traces || []);
}

/* The first frame on a socket holds the whole history; later ones only the
 * seconds added since. Returns whether anything changed. */
function mergeHistory(points, first) {
  if (first) {
    view.history = points.slice(-HISTORY_MAX);
    return true;
  }
  const last = view.history.length ? view.history[view.history.length - 1].t : -Infinity;
  const fresh = points.filter((p) => p.t > last);
  if (!fresh.length)
    return false;
  view.history.push(...fresh);
  if (view.history.length > HISTORY_MAX)
    view.history.splice(0, view.history.length - HISTORY_MAX);
  return true;
}

function renderNode(node, workers) {
  setText($('node-master-pid'), node.master_pid ?? '–');
  setText($('node-generation'), node.generation ?? '–');
  setText($('node-uptime'), fmtDuration(node.uptime_s));
  const failures = node.reload_failures ? ` (${node.reload_failures} failed)` : '';
  setText($('node-reloads'), `${node.reloads ?? '–'}${failures}`);
  setText($('node-respawns'), node.respawns ?? '–');
  setText($('node-workers'), `${workers.length} / ${node.workers_configured ?? '?'}`);
  setText($('node-backend'), node.event_backend || '–');
  const error = $('reload-error');
  error.hidden = !node.last_reload_error;
  if (node.last_reload_error)
    setText(error, `last reload failed: ${node.last_reload_error}`);
}

function renderTotals(rates, workers) {
  setText($('rps'), fmtRate(rates.rps));
  setText($('p50'), fmtMs(rates.p50_ms));
  setText($('p90'), fmtMs(rates.p90_ms));
  setText($('p99'), fmtMs(rates.p99_ms));
  const status = rates.status || {};
  for (const cls of ['2xx', '4xx', '5xx']) {
    const node = $(`status-${cls}`);
    setText(node, status[cls] ?? '–');
    node.toggleAttribute('data-zero', !status[cls]);
  }
  let open = 0;
  for (const w of workers)
    for (const s of STATES)
      if (s !== 'free')
        open += (w.connections && w.connections[s]) || 0;
  setText($('conns'), open);
}

/* ---- workers -------------------------------------------------------------- */

function renderWorkers(workers, node) {
  const container = $('workers');
  const now = Date.now();
  const seen = new Set();
  let prev = null;
  for (const w of workers) {
    seen.add(w.slot);
    let card = view.cards.get(w.slot);
    if (!card) {
      card = makeCard(w.slot);
      view.cards.set(w.slot, card);
    }
    /* Keep the cards in slot order without rebuilding them. */
    const wanted = prev ? prev.root.nextSibling : container.firstChild;
    if (card.root !== wanted)
      container.insertBefore(card.root, wanted);
    prev = card;
    noteRespawn(w, now);
    updateCard(card, w, node, now);
  }
  for (const [slot, card] of view.cards)
    if (!seen.has(slot)) {
      card.root.remove();
      view.cards.delete(slot);
    }
}

/* A slot whose pid changed within one generation holds a worker the master
 * started after the last one died; across generations it is a reload. The
 * record outlives the card, since a dead worker's slot may be empty for a
 * frame or two before the new one shows. */
function noteRespawn(w, now) {
  const last = view.pids.get(w.slot);
  const mark = last && last.pid !== w.pid;
  view.pids.set(w.slot, {
    pid: w.pid,
    generation: w.generation,
    badge: mark ? (last.generation === w.generation ? 'respawned' : 'new generation') : last && last.badge,
    badgeUntil: mark ? now + BADGE_MS : last ? last.badgeUntil : 0,
  });
}

function makeStat(parent, label) {
  const box = el('div');
  box.append(el('span', 'label', label));
  const value = el('span', 'value', '–');
  box.append(value);
  parent.append(box);
  return value;
}

function makeCard(slot) {
  const root = el('article', 'worker');
  root.dataset.slot = slot;
  const head = el('div', 'worker-head');
  const pid = el('span', 'pid');
  const badge = el('span', 'badge respawned');
  badge.hidden = true;
  const state = el('span', 'wstate');
  head.append(el('h3', '', `worker ${slot}`), pid, badge, state);
  const stats = el('div', 'stats');
  const card = {
    root, pid, badge, state,
    rps: makeStat(stats, 'req/s'),
    lag: makeStat(stats, 'loop lag ms (max)'),
    upstream: makeStat(stats, 'upstream idle / busy'),
    timers: el('p', 'timers'),
    canvas: el('canvas'),
    counts: el('p', 'counts'),
    drawnKey: '',
  };
  const slots = el('div', 'slots');
  slots.append(card.canvas);
  root.append(head, stats, card.timers, slots, card.counts);
  return card;
}

function updateCard(card, w, node, now) {
  card.root.dataset.pid = w.pid;
  card.root.dataset.state = w.state;
  setText(card.pid, `pid ${w.pid}`);
  const mark = view.pids.get(w.slot);
  const marked = mark && mark.badge && now < mark.badgeUntil;
  card.badge.hidden = !marked;
  card.root.toggleAttribute('data-respawned', !!(marked && mark.badge === 'respawned'));
  if (marked)
    setText(card.badge, mark.badge);
  setText(card.state, `${w.state} · gen ${w.generation} · up ${fmtDuration(w.uptime_s)}`);
  setText(card.rps, fmtRate(w.rps));
  setText(card.lag, `${fmtMs(w.loop_lag_ms)} (${fmtMs(w.loop_lag_max_ms)})`);
  const up = w.upstream || {};
  setText(card.upstream, `${up.idle ?? '–'} / ${up.busy ?? '–'}`);
  setText(card.timers, timersText(w.timers || {}));
  drawSlots(card, w.connections || {}, node.worker_connections);
}

/* "timers 3 pending: rate-limiting 2 · core 1": the owners that have some. */
function timersText(timers) {
  const owners = (timers.owners || [])
    .filter((o) => o.pending || o.running)
    .sort((a, b) => b.pending - a.pending)
    .map((o) => `${o.name} ${o.pending}${o.running ? ` (+${o.running} running)` : ''}`);
  const head = `timers ${timers.pending ?? 0} pending, ${timers.running ?? 0} running`;
  return owners.length ? `${head}: ${owners.join(' · ')}` : head;
}

/* The counts per state, free included: the frame's `free`, or what the
 * capacity leaves when a frame has none. */
function slotCounts(conns, capacity) {
  const counts = {};
  let busy = 0;
  for (const s of STATES)
    if (s !== 'free') {
      counts[s] = Math.max(0, conns[s] | 0);
      busy += counts[s];
    }
  counts.free = isNum(conns.free) ? Math.max(0, conns.free) : Math.max(0, (capacity | 0) - busy);
  return counts;
}

/* The largest square cell (14 px down to 4) that fits every slot within
 * GRID_MAX_HEIGHT; a node with many connections per worker gets one cell
 * for several slots instead (`per`). */
function gridLayout(n, width) {
  for (let cell = 14; cell >= 4; cell--) {
    const gap = cell >= 8 ? 2 : 1;
    const cols = Math.max(1, Math.floor((width + gap) / (cell + gap)));
    const rows = Math.ceil(n / cols);
    if (rows * (cell + gap) <= GRID_MAX_HEIGHT)
      return { cell, gap, cols, rows, per: 1 };
  }
  const cell = 4, gap = 1;
  const cols = Math.max(1, Math.floor((width + gap) / (cell + gap)));
  const per = Math.ceil(n / (cols * Math.floor(GRID_MAX_HEIGHT / (cell + gap))));
  return { cell, gap, cols, rows: Math.ceil(Math.ceil(n / per) / cols), per };
}

function drawSlots(card, conns, capacity) {
  const counts = slotCounts(conns, capacity);
  const canvas = card.canvas;
  const width = canvas.clientWidth || 360;
  const key = `${STATES.map((s) => counts[s]).join(',')}|${width}`;
  if (key === card.drawnKey)
    return;
  card.drawnKey = key;
  /* The attributes say what is drawn, for tests and anyone reading the DOM. */
  let n = 0;
  for (const s of STATES) {
    canvas.dataset[s] = counts[s];
    n += counts[s];
  }
  canvas.dataset.capacity = n;

  const g = gridLayout(n, width);
  /* Grouped cells: any busy connection keeps at least one cell, free cells
   * take what is left. */
  const cells = {};
  let used = 0;
  for (const s of STATES)
    if (s !== 'free') {
      cells[s] = Math.ceil(counts[s] / g.per);
      used += cells[s];
    }
  cells.free = Math.max(0, Math.ceil(n / g.per) - used);

  const height = Math.max(1, g.rows * (g.cell + g.gap) - g.gap);
  const dpr = window.devicePixelRatio || 1;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const palette = colours();
  let i = 0;
  for (const s of STATES) {
    ctx.fillStyle = palette[s];
    for (let k = 0; k < cells[s]; k++, i++) {
      const x = (i % g.cols) * (g.cell + g.gap);
      const y = Math.floor(i / g.cols) * (g.cell + g.gap);
      ctx.fillRect(x, y, g.cell, g.cell);
    }
  }
  const parts = STATES.filter((s) => s === 'free' || counts[s]).map((s) => `${counts[s]} ${s}`);
  const grouping = g.per > 1 ? ` (a cell: ${g.per} slots)` : '';
  setText(card.counts, parts.join(' · ') + grouping);
  canvas.setAttribute('aria-label', parts.join(', '));
}

/* ---- charts (SVG) --------------------------------------------------------- */

const CHARTS = [
  { id: 'chart-rps', keys: ['rps', 'errors'], area: true },
  { id: 'chart-latency', keys: ['p50_ms', 'p90_ms', 'p99_ms'] },
  { id: 'chart-lag', keys: ['lag_max_ms'] },
];

function renderCharts() {
  for (const spec of CHARTS)
    drawChart($(spec.id), spec, view.history);
}

function axisLabel(v) {
  if (v >= 10000)
    return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/* The runs of a series without holes: a second missing from the history or
 * a value missing (no request, no percentile) breaks the line. */
function segments(points, key, x, y) {
  const runs = [];
  let run = null, prevT = null;
  for (const p of points) {
    const v = p[key];
    if (!isNum(v) || (prevT !== null && p.t - prevT > 2)) {
      run = null;
    }
    if (isNum(v)) {
      if (!run)
        runs.push(run = []);
      run.push([x(p.t), y(v)]);
    }
    prevT = p.t;
  }
  return runs;
}

function pathOf(run) {
  return run.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join('');
}

/* A fixed five-minute window ending at the newest point: the line grows in
 * from the right, as on a monitor. Only numbers go into the markup. */
function drawChart(svg, spec, points) {
  const W = svg.clientWidth || 600, H = svg.clientHeight || 200;
  const m = { l: 48, r: 12, t: 10, b: 22 };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const tEnd = points.length ? points[points.length - 1].t : 0;
  const tStart = tEnd - (HISTORY_MAX - 1);
  const x = (t) => m.l + ((t - tStart) / (HISTORY_MAX - 1)) * (W - m.l - m.r);
  let max = 0;
  for (const p of points)
    for (const k of spec.keys)
      if (isNum(p[k]))
        max = Math.max(max, p[k]);
  /* Four grid steps of a round size: labels like 0 25 50 75 100. */
  const step = niceStep(max, 4), top = 4 * step;
  const y = (v) => H - m.b - (v / top) * (H - m.t - m.b);
  const out = [];
  for (let i = 0; i <= 4; i++) {
    const v = step * i, py = y(v).toFixed(1);
    out.push(`<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${py}" y2="${py}"/>`);
    out.push(`<text x="${m.l - 6}" y="${(+py + 4).toFixed(1)}" text-anchor="end">${axisLabel(v)}</text>`);
  }
  for (let s = 0; s < HISTORY_MAX; s += 60) {
    const px = x(tEnd - s).toFixed(1);
    out.push(`<text x="${px}" y="${H - 4}" text-anchor="${s ? 'middle' : 'end'}">${s ? `−${s / 60} min` : 'now'}</text>`);
  }
  spec.keys.forEach((key, i) => {
    const runs = segments(points, key, x, y);
    if (spec.area && i === 0)
      for (const run of runs)
        out.push(`<path class="area" d="${pathOf(run)}L${run[run.length - 1][0].toFixed(1)},${y(0)}L${run[0][0].toFixed(1)},${y(0)}Z"/>`);
    for (const run of runs)
      out.push(`<path class="series s${i}" d="${pathOf(run)}"/>`);
  });
  svg.innerHTML = out.join('');
}

/* ---- upstreams and TLS ------------------------------------------------------ */

function renderUpstreams(upstreams) {
  const key = JSON.stringify(upstreams);
  if (key === view.upstreamsKey)
    return;
  view.upstreamsKey = key;
  const box = $('upstreams');
  if (!upstreams.length) {
    box.replaceChildren(el('p', 'muted', 'none configured'));
    return;
  }
  box.replaceChildren(...upstreams.map(upstreamTable));
}

function upstreamTable(u) {
  const wrap = el('div', 'upstream');
  wrap.dataset.name = u.name;
  wrap.append(el('h3', '', `${u.name} · ${u.algorithm || ''}`));
  const table = el('table');
  const head = el('tr');
  for (const h of ['target', 'weight', 'health'])
    head.append(el('th', '', h));
  table.append(head);
  for (const t of u.targets || []) {
    const row = el('tr');
    const health = el('span', 'health', t.health || '?');
    health.dataset.health = t.health || '';
    const cell = el('td');
    cell.append(health);
    row.append(el('td', '', t.target), el('td', '', t.weight ?? ''), cell);
    table.append(row);
  }
  wrap.append(table);
  return wrap;
}

function renderTls(tls) {
  for (const row of $('tls').querySelectorAll('tr[data-side]')) {
    const side = tls[row.dataset.side] || {};
    const cells = row.querySelectorAll('td');
    ['full', 'resumed', 'failed'].forEach((kind, i) => setText(cells[i], side[kind] ?? '–'));
  }
}

/* ---- request inspector ------------------------------------------------------- */

/* New traces go on top and gone ones leave, the rest stays put; while the
 * pointer is over the list it does not move at all, so a click lands on
 * the request that was aimed at. */
function renderTraceList(traces) {
  const list = $('traces');
  if (list.matches(':hover'))
    return;
  const ids = new Set(traces.map((t) => t.id));
  for (const li of [...list.children])
    if (!ids.has(li.dataset.id))
      li.remove();
  const have = new Set([...list.children].map((li) => li.dataset.id));
  const first = list.firstChild;
  for (const t of traces)
    if (!have.has(t.id))
      list.insertBefore(traceItem(t), first);
}

function traceItem(t) {
  const li = el('li');
  li.dataset.id = t.id;
  const button = el('button', 'trace-item');
  button.type = 'button';
  button.dataset.id = t.id;
  button.setAttribute('aria-pressed', String(t.id === view.selectedTrace));
  const status = el('span', 'status', t.status);
  status.dataset.class = String(t.status).charAt(0);
  const ms = isNum(t.total_ms) ? t.total_ms : (t.duration_us || 0) / 1000;
  const path = el('span', 'path', `${t.method} ${t.path}`);
  path.title = `${t.id}: ${t.method} ${t.path}`;
  button.append(status, path, el('span', 'ms', `${fmtMs(ms)} ms`));
  button.addEventListener('click', () => selectTrace(t.id));
  li.append(button);
  return li;
}

function waterfallMessage(text) {
  $('waterfall').replaceChildren(el('p', 'muted', text));
}

/* One fetch per click: the summaries come with the frames, the spans only
 * when someone asks. */
async function selectTrace(id) {
  view.selectedTrace = id;
  for (const b of $('traces').querySelectorAll('.trace-item'))
    b.setAttribute('aria-pressed', String(b.dataset.id === id));
  waterfallMessage(`loading ${id}…`);
  let res, trace;
  try {
    res = await fetch(`/traces/${encodeURIComponent(id)}`, { headers: authHeaders(), cache: 'no-store' });
    trace = res.ok ? await res.json() : null;
  } catch (e) {
    if (view.selectedTrace === id)
      waterfallMessage(`${id}: the admin API did not answer (${e.message})`);
    return;
  }
  if (view.selectedTrace !== id)
    return;  /* another click came first */
  if (res.status === 404)
    waterfallMessage(`${id} is gone: each worker keeps only its last few traced requests.`);
  else if (!trace)
    waterfallMessage(`${id}: the admin API answered ${res.status}.`);
  else
    renderWaterfall(trace);
}

function waterfallRow(kind, label) {
  const row = el('div', 'wf-row');
  row.dataset.kind = kind;
  const name = el('span', 'wf-label', label);
  name.title = label;
  const track = el('div', 'wf-track');
  row.append(name, track);
  return { row, track };
}

/* The time axis: a tick every round number of microseconds, labelled in ms. */
function waterfallAxis(total) {
  const { row, track } = waterfallRow('axis', 'ms');
  row.classList.add('wf-axis');
  const step = niceStep(total, 6);
  for (let v = 0; v <= total + 1e-9; v += step) {
    const tick = el('span', 'tick', String(Number((v / 1000).toPrecision(3))));
    tick.style.left = `${(v / total) * 100}%`;
    track.append(tick);
  }
  return row;
}

/* Bars on the request's own clock: from the complete request head (0) to
 * the end of its log phase. Module calls sit under the phase they ran in. */
function renderWaterfall(trace) {
  const spans = trace.spans || [];
  let total = trace.duration_us || 0;
  for (const s of spans)
    total = Math.max(total, s.offset_us + s.duration_us);
  total = Math.max(total, 1);

  const head = el('p', 'wf-head');
  const who = [`route ${trace.route || '(none)'}`, `service ${trace.service || '(none)'}`];
  if (trace.consumer)
    who.push(`consumer ${trace.consumer}`);
  who.push(`worker ${trace.worker}`, trace.requested ? 'traced on request' : 'sampled');
  head.append(el('strong', '', `${trace.id}  ${trace.method} ${trace.path} → ${trace.status}  ${fmtUs(trace.duration_us || 0)}`),
              el('br'), el('span', 'muted', who.join(' · ')));

  const rows = [head, waterfallAxis(total)];
  for (const s of spans) {
    const label = s.kind === 'module' ? `${s.name} → ${s.result}` :
      s.kind === 'upstream' ? `upstream ${s.name} (${s.result})` : s.name;
    const { row, track } = waterfallRow(s.kind, label);
    const bar = el('div', 'span');
    bar.dataset.kind = s.kind;
    bar.dataset.name = s.name;
    if (s.result)
      bar.dataset.result = s.result;
    const start = (s.offset_us / total) * 100, end = ((s.offset_us + s.duration_us) / total) * 100;
    bar.style.left = `${start}%`;
    bar.style.width = `${end - start}%`;
    bar.title = `${label}: ${fmtUs(s.duration_us)} at +${fmtUs(s.offset_us)}`;
    /* The duration right of the bar; left of it when the bar ends near the
     * edge, inside it when it is as wide as the track. */
    const dur = el('span', 'dur', fmtUs(s.duration_us));
    if (end <= 75) {
      dur.style.left = `${end}%`;
    } else if (start >= 20) {
      dur.style.right = `${100 - start}%`;
      dur.style.paddingRight = '0.3rem';
    } else {
      dur.style.left = `${start}%`;
      dur.classList.add('inside');
    }
    track.append(bar, dur);
    rows.push(row);
  }
  if (trace.spans_dropped)
    rows.push(el('p', 'muted', `${trace.spans_dropped} more spans were not kept (48 at most per request).`));
  const legend = el('p', 'wf-legend muted', 'bars:');
  for (const k of ['phase', 'module', 'upstream'])
    legend.append(el('span', `k-${k}`, k === 'upstream' ? 'upstream try' : k === 'module' ? 'module call' : 'phase window'));
  rows.push(legend);
  $('waterfall').replaceChildren(...rows);
}

/* ---- start ------------------------------------------------------------------- */

function onResize() {
  for (const card of view.cards.values())
    card.drawnKey = '';
  renderCharts();
  if (view.lastFrame)
    renderWorkers(view.lastFrame.workers || [], view.lastFrame.node || {});
}

function start() {
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(onResize, 150);
  });
  window.addEventListener('hashchange', () => {
    view.token = readToken();
    if (conn.ws)
      dropSocket(conn.ws);
    connect();
  });
  setInterval(watchdog, 1000);
  renderCharts();
  connect();
}

start();
