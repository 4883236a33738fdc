// The command centre shows a scan live: an operator's scan posted over the API
// appears in the chief's page within 2 s, and a repeated scan changes nothing.
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/   (scripts/test does this)
// Set TEST_LOG=1 to see the server's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO_ROOT, api, describeAnswer, launchBrowser, parseCount, startDemoServer,
} from './harness.mjs';

const SCREENSHOT_DIR = path.join(REPO_ROOT, 'target', 'screenshots');
const CONNECTION_OPEN = '[data-testid="connection"][data-state="open"]';
const SAMPLED = '[data-testid="sampled"]';
const PAGE_READY_TIMEOUT_MS = 30_000;
const LIVE_UPDATE_TIMEOUT_MS = 2_000;

// Runs in the page (so it must not use anything from this module): true when the
// element shows an integer, or that integer when `target` is given.
function sampledIsInPage([selector, target]) {
  const el = document.querySelector(selector);
  if (!el) return false;
  const t = (el.textContent || '').replace(/[\s,\u00a0\u202f]/g, '');
  if (!/^\d+$/.test(t)) return false;
  return target === null || Number(t) === target;
}

test('command centre shows an operator scan live and ignores a repeat', { timeout: 180_000 }, async (t) => {
  let server;
  let browser;
  let page;
  const pageProblems = [];

  // What the page shows right now, for failure messages.
  async function pageState() {
    if (!page) return '(no page)';
    try {
      const state = await page.evaluate(([sampledSel]) => {
        const conn = document.querySelector('[data-testid="connection"]');
        const sampled = document.querySelector(sampledSel);
        return {
          url: location.href.replace(/token=[^&]+/, 'token=…'),
          connection: conn ? `data-state=${JSON.stringify(conn.getAttribute('data-state'))} text=${JSON.stringify(conn.textContent.trim())}` : 'element missing',
          sampled: sampled ? JSON.stringify(sampled.textContent.trim()) : 'element missing',
        };
      }, [SAMPLED]);
      return `page ${state.url}: connection ${state.connection}; sampled ${state.sampled}` +
        (pageProblems.length ? `\npage errors:\n  ${pageProblems.slice(-10).join('\n  ')}` : '');
    } catch (err) {
      return `(could not read the page: ${err.message})`;
    }
  }

  async function sampledText() {
    return page.evaluate((sel) => document.querySelector(sel)?.textContent?.trim() ?? null, SAMPLED);
  }

  try {
    server = await startDemoServer();
    const { baseUrl, chief, operator } = server;
    t.diagnostic(`muster at ${baseUrl} (pid ${server.pid})`);

    // 1. The open action (the harness waited for the demo to say it opened it), a point
    //    and residents still missing.
    let answer = await api(baseUrl, chief.token, 'GET', '/api/actions');
    assert.equal(answer.status, 200, `expected 200 from GET /api/actions; ${describeAnswer('GET', '/api/actions', answer)}`);
    const action = Array.isArray(answer.body) ? answer.body.find((a) => a && a.phase === 'open') : undefined;
    assert.ok(action, `expected an action with phase "open" (the demo opens one); ${describeAnswer('GET', '/api/actions', answer)}`);
    const actionPath = `/api/actions/${encodeURIComponent(String(action.id))}`;

    answer = await api(baseUrl, chief.token, 'GET', actionPath);
    assert.equal(answer.status, 200, `expected 200 from GET ${actionPath}; ${describeAnswer('GET', actionPath, answer)}`);
    const points = answer.body?.points;
    assert.ok(Array.isArray(points) && points.length > 0 && points[0]?.id !== undefined,
      `expected the snapshot to have a non-empty "points" array with ids; ${describeAnswer('GET', actionPath, answer)}`);
    const pointId = points[0].id;

    const missingPath = `${actionPath}/missing?limit=5`;
    answer = await api(baseUrl, chief.token, 'GET', missingPath);
    assert.equal(answer.status, 200, `expected 200 from GET ${missingPath}; ${describeAnswer('GET', missingPath, answer)}`);
    const residents = answer.body?.residents;
    assert.ok(Array.isArray(residents) && residents.length > 1 && residents[1]?.id !== undefined,
      `expected at least two missing residents with ids; ${describeAnswer('GET', missingPath, answer)}`);
    const residentId = residents[0].id;

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageProblems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      // HTTP errors are reported with their URL by the 'response' handler below.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageProblems.push(`console.error: ${msg.text()}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) {
        pageProblems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url().replace(/token=[^&]+/, 'token=…')}`);
      }
    });
    page.on('requestfailed', (req) => pageProblems.push(`request failed: ${req.url().replace(/token=[^&]+/, 'token=…')} ${req.failure()?.errorText ?? ''}`));

    // 2. The chief's page connects and shows a sampled count.
    const response = await page.goto(chief.url, { waitUntil: 'domcontentloaded' });
    assert.ok(response && response.ok(), `expected the chief's page to load with HTTP 2xx, got ${response ? response.status() : 'no response'}`);
    try {
      await page.waitForSelector(CONNECTION_OPEN, { state: 'attached', timeout: PAGE_READY_TIMEOUT_MS });
      await page.waitForFunction(sampledIsInPage, [SAMPLED, null], { timeout: PAGE_READY_TIMEOUT_MS });
    } catch (err) {
      assert.fail(`expected ${CONNECTION_OPEN} and an integer in ${SAMPLED} within ${PAGE_READY_TIMEOUT_MS / 1000} s; ` +
        `saw ${await pageState()}\n(${err.message.split('\n')[0]})`);
    }
    const initialText = await sampledText();
    const n = parseCount(initialText);
    assert.ok(Number.isInteger(n), `expected ${SAMPLED} to show an integer, saw ${JSON.stringify(initialText)}`);
    t.diagnostic(`initial sampled count: ${n}`);

    // 3. The operator scans that resident; the chief's page shows it within 2 s.
    const scansPath = `${actionPath}/scans`;
    const scan = { id: crypto.randomUUID(), resident_id: residentId, point_id: pointId };
    const first = await api(baseUrl, operator.token, 'POST', scansPath, scan);
    const answeredAt = Date.now();
    assert.ok([200, 201].includes(first.status),
      `expected 200 or 201 from POST ${scansPath} ${JSON.stringify(scan)}; ${describeAnswer('POST', scansPath, first)}`);
    assert.equal(typeof first.body?.seq, 'number',
      `expected a numeric "seq" in the scan's answer; ${describeAnswer('POST', scansPath, first)}`);

    const want = n + 1;
    try {
      await page.waitForFunction(sampledIsInPage, [SAMPLED, want], { timeout: LIVE_UPDATE_TIMEOUT_MS });
    } catch (err) {
      assert.fail(`expected ${SAMPLED} to show ${want} (was ${n}) within ${LIVE_UPDATE_TIMEOUT_MS} ms of the scan's answer ` +
        `(seq ${first.body.seq}); after ${Date.now() - answeredAt} ms saw ${await pageState()}\n(${err.message.split('\n')[0]})`);
    }
    t.diagnostic(`page showed ${want} ${Date.now() - answeredAt} ms after the scan was answered`);

    // 4. The same scan again is a repeat with the same seq, and the count does not move.
    const again = await api(baseUrl, operator.token, 'POST', scansPath, scan);
    assert.ok([200, 201].includes(again.status),
      `expected 200 or 201 from the repeated POST ${scansPath}; ${describeAnswer('POST', scansPath, again)}`);
    assert.equal(again.body?.seq, first.body.seq,
      `expected the repeated scan to answer the first one's seq ${first.body.seq}; ${describeAnswer('POST', scansPath, again)}`);
    assert.equal(again.body?.status, 'repeat',
      `expected "status": "repeat" for the repeated scan; ${describeAnswer('POST', scansPath, again)}`);
    // Then a new scan: the page must come to exactly one more, and the server agrees,
    // so the repeat counted nowhere (waiting on the page, not on a clock).
    const next = { id: crypto.randomUUID(), resident_id: residents[1].id, point_id: pointId };
    const second = await api(baseUrl, operator.token, 'POST', scansPath, next);
    assert.equal(second.status, 201, `expected 201 for a new scan; ${describeAnswer('POST', scansPath, second)}`);
    const counted = await api(baseUrl, chief.token, 'GET', actionPath);
    assert.equal(counted.body?.totals?.sampled, want + 1,
      `expected the server to count ${want + 1} after a repeat and a new scan; ${describeAnswer('GET', actionPath, counted)}`);
    try {
      await page.waitForFunction(sampledIsInPage, [SAMPLED, want + 1], { timeout: LIVE_UPDATE_TIMEOUT_MS });
    } catch (err) {
      assert.fail(`expected ${SAMPLED} to show ${want + 1} after a repeat and a new scan; saw ${await pageState()}\n(${err.message.split('\n')[0]})`);
    }

    // 5. A picture for people to look at.
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const shot = path.join(SCREENSHOT_DIR, 'command-centre.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${path.relative(REPO_ROOT, shot)}`);
  } catch (err) {
    // Keep what the page looked like when it failed, and the server's last words.
    if (page) {
      try {
        fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'command-centre-failed.png'), fullPage: true });
      } catch { /* best effort */ }
    }
    if (server) process.stderr.write(`${server.logs()}\n`);
    throw err;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  }
});
