// The command centre: one live screen for the chief and the village HQ during an
// action. It signs in with the token from the chief's link, picks an action, follows
// it over one WebSocket (a snapshot, then deltas whose counts add up) and draws the
// totals, the sampling points, the area tree, the chart and who has residents missing.
//
// Layout of this file: the live state (snapshot + deltas) · the live feed (WebSocket
// with reconnect) · rendering (one pass per animation frame) · start-up. The token, the
// API and the language buttons are session.js's, shared with the other pages.
// All text from the server goes in through textContent, never innerHTML.

import {
  fmtAgo, fmtClock, fmtDateTime, fmtInt, fmtPercent, fmtRate, fmtTime, getLang, roleLabel, t, toDate,
} from "./i18n.js";
import { mountHeader, showUser } from "./header.js";
import { $, MANAGER_ROLES, api, el, problemOf, sessionToken, startSession, wireLanguage } from "./session.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 5000;
/** The chart is the costliest thing to draw and nobody reads it faster than this. */
const CHART_INTERVAL_MS = 1000;
/** Render by timer when no animation frame has come this long after new data. */
const FRAME_FALLBACK_MS = 250;
/** A point that has scanned nobody for this long (state clock) while open is flagged. */
const IDLE_POINT_MINUTES = 10;
/**
 * The tree opens level by level while it shows no more rows than this: the demo village
 * (1 + 23 sub-grids + 76 grids) opens to its sub-grids, a grid head's part to its grids.
 * A wall screen nobody scrolls has room for about this many; a click opens the rest.
 */
const TREE_ROWS_OPEN = 30;

/** Everything the page knows; render functions read it, message handlers write it. */
const page = {
  me: null,
  actions: [],
  actionId: null,
  /** The action's state at position `state.seq`, or null before the first snapshot. */
  state: null,
  /** connecting | open | reconnecting | offline | idle (nothing to follow) */
  status: "connecting",
  /** A message shown instead of the board: { title, body, vars } of i18n keys. */
  notice: { title: "notice.loading", body: null, vars: {} },
  feed: null,
};

// ---------------------------------------------------------------- the live state

const TOTAL_FIELDS = ["target", "sampled", "exempt", "missing", "scans"];

/** A figure is shown only when the server sent one: null or absent means "not for you". */
const known = (x) => typeof x === "number" && Number.isFinite(x);

/**
 * The page's own copy of a snapshot, keyed for cheap delta application. A figure the
 * snapshot leaves out (a scoped view's scan count, rates, ETA or curve) stays left out,
 * and deltas do not make it up from zero.
 */
function stateFromSnapshot(s) {
  const nodeList = s.nodes ?? [];
  const nodes = new Map(nodeList.map((n) => [n.id, { ...n }]));
  const tree = buildTree(nodeList, nodes);
  return {
    seq: s.seq,
    action: s.action,
    totals: { ...s.totals },
    pace: { ...s.pace, points: { ...(s.pace?.points ?? {}) } },
    nodes,
    tree,
    levelsShown: levelsShown(tree),
    points: new Map((s.points ?? []).map((p) => [p.id, { ...p }])),
    staff: new Map((s.staff ?? []).map((m) => [m.id, { ...m }])),
    timeline: Array.isArray(s.timeline) ? new Map(s.timeline.map(([minute, count]) => [minute, count])) : null,
  };
}

/** How many levels the tree shows by default: as many as fit in TREE_ROWS_OPEN rows, at least two. */
function levelsShown(tree) {
  const atDepth = [];
  for (const d of tree.depth.values()) atDepth[d] = (atDepth[d] ?? 0) + 1;
  let shown = atDepth[0] ?? 0;
  let levels = 1;
  // The top opens whatever its size: a root alone says little.
  while (levels < atDepth.length && (levels === 1 || shown + atDepth[levels] <= TREE_ROWS_OPEN)) {
    shown += atDepth[levels];
    levels += 1;
  }
  return levels;
}

/**
 * Children and depth from parent links. A node whose parent is null or not in the list
 * (outside the action's scope) is a root. Walking only from roots means a bad cycle in
 * the data leaves nodes out instead of looping forever.
 */
function buildTree(list, byId) {
  const roots = [];
  const children = new Map();
  for (const n of list) {
    if (n.parent != null && byId.has(n.parent) && n.parent !== n.id) {
      if (!children.has(n.parent)) children.set(n.parent, []);
      children.get(n.parent).push(n.id);
    } else {
      roots.push(n.id);
    }
  }
  const depth = new Map();
  const walk = (id, d) => {
    depth.set(id, d);
    for (const child of children.get(id) ?? []) walk(child, d + 1);
  };
  for (const root of roots) walk(root, 0);
  return { roots, children, depth };
}

/**
 * Adds a delta's counts to the state and takes its pace (a point the delta leaves out
 * of `pace.points` kept its pace, and a count left out did not move). Returns false, changing
 * nothing, when the delta does not start where the state is: the caller must resume
 * from `state.seq` rather than add counts twice or miss some.
 */
function applyDelta(state, d) {
  if (d.from !== state.seq) return false;
  for (const field of TOTAL_FIELDS) {
    if (known(state.totals[field])) state.totals[field] += d.totals?.[field] ?? 0;
  }
  state.pace = { ...d.pace, points: { ...state.pace.points, ...(d.pace?.points ?? {}) } };
  for (const [id, change] of Object.entries(d.nodes ?? {})) {
    // Nodes are fixed for an action; one we never saw has no place in the tree.
    const node = state.nodes.get(Number(id));
    if (!node) continue;
    node.sampled += change.sampled ?? 0;
    node.exempt += change.exempt ?? 0;
  }
  for (const [id, by] of Object.entries(d.points ?? {})) {
    const key = Number(id);
    if (!state.points.has(key)) state.points.set(key, { id: key, name: `#${key}`, place: "", count: 0, at_home: 0 });
    state.points.get(key).count += by.count ?? 0;
    state.points.get(key).at_home += by.at_home ?? 0;
  }
  for (const [id, by] of Object.entries(d.staff ?? {})) {
    const key = Number(id);
    if (!state.staff.has(key)) state.staff.set(key, { id: key, name: `#${key}`, role: "", missing: 0 });
    state.staff.get(key).missing += by;
  }
  // A curve the snapshot did not carry is not started from a delta's few minutes.
  for (const [minute, by] of Object.entries(state.timeline ? d.timeline ?? {} : {})) {
    const key = Number(minute);
    state.timeline.set(key, (state.timeline.get(key) ?? 0) + by);
  }
  state.seq = d.to;
  return true;
}

/** (sampled + exempt) / target: exempt residents are accounted for, so they count as done. */
function completion(c) {
  return c.target > 0 ? (c.sampled + c.exempt) / c.target : 1;
}

function completionLevel(ratio) {
  if (ratio >= 0.9) return "good";
  if (ratio >= 0.5) return "warn";
  return "bad";
}

// ---------------------------------------------------------------- the live feed

/**
 * One WebSocket to an action's live stream that keeps itself up: after a drop it
 * resumes from the last position it holds (`after=SEQ`), backing off 0.5 s, 1 s, 2 s …
 * 5 s; it waits while the browser says it is offline and tries again at once when it
 * comes back.
 */
class LiveFeed {
  #ws = null;
  #timer = 0;
  #attempt = 0;
  #stopped = false;

  /**
   * handlers: seq() → position held or null; message(msg) → false when out of step;
   * status(s); refused() → called when a connection closed before saying anything,
   * which is what a revoked token looks like from a browser.
   */
  constructor(actionId, handlers) {
    this.actionId = actionId;
    this.handlers = handlers;
  }

  #url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ token: sessionToken() });
    const seq = this.handlers.seq();
    if (seq != null) query.set("after", String(seq));
    return `${scheme}//${location.host}/api/actions/${encodeURIComponent(this.actionId)}/live?${query}`;
  }

  connect() {
    clearTimeout(this.#timer);
    if (this.#stopped || this.#ws) return;
    if (!navigator.onLine) {
      this.handlers.status("offline");
      return;
    }
    this.handlers.status(this.handlers.seq() == null && this.#attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.#url());
    let heard = false;
    ws.onmessage = (event) => {
      if (this.#ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return; // Not ours to understand; the next message carries whole state anyway.
      }
      heard = true;
      this.#attempt = 0;
      if (!this.handlers.message(msg)) this.#resync(ws);
    };
    // An error is always followed by a close, so the close handler does the retrying.
    ws.onclose = () => {
      if (this.#ws !== ws) return; // Closed on purpose and already replaced.
      this.#ws = null;
      if (!heard) this.handlers.refused();
      this.#retryLater();
    };
    this.#ws = ws;
  }

  /** A delta did not fit what we hold: ask again from our position straight away. */
  #resync(ws) {
    this.#ws = null;
    ws.close();
    this.connect();
  }

  #retryLater() {
    if (this.#stopped) return;
    if (!navigator.onLine) {
      this.handlers.status("offline");
      return;
    }
    this.handlers.status("reconnecting");
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** this.#attempt, BACKOFF_MAX_MS);
    this.#attempt += 1;
    this.#timer = setTimeout(() => this.connect(), delay);
  }

  #drop() {
    clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close();
  }

  offline() {
    this.#drop();
    if (!this.#stopped) this.handlers.status("offline");
  }

  online() {
    this.#attempt = 0;
    this.connect();
  }

  stop() {
    this.#stopped = true;
    this.#drop();
  }
}

function onLiveMessage(msg) {
  if (msg.type === "snapshot") {
    page.state = stateFromSnapshot(msg);
    resetViews();
  } else if (msg.type === "delta") {
    if (!page.state || !applyDelta(page.state, msg)) return false;
  } else {
    return true; // A message type from a newer server: ignore it.
  }
  page.status = "open";
  page.notice = null;
  invalidate();
  return true;
}

function setStatus(status) {
  page.status = status;
  schedule();
}

/**
 * A connection closed before any message: if it is the token, say so instead of
 * retrying (a 401 calls signedOut() on its own); anything else, the feed retries.
 */
async function checkStillSignedIn() {
  try {
    await api("GET", "/api/me");
  } catch {
    // Not signed out: the feed's own retry goes on.
  }
}

/** The session's answer to a 401, and the page with no token at all. */
function signedOut() {
  showUser(null);
  page.feed?.stop();
  page.feed = null;
  page.state = null;
  page.status = "idle";
  page.notice = { title: "notice.authTitle", body: "notice.authBody", vars: {} };
  schedule();
}

function follow(actionId) {
  page.feed?.stop();
  page.actionId = actionId;
  page.state = null;
  page.status = "connecting";
  page.notice = { title: "notice.loading", body: null, vars: {} };
  resetViews();
  page.feed = new LiveFeed(actionId, {
    seq: () => page.state?.seq ?? null,
    message: onLiveMessage,
    status: setStatus,
    refused: checkStillSignedIn,
  });
  page.feed.connect();
  schedule();
}

// ---------------------------------------------------------------- rendering

let frame = 0;
let frameFallback = 0;
let chartDirty = false;
let chartDrawnAt = -Infinity;
let chartTimer = 0;

/**
 * Up to ten messages a second arrive; whatever came in is drawn once, next frame. A
 * timer backs the frame up: browsers stop animation frames in background tabs and some
 * headless runs, and the figures (and anything reading them) must still move there.
 */
function schedule() {
  if (frame) return;
  frame = requestAnimationFrame(flush);
  frameFallback = setTimeout(flush, FRAME_FALLBACK_MS);
}

/** New data: everything, the chart included, needs drawing. */
function invalidate() {
  chartDirty = true;
  schedule();
}

function flush() {
  cancelAnimationFrame(frame);
  clearTimeout(frameFallback);
  frame = 0;
  renderConnection();
  renderNotice();
  renderHeader();
  if (!page.state) return;
  const shows = figuresShown(page.state);
  $("board").dataset.view = shows.pointView ? "point" : "area";
  $("kpis").hidden = shows.pointView;
  $("point-view").hidden = !shows.pointView;
  $("panel-tree").hidden = shows.pointView;
  $("panel-staff").hidden = shows.pointView;
  $("panel-chart").hidden = !shows.curve;
  if (shows.pointView) renderPointView(page.state);
  else renderKpis(page.state, shows);
  renderPoints(page.state, shows);
  if (!shows.pointView) {
    renderStaff(page.state);
    renderTree(page.state);
  }
  if (shows.curve) maybeDrawChart();
}

/**
 * What this view is about and which of its figures are true. An operator's view (their
 * point, no area) is about their point, not the completion of an empty area. A figure
 * the snapshot leaves out (null or absent) is not shown, rather than shown as 0. A
 * server before per-scope figures sent a part's view with an empty curve, 0 scans and
 * 0.0 rates beside real samples: a curve that is empty while samples are counted is
 * that, and the rates, the ETA and the scan count, which come from the same samples,
 * are left out with it instead of shown as zeros that are not true.
 */
function figuresShown(state) {
  const { totals, pace } = state;
  const pointView = state.nodes.size === 0 && state.points.size > 0;
  let samples = totals.sampled ?? 0;
  if (pointView) samples = [...state.points.values()].reduce((n, p) => n + p.count, 0);
  let curveTotal = 0;
  for (const n of state.timeline?.values() ?? []) curveTotal += n;
  const withheld = state.timeline != null && curveTotal === 0 && samples > 0;
  const rates = !withheld && (known(pace.rate_5) || known(pace.rate_15));
  return {
    pointView,
    curve: state.timeline != null && !withheld,
    // Every sampled resident was scanned at least once: fewer scans is not this scope's count.
    scans: !withheld && known(totals.scans) && totals.scans >= (totals.sampled ?? 0),
    rates,
    // An estimate while there is something left to do; "—" when the rate gives none.
    eta: !withheld && pace.phase === "open" && (totals.missing ?? 0) > 0 && (pace.eta != null || rates),
    // A part of the village that has no point of its own is not told "no points".
    emptyPoints: MANAGER_ROLES.includes(page.me?.role),
  };
}

/** Writes text only when it changed, so an unchanged cell costs no layout. */
function setText(target, text) {
  if (target.textContent !== text) target.textContent = text;
}

/** Puts `els` into `parent` in this order, moving only what is out of place. */
function syncChildren(parent, els) {
  els.forEach((el, i) => {
    const here = parent.children[i] ?? null;
    if (here !== el) parent.insertBefore(el, here);
  });
  while (parent.children.length > els.length) parent.lastElementChild.remove();
}

/** Integers for the test contract: plain digits, no separators. */
function plainInt(n) {
  return String(Math.trunc(n));
}

// Per-item DOM kept between frames, keyed by id, so a delta updates text in place.
const pointRows = new Map();
const staffCards = new Map();
const treeViews = new Map();
/** Tree nodes the user opened or closed; the rest follow state.levelsShown. Kept across snapshots. */
const expanded = new Map();

/** A snapshot may describe a different set of things: build their DOM afresh. */
function resetViews() {
  pointRows.clear();
  staffCards.clear();
  treeViews.clear();
  $("points-body").replaceChildren();
  $("staff-list").replaceChildren();
  $("tree").replaceChildren();
  chartDirty = true;
}

function renderConnection() {
  const conn = $("connection");
  conn.dataset.state = page.status === "open" ? "open" : "closed";
  conn.dataset.detail = page.status;
  // Nothing to follow (signed out, no action): no "not connected" pill beside the notice.
  conn.hidden = page.status === "idle";
  setText(conn, t(`conn.${page.status}`));
  // Figures on screen while disconnected may be old: say so by dimming them.
  document.body.classList.toggle("stale", page.status !== "open");
}

function renderNotice() {
  const showBoard = page.state != null && page.notice == null;
  $("board").hidden = !showBoard;
  $("notice").hidden = showBoard;
  if (showBoard || !page.notice) return;
  const { title, body, vars } = page.notice;
  setText($("notice-title"), t(title, vars));
  setText($("notice-body"), body ? t(body, vars) : "");
  // Without a session the page says how to get one, and links to both ways in.
  $("notice-signin").hidden = title !== "notice.authTitle";
}

function renderHeader() {
  const state = page.state;
  const name = state?.action.name ?? page.actions.find((a) => a.id === page.actionId)?.name ?? t("app.title");
  setText($("action-name"), name);
  document.title = `${name} · ${t("app.title")}`;

  const phaseEl = $("phase");
  const phase = state?.pace.phase;
  phaseEl.hidden = !phase;
  if (phase) {
    setText(phaseEl, t(`phase.${phase}`));
    phaseEl.dataset.phase = phase;
  }
  const pace = state?.pace ?? {};
  document.querySelector(".top-meta").hidden = !state;
  setTime($("opened-at"), pace.opened_at, fmtTime);
  $("closed-at-box").hidden = !pace.closed_at;
  setTime($("closed-at"), pace.closed_at, fmtTime);
  setTime($("clock"), pace.clock, fmtClock);

  renderActionPicker();
}

function setTime(target, value, format) {
  setText(target, format(value));
  target.title = fmtDateTime(value);
}

/** Shown only when there is a choice; the choice goes into `?action=` so a reload keeps it. */
function renderActionPicker() {
  const picker = $("action-picker");
  picker.hidden = page.actions.length < 2;
  if (picker.hidden) return;
  const select = $("action-select");
  const options = page.actions.map((a) => {
    const option = el("option", null, `${a.name} · ${t(`phase.${a.phase}`)}`);
    option.value = String(a.id);
    return option;
  });
  // Rebuilding options while the list is open would close it: only when they changed.
  const labels = options.map((o) => o.value + o.textContent).join("\n");
  if (select.dataset.labels !== labels) {
    select.replaceChildren(...options);
    select.dataset.labels = labels;
  }
  select.value = String(page.actionId);
}

function renderKpis(state, shows) {
  const { totals, pace } = state;
  setText($("sampled"), plainInt(totals.sampled));
  setText($("target"), plainInt(totals.target));
  setText($("exempt"), plainInt(totals.exempt));
  setText($("missing"), plainInt(totals.missing));
  $("scans").hidden = !shows.scans;
  setText($("scans"), shows.scans ? t("kpi.scans", { n: fmtInt(totals.scans) }) : "");

  const ratio = completion(totals);
  setText($("completion"), fmtPercent(ratio));
  const bar = $("completion-bar");
  bar.style.width = `${Math.min(100, ratio * 100)}%`;
  bar.dataset.level = completionLevel(ratio);

  $("kpi-rate").hidden = !shows.rates;
  setText($("rate-5"), known(pace.rate_5) ? fmtRate(pace.rate_5) : "—");
  setText($("rate-15"), known(pace.rate_15) ? fmtRate(pace.rate_15) : "—");

  $("kpi-eta").hidden = !shows.eta;
  setText($("eta"), fmtTime(pace.eta));
  $("eta").title = fmtDateTime(pace.eta);
  const eta = toDate(pace.eta);
  const clock = toDate(pace.clock);
  const minutesLeft = eta && clock ? Math.max(0, Math.ceil((eta - clock) / 60000)) : null;
  setText($("eta-in"), minutesLeft != null ? t("kpi.etaIn", { n: fmtInt(minutesLeft) }) : t("kpi.etaNone"));
}

/** An operator's view: their point's samples, rate and last scan, big. */
function renderPointView(state) {
  const [point] = state.points.values();
  const pp = state.pace.points?.[point.id];
  setText($("pv-name"), point.name);
  setText($("pv-place"), point.place ?? "");
  setText($("pv-count"), plainInt(point.count));
  setText($("pv-at-home"), point.at_home > 0 ? t("point.atHome", { n: fmtInt(point.at_home) }) : "");
  const rates = known(pp?.rate_5) || known(pp?.rate_15);
  $("pv-rate").hidden = !rates;
  setText($("pv-rate-5"), known(pp?.rate_5) ? fmtRate(pp.rate_5) : "—");
  setText($("pv-rate-15"), known(pp?.rate_15) ? fmtRate(pp.rate_15) : "—");
  setTime($("pv-last"), pp?.last_scan_at, fmtTime);
  setText($("pv-last-ago"), pp?.last_scan_at ? fmtAgo(pp.last_scan_at, state.pace.clock) : t("point.noScan"));
}

function renderPoints(state, shows) {
  const rows = [...state.points.values()].map((p) => {
    const row = pointRows.get(p.id) ?? makePointRow(p.id);
    updatePointRow(row, p, state.pace);
    return row.tr;
  });
  syncChildren($("points-body"), rows);
  $("points-empty").hidden = rows.length > 0;
  // The operator's one point is the point panel already; a part with none has nothing to list.
  $("panel-points").hidden = shows.pointView ? rows.length < 2 : rows.length === 0 && !shows.emptyPoints;
}

function makePointRow(id) {
  const tr = el("tr");
  tr.dataset.pointId = String(id);
  const cells = {
    name: el("td", "point-name"),
    place: el("td", "muted"),
    count: el("td", "num big"),
    rate5: el("td", "num"),
    rate15: el("td", "num"),
    last: el("td", "num"),
    atHome: el("td", "num"),
  };
  cells.count.dataset.testid = "point-count";
  // On a phone each row is a card and each figure says what it is (style.css).
  labelPointCells(cells);
  cells.lastTime = el("span");
  cells.lastAgo = el("small", "muted");
  cells.last.append(cells.lastTime, cells.lastAgo);
  tr.append(cells.name, cells.place, cells.count, cells.rate5, cells.rate15, cells.last, cells.atHome);
  const row = { tr, cells };
  pointRows.set(id, row);
  return row;
}

/** The labels a point's figures carry on a phone, by i18n key. */
const POINT_LABELS = { "points.count": "count", "points.rate5": "rate5", "points.rate15": "rate15", "points.last": "last", "points.atHome": "atHome" };

function labelPointCells(cells) {
  for (const [key, cell] of Object.entries(POINT_LABELS)) cells[cell].dataset.label = t(key);
  cells.rate5.dataset.unit = t("kpi.perMin");
  cells.rate15.dataset.unit = t("kpi.perMin");
}

function updatePointRow({ tr, cells }, p, pace) {
  // A point that has scanned nobody yet has no pace entry: nothing to rate, nothing scanned.
  const pp = pace.points?.[p.id] ?? { rate_5: 0, rate_15: 0, last_scan_at: null };
  setText(cells.name, p.name);
  setText(cells.place, p.place);
  setText(cells.count, plainInt(p.count));
  setText(cells.rate5, known(pp.rate_5) ? fmtRate(pp.rate_5) : "—");
  setText(cells.rate15, known(pp.rate_15) ? fmtRate(pp.rate_15) : "—");
  setText(cells.lastTime, fmtTime(pp.last_scan_at));
  setText(cells.lastAgo, pp.last_scan_at ? ` ${fmtAgo(pp.last_scan_at, pace.clock)}` : "");
  cells.last.title = fmtDateTime(pp.last_scan_at);
  setText(cells.atHome, fmtInt(p.at_home));
  // An open point that has gone quiet may have a queue problem or no operator: flag it.
  tr.classList.toggle("idle", pace.phase === "open" && isIdle(pp.last_scan_at, pace.clock));
}

function isIdle(lastScan, clock) {
  const now = toDate(clock);
  if (!now) return false;
  const last = toDate(lastScan);
  return !last || now - last >= IDLE_POINT_MINUTES * 60000;
}

function renderStaff(state) {
  const collator = new Intl.Collator(getLang(), { numeric: true });
  const lagging = [...state.staff.values()]
    .filter((m) => m.missing > 0)
    .sort((a, b) => b.missing - a.missing || collator.compare(a.name, b.name) || a.id - b.id);
  const cards = lagging.map((m) => {
    const card = staffCards.get(m.id) ?? makeStaffCard(m.id);
    setText(card.name, m.name);
    // The list is of grid members: only someone else (a grid head) says what they are.
    setText(card.role, m.role && m.role !== "grid_member" ? roleLabel(m.role) : "");
    setText(card.missing, plainInt(m.missing));
    return card.li;
  });
  syncChildren($("staff-list"), cards);
  $("staff-done").hidden = cards.length > 0;
  fitStaff(lagging);
}

/**
 * On a wall screen the list has the height that is left, and nobody scrolls it: the
 * cards that do not fit are left out and one line says how many people and residents
 * they are, so nothing is hidden without a word. (On a phone or a laptop the panel grows
 * with its cards and this changes nothing.)
 */
function fitStaff(lagging) {
  const list = $("staff-list");
  const more = $("staff-more");
  for (const li of list.children) li.hidden = false;
  more.hidden = true;
  if (list.scrollHeight <= list.clientHeight + 1) return;
  // Twice: the line's own height (one line or two) can take another row of cards.
  for (let round = 0; round < 2; round += 1) {
    more.hidden = false;
    const bottom = list.getBoundingClientRect().bottom;
    let shown = 0;
    for (const li of list.children) {
      if (li.hidden) continue;
      if (li.getBoundingClientRect().bottom > bottom + 0.5) li.hidden = true;
      else shown += 1;
    }
    const rest = lagging.slice(shown);
    setText(more, t("staff.more", { n: fmtInt(rest.length), missing: fmtInt(rest.reduce((sum, m) => sum + m.missing, 0)) }));
  }
}

function makeStaffCard(id) {
  const li = el("li", "staff-card");
  li.dataset.staffId = String(id);
  const who = el("div", "staff-who");
  const name = el("span", "staff-name");
  const role = el("small", "muted");
  who.append(name, role);
  const missing = el("span", "staff-missing");
  missing.dataset.testid = "staff-missing";
  li.append(who, missing);
  const card = { li, name, role, missing };
  staffCards.set(id, card);
  return card;
}

// The area tree. Rows are flat in their columns (indentation is inside the name cell)
// so that the bars of every level line up and lagging grids can be compared at a glance.

function renderTree(state) {
  renderBranch($("tree"), state.tree.roots, state);
  $("tree-empty").hidden = state.tree.roots.length > 0;
}

function renderBranch(ul, ids, state) {
  const collator = new Intl.Collator(getLang(), { numeric: true });
  const nodes = ids.map((id) => state.nodes.get(id));
  // Lowest completion first, so the grids that need a phone call are on top.
  nodes.sort((a, b) => completion(a) - completion(b) || collator.compare(a.name, b.name) || a.id - b.id);
  const items = nodes.map((node) => {
    const view = treeViews.get(node.id) ?? makeNodeView(node.id);
    updateNodeView(view, node, state);
    return view.li;
  });
  syncChildren(ul, items);
}

function isExpanded(id, state) {
  return expanded.get(id) ?? (state.tree.depth.get(id) ?? 0) + 1 < state.levelsShown;
}

function makeNodeView(id) {
  const li = el("li");
  li.setAttribute("role", "treeitem");
  li.dataset.nodeId = String(id);
  const row = el("div", "node");
  const toggle = el("button", "toggle");
  toggle.type = "button";
  toggle.addEventListener("click", () => {
    expanded.set(id, !isExpanded(id, page.state));
    schedule();
  });
  const name = el("span", "node-name");
  const label = el("span", "node-label");
  const level = el("small", "node-level");
  name.append(toggle, label, level);
  const counts = el("span", "num node-counts");
  const sampled = el("span", null);
  sampled.dataset.testid = "node-sampled";
  const target = el("span", "muted");
  counts.append(sampled, target);
  const exempt = el("span", "num muted node-exempt");
  const bar = el("div", "bar");
  const fill = el("div", "bar-fill");
  bar.append(fill);
  const pct = el("span", "num node-pct");
  row.append(name, counts, exempt, bar, pct);
  const ul = el("ul");
  ul.setAttribute("role", "group");
  li.append(row, ul);
  const view = { li, toggle, name, label, level, sampled, target, exempt, fill, pct, ul };
  treeViews.set(id, view);
  return view;
}

function updateNodeView(view, node, state) {
  const depth = state.tree.depth.get(node.id) ?? 0;
  // The indentation is the row's (style.css), so that on a phone the figures under a name line up with it.
  view.li.style.setProperty("--depth", depth);
  setText(view.label, node.name);
  setText(view.level, node.level);
  // "第16分网格" says it is a 分网格 already: the level is shown only when it adds something.
  view.level.hidden = !node.level || node.name.endsWith(node.level);
  setText(view.sampled, plainInt(node.sampled));
  setText(view.target, ` / ${plainInt(node.target)}`);
  setText(view.exempt, node.exempt > 0 ? t("tree.exempt", { n: fmtInt(node.exempt) }) : "");
  const ratio = completion(node);
  view.fill.style.width = `${Math.min(100, ratio * 100)}%`;
  view.fill.dataset.level = completionLevel(ratio);
  setText(view.pct, fmtPercent(ratio));

  const children = state.tree.children.get(node.id) ?? [];
  const open = children.length > 0 && isExpanded(node.id, state);
  view.toggle.hidden = children.length === 0;
  setText(view.toggle, open ? "▾" : "▸");
  view.toggle.setAttribute("aria-label", t(open ? "tree.collapse" : "tree.expand"));
  if (children.length > 0) view.li.setAttribute("aria-expanded", String(open));
  view.ul.hidden = !open;
  // A closed branch is not updated: its rows catch up when it is opened.
  if (open) renderBranch(view.ul, children, state);
}

// The chart: cumulative samples per minute, hand-drawn on a canvas.

function maybeDrawChart() {
  if (!chartDirty) return;
  const wait = chartDrawnAt + CHART_INTERVAL_MS - performance.now();
  if (wait > 0) {
    if (!chartTimer) {
      chartTimer = setTimeout(() => {
        chartTimer = 0;
        schedule();
      }, wait);
    }
    return;
  }
  chartDirty = false;
  chartDrawnAt = performance.now();
  drawChart($("chart"), page.state);
}

/**
 * Cumulative counts as [unix seconds, total] corners. Minutes without samples are not
 * sent, so each minute gets a point at its start (the total so far) and its end (with
 * its count): a gap stays flat instead of being drawn as a slope.
 */
function cumulativeSeries(timeline, clock) {
  const minutes = [...timeline.keys()].sort((a, b) => a - b);
  const series = [];
  let total = 0;
  for (const m of minutes) {
    series.push([m, total]);
    total += timeline.get(m);
    series.push([m + 60, total]);
  }
  if (clock != null && series.length && clock > series.at(-1)[0]) series.push([clock, total]);
  return { series, total };
}

function unixSeconds(value) {
  const d = toDate(value);
  return d ? d.getTime() / 1000 : null;
}

function niceStep(rough) {
  const power = 10 ** Math.floor(Math.log10(rough));
  const unit = rough / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

const TIME_STEPS_MIN = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360];
/** Asia/Shanghai is UTC+8 all year (no daylight saving), so ticks align on this offset. */
const SHANGHAI_OFFSET_S = 8 * 3600;

function themeColors() {
  const style = getComputedStyle(document.documentElement);
  const v = (name) => style.getPropertyValue(name).trim();
  return { fg: v("--fg"), muted: v("--muted"), grid: v("--line"), line: v("--accent"), fill: v("--accent-soft"), target: v("--target") };
}

function drawChart(canvas, state) {
  const box = canvas.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return;
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(box.width * dpr);
  const h = Math.round(box.height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, box.width, box.height);

  const colors = themeColors();
  const fontSize = box.width < 600 ? 12 : 14;
  ctx.font = `${fontSize}px system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif`;

  const clock = unixSeconds(state.pace.clock);
  const opened = unixSeconds(state.pace.opened_at);
  const { series, total } = cumulativeSeries(state.timeline, clock);
  const target = state.totals.target;

  // Domain: from the opening (or first sample) to now, at least ten minutes wide.
  const firstX = series[0]?.[0] ?? clock ?? Date.now() / 1000;
  const x0 = Math.min(opened ?? firstX, firstX);
  const x1 = Math.max(clock ?? x0, series.at(-1)?.[0] ?? x0, x0 + 600);
  const yStep = niceStep(Math.max(target, total, 10) / 5);
  const y1 = Math.ceil((Math.max(target, total) * 1.05) / yStep) * yStep || yStep;

  const pad = { left: ctx.measureText(fmtInt(y1)).width + 16, right: 16, top: 16, bottom: fontSize + 14 };
  const plotW = box.width - pad.left - pad.right;
  const plotH = box.height - pad.top - pad.bottom;
  const sx = (s) => pad.left + ((s - x0) / (x1 - x0)) * plotW;
  const sy = (n) => pad.top + plotH - (n / y1) * plotH;

  drawYAxis(ctx, colors, { yStep, y1, sy, pad, plotW });
  drawXAxis(ctx, colors, { x0, x1, sx, pad, plotW, plotH });

  if (series.length) {
    ctx.beginPath();
    ctx.moveTo(sx(series[0][0]), sy(0));
    for (const [s, n] of series) ctx.lineTo(sx(s), sy(n));
    ctx.lineTo(sx(series.at(-1)[0]), sy(0));
    ctx.closePath();
    ctx.fillStyle = colors.fill;
    ctx.fill();
    ctx.beginPath();
    series.forEach(([s, n], i) => (i ? ctx.lineTo(sx(s), sy(n)) : ctx.moveTo(sx(s), sy(n))));
    ctx.strokeStyle = colors.line;
    ctx.lineWidth = 2.5;
    ctx.lineJoin = "round";
    ctx.stroke();
  } else {
    ctx.fillStyle = colors.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(t("chart.empty"), pad.left + plotW / 2, pad.top + plotH / 2);
  }

  if (target > 0) {
    const y = Math.round(sy(target)) + 0.5;
    ctx.setLineDash([8, 6]);
    ctx.strokeStyle = colors.target;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(pad.left + plotW, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colors.target;
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    ctx.fillText(t("chart.target", { n: fmtInt(target) }), pad.left + plotW, y - 4);
  }
  canvas.setAttribute("aria-label", `${t("chart.title")}: ${fmtInt(total)} / ${fmtInt(target)}`);
}

function drawYAxis(ctx, colors, { yStep, y1, sy, pad, plotW }) {
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let n = 0; n <= y1 + yStep / 2; n += yStep) {
    const y = Math.round(sy(n)) + 0.5;
    ctx.strokeStyle = colors.grid;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(pad.left + plotW, y);
    ctx.stroke();
    ctx.fillStyle = colors.muted;
    ctx.fillText(fmtInt(n), pad.left - 8, y);
  }
}

function drawXAxis(ctx, colors, { x0, x1, sx, pad, plotW, plotH }) {
  // The smallest step that leaves about 90 px between labels.
  const spanMin = (x1 - x0) / 60;
  const stepMin = TIME_STEPS_MIN.find((m) => (spanMin / m) * 90 <= plotW) ?? TIME_STEPS_MIN.at(-1);
  const step = stepMin * 60;
  const first = Math.ceil((x0 + SHANGHAI_OFFSET_S) / step) * step - SHANGHAI_OFFSET_S;
  const base = pad.top + plotH;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let s = first; s <= x1; s += step) {
    const x = Math.round(sx(s)) + 0.5;
    ctx.strokeStyle = colors.grid;
    ctx.beginPath();
    ctx.moveTo(x, base);
    ctx.lineTo(x, base + 5);
    ctx.stroke();
    ctx.fillStyle = colors.muted;
    ctx.fillText(fmtTime(s), x, base + 7);
  }
  ctx.strokeStyle = colors.muted;
  ctx.beginPath();
  ctx.moveTo(pad.left, base + 0.5);
  ctx.lineTo(pad.left + plotW, base + 0.5);
  ctx.stroke();
}

// ---------------------------------------------------------------- start-up

/** The action in `?action=ID`, else the last open one, else the last one. */
function chooseAction(actions) {
  const wanted = new URL(location.href).searchParams.get("action");
  if (wanted != null) return actions.find((a) => String(a.id) === wanted) ?? null;
  return actions.filter((a) => a.phase === "open").at(-1) ?? actions.at(-1) ?? null;
}

let loadAttempt = 0;
let loadTimer = 0;
/** The first load failed for want of a network or server and will be tried again. */
let loadWaiting = false;

async function load() {
  clearTimeout(loadTimer);
  loadTimer = 0;
  loadWaiting = false;
  try {
    const [me, actions] = await Promise.all([api("GET", "/api/me"), api("GET", "/api/actions")]);
    page.me = me;
    showUser(me);
    page.actions = actions;
  } catch (e) {
    loadFailed(e);
    return;
  }
  loadAttempt = 0;
  const action = chooseAction(page.actions);
  if (!action) {
    const wanted = new URL(location.href).searchParams.get("action");
    page.notice = wanted != null
      ? { title: "notice.actionMissingTitle", body: "notice.actionMissingBody", vars: { id: wanted } }
      : { title: "notice.noActionsTitle", body: "notice.noActionsBody", vars: {} };
    page.status = "idle";
    schedule();
    return;
  }
  follow(action.id);
}

function loadFailed(e) {
  const problem = problemOf(e);
  if (problem.status === 401) return; // signedOut() has said it.
  if (problem.status === 403) {
    page.notice = { title: "notice.forbiddenTitle", body: "notice.forbiddenBody", vars: {} };
    page.status = "idle";
    schedule();
    return;
  }
  // The server is down or the network is: try again, backing off like the feed.
  const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (loadAttempt + 1), BACKOFF_MAX_MS);
  loadAttempt += 1;
  page.notice = { title: "notice.errorTitle", body: "notice.errorBody", vars: { s: Math.round(delay / 1000) } };
  page.status = navigator.onLine ? "reconnecting" : "offline";
  loadWaiting = true;
  schedule();
  if (navigator.onLine) loadTimer = setTimeout(load, delay);
}

function wireControls() {
  // The title follows the action's name: renderHeader() sets it, not relabel.
  mountHeader();
  wireLanguage({ redraw: relabelData });
  $("action-select").addEventListener("change", (event) => {
    const id = Number(event.target.value);
    const url = new URL(location.href);
    url.searchParams.set("action", String(id));
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    follow(id);
  });
  window.addEventListener("offline", () => {
    if (page.feed) page.feed.offline();
    else setStatus("offline");
  });
  window.addEventListener("online", () => {
    if (page.feed) page.feed.online();
    else if (loadWaiting) load();
  });
  // The canvas follows its box: a resize (or a wall screen rotated) redraws at once.
  new ResizeObserver(() => {
    chartDirty = true;
    chartDrawnAt = -Infinity;
    schedule();
  }).observe($("chart"));
}

/** After a language switch: labels drawn from data (the points' phone labels) and the rest. */
function relabelData() {
  for (const { cells } of pointRows.values()) labelPointCells(cells);
  invalidate();
}

function start() {
  wireControls();
  if (!startSession(signedOut)) {
    signedOut();
    return;
  }
  schedule();
  load();
}

start();
