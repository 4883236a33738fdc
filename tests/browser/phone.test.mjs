// The phone page /m (issue 14), in Chromium at a phone's size against the demo server:
// a grid member pairs and sees exactly their households; a scan leaves the missing list
// within 2 s; a tick made offline survives a reload and a browser restart and reaches
// the log exactly once; a home visit goes from the grid member's phone to the medic's and
// closes on both; a head sees their members' progress; a tick refused after the action
// closed shows why. The budgets of a cheap phone on a bad link are measured (printed as
// one JSON line, written in BENCHMARKS.md), never asserted: only correctness fails a test.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/phone.test.mjs
// Screenshots: target/screenshots/phone-*.png. TEST_LOG=1 streams the server's log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, api, describeAnswer, launchBrowser, parseCount, startDemoServer,
} from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots');
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const LISTED_TIMEOUT_MS = 30_000;
const LIVE_TIMEOUT_MS = 2_000;
const SEND_TIMEOUT_MS = 20_000;

const HOUSEHOLD = '[data-testid="household"]';
const row = (id) => `[data-testid="resident"][data-id="${id}"]`;

let server;
let browser;
let actionId;
/** Tokens by role, each paired the way a phone pairs. */
const tokens = {};
const problems = [];

function shot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, name);
}

async function pair(code) {
  const res = await fetch(`${server.baseUrl}/api/auth/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, device: 'phone test' }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `pairing answered ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

async function call(token, method, urlPath, json) {
  const answer = await api(server.baseUrl, token, method, urlPath, json);
  assert.ok(answer.status >= 200 && answer.status < 300, describeAnswer(method, urlPath, answer));
  return answer.body;
}

/** Every household a token's owner answers for, as the API lists them. */
async function households(token, visits = false) {
  const all = [];
  let cursor = null;
  for (;;) {
    const q = new URLSearchParams({ limit: '500' });
    if (cursor) q.set('cursor', cursor);
    if (visits) q.set('visits', 'true');
    const part = await call(token, 'GET', `/api/actions/${actionId}/households?${q}`);
    all.push(...part.households);
    cursor = part.next;
    if (!cursor) return { ...part, households: all };
  }
}

async function residentLive(token, residentId) {
  for (const h of (await households(token)).households) {
    const r = h.residents.find((x) => x.id === residentId);
    if (r) return r.live;
  }
  return null;
}

function watch(page, who) {
  page.on('pageerror', (err) => problems.push(`${who} pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${who} console: ${msg.text()}`);
  });
}

/** The page's own words for what it shows, for failure messages. */
async function pageState(page) {
  try {
    return await page.evaluate(() => ({
      url: location.pathname,
      conn: document.getElementById('conn')?.textContent,
      notice: document.getElementById('notice')?.hidden ? null : document.getElementById('notice')?.textContent,
      households: document.querySelectorAll('[data-testid="household"]').length,
      visits: document.querySelectorAll('[data-testid="visit"]').length,
      outbox: document.getElementById('outbox')?.hidden ? null : document.getElementById('outbox')?.textContent,
    }));
  } catch (err) {
    return `(page unreadable: ${err.message})`;
  }
}

async function until(page, fn, arg, timeout, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
  } catch (err) {
    assert.fail(`${what}: not within ${timeout} ms; page: ${JSON.stringify(await pageState(page))}; ` +
      `problems: ${problems.slice(-5).join(' | ')}\n(${err.message.split('\n')[0]})`);
  }
}

async function listed(page, selector = HOUSEHOLD) {
  await until(page, (sel) => document.querySelector(sel) != null, selector, LISTED_TIMEOUT_MS, `${selector} listed`);
}

/** The four counts in the page's header, as numbers. */
async function headerCounts(page) {
  const texts = await page.evaluate(() => [1, 2, 3, 4].map((i) => document.getElementById(`c${i}`).textContent));
  return texts.map(parseCount);
}

/** Sets the page's display (its own switch: auto → day → night). */
async function theme(page, want) {
  for (let i = 0; i < 3; i++) {
    const choice = await page.evaluate(() => localStorage.getItem('muster.m.theme') || 'auto');
    if (choice === want) {
      await page.evaluate(() => window.scrollTo(0, 0));
      return;
    }
    await page.locator('[data-testid="theme"]').click();
  }
  assert.fail(`the display switch never reached ${want}`);
}

/** Opens the resident's sheet and records `chase` (with a note): the two taps of a tick. */
async function tick(page, residentId, chase, note) {
  await page.locator(`${row(residentId)} [data-testid="tick"]`).click();
  if (note) await page.locator('[data-testid="sheet-note"]').fill(note);
  await page.locator(`[data-testid="choice-${chase}"]`).click();
}

async function tickState(page, residentId) {
  return page.evaluate((sel) => document.querySelector(sel)?.dataset.tick ?? null, row(residentId));
}

async function tickBecomes(page, residentId, state, timeout) {
  await until(page, ([sel, want]) => document.querySelector(sel)?.dataset.tick === want, [row(residentId), state], timeout,
    `resident ${residentId}'s tick shown as ${state}`);
}

/** Missing residents of a list, the first of each household (one per household, so ticks don't mix). */
function missingResidents(list) {
  return list.households.map((h) => h.residents.find((r) => r.live.status === 'missing' && !r.live.chase)).filter(Boolean);
}

before(async () => {
  server = await startDemoServer();
  browser = await launchBrowser();
  const actions = await call(server.chief.token, 'GET', '/api/actions');
  actionId = actions.find((a) => a.phase === 'open').id;
  tokens.medic = await pair(server.medic.code);
  tokens.head = await pair(server.grid_head.code);
  tokens.chief = server.chief.token;
  tokens.operator = server.operator.token;
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

test('a grid member pairs on the phone, sees exactly their households, and a scan leaves the missing list within 2 s', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ ...PHONE, colorScheme: 'light' });
  const page = await context.newPage();
  watch(page, 'member');
  try {
    // The pairing link lands on /m.
    await page.goto(server.grid_member.pairingUrl);
    await page.locator('[data-testid="pair-button"]').click();
    await page.locator('[data-testid="pair-go"]').click();
    await page.waitForURL(/\/m$/);
    await listed(page);
    tokens.member = await page.evaluate(() => localStorage.getItem('muster.token'));
    assert.ok(tokens.member, 'the pairing page kept a token');

    // Exactly the API's households, in its order, with every resident.
    const list = await households(tokens.member);
    const shown = await page.$$eval(HOUSEHOLD, (els) => els.map((e) => Number(e.dataset.id)));
    assert.deepEqual([...shown].sort((a, b) => a - b), list.households.map((h) => h.id).sort((a, b) => a - b),
      'the page lists exactly the households the API gives the grid member');
    assert.ok(list.households.length >= 15, `a demo grid member has 17 or 18 households, got ${list.households.length}`);
    const residents = await page.$$eval('[data-testid="resident"]', (els) => els.length);
    assert.equal(residents, list.households.reduce((n, h) => n + h.residents.length, 0), 'every resident is shown');
    const [target, sampled, exempt, missing] = await headerCounts(page);
    const count = (s) => list.households.reduce((n, h) => n + h.residents.filter((r) => r.live.status === s).length, 0);
    assert.deepEqual([target, sampled, exempt, missing], [residents, count('sampled'), count('exempt'), count('missing')]);
    const tel = await page.locator(`${row(list.households[0].residents.find((r) => r.phone).id)} a[data-testid="tel"]`).first().getAttribute('href');
    assert.match(tel, /^tel:\d{11}$/, 'a tap-to-call link with the whole number');

    await theme(page, 'light');
    assert.equal(await page.locator('[data-testid="theme"]').getAttribute('data-theme'), 'light');
    await page.screenshot({ path: shot('phone-member-light.png') });
    // The sheet a tick is made in: what was learned, in words a grid member uses.
    await page.locator(`${row(missingResidents(list)[5].id)} [data-testid="tick"]`).click();
    await page.locator('[data-testid="sheet"]').waitFor();
    await page.screenshot({ path: shot('phone-member-sheet.png') });
    await page.locator('#sheet-cancel').click();
    await theme(page, 'auto');

    // Searching by the last digits of a phone finds its household.
    const someone = list.households[3].residents.find((r) => r.phone) ?? list.households[3].residents[0];
    await page.locator('[data-testid="search"]').fill(someone.phone ? someone.phone.slice(-4) : someone.name);
    await until(page, ([id, all]) => {
      const shown = [...document.querySelectorAll('[data-testid="household"]')];
      return shown.length < all && shown.some((e) => e.dataset.id === String(id));
    }, [list.households[3].id, list.households.length], 5_000, 'the search narrowed to the searched household');
    await page.locator('[data-testid="search"]').fill('');

    // "Missing only", then a scan at a point: the resident leaves the list within 2 s.
    await page.locator('[data-testid="only-missing"]').click();
    const target1 = missingResidents(list)[0];
    await until(page, (sel) => document.querySelector(sel) != null, row(target1.id), 5_000, 'the missing resident listed');
    const me = await call(tokens.operator, 'GET', '/api/me');
    await call(tokens.operator, 'POST', `/api/actions/${actionId}/scans`,
      { id: crypto.randomUUID(), resident_id: target1.id, point_id: me.point_id });
    const scanned = Date.now();
    await until(page, (sel) => document.querySelector(sel) == null, row(target1.id), LIVE_TIMEOUT_MS,
      'the scanned resident gone from the missing list');
    const gone = Date.now() - scanned;
    await page.locator('[data-testid="only-missing"]').click();
    const status = await page.locator(`${row(target1.id)} [data-testid="resident-status"]`).textContent();
    assert.match(status, /^已采 \d\d:\d\d \S+/, `the sampled resident says when and where: ${status}`);
    assert.equal((await headerCounts(page))[1], sampled + 1, 'sampled counted up');
    test.diagnostic?.(`scan left the list after ${gone} ms`);

    // Dark when the phone asks (and at night on its own clock), with the switch on 自动
    // (it was set to light above; by day only the phone's asking makes it dark).
    await theme(page, 'auto');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => window.scrollTo(0, 0));
    assert.equal(await page.locator('[data-testid="theme"]').getAttribute('data-theme'), 'dark');
    await page.screenshot({ path: shot('phone-member-dark.png') });
    assert.deepEqual(problems, [], 'no page errors');
  } finally {
    await context.close();
  }
});

test('the pairing page tells someone in WeChat that the link pairs WeChat, and how to use the browser instead', { timeout: 30_000 }, async () => {
  const wechat = 'Mozilla/5.0 (Linux; Android 10; Redmi 9A Build/QP1A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 '
    + 'Chrome/86.0.4240.99 XWEB/4313 MMWEBSDK/20220805 Mobile Safari/537.36 MicroMessenger/8.0.27.2220(0x28001B37) WeChat/arm64';
  for (const [ua, shown] of [[wechat, true], [undefined, false]]) {
    const context = await browser.newContext({ ...PHONE, userAgent: ua });
    try {
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/pair.html?code=ABCD-EFGH`);
      await page.locator('[data-testid="pair-button"]').waitFor();
      assert.equal(await page.locator('[data-testid="pair-wechat"]').isVisible(), shown, `WeChat note shown: ${shown}`);
      if (shown) {
        assert.match(await page.locator('[data-testid="pair-wechat"]').textContent(), /在浏览器打开/);
        await page.screenshot({ path: shot('phone-pair-wechat.png') });
      }
    } finally {
      await context.close();
    }
  }
});

test('a tick made offline survives a reload and a browser restart, then reaches the log exactly once', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'muster-phone-'));
  const launch = () => chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, ...PHONE });
  const note = `offline ${crypto.randomUUID().slice(0, 8)}`;
  const list = await households(tokens.member);
  const target = missingResidents(list)[1];
  let context;
  try {
    context = await launch();
    let page = context.pages()[0] ?? (await context.newPage());
    watch(page, 'offline-1');
    await page.goto(`${server.baseUrl}/m?token=${encodeURIComponent(tokens.member)}`);
    await listed(page);
    // The shell is on the phone once the worker has taken the page.
    await until(page, () => navigator.serviceWorker && navigator.serviceWorker.controller != null, null, 15_000, 'the service worker controls /m');

    await context.setOffline(true);
    await tick(page, target.id, 'notified', note);
    await tickBecomes(page, target.id, 'pending', 2_000);
    assert.equal(await page.locator('[data-testid="outbox-pending"]').getAttribute('data-count'), '1');
    const entryText = await page.locator(`${row(target.id)} [data-testid="entry"]`).textContent();
    assert.match(entryText, /还没发出去/, `the tick says it is not sent yet: ${entryText}`);

    // A reload with no network: the page from the worker, the list from the phone, the tick still waiting.
    await page.reload();
    await listed(page);
    await tickBecomes(page, target.id, 'pending', 5_000);
    assert.ok(await page.locator('[data-testid="offline-data"]').isVisible(), 'the page says the list is the phone\'s copy');
    await page.screenshot({ path: shot('phone-member-offline.png') });

    // The browser closed and opened again on the same storage, still offline.
    await context.close();
    context = await launch();
    await context.setOffline(true);
    page = context.pages()[0] ?? (await context.newPage());
    watch(page, 'offline-2');
    await page.goto(`${server.baseUrl}/m`);
    await listed(page);
    await tickBecomes(page, target.id, 'pending', 5_000);
    // (Not asserted here: that the server has nothing yet. Chromium's offline emulation
    // does not cover a request a service worker lets through to the network, so a send
    // tried at a reload can reach the server and lose only its answer. On a phone with no
    // network nothing gets out; either way the tick must stay "waiting" until answered
    // and be in the log once, which is what is checked.)

    // Online: sent at once, and shown recorded only once the server has it.
    await context.setOffline(false);
    await tickBecomes(page, target.id, 'recorded', SEND_TIMEOUT_MS);
    const live = await residentLive(tokens.member, target.id);
    assert.equal(live.history.filter((h) => h.note === note).length, 1, 'the tick is in the log exactly once');
    assert.equal(live.chase, 'notified');

    // The outbox kept the id made at the tap: sending it again is a repeat with the same position.
    const kept = await page.evaluate(() => new Promise((resolve, reject) => {
      const open = indexedDB.open('muster');
      open.onsuccess = () => {
        const get = open.result.transaction('outbox').objectStore('outbox').getAll();
        get.onsuccess = () => resolve(get.result);
        get.onerror = () => reject(get.error);
      };
      open.onerror = () => reject(open.error);
    }));
    const entry = kept.find((e) => e.event.note === note);
    assert.ok(entry && entry.state === 'recorded' && entry.seq > 0, `the outbox entry is recorded: ${JSON.stringify(entry)}`);
    const again = await call(tokens.member, 'POST', `/api/actions/${actionId}/events`,
      { events: [{ id: entry.id, device_time: entry.device_time, ...entry.event }] });
    assert.deepEqual(again.results, [{ id: entry.id, seq: entry.seq, status: 'repeat' }]);
    assert.equal((await residentLive(tokens.member, target.id)).history.filter((h) => h.note === note).length, 1,
      'a resend changed nothing');
    assert.deepEqual(problems, [], 'no page errors');
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a home visit: bedridden on the grid member\'s phone, taken and sampled on the medic\'s, closed on both', { timeout: 120_000 }, async () => {
  const memberCtx = await browser.newContext({ ...PHONE, colorScheme: 'light' });
  const medicCtx = await browser.newContext({ ...PHONE, colorScheme: 'light' });
  try {
    const medicPage = await medicCtx.newPage();
    watch(medicPage, 'medic');
    await medicPage.goto(`${server.baseUrl}/m?token=${encodeURIComponent(tokens.medic)}`);
    await until(medicPage, () => document.getElementById('list') && !document.getElementById('list').hidden
      && document.getElementById('conn').dataset.state === 'open', null, LISTED_TIMEOUT_MS, 'the medic\'s page live');

    const page = await memberCtx.newPage();
    watch(page, 'member');
    await page.goto(`${server.baseUrl}/m?token=${encodeURIComponent(tokens.member)}`);
    await listed(page);
    const list = await households(tokens.member);
    const target = missingResidents(list)[2];
    const before = await headerCounts(page);

    await tick(page, target.id, 'bedridden', '腿脚不便');
    await tickBecomes(page, target.id, 'recorded', 5_000);
    const visit = `[data-testid="visit"][data-id="${target.id}"]`;
    await until(medicPage, (sel) => document.querySelector(sel)?.dataset.status === 'open', visit, 5_000,
      'the request live on the medic\'s page');
    const medicBefore = await headerCounts(medicPage);
    await theme(medicPage, 'light');
    await medicPage.screenshot({ path: shot('phone-medic-light.png') });

    await medicPage.locator(`${visit} [data-testid="take"]`).click();
    await until(medicPage, (sel) => document.querySelector(sel)?.dataset.status === 'taken', visit, 5_000, 'taken by the medic');
    await until(page, (sel) => /已接/.test(document.querySelector(sel)?.textContent ?? ''), row(target.id), 5_000,
      'the grid member sees the medic coming');
    await medicPage.locator(`${visit} [data-testid="record-sample"]`).click();
    await until(medicPage, (sel) => document.querySelector(sel)?.dataset.status === 'done', visit, 5_000, 'the visit closed on the medic\'s phone');
    await until(page, (sel) => document.querySelector(sel)?.dataset.status === 'sampled', row(target.id), 5_000,
      'the resident sampled on the grid member\'s phone');
    const status = await page.locator(`${row(target.id)} [data-testid="resident-status"]`).textContent();
    assert.match(status, /已上门采样 \d\d:\d\d/, status);

    const afterCounts = await headerCounts(page);
    assert.equal(afterCounts[1], before[1] + 1, 'the grid member\'s sampled moved up by one');
    assert.equal(afterCounts[3], before[3] - 1, 'and missing down by one');
    const medicAfter = await headerCounts(medicPage);
    assert.equal(medicAfter[2], medicBefore[2] + 1, 'the medic\'s done moved up by one');
    const live = await residentLive(tokens.member, target.id);
    assert.equal(live.status, 'sampled');
    assert.equal(live.at_home, true);
    assert.equal(live.visit, null, 'the request closed');

    await theme(medicPage, 'dark');
    await medicPage.screenshot({ path: shot('phone-medic-dark.png') });
    assert.deepEqual(problems, [], 'no page errors');
  } finally {
    await memberCtx.close();
    await medicCtx.close();
  }
});

test('a grid head sees their grid members\' households grouped, each with its progress', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ ...PHONE, colorScheme: 'light' });
  try {
    const page = await context.newPage();
    watch(page, 'head');
    await page.goto(`${server.baseUrl}/m?token=${encodeURIComponent(tokens.head)}`);
    await listed(page, '[data-testid="member-group"]');
    const list = await households(tokens.head);
    const byMember = new Map();
    for (const h of list.households) {
      const c = byMember.get(h.staff_id) ?? { missing: 0 };
      c.missing += h.residents.filter((r) => r.live.status === 'missing').length;
      byMember.set(h.staff_id, c);
    }
    const groups = await page.$$eval('[data-testid="member-group"]', (els) => els.map((e) => ({
      staff: e.dataset.staff, progress: e.querySelector('[data-testid="member-progress"]').textContent,
    })));
    assert.equal(groups.length, byMember.size, 'one group per grid member');
    assert.equal(await page.$$eval(HOUSEHOLD, (els) => els.length), 0, 'members first, their households when opened');
    await theme(page, 'light');
    await page.screenshot({ path: shot('phone-head-light.png') });
    for (const g of groups) {
      await page.locator(`[data-testid="member-group"][data-staff="${g.staff}"] [data-testid="member-toggle"]`).click();
    }
    for (const g of groups) {
      const want = byMember.get(Number(g.staff));
      assert.ok(want, `group ${g.staff} is one of the head's members`);
      assert.match(g.progress, new RegExp(`未采 ${want.missing}$`), `member ${g.staff}: ${g.progress}`);
    }
    await until(page, (n) => document.querySelectorAll('[data-testid="household"]').length === n, list.households.length, 5_000,
      'every member\'s households shown once opened');
    assert.ok(await page.locator('[data-testid="to-centre"]').isVisible(), 'a head keeps the command centre one tap away');
  } finally {
    await context.close();
  }
});

test('budgets of a cheap phone on a bad link, measured (not asserted)', { timeout: 180_000 }, async (t) => {
  const context = await browser.newContext({ ...PHONE, deviceScaleFactor: 1 });
  // The phone as the pairing page leaves it: the token and the role kept, no page cached,
  // no service worker yet.
  await context.addInitScript(([token]) => {
    if (location.pathname === '/m' && !localStorage.getItem('muster.token')) {
      localStorage.setItem('muster.token', token);
      localStorage.setItem('muster.m.role', 'grid_member');
    }
  }, [tokens.member]);
  await context.addInitScript(() => {
    // When the first household (or visit) appears, by the page's own clock from navigation.
    new MutationObserver((_, observer) => {
      if (document.querySelector('[data-testid="household"], [data-testid="visit"]')) {
        window.__listedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  try {
    const page = await context.newPage();
    watch(page, 'budget');
    const cdp = await context.newCDPSession(page);
    const bytes = new Map();
    await cdp.send('Network.enable');
    cdp.on('Network.responseReceived', (e) => bytes.set(e.requestId, { url: e.response.url, size: 0 }));
    cdp.on('Network.loadingFinished', (e) => {
      const r = bytes.get(e.requestId);
      if (r) r.size = e.encodedDataLength;
    });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 400, downloadThroughput: (400 * 1000) / 8, uploadThroughput: (400 * 1000) / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });

    await page.goto(`${server.baseUrl}/m`);
    await listed(page);
    const firstLoadMs = await page.evaluate(() => window.__listedAt);
    // Where the time went: each request's start and end on the page's clock.
    const timeline = await page.evaluate(() => performance.getEntriesByType('resource')
      .map((r) => `${new URL(r.name).pathname} ${Math.round(r.startTime)}–${Math.round(r.responseEnd)}`).join(', '));
    t.diagnostic(`first load: listed at ${Math.round(firstLoadMs)} ms; ${timeline}`);
    const critical = [...bytes.values()].filter((r) => r.size > 0);
    const criticalBytes = critical.reduce((n, r) => n + r.size, 0);
    t.diagnostic(`critical path: ${critical.map((r) => `${new URL(r.url).pathname} ${r.size}`).join(', ')}`);

    await until(page, () => navigator.serviceWorker && navigator.serviceWorker.controller != null, null, 30_000, 'the worker controls the page');
    bytes.clear();
    await page.reload();
    await listed(page);
    const repeatLoadMs = await page.evaluate(() => window.__listedAt);
    const repeatBytes = [...bytes.values()].reduce((n, r) => n + r.size, 0);
    await until(page, () => document.getElementById('conn').dataset.state === 'open', null, 30_000, 'live after the reload');

    // One tap on a resident, one on "notified": until the page says recorded.
    const list = await households(tokens.member);
    const target = missingResidents(list)[3];
    await page.locator(`${row(target.id)} [data-testid="tick"]`).click();
    const tapToRecordedMs = await page.evaluate((sel) => new Promise((resolve) => {
      const t0 = performance.now();
      const done = () => document.querySelector(sel)?.dataset.tick === 'recorded';
      new MutationObserver((_, observer) => {
        if (done()) {
          observer.disconnect();
          resolve(performance.now() - t0);
        }
      }).observe(document.body, { subtree: true, attributes: true, childList: true });
      document.querySelector('[data-testid="choice-notified"]').click();
    }), row(target.id));

    const figures = {
      phone_budgets: {
        households: list.households.length,
        critical_path_gzip_bytes: criticalBytes,
        critical_path_budget_bytes: 100 * 1024,
        first_load_ms: Math.round(firstLoadMs),
        first_load_budget_ms: 3000,
        repeat_load_ms: Math.round(repeatLoadMs),
        repeat_load_budget_ms: 1000,
        repeat_load_network_bytes: repeatBytes,
        tap_to_recorded_ms: Math.round(tapToRecordedMs),
        tap_to_recorded_budget_ms: 1000,
        emulation: '400 kbps down/up, 400 ms RTT, 4x CPU, 360x740',
      },
    };
    console.log(JSON.stringify(figures));
    t.diagnostic(JSON.stringify(figures));
    // Correctness only: the figures are reported, not judged.
    assert.ok(firstLoadMs > 0 && repeatLoadMs > 0 && tapToRecordedMs > 0);
  } finally {
    await context.close();
  }
});

test('a tick refused because the action was closed shows the server\'s reason until dismissed', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ ...PHONE, colorScheme: 'light' });
  try {
    const page = await context.newPage();
    watch(page, 'refused');
    await page.goto(`${server.baseUrl}/m?token=${encodeURIComponent(tokens.member)}`);
    await listed(page);
    const list = await households(tokens.member);
    const target = missingResidents(list)[4];

    // Ticked with no network; the chief closes the action meanwhile.
    await context.setOffline(true);
    await tick(page, target.id, 'unreachable');
    await tickBecomes(page, target.id, 'pending', 2_000);
    await call(tokens.chief, 'POST', `/api/actions/${actionId}/events`, { events: [{ id: crypto.randomUUID(), type: 'action_closed' }] });
    // What the server says to anyone who ticks now.
    const refusal = await api(server.baseUrl, tokens.member, 'POST', `/api/actions/${actionId}/events`,
      { events: [{ id: crypto.randomUUID(), type: 'resident_ticked', resident_id: target.id, chase: 'refused' }] });
    assert.equal(refusal.status, 409, describeAnswer('POST', 'events', refusal));
    assert.equal(refusal.body.code, 'action_closed');

    await context.setOffline(false);
    await tickBecomes(page, target.id, 'refused', SEND_TIMEOUT_MS);
    const reason = await page.locator('[data-testid="refused-reason"]').first().textContent();
    assert.equal(reason, refusal.body.message, 'the refusal shows the server\'s own reason');
    const entry = await page.locator(`${row(target.id)} [data-testid="entry"]`).textContent();
    assert.ok(entry.includes(refusal.body.message), `the resident's line says it was not recorded and why: ${entry}`);
    assert.equal((await residentLive(tokens.member, target.id)).chase, null, 'nothing was recorded');
    await until(page, () => document.getElementById('conn').dataset.state === 'closed', null, 5_000, 'the page says the action is closed');
    assert.equal(await page.locator(`${row(target.id)} [data-testid="tick"]`).count(), 0, 'a closed action offers no more ticks');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shot('phone-member-refused.png') });

    // Kept across a reload, until the person says they have read it.
    await page.reload();
    await listed(page);
    await tickBecomes(page, target.id, 'refused', 5_000);
    await page.locator('[data-testid="refused"] button').click();
    await until(page, () => document.querySelector('[data-testid="refused"]') == null, null, 2_000, 'the refusal dismissed');
    assert.equal(await tickState(page, target.id), 'none');
  } finally {
    await context.close();
  }
});
