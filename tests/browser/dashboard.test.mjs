// dashboard.test.mjs: the dashboard page in a real browser, against a real
// node with traffic (docs/dashboard.md).
//
// Starts `portico mock` and `portico serve` (2 workers) as children, opens
// http://ADMIN/ in headless Debian chromium through playwright-core, and
// checks what the page shows: the socket live, the workers' real pids, busy
// slots and a request rate while traffic runs, a SIGKILLed worker coming
// back with a new pid and a "respawned" badge, and a traced request's
// waterfall. Saves a screenshot ($PORTICO_DASHBOARD_SHOT).
//
// Prints a TAP-style line per check. Exit 0: passed; 1: failed; 77 (a skip
// for meson) only when chromium or node_modules/playwright-core is missing.
// Every wait is bounded; every child is killed at the end, failure or not.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PORTICO = process.env.PORTICO_BIN || path.join(here, '..', '..', 'build', 'src', 'portico');
const CHROMIUM = process.env.PORTICO_CHROMIUM || '/usr/bin/chromium';
const SHOT = process.env.PORTICO_DASHBOARD_SHOT || path.join(os.tmpdir(), 'portico-dashboard.png');
const WAIT_MS = 20000;           /* the longest any one check waits: the machine may be loaded */
const TRAFFIC_MIN_MS = 6000;
const TRAFFIC_MAX_MS = 30000;
const CONCURRENCY = 20;

const children = [];
let browser = null;
let tmpDir = null;
let checks = 0;

function ok(text) {
  checks++;
  console.log(`ok ${checks} - ${text}`);
}

class CheckFailed extends Error {}

function fail(text) {
  throw new CheckFailed(text);
}

function skip(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(77);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/* Calls fn until it returns something truthy, at most `ms`; the last
 * error or value is in the failure message. */
async function waitFor(what, fn, ms = WAIT_MS) {
  const end = Date.now() + ms;
  let last;
  for (let i = 0; Date.now() < end && i < 10000; i++) {
    try {
      const value = await fn();
      if (value)
        return value;
      last = value;
    } catch (e) {
      last = e.message;
    }
    await sleep(100);
  }
  fail(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`);
}

/* ---- children ------------------------------------------------------------- */

/* Starts a child and resolves with the addresses it prints ("WORD ADDR"
 * lines) once every word in `words` has shown up. */
function startChild(name, args, words) {
  const child = spawn(PORTICO, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stderr = [];
  child.stderr.on('data', (d) => {
    stderr.push(d.toString());
    if (stderr.length > 200)
      stderr.shift();
  });
  child.stderrText = () => stderr.join('');
  return new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error(`${name}: no ${words.join('/')} line in 15 s`)), 15000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}): ${child.stderrText().slice(-2000)}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const [word, addr] = line.trim().split(/\s+/);
      if (words.includes(word) && !found[word])
        found[word] = addr;
      if (words.every((w) => found[w])) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, ...found });
      }
    });
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null)
    return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/* The last resort, on any way out: no child outlives the test. */
process.on('exit', () => {
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null)
      c.kill('SIGKILL');
  if (tmpDir)
    fs.rmSync(tmpDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => process.exit(1));

/* ---- HTTP ---------------------------------------------------------------------- */

function request(addr, reqPath, { headers = {}, agent } = {}) {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: Number(port), path: reqPath, headers, agent, timeout: 10000 }, (res) => {
      const body = [];
      res.on('data', (d) => body.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(body).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function getJson(addr, reqPath) {
  const res = await request(addr, reqPath);
  if (res.status !== 200)
    throw new Error(`GET ${reqPath}: ${res.status}`);
  return JSON.parse(res.body);
}

/* CONCURRENCY keep-alive clients, each in a loop, until `done()` says so
 * and TRAFFIC_MIN_MS have passed (never past TRAFFIC_MAX_MS). */
async function traffic(proxy, done) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const start = Date.now();
  const stats = { answers: 0, errors: 0 };
  const more = () => {
    const t = Date.now() - start;
    return t < TRAFFIC_MAX_MS && (t < TRAFFIC_MIN_MS || !done());
  };
  const loop = async (id) => {
    for (let n = 0; n < 1000000 && more(); n++) {
      try {
        const res = await request(proxy, `/orders/${id}-${n}`, { agent });
        if (res.status === 200)
          stats.answers++;
        else
          stats.errors++;
      } catch (e) {
        stats.errors++;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(i)));
  agent.destroy();
  return stats;
}

/* ---- the page ------------------------------------------------------------------ */

async function slotCounts(page) {
  return page.$$eval('.worker .slots canvas', (canvases) => canvases.map((c) => ({
    active: +c.dataset.active, reading: +c.dataset.reading, writing: +c.dataset.writing,
    waiting: +c.dataset.waiting, keepalive: +c.dataset.keepalive, free: +c.dataset.free,
  })));
}

async function cardPid(page, slot) {
  const card = await page.$(`.worker[data-slot="${slot}"]`);
  return card ? Number(await card.getAttribute('data-pid')) : null;
}

async function run() {
  if (!fs.existsSync(CHROMIUM))
    skip(`no browser at ${CHROMIUM} (apt-get install chromium; make test does)`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    skip(`playwright-core is not installed (npm ci --prefix tests/browser; make test does): ${e.message}`);
  }
  if (!fs.existsSync(PORTICO))
    fail(`no portico binary at ${PORTICO} (set PORTICO_BIN)`);
  console.log(`# portico ${PORTICO}, browser ${CHROMIUM}`);

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-dashboard-'));
  const mock = await startChild('mock', ['mock', '--name', 'orders', '--latency-ms', '5'], ['listening']);
  const traceToken = crypto.randomBytes(8).toString('hex');
  const config = {
    _format_version: '1',
    node: { listen: ['127.0.0.1:0'], admin_listen: '127.0.0.1:0', workers: 2, trace_token: traceToken },
    services: [{ name: 'orders', url: `http://${mock.listening}`,
                 routes: [{ name: 'orders', paths: ['/orders'] }] }],
  };
  const configPath = path.join(tmpDir, 'node.json');
  fs.writeFileSync(configPath, JSON.stringify(config));
  const node = await startChild('portico serve', ['serve', '-c', configPath], ['listening', 'admin']);
  const admin = node.admin, proxy = node.listening;
  console.log(`# node: proxy ${proxy}, admin ${admin}, mock ${mock.listening}`);

  const status = await waitFor('two serving workers in /status', async () => {
    const s = await getJson(admin, '/status');
    const serving = s.workers.filter((w) => w.state === 'serving');
    return serving.length === 2 ? s : null;
  });
  const pids = new Map(status.workers.filter((w) => w.state === 'serving').map((w) => [w.slot, w.pid]));

  const launchArgs = ['--disable-gpu', '--disable-dev-shm-usage'];
  if (process.getuid && process.getuid() === 0)
    launchArgs.push('--no-sandbox');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error')
      pageErrors.push(m.text());
  });
  try {
    await page.goto(`http://${admin}/`, { timeout: WAIT_MS });
    await checkPage(page, { admin, proxy, pids, traceToken });
  } finally {
    await page.screenshot({ path: SHOT, fullPage: true }).then(
      () => console.log(`# screenshot: ${SHOT}`),
      (e) => console.log(`# no screenshot: ${e.message}`));
  }
  if (pageErrors.length)
    fail(`the page logged errors: ${pageErrors.join(' | ')}`);
  ok('no error in the page\'s console');
}

async function checkPage(page, { admin, proxy, pids, traceToken }) {
  await waitFor('#ws-state says live', async () => (await page.textContent('#ws-state')).trim() === 'live');
  ok('the WebSocket is live');

  for (const [slot, pid] of pids)
    await waitFor(`card of slot ${slot} with pid ${pid}`, () => page.$(`.worker[data-slot="${slot}"][data-pid="${pid}"]`));
  ok(`the worker cards show the pids of /status (${[...pids.values()].join(', ')})`);

  let checked = false;
  const load = traffic(proxy, () => checked);
  try {
    const busy = await waitFor('busy or keep-alive slots drawn', async () => {
      const counts = await slotCounts(page);
      const open = counts.reduce((sum, c) => sum + c.active + c.reading + c.writing + c.waiting + c.keepalive, 0);
      return open > 0 && counts.every((c) => Number.isFinite(c.free)) ? counts : null;
    });
    ok(`the slot grids show open connections: ${JSON.stringify(busy)}`);
    const rps = await waitFor('#rps above 0', async () => {
      const v = parseFloat(await page.textContent('#rps'));
      return v > 0 ? v : null;
    });
    ok(`#rps shows ${rps} req/s`);
  } finally {
    checked = true;
  }
  const stats = await load;
  console.log(`# traffic: ${stats.answers} answers, ${stats.errors} errors`);
  if (stats.answers === 0)
    fail('the traffic got no answer');

  /* A worker killed: the master starts another in its slot. */
  const [slot, oldPid] = pids.entries().next().value;
  const respawnsBefore = parseInt(await page.textContent('#node-respawns'), 10);
  process.kill(oldPid, 'SIGKILL');
  const newPid = await waitFor(`a new pid in slot ${slot} of /status`, async () => {
    const s = await getJson(admin, '/status');
    const w = s.workers.find((x) => x.slot === slot && x.state === 'serving');
    return w && w.pid !== oldPid ? w.pid : null;
  });
  await waitFor(`card of slot ${slot} with pid ${newPid} and a respawned badge`, async () => {
    const badge = await page.$(`.worker[data-slot="${slot}"][data-pid="${newPid}"] .badge.respawned:not([hidden])`);
    return badge && (await badge.textContent()).trim() === 'respawned';
  });
  ok(`slot ${slot}: pid ${oldPid} killed, the card shows pid ${newPid}, respawned`);
  const respawns = await waitFor('#node-respawns went up', async () => {
    const v = parseInt(await page.textContent('#node-respawns'), 10);
    return v > respawnsBefore ? v : null;
  });
  ok(`#node-respawns went from ${respawnsBefore} to ${respawns}`);
  if ((await cardPid(page, slot)) !== newPid)
    fail(`the card of slot ${slot} lost pid ${newPid}`);

  /* A traced request, then its waterfall. */
  const traced = await request(proxy, '/orders/traced', { headers: { 'X-Portico-Trace': traceToken } });
  const id = traced.headers['x-portico-trace-id'];
  if (traced.status !== 200 || !id)
    fail(`the traced request: status ${traced.status}, trace id ${id}`);
  const item = await waitFor(`.trace-item for ${id}`, () => page.$(`.trace-item[data-id="${id}"]`));
  ok(`the inspector lists trace ${id}`);
  await item.click();
  const kinds = await waitFor(`#waterfall spans of ${id}`, async () => {
    const spans = await page.$$eval('#waterfall .span', (nodes) => nodes.map((n) => n.dataset.kind));
    return spans.includes('phase') && spans.includes('upstream') ? spans : null;
  });
  const detail = await getJson(admin, `/traces/${id}`);
  if (kinds.length !== detail.spans.length)
    fail(`the waterfall has ${kinds.length} spans, /traces/${id} ${detail.spans.length}`);
  ok(`a click shows the waterfall of ${id}: ${kinds.length} spans (${[...new Set(kinds)].join(', ')})`);
}

let status = 0;
try {
  await run();
  console.log(`1..${checks}`);
} catch (e) {
  checks++;
  console.log(`not ok ${checks} - ${e instanceof CheckFailed ? e.message : e.stack}`);
  for (const c of children)
    if (c.stderrText && c.stderrText())
      console.log(`# stderr of ${c.spawnargs.slice(1, 2).join(' ')}:\n${c.stderrText().slice(-3000).replace(/^/gm, '# ')}`);
  console.log(`1..${checks}`);
  status = 1;
}
if (browser)
  await browser.close().catch(() => {});
for (const c of children.reverse())
  await stopChild(c);
process.exit(status);
