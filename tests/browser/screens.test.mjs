// Every page fits the screen its role uses, and every page has the same header.
//
// The demo plays its night (the drill, sped up); while residents are coming in, and again
// after the chief closes the action, the command centre is opened as each role on that
// role's screen: the chief at a laptop (1366×768) and on the wall (1920×1080), the wall
// screen's viewer on the wall, grid members and grid heads on a phone (360×740), a
// sampling point's operator on a phone and at a laptop. On each: nothing is wider than
// the screen, no cell of the points, the tree or the missing list is cut, and on the wall
// nothing is below the fold. Then the header of every page, for every role and for a
// visitor without a session, and the import page that shows a visitor no form.
// Screenshots of each go to target/screenshots/screens/ (kept for people to look at).
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/screens.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, describeAnswer, launchBrowser, startDemoServer } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'screens');
/** Simulated seconds per real second: the four-hour night in about a minute. */
const DRILL_SPEED = 240;
const ROLES = ['chief', 'viewer', 'grid_head', 'grid_member', 'operator', 'admin'];
const PHONE = { width: 360, height: 740 };
const LAPTOP = { width: 1366, height: 768 };
const WALL = { width: 1920, height: 1080 };

/** Who looks at the command centre on what. */
const CENTRE_VIEWS = [
  { role: 'chief', ...LAPTOP },
  { role: 'chief', ...WALL, wall: true },
  { role: 'viewer', ...WALL, wall: true },
  { role: 'grid_member', ...PHONE },
  { role: 'grid_head', ...PHONE },
  { role: 'operator', ...PHONE },
  { role: 'operator', ...LAPTOP },
];

/** The pages each role's header links to, by path. */
const LINKS = {
  admin: ['/', '/admin.html', '/import.html', '/lab.html', '/walkins.html', '/channels.html', '/report.html'],
  chief: ['/', '/admin.html', '/import.html', '/lab.html', '/walkins.html', '/channels.html', '/report.html'],
  grid_head: ['/', '/m', '/report.html'],
  grid_member: ['/', '/m'],
  operator: ['/', '/scan'],
  viewer: ['/'],
  visitor: ['/login.html'],
};
const ROLE_ZH = { admin: '管理员', chief: '总网格长', grid_head: '网格长', grid_member: '网格员', operator: '采样点操作员', viewer: '查看者' };
const PAGES = ['/', '/admin.html', '/import.html', '/lab.html', '/walkins.html', '/channels.html', '/report.html', '/login.html', '/pair.html', '/setup.html'];

const CONNECTION_OPEN = '[data-testid="connection"][data-state="open"]';

let server;
let browser;
let actionPath;

/**
 * Runs in the page: what does not fit. `wall` also asks that nothing is below the fold
 * or scrolled away inside a panel. Each problem names the element and its text.
 */
function layoutProblems({ wall }) {
  const problems = [];
  const W = window.innerWidth;
  const H = window.innerHeight;
  const name = (el) => {
    const id = el.id ? `#${el.id}` : '';
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const text = (el.innerText ?? el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
  };
  const doc = document.documentElement;
  if (doc.scrollWidth > W) problems.push(`the page is ${doc.scrollWidth} px wide on a ${W} px screen`);
  if (wall && doc.scrollHeight > H) problems.push(`the page is ${doc.scrollHeight} px tall on a ${H} px wall screen`);
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  for (const el of document.body.querySelectorAll('*')) {
    if (!shown(el) || ['CANVAS', 'OPTION', 'SCRIPT', 'BR'].includes(el.tagName)) continue;
    // Hidden from the start on purpose: a language or print-only part, a closed dialog.
    if (el.closest('dialog:not([open]), .print-area')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 0.5 || r.left < -0.5) problems.push(`${name(el)} runs off the screen (${Math.round(r.left)}–${Math.round(r.right)} of ${W} px)`);
    if (wall && r.bottom > H + 0.5) problems.push(`${name(el)} is below the fold (bottom at ${Math.round(r.bottom)} of ${H} px)`);
    // Content wider than its box: cut (overflow hidden, an ellipsis), hidden in a
    // scroller, or spilling over whatever is beside it (the 100.0 % into the next card).
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} is cut: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
    }
    if (wall && el.clientHeight > 0 && el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible') {
      problems.push(`${name(el)} hides ${el.scrollHeight - el.clientHeight} px of its content (scroll)`);
    }
  }
  return problems;
}

/** Runs in the page: what the command centre shows, for assertions and messages. */
function centreShows() {
  const visible = (sel) => [...document.querySelectorAll(sel)].filter((el) => el.getClientRects().length > 0);
  const text = (sel) => visible(sel).map((el) => el.innerText.trim());
  return {
    body: document.body.innerText,
    pointRows: visible('[data-point-id]').length,
    treeRows: visible('li[data-node-id] > .node').length,
    pointPanel: text('[data-testid="point-panel"]').join(' '),
    scans: text('#scans').join(''),
    sampled: text('[data-testid="sampled"]').join(''),
    staffCards: visible('[data-staff-id]').length,
    staffMore: text('[data-testid="staff-more"]').join(''),
  };
}

async function newPage(viewport, token) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'zh-CN', ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  if (token) await context.addInitScript((t) => localStorage.setItem('muster.token', t), token);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console.error: ${msg.text()}`);
  });
  return { page, problems, close: () => context.close() };
}

function shotPath(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, `${name}.png`);
}

async function snapshotAs(role) {
  const answer = await api(server.baseUrl, server[role].token, 'GET', actionPath);
  assert.equal(answer.status, 200, describeAnswer('GET', actionPath, answer));
  return answer.body;
}

/** The command centre as `view.role` on `view`'s screen: it fits, shows the role's part, and is photographed. */
async function checkCentre(view, moment) {
  const label = `${moment}-${view.role}-${view.width}x${view.height}`;
  const { page, problems, close } = await newPage({ width: view.width, height: view.height }, server[view.role].token);
  try {
    await page.goto(`${server.baseUrl}/`);
    await page.waitForSelector(CONNECTION_OPEN, { state: 'attached', timeout: 30_000 });
    // Two frames after the feed is open: the board is drawn.
    await page.waitForFunction(() => !document.getElementById('board').hidden, null, { timeout: 10_000 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: shotPath(label), fullPage: true });

    const snap = await snapshotAs(view.role);
    const layout = await page.evaluate(layoutProblems, { wall: !!view.wall });
    assert.deepEqual(layout, [], `${label}: the command centre does not fit (see ${path.relative(REPO_ROOT, shotPath(label))})`);
    const shows = await page.evaluate(centreShows);

    if (snap.nodes.length === 0 && snap.points.length > 0) {
      // A sampling point's operator: their point, not the completion of an empty area.
      const point = snap.points[0];
      assert.ok(shows.pointPanel.includes(point.name), `${label}: the point panel names ${point.name}; shows ${JSON.stringify(shows.pointPanel)}`);
      assert.match(shows.pointPanel, /\d/, `${label}: the point panel shows its samples`);
      for (const falsehood of ['0 / 0', '100.0%', '全部完成', '没有网格']) {
        assert.ok(!shows.body.includes(falsehood), `${label}: an operator's page must not say ${JSON.stringify(falsehood)}:\n${shows.body}`);
      }
    } else {
      assert.ok(shows.treeRows >= 1, `${label}: the tree shows the role's grids`);
    }
    // A figure is the scope's own or is not shown: never "扫码 0 次" beside 27 sampled.
    if (typeof snap.totals.scans !== 'number' || snap.totals.scans < snap.totals.sampled) {
      assert.equal(shows.scans, '', `${label}: the snapshot has no honest scan count (${snap.totals.scans} for ${snap.totals.sampled} sampled), so none is shown`);
    }
    if (view.wall) {
      assert.equal(shows.pointRows, snap.points.length, `${label}: every point is on the wall`);
      const staffLagging = snap.staff.filter((s) => s.missing > 0).length;
      if (shows.staffCards < staffLagging) {
        assert.match(shows.staffMore, /\d/, `${label}: the missing list shows ${shows.staffCards} of ${staffLagging} and says how many more`);
      }
    }
    assert.deepEqual(problems, [], `${label}: no page errors`);
    return { label, shows, snap };
  } finally {
    await close();
  }
}

async function waitForPhase(phase, minShare, timeoutMs) {
  const until = Date.now() + timeoutMs;
  let snap;
  while (Date.now() < until) {
    snap = await snapshotAs('chief');
    const share = snap.totals.target ? (snap.totals.sampled + snap.totals.exempt) / snap.totals.target : 0;
    if (snap.pace.phase === phase && share >= minShare) return snap;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the drill did not reach phase ${phase} with ${minShare * 100}% done within ${timeoutMs / 1000} s: ${JSON.stringify(snap?.totals)} ${snap?.pace?.phase}`);
}

describe('the pages fit the screens their roles use', { timeout: 600_000 }, () => {
  before(async () => {
    server = await startDemoServer({ drill: { speed: DRILL_SPEED }, roles: ROLES });
    browser = await launchBrowser();
    const actions = await api(server.baseUrl, server.chief.token, 'GET', '/api/actions');
    assert.equal(actions.status, 200, describeAnswer('GET', '/api/actions', actions));
    actionPath = `/api/actions/${actions.body[0].id}`;
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  test('while residents are coming in, the command centre fits every role\'s screen', async () => {
    await waitForPhase('open', 0.25, 120_000);
    for (const view of CENTRE_VIEWS) await checkCentre(view, 'night');
  });

  test('after the action closes, the command centre still fits every role\'s screen', async () => {
    await waitForPhase('closed', 0, 240_000);
    for (const view of CENTRE_VIEWS) await checkCentre(view, 'closed');
  });

  test('every page has the same header, with the links the role may use', async () => {
    const me = {};
    for (const role of ROLES) me[role] = (await api(server.baseUrl, server[role].token, 'GET', '/api/me')).body;
    for (const who of [...ROLES, 'visitor']) {
      for (const pagePath of PAGES) {
        for (const size of who === 'chief' || who === 'visitor' ? [PHONE, LAPTOP] : [PHONE]) {
          const label = `header-${who}-${pagePath.replace(/\W+/g, '') || 'index'}-${size.width}x${size.height}`;
          const { page, problems, close } = await newPage(size, who === 'visitor' ? null : server[who].token);
          try {
            await page.goto(`${server.baseUrl}${pagePath}`);
            const header = page.locator('[data-testid="site-header"]');
            await header.waitFor({ timeout: 10_000 });
            // Signed-in pages say who it is once /api/me has answered.
            if (who !== 'visitor') await page.waitForSelector('[data-testid="site-user"]:not([hidden])', { timeout: 10_000 });
            else await page.waitForSelector('[data-testid="site-header"][data-ready]', { timeout: 10_000 });
            // The page's own content (the staff list, the form) too: it must not widen the page.
            await page.waitForLoadState('networkidle');
            const seen = await page.evaluate(() => {
              const h = document.querySelector('[data-testid="site-header"]');
              const user = h.querySelector('[data-testid="site-user"]');
              const out = h.querySelector('[data-testid="site-sign-out"]');
              const isShown = (el) => !!el && el.getClientRects().length > 0;
              return {
                count: document.querySelectorAll('[data-testid="site-header"]').length,
                links: [...h.querySelectorAll('[data-testid="site-nav"] a')].filter(isShown).map((a) => new URL(a.href).pathname),
                user: isShown(user) ? user.innerText.trim() : '',
                signOut: isShown(out),
                langs: h.querySelectorAll('.lang button').length,
                top: Math.round(h.getBoundingClientRect().top),
              };
            });
            await page.screenshot({ path: shotPath(label), fullPage: true });
            assert.equal(seen.count, 1, `${label}: one header`);
            assert.equal(seen.top, 0, `${label}: the header is at the top`);
            assert.deepEqual(seen.links, LINKS[who], `${label}: the header links to the pages a ${who} may use`);
            assert.equal(seen.langs, 2, `${label}: a language switch`);
            if (who === 'visitor') {
              assert.equal(seen.user, '', `${label}: nobody is signed in`);
              assert.equal(seen.signOut, false, `${label}: no sign-out without a session`);
            } else {
              assert.ok(seen.user.includes(me[who].name) && seen.user.includes(ROLE_ZH[who]),
                `${label}: the header says ${me[who].name}（${ROLE_ZH[who]}）, saw ${JSON.stringify(seen.user)}`);
              assert.equal(seen.signOut, true, `${label}: a sign-out button`);
            }
            const headerFits = await page.evaluate(() => {
              const h = document.querySelector('[data-testid="site-header"]');
              const bad = [];
              for (const el of [h, ...h.querySelectorAll('*')]) {
                if (el.getClientRects().length === 0) continue;
                const r = el.getBoundingClientRect();
                if (r.right > window.innerWidth + 0.5) bad.push(`${el.tagName} "${el.innerText?.trim().slice(0, 30)}" runs off the screen`);
                if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) bad.push(`${el.tagName} "${el.innerText?.trim().slice(0, 30)}" is cut`);
                // One character per line is what a squeezed header looked like.
                if (el.matches('a, span, button') && el.innerText.trim().length > 1 && r.height > 2.2 * parseFloat(getComputedStyle(el).lineHeight || '20')) {
                  bad.push(`${el.tagName} "${el.innerText.trim().slice(0, 30)}" wraps to ${Math.round(r.height)} px`);
                }
              }
              if (document.documentElement.scrollWidth > window.innerWidth) bad.push(`the page is ${document.documentElement.scrollWidth} px wide`);
              return bad;
            });
            assert.deepEqual(headerFits, [], `${label}: the header fits`);
            assert.deepEqual(problems, [], `${label}: no page errors`);
          } finally {
            await close();
          }
        }
      }
    }
  });

  test('signing out from the header asks first, then the token is gone and the page says how to sign in', async () => {
    const label = 'sign-out-grid_member-360x740';
    // Signed in by the link, not by a script run on every page load that would sign in again.
    const { page, problems, close } = await newPage(PHONE, null);
    try {
      await page.goto(server.grid_member.url);
      await page.waitForSelector('[data-testid="site-user"]:not([hidden])', { timeout: 10_000 });
      // The first time the person thinks better of it; the second time they mean it.
      let asked = 0;
      page.on('dialog', (dialog) => {
        asked += 1;
        if (asked === 1) dialog.dismiss();
        else dialog.accept();
      });
      await page.click('[data-testid="site-sign-out"]');
      assert.equal(asked, 1, `${label}: signing out asks first`);
      assert.equal((await api(server.baseUrl, server.grid_member.token, 'GET', '/api/me')).status, 200, `${label}: "no" keeps the session`);
      await page.click('[data-testid="site-sign-out"]');
      await page.waitForSelector('[data-testid="notice-signin"]:not([hidden])', { timeout: 10_000 });
      await page.screenshot({ path: shotPath(label), fullPage: true });
      assert.equal((await api(server.baseUrl, server.grid_member.token, 'GET', '/api/me')).status, 401, `${label}: the token no longer works`);
      assert.equal(await page.evaluate(() => localStorage.getItem('muster.token')), null, `${label}: the browser forgot it`);
      assert.deepEqual(problems, [], `${label}: no page errors`);
    } finally {
      await close();
    }
  });

  test('the import page shows a visitor without a session a sign-in prompt, not its form', async () => {
    for (const size of [PHONE, LAPTOP]) {
      const label = `import-visitor-${size.width}x${size.height}`;
      const { page, problems, close } = await newPage(size, null);
      try {
        await page.goto(`${server.baseUrl}/import.html`);
        await page.waitForSelector('[data-testid="import-signin"]:not([hidden])', { timeout: 10_000 });
        await page.screenshot({ path: shotPath(label), fullPage: true });
        const formShown = await page.evaluate(() => {
          const form = document.getElementById('form');
          return !!form && form.getClientRects().length > 0;
        });
        assert.equal(formShown, false, `${label}: no import form without a session`);
        const signIn = await page.locator('[data-testid="import-signin"] a[href="/login.html"]').count();
        assert.equal(signIn, 1, `${label}: a link to sign in`);
        assert.deepEqual(problems, [], `${label}: no page errors`);
      } finally {
        await close();
      }
    }
  });
});
