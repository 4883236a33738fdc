// The chase on the command centre: what grid members tick on their phones reaches the
// chief's screens (a laptop and the wall) and a grid head's phone live, in words —
// "未检 2676 人：已通知 1 · 在路上 1 · 卧床 2（待上门 2）· …" for the whole view and
// short under each tree row — and every home-visit request is listed with its household,
// address, the grid member to call and how long it has waited, red once nobody has taken
// it for longer than the action allows. Nothing is reloaded: the same pages follow the
// ticks, a medic taking one visit and sampling another at home. Then the whole village is
// chased at once and the wall must still show everything in its height.
// Screenshots go to target/screenshots/chase/ (kept for people to look at).
//
// Run: MUSTER_BIN=target/debug/muster node --test tests/browser/chase.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, api, describeAnswer, launchBrowser, startDemoServer, uuidv7 } from './harness.mjs';

const SHOTS = path.join(REPO_ROOT, 'target', 'screenshots', 'chase');
const PHONE = { width: 360, height: 740 };
const LAPTOP = { width: 1366, height: 768 };
const WALL = { width: 1920, height: 1080 };
const LIVE_TIMEOUT_MS = 5_000;
/** The wait the action allows a request before it is late, when it does not say (web/app.js). */
const VISIT_MINUTES_DEFAULT = 30;
const RED = 'rgb(248, 81, 73)';

let server;
let browser;
let actionId;
let eventsPath;


async function post(role, events) {
  const body = { events: events.map((e) => ({ id: uuidv7(), ...e })) };
  const answer = await api(server.baseUrl, server[role].token, 'POST', eventsPath, body);
  assert.equal(answer.status, 200, `${role}: ${describeAnswer('POST', eventsPath, answer)}`);
  return answer.body;
}

async function get(role, urlPath) {
  const answer = await api(server.baseUrl, server[role].token, 'GET', urlPath);
  assert.equal(answer.status, 200, `${role}: ${describeAnswer('GET', urlPath, answer)}`);
  return answer.body;
}

const snapshot = (role = 'chief') => get(role, `/api/actions/${actionId}`);
const minutesAgo = (n) => new Date(Date.now() - n * 60_000).toISOString();

/** Runs in the page: what the chase line, the visits and the tree say. */
function chaseShows() {
  const shown = (el) => !!el && el.getClientRects().length > 0;
  const text = (el) => (shown(el) ? el.innerText.trim().replace(/\s+/g, ' ') : null);
  // Each part's words; the "·" between them is the style sheet's, which innerText leaves out.
  const said = (container) => (shown(container) ? [...container.querySelectorAll('[data-chase]')].filter(shown).map(text).join(' · ') : null);
  const line = document.querySelector('[data-testid="chase"]');
  const parts = {};
  for (const item of line?.querySelectorAll('[data-chase]') ?? []) parts[item.dataset.chase] = text(item);
  const visits = [...document.querySelectorAll('[data-testid="visit"]')].filter(shown).map((li) => {
    const tel = li.querySelector('a.visit-tel');
    return {
      resident: Number(li.dataset.residentId),
      state: li.dataset.state,
      text: text(li),
      status: text(li.querySelector('[data-testid="visit-status"]')),
      wait: text(li.querySelector('[data-testid="visit-wait"]')),
      waitColour: getComputedStyle(li.querySelector('[data-testid="visit-wait"]')).color,
      tel: shown(tel) ? tel.getAttribute('href') : null,
    };
  });
  const rows = {};
  for (const li of document.querySelectorAll('li[data-node-id]')) {
    if (!shown(li)) continue;
    rows[li.querySelector('.node-label').textContent] = said(li.querySelector(':scope > .node > [data-testid="node-chase"]'));
  }
  return {
    line: shown(line) ? `${text(document.getElementById('chase-lead'))}${said(line)}` : null,
    parts,
    visitsPanel: text(document.querySelector('[data-testid="visits-panel"] h2')),
    visits,
    visitsMore: text(document.querySelector('[data-testid="visits-more"]')),
    rows,
    treeMore: text(document.querySelector('[data-testid="tree-more"]')),
    loads: window.__loads,
  };
}

/**
 * Runs in the page: what does not fit (the same rules as screens.test.mjs): nothing
 * wider than the screen or cut, and on the wall nothing below the fold or scrolled away.
 */
function layoutProblems({ wall }) {
  const problems = [];
  const W = window.innerWidth;
  const H = window.innerHeight;
  const name = (el) => `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}> "${(el.innerText ?? '').trim().replace(/\s+/g, ' ').slice(0, 40)}"`;
  const doc = document.documentElement;
  if (doc.scrollWidth > W) problems.push(`the page is ${doc.scrollWidth} px wide on a ${W} px screen`);
  if (wall && doc.scrollHeight > H) problems.push(`the page is ${doc.scrollHeight} px tall on a ${H} px wall screen`);
  for (const el of document.body.querySelectorAll('*')) {
    if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    if (['CANVAS', 'OPTION', 'SCRIPT', 'BR'].includes(el.tagName)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 0.5 || r.left < -0.5) problems.push(`${name(el)} runs off the screen (${Math.round(r.left)}–${Math.round(r.right)} of ${W} px)`);
    if (wall && r.bottom > H + 0.5) problems.push(`${name(el)} is below the fold (bottom at ${Math.round(r.bottom)} of ${H} px)`);
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} is cut: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
    if (wall && el.clientHeight > 0 && el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible') {
      problems.push(`${name(el)} hides ${el.scrollHeight - el.clientHeight} px of its content (scroll)`);
    }
  }
  return problems;
}

/** A command centre open as `role` on `viewport`, counting its page loads (there must be one). */
async function openCentre(role, viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, locale: 'zh-CN', ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  await context.addInitScript((t) => {
    localStorage.setItem('muster.token', t);
    window.__loads = Number(sessionStorage.getItem('loads') ?? 0) + 1;
    sessionStorage.setItem('loads', String(window.__loads));
  }, server[role].token);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console.error: ${msg.text()}`);
  });
  await page.goto(`${server.baseUrl}/`);
  await page.waitForSelector('[data-testid="connection"][data-state="open"]', { state: 'attached', timeout: 30_000 });
  await page.waitForFunction(() => !document.getElementById('board').hidden, null, { timeout: 10_000 });
  const label = `${role}-${viewport.width}x${viewport.height}`;
  return { page, problems, label, wall: viewport.width >= 1700, close: () => context.close() };
}

/** Waits until `check(shows)` holds on the page, then returns what it shows; fails saying what it showed. */
async function until(view, what, check, timeout = LIVE_TIMEOUT_MS) {
  const end = Date.now() + timeout;
  let shows;
  for (;;) {
    shows = await view.page.evaluate(chaseShows);
    let why = null;
    try {
      check(shows);
    } catch (err) {
      why = err;
    }
    if (!why) return shows;
    if (Date.now() > end) {
      await shoot(view, 'failed');
      why.message = `${view.label}: ${what} within ${timeout / 1000} s: ${why.message}\nthe page shows ${JSON.stringify(shows, null, 1)}`;
      throw why;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shoot(view, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}-${view.label}.png`);
  await view.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await view.page.screenshot({ path: file, fullPage: true });
  return file;
}

async function fits(view, name) {
  const file = await shoot(view, name);
  const problems = await view.page.evaluate(layoutProblems, { wall: view.wall });
  assert.deepEqual(problems, [], `${view.label}: the command centre does not fit (see ${path.relative(REPO_ROOT, file)})`);
  assert.deepEqual(view.problems, [], `${view.label}: no page errors`);
}

/** The chase line's parts as the chief's command centre must say them, from the counts. */
function expectedParts(chase, missing) {
  const reached = ['notified', 'on_the_way', 'away', 'bedridden', 'refused', 'unreachable', 'nobody_home'].reduce((n, k) => n + chase[k], 0);
  const bedridden = chase.visits_taken > 0
    ? `卧床 ${chase.bedridden}（待上门 ${chase.visits_pending}，医护已接 ${chase.visits_taken}）`
    : `卧床 ${chase.bedridden}（待上门 ${chase.visits_pending}）`;
  const parts = {
    notified: `已通知 ${chase.notified}`,
    on_the_way: `在路上 ${chase.on_the_way}`,
    bedridden,
    refused: `拒绝 ${chase.refused}`,
    unreachable: `联系不上 ${chase.unreachable}`,
    nobody_home: `无人在家 ${chase.nobody_home}`,
    not_reached: `尚未联系 ${(missing - reached).toLocaleString('zh-CN')}`,
  };
  if (chase.away > 0) parts.away = `外出 ${chase.away}`;
  return parts;
}

describe('the chase on the command centre', { timeout: 300_000 }, () => {
  let member;
  let memberPhone;
  let mine;
  let views;

  before(async () => {
    server = await startDemoServer({ roles: ['chief', 'grid_member', 'grid_head', 'medic', 'viewer'] });
    browser = await launchBrowser();
    const actions = await get('chief', '/api/actions');
    actionId = actions.find((a) => a.phase === 'open').id;
    eventsPath = `/api/actions/${actionId}/events`;
    member = await get('grid_member', '/api/me');
    // The member's households, as their phone lists them, and their own number as the chief sees it.
    mine = (await get('grid_member', `/api/actions/${actionId}/households`)).households;
    const all = await get('chief', `/api/actions/${actionId}/households?limit=2000`);
    memberPhone = all.staff.find((s) => s.id === member.id).phone;
    assert.ok(memberPhone && !memberPhone.includes('*'), `the chief sees the grid member's number whole: ${memberPhone}`);
  });

  after(async () => {
    for (const v of views ?? []) await v.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  test('ticks, a visit taken and a visit sampled move the counts and the requests live', async () => {
    views = [
      await openCentre('chief', LAPTOP),
      await openCentre('chief', WALL),
      await openCentre('grid_head', PHONE),
      await openCentre('viewer', WALL),
    ];
    const [laptop, wall, head, viewer] = views;
    const before = await snapshot();
    for (const v of [laptop, wall, viewer]) {
      await until(v, 'the chase line says nobody is reached yet', (s) => {
        assert.equal(s.line, '未检 2,676 人：已通知 0 · 在路上 0 · 卧床 0（待上门 0） · 拒绝 0 · 联系不上 0 · 无人在家 0 · 尚未联系 2,676');
        assert.equal(s.visits.length, 0, 'no requests');
        assert.equal(s.visitsPanel, null, 'no empty requests panel');
      });
    }
    assert.equal(before.totals.missing, 2676);
    for (const v of views) await shoot(v, '1-before');

    // The grid member's night: one bedridden resident ticked 40 minutes ago on a phone
    // that was offline, one just now, and one of each other status; a household nobody
    // is home at.
    const residents = mine.flatMap((h) => h.residents.map((r) => ({ ...r, household: h })));
    const [late, fresh, notified, coming, refused, unreachable] = residents;
    const chased = [late, fresh, notified, coming, refused, unreachable].map((r) => r.id);
    const empty = mine.find((h) => !h.residents.some((r) => chased.includes(r.id)));
    await post('grid_member', [
      { type: 'resident_ticked', resident_id: late.id, chase: 'bedridden', device_time: minutesAgo(40) },
      { type: 'resident_ticked', resident_id: fresh.id, chase: 'bedridden' },
      { type: 'resident_ticked', resident_id: notified.id, chase: 'notified' },
      { type: 'resident_ticked', resident_id: coming.id, chase: 'on_the_way', note: '骑车来' },
      { type: 'resident_ticked', resident_id: refused.id, chase: 'refused' },
      { type: 'resident_ticked', resident_id: unreachable.id, chase: 'unreachable' },
      { type: 'household_ticked', household_id: empty.id, chase: 'nobody_home' },
    ]);
    const ticked = await snapshot();
    const chase = ticked.pace.chase;
    assert.deepEqual(
      chase,
      { notified: 1, on_the_way: 1, away: 0, bedridden: 2, refused: 1, unreachable: 1, nobody_home: empty.residents.length, visits_pending: 2, visits_taken: 0 },
      'the server counts the ticks',
    );
    const visitMinutes = ticked.pace.visit_minutes ?? VISIT_MINUTES_DEFAULT;
    const want = expectedParts(chase, 2676);
    assert.equal(want.not_reached, `尚未联系 ${(2676 - 6 - empty.residents.length).toLocaleString('zh-CN')}`);

    const grid = late.household.grid;
    for (const v of [laptop, wall]) {
      const s = await until(v, 'the ticks show', (s) => {
        assert.deepEqual(s.parts, want);
        assert.equal(s.visits.length, 2, 'two requests');
      });
      assert.equal(s.visitsPanel, `上门采样请求 2 个 超过 ${visitMinutes} 分钟没人接的标红`);
      // The one waiting longest first, red; the one just made after it.
      const [first, second] = s.visits;
      assert.equal(first.resident, late.id);
      assert.equal(first.state, 'late', `${v.label}: waited 40 min > ${visitMinutes}`);
      assert.match(first.wait, /^已等 4[01] 分钟$/);
      assert.equal(first.waitColour, RED, `${v.label}: a late request is red`);
      assert.equal(first.status, '没人接');
      for (const word of [late.household.number, late.household.address, late.name, grid, member.name, memberPhone]) {
        assert.ok(first.text.includes(word), `${v.label}: the request says ${word}: ${first.text}`);
      }
      assert.equal(first.tel, `tel:${memberPhone}`, `${v.label}: the grid member is a tap away`);
      assert.equal(second.resident, fresh.id);
      assert.equal(second.state, 'waiting');
      assert.equal(second.wait, '刚提出');
      assert.notEqual(second.waitColour, RED, `${v.label}: a request made just now is not red`);
      // The village's row leaves its chase to the line above; the member's sub-grid says
      // its own, short (only what is not 0); grids nobody chased say nothing.
      assert.equal(s.rows['大华山村'], null, `${v.label}: the village's chase is the line's`);
      const sub = ticked.nodes.find((n) => n.name === '第1分网格');
      const subMissing = sub.target - sub.sampled - sub.exempt;
      assert.equal(s.rows['第1分网格'], `已通知 1 · 在路上 1 · 卧床 2（待上门 2） · 拒绝 1 · 联系不上 1 · 无人在家 ${empty.residents.length} · 尚未联系 ${subMissing - 6 - empty.residents.length}`);
      const others = Object.entries(s.rows).filter(([name, text]) => name !== '第1分网格' && text != null);
      assert.deepEqual(others, [], `${v.label}: grids nobody chased say nothing`);
    }
    // The wall screen's viewer: the counts, and no list of names and addresses.
    const seen = await until(viewer, 'the viewer sees the counts', (s) => assert.deepEqual(s.parts, want));
    assert.equal(seen.visitsPanel, null, 'a viewer has no requests panel');
    // The grid head: their part's counts and their part's requests.
    const part = (await snapshot('grid_head'));
    assert.deepEqual(part.pace.chase, chase, 'the whole chase is in the head\'s part');
    const headShows = await until(head, 'the head sees the part\'s chase', (s) => {
      assert.deepEqual(s.parts, expectedParts(part.pace.chase, part.totals.missing));
      assert.deepEqual(s.visits.map((x) => [x.resident, x.state]), [[late.id, 'late'], [fresh.id, 'waiting']]);
    });
    assert.ok(headShows.rows[grid]?.startsWith('已通知 1 · 在路上 1 · 卧床 2（待上门 2） · '), `the head's grid row: ${headShows.rows[grid]}`);
    for (const v of views) await fits(v, '2-ticked');

    // A medic takes the fresh request; then samples the late one at home.
    const medic = await get('medic', '/api/me');
    await post('medic', [{ type: 'visit_taken', resident_id: fresh.id }]);
    for (const v of [laptop, wall, head]) {
      const s = await until(v, 'the visit shows taken', (s) => {
        assert.equal(s.parts.bedridden, '卧床 2（待上门 1，医护已接 1）');
        assert.equal(s.visits.find((x) => x.resident === fresh.id)?.state, 'taken');
      });
      const taken = s.visits.find((x) => x.resident === fresh.id);
      assert.match(taken.status, new RegExp(`^医护 ${medic.name} \\d\\d:\\d\\d 已接$`));
      assert.equal(s.visits[0].resident, late.id, `${v.label}: the untaken request stays on top`);
    }
    for (const v of views) await shoot(v, '3-taken');

    await post('medic', [{ type: 'resident_sampled', resident_id: late.id, point_id: medic.point_id, at_home: true }]);
    const sampled = await snapshot();
    assert.equal(sampled.totals.missing, 2675);
    assert.deepEqual([sampled.pace.chase.bedridden, sampled.pace.chase.visits_pending, sampled.pace.chase.visits_taken], [1, 0, 1]);
    const partMissing = (await snapshot('grid_head')).totals.missing;
    assert.equal(partMissing, part.totals.missing - 1);
    for (const v of [laptop, wall, head]) {
      await until(v, 'the sampled resident leaves the requests', (s) => {
        const missing = v === head ? partMissing : 2675;
        assert.ok(s.line.startsWith(`未检 ${missing.toLocaleString('zh-CN')} 人：`), s.line);
        assert.equal(s.parts.bedridden, '卧床 1（待上门 0，医护已接 1）');
        assert.deepEqual(s.visits.map((x) => [x.resident, x.state]), [[fresh.id, 'taken']]);
      });
    }
    await until(viewer, 'the viewer\'s counts move', (s) => assert.equal(s.parts.bedridden, '卧床 1（待上门 0，医护已接 1）'));
    for (const v of views) {
      assert.equal((await v.page.evaluate(chaseShows)).loads, 1, `${v.label}: all of it without a reload`);
      await fits(v, '4-sampled');
    }
  });

  test('with the whole village chased and many requests, the wall still shows everything in its height', async () => {
    // Across every grid: a few residents of each status, and a dozen requests, some of
    // them older than the action allows. The chief may tick anyone.
    const all = (await get('chief', `/api/actions/${actionId}/households?limit=2000`)).households;
    const byGrid = new Map();
    for (const h of all) {
      if (!byGrid.has(h.node_id)) byGrid.set(h.node_id, []);
      byGrid.get(h.node_id).push(...h.residents.filter((r) => r.live.status === 'missing' && !r.live.chase));
    }
    const statuses = ['notified', 'on_the_way', 'refused', 'unreachable', 'notified'];
    const events = [];
    let visitsMade = 0;
    for (const residents of byGrid.values()) {
      residents.slice(0, statuses.length).forEach((r, i) => events.push({ type: 'resident_ticked', resident_id: r.id, chase: statuses[i] }));
      const bed = residents[statuses.length];
      if (bed && visitsMade < 14) {
        events.push({ type: 'resident_ticked', resident_id: bed.id, chase: 'bedridden', device_time: minutesAgo(visitsMade % 2 ? 5 : 35 + visitsMade) });
        visitsMade += 1;
      }
    }
    for (let i = 0; i < events.length; i += 100) await post('chief', events.slice(i, i + 100));
    const snap = await snapshot();
    const requests = snap.pace.chase.visits_pending + snap.pace.chase.visits_taken;
    assert.equal(requests, visitsMade + 1, `the new requests and the one taken before: ${JSON.stringify(snap.pace.chase)}, ${events.length} events`);
    const [laptop, wall] = views;
    await until(laptop, 'the whole village\'s chase shows', (s) => {
      assert.deepEqual(s.parts, expectedParts(snap.pace.chase, snap.totals.missing));
      assert.equal(s.visits.length, requests, 'the laptop lists every request');
    });
    // The wall lists what fits and says how many more.
    const onWall = await until(wall, 'the whole village\'s chase shows', (s) => {
      assert.deepEqual(s.parts, expectedParts(snap.pace.chase, snap.totals.missing));
      assert.ok(s.visits.length > 0);
      const more = s.visitsMore?.match(/^另有 (\d+) 个请求未列出（其中医护已接 (\d+) 个）$/);
      assert.equal(s.visits.length + Number(more?.[1] ?? 0), requests, `listed and counted: ${s.visitsMore}`);
    });
    // The late ones, oldest first, are the ones the wall keeps.
    const states = onWall.visits.map((x) => x.state);
    assert.deepEqual(states, [...states].sort((a, b) => ['late', 'waiting', 'taken'].indexOf(a) - ['late', 'waiting', 'taken'].indexOf(b)), 'late first, then waiting, then taken');
    assert.equal(states[0], 'late');
    const subGrids = Object.keys(onWall.rows).filter((n) => n.endsWith('分网格'));
    assert.ok(subGrids.length > 0 && subGrids.every((n) => onWall.rows[n]), `every sub-grid on the wall says its chase: ${JSON.stringify(onWall.rows)}`);
    if (subGrids.length < snap.nodes.filter((n) => n.level === '分网格').length) {
      assert.match(onWall.treeMore ?? '', /^另有 \d+ 个网格未列出，完成率都不低于上面同级的网格$/, 'the wall says how many grids it could not list');
    }
    for (const v of views) await fits(v, '5-village');
    // The same in English on the laptop and the wall: longer words, still nothing cut.
    for (const v of [laptop, wall]) {
      await v.page.click('.lang button:last-child');
      await until(v, 'the chase in English', (s) => assert.match(s.line, /^2,\d{3} missing:\d+ notified · /));
      await fits(v, '6-english');
    }
  });
});
