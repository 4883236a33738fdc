// The sampling point's page, /scan: an operator at a table with a queue in front. One big
// input takes whatever comes: a wedge scanner typing an ID number (or a household card's
// code) and Enter, the camera reading a QR code, or the operator typing a name, a
// household number or the last digits of an ID number. Every way ends on one confirm
// step — name, masked ID, age, sex, household, grid and grid member, and whether the
// resident was already sampled — and one key (Enter) or tap records the sample.
//
// A sample goes through the outbox (outbox.js): made with its client id at the tap, shown
// as 待发送 until the server has it in the log, kept across reloads, sent by itself when
// the network is back. The page keeps its copy of the point's residents (point-roster) in
// the same IndexedDB, so confirm works with no network; online, /lookup finds anyone else
// (any resident may come to any point) and says whether they are in the action's scope.
// The point's own count and pace come from the action's live feed (live.js).
//
// Pooled tubes (混管): the operator opens a tube by scanning its barcode (or 新开混管, then
// the code), and each resident confirmed goes into it until it holds its size — the server
// closes it then, and the page, counting what it put in, follows — or until 封管. A walk-in
// (nobody on the roster by that ID number or search) is registered in a short form and
// sampled (`walk_in_sampled`). "About N waiting" is one tap (`queue_reported`). All of it
// goes through the same outbox, in the order it was done: a tube is opened before its first
// sample reaches the server.
//
// Layout of this file: state · ID numbers · the kept copy · loading · the live feed ·
// reading a scan · the confirm step · recording · pooled tubes · walk-ins · the queue ·
// sound · the camera · rendering · start-up.
// Written for old Android WebViews: no private fields, no `??=`, nothing after 2020.
// All text from the server goes in through textContent, never innerHTML.

import { fmtInt, fmtRate, fmtTime, getLang, roleLabel, t, toDate } from "./i18n.js";
import "./scan-words.js";
import { $, api, el, problemOf, registerShell, sessionToken, startSession, wireLanguage } from "./session.js";
import { CallUpOverlay } from "./callup.js";
import { Frames, setText } from "./frames.js";
import { Outbox } from "./outbox.js";
import { LiveFeed } from "./live.js";

/** Who works this page; the server refuses the rest anyway (403). */
const ROLES = ["operator", "admin", "chief"];
const ROSTER_PAGE = 5000;
/** The point's copy is read again this often while online: others' samples show as 已采. */
const ROSTER_REFRESH_MS = 120000;
const RETRY_LOAD_S = 10;
/** How long typing rests before the whole roster is searched online. */
const SEARCH_DELAY_MS = 250;
const CANDIDATES_MAX = 20;
/** A camera sees the same code in many frames: it counts once in this long. */
const CAMERA_SAME_MS = 4000;
const RECENT_MAX = 40;
const KEPT_KEY = "scan:last";
const TUBE_KEY = "scan:tube";
const ID_PATTERN = /^\d{17}[\dXx]$/;
/** What a tube's barcode holds, as the server takes it (src/http/actions.rs is_tube_code). */
const TUBE_PATTERN = /^[A-Za-z0-9._/-]{1,64}$/;
const TUBE_SIZES = [1, 5, 10, 20];
/** As the server checks a walk-in (src/http/actions.rs check_walk_in). */
const WALK_IN_NAME_MAX = 40;
const WALK_IN_STAYS_MAX = 100;
const WAITING_MAX = 9999;

// ---------------------------------------------------------------- state

const page = {
  me: null,
  action: null,
  /** The operator's point: { id, name }. */
  point: null,
  /** The kept copy: resident id (string) → a point-roster row. */
  roster: new Map(),
  rosterReadAt: 0,
  rosterFromKept: false,
  /** The point's figures from the live feed (null: not heard yet). */
  count: null,
  rate5: null,
  rate15: null,
  liveSeq: null,
  phase: null,
  status: "connecting",
  notice: null,
  /** What the last search or scan found: { text, candidates: [{ r, inScope }], more } or null. */
  found: null,
  /** The confirm step, while open: { r, inScope, source: "kept" | "server" }. */
  confirm: null,
  /** Scans of residents already sampled, shown in the list (nothing was sent): newest last. */
  repeats: [],
  /** Counts searches, so an answer to an older one is dropped. */
  asked: 0,
  /** Samples go into pooled tubes (混管) while on. */
  tubeMode: false,
  /** The tube being filled: { code, size, entry (its tube_opened entry's id), closeEntry }. */
  tube: null,
  /** The operator asked for a new tube (新开混管): the next code scanned opens it. */
  askTube: false,
  /** The size a new tube gets: the action's (from point-roster) until the operator picks one. */
  tubeSize: 10,
  sizeChosen: false,
  /** A line for the tube panel after an automatic step ("the last tube was closed"). */
  tubeNote: null,
  /** Whom a full tube held up: their confirm (or the walk-in form) opens again once a new tube is. */
  held: null,
  /** The point's walk-ins and residents from outside the scope, of `count` (live feed). */
  walkIns: 0,
  outside: 0,
  /** The queue as the server last said it: people waiting, when said, minutes to clear. */
  waiting: null,
  waitingAt: null,
  queueMinutes: null,
  /** The walk-in form, while open: { fields } (null when closed). */
  walkIn: null,
  /** Refused walk-ins (on_the_roster) already turned into their resident's confirm. */
  turned: new Set(),
  startedAt: Date.now(),
  confirmProblem: null,
  feed: null,
  outbox: null,
};

// ---------------------------------------------------------------- ID numbers

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/** The check digit the first 17 digits call for (GB 11643). */
function checkDigitOf(id) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

/**
 * Why `raw` is not an ID number, in the server's own words (IdNumber::parse, and
 * messages::api::field::id_number_read), or null when it is one. Checked in the same order
 * as the server, so the page never says something the server would not.
 */
function idProblem(raw) {
  const s = String(raw || "").trim();
  const n = Array.from(s).length;
  const bytes = typeof TextEncoder === "function" ? new TextEncoder().encode(s).length : s.length;
  let why = null;
  if (bytes !== 18) why = t("s.id.length", { n });
  else if (!ID_PATTERN.test(s)) why = n === 18 ? t("s.id.chars") : t("s.id.length", { n });
  else if (checkDigitOf(s) !== s[17].toUpperCase()) why = t("s.id.check", { expected: checkDigitOf(s) });
  return why ? t("s.id.read", { why }) : null;
}

/** `1101**********123X`, as every answer of the server shows a number. */
function maskId(id) {
  return `${id.slice(0, 4)}**********${id.slice(14)}`;
}

/** A phone as the server takes one (roster::Phone::parse): a mobile, or a landline from 0. */
function phoneOk(raw) {
  const s = raw.replace(/ /g, "");
  const digits = s.replace(/\D/g, "").length;
  const mobile = s.length === 11 && s[0] === "1" && digits === 11;
  const landline = /^[0-9-]+$/.test(s) && s[0] === "0" && digits >= 10 && digits <= 12;
  return mobile || landline;
}

/** Today in Asia/Shanghai as [year, month, day]: an age turns on the day at the point. */
function todayInChina() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date()).split("-").map(Number);
  return parts;
}

/** What a whole ID number says of its holder: { age, sex } (age null when the digits are no date). */
function idFacts(id) {
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const [ty, tm, td] = todayInChina();
  const born = new Date(Date.UTC(y, m - 1, d));
  const real = born.getUTCFullYear() === y && born.getUTCMonth() === m - 1 && born.getUTCDate() === d;
  const age = real ? ty - y - (tm < m || (tm === m && td < d) ? 1 : 0) : null;
  return { age: age != null && age >= 0 ? age : null, sex: Number(id[16]) % 2 === 1 ? "male" : "female" };
}

// ---------------------------------------------------------------- the kept copy

/** A few characters of the token, so a copy is never shown to whoever paired the device since. */
function tokenTag() {
  return (sessionToken() || "").slice(-8);
}

function keepRoster(rows) {
  page.outbox.keep(KEPT_KEY, {
    tag: tokenTag(), me: page.me, action: page.action, point: page.point, rows, readAt: page.rosterReadAt,
    tubeSize: page.rosterTubeSize,
  });
}

/** Tube mode and the tube being filled, kept so a reload goes on filling it. */
function keepTube() {
  if (!page.outbox || !page.action) return;
  page.outbox.keep(TUBE_KEY, {
    tag: tokenTag(), action: String(page.action.id), mode: page.tubeMode, tube: page.tube,
    size: page.sizeChosen ? page.tubeSize : null,
  });
}

async function readKeptTube() {
  if (page.tubeRead || !page.action) return;
  page.tubeRead = true;
  const k = await page.outbox.kept(TUBE_KEY);
  if (!k || k.tag !== tokenTag() || k.action !== String(page.action.id)) return;
  page.tubeMode = !!k.mode;
  page.tube = k.tube || null;
  if (k.size) {
    page.tubeSize = k.size;
    page.sizeChosen = true;
  }
  schedule();
}

/** The action's tube size, as point-roster said it, unless the operator picked one. */
function takeTubeSize(size) {
  if (TUBE_SIZES.indexOf(size) < 0) return;
  page.rosterTubeSize = size;
  if (!page.sizeChosen) page.tubeSize = size;
}

async function readKept() {
  await page.outbox.opened;
  const kept = await page.outbox.kept(KEPT_KEY);
  return kept && kept.tag === tokenTag() && kept.me && kept.action && kept.rows ? kept : null;
}

function takeRoster(rows, readAt, fromKept) {
  page.roster = new Map(rows.map((r) => [String(r.id), r]));
  page.rosterReadAt = readAt;
  page.rosterFromKept = fromKept;
}

/**
 * The kept residents a whole ID number can be, offline: the copy holds masked numbers
 * only (first four, last four), so those, the sex and the age must all agree.
 */
function keptById(id) {
  const facts = idFacts(id);
  const head = id.slice(0, 4);
  const tail = id.slice(14);
  const out = [];
  page.roster.forEach((r) => {
    const m = r.id_number || "";
    if (m.slice(0, 4) === head && m.slice(-4) === tail && r.sex === facts.sex && (facts.age == null || r.age === facts.age)) out.push(r);
  });
  return out;
}

/** Digits at the end of a household number as a number: "DHS0012" and "12" are the same household. */
function householdDigits(number) {
  const m = /(\d+)$/.exec(String(number || ""));
  return m ? m[1].replace(/^0+/, "") : null;
}

/** The kept residents a search names, best first (household, ID tail, whole name, part of a name). */
function searchKept(q) {
  const query = q.trim();
  const upper = query.toUpperCase();
  const digits = /^\d+[\dX]?$/.test(upper) ? upper : null;
  const ranked = [];
  page.roster.forEach((r) => {
    let rank = -1;
    const hh = String(r.household || "");
    if (hh.toUpperCase() === upper || (digits && /^\d+$/.test(digits) && householdDigits(hh) === digits.replace(/^0+/, ""))) rank = 0;
    // The copy shows the last four characters: a longer tail is checked on its last four here, exactly online.
    else if (digits && digits.length >= 4 && String(r.id_number).slice(-4) === digits.slice(-4)) rank = 1;
    else if (r.name === query) rank = 2;
    else if (query && !digits && r.name.indexOf(query) >= 0) rank = 3;
    if (rank >= 0) ranked.push({ rank, r });
  });
  ranked.sort((a, b) => a.rank - b.rank || Number(a.r.id) - Number(b.r.id));
  return ranked.map((x) => ({ r: x.r, inScope: true }));
}

// ---------------------------------------------------------------- loading

function chooseAction(actions) {
  // As the phone page chooses (m-early.js): the open action, else the latest.
  if (!actions || !actions.length) return null;
  const open = actions.filter((a) => a.phase === "open");
  const pool = open.length ? open : actions;
  return pool.reduce((best, a) => (best == null || Number(a.id) > Number(best.id) ? a : best), null);
}

function eventsUrl() {
  return `/api/actions/${encodeURIComponent(page.action.id)}/events`;
}

async function readRoster(actionId) {
  let cursor = null;
  const rows = [];
  for (;;) {
    const q = new URLSearchParams({ limit: String(ROSTER_PAGE) });
    if (cursor) q.set("cursor", cursor);
    const part = await api("GET", `/api/actions/${encodeURIComponent(actionId)}/point-roster?${q}`);
    if (!cursor) takeTubeSize(part.tube_size);
    rows.push.apply(rows, part.residents || []);
    cursor = part.next;
    if (!cursor) return rows;
  }
}

/**
 * The kept copy first (a repeat visit confirms scans before the network answers, and
 * with none at all), then who, which action and the point's residents from the server.
 */
async function load() {
  page.notice = null;
  const kept = await readKept();
  if (kept && !page.action) {
    page.me = kept.me;
    page.action = kept.action;
    page.point = kept.point;
    page.outbox.who = kept.me.id;
    takeRoster(kept.rows, kept.readAt, true);
    takeTubeSize(kept.tubeSize);
    await readKeptTube();
    render();
  }
  let me;
  let actions;
  try {
    const both = await Promise.all([api("GET", "/api/me"), api("GET", "/api/actions")]);
    me = both[0];
    actions = both[1];
  } catch (err) {
    return loadFailed(problemOf(err), kept);
  }
  page.me = me;
  if (!ROLES.includes(me.role)) {
    page.notice = { title: "s.notice.role", body: "s.notice.roleBody", vars: { role: roleLabel(me.role) }, link: "centre" };
    return render();
  }
  // Only now, with who is signed in known, is anything sent: in their name.
  page.outbox.who = me.id;
  page.outbox.drain();
  const action = chooseAction(actions);
  if (!action) {
    page.notice = { title: "s.notice.noAction", body: "s.notice.noActionBody", vars: {} };
    return render();
  }
  const sameAction = page.action && String(page.action.id) === String(action.id);
  if (!sameAction) {
    page.tubeRead = false;
    page.tubeMode = false;
    page.tube = null;
  }
  page.action = action;
  await readKeptTube();
  page.phase = action.phase;
  if (!sameAction || !page.point || page.point.id !== me.point_id) {
    page.point = me.point_id != null ? { id: me.point_id, name: `#${me.point_id}` } : null;
  }
  try {
    await refreshRoster();
  } catch (err) {
    return loadFailed(problemOf(err), kept);
  }
  render();
  follow();
}

async function refreshRoster() {
  const rows = await readRoster(page.action.id);
  takeRoster(rows, Date.now(), false);
  keepRoster(rows);
  schedule();
}

let retryTimer = 0;
function loadFailed(problem, kept) {
  if (problem.status === 401) return undefined; // signedOut() has said so.
  if (problem.status === 0 && (kept || page.action)) {
    // No network: the copy stays and scanning goes on; the rest is asked again when back.
    page.status = "offline";
    render();
    if (page.action) follow();
    const again = () => {
      self.removeEventListener("online", again);
      load();
    };
    self.addEventListener("online", again);
    return undefined;
  }
  page.notice = { title: "s.notice.error", body: "s.notice.errorBody", vars: { s: RETRY_LOAD_S }, problem };
  render();
  clearTimeout(retryTimer);
  retryTimer = setTimeout(load, RETRY_LOAD_S * 1000);
  return undefined;
}

// ---------------------------------------------------------------- the live feed

function follow() {
  if (page.feed) page.feed.stop();
  page.liveSeq = null;
  page.feed = new LiveFeed(page.action.id, sessionToken, {
    seq: () => page.liveSeq,
    message: onLive,
    status: (s) => {
      page.status = s;
      schedule();
    },
    refused: () => api("GET", "/api/me").catch(() => {}),
  });
  page.feed.connect();
  page.callUps.follow(page.action.id);
}

/** The point's pace from a snapshot's or delta's `pace.points` (a delta may leave it out: kept). */
function takePace(pace) {
  if (!pace) return;
  if (pace.phase) page.phase = pace.phase;
  const pp = page.point && pace.points ? pace.points[String(page.point.id)] : null;
  if (pp) {
    page.rate5 = pp.rate_5;
    page.rate15 = pp.rate_15;
    page.waiting = pp.waiting == null ? null : pp.waiting;
    page.waitingAt = pp.waiting_at || null;
    page.queueMinutes = pp.queue_minutes == null ? null : pp.queue_minutes;
  }
}

/** An operator's live view is their point (src/auth/scope.rs): its count, name and pace. */
function onLive(msg) {
  page.callUps.count(msg.pace);
  if (msg.type === "snapshot") {
    page.liveSeq = msg.seq;
    const mine = page.point ? (msg.points || []).find((p) => p.id === page.point.id) : null;
    page.count = mine ? mine.count : 0;
    page.walkIns = mine ? mine.walk_ins || 0 : 0;
    page.outside = mine ? mine.outside || 0 : 0;
    if (mine && mine.name !== page.point.name) {
      // The name the kept copy says it is, for a reload with no network.
      page.point.name = mine.name;
      keepRoster(Array.from(page.roster.values()));
    }
    if (page.point) {
      page.rate5 = 0;
      page.rate15 = 0;
    }
    takePace(msg.pace);
    schedule();
    return true;
  }
  if (msg.type !== "delta") return true;
  if (page.liveSeq == null || msg.from !== page.liveSeq) return false;
  page.liveSeq = msg.to;
  const by = page.point && msg.points ? msg.points[String(page.point.id)] : null;
  if (by && page.count != null) {
    page.count += by.count || 0;
    page.walkIns += by.walk_ins || 0;
    page.outside += by.outside || 0;
  }
  takePace(msg.pace);
  schedule();
  return true;
}

// ---------------------------------------------------------------- reading a scan

/** A QR code's text as a code: a card's link (`…/c/CODE`, `?code=CODE`) gives its last part. */
function codeFrom(text) {
  const raw = String(text || "").trim();
  if (!/^https?:\/\//i.test(raw)) return raw;
  try {
    const url = new URL(raw);
    const param = url.searchParams.get("code");
    if (param) return param;
    const parts = url.pathname.split("/").filter(Boolean);
    return parts.length ? decodeURIComponent(parts[parts.length - 1]) : raw;
  } catch (err) {
    return raw;
  }
}

function online() {
  return navigator.onLine !== false && page.status !== "offline";
}

/** `GET /lookup?q=`: { residents: [{ r, inScope }], more }. Throws ApiProblem. */
async function lookup(q) {
  const answer = await api("GET", `/api/actions/${encodeURIComponent(page.action.id)}/lookup?q=${encodeURIComponent(q)}`);
  return {
    candidates: (answer.residents || []).map((c) => ({ r: c, inScope: c.in_scope !== false })),
    more: !!answer.more,
  };
}

/** Enter in the input (a wedge scanner ends each code with it), or a code the camera read. */
function onScan(rawText) {
  const text = codeFrom(rawText);
  $("scan-input").value = "";
  if (!page.action) return;
  if (!text) {
    // Enter on an empty input: the one thing the panel offers (登记外来人员, 开新混管).
    const f = page.found;
    if (f && f.actions && f.actions.length === 1 && !f.candidates.length) f.actions[0].run();
    return;
  }
  if (ID_PATTERN.test(text)) return scanIdNumber(text.toUpperCase());
  // Waiting for a tube: what the scanner reads now is its barcode.
  if (needTube() && tubeLike(text)) return openTube(text);
  // A search already on screen with one answer: Enter takes it.
  if (page.found && page.found.query === text && page.found.candidates.length === 1) {
    const only = page.found.candidates[0];
    return openConfirm(only.r, only.inScope, "server");
  }
  if (looksLikeCode(text)) return scanCode(text);
  return search(text, true);
}

/** A household card's code rather than something a person typed: letters and digits, no household we keep. */
function looksLikeCode(text) {
  if (!/^[A-Za-z0-9_-]{6,64}$/.test(text) || /^\d+$/.test(text)) return false;
  const upper = text.toUpperCase();
  let household = false;
  page.roster.forEach((r) => {
    if (String(r.household).toUpperCase() === upper) household = true;
  });
  return !household;
}

/**
 * Whether a code may be a tube's barcode rather than a search: the form a tube code has,
 * not a household this page keeps, and not the few digits of an ID tail or household number.
 */
function tubeLike(text) {
  if (!TUBE_PATTERN.test(text) || ID_PATTERN.test(text)) return false;
  if (/^\d+$/.test(text) && text.length < 8) return false;
  const upper = text.toUpperCase();
  let household = false;
  page.roster.forEach((r) => {
    if (String(r.household).toUpperCase() === upper) household = true;
  });
  return !household;
}

/** What the found panel offers for a walk-in: the form, with what is known filled in. */
function walkInOffer(fields) {
  return { label: t("s.offerWalkIn"), testid: "offer-walk-in", run: () => openWalkIn(fields) };
}

function tubeOffer(code) {
  return { label: t("s.tube.offer", { code, size: page.tubeSize }), testid: "offer-tube", run: () => openTube(code) };
}

/** An ID card: the kept copy confirms at once; the server, when it answers, has the last word. */
async function scanIdNumber(id) {
  const bad = idProblem(id);
  if (bad) {
    showFound({ text: bad, candidates: [], query: id });
    beep("bad");
    return;
  }
  const asked = ++page.asked;
  const kept = keptById(id);
  if (kept.length === 1) openConfirm(kept[0], true, "kept");
  else if (kept.length > 1) showFound({ text: t("s.pick", { n: kept.length }), candidates: kept.map((r) => ({ r, inScope: true })), query: id });
  if (!online()) {
    if (!kept.length) {
      // The server says on_the_roster if they are someone after all: their confirm then.
      showFound({ text: t("s.noMatchOffline", { q: `${id.slice(0, 4)}…${id.slice(-4)}` }), candidates: [], query: id, actions: [walkInOffer({ id_number: id })] });
      beep("bad");
    }
    return;
  }
  if (!kept.length) showFound({ text: t("s.searching"), candidates: [], query: id });
  let answer;
  try {
    answer = await lookup(id);
  } catch (err) {
    if (asked === page.asked && !kept.length) showProblem(problemOf(err), id);
    return;
  }
  if (asked !== page.asked) return;
  const found = answer.candidates[0];
  if (!found) {
    // Not on the roster (a walk-in): a copy that looked like them was someone else.
    if (page.confirm) closeConfirm();
    showFound({ text: t("s.notOnRoster"), candidates: [], query: id, actions: [walkInOffer({ id_number: id })] });
    beep("bad");
    return;
  }
  remember(found.r);
  if (page.confirm && String(page.confirm.r.id) === String(found.r.id)) {
    // The same person, now with what the server knows (sampled meanwhile elsewhere?).
    page.confirm = { r: found.r, inScope: found.inScope, source: "server" };
    renderConfirm();
    // The copy did not know of a flag the server does: the single tube's field takes the next scan.
    if (found.r.flag === "retest" && document.activeElement !== $("single-code")) $("single-code").focus();
  } else if (page.closedFor !== asked && (!page.confirm || kept.length)) {
    openConfirm(found.r, found.inScope, "server");
  }
}

/**
 * A household card (`GET /api/codes/{code}`, the cards module): the household's residents
 * to pick who is here, or the one resident of a resident's card. Before that route exists
 * (or for a code it does not know the form of) the code is searched like anything typed.
 */
async function scanCode(code) {
  if (!online()) return search(code, true);
  const asked = ++page.asked;
  let card;
  try {
    card = await api("GET", `/api/codes/${encodeURIComponent(code)}`);
  } catch (err) {
    const problem = problemOf(err);
    if (asked !== page.asked) return;
    if (problem.code === "code_reissued") return cardProblem("s.reissuedCode", code);
    // Not a card: a tube's barcode, most likely (or a misread card).
    if (problem.code === "unknown_code") {
      showFound({ text: t("s.unknownCode"), candidates: [], query: code, actions: tubeLike(code) ? [tubeOffer(code)] : [] });
      beep("bad");
      return;
    }
    return search(code, true);
  }
  if (asked !== page.asked) return;
  const household = card.household || {};
  const ids = (household.residents || []).map((r) => String(r.id));
  // Their rows as the page shows them: kept, or found by the household's number.
  let candidates = ids.filter((id) => page.roster.has(id)).map((id) => ({ r: page.roster.get(id), inScope: true }));
  if (candidates.length < ids.length && household.number) {
    try {
      candidates = (await lookup(household.number)).candidates.filter((c) => ids.indexOf(String(c.r.id)) >= 0);
    } catch (err) {
      // The kept rows are what there is.
    }
  }
  if (asked !== page.asked) return;
  const one = card.resident_id != null ? candidates.find((c) => String(c.r.id) === String(card.resident_id)) : null;
  if (one) return openConfirm(one.r, one.inScope, "server");
  if (candidates.length === 1) return openConfirm(candidates[0].r, candidates[0].inScope, "server");
  showFound({ text: t("s.pick", { n: candidates.length }), candidates, query: code });
}

function cardProblem(key, code) {
  showFound({ text: t(key), candidates: [], query: code });
  beep("bad");
}

let searchTimer = 0;

/**
 * A name, a household number or ID digits: the kept copy at once, then (online) the whole
 * roster, whose answer replaces it. `submitted`: Enter was pressed, so one match confirms.
 */
function search(text, submitted) {
  clearTimeout(searchTimer);
  const q = text.trim();
  const asked = ++page.asked;
  if (!q) {
    page.found = null;
    schedule();
    return;
  }
  // Found nobody: a walk-in (a name typed is theirs), or a tube's barcode.
  const offers = () => {
    const list = [];
    if (submitted && tubeLike(q)) list.push(tubeOffer(q));
    list.push(walkInOffer(/[\d]/.test(q) ? {} : { name: q }));
    return list;
  };
  const local = searchKept(q);
  if (submitted && local.length === 1 && !online()) return openConfirm(local[0].r, true, "kept");
  showFound({
    text: local.length ? t("s.pick", { n: local.length }) : t(online() ? "s.searching" : "s.noMatchOffline", { q }),
    candidates: local, query: q, actions: !local.length && !online() ? offers() : null,
  });
  if (!online()) return;
  const run = async () => {
    let answer;
    try {
      answer = await lookup(q);
    } catch (err) {
      if (asked === page.asked) showProblem(problemOf(err), q);
      return;
    }
    if (asked !== page.asked) return;
    answer.candidates.forEach((c) => remember(c.r));
    const n = answer.candidates.length;
    if (submitted && n === 1) return openConfirm(answer.candidates[0].r, answer.candidates[0].inScope, "server");
    showFound({
      text: n ? t("s.pick", { n }) : t("s.noMatch", { q }),
      candidates: answer.candidates,
      more: answer.more,
      query: q,
      actions: n ? null : offers(),
    });
  };
  if (submitted) run();
  else searchTimer = setTimeout(run, SEARCH_DELAY_MS);
}

/** What the server just said of a kept resident replaces the copy's (their status, mostly). */
function remember(r) {
  if (page.roster.has(String(r.id))) page.roster.set(String(r.id), r);
}

function showProblem(problem, q) {
  // Offline after all: what the copy found stays.
  if (problem.status === 0) return showFound({ text: t("s.noMatchOffline", { q }), candidates: searchKept(q), query: q });
  showFound({ text: problem.message || problem.code, candidates: [], query: q });
}

function showFound(found) {
  page.found = found;
  schedule();
}

// ---------------------------------------------------------------- the confirm step

/**
 * Whether and where a resident was sampled in this action: this device's own sample first
 * (it may not have reached the server yet), else what the server last said.
 */
function sampledInfo(r) {
  const mine = latestSample(r.id);
  if (mine) return { at: mine.device_time, point: page.point ? page.point.name : "", here: true };
  if (r.status === "sampled") return { at: r.sampled_at, point: r.point || "", here: page.point != null && r.point_id === page.point.id };
  return null;
}

/** This person's newest sample on this device in this action, not refused. */
function latestSample(residentId) {
  if (!page.outbox || !page.action) return null;
  const url = eventsUrl();
  const mine = page.outbox.list((e) => e.url === url && e.meta && e.meta.kind === "sample" && e.meta.resident_id === String(residentId) && e.state !== "refused");
  return mine.length ? mine[mine.length - 1] : null;
}

function openConfirm(r, inScope, source) {
  page.confirm = { r, inScope, source };
  page.confirmProblem = null;
  page.found = null;
  $("single-code").value = "";
  renderConfirm();
  schedule();
  const flagged = r.flag === "retest";
  beep(flagged ? "bad" : sampledInfo(r) ? "repeat" : "seen");
  // A flagged resident's single tube is scanned next: the scanner types into its field.
  (flagged ? $("single-code") : $("confirm-record")).focus();
}

function closeConfirm() {
  // The scan this confirm answered was acted on (recorded, or put aside): a late answer
  // from the server for it must not open it again (as 已采过, after it was just recorded).
  page.closedFor = page.asked;
  page.confirm = null;
  $("confirm").hidden = true;
  $("scan-input").focus();
  schedule();
}

// ---------------------------------------------------------------- recording

/**
 * Enter on the confirm step. A resident not yet sampled: the sample goes into the outbox,
 * its id and device time made now (into the open tube in tube mode). One already sampled in
 * this action: nothing is sent (a second sample would be a second count at this point), and
 * the list says so. One a positive pooled tube flagged: a single tube, whatever else.
 */
function record() {
  const c = page.confirm;
  if (!c) return;
  const r = c.r;
  if (r.flag === "retest") return recordSingle(c);
  const before = sampledInfo(r);
  if (before) {
    page.repeats.push({ at: new Date().toISOString(), r, inScope: c.inScope, before });
    if (page.repeats.length > RECENT_MAX) page.repeats.shift();
    closeConfirm();
    return;
  }
  if (!page.point) return;
  let tube = null;
  if (page.tubeMode) {
    const open = tubeUsable();
    if (!open) {
      // Full or not opened yet: this person waits for the next tube's barcode.
      page.held = { r, inScope: c.inScope, source: c.source };
      page.askTube = true;
      beep("bad");
      closeConfirm();
      return;
    }
    tube = open.code;
  }
  const event = { type: "resident_sampled", resident_id: Number(r.id), point_id: page.point.id };
  if (tube) event.tube = tube;
  page.outbox.put(eventsUrl(), event, sampleMeta(r, c.inScope, tube, false));
  afterSample(tube);
  closeConfirm();
}

function sampleMeta(r, inScope, tube, single) {
  return {
    kind: "sample",
    resident_id: String(r.id),
    name: r.name,
    id_number: r.id_number,
    household: r.household,
    outside: !inScope,
    tube,
    single,
  };
}

/** The beep of a sample, and a tube that this sample filled (the server closes it too). */
function afterSample(tube) {
  beep("ok");
  const now = tube ? tubeNow() : null;
  if (now && now.code === tube && now.state === "full") {
    page.tubeNote = null;
    setTimeout(() => beep("repeat"), 250);
  }
}

/** A flagged resident's re-test: a single tube (size 1) opened with the code scanned, then the sample into it. */
function recordSingle(c) {
  const code = $("single-code").value.trim();
  if (!code || !TUBE_PATTERN.test(code)) {
    page.confirmProblem = code ? t("s.tube.notCode", { code: code.slice(0, 20) }) : t("s.single.need");
    renderConfirm();
    beep("bad");
    $("single-code").focus();
    return;
  }
  if (!page.point) return;
  const url = eventsUrl();
  page.outbox.put(url, { type: "tube_opened", tube: code, point_id: page.point.id, size: 1 }, { kind: "tube_open", tube: code, size: 1 });
  page.outbox.put(url, { type: "resident_sampled", resident_id: Number(c.r.id), point_id: page.point.id, tube: code },
    sampleMeta(c.r, c.inScope, code, true));
  beep("ok");
  closeConfirm();
}

// ---------------------------------------------------------------- pooled tubes

/** This device's samples (and walk-ins) into tube `code` in this action, not refused: who is in it. */
function tubeMembers(code) {
  const url = eventsUrl();
  return page.outbox.list((e) => e.url === url && e.meta && e.meta.tube === code && !e.meta.single &&
    (e.meta.kind === "sample" || e.meta.kind === "walk_in") && e.state !== "refused");
}

/**
 * The tube being filled as this page knows it: { code, size, members, count, state, pending,
 * problem } with state open | full | closed | refused; null without one. Full is the server's
 * rule (it closes a tube by itself at its size): the page counts what it put in.
 */
function tubeNow() {
  const tb = page.tube;
  if (!tb || !page.outbox || !page.action) return null;
  const opened = page.outbox.entries.get(tb.entry);
  const closing = tb.closeEntry ? page.outbox.entries.get(tb.closeEntry) : null;
  const members = tubeMembers(tb.code);
  let state = "open";
  if (opened && opened.state === "refused") state = "refused";
  else if (members.length >= tb.size) state = "full";
  else if (closing && closing.state !== "refused") state = "closed";
  return {
    code: tb.code, size: tb.size, members, count: members.length, state,
    pending: !!opened && opened.state === "pending",
    problem: opened && opened.state === "refused" ? opened.problem : null,
  };
}

/** The tube the next person goes into, or null (none open, full, closed, or a new one asked for). */
function tubeUsable() {
  const now = tubeNow();
  return now && now.state === "open" && !page.askTube ? now : null;
}

/** In tube mode with no tube to put the next person in: the next code scanned opens one. */
function needTube() {
  return page.tubeMode && !tubeUsable();
}

/** Opens tube `code` at this point (closing the one being filled, if open), then goes on with whoever waited. */
function openTube(code) {
  if (!page.point || !page.action) return;
  if (!TUBE_PATTERN.test(code)) {
    showFound({ text: t("s.tube.notCode", { code: code.slice(0, 20) }), candidates: [], query: code });
    beep("bad");
    return;
  }
  const now = tubeNow();
  page.found = null;
  if (now && now.code === code && now.state === "open") {
    page.askTube = false;
    showFound({ text: t("s.tube.same", { code }), candidates: [], query: code });
    return;
  }
  page.tubeNote = null;
  if (now && now.state === "open") {
    // One tube at a time at a table: the one being filled is capped when a new one starts.
    closeTube();
    page.tubeNote = t("s.tube.closedOld", { code: now.code, n: now.count, size: now.size });
  }
  const size = page.tubeSize;
  const e = page.outbox.put(eventsUrl(), { type: "tube_opened", tube: code, point_id: page.point.id, size }, { kind: "tube_open", tube: code, size });
  page.tube = { code, size, entry: e.id, closeEntry: null };
  page.tubeMode = true;
  page.askTube = false;
  keepTube();
  beep("ok");
  const held = page.held;
  page.held = null;
  schedule();
  if (held && held.walkIn) openWalkIn(held.walkIn);
  else if (held) openConfirm(held.r, held.inScope, held.source);
}

/** 封管 by hand: the tube being filled takes no one more. */
function closeTube() {
  const now = tubeNow();
  if (!now || now.state !== "open" || !page.point) return;
  const e = page.outbox.put(eventsUrl(), { type: "tube_closed", tube: now.code }, { kind: "tube_close", tube: now.code });
  page.tube.closeEntry = e.id;
  page.askTube = true;
  keepTube();
  schedule();
}

/** 新开混管: tube mode on, and the next code scanned is the new tube's. */
function askForTube() {
  page.tubeMode = true;
  page.askTube = true;
  page.tubeNote = null;
  keepTube();
  schedule();
  $("scan-input").focus();
}

/** 不用混管: single samples from now; the tube being filled is closed. */
function leaveTubes() {
  closeTube();
  page.tubeMode = false;
  page.askTube = false;
  page.held = null;
  page.tubeNote = null;
  keepTube();
  schedule();
  $("scan-input").focus();
}

// ---------------------------------------------------------------- walk-ins

const WALK_IN_FIELDS = { name: "wi-name", id_number: "wi-id", phone: "wi-phone", stays_at: "wi-stays" };

/** The form for a person not on the roster, with what the scan or search already knows. */
function openWalkIn(fields) {
  if (page.confirm) closeConfirm();
  page.found = null;
  page.walkIn = { problem: null };
  Object.keys(WALK_IN_FIELDS).forEach((k) => {
    const input = $(WALK_IN_FIELDS[k]);
    input.value = (fields && fields[k]) || "";
    input.removeAttribute("aria-invalid");
  });
  $("walkin").hidden = false;
  renderWalkIn();
  const first = Object.keys(WALK_IN_FIELDS).map((k) => $(WALK_IN_FIELDS[k])).find((i) => !i.value) || $("wi-record");
  first.focus();
  schedule();
}

function closeWalkIn() {
  page.walkIn = null;
  $("walkin").hidden = true;
  $("scan-input").focus();
  schedule();
}

function walkInFields() {
  return {
    name: $("wi-name").value.trim(),
    id_number: $("wi-id").value.trim().toUpperCase(),
    phone: $("wi-phone").value.replace(/ /g, "").trim(),
    stays_at: $("wi-stays").value.trim(),
  };
}

/** The first thing wrong with the form, as the server would say it: { field, text } or null. */
function walkInProblem(f) {
  if (!f.name || Array.from(f.name).length > WALK_IN_NAME_MAX) return { field: "name", text: t("s.walkIn.badName", { max: WALK_IN_NAME_MAX }) };
  const id = idProblem(f.id_number);
  if (id) return { field: "id_number", text: id };
  if (f.phone && !phoneOk(f.phone)) return { field: "phone", text: t("s.walkIn.badPhone") };
  if (!f.stays_at || Array.from(f.stays_at).length > WALK_IN_STAYS_MAX) return { field: "stays_at", text: t("s.walkIn.badStays", { max: WALK_IN_STAYS_MAX }) };
  return null;
}

/** 登记并采样: checked here first (nothing is sent with a mistake in it), then into the outbox. */
function submitWalkIn(event) {
  event.preventDefault();
  if (!page.walkIn || !page.point) return;
  const f = walkInFields();
  Object.keys(WALK_IN_FIELDS).forEach((k) => $(WALK_IN_FIELDS[k]).removeAttribute("aria-invalid"));
  const problem = walkInProblem(f);
  if (problem) {
    page.walkIn.problem = problem.text;
    const input = $(WALK_IN_FIELDS[problem.field]);
    input.setAttribute("aria-invalid", "true");
    renderWalkIn();
    input.focus();
    beep("bad");
    return;
  }
  let tube = null;
  if (page.tubeMode) {
    const open = tubeUsable();
    if (!open) {
      page.held = { walkIn: f };
      page.askTube = true;
      beep("bad");
      closeWalkIn();
      return;
    }
    tube = open.code;
  }
  const walkIn = { name: f.name, id_number: f.id_number, stays_at: f.stays_at };
  if (f.phone) walkIn.phone = f.phone;
  const body = { type: "walk_in_sampled", walk_in: walkIn, point_id: page.point.id };
  if (tube) body.tube = tube;
  page.outbox.put(eventsUrl(), body, { kind: "walk_in", name: f.name, id_number: maskId(f.id_number), tube, single: false });
  afterSample(tube);
  closeWalkIn();
}

/**
 * A walk-in the server refused as `on_the_roster` is a resident after all (the copy or the
 * search missed them): made on this visit, it turns into that resident's confirm step.
 */
function turnRefusedWalkIns() {
  if (!page.outbox) return;
  page.outbox.list((e) => e.meta && e.meta.kind === "walk_in" && e.state === "refused" && e.problem &&
    e.problem.code === "on_the_roster" && !page.turned.has(e.id)).forEach((e) => {
    page.turned.add(e.id);
    if (e.created_ms >= page.startedAt && !page.confirm && !page.walkIn) asResident(e);
  });
}

async function asResident(e) {
  const id = String(e.problem.resident_id);
  let found = page.roster.has(id) ? { r: page.roster.get(id), inScope: true } : null;
  if (online()) {
    try {
      const answer = await lookup(e.event.walk_in.id_number);
      const c = answer.candidates.find((x) => String(x.r.id) === id);
      if (c) found = c;
    } catch (err) {
      // The kept row, if there is one, is what there is.
    }
  }
  if (found) openConfirm(found.r, found.inScope, "server");
}

// ---------------------------------------------------------------- the queue

/** "About N waiting", as the operator sees it from the table. */
function reportQueue(n) {
  const problem = $("queue-problem");
  if (!(Number.isInteger(n) && n >= 0 && n <= WAITING_MAX)) {
    problem.textContent = t("s.queue.bad");
    problem.hidden = false;
    beep("bad");
    return;
  }
  problem.hidden = true;
  if (!page.point || !page.action) return;
  page.outbox.put(eventsUrl(), { type: "queue_reported", point_id: page.point.id, waiting: n }, { kind: "queue", waiting: n });
  beep("seen");
  $("queue-custom").value = "";
  $("scan-input").focus();
}

/** The queue line: this device's newest report while the server has not said it back, else the server's. */
function queueLine() {
  const url = page.action ? eventsUrl() : null;
  const mine = page.outbox ? page.outbox.list((e) => e.url === url && e.meta && e.meta.kind === "queue" && e.state !== "refused") : [];
  const last = mine.length ? mine[mine.length - 1] : null;
  const serverSaid = page.waiting != null && (!last || (page.waitingAt && page.waitingAt >= last.device_time.slice(0, 19)));
  const n = last && (last.state === "pending" || !serverSaid) ? last.meta.waiting : page.waiting;
  if (n == null) return t("s.queue.none");
  if (last && last.state === "pending") return `${n === 0 ? t("s.queue.zero") : t("s.queue.waiting", { n })} ${t("s.queue.pending")}`;
  if (n === 0) return t("s.queue.zero");
  const minutes = n === page.waiting && page.queueMinutes != null ? t("s.queue.minutes", { m: Math.max(1, Math.ceil(page.queueMinutes)) }) : null;
  return minutes ? `${t("s.queue.waiting", { n })} · ${minutes}` : t("s.queue.waiting", { n });
}

// ---------------------------------------------------------------- sound

let audio = null;

/** A short tone and a buzz: "ok" recorded, "seen" a person found, "repeat" already sampled, "bad" not found. */
function beep(kind) {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx) {
      if (!audio) audio = new Ctx();
      if (audio.state === "suspended") audio.resume();
      const tone = (freq, start, length) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        const at = audio.currentTime + start;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.2, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + length);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(at);
        osc.stop(at + length + 0.02);
      };
      if (kind === "ok") tone(1320, 0, 0.12);
      else if (kind === "seen") tone(880, 0, 0.06);
      else if (kind === "repeat") {
        tone(520, 0, 0.12);
        tone(520, 0.18, 0.12);
      } else tone(260, 0, 0.35);
    }
  } catch (err) {
    // No sound on this device: the screen says it all the same.
  }
  if (navigator.vibrate && kind !== "seen") navigator.vibrate(kind === "ok" ? 80 : [60, 60, 60]);
}

// ---------------------------------------------------------------- the camera

const camera = { stream: null, timer: 0, detect: null, last: "", lastAt: 0 };

/** The browser's own QR reader where it has one (Chrome on Android), else the vendored jsQR. */
async function qrReader(video) {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.indexOf("qr_code") >= 0) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async () => {
          const codes = await detector.detect(video);
          return codes.length ? codes[0].rawValue : null;
        };
      }
    } catch (err) {
      // Fall through to jsQR.
    }
  }
  await import("./vendor/jsQR.js");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  return async () => {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return null;
    // A third of a phone camera's frame is plenty for a card held up close, and 9× less work.
    const scale = Math.min(1, 640 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const code = self.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  };
}

async function startCamera() {
  const problem = $("camera-problem");
  problem.hidden = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    problem.textContent = t("s.cameraNo");
    problem.hidden = false;
    $("camera-box").hidden = false;
    return;
  }
  try {
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    problem.textContent = t(err && err.name === "NotAllowedError" ? "s.cameraDenied" : "s.cameraNo");
    problem.hidden = false;
    $("camera-box").hidden = false;
    return;
  }
  const video = $("camera-video");
  video.srcObject = camera.stream;
  $("camera-box").hidden = false;
  $("camera").textContent = t("s.cameraStop");
  await video.play().catch(() => {});
  camera.detect = await qrReader(video);
  const tick = async () => {
    if (!camera.stream) return;
    if (!page.confirm && !page.walkIn) {
      let text = null;
      try {
        text = await camera.detect();
      } catch (err) {
        text = null;
      }
      const now = Date.now();
      if (text && (text !== camera.last || now - camera.lastAt > CAMERA_SAME_MS)) {
        camera.last = text;
        camera.lastAt = now;
        onScan(text);
      }
    }
    camera.timer = setTimeout(tick, 150);
  };
  tick();
}

function stopCamera() {
  clearTimeout(camera.timer);
  if (camera.stream) camera.stream.getTracks().forEach((track) => track.stop());
  camera.stream = null;
  $("camera-video").srcObject = null;
  $("camera-box").hidden = true;
  $("camera").textContent = t("s.camera");
}

// ---------------------------------------------------------------- rendering

/** Whatever changed is drawn once, next frame (frames.js). */
const frames = new Frames(draw);
const schedule = () => frames.schedule();
const render = frames.draw;

function draw() {
  document.title = t("s.pageTitle");
  renderNotice();
  renderBar();
  const working = !page.notice && !!page.action;
  $("work").hidden = !working;
  if (!working) return;
  turnRefusedWalkIns();
  renderStats();
  renderTube();
  renderQueue();
  renderFound();
  renderRecent();
  renderKept();
  if (page.confirm) renderConfirm();
  if (page.walkIn) renderWalkIn();
}

function renderNotice() {
  const n = page.notice;
  $("notice").hidden = !n;
  if (!n) return;
  setText($("notice-title"), t(n.title, n.vars));
  const extra = n.problem && n.problem.message ? ` ${n.problem.message}` : "";
  setText($("notice-body"), t(n.body, n.vars) + extra);
  const link = $("notice-link");
  link.hidden = !n.link;
  if (n.link === "centre") {
    link.href = "/";
    setText(link, t("s.toCentre"));
  } else if (n.link === "pair") {
    link.href = "/pair.html";
    setText(link, t("s.toPair"));
  }
}

function renderBar() {
  const me = page.me;
  setText($("who"), me ? t("s.who", { name: me.name, point: page.point ? page.point.name : t("s.noPoint") }) : "");
  const state = page.phase === "closed" ? "closed" : page.status;
  const conn = $("conn");
  conn.dataset.state = state;
  setText(conn, t(`s.conn.${state}`));
}

function renderStats() {
  setText($("count"), page.count == null ? "—" : fmtInt(page.count));
  const apart = [];
  if (page.walkIns) apart.push(t("s.apart.walkIns", { n: fmtInt(page.walkIns) }));
  if (page.outside) apart.push(t("s.apart.outside", { n: fmtInt(page.outside) }));
  setText($("apart"), apart.length ? t("s.apart", { parts: apart.join(" · ") }) : "");
  const rate = $("rate");
  if (page.rate5 == null) setText(rate, "—");
  else {
    // Two parts that each stay on one line: a phone breaks between them, not inside one.
    const text = `${t("s.rate5", { r: fmtRate(page.rate5) })} · ${t("s.rate15", { r: fmtRate(page.rate15) })}`;
    if (rate.dataset.text !== text) {
      rate.dataset.text = text;
      rate.replaceChildren(el("span", "nowrap", t("s.rate5", { r: fmtRate(page.rate5) })), " · ",
        el("span", "nowrap", t("s.rate15", { r: fmtRate(page.rate15) })));
    }
  }
  const pending = page.outbox ? page.outbox.pending().length : 0;
  const p = $("pending");
  p.dataset.n = String(pending);
  setText(p, pending ? t("s.pending", { n: fmtInt(pending) }) : t("s.pendingNone"));
}

function personLine(r) {
  const parts = [];
  if (r.sex) parts.push(t(`s.sex.${r.sex}`));
  if (r.age != null) parts.push(t("s.age", { n: r.age }));
  return parts.join(" · ");
}

function statusLine(r) {
  const s = sampledInfo(r);
  if (!s) return { status: "missing", text: t("s.notSampled") };
  return { status: "sampled", text: t("s.sampledAt", { time: fmtTime(s.at), point: s.point || (s.here ? t("s.sampledHere") : "") }).trim() };
}

function renderFound() {
  const f = page.found;
  $("found").hidden = !f;
  if (!f) return;
  let text = f.text;
  if (f.more) text = `${text} ${t("s.pickMore", { n: CANDIDATES_MAX })}`;
  setText($("found-text"), text);
  const items = f.candidates.slice(0, CANDIDATES_MAX).map((c) => {
    const li = el("li");
    const b = el("button", "candidate");
    b.type = "button";
    b.dataset.testid = "candidate";
    b.dataset.id = String(c.r.id);
    b.append(el("span", "c-name", c.r.name), el("span", "c-id", c.r.id_number), el("span", "c-person", personLine(c.r)));
    b.append(el("span", "c-home", t("s.household", { number: c.r.household })));
    const st = statusLine(c.r);
    const status = el("span", "c-status", st.text);
    status.dataset.status = st.status;
    b.append(status);
    if (!c.inScope) b.append(el("span", "c-outside", t("s.outside")));
    b.addEventListener("click", () => openConfirm(c.r, c.inScope, "server"));
    li.append(b);
    return li;
  });
  (f.actions || []).forEach((a) => {
    const li = el("li");
    const b = el("button", "button-plain offer", a.label);
    b.type = "button";
    b.dataset.testid = a.testid;
    b.addEventListener("click", a.run);
    li.append(b);
    items.push(li);
  });
  $("candidates").replaceChildren.apply($("candidates"), items);
}

/** The tube panel: off (single samples), ask (scan a new tube), open, full, closed, refused. */
function renderTube() {
  const now = tubeNow();
  let state = "off";
  if (page.tubeMode) state = !now || page.askTube ? (now && now.state !== "open" ? now.state : "ask") : now.state;
  const box = $("tube");
  box.dataset.state = state;
  setText($("tube-label"), t(page.tubeMode ? "s.tube.label" : "s.tube.offLabel"));
  const shown = page.tubeMode && now ? now : null;
  $("tube-code").hidden = !shown;
  $("tube-fill").hidden = !shown;
  setText($("tube-code"), shown ? shown.code : "");
  setText($("tube-fill"), shown ? t("s.tube.fill", { n: shown.count, size: shown.size }) : "");
  let say = "";
  if (page.tubeMode) {
    const ask = page.held ? t("s.tube.askHeld", { name: page.held.r ? page.held.r.name : page.held.walkIn.name }) : t("s.tube.ask");
    if (state === "refused") say = `${t("s.tube.refused", { why: (now.problem && now.problem.message) || "" })} ${ask}`;
    else if (state === "full") say = `${t("s.tube.full", { size: now.size })}${page.held ? ` ${ask}` : ""}`;
    else if (state === "closed") say = `${t("s.tube.closed", { n: now.count, size: now.size })}${page.held ? ` ${ask}` : ""}`;
    else if (state === "ask") say = ask;
    else say = [page.tubeNote, t("s.tube.open"), now.pending ? `（${t("s.tube.pending")}）` : ""].filter(Boolean).join(" ");
  }
  const sayNode = $("tube-say");
  sayNode.hidden = !say;
  setText(sayNode, say);
  const names = shown ? shown.members.map((e) => el("li", e.meta.kind === "walk_in" ? "walk-in" : "", e.meta.name)) : [];
  $("tube-names").hidden = !names.length;
  $("tube-names").replaceChildren.apply($("tube-names"), names);
  $("tube-close").hidden = !(page.tubeMode && now && now.state === "open");
  $("tube-off").hidden = !page.tubeMode;
  // The size matters when a tube is opened: hidden while one is being filled.
  document.querySelector(".tube-size").hidden = state === "open";
  const select = $("tube-size");
  if (select.value !== String(page.tubeSize)) select.value = String(page.tubeSize);
  setText($("scan-label"), t(page.tubeMode && state !== "open" ? "s.tube.ask" : "s.inputLabel"));
  $("scan-label").dataset.ask = String(page.tubeMode && state !== "open");
}

function renderQueue() {
  const node = $("queue-now");
  const text = queueLine();
  if (node.dataset.text === text) return;
  node.dataset.text = text;
  // Each part on one line: a phone breaks between "约 20 人在排队" and "约 12 分钟排完", not inside.
  const parts = [];
  text.split(" · ").forEach((part, i) => {
    if (i) parts.push(" · ");
    // A long part (the line that asks for a first report) may wrap: on one line it would
    // widen a 360-px phone's page.
    parts.push(part.length <= 14 ? el("span", "nowrap", part) : part);
  });
  node.replaceChildren.apply(node, parts);
}

function renderWalkIn() {
  const w = page.walkIn;
  if (!w) return;
  const problem = $("wi-problem");
  problem.hidden = !w.problem;
  setText(problem, w.problem || "");
  const line = $("wi-tube");
  const open = page.tubeMode ? tubeUsable() : null;
  line.hidden = !page.tubeMode;
  if (page.tubeMode) {
    setText(line, open ? t("s.confirmTube", { code: open.code, n: open.count + 1, size: open.size })
      : page.tube ? t("s.confirmNoTube", { code: page.tube.code }) : t("s.confirmNoTubeYet"));
    line.dataset.ok = String(!!open);
  }
  $("wi-stays").placeholder = t("s.walkIn.staysPlaceholder");
}

function renderConfirm() {
  const c = page.confirm;
  $("confirm").hidden = !c;
  if (!c) return;
  const r = c.r;
  const st = statusLine(r);
  const box = document.querySelector(".confirm-box");
  box.dataset.status = st.status;
  box.dataset.outside = String(!c.inScope);
  $("confirm").dataset.id = String(r.id);
  $("confirm").dataset.status = st.status;
  $("confirm").dataset.outside = String(!c.inScope);
  setText($("confirm-name"), r.name);
  setText($("confirm-person"), personLine(r));
  setText($("confirm-id"), r.id_number);
  setText($("confirm-home"), [t("s.household", { number: r.household }), r.address || ""].join(" ").trim());
  setText($("confirm-grid"), r.staff_name ? t("s.grid", { grid: r.grid, staff: r.staff_name }) : t("s.gridNoStaff", { grid: r.grid }));
  const status = $("confirm-status");
  status.dataset.status = st.status;
  setText(status, st.text);
  const outside = $("confirm-outside");
  outside.hidden = c.inScope;
  setText(outside, `${t("s.outside")} · ${t("s.outsideHint")}`);
  const source = $("confirm-source");
  source.hidden = c.source !== "kept" || online();
  setText(source, t("s.offlineMatch"));
  const flagged = r.flag === "retest";
  box.dataset.flag = String(flagged);
  $("confirm").dataset.flag = String(flagged);
  const flag = $("confirm-flag");
  flag.hidden = !flagged;
  setText(flag, t("s.flag"));
  $("confirm-single").hidden = !flagged;
  // Into which tube, or why not yet: only for a sample that will be sent.
  const tubeLine = $("confirm-tube");
  const open = page.tubeMode ? tubeUsable() : null;
  const sending = !flagged && st.status !== "sampled";
  tubeLine.hidden = !(sending && page.tubeMode);
  if (sending && page.tubeMode) {
    setText(tubeLine, open ? t("s.confirmTube", { code: open.code, n: open.count + 1, size: open.size })
      : page.tube ? t("s.confirmNoTube", { code: page.tube.code }) : t("s.confirmNoTubeYet"));
    tubeLine.dataset.ok = String(!!open);
  }
  const problem = $("confirm-problem");
  problem.hidden = !page.confirmProblem;
  setText(problem, page.confirmProblem || "");
  const button = $("confirm-record");
  let label = st.status === "sampled" ? "s.repeat" : "s.record";
  if (flagged) label = "s.single.record";
  else if (sending && page.tubeMode && !open) label = "s.recordHeld";
  setText(button, t(label));
  button.dataset.held = String(sending && page.tubeMode && !open);
  button.disabled = (sending || flagged) && !page.point;
}

/** The words of an entry that is not a sample: a tube opened or closed, a queue report. */
function entryText(e) {
  if (e.meta.kind === "tube_open") return t("s.entry.tubeOpened", { code: e.meta.tube, size: e.meta.size });
  if (e.meta.kind === "tube_close") return t("s.entry.tubeClosed", { code: e.meta.tube });
  return t("s.entry.queue", { n: e.meta.waiting });
}

function entryState(e) {
  if (e.state === "pending") return { state: "pending", text: t("s.entry.pending") };
  if (e.state === "refused") return { state: "refused", text: t("s.entry.refused", { why: (e.problem && e.problem.message) || "" }) };
  return { state: "recorded", text: t("s.entry.recorded") };
}

function renderRecent() {
  const url = eventsUrl();
  // Samples and walk-ins; a tube opened or closed, or a queue report, only when refused
  // (the tube panel and the queue line show them otherwise).
  const shown = (e) => e.meta && (e.meta.kind === "sample" || e.meta.kind === "walk_in" || e.state === "refused");
  const mine = page.outbox
    ? page.outbox.list((e) => e.url === url && shown(e) && (page.me == null || e.who === page.me.id))
    : [];
  const rows = mine.map((e) => ({ at: e.device_time, e }))
    .concat(page.repeats.map((x) => ({ at: x.at, x })))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, RECENT_MAX);
  $("recent-none").hidden = rows.length > 0;
  const items = rows.map((row) => {
    const li = el("li", "entry");
    li.dataset.testid = "entry";
    if (row.e) {
      const e = row.e;
      const st = entryState(e);
      li.dataset.state = st.state;
      li.dataset.entry = e.id;
      li.dataset.kind = e.meta.kind;
      if (e.meta.resident_id) li.dataset.resident = e.meta.resident_id;
      if (e.meta.tube) li.dataset.tube = e.meta.tube;
      li.append(el("span", "e-time", fmtTime(e.device_time)));
      if (e.meta.kind === "sample" || e.meta.kind === "walk_in") {
        li.append(el("span", "e-name", e.meta.name), el("span", "e-id", e.meta.id_number));
      } else {
        li.append(el("span", "e-name", entryText(e)));
      }
      if (e.meta.kind === "walk_in") li.append(el("span", "c-walk-in", t("s.walkInTag")));
      if (e.meta.outside) li.append(el("span", "c-outside", t("s.outside")));
      if (e.meta.tube && (e.meta.kind === "sample" || e.meta.kind === "walk_in")) {
        li.append(el("span", "e-tube", `${e.meta.single ? `${t("s.single.tag")} ` : ""}${t("s.entry.tube", { code: e.meta.tube })}`));
      }
      const state = el("span", "e-state", st.text);
      state.dataset.testid = "entry-state";
      li.append(state);
      if (e.state === "refused" && e.problem && e.problem.code === "on_the_roster" && e.problem.resident_id != null) {
        const as = el("button", "button-plain", t("s.entry.asResident"));
        as.type = "button";
        as.dataset.testid = "as-resident";
        as.addEventListener("click", () => asResident(e));
        li.append(as);
      }
      if (e.state === "refused") {
        const ok = el("button", "button-plain", t("s.dismiss"));
        ok.type = "button";
        ok.addEventListener("click", () => page.outbox.dismiss(e.id));
        li.append(ok);
      }
    } else {
      const x = row.x;
      li.dataset.state = "repeat";
      li.dataset.resident = String(x.r.id);
      const before = t("s.sampledAt", { time: fmtTime(x.before.at), point: x.before.point }).trim();
      li.append(el("span", "e-time", fmtTime(x.at)), el("span", "e-name", x.r.name), el("span", "e-id", x.r.id_number));
      if (!x.inScope) li.append(el("span", "c-outside", t("s.outside")));
      const state = el("span", "e-state", `${t("s.entry.repeat")}（${before}）`);
      state.dataset.testid = "entry-state";
      li.append(state);
    }
    return li;
  });
  $("recent").replaceChildren.apply($("recent"), items);
}

function renderKept() {
  const n = page.roster.size;
  const at = page.rosterReadAt ? toDate(new Date(page.rosterReadAt)) : null;
  setText($("kept"), n ? t("s.rosterKept", { n: fmtInt(n), time: fmtTime(at) }) : t("s.rosterNone"));
}

// ---------------------------------------------------------------- start-up

function signedOut() {
  if (page.feed) page.feed.stop();
  page.feed = null;
  page.status = "offline";
  // What is queued stays queued: the same person paired again sends it.
  page.notice = { title: "s.notice.signIn", body: "s.notice.signInBody", vars: {}, link: "pair" };
  render();
}

function wire() {
  wireLanguage({
    relabel: () => {
      $("scan-input").placeholder = t("s.inputPlaceholder");
      $("camera").textContent = t(camera.stream ? "s.cameraStop" : "s.camera");
    },
    redraw: render,
  });
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    onScan($("scan-input").value);
  });
  $("scan-input").addEventListener("input", (event) => {
    const v = event.target.value;
    // A wedge scanner types a whole ID number in a few milliseconds: only people are searched as they type.
    if (ID_PATTERN.test(v.trim()) || /^\d{5,17}$/.test(v.trim())) return;
    // Waiting for a tube's barcode: nothing to search for.
    if (needTube() && tubeLike(v.trim())) return;
    search(v, false);
  });
  $("confirm-record").addEventListener("click", record);
  $("confirm-cancel").addEventListener("click", closeConfirm);
  document.addEventListener("keydown", (event) => {
    if (page.walkIn && event.key === "Escape") {
      event.preventDefault();
      closeWalkIn();
      return;
    }
    if (!page.confirm) return;
    // The single tube's code is typed (scanned) into its own field on the confirm step.
    const inField = event.target && event.target.id === "single-code";
    if (event.key === "Enter") {
      event.preventDefault();
      record();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeConfirm();
    } else if (!inField && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      // The next code arriving from the scanner: this person was not confirmed; the keys
      // go to the input, where the new scan is read.
      closeConfirm();
    }
  });
  $("camera").addEventListener("click", () => (camera.stream ? stopCamera() : startCamera()));
  $("tube-new").addEventListener("click", askForTube);
  $("tube-close").addEventListener("click", () => {
    closeTube();
    $("scan-input").focus();
  });
  $("tube-off").addEventListener("click", leaveTubes);
  $("tube-size").addEventListener("change", (event) => {
    page.tubeSize = Number(event.target.value);
    page.sizeChosen = true;
    keepTube();
    schedule();
  });
  $("walkin-form").addEventListener("submit", submitWalkIn);
  $("wi-cancel").addEventListener("click", closeWalkIn);
  document.querySelectorAll("[data-waiting]").forEach((b) => {
    b.addEventListener("click", () => reportQueue(Number(b.dataset.waiting)));
  });
  $("queue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const v = $("queue-custom").value.trim();
    reportQueue(v === "" ? NaN : Number(v));
  });
  $("reload").addEventListener("click", () => location.reload());
  self.addEventListener("online", () => {
    if (page.action && !page.notice) refreshRoster().catch(() => {});
  });
  setInterval(() => {
    if (page.action && !page.notice && online()) refreshRoster().catch(() => {});
  }, ROSTER_REFRESH_MS);
  // The retry countdown and "n minutes ago" move.
  setInterval(schedule, 30000);
}

function start() {
  wire();
  registerShell("/scan", () => {
    if (page.confirm || $("scan-input").value) $("new-version").hidden = false;
    else location.reload();
  });
  const token = startSession(signedOut);
  if (!token) {
    page.notice = { title: "s.notice.signIn", body: "s.notice.signInBody", vars: {}, link: "pair" };
    render();
    return;
  }
  page.outbox = new Outbox({
    who: null, token: sessionToken, lang: getLang, onSignedOut: schedule,
    onChange: () => {
      schedule();
      if (page.callUps) page.callUps.show();
    },
  });
  page.callUps = new CallUpOverlay({ outbox: page.outbox, eventsUrl, me: () => page.me });
  page.outbox.opened = page.outbox.open();
  render();
  $("scan-input").focus();
  load();
}

start();
