// The clerk's walk-in queue, in Chromium at a laptop: three people a point registered who
// are not on the roster; one is confirmed onto the roster into a household found by its
// number, one merged with a resident found by name, one rejected with a reason. Each
// decision reaches the server once (the API's queue says so), and the audit log has each.
// Screenshots go to target/screenshots/walkins/.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/walkins.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, describeAnswer, launchBrowser, startDemoServer, uuidv7 } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'walkins');
const LAPTOP = { width: 1366, height: 768 };

let server;
let browser;


/** A valid 18-character ID number from 17 digits (GB 11643 check digit). */
function idNumber(body17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body17].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return body17 + '10X98765432'[sum % 11];
}

async function call(role, method, urlPath, body) {
  const answer = await api(server.baseUrl, server[role].token, method, urlPath, body);
  assert.equal(answer.status, 200, `${role}: ${describeAnswer(method, urlPath, answer)}`);
  return answer.body;
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startDemoServer({ roles: ['chief', 'operator', 'admin'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the clerk confirms, merges and rejects walk-ins, each once and audited', async () => {
  const [action] = await call('chief', 'GET', '/api/actions');
  const id = action.id;
  const me = await call('operator', 'GET', '/api/me');
  const point = me.point_id;
  const names = ['王外来', '李外来', '赵外来'];
  for (const [k, name] of names.entries()) {
    const walkIn = { name, id_number: idNumber(`9900001990010100${k}`), stays_at: '投亲：村东头' };
    await call('operator', 'POST', `/api/actions/${id}/events`, {
      events: [{ id: uuidv7(), type: 'walk_in_sampled', walk_in: walkIn, point_id: point }],
    });
  }
  const someone = (await call('chief', 'GET', `/api/actions/${id}/lookup?q=DHS0007`)).residents[0];

  const context = await browser.newContext({ viewport: LAPTOP, deviceScaleFactor: 1, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}/walkins.html?token=${encodeURIComponent(server.chief.token)}`);
  await page.waitForSelector('[data-testid="walk-in"]');
  assert.match(await page.locator('#pending-title').innerText(), /待核实 3 人/);
  await page.screenshot({ path: path.join(SHOTS, 'queue.png') });
  const card = (name) => page.locator('[data-testid="pending"] [data-testid="walk-in"]', { hasText: name });

  // Onto the roster, into household DHS0003.
  await card('王外来').locator('[data-testid="wi-confirm"]').click();
  await card('王外来').locator('[data-testid="wi-search"]').fill('DHS0003');
  await card('王外来').locator('[data-testid="wi-search"]').press('Enter');
  await card('王外来').locator('[data-testid="wi-option"]').first().click();
  await page.screenshot({ path: path.join(SHOTS, 'confirm.png') });
  await card('王外来').locator('[data-testid="wi-yes"]').click();
  await page.waitForFunction(() => /已入册/.test(document.querySelector('[data-testid="wi-status"]').textContent));

  // Merged with a resident found by name.
  await card('李外来').locator('[data-testid="wi-merge"]').click();
  await card('李外来').locator('[data-testid="wi-search"]').fill(someone.name);
  await card('李外来').locator('[data-testid="wi-search"]').press('Enter');
  await card('李外来').locator('[data-testid="wi-option"]', { hasText: someone.household }).first().click();
  await card('李外来').locator('[data-testid="wi-yes"]').click();
  await page.waitForFunction(() => /已合并/.test(document.querySelector('[data-testid="wi-status"]').textContent));

  // Rejected: the button waits for a reason.
  await card('赵外来').locator('[data-testid="wi-reject"]').click();
  assert.equal(await card('赵外来').locator('[data-testid="wi-yes"]').isDisabled(), true, 'no rejection without a reason');
  await card('赵外来').locator('[data-testid="wi-reason"]').fill('重复登记');
  await card('赵外来').locator('[data-testid="wi-yes"]').click();
  await page.waitForFunction(() => /已驳回/.test(document.querySelector('[data-testid="wi-status"]').textContent));
  assert.match(await page.locator('#pending-title').innerText(), /待核实 0 人/);
  await page.screenshot({ path: path.join(SHOTS, 'decided.png'), fullPage: true });

  const queue = await call('chief', 'GET', `/api/actions/${id}/walk-ins`);
  const by = Object.fromEntries(queue.walk_ins.map((w) => [w.name, w]));
  assert.equal(by['王外来'].resolution, 'confirmed');
  assert.equal(by['李外来'].resolution, 'merged');
  assert.equal(by['李外来'].resident_id, someone.id);
  assert.equal(by['赵外来'].resolution, 'rejected');
  const household = await call('chief', 'GET', `/api/actions/${id}/lookup?q=DHS0003`);
  assert.ok(household.residents.some((r) => r.name === '王外来' && r.status === 'sampled'), 'a new resident of DHS0003, sampled');
  const audit = await call('admin', 'GET', '/api/audit');
  assert.equal(audit.entries.filter((e) => e.what === 'decide_walk_in').length, 3, 'each decision audited once');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `nothing wider than the laptop (${overflow} px over)`);
  await context.close();
});
