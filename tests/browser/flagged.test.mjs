// A positive pooled tube on the screens: a tube of ten at a point, the lab says positive,
// and at once the grid member's phone puts those ten (and the people they live with) first
// under a red line, and the chief's command centre lists them with their households and the
// grid member to call. Nothing is reloaded: both pages follow the live feed.
// Screenshots go to target/screenshots/flagged/.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/flagged.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, callAs, launchBrowser, pageAs, startDemoServer, uuidv7 } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'flagged');
const PHONE = { width: 360, height: 740 };
const LAPTOP = { width: 1366, height: 768 };
const WALL = { width: 1920, height: 1080 };
const LIVE_TIMEOUT_MS = 10_000;

let server;
let browser;

const call = (role, method, urlPath, body) => callAs(server, role, method, urlPath, body);
const openAs = async (role, viewport, urlPath) => (await pageAs(browser, server, role, viewport, urlPath)).page;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startDemoServer({ roles: ['chief', 'operator', 'grid_member', 'lab'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a positive tube flags exactly its ten on their grid member\'s phone and on the command centre', async () => {
  const [action] = await call('chief', 'GET', '/api/actions');
  const id = action.id;
  const events = `/api/actions/${id}/events`;
  // The grid member's first ten residents, and the point their grid goes to.
  const mine = await call('grid_member', 'GET', `/api/actions/${id}/households?limit=2000`);
  const residents = mine.households.flatMap((h) => h.residents.map((r) => ({ ...r, household: h.id })));
  const ten = residents.slice(0, 10);
  const points = await call('chief', 'GET', '/api/points');
  const point = points.find((p) => p.nodes.some((n) => n.id === mine.households[0].node_id)).id;

  const phone = await openAs('grid_member', PHONE, '/m');
  await phone.waitForSelector('[data-testid="resident"]');
  const centre = await openAs('chief', LAPTOP, '/');
  await centre.waitForSelector('[data-testid="sampled"]');

  const opened = { id: uuidv7(), type: 'tube_opened', tube: 'HG-TEST-1', point_id: point, size: 10 };
  const samples = ten.map((r) => ({ id: uuidv7(), type: 'resident_sampled', resident_id: r.id, point_id: point, tube: 'HG-TEST-1' }));
  await call('chief', 'POST', events, { events: [opened, ...samples] });
  await call('lab', 'POST', events, { events: [{ id: uuidv7(), type: 'tube_result', tube: 'HG-TEST-1', result: 'positive' }] });

  // The phone: a red line saying ten, exactly those ten tagged, their housemates too.
  await phone.waitForFunction(() => !document.querySelector('[data-testid="flagged-banner"]').hidden, null, { timeout: LIVE_TIMEOUT_MS });
  const banner = await phone.locator('[data-testid="flagged-banner"]').innerText();
  assert.match(banner, /10 人混管阳性/);
  const tagged = await phone.$$eval('[data-testid="resident"][data-flag]', (rows) => rows.map((r) => Number(r.dataset.id)).sort((a, b) => a - b));
  assert.deepEqual(tagged, ten.map((r) => r.id).sort((a, b) => a - b));
  const households = new Set(ten.map((r) => r.household));
  const housemates = residents.filter((r) => households.has(r.household) && !ten.some((t) => t.id === r.id)).length;
  const near = await phone.locator('.tag-flag-near').count();
  assert.equal(near, housemates, 'everyone who lives with them is tagged to be found too');
  const section = await phone.locator('h2.section').first().innerText();
  assert.match(section, /混管阳性/, 'their households come first');
  await phone.screenshot({ path: path.join(SHOTS, 'phone-member.png') });

  // The command centre: the panel lists ten, each with household and grid member.
  await centre.waitForFunction(() => document.querySelectorAll('[data-testid="flagged"]').length === 10, null, { timeout: LIVE_TIMEOUT_MS });
  const title = await centre.locator('#flagged-title').innerText();
  assert.match(title, /10 人待隔离/);
  const cards = await centre.$$eval('[data-testid="flagged"]', (lis) => lis.map((li) => li.innerText));
  for (const text of cards) {
    assert.match(text, /HG-TEST-1/);
    assert.match(text, /网格员/);
    assert.match(text, /同住 \d+ 人/);
  }
  await centre.screenshot({ path: path.join(SHOTS, 'centre-laptop.png') });

  // The wall: the list fits the side column, nothing below the fold.
  await centre.setViewportSize(WALL);
  // Laid out again at the wall's size, and drawn (the list is fitted on a frame).
  await centre.waitForFunction(() => window.innerWidth === 1920);
  await centre.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const height = await centre.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height <= WALL.height + 1, `the wall page is ${height} px tall`);
  await centre.screenshot({ path: path.join(SHOTS, 'centre-wall.png') });
});
