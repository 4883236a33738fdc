// The chain of command on the phones and the command centre: a call-up sent eleven minutes
// ago (a chief's offline laptop, or the escalator running late) leaves one grid member's
// 收到 on the command centre within 2 s and the silent ones on their head's phone within
// seconds, escalated; the head hands that member's households to a colleague, whose phone
// shows them (with their history) without a reload while the member's no longer does, and
// hands them back; then the head reports the area done, and the command centre shows it.
// A second member answers offline: their 收到 keeps the tap's device time, earlier than when
// the phone came back. Screenshots (phone 360×740, laptop 1366×768, wall 1920×1080) go to
// target/screenshots/chain/ and, when MUSTER_SHOTS is set, that folder too.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/chain.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, callAs, launchBrowser, pageAs, startDemoServer, uuidv7 } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'chain');
const MORE_SHOTS = process.env.MUSTER_SHOTS || null;
const WALL = { width: 1920, height: 1080 };
const PHONE = { width: 360, height: 740 };
const LAPTOP = { width: 1366, height: 768 };
const SHOWN_MS = 10_000;

let server;
let browser;

const call = (role, method, urlPath, body) => callAs(server, role, method, urlPath, body);

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  if (MORE_SHOTS) fs.mkdirSync(MORE_SHOTS, { recursive: true });
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

/** One screenshot, into each folder. */
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name) });
  if (MORE_SHOTS) fs.copyFileSync(path.join(SHOTS, name), path.join(MORE_SHOTS, name));
}

async function households(page) {
  return page.locator('[data-testid="resident"]').count();
}

test('silence climbs to the head; a head hands households over and back, and reports the area done', { timeout: 240_000 }, async () => {
  const [action] = await call('chief', 'GET', '/api/actions');
  const head = await call('grid_head', 'GET', '/api/me');
  const member = await call('grid_member', 'GET', '/api/me');
  const under = await call('grid_head', 'GET', `/api/actions/${action.id}/households?limit=2000`);
  const others = under.staff.filter((s) => s.role === 'grid_member' && s.id !== member.id);
  assert.ok(others.length >= 2, 'the head has two more grid members');
  const [colleague, silentOne] = others;
  await pairAs('colleague', colleague.id);
  await pairAs('silent', silentOne.id);

  // A call-up to the head's grid members, sent eleven minutes ago: its ten minutes are up.
  const sentAt = new Date(Date.now() - 11 * 60_000).toISOString();
  const sent = await call('chief', 'POST', `/api/actions/${action.id}/events`, {
    events: [{ id: uuidv7(), type: 'call_up_sent', device_time: sentAt, text: '紧急通知：今晚全员核酸', place: '23:50 到村委会集合', nodes: head.nodes, roles: ['grid_member'] }],
  });
  assert.equal(sent.results[0].status, 'new');

  const centre = await pageAs(browser, server, 'chief', LAPTOP, '/');
  // Two phones show it full screen, over their page.
  const memberPhone = await pageAs(browser, server, 'grid_member', PHONE, '/m');
  const colleaguePhone = await pageAs(browser, server, 'colleague', PHONE, '/m');
  for (const p of [memberPhone, colleaguePhone]) {
    await p.page.locator('[data-testid="call-up"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
    const box = await p.page.locator('[data-testid="call-up"]').boundingBox();
    assert.ok(box.width >= PHONE.width - 1 && box.height >= PHONE.height - 1, `full screen: ${JSON.stringify(box)}`);
  }
  await shot(colleaguePhone.page, 'phone-call-up.png');
  await centre.page.locator('[data-testid="call-ups"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  await memberPhone.page.locator('[data-testid="call-up-received"]').click();
  const tapped = Date.now();
  await centre.page.waitForFunction(() => /收到 1 ·/.test(document.getElementById('callups-line').textContent), null, { timeout: 2_000 });
  test.diagnostic?.(`收到 → on the command centre in ${Date.now() - tapped} ms`);

  // The colleague, offline: 收到 is queued (pending), and only sent once the phone is back.
  await colleaguePhone.context.setOffline(true);
  await colleaguePhone.page.locator('[data-testid="call-up-received"]').click();
  const offlineTap = Date.now();
  await colleaguePhone.page.locator('[data-testid="outbox-pending"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  await shot(colleaguePhone.page, 'phone-answer-pending.png');

  // Meanwhile the silent ones climbed to the head: on the head's phone, with a number to ring.
  const headPhone = await pageAs(browser, server, 'grid_head', PHONE, '/m');
  await headPhone.page.locator('[data-testid="silent-list"]').waitFor({ state: 'visible', timeout: SHOWN_MS });
  await headPhone.page.waitForFunction((name) => document.querySelector('[data-testid="silent-list"]').innerText.includes(name), colleague.name, { timeout: SHOWN_MS });
  const cameBack = Date.now();
  await colleaguePhone.context.setOffline(false);
  // Back online: the answer arrives with the tap's own time, earlier than the return.
  const answer = centre.page.locator(`[data-testid="call-up-answer"][data-staff="${colleague.id}"]`);
  await answer.waitFor({ timeout: SHOWN_MS });
  const at = Date.parse(await answer.getAttribute('data-at'));
  assert.ok(at < cameBack, `answered at ${new Date(at).toISOString()}, before coming back at ${new Date(cameBack).toISOString()}`);
  assert.ok(at >= offlineTap - 2_000, `answered at ${new Date(at).toISOString()}, about the tap at ${new Date(offlineTap).toISOString()}`);
  await centre.page.waitForFunction(() => /收到 2 ·/.test(document.getElementById('callups-line').textContent), null, { timeout: SHOWN_MS });
  // The colleague's name leaves the head's silent list; the one who never answers stays.
  await headPhone.page.waitForFunction((name) => !document.querySelector('[data-testid="silent-list"]').innerText.includes(name), colleague.name, { timeout: SHOWN_MS });
  const silent = await headPhone.page.locator('[data-testid="silent-list"]').innerText();
  assert.ok(silent.includes(silentOne.name), `${silentOne.name} is silent: ${silent}`);
  assert.ok(!silent.includes(member.name), `${member.name} answered: ${silent}`);
  await shot(headPhone.page, 'head-silent.png');
  await centre.page.locator('#chain-silent').waitFor({ state: 'visible', timeout: SHOWN_MS });
  assert.ok((await centre.page.locator('#chain-silent').innerText()).includes(silentOne.name));
  await shot(centre.page, 'centre-call-up.png');

  // The colleague's own households, then the member's.
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
  await shot(headPhone.page, 'head-handover.png');
  await sheet.locator('[data-testid="hand-over"]').click();
  // Without a reload: the colleague's phone shows them, the member's no longer does.
  await colleaguePhone.page.waitForFunction((n) => document.querySelectorAll('[data-testid="resident"]').length === n, theirs + members, { timeout: SHOWN_MS });
  await memberPhone.page.waitForFunction(() => document.querySelectorAll('[data-testid="resident"]').length === 0, null, { timeout: SHOWN_MS });
  await shot(colleaguePhone.page, 'colleague-covering.png');
  await shot(memberPhone.page, 'member-handed-away.png');

  // And back.
  await headPhone.page.locator('[data-testid="hand-back"]').first().click();
  await memberPhone.page.waitForFunction((n) => document.querySelectorAll('[data-testid="resident"]').length === n, members, { timeout: SHOWN_MS });
  await colleaguePhone.page.waitForFunction((n) => document.querySelectorAll('[data-testid="resident"]').length === n, theirs, { timeout: SHOWN_MS });

  // The chief starts the chase on the command centre; the head reports the area done, with
  // a note, all but the missing named.
  centre.page.once('dialog', (d) => d.accept());
  await centre.page.locator('[data-testid="chase-start"]').click();
  await centre.page.waitForFunction(() => /追查从/.test(document.getElementById('chain-rule').textContent), null, { timeout: SHOWN_MS });
  await headPhone.page.locator('[data-testid="sign-off"]').waitFor({ timeout: SHOWN_MS });
  await headPhone.page.locator('[data-testid="sign-off"]').click();
  const signing = headPhone.page.locator('[data-testid="sign-off-sheet"]');
  await signing.waitFor({ timeout: SHOWN_MS });
  assert.match(await signing.innerText(), /除下面 \d+ 人外，已全部落实/);
  // The missing under the grid member who answers for them: every one under a heading.
  const memberHeads = await signing.locator('[data-testid="sign-off-member"]').allInnerTexts();
  assert.ok(memberHeads.length >= 1 && memberHeads.every((m) => /^.+：\d+ 人$/.test(m)), memberHeads.join(' / '));
  const underHeads = memberHeads.reduce((n, m) => n + Number(m.match(/(\d+) 人$/)[1]), 0);
  assert.equal(underHeads, Number((await signing.innerText()).match(/除下面 (\d+) 人外/)[1]));
  await signing.locator('textarea').fill('卧床的已约好上门');
  await shot(headPhone.page, 'head-sign-off.png');
  await signing.locator('[data-testid="sign-off-send"]').click();
  await centre.page.waitForFunction((node) => {
    const area = document.querySelector(`[data-testid="area-${node}"]`);
    return area && area.dataset.state === 'done' && /按时/.test(area.textContent) && /卧床的已约好上门/.test(area.textContent);
  }, head.nodes[0], { timeout: SHOWN_MS });
  await shot(centre.page, 'centre-chain.png');

  // The chase planned 35 minutes ago: every resident still missing has climbed to a head.
  await call('chief', 'POST', `/api/actions/${action.id}/events`, {
    events: [{ id: uuidv7(), type: 'escalation_set', minutes: 30, call_up_minutes: 10, chase_at: new Date(Date.now() - 35 * 60_000).toISOString() }],
  });
  await memberPhone.page.locator('.tag-escalated').first().waitFor({ timeout: 20_000 });
  assert.match(await memberPhone.page.locator('.tag-escalated').first().innerText(), /已上报网格长/);
  await shot(memberPhone.page, 'member-escalated.png');
  await headPhone.page.locator('[data-testid="escalated-to-me"]').waitFor({ timeout: 20_000 });
  await shot(headPhone.page, 'head-escalated.png');
  await centre.page.locator('[data-testid="escalated-1"]').waitFor({ timeout: 20_000 });
  await shot(centre.page, 'centre-escalated.png');
  const wall = await pageAs(browser, server, 'chief', WALL, '/');
  await wall.page.locator('[data-testid="escalated-1"]').waitFor({ timeout: SHOWN_MS });
  await wall.page.locator('[data-testid="call-up-answer"]').first().waitFor({ timeout: SHOWN_MS });
  await shot(wall.page, 'wall.png');

  for (const p of [centre, memberPhone, headPhone, colleaguePhone, wall]) await p.context.close();
});
