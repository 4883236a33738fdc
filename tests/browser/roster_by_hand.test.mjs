// The roster by hand on the staff page, at a laptop's size: the admin adds a substitute
// grid member at 23:40, corrects the name, takes them off duty; opens a sampling point and
// closes it. Nothing the page does may trip the Content-Security-Policy.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/   (scripts/test does this)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT, launchBrowser, startDemoServer } from './harness.mjs';

const shot = (name) => path.join(REPO_ROOT, 'target', 'screenshots', name);

test('an admin adds, changes and retires a staff member and a sampling point by hand', { timeout: 180_000 }, async () => {
  const server = await startDemoServer({ extraArgs: [] });
  const browser = await launchBrowser();
  const problems = [];
  try {
    const desk = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
    desk.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    desk.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    await desk.goto(server.admin.pairingUrl);
    await desk.click('[data-testid="pair-button"]');
    await desk.waitForSelector('[data-testid="pair-done"]', { timeout: 10_000 });
    await desk.goto(`${server.baseUrl}/admin.html`);
    await desk.locator('[data-testid="staff-row"]').first().waitFor({ timeout: 10_000 });

    // A substitute grid member for the last grid.
    await desk.click('[data-testid="staff-add"]');
    await desk.fill('[data-testid="staff-name"]', '赵代班');
    await desk.fill('[data-testid="staff-phone"]', '13955556666');
    await desk.selectOption('[data-testid="staff-role"]', 'grid_member');
    const grids = await desk.locator('[data-testid="staff-node"] option').evaluateAll((os) => os.map((o) => o.value));
    await desk.selectOption('[data-testid="staff-node"]', grids[grids.length - 1]);
    await desk.screenshot({ path: shot('admin-add-staff-1366.png') });
    await desk.click('[data-testid="staff-save"]');
    const added = desk.locator('[data-testid="staff-row"]', { hasText: '赵代班' });
    await added.waitFor({ timeout: 10_000 });
    assert.equal(await desk.locator('[data-testid="staff-dialog"][open]').count(), 0, 'the dialog closes');

    // The same phone again is refused, in the dialog, in Chinese.
    await desk.click('[data-testid="staff-add"]');
    await desk.fill('[data-testid="staff-name"]', '孙重复');
    await desk.fill('[data-testid="staff-phone"]', '13955556666');
    await desk.selectOption('[data-testid="staff-node"]', grids[grids.length - 1]);
    await desk.click('[data-testid="staff-save"]');
    await desk.waitForSelector('[data-testid="staff-error"]:not([hidden])', { timeout: 10_000 });
    await desk.click('#staff-cancel');

    // The name corrected, then off duty.
    await added.locator('[data-testid="edit-staff"]').click();
    await desk.fill('[data-testid="staff-name"]', '赵建华');
    await desk.click('[data-testid="staff-save"]');
    const renamed = desk.locator('[data-testid="staff-row"]', { hasText: '赵建华' });
    await renamed.waitFor({ timeout: 10_000 });
    await renamed.locator('[data-testid="retire-staff"]').click();
    await desk.click('[data-testid="confirm-ok"]');
    await renamed.waitFor({ state: 'detached', timeout: 10_000 });

    // A sampling point in the school yard, then closed.
    await desk.click('[data-testid="tab-points"]');
    const before = await desk.locator('[data-testid="point-row"]').count();
    assert.ok(before >= 10, `the demo's points are listed: ${before}`);
    await desk.click('[data-testid="point-add"]');
    await desk.fill('[data-testid="point-name"]', '临时点·村小学');
    await desk.fill('[data-testid="point-place"]', '村小学');
    await desk.selectOption('[data-testid="point-nodes"]', grids.slice(-2));
    await desk.click('[data-testid="point-save"]');
    const yard = desk.locator('[data-testid="point-row"]', { hasText: '临时点·村小学' });
    await yard.waitFor({ timeout: 10_000 });
    await desk.screenshot({ path: shot('admin-points-1366.png'), fullPage: true });
    await yard.locator('[data-testid="retire-point"]').click();
    await desk.click('[data-testid="confirm-ok"]');
    await yard.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await desk.locator('[data-testid="point-row"]').count(), before);
    assert.deepEqual(problems, [], 'no script errors and no policy violations');
  } finally {
    await browser.close();
    await server.stop();
  }
});
