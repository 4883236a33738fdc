// The phone page, /m: what a grid member, a grid head or a medic holds at one in the
// morning. A grid member sees the households they answer for, those with someone missing
// first, each resident's status (sampled where and when, exempt why, missing and what was
// last learned), a button to phone them and one to record what they learned (a tick). A
// head sees the same grouped by grid member; a medic sees the home visits waiting.
//
// Every tick goes through the outbox (outbox.js): it is shown as waiting until the server
// has it in the log, and only then as recorded. The list follows the action's live feed
// (live.js): each change carries the current state of the residents it touched.
//
// Layout of this file: state · loading · the live feed · ticks · rendering · the sheet ·
// the theme · start-up. Written for old Android WebViews: no private fields, nothing
// after 2020. All text from the server goes in through textContent, never innerHTML.

import { fmtInt, fmtTime, getLang, roleLabel, t } from "./i18n.js";
import "./phone-words.js";
import { $, ApiProblem, api, el, forgetToken, problemOf, registerShell, sessionToken, startSession, wireLanguage } from "./session.js";
import { ROLE_KEY, chooseAction, early, wantsVisits } from "./m-early.js";
import { CallUpOverlay } from "./callup.js";
import { Frames, setText } from "./frames.js";
import { Outbox } from "./outbox.js";
import { LiveFeed } from "./live.js";
import { ChainFeed } from "./chain.js";
import { HEADS, PhoneChain } from "./m-chain.js";
import { phoneTel } from "./tel.js";

const PAGE_LIMIT = 500;
const RETRY_LOAD_S = 10;
/** How soon after a change we did not expect (a resident we do not have) the list is read again. */
const REFETCH_DELAY_MS = 300;
const ROLES = ["grid_member", "grid_head", "medic", "chief", "admin"];
const RESIDENT_TICKS = ["notified", "on_the_way", "away", "bedridden", "refused", "unreachable", "nobody_home"];

// ---------------------------------------------------------------- state

const page = {
  me: null,
  action: null,
  /** "member" (a grid member, or anyone with households), "head" (grouped), or "medic". */
  mode: "member",
  /** Households in the server's order, and each resident by id with its household. */
  households: [],
  residents: new Map(),
  staff: new Map(),
  /** The position the resident states are at (the households answer, then every delta). */
  listSeq: null,
  liveSeq: null,
  /** When the list shown was read (ms), and whether it came from this phone's copy. */
  readAt: 0,
  fromKept: false,
  /** A medic's visits that closed while the page was open: still shown, as done. */
  doneVisits: new Map(),
  /** Residents a medic has seen a home-visit request for (their sample closes it). */
  visitSeen: new Set(),
  status: "connecting",
  notice: null,
  query: "",
  onlyMissing: false,
  feed: null,
  outbox: null,
  refetchTimer: 0,
  refetching: false,
  /** A head's grid members whose households are shown (by staff id). */
  expanded: new Set(),
  /** The sheet's resident, while it is open. */
  sheet: null,
  /** A head's chain of command (chain.js, m-chain.js), its draws, and the handovers seen. */
  chain: null,
  chainUi: null,
  chainDrawn: 0,
  handovers: null,
};

const STORE_KEYS = { onlyMissing: "muster.m.onlyMissing", theme: "muster.m.theme" };


/** A big button that acts on one resident: what it does is read back by the click handler. */
function residentButton(cls, label, act, residentId, testid) {
  const b = el("button", cls, label);
  b.type = "button";
  b.dataset.act = act;
  b.dataset.resident = String(residentId);
  b.dataset.testid = testid;
  return b;
}

function readPref(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v == null ? fallback : v;
  } catch (err) {
    return fallback;
  }
}

function writePref(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (err) {
    // Not remembered; it still applies to this visit.
  }
}

// ---------------------------------------------------------------- loading

function eventsUrl() {
  return `/api/actions/${encodeURIComponent(page.action.id)}/events`;
}

/** Every page of the households answer, read to the end. */
async function readHouseholds(actionId, visits) {
  let cursor = null;
  let first = null;
  const households = [];
  const staff = [];
  for (;;) {
    const q = new URLSearchParams({ limit: String(PAGE_LIMIT) });
    if (cursor) q.set("cursor", cursor);
    if (visits) q.set("visits", "true");
    const part = await api("GET", `/api/actions/${encodeURIComponent(actionId)}/households?${q}`);
    if (!first) first = part;
    households.push.apply(households, part.households || []);
    staff.push.apply(staff, part.staff || []);
    cursor = part.next;
    if (!cursor) break;
  }
  return { seq: first.seq, households, staff };
}

function takeHouseholds(answer, readAt, fromKept) {
  const before = page.residents;
  page.households = answer.households;
  page.residents = new Map();
  for (const h of page.households) {
    for (const r of h.residents) {
      page.residents.set(String(r.id), { r, h });
      if (r.live.visit) page.visitSeen.add(String(r.id));
    }
  }
  page.staff = new Map((answer.staff || []).map((s) => [String(s.id), s]));
  if (page.mode === "medic") {
    // A visit that was on the list and is not now was closed: keep it in sight, as done.
    before.forEach((entry, id) => {
      if (!page.residents.has(id) && page.visitSeen.has(id) && entry.r.live.status === "sampled") page.doneVisits.set(id, entry);
    });
    page.residents.forEach((entry, id) => page.doneVisits.delete(id));
  }
  page.listSeq = answer.seq;
  page.readAt = readAt;
  page.fromKept = fromKept;
}

function modeOf(role) {
  return wantsVisits(role) ? "medic" : role === "grid_member" ? "member" : "head";
}

/**
 * The answers m-early.js asked for before this module arrived, once, and only if they
 * were asked with this page's token. Each is { data } or { problem }, as request() gives.
 */
function takeEarly() {
  const e = early;
  if (!e || e.taken || e.token !== sessionToken()) return null;
  e.taken = true;
  return e;
}

/** An early answer as api() would give it: the data, or an ApiProblem (a 401 signs out). */
function unwrap(answer) {
  if (!answer.problem) return answer.data;
  if (answer.problem.status === 401) {
    forgetToken();
    signedOut();
  }
  throw new ApiProblem(answer.problem);
}

/** The phone's copy of the last list, under one key: it is the last person's, and says whose. */
const KEPT_KEY = "m:last";

/** A few characters of the token, so a copy is never shown to whoever paired the phone since. */
function tokenTag() {
  const token = sessionToken() || "";
  return token.slice(-8);
}

function keepList(answer) {
  page.outbox.keep(KEPT_KEY, { me: page.me, action: page.action, answer, readAt: page.readAt, tag: tokenTag() });
}

/**
 * Reads who, the action and the list. The phone's copy of the last list (if it is this
 * token's) is shown at once and its action's list asked for beside who and which action,
 * so a repeat visit lists the households before the network has answered anything; with
 * no network the copy stays, said to be a copy.
 */
async function load() {
  page.notice = null;
  const first = takeEarly();
  const asked = first
    ? Promise.all([first.me.then(unwrap), first.actions.then(unwrap)])
    : Promise.all([api("GET", "/api/me"), api("GET", "/api/actions")]);
  asked.catch(() => {}); // answered below
  const kept = await readKept();
  let fromCopy = null;
  if (kept) {
    if (!page.action) showKept(kept);
    // m-early.js asks for the open action's list already; otherwise ask for the copy's.
    if (!first) {
      fromCopy = readHouseholds(kept.action.id, modeOf(kept.me.role) === "medic");
      fromCopy.catch(() => {});
    }
  }
  let me;
  let actions;
  try {
    const both = await asked;
    me = both[0];
    actions = both[1];
  } catch (err) {
    const problem = problemOf(err);
    if (problem.status === 401) return; // signedOut() has said so.
    if (problem.status === 0 && kept) return goOffline();
    loadFailed(problem);
    return;
  }
  page.me = me;
  if (!ROLES.includes(me.role)) {
    page.notice = { title: "m.notice.role", body: "m.notice.roleBody", vars: { role: roleLabel(me.role) }, link: "centre" };
    render();
    return;
  }
  page.mode = modeOf(me.role);
  writePref(ROLE_KEY, me.role);
  // Only now, with who is signed in known, is anything sent: in their name.
  page.outbox.who = me.id;
  page.outbox.drain();
  const action = chooseAction(actions);
  if (!action) {
    page.notice = { title: "m.notice.noAction", body: "m.notice.noActionBody", vars: {} };
    render();
    return;
  }
  page.action = action;
  const same = fromCopy && String(kept.action.id) === String(action.id) && kept.me.id === me.id && modeOf(kept.me.role) === page.mode;
  try {
    const asEarly = first ? await first.households : null;
    const earlyFits = asEarly && asEarly.answer.data && !asEarly.answer.data.next
      && String(asEarly.action.id) === String(action.id) && asEarly.visits === (page.mode === "medic");
    const answer = earlyFits
      ? asEarly.answer.data
      : await (same ? fromCopy : readHouseholds(action.id, page.mode === "medic"));
    takeHouseholds(answer, Date.now(), false);
    keepList(answer);
  } catch (err) {
    const problem = problemOf(err);
    if (problem.status === 401) return;
    if (problem.status === 0 && kept) return goOffline();
    loadFailed(problem);
    return;
  }
  render();
  follow();
}

/** The phone's copy of the last list, when it is this token's. */
async function readKept() {
  await page.outbox.opened;
  const kept = await page.outbox.kept(KEPT_KEY);
  return kept && kept.tag === tokenTag() && kept.me && kept.action && kept.answer ? kept : null;
}

function showKept(kept) {
  page.me = kept.me;
  page.mode = modeOf(kept.me.role);
  page.outbox.who = kept.me.id;
  page.action = kept.action;
  takeHouseholds(kept.answer, kept.readAt, true);
  render();
}

/**
 * No network: the copy stays, said to be one. The feed follows from the copy's position
 * when the network is back (the list is then read again), the outbox sends on `online`,
 * and who and which action are asked again.
 */
function goOffline() {
  page.status = "offline";
  render();
  follow();
  const again = () => {
    self.removeEventListener("online", again);
    load();
  };
  self.addEventListener("online", again);
}

let retryTimer = 0;
function loadFailed(problem) {
  page.notice = { title: "m.notice.error", body: "m.notice.errorBody", vars: { s: RETRY_LOAD_S }, problem };
  render();
  clearTimeout(retryTimer);
  retryTimer = setTimeout(load, RETRY_LOAD_S * 1000);
}

/** Reads the list again soon (a resident appeared that we do not have, or a reset). */
function refetchSoon() {
  if (page.refetchTimer || !page.action) return;
  page.refetchTimer = setTimeout(refetch, REFETCH_DELAY_MS);
}

async function refetch() {
  page.refetchTimer = 0;
  if (page.refetching) {
    refetchSoon();
    return;
  }
  page.refetching = true;
  try {
    const answer = await readHouseholds(page.action.id, page.mode === "medic");
    // Deltas already applied past this answer's position stay: their residents are newer.
    takeHouseholds(answer, Date.now(), false);
    keepList(answer);
    schedule();
  } catch (err) {
    // The feed's next change asks again.
  } finally {
    page.refetching = false;
  }
}

// ---------------------------------------------------------------- the live feed

function follow() {
  if (page.feed) page.feed.stop();
  page.liveSeq = page.listSeq;
  page.feed = new LiveFeed(page.action.id, sessionToken, {
    seq: () => page.liveSeq,
    message: onLive,
    status: (s) => {
      page.status = s;
      if (s === "open" && page.fromKept) refetch();
      schedule();
    },
    refused: () => api("GET", "/api/me").catch(() => {}),
  });
  page.feed.connect();
  page.callUps.follow(page.action.id);
  if (HEADS.includes(page.me.role)) page.chain.follow(page.action.id, page.me.role);
}

function onLive(msg) {
  page.callUps.count(msg.pace);
  if (msg.pace && HEADS.includes(page.me?.role)) page.chain.count(msg.pace);
  // Households handed to (or away from) this phone's owner: the list is read again.
  const handovers = msg.pace ? msg.pace.handovers : null;
  if (handovers != null && page.handovers != null && handovers !== page.handovers) refetchSoon();
  if (handovers != null) page.handovers = handovers;
  if (msg.type === "snapshot") {
    // A fresh start (no catch-up kept for our position): the list is read again.
    const moved = msg.seq !== page.liveSeq;
    page.liveSeq = msg.seq;
    if (moved) refetch();
    if (msg.pace && msg.pace.phase) page.action.phase = msg.pace.phase;
    schedule();
    return true;
  }
  if (msg.type !== "delta") return true;
  if (page.liveSeq == null || msg.from !== page.liveSeq) return false;
  page.liveSeq = msg.to;
  if (msg.pace && msg.pace.phase) page.action.phase = msg.pace.phase;
  const fresh = page.listSeq == null || msg.to > page.listSeq;
  for (const live of msg.residents || []) {
    if (!fresh) break;
    const known = page.residents.get(String(live.id));
    if (live.visit) page.visitSeen.add(String(live.id));
    if (known) {
      known.r.live = live;
    } else if (page.mode !== "medic" || live.visit) {
      // Someone new in our part (reassigned to us, or a new home visit): read the list.
      refetchSoon();
    }
  }
  schedule();
  return true;
}

// ---------------------------------------------------------------- ticks

/** Records a tick on a resident: into the outbox first, shown as waiting at once. */
function tickResident(residentId, chase, note) {
  const event = { type: "resident_ticked", resident_id: Number(residentId), chase };
  if (chase === "away") {
    // "Away" is the exemption, said one way (the server refuses it as a tick).
    Object.assign(event, { type: "exemption_set", reason: "away", note });
    delete event.chase;
  } else if (note) {
    event.note = note;
  }
  page.outbox.put(eventsUrl(), event, { label: chase, resident_id: String(residentId) });
}

/** "Nobody home" is said of the whole household (one tap in any of its residents' sheets). */
function tickHousehold(householdId, note) {
  const event = { type: "household_ticked", household_id: Number(householdId), chase: "nobody_home" };
  if (note) event.note = note;
  page.outbox.put(eventsUrl(), event, {
    label: "nobody_home",
    household_id: String(householdId),
  });
}

function takeVisit(residentId) {
  page.outbox.put(eventsUrl(), { type: "visit_taken", resident_id: Number(residentId) }, { label: "take", resident_id: String(residentId) });
}

function recordHomeSample(residentId) {
  page.outbox.put(
    eventsUrl(),
    { type: "resident_sampled", resident_id: Number(residentId), point_id: page.me.point_id, at_home: true },
    { label: "sample", resident_id: String(residentId) },
  );
}

/** The newest entry of this phone about a resident (or a household), if any. */
function latestEntry(test) {
  if (!page.outbox) return null;
  const mine = page.outbox.list((e) => e.who === page.me.id && test(e));
  return mine.length ? mine[mine.length - 1] : null;
}

function entryForResident(id) {
  return latestEntry((e) => e.meta && e.meta.resident_id === String(id));
}

function entryForHousehold(id) {
  return latestEntry((e) => e.meta && e.meta.household_id === String(id));
}

// ---------------------------------------------------------------- rendering

/** Whatever changed is drawn once, next frame (frames.js). */
const frames = new Frames(draw);
const schedule = () => frames.schedule();
const render = frames.draw;

function draw() {
  renderHeader();
  renderNotice();
  renderOutbox();
  const ready = !page.notice && page.action != null;
  $("tools").hidden = !ready || page.mode === "medic";
  $("counts").hidden = !ready;
  $("list").hidden = !ready;
  if (ready) {
    renderCounts();
    renderList();
  }
  renderFlagged(ready);
}

/** One red line at the top while anyone of this phone's is flagged by a positive tube. */
function renderFlagged(ready) {
  let n = 0;
  page.residents.forEach(({ r }) => {
    if (isFlagged(r)) n += 1;
  });
  $("flagged-banner").hidden = !ready || n === 0;
  setText($("flagged-banner"), n ? t("m.flaggedBanner", { n: fmtInt(n) }) : "");
}

function renderHeader() {
  const titles = { member: "m.titleMember", head: "m.titleHead", medic: "m.titleMedic" };
  setText($("title"), t(titles[page.mode]));
  document.title = `${t(titles[page.mode])} · Muster`;
  const me = page.me;
  setText($("who"), me && me.name ? t("m.who", { name: me.name, role: roleLabel(me.role) }) : "");
  const conn = $("conn");
  const closed = page.action && page.action.phase === "closed";
  conn.dataset.state = closed ? "closed" : page.status;
  setText(conn, closed ? t("m.actionClosed") : t(`m.conn.${page.status}`));
  // Heads and the chief keep their command centre one tap away.
  $("to-centre").hidden = !me || !["grid_head", "chief", "admin"].includes(me.role);
  const offline = $("offline-data");
  // A copy is said to be one only when it may be old: while it is being read again, no flash.
  offline.hidden = !page.fromKept || page.status !== "offline";
  if (page.fromKept) setText(offline, t("m.offlineData", { time: fmtTime(new Date(page.readAt)) }));
}

function renderNotice() {
  const n = page.notice;
  $("notice").hidden = !n;
  if (!n) return;
  setText($("notice-title"), t(n.title));
  setText($("notice-body"), n.body ? t(n.body, n.vars) : "");
  const link = $("notice-link");
  link.hidden = !n.link;
  if (n.link === "pair") {
    link.href = "/pair.html";
    setText(link, t("m.notice.pair"));
  } else if (n.link === "centre") {
    link.href = "/";
    setText(link, t("m.commandCentre"));
  }
}

function counts() {
  const c = { target: 0, sampled: 0, exempt: 0, missing: 0 };
  page.residents.forEach(({ r }) => {
    c.target += 1;
    c[r.live.status] = (c[r.live.status] || 0) + 1;
  });
  return c;
}

function renderCounts() {
  let cells;
  if (page.mode === "medic") {
    const v = visitCounts();
    cells = [
      ["m.count.visitsOpen", v.open],
      ["m.count.visitsMine", v.mine],
      ["m.count.visitsDone", v.done],
      null,
    ];
  } else {
    const c = counts();
    cells = [
      ["m.count.target", c.target],
      ["m.count.sampled", c.sampled],
      ["m.count.exempt", c.exempt],
      ["m.count.missing", c.missing],
    ];
  }
  $("counts").dataset.mode = page.mode;
  cells.forEach((cell, i) => {
    const box = $(`c${i + 1}`).parentElement;
    box.hidden = !cell;
    if (!cell) return;
    setText($(`c${i + 1}-label`), t(cell[0]));
    setText($(`c${i + 1}`), fmtInt(cell[1]));
  });
}

function visitCounts() {
  const v = { open: 0, mine: 0, done: page.doneVisits.size };
  page.residents.forEach(({ r }) => {
    const visit = r.live.visit;
    if (r.live.status === "sampled" && page.visitSeen.has(String(r.id))) v.done += 1;
    else if (visit && !visit.taken_by) v.open += 1;
    else if (visit && visit.taken_by === page.me.id) v.mine += 1;
  });
  return v;
}

function renderOutbox() {
  const box = page.outbox;
  const pending = box ? box.pending() : [];
  const refused = box ? box.list((e) => e.state === "refused" && e.who === page.me.id) : [];
  const others = box ? box.othersPending() : [];
  $("outbox").hidden = !pending.length && !refused.length && !others.length && !(box && box.storageProblem);
  $("outbox-pending").hidden = !pending.length && !others.length && !(box && box.storageProblem);
  $("outbox-pending").dataset.count = String(pending.length);
  if (box) {
    setText($("outbox-count"), pending.length ? t("m.outboxPending", { n: fmtInt(pending.length) }) : "");
    let state = "";
    if (box.sending) state = t("m.outboxSending");
    else if (pending.length && box.retryAt > Date.now()) state = t("m.outboxRetry", { s: Math.ceil((box.retryAt - Date.now()) / 1000) });
    setText($("outbox-state"), state);
    const hints = [];
    if (box.trouble === "signed_out") hints.push(t("m.outboxSignedOut"));
    else if (pending.length) hints.push(t("m.outboxPendingHint"));
    if (box.storageProblem) hints.push(t("m.outboxNoStorage"));
    if (others.length) hints.push(t("m.outboxOthers", { n: fmtInt(others.length) }));
    setText($("outbox-hint"), hints.join(" "));
    $("send-now").hidden = !pending.length || box.sending;
  }
  $("outbox-refused").hidden = !refused.length;
  setText($("refused-title"), refused.length ? t("m.refusedTitle", { n: fmtInt(refused.length) }) : "");
  const items = refused.map((e) => {
    const li = el("li", "refused-item");
    li.dataset.testid = "refused";
    li.dataset.entry = e.id;
    const what = el("p", "refused-what", `${whoOf(e)} · ${labelOf(e)} · ${fmtTime(e.device_time)}`);
    const why = el("p", "refused-why", reasonOf(e));
    why.dataset.testid = "refused-reason";
    const ok = el("button", "button-plain", t("m.dismiss"));
    ok.type = "button";
    ok.dataset.act = "dismiss";
    ok.dataset.entry = e.id;
    li.append(what, why, ok);
    return li;
  });
  syncChildren($("refused-list"), items);
}

/** Whom an entry is about, for the refused list. */
function whoOf(e) {
  const m = e.meta || {};
  if (m.resident_id && page.residents.has(m.resident_id)) return page.residents.get(m.resident_id).r.name;
  if (m.household_id) {
    const h = page.households.find((x) => String(x.id) === m.household_id);
    if (h) return h.number;
  }
  return "";
}

/** The outbox moved: redraw, and show a call-up again whose answer the server refused. */
function changed() {
  schedule();
  if (page.callUps) page.callUps.show();
}

function labelOf(e) {
  const label = e.meta && e.meta.label;
  if (label === "callUpReceived" || label === "callUpCannot") return t(`cu.${label}`);
  if (label === "take") return t("m.take");
  if (label === "sample") return t("m.recordSample");
  if (label === "handOver") return t("mc.handedTo", { name: e.meta.who || "" });
  if (label === "handBack" || label === "signOff") return t(`mc.${label}Done`);
  return t(`m.chase.${label}`);
}

/** The server's reason as it said it (in the language the outbox asked for). */
function reasonOf(e) {
  const p = e.problem || {};
  return p.message || t(`err.${p.code}`);
}

// ---- the list

/** Cards already built, by key, with what they were built from: only changed ones are rebuilt. */
const cards = new Map();

function syncChildren(parent, els) {
  els.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
  });
  while (parent.children.length > els.length) parent.removeChild(parent.lastChild);
}

function card(key, data, build) {
  const sig = JSON.stringify(data);
  const have = cards.get(key);
  if (have && have.sig === sig) return have.el;
  const node = build();
  cards.set(key, { sig, el: node });
  return node;
}

/** A closed action takes no more ticks: the buttons go, the header says so. */
function closed() {
  return page.action != null && page.action.phase === "closed";
}

function hasMissing(h) {
  return h.residents.some((r) => r.live.status === "missing");
}

/** Name, household number, or the last digits of a phone. */
function matches(h, q) {
  if (!q) return true;
  if (String(h.number).toLowerCase().includes(q) || String(h.address).includes(q)) return true;
  const digits = /^\d{3,}$/.test(q);
  return h.residents.some((r) => r.name.includes(q) || (digits && r.phone && r.phone.replace(/\D/g, "").endsWith(q)));
}

function renderList() {
  const list = $("list");
  const lang = getLang();
  const els = [];
  if (page.mode === "medic") {
    renderVisits(els, lang);
  } else {
    const q = page.query.trim().toLowerCase();
    const shown = page.households.filter((h) => matches(h, q) && (!page.onlyMissing || hasMissing(h) || hasFlagged(h)));
    // A positive pooled tube's households first, whether or not anyone there is missing:
    // the people in it and those they live with must be found at once.
    const flaggedHere = shown.filter(hasFlagged);
    const open = shown.filter((h) => hasMissing(h) && !hasFlagged(h));
    const done = shown.filter((h) => !hasMissing(h) && !hasFlagged(h));
    // After a handover an empty list may be one handed away for the night: say they come back.
    if (!page.households.length) els.push(message(page.handovers > 0 ? "mc.maybeHanded" : "m.noHouseholds"));
    else if (!shown.length) els.push(message(q ? "m.noMatch" : "m.noneMissing", { q: page.query.trim() }));
    if (page.mode === "head") {
      // What climbed to this head, who is silent, the handovers, the area's report: first.
      const drawn = page.chainDrawn;
      els.push(card("chain", [lang, drawn, closed()], () => {
        const box = el("div", "chain-cards");
        box.append(...page.chainUi.cards(page.chain.view));
        return box;
      }));
      // Each member's progress first; their households when opened (or when searching).
      groupByMember(flaggedHere.concat(open, done)).forEach((g) => {
        const openGroup = page.expanded.has(g.id) || q !== "";
        els.push(card(`g:${g.id}`, [lang, g.id, g.progress, g.staff, openGroup, g.households.length], () => groupHead(g, openGroup)));
        if (openGroup) g.households.forEach((h) => els.push(householdCard(h, lang)));
      });
    } else {
      if (flaggedHere.length) els.push(sectionHead("m.groupFlagged", flaggedHere.length, lang));
      flaggedHere.forEach((h) => els.push(householdCard(h, lang)));
      if (open.length) els.push(sectionHead("m.groupMissing", open.length, lang));
      open.forEach((h) => els.push(householdCard(h, lang)));
      if (done.length) els.push(sectionHead("m.groupDone", done.length, lang));
      done.forEach((h) => els.push(householdCard(h, lang)));
    }
  }
  syncChildren(list, els);
}

function message(key, vars) {
  return card(`msg:${key}:${JSON.stringify(vars || {})}:${getLang()}`, [], () => el("p", "empty", t(key, vars)));
}

function sectionHead(key, n, lang) {
  return card(`s:${key}`, [lang, n], () => el("h2", "section", t(key, { n: fmtInt(n) })));
}

/** A head's households by the grid member who answers for them, members with most missing first. */
function groupByMember(households) {
  const groups = new Map();
  households.forEach((h) => {
    const id = h.staff_id == null ? "none" : String(h.staff_id);
    if (!groups.has(id)) groups.set(id, { id, staff: page.staff.get(id) || null, households: [], progress: null });
    groups.get(id).households.push(h);
  });
  const all = Array.from(groups.values());
  all.forEach((g) => {
    const c = { target: 0, sampled: 0, exempt: 0, missing: 0 };
    g.households.forEach((h) =>
      h.residents.forEach((r) => {
        c.target += 1;
        c[r.live.status] += 1;
      }),
    );
    g.progress = c;
  });
  all.sort((a, b) => b.progress.missing - a.progress.missing || String(a.staff && a.staff.name).localeCompare(String(b.staff && b.staff.name)));
  return all;
}

function toggleGroup(id) {
  if (page.expanded.has(id)) page.expanded.delete(id);
  else page.expanded.add(id);
}

function groupHead(g, openGroup) {
  const box = el("section", "group");
  box.dataset.testid = "member-group";
  box.dataset.staff = g.id;
  const line = el("div", "group-line");
  const name = el("h2", "group-name", g.staff ? g.staff.name : t("m.unassigned"));
  const grids = Array.from(new Set(g.households.map((h) => h.grid))).join("、");
  line.append(name, el("span", "group-grid", g.staff ? `${roleLabel(g.staff.role)} · ${grids}` : grids));
  if (g.staff && g.staff.phone) line.append(phoneTel(g.staff.phone));
  const c = g.progress;
  const bar = el("div", "progress");
  const done = c.target ? ((c.sampled + c.exempt) / c.target) * 100 : 100;
  const fill = el("span", "progress-fill");
  fill.style.width = `${done.toFixed(1)}%`;
  bar.append(fill);
  const text = el("p", "group-progress", t("m.groupProgress", { sampled: fmtInt(c.sampled), exempt: fmtInt(c.exempt), missing: fmtInt(c.missing) }));
  text.dataset.testid = "member-progress";
  const toggle = el("button", "button-plain group-toggle", t(openGroup ? "m.groupClose" : "m.groupOpen", { n: fmtInt(g.households.length) }));
  toggle.type = "button";
  toggle.dataset.act = "group";
  toggle.dataset.staff = g.id;
  toggle.dataset.testid = "member-toggle";
  toggle.setAttribute("aria-expanded", String(openGroup));
  box.append(line, bar, text, toggle);
  // A head hands a member's households to a substitute (a member locked outside the village).
  if (HEADS.includes(page.me?.role) && g.staff && !closed()) {
    const hand = el("button", "button-plain group-toggle", t("mc.handover"));
    hand.type = "button";
    hand.dataset.act = "handover";
    hand.dataset.staff = g.id;
    hand.dataset.testid = "handover";
    box.append(hand);
  }
  return box;
}

/** A tap-to-call button; `whom` (a name) is said on it when the card has more than one number. */
function householdCard(h, lang) {
  const entries = h.residents.map((r) => entryState(entryForResident(r.id)));
  const hEntry = entryState(entryForHousehold(h.id));
  const data = [lang, page.onlyMissing, closed(), h.number, h.address, h.grid, h.residents.map((r) => [r.name, r.phone, r.live]), entries, hEntry];
  return card(`h:${h.id}`, data, () => buildHousehold(h));
}

/** What of an outbox entry a card shows (its id too: a new tick is a new card). */
function entryState(e) {
  return e ? [e.id, e.state, e.problem && e.problem.code] : null;
}

function buildHousehold(h) {
  const open = hasMissing(h);
  const box = el("article", open ? "household open" : "household done");
  box.dataset.testid = "household";
  box.dataset.id = String(h.id);
  const head = el("div", "household-head");
  const title = el("h3", "household-title");
  title.append(el("span", "household-number", h.number), el("span", "household-address", h.address));
  head.append(title);
  box.append(head);
  const hEntry = entryForHousehold(h.id);
  if (hEntry && !reflectedHousehold(hEntry, h)) box.append(entryLine(hEntry));
  // "Missing only" shows the residents still missing; the others are one line.
  const shown = page.onlyMissing ? h.residents.filter((r) => r.live.status === "missing" || hasFlagged(h)) : h.residents;
  shown.forEach((r) => box.append(residentRow(r, h)));
  const hidden = h.residents.length - shown.length;
  if (hidden) box.append(el("p", "resident-others", t("m.othersDone", { n: fmtInt(hidden) })));
  return box;
}

/** Whether a resident's lab flag is up (to isolate and re-test, or confirmed). */
function isFlagged(r) {
  return r.live.flag === "retest" || r.live.flag === "confirmed";
}

function hasFlagged(h) {
  return h.residents.some(isFlagged);
}

function residentRow(r, h) {
  const live = r.live;
  const row = el("div", `resident st-${live.status}`);
  row.dataset.testid = "resident";
  row.dataset.id = String(r.id);
  row.dataset.status = live.status;
  const entry = entryForResident(r.id);
  row.dataset.tick = entry ? entry.state : "none";

  const top = el("div", "resident-top");
  const name = el("span", "resident-name", r.name);
  const facts = [];
  if (r.sex === "female" || r.sex === "f" || r.sex === "女") facts.push(t("m.sex.female"));
  else if (r.sex === "male" || r.sex === "m" || r.sex === "男") facts.push(t("m.sex.male"));
  if (r.birth_year) facts.push(t("m.age", { n: new Date().getFullYear() - r.birth_year }));
  top.append(name, el("span", "resident-facts", facts.join(" ")));
  if (r.bedridden) top.append(el("span", "tag", t("m.tagBedridden")));
  if (r.away) top.append(el("span", "tag", t("m.tagAway")));
  // Missing past their time: their case has gone up to the head (or the chief).
  if (live.status === "missing" && live.escalated) {
    top.append(el("span", "tag tag-escalated", t(live.escalated >= 2 ? "mc.tagChief" : "mc.tagHead")));
  }
  if (isFlagged(r)) {
    top.append(el("span", "tag tag-flag", t(live.flag === "confirmed" ? "m.tagConfirmed" : "m.tagRetest")));
    row.dataset.flag = live.flag;
  } else if (h && hasFlagged(h)) {
    top.append(el("span", "tag tag-flag-near", t("m.tagHousemate")));
  }
  row.append(top);

  const status = el("p", "resident-status");
  status.dataset.testid = "resident-status";
  status.append(el("span", "badge", statusText(live)));
  const more = chaseText(live);
  if (more) status.append(el("span", "chase", more));
  row.append(status);
  if (live.note && live.status === "missing") row.append(el("p", "resident-note", live.note));
  if (entry && !reflected(entry, live)) row.append(entryLine(entry));

  const actions = el("div", "resident-actions");
  if (r.phone) actions.append(phoneTel(r.phone));
  if (live.status === "missing" && !closed()) {
    actions.append(residentButton("button-main", t("m.tick"), "tick", r.id, "tick"));
  }
  if (actions.children.length) row.append(actions);
  return row;
}

function statusText(live) {
  if (live.status === "sampled") {
    return live.at_home
      ? t("m.st.sampledHome", { time: fmtTime(live.sampled_at) })
      : t("m.st.sampled", { time: fmtTime(live.sampled_at), point: live.point || "" }).trim();
  }
  if (live.status === "exempt") {
    const why = live.exempt_reason ? t(`m.reason.${live.exempt_reason}`) : "";
    const where = live.note || lastNote(live);
    return [t("m.st.exempt"), why, where].filter(Boolean).join(" · ");
  }
  return t("m.st.missing");
}

/** An exemption's place, said in the note of the tick or exemption that set it. */
function lastNote(live) {
  const h = live.history || [];
  return h.length ? h[h.length - 1].note || "" : "";
}

function chaseText(live) {
  if (live.status !== "missing") return "";
  const parts = [];
  if (live.chase) {
    const by = live.chase_by != null && page.me && live.chase_by === page.me.id ? t("m.byMe") : "";
    parts.push(t("m.last", { what: t(`m.chase.${live.chase}`), time: fmtTime(live.chase_at) }) + by);
  }
  if (live.visit) {
    parts.push(
      live.visit.taken_by
        ? t("m.visitTaken", { name: live.visit.taken_by_name || `#${live.visit.taken_by}`, time: fmtTime(live.visit.taken_at) })
        : t("m.visitWaiting"),
    );
  }
  return parts.join(" · ");
}

/**
 * Whether the server's state of a resident already shows this phone's recorded entry:
 * then the status line says it, and the entry's own line would only repeat it. Waiting
 * and refused entries are always shown.
 */
function reflected(e, live) {
  if (e.state !== "recorded") return false;
  const ev = e.event;
  const at = Date.parse(e.device_time);
  const mine = (h) => h.chase === ev.chase && h.by === page.me.id && Math.abs(Date.parse(h.at) - at) < 1000;
  if (ev.type === "resident_ticked" || ev.type === "household_ticked") return (live.history || []).some(mine) || live.status !== "missing";
  if (ev.type === "exemption_set") return live.status !== "missing";
  if (ev.type === "visit_taken") return live.status === "sampled" || (live.visit != null && live.visit.taken_by === page.me.id);
  if (ev.type === "resident_sampled") return live.status === "sampled";
  return false;
}

function reflectedHousehold(e, h) {
  return h.residents.some((r) => reflected(e, r.live));
}

/** Where this phone's own tick stands: waiting to be sent, recorded, or refused (with why). */
function entryLine(e) {
  const line = el("p", `entry entry-${e.state}`);
  line.dataset.testid = "entry";
  line.dataset.state = e.state;
  const what = `${labelOf(e)} ${fmtTime(e.device_time)}`;
  if (e.state === "pending") {
    line.append(el("span", "entry-mark", "⏳"), el("span", null, `${what} · ${t("m.tickPending")}`));
  } else if (e.state === "recorded") {
    line.append(el("span", "entry-mark", "✓"), el("span", null, `${what} · ${t("m.tickRecorded")}`));
  } else {
    line.append(el("span", "entry-mark", "✗"), el("span", null, `${what} · ${t("m.tickRefused", { reason: reasonOf(e) })}`));
    const ok = el("button", "button-small", t("m.dismiss"));
    ok.type = "button";
    ok.dataset.act = "dismiss";
    ok.dataset.entry = e.id;
    line.append(ok);
  }
  return line;
}

// ---- a medic's visits

function renderVisits(els, lang) {
  const waiting = [];
  page.households.forEach((h) => h.residents.forEach((r) => {
    if (r.live.visit || (r.live.status === "sampled" && page.visitSeen.has(String(r.id)))) waiting.push({ r, h });
  }));
  page.doneVisits.forEach((v) => waiting.push(v));
  if (!waiting.length) els.push(message("m.noVisits"));
  if (page.me.point_id == null && waiting.length) els.push(message("m.noPoint"));
  waiting.forEach(({ r, h }) => {
    const entry = entryState(entryForResident(r.id));
    els.push(card(`v:${r.id}`, [lang, closed(), r.live, h.number, h.address, entry, page.staff.size], () => visitCard(r, h)));
  });
}

function visitCard(r, h) {
  const live = r.live;
  const done = live.status === "sampled";
  const box = el("article", done ? "visit done" : "visit open");
  box.dataset.testid = "visit";
  box.dataset.id = String(r.id);
  box.dataset.status = done ? "done" : live.visit && live.visit.taken_by ? "taken" : "open";
  const top = el("div", "resident-top");
  const facts = r.birth_year ? t("m.age", { n: new Date().getFullYear() - r.birth_year }) : "";
  top.append(el("span", "resident-name", r.name), el("span", "resident-facts", facts));
  if (r.bedridden) top.append(el("span", "tag", t("m.tagBedridden")));
  box.append(top);
  box.append(el("p", "visit-address", h.address), el("p", "visit-household", `${h.number} · ${h.grid}`));
  const member = h.staff_id != null ? page.staff.get(String(h.staff_id)) : null;
  const status = el("p", "resident-status");
  status.dataset.testid = "visit-status";
  if (done) {
    status.append(el("span", "badge", t("m.visitDone", { time: fmtTime(live.sampled_at) })));
  } else if (live.visit) {
    const v = live.visit;
    const text = v.taken_by
      ? v.taken_by === page.me.id
        ? t("m.takenByMe", { time: fmtTime(v.taken_at) })
        : t("m.takenBy", { name: v.taken_by_name || `#${v.taken_by}`, time: fmtTime(v.taken_at) })
      : t("m.requestedAt", { time: fmtTime(v.requested_at) });
    status.append(el("span", "badge", text));
  }
  box.append(status);
  if (live.note && !done) box.append(el("p", "resident-note", live.note));
  const entry = entryForResident(r.id);
  if (entry && !reflected(entry, live)) box.append(entryLine(entry));
  const actions = el("div", "resident-actions");
  if (r.phone) actions.append(phoneTel(r.phone, r.name));
  if (member && member.phone) actions.append(phoneTel(member.phone, t("m.memberLine", { name: member.name })));
  if (!done && live.visit && !closed()) {
    const v = live.visit;
    if (!v.taken_by) {
      actions.append(residentButton("button-main", t("m.take"), "take", r.id, "take"));
    } else if (v.taken_by === page.me.id && page.me.point_id != null) {
      actions.append(residentButton("button-main button-good", t("m.recordSample"), "sample", r.id, "record-sample"));
    }
  }
  box.append(actions);
  return box;
}

// ---------------------------------------------------------------- the sheet

function openSheet(residentId) {
  const found = page.residents.get(String(residentId));
  if (!found) return;
  page.sheet = { residentId: String(residentId) };
  const { r, h } = found;
  setText($("sheet-title"), t("m.sheetTitle", { name: r.name }));
  setText($("sheet-sub"), t("m.household", { number: h.number, address: h.address }));
  $("sheet-note").value = "";
  $("sheet-problem").hidden = true;
  const choices = RESIDENT_TICKS.map((chase) => {
    const b = el("button", `choice choice-${chase}`);
    b.type = "button";
    b.dataset.chase = chase;
    b.dataset.testid = `choice-${chase}`;
    b.append(el("span", "choice-label", t(`m.chase.${chase}`)), el("span", "choice-hint", t(`m.hint.${chase}`)));
    return b;
  });
  syncChildren($("sheet-choices"), choices);
  $("sheet").hidden = false;
  document.body.classList.add("sheet-open");
  choices[0].focus();
}

function closeSheet() {
  page.sheet = null;
  $("sheet").hidden = true;
  document.body.classList.remove("sheet-open");
}

function chooseInSheet(chase) {
  const s = page.sheet;
  if (!s) return;
  const note = $("sheet-note").value.trim();
  if (chase === "away" && !note) {
    // Where they are is what makes "away" worth recording.
    $("sheet-problem").hidden = false;
    setText($("sheet-problem"), t("m.awayNeedsPlace"));
    $("sheet-note").placeholder = t("m.sheetNoteAway");
    $("sheet-note").focus();
    return;
  }
  if (chase === "nobody_home") tickHousehold(page.residents.get(s.residentId).h.id, note);
  else tickResident(s.residentId, chase, note);
  closeSheet();
  schedule();
}

// ---------------------------------------------------------------- the theme

/** Dark from 19:00 to 07:00 on the phone's clock, or when the phone asks for it; or as chosen. */
function applyTheme() {
  const choice = readPref(STORE_KEYS.theme, "auto");
  const hour = new Date().getHours();
  const night = hour >= 19 || hour < 7;
  const asks = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const dark = choice === "dark" || (choice === "auto" && (night || asks));
  document.documentElement.classList.toggle("dark", dark);
  document.documentElement.classList.toggle("light", !dark);
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.content = dark ? "#10151c" : "#1e6fd9";
  setText($("theme"), `${t("m.theme")}：${t(`m.theme.${choice}`)}`);
  $("theme").dataset.theme = dark ? "dark" : "light";
}

function nextTheme() {
  const order = ["auto", "light", "dark"];
  const now = readPref(STORE_KEYS.theme, "auto");
  writePref(STORE_KEYS.theme, order[(order.indexOf(now) + 1) % order.length]);
  applyTheme();
}

// ---------------------------------------------------------------- the installable shell

/** The service worker keeps the page on the phone (sw.js); the page works without one too. */
function registerWorker() {
  // A new server's pages have taken over: show them rather than keep the old ones.
  registerShell("/m", () => {
    if (page.sheet || document.activeElement === $("search")) $("new-version").hidden = false;
    else location.reload();
  });
}

// ---------------------------------------------------------------- start-up

function signedOut() {
  if (page.feed) page.feed.stop();
  page.feed = null;
  page.status = "offline";
  // What is queued stays queued: the same person paired again sends it.
  if (!page.fromKept) page.notice = { title: "m.notice.signIn", body: "m.notice.signInBody", vars: {}, link: "pair" };
  render();
}

function wire() {
  wireLanguage({
    relabel: () => {
      $("search").placeholder = t("m.search");
      applyTheme();
    },
    redraw: render,
  });
  $("list").addEventListener("click", onAct);
  $("outbox").addEventListener("click", onAct);
  $("send-now").addEventListener("click", () => {
    page.outbox.attempt = 0;
    page.outbox.drain();
  });
  $("search").addEventListener("input", (event) => {
    page.query = event.target.value;
    schedule();
  });
  $("only-missing").addEventListener("click", () => {
    page.onlyMissing = !page.onlyMissing;
    writePref(STORE_KEYS.onlyMissing, page.onlyMissing ? "1" : "0");
    $("only-missing").setAttribute("aria-pressed", String(page.onlyMissing));
    schedule();
  });
  page.onlyMissing = readPref(STORE_KEYS.onlyMissing, "0") === "1";
  $("only-missing").setAttribute("aria-pressed", String(page.onlyMissing));
  $("sheet-choices").addEventListener("click", (event) => {
    const b = event.target.closest("[data-chase]");
    if (b) chooseInSheet(b.dataset.chase);
  });
  $("sheet-cancel").addEventListener("click", closeSheet);
  $("sheet").addEventListener("click", (event) => {
    if (event.target === $("sheet")) closeSheet();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && page.sheet) closeSheet();
  });
  $("theme").addEventListener("click", nextTheme);
  $("reload").addEventListener("click", () => location.reload());
  // The phone switches to dark (its own setting, or at dusk): follow it at once.
  if (window.matchMedia) {
    const dark = window.matchMedia("(prefers-color-scheme: dark)");
    if (dark.addEventListener) dark.addEventListener("change", applyTheme);
  }
  // Night falls while the page is open; the retry countdown moves.
  setInterval(() => {
    applyTheme();
    if (page.outbox && page.outbox.pending().length) schedule();
  }, 30000);
}

function onAct(event) {
  const b = event.target.closest("[data-act]");
  if (!b) return;
  const act = b.dataset.act;
  if (act === "tick") openSheet(b.dataset.resident);
  else if (act === "group") toggleGroup(b.dataset.staff);
  else if (act === "take") takeVisit(b.dataset.resident);
  else if (act === "sample") recordHomeSample(b.dataset.resident);
  else if (act === "dismiss") page.outbox.dismiss(b.dataset.entry);
  else if (act === "handover") {
    const g = groupByMember(page.households).find((x) => x.id === b.dataset.staff);
    if (g) page.chainUi.handover(g, Array.from(page.staff.values()));
  } else if (act === "hand-back") page.chainUi.handBack(b.dataset.households.split(",").map(Number));
  else if (act === "sign-off") page.chainUi.signOff();
  schedule();
}

function start() {
  applyTheme();
  wire();
  registerWorker();
  const token = startSession(signedOut);
  if (!token) {
    page.notice = { title: "m.notice.signIn", body: "m.notice.signInBody", vars: {}, link: "pair" };
    render();
    return;
  }
  page.outbox = new Outbox({ who: null, token: sessionToken, lang: getLang, onChange: changed, onSignedOut: schedule });
  page.callUps = new CallUpOverlay({ outbox: page.outbox, eventsUrl, me: () => page.me });
  page.chain = new ChainFeed(() => {
    page.chainDrawn += 1;
    schedule();
  });
  page.chainUi = new PhoneChain({
    outbox: page.outbox,
    eventsUrl,
    me: () => page.me,
    changed: schedule,
    // The missing residents of the head's area, for the sign-off's "except N", each with
    // the grid member who answers for them now.
    missing: () => page.households.flatMap((h) => {
      const member = h.staff_id != null ? page.staff.get(String(h.staff_id))?.name ?? null : null;
      return h.residents.filter((r) => r.live.status === "missing").map((r) => ({ ...r, household: h.number, member }));
    }),
  });
  // What earlier visits left waiting is shown at once; it is sent once /api/me says whose it is.
  page.outbox.opened = page.outbox.open();
  render();
  load();
}

start();
