// Bringing phones into service: a grid member pairs a phone by its link and sees only
// their own grid; an admin pairs, opens the staff page, makes a pairing code (QR shown),
// and revokes the grid member's phone, whose page then loses its live feed.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/   (scripts/test does this)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT, launchBrowser, parseCount, startDemoServer } from './harness.mjs';

const CONNECTION = '[data-testid="connection"]';

test('a paired grid member sees only their grid, and an admin can revoke that phone', { timeout: 180_000 }, async () => {
  const server = await startDemoServer({ extraArgs: [] });
  const browser = await launchBrowser();
  try {
    assert.ok(server.grid_member && server.admin, `the demo prints pairing links for every role:\n${server.logs()}`);
    // The grid member, on a phone-sized screen.
    const phone = await (await browser.newContext({ viewport: { width: 400, height: 800 } })).newPage();
    await phone.goto(server.grid_member.pairingUrl);
    await phone.click('[data-testid="pair-button"]');
    await phone.waitForSelector('[data-testid="pair-done"]', { timeout: 10_000 });
    // Pairing lands a grid member on their phone page (/m); the command centre is theirs too, cut to their grid.
    await phone.click('[data-testid="pair-go"]');
    await phone.waitForURL(/\/m$/, { timeout: 10_000 });
    await phone.goto(`${server.baseUrl}/`);
    await phone.waitForSelector(`${CONNECTION}[data-state="open"]`, { timeout: 30_000 });
    const target = parseCount(await phone.textContent('[data-testid="target"]'));
    assert.ok(target > 0 && target < 100, `a grid member's target is their grid's residents, not the village's 2,676: saw ${target}`);
    const tree = await phone.locator('li[data-node-id]').count();
    assert.equal(tree, 1, 'the area tree shows their own grid only');

    // The same pairing link a second time is refused.
    const again = await (await browser.newContext()).newPage();
    await again.goto(server.grid_member.pairingUrl);
    await again.click('[data-testid="pair-button"]');
    await again.waitForSelector('[data-testid="pair-error"]:not([hidden])', { timeout: 10_000 });

    // The admin pairs a browser, opens the staff page and revokes the grid member's phone.
    const desk = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    desk.on('dialog', (d) => d.accept());
    await desk.goto(server.admin.pairingUrl);
    await desk.click('[data-testid="pair-button"]');
    await desk.waitForSelector('[data-testid="pair-done"]', { timeout: 10_000 });
    await desk.goto(`${server.baseUrl}/admin.html`);
    const row = desk.locator(`[data-testid="staff-row"][data-staff-id="${server.grid_member.line.match(/#(\d+)/)[1]}"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.locator('[data-testid="make-pairing-code"]').click();
    await desk.waitForSelector('[data-testid="pairing-qr"]', { timeout: 10_000 });
    const code = (await desk.textContent('[data-testid="pairing-code"]')).trim();
    assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await desk.screenshot({ path: path.join(REPO_ROOT, 'target', 'screenshots', 'admin-pairing.png') });
    await desk.click('[data-testid="pairing-close"]');

    await row.locator('[data-testid="toggle-sessions"]').click();
    // The phone's session is the newest "Redmi"-less one: revoke every session of this member.
    const revoke = desk.locator('[data-testid="revoke-session"]');
    const sessions = await revoke.count();
    assert.ok(sessions >= 1, 'the paired phone is listed');
    for (let i = 0; i < sessions; i += 1) {
      await revoke.first().click();
      await desk.click('[data-testid="confirm-ok"]');
      await desk.waitForFunction((n) => document.querySelectorAll('[data-testid="revoke-session"]').length < n, sessions - i);
    }
    // The phone's live feed is closed by the server and its token no longer works.
    await phone.waitForSelector(`${CONNECTION}[data-state="closed"]`, { timeout: 5_000 });
  } finally {
    await browser.close();
    await server.stop();
  }
});
