// The sampling point's page /scan (issue 15), in Chromium against the demo server, as the
// demo's operator on a laptop with a wedge scanner (1366×768) and on a phone (360×740):
// a wedge scan (the ID number typed and Enter) shows the confirm step and Enter records
// it, the point's count going up by exactly one on the page and in the API; the same
// resident again shows 已采 with the time and the point and records nothing more; a scan
// with no network waits as 待发送, survives a reload and is sent once when the network is
// back; the last four ID digits find a resident; a resident from outside the action's
// scope is recorded and shown 非本范围; in tube mode a tube of ten typed in fills with ten
// scans and closes, the eleventh waits for a new tube, a walk-in registered in the form is
// sampled into it (a bad ID number refused on the page, nothing sent), a flagged resident
// gets a single tube, and "about 20 waiting" shows. Scan→recorded on a slow phone is
// measured and printed (budget 1 s), never asserted.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/scan.test.mjs
// Screenshots: target/screenshots/scan/*.png. TEST_LOG=1 streams the server's log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, describeAnswer, launchBrowser, parseCount, startDemoServer } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'scan');
const LAPTOP = { viewport: { width: 1366, height: 768 } };
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const READY_TIMEOUT_MS = 30_000;
const SHOWN_TIMEOUT_MS = 5_000;
const SEND_TIMEOUT_MS = 20_000;

let server;
let browser;
let actionId;
let token;
let me;
/** The operator's point's residents still missing when the test starts, in roster order. */
let missing = [];
const problems = [];

function shot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, name);
}

async function call(method, urlPath, json, who = token) {
  const answer = await api(server.baseUrl, who, method, urlPath, json);
  assert.ok(answer.status >= 200 && answer.status < 300, describeAnswer(method, urlPath, answer));
  return answer.body;
}

/**
 * The whole ID numbers of some residents, read from the demo's database as an ID card's
 * barcode would give them to the scanner: the API never answers with one.
 */
function idNumbers(ids) {
  const db = path.join(server.tmpDir, 'demo.db');
  const sql = `SELECT id, id_number FROM residents WHERE id IN (${ids.map(Number).join(',')})`;
  const rows = JSON.parse(execFileSync('sqlite3', ['-readonly', '-json', db, sql]).toString() || '[]');
  return new Map(rows.map((r) => [r.id, r.id_number]));
}

/** The point's count as the API gives the operator, and the action's sampled residents (the chief's). */
async function apiCounts() {
  const mine = await call('GET', `/api/actions/${actionId}`);
  const chief = await call('GET', `/api/actions/${actionId}`, undefined, server.chief.token);
  const point = mine.points.find((p) => p.id === me.point_id);
  return { point: point ? point.count : 0, sampled: chief.totals.sampled };
}

function watch(page, who) {
  page.on('pageerror', (err) => problems.push(`${who} pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${who} console: ${msg.text()}`);
  });
}

async function pageState(page) {
  try {
    return await page.evaluate(() => ({
      conn: document.getElementById('conn')?.textContent,
      notice: document.getElementById('notice')?.hidden ? null : document.getElementById('notice')?.textContent,
      count: document.getElementById('count')?.textContent,
      found: document.getElementById('found')?.hidden ? null : document.getElementById('found')?.textContent,
      confirm: document.getElementById('confirm')?.hidden ? null : document.getElementById('confirm')?.textContent,
      recent: document.getElementById('recent')?.textContent.slice(0, 300),
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

async function pageCount(page) {
  return parseCount(await page.locator('[data-testid="point-count"]').textContent());
}

/** The page is live: the point's count from the feed, and the kept copy read. */
async function ready(page) {
  await until(page, () => /^\d/.test(document.getElementById('count').textContent) &&
    document.getElementById('kept').textContent.includes('本机名单'), null, READY_TIMEOUT_MS, 'the scan page ready');
}

/** What a wedge scanner does: the code's characters, fast, then Enter. */
async function wedge(page, code) {
  await page.locator('[data-testid="scan-input"]').focus();
  await page.keyboard.type(code, { delay: 5 });
  await page.keyboard.press('Enter');
}

async function confirmShows(page, residentId) {
  await until(page, (id) => {
    const c = document.getElementById('confirm');
    return !c.hidden && c.dataset.id === String(id);
  }, residentId, SHOWN_TIMEOUT_MS, `the confirm step for resident ${residentId}`);
}

async function entryBecomes(page, residentId, state, timeout) {
  await until(page, ([id, want]) => [...document.querySelectorAll('[data-testid="entry"]')]
    .some((e) => e.dataset.resident === String(id) && e.dataset.state === want), [residentId, state], timeout,
  `resident ${residentId}'s entry ${state}`);
}

before(async () => {
  server = await startDemoServer({ roles: ['chief', 'operator', 'lab'] });
  token = server.operator.token;
  browser = await launchBrowser();
  me = await call('GET', '/api/me');
  const actions = await call('GET', '/api/actions');
  actionId = actions.find((a) => a.phase === 'open').id;
  const roster = await call('GET', `/api/actions/${actionId}/point-roster?limit=5000`);
  const rows = roster.residents.filter((r) => r.status === 'missing');
  const numbers = idNumbers(rows.map((r) => r.id));
  missing = rows.map((r) => ({ ...r, full: numbers.get(r.id) }));
  assert.ok(missing.length > 20 && missing.every((r) => r.full && r.full.length === 18), 'the operator\'s point has residents to scan');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(problems, [], 'no page errors');
});

for (const [label, device, offset] of [['laptop', LAPTOP, 0], ['phone', PHONE, 10]]) {
  test(`${label}: a wedge scan records once, a repeat shows 已采, an offline scan is sent once, an ID tail finds`, { timeout: 180_000 }, async () => {
    const context = await browser.newContext({ ...device, locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      watch(page, label);
      await page.goto(`${server.baseUrl}/scan?token=${encodeURIComponent(token)}`);
      await ready(page);
      await page.screenshot({ path: shot(`${label}-ready.png`) });

      // A wedge scan: confirm, then Enter records it; the count moves by exactly one.
      const a = missing[offset];
      const before = await apiCounts();
      const shownBefore = await pageCount(page);
      await wedge(page, a.full);
      await confirmShows(page, a.id);
      assert.equal(await page.locator('[data-testid="confirm-name"]').textContent(), a.name);
      assert.equal(await page.locator('[data-testid="confirm-id"]').textContent(), a.id_number);
      assert.ok(a.id_number.includes('**********'), 'the ID number shown is masked');
      const person = await page.locator('[data-testid="confirm-person"]').textContent();
      assert.equal(person, `${a.sex === 'male' ? '男' : '女'} · ${a.age}岁`);
      assert.ok((await page.locator('[data-testid="confirm-home"]').textContent()).includes(a.household));
      assert.ok((await page.locator('[data-testid="confirm-grid"]').textContent()).includes(a.staff_name));
      assert.equal(await page.locator('[data-testid="confirm-status"]').textContent(), '未采');
      await page.screenshot({ path: shot(`${label}-confirm.png`) });
      await page.keyboard.press('Enter');
      await entryBecomes(page, a.id, 'recorded', SEND_TIMEOUT_MS);
      await until(page, (n) => document.getElementById('count').textContent.replace(/\D/g, '') === String(n),
        shownBefore + 1, SHOWN_TIMEOUT_MS, 'the page\'s count one up');
      const afterOne = await apiCounts();
      assert.deepEqual(afterOne, { point: before.point + 1, sampled: before.sampled + 1 }, 'one sample, counted once');

      // The same resident again: 已采, with the time and this point; Enter records nothing.
      await wedge(page, a.full);
      await confirmShows(page, a.id);
      const status = await page.locator('[data-testid="confirm-status"]').textContent();
      assert.match(status, /^已采 \d\d:\d\d \d+号采集点$/, status);
      assert.equal(await page.locator('[data-testid="confirm"]').getAttribute('data-status'), 'sampled');
      await page.screenshot({ path: shot(`${label}-already-sampled.png`) });
      await page.keyboard.press('Enter');
      await entryBecomes(page, a.id, 'repeat', SHOWN_TIMEOUT_MS);
      assert.deepEqual(await apiCounts(), afterOne, 'a repeat is not a second count');
      assert.equal(await pageCount(page), shownBefore + 1);

      // The last four digits of an ID number find the resident.
      const b = missing[offset + 1];
      await page.locator('[data-testid="scan-input"]').fill('');
      await page.locator('[data-testid="scan-input"]').type(b.full.slice(-4), { delay: 20 });
      const candidate = page.locator(`[data-testid="candidate"][data-id="${b.id}"]`);
      await candidate.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await page.screenshot({ path: shot(`${label}-search-tail.png`) });
      await candidate.click();
      await confirmShows(page, b.id);
      await page.keyboard.press('Escape');
      await until(page, () => document.getElementById('confirm').hidden, null, SHOWN_TIMEOUT_MS, 'the confirm step closed');
      assert.deepEqual(await apiCounts(), afterOne, 'a cancelled confirm records nothing');

      // No network: the kept copy confirms, the sample waits as 待发送, across a reload.
      await until(page, () => navigator.serviceWorker && navigator.serviceWorker.controller != null, null, 30_000, 'the worker controls the page');
      const c = missing[offset + 2];
      await context.setOffline(true);
      await wedge(page, c.full);
      await confirmShows(page, c.id);
      await page.keyboard.press('Enter');
      await entryBecomes(page, c.id, 'pending', SHOWN_TIMEOUT_MS);
      const pendingText = await page.locator(`[data-testid="entry"][data-resident="${c.id}"] [data-testid="entry-state"]`).textContent();
      assert.equal(pendingText, '待发送');
      await page.screenshot({ path: shot(`${label}-offline-pending.png`) });
      await page.reload();
      await entryBecomes(page, c.id, 'pending', READY_TIMEOUT_MS);
      assert.equal(await page.locator('[data-testid="pending"]').getAttribute('data-n'), '1');
      assert.deepEqual(await apiCounts(), afterOne, 'nothing reached the server while offline');
      await context.setOffline(false);
      await entryBecomes(page, c.id, 'recorded', SEND_TIMEOUT_MS);
      assert.deepEqual(await apiCounts(), { point: afterOne.point + 1, sampled: afterOne.sampled + 1 }, 'sent once');
      await ready(page);
      await page.screenshot({ path: shot(`${label}-sent.png`) });
    } finally {
      await context.close();
    }
  });
}

test('scan to recorded on a slow phone, measured (not asserted)', { timeout: 120_000 }, async (t) => {
  const context = await browser.newContext({ ...PHONE, deviceScaleFactor: 1, locale: 'zh-CN' });
  try {
    const page = await context.newPage();
    watch(page, 'budget');
    await page.goto(`${server.baseUrl}/scan?token=${encodeURIComponent(token)}`);
    await ready(page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 400, downloadThroughput: (400 * 1000) / 8, uploadThroughput: (400 * 1000) / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const times = [];
    for (const r of missing.slice(30, 33)) {
      await wedge(page, r.full);
      await confirmShows(page, r.id);
      // From Enter on the confirm step until the page says the server has it.
      const ms = await page.evaluate((id) => new Promise((resolve) => {
        const done = () => [...document.querySelectorAll('[data-testid="entry"]')]
          .some((e) => e.dataset.resident === String(id) && e.dataset.state === 'recorded');
        const t0 = performance.now();
        new MutationObserver((_, observer) => {
          if (done()) {
            observer.disconnect();
            resolve(performance.now() - t0);
          }
        }).observe(document.body, { subtree: true, attributes: true, childList: true });
        document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      }), r.id);
      times.push(Math.round(ms));
    }
    const figures = {
      scan_budgets: {
        scan_to_recorded_ms: times,
        scan_to_recorded_budget_ms: 1000,
        emulation: '400 kbps down/up, 400 ms RTT, 4x CPU, 360x740',
      },
    };
    console.log(JSON.stringify(figures));
    t.diagnostic(JSON.stringify(figures));
    assert.ok(times.every((ms) => ms > 0));
  } finally {
    await context.close();
  }
});

/** A valid ID number nobody on the demo roster has (its region code 990000 is no real one). */
function walkInNumber(k) {
  const body = `99000019900101${String(k).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return { good: body + '10X98765432'[sum % 11], body, check: '10X98765432'[sum % 11] };
}

async function tubeShows(page, code, fill, state) {
  await until(page, ([c, f, st]) => {
    const box = document.getElementById('tube');
    return document.getElementById('tube-code').textContent === c && document.getElementById('tube-fill').textContent === f &&
      box.dataset.state === st;
  }, [code, fill, state], SEND_TIMEOUT_MS, `tube ${code} at ${fill}, ${state}`);
}

async function allSent(page) {
  await until(page, () => document.getElementById('pending').dataset.n === '0' && ![...document.querySelectorAll('[data-testid="entry"]')]
    .some((e) => e.dataset.state === 'pending'), null, SEND_TIMEOUT_MS, 'every entry sent');
}

test('tube mode: ten fill a tube and close it, the eleventh waits for a new one; a walk-in; a single tube for a flagged resident; the queue', { timeout: 300_000 }, async () => {
  const people = missing.slice(50, 61);
  assert.equal(people.length, 11, 'eleven residents to scan');
  const context = await browser.newContext({ ...LAPTOP, locale: 'zh-CN' });
  try {
    const page = await context.newPage();
    watch(page, 'tubes');
    await page.goto(`${server.baseUrl}/scan?token=${encodeURIComponent(token)}`);
    await ready(page);
    assert.equal(await page.locator('[data-testid="tube-size"]').inputValue(), '10', 'the action\'s size, 10');

    // 新开混管, then the tube's code typed as a scanner would.
    await page.locator('[data-testid="tube-new"]').click();
    assert.equal(await page.locator('[data-testid="tube"]').getAttribute('data-state'), 'ask');
    assert.equal(await page.locator('[data-testid="tube-say"]').textContent(), '请扫新管的条码（或输入管码后回车）');
    await wedge(page, 'HG-T0001');
    await tubeShows(page, 'HG-T0001', '0/10', 'open');

    for (let i = 0; i < 10; i += 1) {
      const r = people[i];
      await wedge(page, r.full);
      await confirmShows(page, r.id);
      assert.equal(await page.locator('[data-testid="confirm-tube"]').textContent(), `放入混管 HG-T0001（第 ${i + 1}/10 位）`);
      if (i === 2) await page.screenshot({ path: shot('laptop-tube-confirm.png') });
      await page.keyboard.press('Enter');
      await tubeShows(page, 'HG-T0001', `${i + 1}/10`, i === 9 ? 'full' : 'open');
      if (i === 4) await page.screenshot({ path: shot('laptop-tube-filling.png') });
    }
    assert.equal(await page.locator('[data-testid="tube-say"]').textContent(), '已满 10 人，已封管。下一位要进新管：请扫新管的条码');
    const names = await page.locator('[data-testid="tube-names"] li').allTextContents();
    assert.deepEqual(names, people.slice(0, 10).map((r) => r.name));
    await allSent(page);
    await page.screenshot({ path: shot('laptop-tube-full.png') });
    const chief = server.chief.token;
    const tube = await call('GET', `/api/actions/${actionId}/tubes/HG-T0001`, undefined, chief);
    assert.deepEqual([tube.size, tube.count, tube.closed], [10, 10, true], 'ten, and closed by the server');
    assert.deepEqual(tube.people.map((p) => p.resident_id), people.slice(0, 10).map((r) => r.id), 'exactly those ten');

    // The eleventh: the page says a new tube comes first, and sends nothing until then.
    const eleventh = people[10];
    const before = await apiCounts();
    await wedge(page, eleventh.full);
    await confirmShows(page, eleventh.id);
    assert.equal(await page.locator('[data-testid="confirm-tube"]').textContent(), '混管 HG-T0001 已满：请先扫新管的条码，再采样');
    assert.equal(await page.locator('[data-testid="confirm-record"]').textContent(), '先扫新管码（回车）');
    await page.screenshot({ path: shot('laptop-tube-eleventh-waits.png') });
    await page.keyboard.press('Enter');
    await until(page, () => document.getElementById('confirm').hidden, null, SHOWN_TIMEOUT_MS, 'the confirm step closed');
    // The panel is drawn on the next frame after the confirm closes.
    const holds = `已满 10 人，已封管。下一位要进新管：请扫新管的条码 扫新管的条码后，接着采 ${eleventh.name}`;
    await until(page, (want) => document.querySelector('[data-testid="tube-say"]').textContent === want, holds,
      SHOWN_TIMEOUT_MS, 'the tube panel says whom it holds');
    assert.deepEqual(await apiCounts(), before, 'nothing sent for the eleventh yet');
    await wedge(page, 'HG-T0002');
    await confirmShows(page, eleventh.id);
    assert.equal(await page.locator('[data-testid="confirm-tube"]').textContent(), '放入混管 HG-T0002（第 1/10 位）');
    await page.keyboard.press('Enter');
    await tubeShows(page, 'HG-T0002', '1/10', 'open');
    await entryBecomes(page, eleventh.id, 'recorded', SEND_TIMEOUT_MS);
    const second = await call('GET', `/api/actions/${actionId}/tubes/HG-T0002`, undefined, chief);
    assert.deepEqual([second.count, second.closed, second.people.map((p) => p.resident_id)], [1, false, [eleventh.id]]);

    // A walk-in: an ID number on no roster, the form offered; a wrong check digit is refused here.
    const number = walkInNumber(7);
    const snapBefore = await call('GET', `/api/actions/${actionId}`, undefined, chief);
    const pointBefore = snapBefore.points.find((p) => p.id === me.point_id);
    const entriesBefore = await page.locator('[data-testid="entry"]').count();
    await wedge(page, number.good);
    await page.locator('[data-testid="offer-walk-in"]').waitFor({ timeout: SHOWN_TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="found-text"]').textContent(), '花名册里没有这个身份证号。');
    await page.locator('[data-testid="offer-walk-in"]').click();
    await page.locator('[data-testid="walkin"]').waitFor({ state: 'visible', timeout: SHOWN_TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="wi-id"]').inputValue(), number.good, 'the number scanned is filled in');
    const wrong = number.body + (number.check === '0' ? '1' : '0');
    await page.locator('[data-testid="wi-name"]').fill('赵外来');
    await page.locator('[data-testid="wi-id"]').fill(wrong);
    await page.locator('[data-testid="wi-phone"]').fill('13900001111');
    await page.locator('[data-testid="wi-stays"]').fill('大华山村3组 王家');
    await page.locator('[data-testid="wi-record"]').click();
    const said = await page.locator('[data-testid="wi-problem"]').textContent();
    assert.equal(said, `读到的身份证号不对：校验位不对：按前 17 位算，最后一位应是 ${number.check}；请重新扫描或手动输入`);
    assert.equal(await page.locator('[data-testid="wi-id"]').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('[data-testid="entry"]').count(), entriesBefore, 'nothing queued');
    assert.equal(await page.locator('[data-testid="pending"]').getAttribute('data-n'), '0', 'nothing to send');
    assert.equal(await page.locator('[data-testid="wi-tube"]').textContent(), '放入混管 HG-T0002（第 2/10 位）');
    await page.screenshot({ path: shot('laptop-walk-in-bad-id.png') });
    await page.locator('[data-testid="wi-id"]').fill(number.good);
    await page.keyboard.press('Enter');
    await until(page, () => document.getElementById('walkin').hidden, null, SHOWN_TIMEOUT_MS, 'the form closed');
    await until(page, () => [...document.querySelectorAll('[data-testid="entry"][data-kind="walk_in"]')]
      .some((e) => e.dataset.state === 'recorded'), null, SEND_TIMEOUT_MS, 'the walk-in recorded');
    const walkEntry = page.locator('[data-testid="entry"][data-kind="walk_in"]').first();
    assert.equal(await walkEntry.locator('.c-walk-in').textContent(), '外来');
    assert.equal(await walkEntry.getAttribute('data-tube'), 'HG-T0002');
    await tubeShows(page, 'HG-T0002', '2/10', 'open');
    const snapAfter = await call('GET', `/api/actions/${actionId}`, undefined, chief);
    const pointAfter = snapAfter.points.find((p) => p.id === me.point_id);
    assert.equal(snapAfter.pace.walk_ins, snapBefore.pace.walk_ins + 1, 'pace.walk_ins one up');
    assert.equal(pointAfter.walk_ins, pointBefore.walk_ins + 1, 'the point\'s walk-ins one up');
    const queue = await call('GET', `/api/actions/${actionId}/walk-ins`, undefined, chief);
    const theirs = queue.walk_ins.filter((w) => w.name === '赵外来');
    assert.equal(theirs.length, 1, 'in the clerk\'s queue once');
    assert.deepEqual([theirs[0].id_number, theirs[0].stays_at, theirs[0].point_id], [`${number.good.slice(0, 4)}**********${number.good.slice(14)}`, '大华山村3组 王家', me.point_id]);
    await until(page, () => document.getElementById('apart').textContent.includes('外来 1'), null, SHOWN_TIMEOUT_MS, 'the page counts the walk-in apart');
    const tubeAfterWalkIn = await call('GET', `/api/actions/${actionId}/tubes/HG-T0002`, undefined, chief);
    assert.equal(tubeAfterWalkIn.count, 2, 'the walk-in went into the open tube');

    // About 20 waiting: the page shows it and, from the live pace, how long the queue takes.
    await page.locator('[data-waiting="20"]').click();
    await until(page, () => /^约 20 人在排队 · 约 \d+ 分钟排完$/.test(document.getElementById('queue-now').textContent), null,
      SEND_TIMEOUT_MS, 'the queue estimate shown');
    const paced = (await call('GET', `/api/actions/${actionId}`, undefined, chief)).pace.points[String(me.point_id)];
    assert.equal(paced.waiting, 20);
    const shownMinutes = Number((await page.locator('[data-testid="queue-now"]').textContent()).match(/约 (\d+) 分钟/)[1]);
    assert.ok(Math.abs(shownMinutes - Math.ceil(paced.queue_minutes)) <= 1, `${shownMinutes} min shown, ${paced.queue_minutes} by the server`);
    await page.screenshot({ path: shot('laptop-queue.png') });

    // The lab finds HG-T0001 positive: its first resident, scanned again, needs a single tube.
    await call('POST', `/api/actions/${actionId}/events`,
      { events: [{ id: crypto.randomUUID(), type: 'tube_result', tube: 'HG-T0001', result: 'positive' }] }, server.lab.token);
    const flagged = people[0];
    await wedge(page, flagged.full);
    await confirmShows(page, flagged.id);
    await until(page, () => !document.getElementById('confirm-flag').hidden, null, SHOWN_TIMEOUT_MS, 'the flag shown');
    assert.equal(await page.locator('[data-testid="confirm-flag"]').textContent(), '混管阳性 需单管复核');
    assert.equal(await page.locator('[data-testid="confirm"]').getAttribute('data-flag'), 'true');
    assert.equal(await page.locator('[data-testid="confirm-record"]').textContent(), '单管采样（回车）');
    await page.screenshot({ path: shot('laptop-flagged-single-tube.png') });
    await page.locator('[data-testid="single-code"]').focus();
    await page.keyboard.type('S-T0001', { delay: 5 });
    await page.keyboard.press('Enter');
    await until(page, () => [...document.querySelectorAll('[data-testid="entry"]')]
      .some((e) => e.dataset.tube === 'S-T0001' && e.dataset.state === 'recorded'), null, SEND_TIMEOUT_MS, 'the single tube recorded');
    const single = await call('GET', `/api/actions/${actionId}/tubes/S-T0001`, undefined, chief);
    assert.deepEqual([single.size, single.count, single.closed, single.people[0].resident_id], [1, 1, true, flagged.id]);
    await tubeShows(page, 'HG-T0002', '2/10', 'open');
  } finally {
    await context.close();
  }
});

test('phone: the open tube, the walk-in form and the queue fit 360 px', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
  try {
    const page = await context.newPage();
    watch(page, 'phone-tubes');
    await page.goto(`${server.baseUrl}/scan?token=${encodeURIComponent(token)}`);
    await ready(page);
    await page.locator('[data-testid="tube-new"]').click();
    await page.screenshot({ path: shot('phone-tube-ask.png') });
    await wedge(page, 'HG-T0003');
    await tubeShows(page, 'HG-T0003', '0/10', 'open');
    for (const r of missing.slice(61, 64)) {
      await wedge(page, r.full);
      await confirmShows(page, r.id);
      await page.keyboard.press('Enter');
      await entryBecomes(page, r.id, 'recorded', SEND_TIMEOUT_MS);
    }
    await tubeShows(page, 'HG-T0003', '3/10', 'open');
    await page.locator('[data-waiting="10"]').click();
    await until(page, () => document.getElementById('queue-now').textContent.startsWith('约 10 人在排队'), null, SEND_TIMEOUT_MS, 'the queue shown');
    await page.screenshot({ path: shot('phone-tube-open.png') });
    await page.screenshot({ path: shot('phone-tube-open-full-page.png'), fullPage: true });
    const r = missing[64];
    await wedge(page, r.full);
    await confirmShows(page, r.id);
    await page.screenshot({ path: shot('phone-tube-confirm.png') });
    await page.keyboard.press('Escape');
    await wedge(page, '无此人测试');
    await page.locator('[data-testid="offer-walk-in"]').waitFor({ timeout: SHOWN_TIMEOUT_MS });
    await page.locator('[data-testid="offer-walk-in"]').click();
    await page.locator('[data-testid="walkin"]').waitFor({ state: 'visible', timeout: SHOWN_TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="wi-name"]').inputValue(), '无此人测试', 'the name searched is filled in');
    await page.locator('[data-testid="wi-record"]').click();
    assert.match(await page.locator('[data-testid="wi-problem"]').textContent(), /^读到的身份证号不对：身份证号应为 18 位，这个是 0 位/);
    await page.screenshot({ path: shot('phone-walk-in-form.png') });
    await page.keyboard.press('Escape');
    // Leave tube mode: the tube is closed by hand (封管) on the way.
    await page.locator('[data-testid="tube-off"]').click();
    await until(page, () => document.getElementById('tube').dataset.state === 'off', null, SHOWN_TIMEOUT_MS, 'tube mode off');
    await allSent(page);
    const closed = await call('GET', `/api/actions/${actionId}/tubes/HG-T0003`, undefined, server.chief.token);
    assert.deepEqual([closed.count, closed.closed], [3, true], 'closed by hand with three');
  } finally {
    await context.close();
  }
});

test('a resident from outside the action\'s scope is recorded and shown 非本范围', { timeout: 90_000 }, async () => {
  // A second action over one sub-grid, at this operator's point: someone of the point's
  // other grids comes to it. (The page follows the open action with the highest id.)
  const nodes = await call('GET', '/api/nodes', undefined, server.chief.token);
  const list = Array.isArray(nodes) ? nodes : nodes.nodes;
  const sub = list.find((n) => n.parent === 1);
  const created = await call('POST', '/api/actions', { kind: 'testing', name: '第2轮 一个分网格', scope: [sub.id], points: [me.point_id] }, server.chief.token);
  await call('POST', `/api/actions/${created.id}/events`, { events: [{ id: crypto.randomUUID(), type: 'action_opened' }] }, server.chief.token);
  const inScope = new Set((await call('GET', `/api/actions/${created.id}/point-roster?limit=5000`)).residents.map((r) => r.id));
  const outsider = missing.slice(40).find((r) => !inScope.has(r.id));
  assert.ok(outsider, 'a resident of the point outside the sub-grid');
  const point = async () => (await call('GET', `/api/actions/${created.id}`)).points.find((p) => p.id === me.point_id);
  const before = await point();

  const context = await browser.newContext({ ...LAPTOP, locale: 'zh-CN' });
  try {
    const page = await context.newPage();
    watch(page, 'outside');
    await page.goto(`${server.baseUrl}/scan?token=${encodeURIComponent(token)}`);
    await ready(page);
    await wedge(page, outsider.full);
    await confirmShows(page, outsider.id);
    assert.equal(await page.locator('[data-testid="confirm"]').getAttribute('data-outside'), 'true');
    assert.ok((await page.locator('[data-testid="confirm-outside"]').textContent()).startsWith('非本范围'));
    await page.screenshot({ path: shot('laptop-outside-scope.png') });
    await page.keyboard.press('Enter');
    await entryBecomes(page, outsider.id, 'recorded', SEND_TIMEOUT_MS);
    const tag = await page.locator(`[data-testid="entry"][data-resident="${outsider.id}"] .c-outside`).textContent();
    assert.equal(tag, '非本范围');
    const after = await point();
    assert.equal(after.count, before.count + 1, 'counted at the point');
    assert.equal(after.outside, (before.outside || 0) + 1, 'and apart, as outside the scope');
    await page.screenshot({ path: shot('laptop-outside-recorded.png') });
  } finally {
    await context.close();
  }
});
