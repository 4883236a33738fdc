// The chat groups page (工作群) as the chief uses it at a laptop: a WeCom group robot added
// with its address, a test message that a local stand-in for the robot receives in the
// documented format (msgtype text, ≤ 2048 bytes) and answers, the delivery shown as
// delivered; a refusal shown with the service's own error; an address that is not http(s)
// refused in Chinese; a group set to get the hourly progress, and while the demo's night
// plays, the robot receiving the village's progress on the hour. Nothing leaves the
// machine. Screenshots go to target/screenshots/channels/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT, launchBrowser, pageAs, startDemoServer } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'channels');
const LAPTOP = { width: 1366, height: 768 };
const SHOWN_MS = 15_000;

let server;
let browser;
let robot;
/** What the stand-in robot received, and what it answers next. */
const arrived = [];
/** Who waits for an arrival (see `arrival`): each is called as one comes. */
const waiting = new Set();

/** Resolves with the first arrival from index `from` on that `pick` takes, as it arrives. */
function arrival(from, pick, ms) {
  return new Promise((resolve, reject) => {
    const look = () => {
      const found = arrived.slice(from).find(pick);
      if (!found) return false;
      waiting.delete(look);
      clearTimeout(timer);
      resolve(found);
      return true;
    };
    const timer = setTimeout(() => {
      waiting.delete(look);
      reject(new Error(`nothing of the kind arrived in ${ms} ms: ${JSON.stringify(arrived.slice(from))}`));
    }, ms);
    if (!look()) waiting.add(look);
  });
}
const answers = [];

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  robot = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const json = JSON.parse(body || '{}');
      // WeCom's documented form: POST …/cgi-bin/webhook/send?key=KEY, {msgtype: "text", text: {content}}.
      const ok = req.method === 'POST' && url.pathname === '/cgi-bin/webhook/send' && url.searchParams.get('key') === 'k-123'
        && json.msgtype === 'text' && typeof json.text?.content === 'string' && Buffer.byteLength(json.text.content) <= 2048;
      arrived.push({ ok, json });
      for (const look of [...waiting]) look();
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(answers.shift() ?? { errcode: 0, errmsg: 'ok' }));
    });
  });
  await new Promise((r) => robot.listen(0, '127.0.0.1', r));
  server = await startDemoServer({ roles: ['chief'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  robot?.close();
});

test('the chief adds a group robot, tests it, and sees each delivery as the service answered', { timeout: 90_000 }, async () => {
  const { page, context } = await pageAs(browser, server, 'chief', LAPTOP, '/');
  await page.getByTestId('nav-channels').click();
  await page.waitForURL(/channels\.html/);
  await page.getByTestId('ch-add').waitFor();

  // An address that is not http(s): refused, in Chinese, nothing added.
  await page.getByTestId('ch-name').fill('第1网格企业微信群');
  await page.getByTestId('ch-url').fill('ftp://127.0.0.1/robot');
  await page.getByTestId('ch-save').click();
  await page.getByTestId('ch-problem').waitFor({ state: 'visible', timeout: SHOWN_MS });
  assert.match(await page.getByTestId('ch-problem').innerText(), /[\u4e00-\u9fff]/);
  assert.equal(await page.getByTestId('channel').count(), 0);

  const port = robot.address().port;
  await page.getByTestId('ch-url').fill(`http://127.0.0.1:${port}/cgi-bin/webhook/send?key=k-123`);
  await page.getByTestId('ch-summary-new').check();
  await page.getByTestId('ch-save').click();
  await page.getByTestId('channel').first().waitFor({ timeout: SHOWN_MS });
  const card = await page.getByTestId('channel').first().innerText();
  assert.ok(card.includes('第1网格企业微信群') && card.includes(`127.0.0.1:${port}`), card);
  assert.ok(!card.includes('k-123'), 'the key in the address is not shown again');
  assert.ok(await page.getByTestId('ch-summary').isChecked(), 'added with the hourly progress');
  assert.equal(await page.getByTestId('ch-summary-new').isChecked(), false, 'the form is cleared for the next group');

  // Unticked: the server keeps it so (read again after a reload).
  const unticked = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.status() === 200);
  await page.getByTestId('ch-summary').uncheck();
  await unticked;
  await page.reload();
  await page.getByTestId('channel').first().waitFor({ timeout: SHOWN_MS });
  assert.equal(await page.getByTestId('ch-summary').isChecked(), false);

  // A test message: the robot gets it in its format; the delivery shows as delivered.
  await page.getByTestId('ch-test').click();
  await page.locator('[data-testid="delivery"][data-outcome="sent"]').waitFor({ timeout: SHOWN_MS });
  assert.match(await page.locator('[data-testid="delivery"][data-outcome="sent"]').innerText(), /测试消息/);
  // (Only test messages: a real clock hour passing during the test would bring nothing, the
  // summary being off.)
  assert.equal(arrived.length, 1, JSON.stringify(arrived));
  assert.ok(arrived[0].ok, JSON.stringify(arrived[0].json));
  assert.match(arrived[0].json.text.content, /测试/);

  // The robot refuses the next one: shown with its own error.
  answers.push({ errcode: 93000, errmsg: 'invalid webhook url' });
  await page.getByTestId('ch-test').click();
  await page.locator('[data-testid="delivery"][data-outcome="refused"]').waitFor({ timeout: SHOWN_MS });
  assert.match(await page.locator('[data-testid="delivery"][data-outcome="refused"]').innerText(), /93000 invalid webhook url/);
  await page.screenshot({ path: path.join(SHOTS, 'channels-laptop.png') });
  await context.close();
});

test('while the night plays, a village group set to get the progress receives it on the hour', { timeout: 120_000 }, async () => {
  // Ten simulated minutes a real second: the action opens at 00:45 about seven seconds in.
  const night = await startDemoServer({ drill: { speed: 600 }, roles: ['chief'] });
  try {
    const { page, context } = await pageAs(browser, night, 'chief', LAPTOP, '/channels.html');
    await page.getByTestId('ch-add').waitFor();
    const village = await page.getByTestId('ch-node').locator('option', { hasText: '大华山村' }).first().getAttribute('value');
    await page.getByTestId('ch-node').selectOption(village);
    await page.getByTestId('ch-name').fill('大华山村工作群');
    await page.getByTestId('ch-url').fill(`http://127.0.0.1:${robot.address().port}/cgi-bin/webhook/send?key=k-123`);
    await page.getByTestId('ch-summary-new').check();
    const from = arrived.length;
    await page.getByTestId('ch-save').click();
    await page.getByTestId('channel').first().waitFor({ timeout: SHOWN_MS });
    const first = await arrival(from, (a) => /^【(进度|结束)】/.test(a.json.text?.content ?? ''), 60_000);
    assert.ok(first.ok, JSON.stringify(first.json));
    const text = first.json.text.content;
    assert.match(text, /^【(进度|结束)】\d\d:\d\d .+ · 大华山村\n应采 2676 人，已采样 \d+，豁免 \d+，未检 \d+；完成率 \d+%。/, text);
    await page.getByTestId('ch-refresh').click();
    await page.locator('[data-testid="delivery"]', { hasText: '整点进度' }).first().waitFor({ timeout: SHOWN_MS });
    await page.screenshot({ path: path.join(SHOTS, 'channels-progress-laptop.png') });
    await context.close();
  } finally {
    await night.stop();
  }
});
