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
// Layout of this file: state · the kept copy · loading · the live feed · reading a scan ·
// the confirm step · recording · sound · the camera · rendering · start-up.
// Written for old Android WebViews: no private fields, no `??=`, nothing after 2020.
// All text from the server goes in through textContent, never innerHTML.

import { fmtInt, fmtRate, fmtTime, getLang, roleLabel, t, toDate } from "./i18n.js";
import "./scan-words.js";
import { $, api, el, problemOf, registerShell, sessionToken, startSession, wireLanguage } from "./session.js";
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
const ID_PATTERN = /^\d{17}[\dXx]$/;

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
  feed: null,
  outbox: null,
};

// ---------------------------------------------------------------- ID numbers

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/** Whether an 18-character number's check digit is right (GB 11643), as the server checks it. */
function checkDigitOk(id) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * WEIGHTS[i];
  return CHECK[sum % 11] === id[17];
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
  });
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
  page.action = action;
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
}

/** The point's pace from a snapshot's or delta's `pace.points` (a delta may leave it out: kept). */
function takePace(pace) {
  if (!pace) return;
  if (pace.phase) page.phase = pace.phase;
  const pp = page.point && pace.points ? pace.points[String(page.point.id)] : null;
  if (pp) {
    page.rate5 = pp.rate_5;
    page.rate15 = pp.rate_15;
  }
}

/** An operator's live view is their point (src/auth/scope.rs): its count, name and pace. */
function onLive(msg) {
  if (msg.type === "snapshot") {
    page.liveSeq = msg.seq;
    const mine = page.point ? (msg.points || []).find((p) => p.id === page.point.id) : null;
    page.count = mine ? mine.count : 0;
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
  if (by && page.count != null) page.count += by.count || 0;
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
  if (!text || !page.action) return;
  if (ID_PATTERN.test(text)) return scanIdNumber(text.toUpperCase());
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

/** An ID card: the kept copy confirms at once; the server, when it answers, has the last word. */
async function scanIdNumber(id) {
  if (!checkDigitOk(id)) {
    showFound({ text: t("s.badId"), candidates: [], query: id });
    beep("bad");
    return;
  }
  const asked = ++page.asked;
  const kept = keptById(id);
  if (kept.length === 1) openConfirm(kept[0], true, "kept");
  else if (kept.length > 1) showFound({ text: t("s.pick", { n: kept.length }), candidates: kept.map((r) => ({ r, inScope: true })), query: id });
  if (!online()) {
    if (!kept.length) {
      showFound({ text: t("s.noMatchOffline", { q: `${id.slice(0, 4)}…${id.slice(-4)}` }), candidates: [], query: id });
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
    showFound({ text: t("s.notOnRoster"), candidates: [], query: id });
    beep("bad");
    return;
  }
  remember(found.r);
  if (page.confirm && String(page.confirm.r.id) === String(found.r.id)) {
    // The same person, now with what the server knows (sampled meanwhile elsewhere?).
    page.confirm = { r: found.r, inScope: found.inScope, source: "server" };
    renderConfirm();
  } else if (!page.confirm || kept.length) {
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
    if (problem.code === "unknown_code") return cardProblem("s.unknownCode", code);
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
  const local = searchKept(q);
  if (submitted && local.length === 1 && !online()) return openConfirm(local[0].r, true, "kept");
  showFound({ text: local.length ? t("s.pick", { n: local.length }) : t(online() ? "s.searching" : "s.noMatchOffline", { q }), candidates: local, query: q });
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
  page.found = null;
  renderConfirm();
  schedule();
  beep(sampledInfo(r) ? "repeat" : "seen");
  $("confirm-record").focus();
}

function closeConfirm() {
  page.confirm = null;
  $("confirm").hidden = true;
  $("scan-input").focus();
  schedule();
}

// ---------------------------------------------------------------- recording

/**
 * Enter on the confirm step. A resident not yet sampled: the sample goes into the outbox,
 * its id and device time made now. One already sampled in this action: nothing is sent
 * (a second sample would be a second count at this point), and the list says so.
 */
function record() {
  const c = page.confirm;
  if (!c) return;
  const r = c.r;
  const before = sampledInfo(r);
  if (before) {
    page.repeats.push({ at: new Date().toISOString(), r, inScope: c.inScope, before });
    if (page.repeats.length > RECENT_MAX) page.repeats.shift();
    closeConfirm();
    return;
  }
  if (!page.point) return;
  page.outbox.put(
    eventsUrl(),
    { type: "resident_sampled", resident_id: Number(r.id), point_id: page.point.id },
    {
      kind: "sample",
      resident_id: String(r.id),
      name: r.name,
      id_number: r.id_number,
      household: r.household,
      outside: !c.inScope,
    },
  );
  beep("ok");
  closeConfirm();
}

// What the lead's next events add here, each through the same outbox and confirm step:
// - tube mode: scan a tube's barcode (`tube_opened {tube, point_id, size}`), then residents
//   into it (`resident_sampled` with `tube`), closing by hand (`tube_closed {tube}`) or at
//   its size — a function beside record() that adds `tube` to the sample;
// - a walk-in not on the roster (`walk_in_sampled {walk_in: {name, id_number, phone,
//   stays_at}, point_id}`): offered where scanIdNumber() says s.notOnRoster;
// - "about N waiting" (`queue_reported {point_id, waiting}`): beside the stats.
// The server refuses these types until that branch is merged, so none is offered yet.

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
    if (!page.confirm) {
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

let frame = 0;
let frameTimer = 0;

function schedule() {
  if (frame) return;
  frame = requestAnimationFrame(render);
  frameTimer = setTimeout(render, 250);
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function render() {
  cancelAnimationFrame(frame);
  clearTimeout(frameTimer);
  frame = 0;
  frameTimer = 0;
  document.title = t("s.pageTitle");
  renderNotice();
  renderBar();
  const working = !page.notice && !!page.action;
  $("work").hidden = !working;
  if (!working) return;
  renderStats();
  renderFound();
  renderRecent();
  renderKept();
  if (page.confirm) renderConfirm();
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
  $("candidates").replaceChildren.apply($("candidates"), items);
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
  const button = $("confirm-record");
  setText(button, t(st.status === "sampled" ? "s.repeat" : "s.record"));
  button.disabled = st.status !== "sampled" && !page.point;
}

function entryState(e) {
  if (e.state === "pending") return { state: "pending", text: t("s.entry.pending") };
  if (e.state === "refused") return { state: "refused", text: t("s.entry.refused", { why: (e.problem && e.problem.message) || "" }) };
  return { state: "recorded", text: t("s.entry.recorded") };
}

function renderRecent() {
  const url = eventsUrl();
  const mine = page.outbox
    ? page.outbox.list((e) => e.url === url && e.meta && e.meta.kind === "sample" && (page.me == null || e.who === page.me.id))
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
      li.dataset.resident = e.meta.resident_id;
      li.append(el("span", "e-time", fmtTime(e.device_time)), el("span", "e-name", e.meta.name), el("span", "e-id", e.meta.id_number));
      if (e.meta.outside) li.append(el("span", "c-outside", t("s.outside")));
      const state = el("span", "e-state", st.text);
      state.dataset.testid = "entry-state";
      li.append(state);
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
    search(v, false);
  });
  $("confirm-record").addEventListener("click", record);
  $("confirm-cancel").addEventListener("click", closeConfirm);
  document.addEventListener("keydown", (event) => {
    if (!page.confirm) return;
    if (event.key === "Enter") {
      event.preventDefault();
      record();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeConfirm();
    } else if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      // The next code arriving from the scanner: this person was not confirmed; the keys
      // go to the input, where the new scan is read.
      closeConfirm();
    }
  });
  $("camera").addEventListener("click", () => (camera.stream ? stopCamera() : startCamera()));
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
  page.outbox = new Outbox({ who: null, token: sessionToken, lang: getLang, onChange: schedule, onSignedOut: schedule });
  page.outbox.opened = page.outbox.open();
  render();
  $("scan-input").focus();
  load();
}

start();
