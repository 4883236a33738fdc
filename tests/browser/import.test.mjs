// The roster import page never removes anything unseen: a sheet that would take most of
// the village off the roster is shown with its removals and a few names, nothing is
// written until the confirm button is pressed, and then the import uses that number.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/   (scripts/test does this)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, launchBrowser, startDemoServer } from './harness.mjs';

test('an import that removes residents shows them and waits for a confirmation', { timeout: 180_000 }, async () => {
  const server = await startDemoServer();
  const browser = await launchBrowser();
  try {
    const token = server.chief.token;
    // The template: four residents of another village, so the demo's 2,676 would go.
    const template = Buffer.from(await (await fetch(`${server.baseUrl}/api/roster/template?format=csv`)).arrayBuffer());
    const dry = await (await fetch(`${server.baseUrl}/api/roster/import?format=csv&dry_run=true`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: template,
    })).json();
    const total = dry.removals.total;
    assert.ok(total > 2_676, `the dry run counts the removals: ${JSON.stringify(dry.removals)}`);
    const nodesBefore = (await api(server.baseUrl, token, 'GET', '/api/nodes')).body.length;

    const page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
    await page.goto(`${server.baseUrl}/import.html?token=${token}`);
    await page.waitForSelector('[data-testid="area"] option:nth-child(2)', { state: 'attached', timeout: 10_000 });
    await page.setInputFiles('[data-testid="file"]', { name: '花名册.csv', mimeType: 'text/csv', buffer: template });
    await page.click('[data-testid="import"]');
    await page.waitForSelector('[data-testid="removals"]', { timeout: 20_000 });
    const removals = await page.textContent('[data-testid="removals"]');
    assert.match(removals, new RegExp(`将移除 ${total} 项`));
    assert.match(removals, /例如：村民 \S+/, 'a few names are shown');
    assert.match(await page.textContent('[data-testid="status"]'), /还没有导入/);
    assert.equal((await api(server.baseUrl, token, 'GET', '/api/nodes')).body.length, nodesBefore, 'nothing written yet');

    await page.click('[data-testid="confirm-removals"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.includes('导入完成'),
      null, { timeout: 30_000 });
    const after = (await api(server.baseUrl, token, 'GET', '/api/nodes')).body;
    assert.ok(after.some((n) => n.name === '第1网格') && after.length !== nodesBefore, 'the sheet was imported');
  } finally {
    await browser.close();
    await server.stop();
  }
});
