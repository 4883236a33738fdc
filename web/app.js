// The command centre: one live screen for the chief and the village HQ during an
// action. It signs in with the token from the chief's link, picks an action, follows
// it over one WebSocket (a snapshot, then deltas whose counts add up) and draws the
// totals, what the grid members learned chasing the missing, the home-visit requests,
// the sampling points, the area tree, the chart and who has residents missing.
//
// Layout of this file: the live state (snapshot + deltas) · the home-visit requests
// (the households API, kept current by the deltas' residents) · the live feed (what its
// messages do) · rendering (one pass per animation frame) · start-up. The WebSocket
// with resume and reconnect is live.js's, shared with the phone page; the token, the
// API and the language buttons are session.js's, shared with the other pages.
// All text from the server goes in through textContent, never innerHTML.

import {
  fmtAgo, fmtClock, fmtDateTime, fmtDayTime, fmtInt, fmtPercent, fmtRate, fmtTime, getLang, problemText, roleLabel, t, toDate,
} from "./i18n.js";
import { ChainBoard, ChainFeed } from "./chain.js";
import { FlaggedList } from "./flagged.js";
import { mountHeader, showUser } from "./header.js";
import { LiveFeed, backoffMs } from "./live.js";
import { uuidv7 } from "./outbox.js";
import { deskTel, telHref } from "./tel.js";
import { $, MANAGER_ROLES, api, el, problemOf, sessionToken, startSession, wireLanguage } from "./session.js";

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
/** How long a home-visit request may wait untaken before it shows red, when the action does not say. */
const VISIT_MINUTES_DEFAULT = 30;
/** The roles the server lists home-visit requests to; a viewer's wall and an operator get the counts only. */
const VISIT_ROLES = ["admin", "chief", "grid_head", "grid_member", "medic"];
/** Reads of the request list are at least this far apart, however fast requests come in. */
const VISITS_READ_GAP_MS = 1000;
/** After a failed read of the request list, the next one waits this long. */
const VISITS_RETRY_MS = 5000;
/** Waiting times are whole minutes: redrawn this often while requests wait, with no delta coming. */
const VISITS_TICK_MS = 15_000;
/** The chase statuses in the order they are said, from the best news to the worst. */
const CHASE_ORDER = ["notified", "on_the_way", "away", "bedridden", "refused", "unreachable", "nobody_home"];

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
  // A node's chase is its current counts, not a change: replace it.
  for (const [id, counts] of Object.entries(d.chase ?? {})) {
    const node = state.nodes.get(Number(id));
    if (node) node.chase = counts;
  }
  for (const [id, by] of Object.entries(d.points ?? {})) {
    const key = Number(id);
    if (!state.points.has(key)) {
      state.points.set(key, { id: key, name: `#${key}`, place: "", count: 0, at_home: 0, outside: 0, walk_ins: 0 });
    }
    const point = state.points.get(key);
    point.count += by.count ?? 0;
    point.at_home += by.at_home ?? 0;
    point.outside = (point.outside ?? 0) + (by.outside ?? 0);
    point.walk_ins = (point.walk_ins ?? 0) + (by.walk_ins ?? 0);
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

/** Residents reached so far: the chase counts' statuses added up (visits are among the bedridden). */
function reached(chase) {
  return CHASE_ORDER.reduce((sum, kind) => sum + (chase?.[kind] ?? 0), 0);
}

// ---------------------------------------------------------------- the home-visit requests

/**
 * The requests the view's households are waiting on. The live feed says a resident's
 * visit moved (`residents` in a delta, by id) but not where they live or whose grid it
 * is: a request the list does not have yet is read again from the households API, and
 * a visit taken or closed is changed in place.
 */
const visits = {
  /** Resident id → { id, name, number, address, grid, member: { name, phone } | null, visit }. */
  byResident: new Map(),
  /** The log position the list was read at; null before the first answer. */
  seq: null,
  /** A read is on its way: the residents deltas changed meanwhile, with their positions. */
  busy: false,
  during: new Map(),
  /** Another read is wanted (asked while one was on its way, or after a failure). */
  again: false,
  timer: 0,
  lastReadAt: -Infinity,
  /** The server lists no households to this session: no panel, no more asking. */
  refused: false,
  /** The counts a mismatch was last read again for: one read per new count, not a loop. */
  checked: "",
};

function resetVisits() {
  clearTimeout(visits.timer);
  Object.assign(visits, { seq: null, busy: false, again: false, timer: 0, refused: false, checked: "" });
  visits.byResident.clear();
  visits.during.clear();
  visitCards.clear();
  $("visits-list").replaceChildren();
}

/** Reads the list soon: at once when the last read was a while ago, else after the gap. */
function readVisitsSoon(delay = 0) {
  if (visits.refused || !VISIT_ROLES.includes(page.me?.role)) return;
  if (visits.busy) {
    visits.again = true;
    return;
  }
  if (visits.timer) return;
  const wait = Math.max(delay, visits.lastReadAt + VISITS_READ_GAP_MS - performance.now(), 0);
  visits.timer = setTimeout(readVisits, wait);
}

async function readVisits() {
  visits.timer = 0;
  visits.busy = true;
  visits.again = false;
  visits.during.clear();
  visits.lastReadAt = performance.now();
  const actionId = page.actionId;
  let failed = false;
  try {
    const households = [];
    const staff = [];
    let seq = null;
    let cursor = null;
    do {
      const query = new URLSearchParams({ visits: "true", limit: "2000" });
      if (cursor) query.set("cursor", cursor);
      const answer = await api("GET", `/api/actions/${encodeURIComponent(actionId)}/households?${query}`);
      households.push(...answer.households);
      staff.push(...answer.staff);
      // A later page may be a little newer: the first page's position is the one all of it is at least at.
      seq ??= answer.seq;
      cursor = answer.next;
    } while (cursor);
    if (actionId === page.actionId) takeVisits(households, staff, seq);
  } catch (e) {
    const problem = problemOf(e);
    // Not this role's, or gone: the panel stays away. A network failure is tried again.
    if (problem.status === 401 || problem.status === 403 || problem.status === 404) visits.refused = true;
    else failed = true;
  } finally {
    visits.busy = false;
  }
  if (actionId !== page.actionId) return;
  if (failed) readVisitsSoon(VISITS_RETRY_MS);
  else if (visits.again) readVisitsSoon();
  else checkVisitCounts();
  schedule();
}

function takeVisits(households, staff, seq) {
  const members = new Map(staff.map((m) => [m.id, m]));
  visits.byResident.clear();
  for (const h of households) {
    for (const r of h.residents) {
      if (!r.live?.visit) continue;
      const member = members.get(h.staff_id) ?? null;
      visits.byResident.set(r.id, {
        id: r.id,
        name: r.name,
        number: h.number,
        address: h.address,
        grid: h.grid,
        member,
        visit: r.live.visit,
      });
    }
  }
  visits.seq = seq;
  // What moved while the answer was on its way and is newer than it.
  for (const { live, at } of visits.during.values()) if (at > seq) applyResident(live);
  visits.during.clear();
}

/** A resident's live state from a delta: their visit taken or closed, or a request the list lacks. */
function applyResident(live) {
  const known = visits.byResident.get(live.id);
  if (!live.visit) visits.byResident.delete(live.id);
  else if (known) known.visit = live.visit;
  else readVisitsSoon();
}

function onResidents(residents, at) {
  for (const live of residents ?? []) {
    if (visits.busy) visits.during.set(live.id, { live, at });
    else if (visits.seq != null) applyResident(live);
  }
  checkVisitCounts();
}

/**
 * The chase counts say how many requests there are: a list that disagrees (a request
 * made while the feed was down) is read again, once for each new count.
 */
function checkVisitCounts() {
  const chase = page.state?.pace.chase;
  if (!chase || visits.seq == null || visits.busy || visits.timer) return;
  const counted = (chase.visits_pending ?? 0) + (chase.visits_taken ?? 0);
  const key = `${chase.visits_pending}/${chase.visits_taken}`;
  if (counted !== visits.byResident.size && visits.checked !== key) {
    visits.checked = key;
    readVisitsSoon();
  }
}

/**
 * "Now" for waiting times: the state clock (the latest device time of any event) moved on
 * by the time since it was heard, so that a request's wait grows on a quiet night when no
 * event comes; once the action is closed, its clock.
 */
let clockHeard = { clock: null, at: 0 };
function stateNow(state) {
  const clock = toDate(state.pace.clock);
  if (!clock) return Date.now();
  if (clockHeard.clock !== state.pace.clock) clockHeard = { clock: state.pace.clock, at: performance.now() };
  if (state.pace.phase !== "open") return clock.getTime();
  return clock.getTime() + (performance.now() - clockHeard.at);
}

// ---------------------------------------------------------------- the live feed

// The WebSocket itself (resume, backoff, offline) is live.js's, shared with the phone page.

/** Who a positive tube flagged (flagged.js): read when the live count moves. */
const flagged = new FlaggedList({
  panel: $("panel-flagged"),
  title: $("flagged-title"),
  hint: $("flagged-hint"),
  list: $("flagged-list"),
  more: $("flagged-more"),
  fit: (list, more, sayRest) => fitList(list, more, sayRest),
});

/** The latest call-up and its answers, read when the live counts of call-ups move. */
const callUps = { action: null, seen: "", latest: null, busy: false };

async function readCallUps(pace) {
  const key = `${pace.call_ups || 0}/${pace.call_up_answers || 0}`;
  if (key === callUps.seen || callUps.busy || !(pace.call_ups > 0)) return;
  callUps.busy = true;
  try {
    const answer = await api("GET", `/api/actions/${callUps.action}/call-ups`);
    callUps.latest = (answer.call_ups || [])[0] || null;
    callUps.seen = key;
  } catch {
    // Tried again with the next message.
  } finally {
    callUps.busy = false;
  }
  invalidate();
  // Answers that came while reading: read again (the next message may be a while).
  const now = page.state?.pace;
  if (now && `${now.call_ups || 0}/${now.call_up_answers || 0}` !== callUps.seen) setTimeout(() => readCallUps(page.state.pace), 300);
}

/** The chain of command (chain.js): read when its live counts move, drawn on the next frame. */
const chain = new ChainFeed(() => invalidate());
const chainBoard = new ChainBoard({
  panel: $("chain"),
  rule: $("chain-rule"),
  start: $("chase-start"),
  setRule: $("rule-open"),
  escalations: $("chain-escalations"),
  silent: $("chain-silent"),
  areas: $("chain-areas"),
  handovers: $("chain-handovers"),
});

/** Records one of the chief's own events (the chase's start, the rule) and reads the chain again. */
async function recordChief(event, problemAt) {
  try {
    await api("POST", `/api/actions/${callUps.action}/events`, { events: [{ id: uuidv7(), ...event }] });
    chain.refresh();
    return true;
  } catch (e) {
    if (problemAt) {
      setText(problemAt, problemText(problemOf(e)));
      problemAt.hidden = false;
    }
    return false;
  }
}

function wireChain() {
  $("chase-start").addEventListener("click", async () => {
    if (!window.confirm(t("chain.startConfirm"))) return;
    $("chase-start").disabled = true;
    await recordChief({ type: "chase_started" });
    $("chase-start").disabled = false;
  });
  $("rule-open").addEventListener("click", () => {
    const rule = chain.view?.rule ?? { minutes: 30, call_up_minutes: 10 };
    $("rule-minutes").value = String(rule.minutes);
    $("rule-callup").value = String(rule.call_up_minutes);
    $("rule-problem").hidden = true;
    $("rule-dialog").showModal();
  });
  $("rule-cancel").addEventListener("click", () => $("rule-dialog").close());
  $("rule-save").addEventListener("click", async () => {
    const event = {
      type: "escalation_set",
      minutes: Number($("rule-minutes").value),
      call_up_minutes: Number($("rule-callup").value),
    };
    if (chain.view?.rule?.chase_at) event.chase_at = chain.view.rule.chase_at;
    if (await recordChief(event, $("rule-problem"))) $("rule-dialog").close();
  });
}

/** The roles a call-up may name, in the order the form offers them; the first two ticked. */
const CALL_UP_ROLES = ["grid_member", "grid_head", "operator", "medic"];
const CALL_UP_SENDERS = ["admin", "chief", "grid_head"];

/** The send form: areas the caller may call up (their tree's top and its first level). */
function openCallUpForm() {
  const state = page.state;
  if (!state) return;
  const areas = [...state.nodes.values()].filter((n) => n.parent == null || state.nodes.get(n.parent)?.parent == null);
  $("callup-area").replaceChildren(...areas.map((n) => {
    const o = el("option", "", n.name);
    o.value = String(n.id);
    return o;
  }));
  $("callup-roles").replaceChildren(el("legend", "", t("callups.roles")), ...CALL_UP_ROLES.map((r, i) => {
    const label = el("label", "callup-role");
    const box = el("input");
    box.type = "checkbox";
    box.value = r;
    box.checked = i < 2;
    label.append(box, ` ${roleLabel(r)}`);
    return label;
  }));
  callUps.form = { id: null, checked: false };
  setText($("callup-reach"), "");
  $("callup-problem").hidden = true;
  $("callup-send").disabled = true;
  $("callup-dialog").showModal();
}

function callUpChoice() {
  const roles = [...$("callup-roles").querySelectorAll("input:checked")].map((b) => b.value);
  return { nodes: [Number($("callup-area").value)], roles };
}

async function checkCallUp() {
  const { nodes, roles } = callUpChoice();
  const q = new URLSearchParams({ nodes: nodes.join(",") });
  if (roles.length) q.set("roles", roles.join(","));
  try {
    const reach = await api("GET", `/api/actions/${callUps.action}/call-ups/reach?${q}`);
    const names = reach.unreachable.slice(0, 12).map((u) => `${u.name}（${u.why.map((w) => t(`callups.why.${w}`)).join("、")}）`);
    const more = reach.unreachable.length > 12 ? ` ${t("callups.more", { n: fmtInt(reach.unreachable.length - 12) })}` : "";
    const groups = reach.no_chat_group > 0 ? ` ${t("callups.noGroup", { n: fmtInt(reach.no_chat_group) })}` : "";
    setText($("callup-reach"), (reach.unreachable.length
      ? t("callups.reachSome", { n: fmtInt(reach.called), m: fmtInt(reach.unreachable.length), names: names.join("、") + more })
      : t("callups.reachAll", { n: fmtInt(reach.called) })) + groups);
    $("callup-send").disabled = reach.called === 0;
    $("callup-problem").hidden = true;
  } catch (e) {
    setText($("callup-problem"), problemText(problemOf(e)));
    $("callup-problem").hidden = false;
  }
}

async function sendCallUp() {
  const { nodes, roles } = callUpChoice();
  // One id per press of 发送 for this form: a retry after a lost answer is a repeat.
  callUps.form.id = callUps.form.id || uuidv7();
  const event = { id: callUps.form.id, type: "call_up_sent", text: $("callup-text").value.trim(), place: $("callup-place").value.trim(), nodes, roles };
  try {
    await api("POST", `/api/actions/${callUps.action}/events`, { events: [event] });
    $("callup-dialog").close();
    $("callup-text").value = "";
    $("callup-place").value = "";
  } catch (e) {
    setText($("callup-problem"), problemText(problemOf(e)));
    $("callup-problem").hidden = false;
  }
}

function wireCallUpForm() {
  $("callup-open").addEventListener("click", openCallUpForm);
  $("callup-cancel").addEventListener("click", () => $("callup-dialog").close());
  $("callup-check").addEventListener("click", checkCallUp);
  $("callup-send").addEventListener("click", sendCallUp);
  const changed = () => {
    $("callup-send").disabled = true;
    setText($("callup-reach"), "");
  };
  $("callup-area").addEventListener("change", changed);
  $("callup-roles").addEventListener("change", changed);
}

function renderCallUps() {
  $("callup-open").hidden = !CALL_UP_SENDERS.includes(page.me?.role) || page.state?.pace.phase === "closed";
  const c = callUps.latest;
  $("callups").hidden = !c;
  if (!c) return;
  setText($("callups-title"), t("callups.title", { time: fmtTime(c.sent_at), n: fmtInt(c.called) }));
  const parts = [t("callups.counts", { received: fmtInt(c.received), cannot: fmtInt(c.cannot), notYet: fmtInt(c.not_yet) })];
  for (const [share, value] of [["50", c.minutes_to_50], ["90", c.minutes_to_90], ["100", c.minutes_to_100]]) {
    if (known(value)) parts.push(t("callups.minutes", { share, n: fmtInt(Math.ceil(value)) }));
  }
  setText($("callups-line"), parts.join(" · "));
  // Per level of the chain (by role): how many of each have answered.
  const roles = new Map();
  for (const p of c.people) {
    const r = roles.get(p.role) ?? { n: 0, answered: 0 };
    r.n += 1;
    if (p.answer) r.answered += 1;
    roles.set(p.role, r);
  }
  setText($("callups-roles"), [...roles].map(([role, r]) => t("callups.role", { role: roleLabel(role), answered: fmtInt(r.answered), n: fmtInt(r.n) })).join(" · "));
  // The latest answers with their phones' own times (an offline phone's keeps its tap time).
  const answered = c.people.filter((p) => p.answer === "received" && p.answered_at).slice(-6).reverse();
  $("callups-answered").hidden = !answered.length;
  $("callups-answered").replaceChildren(el("span", "muted", t("callups.latest")), " ", ...answered.map((p) => {
    const who = el("span", "callup-answered", `${p.name} ${fmtTime(p.answered_at)}`);
    who.dataset.testid = "call-up-answer";
    who.dataset.staff = String(p.staff_id);
    who.dataset.at = p.answered_at;
    return who;
  }));
  const notYet = c.people.filter((p) => p.answer == null || p.answer === "cannot").slice(0, 12);
  $("callups-list").replaceChildren(...notYet.map((p) => {
    const li = el("li", p.answer === "cannot" ? "callup-cannot" : "callup-waiting");
    li.append(el("b", "", p.name), " ");
    if (p.answer === "cannot") li.append(el("span", "muted", t("callups.cannot", { reason: p.reason || "" })), " ");
    if (p.phone) {
      li.append(deskTel(p.phone));
    }
    return li;
  }));
}

function onLiveMessage(msg) {
  if (msg.type === "snapshot") {
    if (msg.action?.id !== callUps.action) Object.assign(callUps, { action: msg.action?.id, seen: "", latest: null });
    page.state = stateFromSnapshot(msg);
    resetViews();
    flagged.follow(msg.action?.id, page.me?.role);
    chain.follow(msg.action?.id, page.me?.role);
    // A snapshot carries no residents: the requests are read afresh (after a gap, any may have moved).
    readVisitsSoon();
  } else if (msg.type === "delta") {
    if (!page.state || !applyDelta(page.state, msg)) return false;
    onResidents(msg.residents, msg.to);
  } else {
    return true; // A message type from a newer server: ignore it.
  }
  flagged.count(page.state.pace.flagged);
  chain.count(page.state.pace);
  readCallUps(page.state.pace);
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
  resetVisits();
  page.feed = new LiveFeed(actionId, sessionToken, {
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
  if (shows.pointView) $("panel-chain").hidden = true;
  $("panel-chart").hidden = !shows.curve;
  if (shows.pointView) renderPointView(page.state);
  else renderKpis(page.state, shows);
  renderPoints(page.state, shows);
  $("panel-visits").hidden = shows.pointView || visits.byResident.size === 0;
  $("board").dataset.flagged = !shows.pointView && page.state.pace.flagged > 0 ? "yes" : "no";
  if (shows.pointView) $("panel-flagged").hidden = true;
  else flagged.render();
  // An operator's point has no chase of its own to tell (renderKpis says the area's).
  if (shows.pointView) $("chase").hidden = true;
  if (!shows.pointView) {
    renderVisits(page.state);
    renderCallUps();
    chainBoard.render(chain.view, page.me, page.state.pace);
    const parts = ["callups", "chain", "callup-open", "chase-start", "rule-open"];
    $("panel-chain").hidden = parts.every((id) => $(id).hidden);
    renderStaff(page.state);
    renderTree(page.state);
  }
  if (shows.curve) maybeDrawChart();
}

/**
 * What this view is about and which of its figures to show. An operator's view (their
 * point, no area) is about their point, not the completion of an empty area. Every
 * figure the server sends is the view's own (a part's scans, rates, ETA and curve are
 * counted from its own residents, an operator's from their point), so it is shown as
 * sent; only a figure the snapshot leaves out (null or absent) is not shown, rather than
 * shown as 0.
 */
function figuresShown(state) {
  const { totals, pace } = state;
  const pointView = state.nodes.size === 0 && state.points.size > 0;
  const rates = known(pace.rate_5) || known(pace.rate_15);
  return {
    pointView,
    curve: state.timeline != null,
    scans: known(totals.scans),
    rates,
    // An estimate while there is something left to do; "—" when the rate gives none.
    eta: pace.phase === "open" && (totals.missing ?? 0) > 0 && (pace.eta != null || rates),
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
const visitCards = new Map();
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

/**
 * Puts `key`'s words into `target` with each figure in bold ("已通知 <b>12</b>"),
 * rebuilding only when the words changed. Figures go in as text, never as HTML.
 */
function setWords(target, key, vars) {
  const words = t(key, vars);
  if (target.dataset.words === words) return;
  target.dataset.words = words;
  const parts = t(key).split(/(\{\w+\})/).filter(Boolean);
  target.replaceChildren(
    ...parts.map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return name && name in vars ? el("b", null, String(vars[name])) : document.createTextNode(part);
    }),
  );
}

/**
 * What the chase counts say, part by part, for `missing` residents: every status in the
 * whole view's line (a 0 is news too, and the line does not jump about), only those that
 * are not 0 in a tree row's short one. "Away" is an exemption, so among the missing it is
 * said only when there is one. Not yet reached is the missing no tick has reached.
 */
function chaseParts(chase, missing, short) {
  const table = short ? "chaseShort" : "chase";
  const parts = [];
  for (const kind of CHASE_ORDER) {
    const n = chase[kind] ?? 0;
    if (n === 0 && (short || kind === "away")) continue;
    const vars = { n: fmtInt(n) };
    let key = `${table}.${kind}`;
    let full = `chase.${kind}`;
    if (kind === "bedridden") {
      const pending = chase.visits_pending ?? 0;
      const taken = chase.visits_taken ?? 0;
      Object.assign(vars, { pending: fmtInt(pending), taken: fmtInt(taken) });
      if (taken > 0) full = "chase.bedriddenTaken";
      key = short ? (pending > 0 ? key : "chaseShort.bedriddenNone") : full;
    }
    parts.push({ kind, key, vars, full: t(full, vars) });
  }
  const notReached = missing - reached(chase);
  if (!short || notReached > 0) {
    const vars = { n: fmtInt(Math.max(0, notReached)) };
    parts.push({ kind: "not_reached", key: `${table}.not_reached`, vars, full: t("chase.not_reached", vars) });
  }
  return parts;
}

/** Each chase line's spans by status, kept between frames (a tree has a line per row). */
const chaseSpans = new WeakMap();

/** One span per part, keyed by status, in order; the separators are style.css's. */
function renderChaseParts(container, parts) {
  if (!chaseSpans.has(container)) chaseSpans.set(container, new Map());
  const byKind = chaseSpans.get(container);
  const spans = parts.map((part) => {
    let span = byKind.get(part.kind);
    if (!span) {
      span = el("span", "chase-item");
      span.dataset.chase = part.kind;
      span.dataset.testid = `chase-${part.kind}`;
      byKind.set(part.kind, span);
    }
    setWords(span, part.key, part.vars);
    // A short part's full words, for whoever hovers over it.
    if (span.title !== part.full) span.title = part.full;
    return span;
  });
  syncChildren(container, spans);
}

/** The whole view's chase, after the totals: shown while there is a chase to tell of. */
function renderChase(state) {
  const chase = state.pace.chase;
  const missing = state.totals.missing;
  const line = $("chase");
  line.hidden = chase == null || !known(missing) || (missing === 0 && reached(chase) === 0);
  if (line.hidden) return;
  setWords($("chase-lead"), "chase.lead", { n: fmtInt(missing) });
  renderChaseParts($("chase-items"), chaseParts(chase, missing, false));
}

function renderKpis(state, shows) {
  const { totals, pace } = state;
  setText($("sampled"), plainInt(totals.sampled));
  setText($("target"), plainInt(totals.target));
  setText($("exempt"), plainInt(totals.exempt));
  setText($("missing"), plainInt(totals.missing));
  $("scans").hidden = !shows.scans;
  // Of the whole action only: who came from outside its scope, who is not on the roster.
  const apart = [];
  if (pace.outside > 0) apart.push(t("kpi.outside", { n: fmtInt(pace.outside) }));
  if (pace.walk_ins > 0) apart.push(t("kpi.walkIns", { n: fmtInt(pace.walk_ins) }));
  const scans = shows.scans ? [t("kpi.scans", { n: fmtInt(totals.scans) }), ...apart] : apart;
  setText($("scans"), scans.join(" · "));
  $("scans").hidden = scans.length === 0;

  const ratio = completion(totals);
  setText($("completion"), fmtPercent(ratio));
  const bar = $("completion-bar");
  bar.style.width = `${Math.min(100, ratio * 100)}%`;
  bar.dataset.level = completionLevel(ratio);

  $("kpi-rate").hidden = !shows.rates;
  setText($("rate-5"), known(pace.rate_5) ? fmtRate(pace.rate_5) : "—");
  setText($("rate-15"), known(pace.rate_15) ? fmtRate(pace.rate_15) : "—");

  $("kpi-eta").hidden = !shows.eta;
  $("eta").title = fmtDateTime(pace.eta);
  const eta = toDate(pace.eta);
  const clock = toDate(pace.clock);
  const minutesLeft = eta && clock ? Math.max(0, Math.ceil((eta - clock) / 60000)) : null;
  // A part with one sample in an hour can be weeks from done: "05:02" alone would read as tonight.
  const days = minutesLeft != null && minutesLeft >= 24 * 60;
  $("eta").classList.toggle("kpi-long", days);
  setText($("eta"), days ? fmtDayTime(pace.eta) : fmtTime(pace.eta));
  let etaIn = t("kpi.etaNone");
  if (days) etaIn = t("kpi.etaInDays", { n: fmtInt(Math.floor(minutesLeft / (24 * 60))) });
  else if (minutesLeft != null) etaIn = t("kpi.etaIn", { n: fmtInt(minutesLeft) });
  setText($("eta-in"), etaIn);
  renderChase(state);
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
    queue: el("td", "num"),
  };
  cells.count.dataset.testid = "point-count-cell";
  // On a phone each row is a card and each figure says what it is (style.css).
  labelPointCells(cells);
  cells.lastTime = el("span");
  cells.lastAgo = el("small", "muted");
  cells.last.append(cells.lastTime, cells.lastAgo);
  cells.countN = el("span");
  cells.countN.dataset.testid = "point-count";
  cells.apart = el("small", "muted point-apart");
  cells.count.append(cells.countN, cells.apart);
  cells.waiting = el("span");
  cells.queueFor = el("small", "muted point-apart queue-for");
  cells.queue.append(cells.waiting, cells.queueFor);
  tr.append(cells.name, cells.place, cells.count, cells.rate5, cells.rate15, cells.last, cells.queue);
  const row = { tr, cells };
  pointRows.set(id, row);
  return row;
}

/** The labels a point's figures carry on a phone, by i18n key. */
const POINT_LABELS = {
  "points.count": "count", "points.rate5": "rate5", "points.rate15": "rate15", "points.last": "last",
  "points.queue": "queue",
};

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
  setText(cells.countN, plainInt(p.count));
  // Of the count: at home, residents from outside the scope and walk-ins (the tubes filling
  // are the point's own business, on its page).
  const apart = [];
  if (p.at_home > 0) apart.push(t("points.atHomeOf", { n: fmtInt(p.at_home) }));
  if (p.outside > 0) apart.push(t("points.outside", { n: fmtInt(p.outside) }));
  if (p.walk_ins > 0) apart.push(t("points.walkIns", { n: fmtInt(p.walk_ins) }));
  setText(cells.apart, apart.length ? ` ${apart.join(" · ")}` : "");
  cells.count.title = apart.join(" · ");
  const waiting = known(pp.waiting) && pace.phase === "open";
  setText(cells.waiting, waiting ? t("points.waiting", { n: fmtInt(pp.waiting) }) : "—");
  const minutes = waiting && known(pp.queue_minutes) ? t("points.queueMinutes", { n: fmtInt(Math.ceil(pp.queue_minutes)) }) : "";
  setText(cells.queueFor, minutes ? ` ${minutes}` : "");
  cells.queue.title = minutes;
  setText(cells.rate5, known(pp.rate_5) ? fmtRate(pp.rate_5) : "—");
  setText(cells.rate15, known(pp.rate_15) ? fmtRate(pp.rate_15) : "—");
  setText(cells.lastTime, fmtTime(pp.last_scan_at));
  setText(cells.lastAgo, pp.last_scan_at ? ` ${fmtAgo(pp.last_scan_at, pace.clock)}` : "");
  cells.last.title = fmtDateTime(pp.last_scan_at);
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
 * On a wall screen a list has the height that is left, and nobody scrolls it: the items
 * that do not fit are left out and one line (`more`, told how many are shown) says what
 * they are, so nothing is hidden without a word. (On a phone or a laptop the panel grows
 * with its list and this changes nothing.)
 */
function fitList(list, more, sayRest) {
  for (const li of list.children) li.hidden = false;
  more.hidden = true;
  if (list.scrollHeight <= list.clientHeight + 1) return;
  // Twice: the line's own height (one line or two) can take another row of items.
  for (let round = 0; round < 2; round += 1) {
    more.hidden = false;
    const bottom = list.getBoundingClientRect().bottom;
    let shown = 0;
    for (const li of list.children) {
      if (li.hidden) continue;
      if (li.getBoundingClientRect().bottom > bottom + 0.5) li.hidden = true;
      else shown += 1;
    }
    setText(more, sayRest(shown));
  }
}

function fitStaff(lagging) {
  fitList($("staff-list"), $("staff-more"), (shown) => {
    const rest = lagging.slice(shown);
    return t("staff.more", { n: fmtInt(rest.length), missing: fmtInt(rest.reduce((sum, m) => sum + m.missing, 0)) });
  });
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

// The home-visit requests: the oldest request nobody has taken on top, red once it has
// waited longer than the action allows; then those a medic has taken.

function renderVisits(state) {
  const list = [...visits.byResident.values()];
  $("board").dataset.visits = list.length > 0 ? "yes" : "no";
  if (list.length === 0) return;
  const limit = known(state.pace.visit_minutes) ? state.pace.visit_minutes : VISIT_MINUTES_DEFAULT;
  const now = stateNow(state);
  const at = (value) => toDate(value)?.getTime() ?? 0;
  list.sort(
    (a, b) =>
      Number(a.visit.taken_by != null) - Number(b.visit.taken_by != null) ||
      at(a.visit.taken_at) - at(b.visit.taken_at) ||
      at(a.visit.requested_at) - at(b.visit.requested_at) ||
      a.id - b.id,
  );
  setText($("visits-title"), t("visits.title", { n: fmtInt(list.length) }));
  setText($("visits-hint"), t("visits.hint", { n: fmtInt(limit) }));
  const items = list.map((v) => {
    const card = visitCards.get(v.id) ?? makeVisitCard(v.id);
    updateVisitCard(card, v, now, limit);
    return card.li;
  });
  syncChildren($("visits-list"), items);
  fitList($("visits-list"), $("visits-more"), (shown) => {
    const rest = list.slice(shown);
    return t("visits.more", { n: fmtInt(rest.length), taken: fmtInt(rest.filter((v) => v.visit.taken_by != null).length) });
  });
}

function makeVisitCard(id) {
  const li = el("li", "visit");
  li.dataset.residentId = String(id);
  li.dataset.testid = "visit";
  const where = el("div", "visit-where");
  const number = el("b", "visit-number");
  const address = el("span", "visit-address");
  const name = el("span", "visit-name");
  where.append(number, address, name);
  const who = el("div", "visit-who");
  const grid = el("span", "muted visit-grid");
  const member = el("span", "visit-member");
  const tel = el("a", "visit-tel");
  const phone = el("span", "muted visit-phone");
  who.append(grid, member, tel, phone);
  const state = el("div", "visit-state");
  const status = el("span", "visit-status");
  status.dataset.testid = "visit-status";
  const wait = el("span", "visit-wait");
  wait.dataset.testid = "visit-wait";
  state.append(status, wait);
  li.append(where, who, state);
  const card = { li, number, address, name, grid, member, tel, phone, status, wait };
  visitCards.set(id, card);
  return card;
}

function updateVisitCard(card, v, now, limit) {
  setText(card.number, v.number);
  setText(card.address, v.address);
  setText(card.name, v.name);
  setText(card.grid, v.grid);
  setText(card.member, v.member?.name ?? "");
  // A number shown whole is one to call; a masked one (a role that does not phone) is only shown.
  const phone = v.member?.phone ?? "";
  const callable = phone !== "" && !phone.includes("*");
  card.tel.hidden = !callable;
  card.phone.hidden = callable || phone === "";
  if (callable) {
    const href = telHref(phone);
    if (card.tel.getAttribute("href") !== href) card.tel.setAttribute("href", href);
    setText(card.tel, phone);
    card.tel.setAttribute("aria-label", t("visits.call", { name: v.member.name }));
  } else {
    setText(card.phone, phone);
  }

  const { visit } = v;
  const taken = visit.taken_by != null;
  const waited = Math.max(0, Math.floor((now - (toDate(visit.requested_at)?.getTime() ?? now)) / 60000));
  const late = !taken && waited > limit;
  card.li.dataset.state = taken ? "taken" : late ? "late" : "waiting";
  if (taken) {
    const time = fmtTime(visit.taken_at);
    setText(card.status, visit.taken_by_name ? t("visits.taken", { name: visit.taken_by_name, time }) : t("visits.takenNoName", { time }));
    setText(card.wait, "");
  } else {
    setText(card.status, t("visits.nobody"));
    setText(card.wait, waited < 1 ? t("visits.justNow") : t("visits.waited", { n: fmtInt(waited) }));
  }
  card.wait.hidden = taken;
  card.li.title = fmtDateTime(visit.requested_at);
}

// The area tree. Rows are flat in their columns (indentation is inside the name cell)
// so that the bars of every level line up and lagging grids can be compared at a glance.

function renderTree(state) {
  renderBranch($("tree"), state.tree.roots, state);
  $("tree-empty").hidden = state.tree.roots.length > 0;
  fitTree();
}

/**
 * On a wall screen the tree has the height that is left: rows that do not fit (the last
 * ones, and each level lists its lowest completion first, so the grids that need a call
 * stay) are left out, and one line says how many. Elsewhere the tree scrolls.
 */
function fitTree() {
  const list = $("tree");
  const more = $("tree-more");
  const items = [...list.querySelectorAll("li[data-node-id]")];
  for (const li of items) li.hidden = false;
  more.hidden = true;
  if (list.scrollHeight <= list.clientHeight + 1) return;
  for (let round = 0; round < 2; round += 1) {
    more.hidden = false;
    const bottom = list.getBoundingClientRect().bottom;
    let left = 0;
    for (const li of items) {
      // Rows inside a closed or left-out branch are not on screen anyway.
      if (li.getClientRects().length === 0) continue;
      if (li.firstElementChild.getBoundingClientRect().bottom > bottom + 0.5) li.hidden = true;
    }
    for (const li of items) if (li.hidden) left += 1;
    setText(more, t("tree.more", { n: fmtInt(left) }));
  }
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
  const chase = el("span", "node-chase");
  chase.dataset.testid = "node-chase";
  row.append(name, counts, exempt, bar, pct, chase);
  const ul = el("ul");
  ul.setAttribute("role", "group");
  li.append(row, ul);
  const view = { li, toggle, name, label, level, sampled, target, exempt, fill, pct, chase, ul };
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
  // The node's chase, short: left out while nobody under it was reached (the snapshot leaves
  // it out then), and on a view's one root, whose chase is the line above the tree already.
  const whole = depth === 0 && state.tree.roots.length === 1;
  const chase = !whole && node.chase && reached(node.chase) > 0 ? node.chase : null;
  view.chase.hidden = !chase;
  if (chase) renderChaseParts(view.chase, chaseParts(chase, node.target - node.sampled - node.exempt, true));

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
  const delay = backoffMs(loadAttempt + 1);
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
  wireCallUpForm();
  wireChain();
  wireLanguage({ redraw: relabelData });
  $("action-select").addEventListener("change", (event) => {
    const id = Number(event.target.value);
    const url = new URL(location.href);
    url.searchParams.set("action", String(id));
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    follow(id);
  });
  // With a feed, the feed follows the network itself (live.js); before one, the load does.
  window.addEventListener("offline", () => {
    if (!page.feed) setStatus("offline");
  });
  window.addEventListener("online", () => {
    if (!page.feed && loadWaiting) load();
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
  flagged.reword();
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
  // Waiting times grow with no delta to say so.
  setInterval(() => {
    if (visits.byResident.size > 0) schedule();
  }, VISITS_TICK_MS);
}

start();
