// The chain of command on the phones and the command centre: a call-up sent eleven minutes
// ago (a chief's offline laptop, or the escalator running late) leaves one grid member's
// 收到 on the command centre within 2 s and the silent ones on their head's phone within
// seconds, escalated; the head hands that member's households to a colleague, whose phone
// shows them (with their history) without a reload while the member's no longer does, and
// hands them back; then the head reports the area done, and the command centre shows it.
// Screenshots go to target/screenshots/chain/.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/chain.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, callAs, launchBrowser, pageAs, startDemoServer, uuidv7 } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'chain');
const PHONE = { width: 360, height: 740 };
const LAPTOP = { width: 1366, height: 768 };
const SHOWN_MS = 10_000;

let server;
let browser;

const call = (role, method, urlPath, body) => callAs(server, role, method, urlPath, body);

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startDemoServer({ roles: ['chief', 'grid_member', 'grid_head', 'admin'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Pairs one more staff member's phone (as an admin would hand out a code) under `role`. */
async function pairAs(role, staffId) {
  const made = await api(server.baseUrl, server.admin.token, 'POST', `/api/staff/${staffId}/pairing-codes`, {});
  assert.equal(made.status, 201, made.text.slice(0, 200));
  const { code } = made.body;
  const paired = await api(server.baseUrl, '', 'POST', '/api/auth/pair', { code, device: 'browser test' });
  assert.equal(paired.status, 200, paired.text);
  server[role] = { token: paired.body.token };
}

async function households(page) {
  return page.locator('[data-testid="resident"]').count();
}

test('silence climbs to the head; a head hands households over and back, and reports the area done', { timeout: 180_000 }, async () => {
  const [action] = await call('chief', 'GET', '/api/actions');
  const head = await call('grid_head', 'GET', '/api/me');
  const member = await call('grid_member', 'GET', '/api/me');
  const under = await call('grid_head', 'GET', `/api/actions/${action.id}/households?limit=2000`);
  const colleague = under.staff.find((s) => s.role === 'grid_member' && s.id !== member.id);
  assert.ok(colleague, 'the head has a second grid member');
  await pairAs('colleague', colleague.id);

  // A call-up to the head's grid members, sent eleven minutes ago: its ten minutes are up.
  const sentAt = new Date(Date.now() - 11 * 60_000).toISOString();
  const sent = await call('chief', 'POST', `/api/actions/${action.id}/events`, {
    events: [{ id: uuidv7(), type: 'call_up_sent', device_time: sentAt, text: '紧急通知：今晚全员核酸', nodes: head.nodes, roles: ['grid_member'] }],
  });
  assert.equal(sent.results[0].status, 'new');

  const centre = await pageAs(browser, server, 'chief', LAPTOP, '/');
  const memberPhone = await pageAs(browser, server, 'grid_member', PHONE, '/m');
  await memberPhone.page.locator('[data-testid="call-up"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  await centre.page.locator('[data-testid="call-ups"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  await memberPhone.page.locator('[data-testid="call-up-received"]').click();
  const tapped = Date.now();
  await centre.page.waitForFunction(() => /收到 1 ·/.test(document.getElementById('callups-line').textContent), null, { timeout: 2_000 });
  test.diagnostic?.(`收到 → on the command centre in ${Date.now() - tapped} ms`);

  // The silent ones climbed to the head: on the head's phone, with a number to ring.
  const headPhone = await pageAs(browser, server, 'grid_head', PHONE, '/m');
  await headPhone.page.locator('[data-testid="silent-list"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  const silent = await headPhone.page.locator('[data-testid="silent-list"]').innerText();
  assert.ok(silent.includes(colleague.name), `${colleague.name} is silent: ${silent}`);
  assert.ok(!silent.includes(member.name), `${member.name} answered: ${silent}`);
  await headPhone.page.screenshot({ path: path.join(SHOTS, 'head-silent.png') });
  await centre.page.locator('#chain-silent').waitFor({ state: 'visible', timeout: SHOWN_MS });

  // The colleague's phone: the call-up first (they answer it), then their own households.
  const colleaguePhone = await pageAs(browser, server, 'colleague', PHONE, '/m');
  await colleaguePhone.page.locator('[data-testid="call-up-received"]').click();
  await colleaguePhone.page.locator('[data-testid="resident"]').first().waitFor({ timeout: SHOWN_MS });
  const theirs = await households(colleaguePhone.page);
  await memberPhone.page.locator('[data-testid="resident"]').first().waitFor({ timeout: SHOWN_MS });
  const members = await households(memberPhone.page);
  assert.ok(members > 0);

  // The head hands the member's households to the colleague.
  const group = headPhone.page.locator(`[data-testid="member-group"][data-staff="${member.id}"]`);
  await group.locator('[data-testid="handover"]').click();
  const sheet = headPhone.page.locator('[data-testid="handover-sheet"]');
  await sheet.waitFor({ timeout: SHOWN_MS });
  await sheet.locator('[data-testid="substitute"]').selectOption(String(colleague.id));
  await headPhone.page.screenshot({ path: path.join(SHOTS, 'head-handover.png') });
  await sheet.locator('[data-testid="hand-over"]').click();
  // Without a reload: the colleague's phone shows them, the member's no longer does.
  await colleaguePhone.page.waitForFunction((n) => document.querySelectorAll('[data-testid="resident"]').length === n, theirs + members, { timeout: SHOWN_MS });
  await memberPhone.page.waitForFunction(() => document.querySelectorAll('[data-testid="resident"]').length === 0, null, { timeout: SHOWN_MS });
  await colleaguePhone.page.screenshot({ path: path.join(SHOTS, 'colleague-covering.png') });
  await memberPhone.page.screenshot({ path: path.join(SHOTS, 'member-handed-away.png') });

  // And back.
  await headPhone.page.locator('[data-testid="hand-back"]').first().click();
  await memberPhone.page.waitForFunction((n) => document.querySelectorAll('[data-testid="resident"]').length === n, members, { timeout: SHOWN_MS });
  await colleaguePhone.page.waitForFunction((n) => document.querySelectorAll('[data-testid="resident"]').length === n, theirs, { timeout: SHOWN_MS });

  // The chase starts; the head reports the area done, all but the missing named.
  await call('chief', 'POST', `/api/actions/${action.id}/events`, { events: [{ id: uuidv7(), type: 'chase_started' }] });
  await headPhone.page.locator('[data-testid="sign-off"]').waitFor({ timeout: SHOWN_MS });
  await headPhone.page.locator('[data-testid="sign-off"]').click();
  const signing = headPhone.page.locator('[data-testid="sign-off-sheet"]');
  await signing.waitFor({ timeout: SHOWN_MS });
  assert.match(await signing.innerText(), /除下面 \d+ 人外，已全部落实/);
  await headPhone.page.screenshot({ path: path.join(SHOTS, 'head-sign-off.png') });
  await signing.locator('[data-testid="sign-off-send"]').click();
  await centre.page.waitForFunction((node) => {
    const area = document.querySelector(`[data-testid="area-${node}"]`);
    return area && area.dataset.state === 'done';
  }, head.nodes[0], { timeout: SHOWN_MS });
  await centre.page.screenshot({ path: path.join(SHOTS, 'centre-chain.png') });

  for (const p of [centre, memberPhone, headPhone, colleaguePhone]) await p.context.close();
});
