// A new village's first night begins here: `muster serve` on an empty database prints a
// setup link; opened on a phone, it takes a name and a mobile number and makes that person
// the administrator, who then lands on the staff page signed in. No console or page error
// on the way (a Content-Security-Policy violation is one).
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/   (scripts/test does this)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, launchBrowser, startServe } from './harness.mjs';

const SCREENSHOTS = path.join(REPO_ROOT, 'target', 'screenshots');

test('the setup link on a phone makes the first admin and opens the staff page', { timeout: 120_000 }, async () => {
  const server = await startServe();
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      // The browser's own request for /favicon.ico (which Muster does not serve) is no
      // page's doing; any other failed load is also reported with its URL below.
      if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) problems.push(`console.error: ${msg.text()}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
    });

    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });

    await page.goto(server.setupUrl);
    await page.fill('[data-testid="setup-name"]', '王建国');
    await page.fill('[data-testid="setup-phone"]', '13800001111');
    assert.equal(await overflow(), 0, 'the form is no wider than a 360 px phone');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'setup-phone-form.png'), fullPage: true });
    await page.click('[data-testid="setup-button"]');
    await page.waitForSelector('[data-testid="setup-done"]', { timeout: 10_000 });
    assert.equal((await page.textContent('[data-testid="setup-staff-name"]')).trim(), '王建国');
    assert.equal(await overflow(), 0, 'the answer is no wider than a 360 px phone');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'setup-phone.png'), fullPage: true });

    await page.click('[data-testid="setup-go"]');
    await page.waitForURL(/\/admin\.html$/, { timeout: 10_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="site-user"]')?.textContent.includes('王建国'),
      null,
      { timeout: 10_000 },
    );
    assert.deepEqual(problems, [], `no console or page errors:\n${problems.join('\n')}\n${server.logs()}`);
  } finally {
    await browser.close();
    await server.stop();
  }
});
