// The after-action report (复盘) of the demo's night, as the chief opens it from the
// command centre's header: the server's self-contained page in the report page's frame,
// with its timeline, curve and tables; at a laptop and on a phone; printed to A4 with a
// sane number of pages; and the path the demo prints when its night ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { api, launchBrowser, pageAs, startDemoServer } from './harness.mjs';

const SHOTS = process.env.SHOTS_DIR || '/tmp/muster-shots';

test('the report of the demo night: in the page, at a laptop and a phone, and on A4', { timeout: 240_000 }, async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const server = await startDemoServer({ drill: { speed: 3000 }, roles: ['chief'] });
  const browser = await launchBrowser();
  try {
    // The night plays to its end; the demo then writes the night's report and says where.
    const [, written] = await server.waitForLine(/report written to (\S+)/, 120_000);
    assert.ok(fs.existsSync(written), written);
    const fileHtml = fs.readFileSync(written, 'utf8');
    assert.ok(fileHtml.includes('<svg') && !fileHtml.includes('<script'), 'self-contained, no script');

    const { page, context } = await pageAs(browser, server, 'chief', { width: 1366, height: 768 }, '/');
    // The command centre links to it.
    await page.getByTestId('nav-report').click();
    await page.waitForURL(/report\.html/);
    const frame = page.frameLocator('[data-testid=rp-frame]');
    try {
      await frame.locator('h2', { hasText: '时间线' }).first().waitFor({ timeout: 30_000 });
    } catch (e) {
      await page.screenshot({ path: path.join(SHOTS, 'report-failed.png') });
      throw new Error(`${e.message}\nstatus: ${await page.getByTestId('rp-status').innerText()}`);
    }
    assert.ok((await frame.locator('svg path').count()) >= 1, 'the curve is drawn');
    const tables = await frame.locator('table').count();
    assert.ok(tables >= 7, `tables: ${tables}`);
    const timeline = await frame.locator('table').first().innerText();
    for (const step of ['发出召集', '采样点开放', '落实 90%', '全部落实', '行动结束']) {
      assert.ok(timeline.includes(step), `${step} in the timeline`);
    }
    assert.ok(!(await frame.locator('body').innerText()).includes('NaN'));
    await page.screenshot({ path: path.join(SHOTS, 'report-laptop.png') });
    await context.close();

    const phone = await pageAs(browser, server, 'chief', { width: 360, height: 740 }, '/report.html');
    await phone.page.frameLocator('[data-testid=rp-frame]').locator('h2', { hasText: '时间线' }).first().waitFor({ timeout: 30_000 });
    await phone.page.screenshot({ path: path.join(SHOTS, 'report-phone.png') });
    await phone.context.close();

    // Printed on A4: every section on its own page, tables not cut; a few pages, not hundreds.
    const answer = await api(server.baseUrl, server.chief.token, 'GET', '/api/actions/1/report?format=html');
    assert.equal(answer.status, 200);
    const print = await browser.newPage();
    await print.setContent(answer.text, { waitUntil: 'load' });
    const pdf = await print.pdf({ format: 'A4' });
    fs.writeFileSync(path.join(SHOTS, 'report.pdf'), pdf);
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    assert.ok(pages >= 6 && pages <= 60, `pages: ${pages}`);
    await print.close();
  } finally {
    await browser.close();
    await server.stop();
  }
});
