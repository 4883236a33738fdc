// A call-up (召集) on two phones and the command centre: the chief calls up the grid
// members and heads; on a grid member's phone and a grid head's it comes up full screen
// over the page; 收到 on one shows on the command centre within 2 s; the other, offline,
// answers 有困难 with a reason, and when the network is back the answer arrives with the
// time it was tapped. Screenshots go to target/screenshots/callup/.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/callup.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, callAs, launchBrowser, pageAs, startDemoServer } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'callup');
const PHONE = { width: 360, height: 740 };
const LAPTOP = { width: 1366, height: 768 };
const SHOWN_MS = 10_000;

let server;
let browser;

const call = (role, method, urlPath, body) => callAs(server, role, method, urlPath, body);

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startDemoServer({ roles: ['chief', 'grid_member', 'grid_head'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a call-up comes up full screen on two phones, and their answers reach the command centre', { timeout: 120_000 }, async () => {
  const [action] = await call('chief', 'GET', '/api/actions');
  const member = await pageAs(browser, server, 'grid_member', PHONE, '/m');
  const head = await pageAs(browser, server, 'grid_head', PHONE, '/m');
  const centre = await pageAs(browser, server, 'chief', LAPTOP, '/');
  await member.page.waitForSelector('[data-testid="resident"]');
  await head.page.waitForSelector('[data-testid="resident"], [data-testid="member-group"]');
  await centre.page.waitForSelector('[data-testid="sampled"]');

  // The chief sends it from the command centre: first who it may not reach, then send.
  await centre.page.locator('[data-testid="call-up-open"]').click();
  await centre.page.locator('[data-testid="call-up-text"]').fill('紧急通知：今晚全员核酸，请马上到岗');
  await centre.page.locator('[data-testid="call-up-place"]').fill('23:50 到村委会集合');
  await centre.page.locator('[data-testid="call-up-check"]').click();
  await centre.page.waitForFunction(() => /将召集 \d+ 人/.test(document.querySelector('[data-testid="call-up-reach"]').textContent), null, { timeout: SHOWN_MS });
  const reach = await centre.page.locator('[data-testid="call-up-reach"]').innerText();
  // The demo signs every staff member in (its drill's phones): all are reachable.
  assert.match(reach, /将召集 \d+ 人，都有配对的手机/, reach);
  await centre.page.screenshot({ path: path.join(SHOTS, 'centre-send.png') });
  await centre.page.locator('[data-testid="call-up-send"]').click();
  await centre.page.locator('[data-testid="call-up-dialog"]').waitFor({ state: 'hidden', timeout: SHOWN_MS });
  for (const phone of [member, head]) {
    await phone.page.locator('[data-testid="call-up"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  }
  assert.match(await member.page.locator('[data-testid="call-up"]').innerText(), /23:50 到村委会集合/);
  await member.page.screenshot({ path: path.join(SHOTS, 'phone-call-up.png') });
  await centre.page.locator('[data-testid="call-ups"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  const called = Number((await centre.page.locator('#callups-title').innerText()).match(/（(\d+) 人）/)[1]);
  assert.ok(called >= 99, `the grid members and heads are called (${called})`);

  // 收到 on one phone: the overlay goes, the command centre says so within 2 s.
  await member.page.locator('[data-testid="call-up-received"]').click();
  await member.page.locator('[data-testid="call-up"]').waitFor({ state: 'hidden', timeout: SHOWN_MS });
  const tapped = Date.now();
  await centre.page.waitForFunction(() => /收到 1 ·/.test(document.getElementById('callups-line').textContent), null, { timeout: 2_000 });
  console.log(`收到 → on the command centre in ${Date.now() - tapped} ms`);

  // The head, offline: 有困难 with a reason, pending; online again, it arrives with its tap time.
  await head.context.setOffline(true);
  await head.page.locator('[data-testid="call-up-cannot"]').click();
  await head.page.locator('[data-testid="call-up-reason"]').fill('被封在村外');
  const offlineTap = Date.now();
  await head.page.locator('[data-testid="call-up-send-cannot"]').click();
  await head.page.locator('[data-testid="call-up"]').waitFor({ state: 'hidden', timeout: SHOWN_MS });
  // Queued on the phone, shown as pending: then the network comes back.
  await head.page.locator('[data-testid="outbox-pending"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  const online = Date.now();
  await head.context.setOffline(false);
  await head.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await centre.page.waitForFunction(() => /有困难 1 ·/.test(document.getElementById('callups-line').textContent), null, { timeout: 30_000 });
  const list = await call('chief', 'GET', `/api/actions/${action.id}/call-ups`);
  const theirs = list.call_ups[0].people.find((p) => p.answer === 'cannot');
  assert.equal(theirs.reason, '被封在村外');
  const at = Date.parse(theirs.answered_at);
  assert.ok(at >= offlineTap - 1_000 && at < online, `the answer keeps the time it was tapped (${at - offlineTap} ms after the tap, ${online - at} ms before the network came back)`);
  await centre.page.screenshot({ path: path.join(SHOTS, 'centre-laptop.png') });
  for (const p of [member, head, centre]) await p.context.close();
});
