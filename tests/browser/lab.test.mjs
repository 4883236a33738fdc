// The lab's page at a laptop (1366×768), as the demo's lab user: a tube of ten filled by an
// operator through the API shows as waiting; 阳性 entered with its two confirmations flags
// exactly its ten; an upload with broken rows shows every problem in a table and records
// nothing; a good upload is checked first, then records its new results (a row already
// entered is a repeat, not recorded twice).
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/lab.test.mjs
// Screenshots: target/screenshots/lab/*.png. TEST_LOG=1 streams the server's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, describeAnswer, launchBrowser, startDemoServer } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'lab');
const LAPTOP = { width: 1366, height: 768 };

/** Records events as `token`; fails the test unless the server takes them all. */
async function record(server, token, actionId, events) {
  const body = { events: events.map((e) => ({ id: crypto.randomUUID(), ...e })) };
  const answer = await api(server.baseUrl, token, 'POST', `/api/actions/${actionId}/events`, body);
  assert.equal(answer.status, 200, describeAnswer('POST', 'events', answer));
}

/** What the page does not fit: anything wider than the window, or text cut inside its box. */
async function overflow(page) {
  return page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page ${document.documentElement.scrollWidth}px wide`);
    for (const e of document.querySelectorAll('button, td, th, h1, h2, p, label')) {
      if (e.getClientRects().length && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible') {
        out.push(`${e.tagName} "${e.textContent.trim().slice(0, 30)}" cut`);
      }
    }
    return out;
  });
}

test('the lab enters a positive by hand with two confirmations, and a results sheet only when it has no problem', { timeout: 240_000 }, async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const server = await startDemoServer({ roles: ['chief', 'operator', 'lab'] });
  const browser = await launchBrowser();
  try {
    const chief = server.chief.token;
    const actionId = (await api(server.baseUrl, chief, 'GET', '/api/actions')).body[0].id;
    const operator = (await api(server.baseUrl, server.operator.token, 'GET', '/api/me')).body;
    const missing = (await api(server.baseUrl, chief, 'GET', `/api/actions/${actionId}/missing?limit=30`)).body.residents;
    // Three tubes of ten at the operator's point: each closes by itself at its tenth.
    const fill = (code, people) => record(server, server.operator.token, actionId, [
      { type: 'tube_opened', tube: code, point_id: operator.point_id, size: 10 },
      ...people.map((r) => ({ type: 'resident_sampled', resident_id: r.id, point_id: operator.point_id, tube: code })),
    ]);
    await fill('LAB-0001', missing.slice(0, 10));
    await fill('LAB-0002', missing.slice(10, 20));
    await fill('LAB-0003', missing.slice(20, 30));
    const tube = async (code) => (await api(server.baseUrl, chief, 'GET', `/api/actions/${actionId}/tubes/${code}`)).body;
    const flagged = async () => (await api(server.baseUrl, chief, 'GET', `/api/actions/${actionId}/flagged`)).body.people;

    const context = await browser.newContext({ viewport: LAPTOP, locale: 'zh-CN' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.baseUrl}/lab.html?token=${server.lab.token}`);

    // Waiting: the three closed tubes, newest first.
    const rows = page.locator('[data-testid="waiting-row"]');
    await rows.first().waitFor({ timeout: 10_000 });
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.code)), ['LAB-0003', 'LAB-0002', 'LAB-0001']);
    assert.match(await page.textContent('[data-testid="counts"]'), /待录 3 管/);
    assert.match(await page.textContent('[data-testid="waiting"]'), /LAB-0001.*10/s);
    const firstName = missing[0].name;
    assert.ok(!(await page.textContent('body')).includes(firstName), 'no names on the lab page');
    await page.screenshot({ path: path.join(SHOTS, '01-waiting.png') });
    assert.deepEqual(await overflow(page), [], 'nothing cut at 1366×768');

    // One tube, as a wedge scanner types it: the code and Enter.
    await page.locator('[data-testid="code"]').focus();
    await page.keyboard.type('LAB-0001');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="tube"]:not([hidden])');
    assert.match(await page.textContent('[data-testid="tube"]'), /LAB-0001.*10 人（10合1）.*已封管.*待录结果/s);
    await page.click('[data-testid="positive"]');
    assert.match(await page.textContent('[data-testid="confirm-text"]'), /LAB-0001 为 阳性？.*这管的 10 人会立即被标记/);
    await page.screenshot({ path: path.join(SHOTS, '02-positive-confirm.png') });
    await page.click('[data-testid="confirm-yes"]');
    // The second confirmation: nothing is recorded by the first.
    assert.match(await page.textContent('[data-testid="confirm-text"]'), /请再次核对/);
    assert.equal((await tube('LAB-0001')).result, null, 'not recorded after one confirmation');
    await page.screenshot({ path: path.join(SHOTS, '03-positive-again.png') });
    await page.click('[data-testid="confirm-yes"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="one-status"]').textContent.includes('已录入：LAB-0001 阳性'));
    assert.equal((await tube('LAB-0001')).result, 'positive');
    assert.equal((await flagged()).length, 10, 'exactly the tube\'s ten are flagged');
    await page.waitForFunction(() => !document.querySelector('[data-code="LAB-0001"]'));
    await page.screenshot({ path: path.join(SHOTS, '04-positive-recorded.png') });

    // A sheet with broken rows: every problem in a table, nothing recorded.
    const broken = '试管编码,检测结果\r\nLAB-0002,阴性\r\nNOPE-1,阳性\r\nLAB-0003,待定\r\nLAB-0001,阴性\r\n';
    await page.setInputFiles('[data-testid="file"]', { name: '结果.csv', mimeType: 'text/csv', buffer: Buffer.from(broken) });
    await page.waitForSelector('[data-testid="problem"]', { timeout: 10_000 });
    const problems = await page.locator('[data-testid="problem"]').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
    assert.deepEqual(problems, [['3', '试管编码', 'NOPE-1'], ['4', '检测结果', '待定'], ['5', '检测结果', '阴性']]);
    assert.match(await page.textContent('[data-testid="sheet-status"]'), /发现 3 个问题，一个结果都没有录入/);
    assert.equal(await page.isVisible('[data-testid="record-sheet"]'), false, 'no record button for a broken sheet');
    assert.equal((await tube('LAB-0002')).result, null, 'nothing recorded');
    await page.screenshot({ path: path.join(SHOTS, '05-sheet-problems.png'), fullPage: true });
    assert.deepEqual(await overflow(page), [], 'the problem table fits');

    // A good sheet: checked first (nothing recorded), then recorded by the second press.
    const good = '混管编码,结果\r\nLAB-0002,阴性\r\nLAB-0003,阳性\r\nLAB-0001,阳性\r\n';
    await page.setInputFiles('[data-testid="file"]', { name: '结果2.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
    await page.waitForSelector('[data-testid="record-sheet"]:not([hidden])', { timeout: 10_000 });
    assert.match(await page.textContent('[data-testid="sheet-status"]'), /检查通过，还没有录入：可录入 2 管，其中阳性 1 管（LAB-0003）；1 行已录过/);
    assert.equal(await page.textContent('[data-testid="record-sheet"]'), '录入这 2 管结果（含阳性 1 管）');
    assert.equal((await tube('LAB-0003')).result, null, 'a check records nothing');
    await page.screenshot({ path: path.join(SHOTS, '06-sheet-checked.png') });
    await page.click('[data-testid="record-sheet"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="sheet-status"]').textContent.includes('已录入 2 管结果'));
    assert.match(await page.textContent('[data-testid="sheet-status"]'), /其中阳性 1 管：LAB-0003/);
    assert.equal((await tube('LAB-0002')).result, 'negative');
    assert.equal((await tube('LAB-0003')).result, 'positive');
    assert.equal((await flagged()).length, 20);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="waiting-row"]').length === 0);
    assert.match(await page.textContent('[data-testid="counts"]'), /待录 0 管.*阴性 1.*阳性 2/s);
    await page.screenshot({ path: path.join(SHOTS, '07-sheet-recorded.png') });

    // The same page in English, for whoever reads it so.
    await page.click('.lang button[data-lang="en"]');
    await page.screenshot({ path: path.join(SHOTS, '08-english.png') });
    assert.deepEqual(await overflow(page), [], 'nothing cut in English');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await browser.close();
    await server.stop();
  }
});
