// Staff accounts, for the admin and the chief. Three tabs:
//   人员 Staff — everyone, grouped by the area they answer for, with the phones and
//     computers signed in as them (each can be revoked at once) and a pairing code to
//     set up a new phone; the admin can also set a password.
//   打印配对单 Pairing sheet — a new pairing code for everyone in a grid, printed as A4
//     cards to hand out at the assembly point before a night action.
//   户卡 Household cards — the server's A4 document of 党群连心卡 (one per household,
//     QR codes for the household and each resident), opened in a window of its own to
//     print; a lost card is reissued by household number, after a confirm step.
//   操作记录 Audit log — who read unmasked personal data, made codes, revoked devices.
//
// Layout of this file: signed out · the area tree · staff tab · pairing codes ·
// sheet tab · audit tab · dialogs and messages · start-up. The token, the API and the
// language buttons are session.js's, shared with the other pages.
// All text from the server goes in through textContent, never innerHTML; the one piece
// of markup we take from the server (the QR code's SVG) goes in as an <img> data URL,
// where it cannot run script or touch the page.

import { fmtDateTime, fmtDayTime, fmtInt, fmtWait, getLang, problemText, roleLabel, t, toDate } from "./i18n.js";
import { mountHeader, showUser } from "./header.js";
import { $, ApiProblem, MANAGER_ROLES, api, el, forgetToken, problemOf, serverDetail, sessionToken, startSession, wireLanguage } from "./session.js";

/** Within an area, the person in charge first, then down the chain. */
const ROLE_ORDER = ["chief", "admin", "grid_head", "grid_member", "medic", "operator", "viewer"];
const TABS = ["staff", "points", "sheet", "cards", "audit"];
/** Who may act on whom, as the server rules it: an admin on anyone, others on lower ranks only. */
const RANK = { admin: 4, chief: 3, grid_head: 2, grid_member: 1, operator: 1, medic: 1, viewer: 1 };
const CARDS_PER_PAGE = 8;
const AUDIT_PAGE_SIZE = 50;
/** While making a sheet, a 429 is waited out this many times, for this long at most. */
const SHEET_TRIES = 3;
const SHEET_MAX_WAIT_S = 120;
/** The start-up load retries on its own after a network failure, this often. */
const RETRY_LOAD_S = 5;
/** Good news fades by itself; errors stay until closed, so nobody misses one. */
const FLASH_MS = 6000;

/** Everything the page knows; render functions read it, loaders and handlers write it. */
const page = {
  me: null,
  staff: [],
  /** The area tree built from /api/nodes (see buildTree), or null before it loads. */
  tree: null,
  filter: "",
  /** Staff ids whose device list is open; kept across refreshes so a revoke does not close it. */
  expanded: new Set(),
  tab: "staff",
  // `lang`: the language the entries' label and detail came in (the server words them).
  audit: { entries: [], next: null, loaded: false, busy: false, lang: null },
  sheet: { busy: false, nodeId: null },
  /** The staff member and code in the pairing dialog, for its Print button. */
  pairing: null,
  /** The staff member the password dialog is for. */
  passwordFor: null,
  /** Open sampling points (from /api/points). */
  points: [],
  /** The staff member (or `{}` for a new one) and the point the edit dialogs are for. */
  editing: null,
  editingPoint: null,
  /** What to show instead of the page: { title, body, vars, login } of i18n keys, or null. */
  notice: { title: "notice.loading", body: null, vars: {} },
};

// ---------------------------------------------------------------- signed out

/** The session's answer to a 401, and the page with no token at all. (Signing out is the header's.) */
function signedOut() {
  closeDialogs();
  page.me = null;
  showUser(null);
  page.notice = { title: "admin.signInTitle", body: "admin.signInBody", vars: {}, login: true };
  renderNotice();
}

// ---------------------------------------------------------------- the area tree

let collatorCache = null;

/** Sorts names the way the reader expects; numeric so "第2网格" comes before "第10网格". */
function collator() {
  // Building a collator is slow and sorting calls this for every comparison: keep one.
  if (collatorCache?.lang !== getLang()) {
    collatorCache = { lang: getLang(), compare: new Intl.Collator(getLang(), { numeric: true }) };
  }
  return collatorCache.compare;
}

/**
 * Children, depth and a display order (depth first, siblings by name) from parent links.
 * A node whose parent is missing is a root. Walking only from roots, and never twice
 * into one node, means bad data leaves nodes out instead of looping forever.
 */
function buildTree(nodes) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map();
  const roots = [];
  for (const n of nodes) {
    if (n.parent != null && byId.has(n.parent) && n.parent !== n.id) {
      if (!children.has(n.parent)) children.set(n.parent, []);
      children.get(n.parent).push(n.id);
    } else {
      roots.push(n.id);
    }
  }
  const byName = (a, b) => collator().compare(byId.get(a).name, byId.get(b).name) || a - b;
  roots.sort(byName);
  for (const list of children.values()) list.sort(byName);
  const order = [];
  const depth = new Map();
  const walk = (id, d) => {
    if (depth.has(id)) return;
    depth.set(id, d);
    order.push(id);
    for (const child of children.get(id) ?? []) walk(child, d + 1);
  };
  for (const root of roots) walk(root, 0);
  return { byId, children, roots, order, depth, rank: new Map(order.map((id, i) => [id, i])) };
}

/**
 * "第3分网格 › 第9网格": the names from the top down. With one village at the top its
 * name is left out (every path would start with it), unless it is the node itself.
 */
function nodePath(id) {
  const tree = page.tree;
  const names = [];
  const seen = new Set();
  for (let n = tree?.byId.get(id); n && !seen.has(n.id); n = tree.byId.get(n.parent)) {
    seen.add(n.id);
    names.unshift(n.name);
  }
  if (names.length > 1 && tree.roots.length === 1) names.shift();
  return names.join(" › ");
}

/** The node and everything under it. */
function subtree(id) {
  const ids = new Set();
  const stack = [id];
  while (stack.length) {
    const next = stack.pop();
    if (ids.has(next)) continue;
    ids.add(next);
    stack.push(...(page.tree.children.get(next) ?? []));
  }
  return ids;
}

// ---------------------------------------------------------------- staff tab

function roleRank(role) {
  const i = ROLE_ORDER.indexOf(role);
  return i < 0 ? ROLE_ORDER.length : i;
}

/** A session that can still be used; the count in the table is of these. */
function isLive(session) {
  const expires = toDate(session.expires_at);
  return !expires || expires.getTime() > Date.now();
}

/**
 * Where a person is listed: under their first area in tree order (so a grid member sits
 * with their grid), else under their sampling point, else under "no area". Someone with
 * several areas is listed once; the area column shows them all.
 */
function staffGroup(m) {
  const tree = page.tree;
  const nodeIds = (m.nodes ?? []).map((n) => n.id).filter((id) => tree.rank.has(id));
  if (nodeIds.length) {
    const id = nodeIds.reduce((a, b) => (tree.rank.get(a) <= tree.rank.get(b) ? a : b));
    const node = tree.byId.get(id);
    return { key: `n${id}`, sort: [0, tree.rank.get(id), ""], label: nodePath(id), level: node.level ?? "" };
  }
  if (m.point) {
    return { key: `p${m.point.id}`, sort: [1, 0, m.point.name], label: t("admin.pointGroup", { name: m.point.name }), level: "" };
  }
  return { key: "none", sort: [2, 0, ""], label: t("admin.noArea"), level: "" };
}

function compareGroups(a, b) {
  return a.sort[0] - b.sort[0] || a.sort[1] - b.sort[1] || collator().compare(a.sort[2], b.sort[2]);
}

function compareStaff(a, b) {
  return roleRank(a.role) - roleRank(b.role) || collator().compare(a.name, b.name) || a.id - b.id;
}

/** Every word typed must appear in the person's name, phone, role, areas or point. */
function matchesFilter(m, words) {
  if (!words.length) return true;
  const text = [
    m.name, m.phone, roleLabel(m.role), m.role, m.point?.name,
    ...(m.nodes ?? []).flatMap((n) => [n.name, nodePath(n.id)]),
  ].filter(Boolean).join("\n").toLowerCase();
  return words.every((w) => text.includes(w));
}

async function loadStaff() {
  const [staff, nodes, points] = await Promise.all([
    api("GET", "/api/staff"),
    api("GET", "/api/nodes"),
    api("GET", "/api/points"),
  ]);
  page.tree = buildTree(nodes);
  page.staff = staff;
  page.points = points;
  renderStaff();
  renderPoints();
  renderSheetOptions();
}

/** Refresh after a change; a failure is reported, the old table stays. */
async function reloadStaff() {
  try {
    await loadStaff();
  } catch (e) {
    showError(e);
  }
}

function renderStaff() {
  if (!page.tree) return;
  const words = page.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map();
  for (const m of page.staff) {
    if (!matchesFilter(m, words)) continue;
    const g = staffGroup(m);
    if (!groups.has(g.key)) groups.set(g.key, { ...g, people: [] });
    groups.get(g.key).people.push(m);
  }
  const table = document.querySelector(".staff-table");
  for (const old of table.querySelectorAll("tbody")) old.remove();
  const sorted = [...groups.values()].sort(compareGroups);
  for (const g of sorted) table.append(groupBody(g));

  const shown = sorted.reduce((n, g) => n + g.people.length, 0);
  const total = page.staff.length;
  $("staff-count").textContent = shown === total
    ? t("admin.count", { n: fmtInt(total) })
    : t("admin.countFiltered", { shown: fmtInt(shown), n: fmtInt(total) });
  $("staff-empty").hidden = shown > 0;
  $("staff-empty").textContent = total === 0 ? t("admin.noStaff") : t("admin.noMatch");
}

function groupBody(g) {
  const tbody = el("tbody", "staff-group");
  tbody.dataset.group = g.key;
  const head = el("tr", "group-head");
  const th = el("th");
  th.colSpan = 6;
  th.append(el("span", "group-path", g.label));
  if (g.level) th.append(el("small", "muted", ` ${g.level}`));
  th.append(el("small", "muted group-count", ` · ${t("admin.sheetPeople", { n: fmtInt(g.people.length) })}`));
  head.append(th);
  tbody.append(head);
  for (const m of g.people.sort(compareStaff)) {
    tbody.append(staffRow(m));
    if (page.expanded.has(m.id)) tbody.append(sessionsRow(m));
  }
  return tbody;
}

function staffRow(m) {
  const tr = el("tr", "staff-row");
  tr.dataset.testid = "staff-row";
  tr.dataset.staffId = String(m.id);
  const name = el("td", "staff-name", m.name);
  const role = el("td", "role", roleLabel(m.role));
  const phone = el("td", "phone", m.phone || t("common.none"));
  const area = el("td", "area", areaText(m));
  area.title = (m.nodes ?? []).map((n) => nodePath(n.id) || n.name).join("\n");

  const live = (m.sessions ?? []).filter(isLive).length;
  const devices = el("td");
  const toggle = el("button", "tool-button toggle-sessions");
  toggle.type = "button";
  toggle.dataset.testid = "toggle-sessions";
  toggle.dataset.count = String(live);
  toggle.addEventListener("click", () => toggleSessions(m, tr, toggle));
  devices.append(toggle);
  setToggle(toggle, m, page.expanded.has(m.id));

  const actions = el("td", "row-actions");
  const pairButton = el("button", "tool-button", t("admin.pairingCode"));
  pairButton.type = "button";
  pairButton.dataset.testid = "make-pairing-code";
  pairButton.addEventListener("click", () => makePairingCode(m, pairButton));
  actions.append(pairButton);
  if (mayManage(m.role)) {
    const edit = el("button", "tool-button", t("admin.edit"));
    edit.type = "button";
    edit.dataset.testid = "edit-staff";
    edit.addEventListener("click", () => openStaffDialog(m));
    const retire = el("button", "tool-button", t("admin.retire"));
    retire.type = "button";
    retire.dataset.testid = "retire-staff";
    retire.addEventListener("click", () => retireStaff(m));
    actions.append(edit, retire);
  }
  // Only the admin may set passwords; the chief sets up phones with pairing codes.
  if (page.me.role === "admin") {
    const pw = el("button", "tool-button", t("admin.setPassword"));
    pw.type = "button";
    pw.dataset.testid = "set-password";
    pw.addEventListener("click", () => openPasswordDialog(m));
    actions.append(pw);
  }
  tr.append(name, role, phone, area, devices, actions);
  return tr;
}

// ---------------------------------------------------------------- staff and points by hand

function mayManage(role) {
  return page.me?.role === "admin" || (RANK[page.me?.role] ?? 0) > (RANK[role] ?? 0);
}

/** The area tree as options, indented by depth. */
function nodeOptions() {
  return page.tree.order.map((id) => {
    const option = el("option", null, `${"\u3000".repeat(page.tree.depth.get(id) ?? 0)}${page.tree.byId.get(id).name}`);
    option.value = String(id);
    return option;
  });
}

function openStaffDialog(m) {
  page.editing = m ?? {};
  $("staff-dialog-title").textContent = m ? t("admin.staffEditTitle", { name: m.name }) : t("admin.staffAdd");
  $("staff-name").value = m?.name ?? "";
  // A masked phone (not the chief's to see) is left as it is unless typed over.
  $("staff-phone").value = m?.phone && !m.phone.includes("*") ? m.phone : "";
  $("staff-phone").placeholder = m?.phone?.includes("*") ? m.phone : "";
  const roles = ROLE_ORDER.filter((r) => mayManage(r));
  $("staff-role").replaceChildren(...roles.map((r) => Object.assign(el("option", null, roleLabel(r)), { value: r })));
  $("staff-role").value = m?.role ?? "grid_member";
  $("staff-node").replaceChildren(Object.assign(el("option", null, t("common.none")), { value: "" }), ...nodeOptions());
  $("staff-node").value = m?.nodes?.[0] ? String(m.nodes[0].id) : "";
  $("staff-point").replaceChildren(
    Object.assign(el("option", null, t("common.none")), { value: "" }),
    ...page.points.map((p) => Object.assign(el("option", null, p.name), { value: String(p.id) })),
  );
  $("staff-point").value = m?.point ? String(m.point.id) : "";
  $("staff-error").hidden = true;
  $("staff-save").disabled = false;
  showRoleFields();
  $("staff-dialog").showModal();
  $("staff-name").focus();
}

/** An operator works at a point; the others answer for an area. */
function showRoleFields() {
  const operator = $("staff-role").value === "operator";
  $("staff-point-field").hidden = !operator;
  $("staff-node-field").hidden = operator;
}

async function saveStaff() {
  const m = page.editing;
  const operator = $("staff-role").value === "operator";
  const node = $("staff-node").value;
  const point = $("staff-point").value;
  const body = {
    name: $("staff-name").value,
    role: $("staff-role").value,
    nodes: !operator && node ? [Number(node)] : [],
    point_id: operator && point ? Number(point) : null,
  };
  const phone = $("staff-phone").value.trim();
  if (phone || !m.id) body.phone = phone || null;
  $("staff-save").disabled = true;
  try {
    if (m.id) await api("PATCH", `/api/staff/${encodeURIComponent(m.id)}`, body);
    else await api("POST", "/api/staff", body);
  } catch (e) {
    const problem = problemOf(e);
    $("staff-error").textContent = withServerMessage(problemText(problem), problem);
    $("staff-error").hidden = false;
    $("staff-save").disabled = false;
    return;
  }
  $("staff-dialog").close();
  flash(t(m.id ? "admin.staffSaved" : "admin.staffAdded", { name: body.name.trim() }));
  await reloadStaff();
}

async function retireStaff(m) {
  if (!(await confirmDialog(t("admin.retireConfirm", { name: m.name }), t("admin.retireWarning")))) return;
  try {
    await api("POST", `/api/staff/${encodeURIComponent(m.id)}/retire`);
  } catch (e) {
    showError(e);
    return;
  }
  flash(t("admin.retired", { name: m.name }));
  await reloadStaff();
}

function renderPoints() {
  if (!page.tree) return;
  const rows = page.points.map((p) => {
    const tr = el("tr", "point-row");
    tr.dataset.testid = "point-row";
    tr.dataset.pointId = String(p.id);
    const serves = p.nodes.map((n) => n.name).join("、") || t("common.none");
    const actions = el("td", "row-actions");
    const edit = el("button", "tool-button", t("admin.edit"));
    edit.type = "button";
    edit.dataset.testid = "edit-point";
    edit.addEventListener("click", () => openPointDialog(p));
    const close = el("button", "tool-button", t("admin.pointClose"));
    close.type = "button";
    close.dataset.testid = "retire-point";
    close.addEventListener("click", () => retirePoint(p));
    actions.append(edit, close);
    tr.append(el("td", "point-name", p.name), el("td", null, p.place || t("common.none")), el("td", null, serves),
      el("td", "num", fmtInt(p.operators)), actions);
    return tr;
  });
  $("points-body").replaceChildren(...rows);
  $("points-count").textContent = t("admin.pointsCount", { n: fmtInt(page.points.length) });
}

function openPointDialog(p) {
  page.editingPoint = p ?? {};
  $("point-dialog-title").textContent = p ? t("admin.pointEditTitle", { name: p.name }) : t("admin.pointAdd");
  $("point-name").value = p?.name ?? "";
  $("point-place").value = p?.place ?? "";
  $("point-nodes").replaceChildren(...nodeOptions());
  const serves = new Set((p?.nodes ?? []).map((n) => String(n.id)));
  for (const option of $("point-nodes").options) option.selected = serves.has(option.value);
  $("point-error").hidden = true;
  $("point-save").disabled = false;
  $("point-dialog").showModal();
  $("point-name").focus();
}

async function savePoint() {
  const p = page.editingPoint;
  const nodes = [...$("point-nodes").selectedOptions].map((o) => Number(o.value));
  const body = { name: $("point-name").value, place: $("point-place").value, nodes };
  $("point-save").disabled = true;
  try {
    if (p.id) await api("PATCH", `/api/points/${encodeURIComponent(p.id)}`, body);
    else await api("POST", "/api/points", body);
  } catch (e) {
    const problem = problemOf(e);
    $("point-error").textContent = withServerMessage(problemText(problem), problem);
    $("point-error").hidden = false;
    $("point-save").disabled = false;
    return;
  }
  $("point-dialog").close();
  flash(t("admin.pointSaved", { name: body.name.trim() }));
  await reloadStaff();
}

async function retirePoint(p) {
  if (!(await confirmDialog(t("admin.pointCloseConfirm", { name: p.name }), t("admin.pointCloseWarning")))) return;
  try {
    await api("POST", `/api/points/${encodeURIComponent(p.id)}/retire`);
  } catch (e) {
    showError(e);
    return;
  }
  flash(t("admin.pointClosed", { name: p.name }));
  await reloadStaff();
}

function areaText(m) {
  const parts = (m.nodes ?? []).map((n) => n.name);
  if (m.point) parts.push(t("admin.pointOf", { name: m.point.name }));
  return parts.join("、") || t("common.none");
}

function setToggle(button, m, open) {
  const live = Number(button.dataset.count);
  button.textContent = `${t("admin.devices", { n: fmtInt(live) })} ${open ? "▾" : "▸"}`;
  button.setAttribute("aria-expanded", String(open));
  button.title = t(open ? "admin.hideDevices" : "admin.showDevices");
}

/** Opens or closes one person's device list in place, without redrawing the table. */
function toggleSessions(m, tr, button) {
  const open = !page.expanded.has(m.id);
  if (open) {
    page.expanded.add(m.id);
    tr.after(sessionsRow(m));
  } else {
    page.expanded.delete(m.id);
    const next = tr.nextElementSibling;
    if (next?.classList.contains("sessions-row")) next.remove();
  }
  setToggle(button, m, open);
}

function sessionsRow(m) {
  const tr = el("tr", "sessions-row");
  tr.dataset.testid = "sessions";
  tr.dataset.staffId = String(m.id);
  const td = el("td");
  td.colSpan = 6;
  tr.append(td);
  const sessions = m.sessions ?? [];
  if (!sessions.length) {
    td.append(el("p", "muted", t("admin.noSessions")));
    return tr;
  }
  const table = el("table", "sessions");
  const head = el("tr");
  for (const key of ["admin.session.device", "admin.session.created", "admin.session.lastSeen", "admin.session.expires"]) {
    head.append(el("th", null, t(key)));
  }
  head.append(el("th"));
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  for (const s of sessions) tbody.append(sessionLine(m, s));
  table.append(thead, tbody);
  td.append(table);
  return tr;
}

function sessionLine(m, s) {
  const tr = el("tr");
  tr.dataset.sessionId = String(s.id);
  const device = el("td", "device", s.device || t("common.none"));
  if (s.id === page.me.session_id) device.append(el("span", "tag", t("admin.thisDevice")));
  const created = timeCell(s.created_at);
  const lastSeen = timeCell(s.last_seen_at);
  const live = isLive(s);
  const expires = live ? timeCell(s.expires_at) : el("td", "muted", t("admin.expired"));
  const action = el("td");
  if (live) {
    const revoke = el("button", "danger-button small-button", t("admin.revoke"));
    revoke.type = "button";
    revoke.dataset.testid = "revoke-session";
    revoke.dataset.sessionId = String(s.id);
    revoke.addEventListener("click", () => revokeSession(m, s, revoke));
    action.append(revoke);
  }
  tr.append(device, created, lastSeen, expires, action);
  return tr;
}

function timeCell(value) {
  const td = el("td", "num", fmtDayTime(value));
  td.title = fmtDateTime(value);
  return td;
}

async function revokeSession(m, s, button) {
  const self = s.id === page.me.session_id;
  const ok = await confirmDialog(
    t("admin.revokeConfirm", { name: m.name, device: s.device || t("common.none") }),
    self ? t("admin.revokeSelf") : "",
  );
  if (!ok) return;
  button.disabled = true;
  try {
    await api("POST", `/api/sessions/${encodeURIComponent(s.id)}/revoke`);
  } catch (e) {
    button.disabled = false;
    showError(e);
    return;
  }
  if (self) {
    // Our own token is dead now: every further call would fail.
    forgetToken();
    location.replace("login.html");
    return;
  }
  // Updated here rather than fetched again: every read of the staff list by a manager
  // is written to the audit log (full phone numbers), and a revoke should not add one.
  m.sessions = (m.sessions ?? []).filter((x) => x.id !== s.id);
  renderStaff();
  flash(t("admin.revoked", { name: m.name }));
}

// ---------------------------------------------------------------- pairing codes

/**
 * The server's SVG as an image URL. An <img> never runs what is inside it, so the markup
 * needs no cleaning; but without the SVG namespace it would show nothing at all, and a
 * blank QR code at midnight is the worst way to find that out, so it is added if missing.
 */
function svgDataUrl(svg) {
  let text = String(svg ?? "");
  if (!/<svg[^>]*\sxmlns=/.test(text)) text = text.replace(/<svg\b/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
}

function createCode(m) {
  return api("POST", `/api/staff/${encodeURIComponent(m.id)}/pairing-codes`);
}

async function makePairingCode(m, button) {
  button.disabled = true;
  button.textContent = t("admin.pairingWorking");
  try {
    openPairingDialog(m, await createCode(m));
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
    button.textContent = t("admin.pairingCode");
  }
}

function expiryText(expiresAt) {
  const at = toDate(expiresAt);
  if (!at) return "";
  const minutes = Math.max(0, Math.round((at - Date.now()) / 60000));
  // "24 小时", not "1,440 分钟": whole hours once there is more than one left.
  const left = minutes >= 90 ? t("admin.hours", { n: fmtInt(Math.round(minutes / 60)) }) : t("admin.minutes", { n: fmtInt(minutes) });
  return t("admin.expiresAt", { time: fmtDayTime(at) }) + t("admin.expiresIn", { left });
}

function openPairingDialog(m, code) {
  page.pairing = { staff: m, code };
  $("pairing-title").textContent = t("admin.pairTitle", { name: m.name });
  $("pairing-who").textContent = [roleLabel(m.role), areaText(m)].join(" · ");
  const img = $("pairing-qr");
  img.src = svgDataUrl(code.qr_svg);
  img.alt = t("admin.qrAlt");
  $("pairing-code").textContent = code.code;
  $("pairing-expiry").textContent = expiryText(code.expires_at);
  $("pairing-url").textContent = code.url ?? "";
  $("pairing-dialog").showModal();
}

async function printOneCard() {
  const { staff, code } = page.pairing;
  const card = pairingCard(staff, code, areaText(staff), false);
  $("print-one").replaceChildren(card);
  await printArea("one");
}

/**
 * One printable card: QR, name, role and grid, the code in big letters (typed in by
 * hand when the camera will not focus), the expiry and how to use it. Sheet cards carry
 * `data-testid="pairing-card"`; the single card from the dialog does not, so a count of
 * sheet cards is never thrown off by it.
 */
function pairingCard(m, code, area, onSheet) {
  const card = el("article", "pairing-card");
  if (onSheet) card.dataset.testid = "pairing-card";
  card.dataset.staffId = String(m.id);
  const img = el("img", "card-qr");
  img.src = svgDataUrl(code.qr_svg);
  img.alt = t("admin.qrAlt");
  const text = el("div", "card-text");
  text.append(
    el("div", "card-name", m.name),
    el("div", "card-role", roleLabel(m.role)),
    el("div", "card-area", area),
    el("div", "card-code", code.code),
    el("div", "card-expiry", t("admin.expiresAt", { time: fmtDayTime(code.expires_at) })),
  );
  card.append(img, text, el("p", "card-how", t("card.how")));
  return card;
}

/**
 * Prints one of the print areas. Images must be decoded first or the browser may print
 * blank squares where the QR codes go.
 */
async function printArea(which) {
  document.body.dataset.print = which;
  const imgs = [...$(which === "one" ? "print-one" : "print-sheet").querySelectorAll("img")];
  await Promise.all(imgs.map((img) => img.decode().catch(() => {})));
  window.print();
}

// ---------------------------------------------------------------- sheet tab

/** Staff in the node's subtree: anyone with at least one of their areas inside it. */
function staffUnder(nodeId) {
  const ids = subtree(nodeId);
  return page.staff.filter((m) => (m.nodes ?? []).some((n) => ids.has(n.id)));
}

/** The order of the printed cards: the same as the staff table, grid by grid. */
function inTableOrder(people) {
  return people
    .map((m) => ({ m, group: staffGroup(m) }))
    .sort((a, b) => compareGroups(a.group, b.group) || compareStaff(a.m, b.m))
    .map(({ m }) => m);
}

function renderSheetOptions() {
  const tree = page.tree;
  if (!tree) return;
  const select = $("sheet-node");
  const options = tree.order.map((id) => {
    const node = tree.byId.get(id);
    const indent = "\u3000".repeat(tree.depth.get(id) ?? 0);
    const count = t("admin.sheetPeople", { n: fmtInt(staffUnder(id).length) });
    const option = el("option", null, `${indent}${node.name}（${count}）`);
    option.value = String(id);
    return option;
  });
  select.replaceChildren(...options);
  if (page.sheet.nodeId == null || !tree.byId.has(page.sheet.nodeId)) page.sheet.nodeId = tree.order[0] ?? null;
  if (page.sheet.nodeId != null) select.value = String(page.sheet.nodeId);
  $("sheet-make").disabled = page.sheet.busy || page.sheet.nodeId == null;
}

function sheetStatus(text) {
  $("sheet-status").textContent = text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A code for one person, waiting out a 429 a few times. `stop` means there is no point
 * going on (signed out); otherwise a failure is that person's alone.
 */
async function codeFor(m) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { code: await createCode(m) };
    } catch (e) {
      const problem = problemOf(e);
      if (problem.status === 401) return { stop: true, problem };
      const wait = problem.retryAfter ?? 5;
      if (problem.status !== 429 || attempt >= SHEET_TRIES || wait > SHEET_MAX_WAIT_S) return { problem };
      sheetStatus(t("admin.sheetWaiting", { wait: fmtWait(wait) }));
      await sleep(wait * 1000);
    }
  }
}

/**
 * Makes a code for each person, one after the other (a village's grid is tens of people,
 * and one at a time keeps well inside any rate limit), then lays out the cards and prints.
 */
async function makeSheet() {
  const nodeId = page.sheet.nodeId;
  if (page.sheet.busy || nodeId == null) return;
  const people = inTableOrder(staffUnder(nodeId));
  const sheet = $("print-sheet");
  if (!people.length) {
    sheetStatus(t("admin.sheetEmpty"));
    return;
  }
  page.sheet.busy = true;
  $("sheet-make").disabled = true;
  $("sheet-reprint").hidden = true;
  $("sheet-failures").hidden = true;
  sheet.replaceChildren();
  sheet.dataset.state = "working";
  const bar = $("sheet-bar");
  bar.hidden = false;
  bar.max = people.length;
  bar.value = 0;

  const ids = subtree(nodeId);
  const cards = [];
  const failures = [];
  for (const [i, m] of people.entries()) {
    sheetStatus(t("admin.sheetProgress", { i: fmtInt(i + 1), n: fmtInt(people.length), name: m.name }));
    const result = await codeFor(m);
    bar.value = i + 1;
    if (result.code) {
      const area = (m.nodes ?? []).filter((n) => ids.has(n.id)).map((n) => n.name).join("、");
      cards.push(pairingCard(m, result.code, area, true));
    } else {
      failures.push({ m, problem: result.problem });
      if (result.stop) break;
    }
  }
  page.sheet.busy = false;
  $("sheet-make").disabled = false;
  bar.hidden = true;
  sheet.replaceChildren(...sheetPages(nodeId, cards));
  sheet.dataset.state = "ready";
  sheet.dataset.cards = String(cards.length);
  sheetStatus(t("admin.sheetDone", { n: fmtInt(cards.length) }));
  renderFailures(failures);
  $("sheet-reprint").hidden = cards.length === 0;
  if (cards.length) await printArea("sheet");
}

/** Cards in pages of eight, each page headed with the grid and when the codes were made. */
function sheetPages(nodeId, cards) {
  const pages = [];
  for (let i = 0; i < cards.length; i += CARDS_PER_PAGE) {
    const pageEl = el("div", "sheet-page");
    const head = el("header", "sheet-head");
    head.append(
      el("strong", null, t("admin.sheetHeading", { node: nodePath(nodeId) })),
      el("span", null, t("admin.sheetPrinted", { time: fmtDateTime(new Date()) })),
    );
    const grid = el("div", "sheet-cards");
    grid.append(...cards.slice(i, i + CARDS_PER_PAGE));
    pageEl.append(head, grid);
    pages.push(pageEl);
  }
  return pages;
}

function renderFailures(failures) {
  const list = $("sheet-failures");
  list.hidden = failures.length === 0;
  if (!failures.length) return;
  const items = failures.map(({ m, problem }) => el("li", null, `${m.name}：${problemText(problem)}`));
  list.replaceChildren(el("li", "failures-head", t("admin.sheetFailed", { n: fmtInt(failures.length) })), ...items);
}

// ---------------------------------------------------------------- audit tab

/** Loads the newest entries, or (more) the page after the last one shown. */
async function loadAudit(more) {
  const audit = page.audit;
  if (audit.busy) return;
  audit.busy = true;
  $("audit-more").disabled = true;
  const query = new URLSearchParams({ limit: String(AUDIT_PAGE_SIZE) });
  if (more && audit.next) query.set("cursor", audit.next);
  const lang = getLang();
  try {
    const answer = await api("GET", `/api/audit?${query}`);
    // A page boundary can move while entries are added: never show one entry twice.
    const entries = more ? audit.entries : [];
    const seen = new Set(entries.map((e) => e.id));
    for (const entry of answer.entries ?? []) if (!seen.has(entry.id)) entries.push(entry);
    audit.entries = entries;
    audit.next = answer.next ?? null;
    audit.loaded = true;
    audit.lang = lang;
  } catch (e) {
    showError(e);
  } finally {
    audit.busy = false;
    renderAudit();
  }
}

function renderAudit() {
  const audit = page.audit;
  const rows = audit.entries.map((entry) => {
    const tr = el("tr");
    tr.dataset.testid = "audit-row";
    tr.dataset.auditId = String(entry.id);
    const time = el("td", "num", fmtDateTime(entry.at));
    const who = el("td", null, entry.staff_name || (entry.staff_id != null ? `#${entry.staff_id}` : t("common.none")));
    const what = el("td", null, String(entry.label || entry.what || ""));
    tr.append(time, who, what, el("td", "detail", detailText(entry.detail)));
    return tr;
  });
  $("audit-body").replaceChildren(...rows);
  $("audit-empty").hidden = !audit.loaded || rows.length > 0;
  $("audit-more").hidden = !audit.next;
  $("audit-more").disabled = audit.busy;
}

/** A detail may be text or an object of specifics: objects read as "key: value · …". */
function detailText(detail) {
  if (detail == null) return "";
  if (typeof detail !== "object") return String(detail);
  return Object.entries(detail)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}

// ---------------------------------------------------------------- cards tab

/**
 * Opens the cards document (`query`: "" for all, "household=ID" for one) in a window of
 * its own: it is the server's self-contained A4 page with its own print CSS, which this
 * page's policy could not show inline. A window cannot send a header, so the token rides
 * in the address (the server sends it with no-referrer and no-store).
 */
function openCards(query) {
  const params = new URLSearchParams(query);
  params.set("token", sessionToken() ?? "");
  const opened = window.open(`/api/cards?${params}`, "_blank");
  $("cards-status").textContent = t(opened ? "admin.cardsOpened" : "admin.cardsBlocked");
  return opened;
}

/** The household a number names, as the server's one-card document shows it; throws ApiProblem. */
async function householdByNumber(number) {
  const res = await fetch(`/api/cards?${new URLSearchParams({ number })}`, {
    headers: { Authorization: `Bearer ${sessionToken()}`, "Accept-Language": getLang() },
    cache: "no-store",
  }).catch(() => null);
  if (!res) throw new ApiProblem({ code: "network", status: 0 });
  if (res.status === 401) {
    forgetToken();
    signedOut();
  }
  if (!res.ok) throw new ApiProblem({ ...(await res.json().catch(() => ({}))), status: res.status });
  // Read as text, never as markup: the card's own attributes name the household.
  const html = await res.text();
  const id = Number(/data-household-id="(\d+)"/.exec(html)?.[1]);
  const address = /<dd class="address">([^<]*)<\/dd>/.exec(html)?.[1] ?? "";
  return { id, address: unescapeHtml(address) };
}

/** Text the server escaped for HTML (& < > " '), back as it was. */
function unescapeHtml(text) {
  const named = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name) => named[name]);
}

async function reissueCard() {
  const number = $("reissue-number").value.trim();
  if (!number) {
    $("cards-status").textContent = t("admin.reissueNeedNumber");
    return;
  }
  $("reissue-make").disabled = true;
  try {
    const household = await householdByNumber(number);
    const ok = await confirmDialog(t("admin.reissueConfirm", { number, address: household.address }), t("admin.reissueWarning"));
    if (!ok) return;
    const done = await api("POST", `/api/cards/${encodeURIComponent(household.id)}/reissue`, {});
    flash(t("admin.reissueDone", { number, replaced: fmtInt(done.replaced) }));
    $("reissue-number").value = "";
    openCards(`household=${household.id}`);
  } catch (e) {
    showError(e);
  } finally {
    $("reissue-make").disabled = false;
  }
}

// ---------------------------------------------------------------- dialogs and messages

/** Ask before doing something that cannot be undone; resolves true for OK only. */
function confirmDialog(text, warning) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  $("confirm-warning").textContent = warning;
  $("confirm-warning").hidden = !warning;
  dialog.returnValue = "";
  dialog.showModal();
  // Cancel is focused, so a stray Enter does not revoke anything.
  dialog.querySelector('[value="cancel"]').focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

function openPasswordDialog(m) {
  page.passwordFor = m;
  $("password-title").textContent = t("admin.passwordTitle", { name: m.name });
  $("password-input").value = "";
  $("password-input").type = "password";
  $("password-show").checked = false;
  $("password-error").hidden = true;
  $("password-save").disabled = false;
  $("password-dialog").showModal();
  $("password-input").focus();
}

async function savePassword() {
  const m = page.passwordFor;
  const password = $("password-input").value;
  const error = $("password-error");
  // Counted in characters as a person sees them, not UTF-16 units.
  if ([...password].length < 10) {
    error.textContent = t("admin.passwordShort");
    error.hidden = false;
    return;
  }
  $("password-save").disabled = true;
  try {
    await api("PUT", `/api/staff/${encodeURIComponent(m.id)}/password`, { password });
  } catch (e) {
    const problem = problemOf(e);
    const ours = problem.code === "invalid_field" ? t("admin.passwordShort") : problemText(problem);
    error.textContent = withServerMessage(ours, problem);
    error.hidden = false;
    $("password-save").disabled = false;
    return;
  }
  $("password-input").value = "";
  $("password-dialog").close();
  flash(t("admin.passwordSaved", { name: m.name }));
}

function closeDialogs() {
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
}

/** Our words, then the server's own message when it says something more. */
function withServerMessage(text, problem) {
  const detail = serverDetail(problem, text);
  return detail ? `${text}（${detail}）` : text;
}

let flashTimer = 0;

function flash(text, kind = "ok") {
  const box = $("message");
  box.dataset.kind = kind;
  $("message-text").textContent = text;
  box.hidden = false;
  clearTimeout(flashTimer);
  if (kind === "ok") flashTimer = setTimeout(() => (box.hidden = true), FLASH_MS);
}

function showError(e) {
  const problem = problemOf(e);
  // A 401 has already turned the whole page into "please sign in".
  if (problem.status === 401) return;
  flash(withServerMessage(problemText(problem), problem), "error");
}

// ---------------------------------------------------------------- page and tabs

function renderNotice() {
  const notice = page.notice;
  $("notice").hidden = !notice;
  $("admin").hidden = notice != null;
  document.body.classList.toggle("has-notice", notice != null);
  if (!notice) return;
  $("notice-title").textContent = t(notice.title, notice.vars);
  $("notice-body").textContent = notice.text ?? (notice.body ? t(notice.body, notice.vars) : "");
  $("notice-action").hidden = !notice.login;
}

function showTab(tab) {
  page.tab = TABS.includes(tab) ? tab : "staff";
  document.body.dataset.tab = page.tab;
  for (const name of TABS) {
    $(`panel-${name}`).hidden = name !== page.tab;
    $(`tab-${name}`).setAttribute("aria-selected", String(name === page.tab));
  }
  // In the address, so a reload (or a bookmark) comes back to the same tab.
  history.replaceState(history.state, "", `${location.pathname}${location.search}#${page.tab}`);
  if (page.tab === "audit" && !page.audit.loaded) loadAudit(false);
}

/** Everything drawn from data, again, in the new language. Printed cards keep theirs. */
function renderAll() {
  renderNotice();
  renderStaff();
  renderPoints();
  renderSheetOptions();
  renderAudit();
  // The server words each entry (label and detail) in the language asked for: ask again.
  if (page.audit.loaded && page.audit.lang !== getLang()) loadAudit(false);
}

/** Fixed text that data-i18n cannot reach. */
function relabel() {
  document.title = t("admin.pageTitle");
  $("staff-filter").placeholder = t("admin.filterHint");
}

function wire() {
  mountHeader();
  wireLanguage({ relabel, redraw: renderAll });
  for (const name of TABS) $(`tab-${name}`).addEventListener("click", () => showTab(name));
  $("staff-filter").addEventListener("input", (event) => {
    page.filter = event.target.value;
    renderStaff();
  });
  $("staff-refresh").addEventListener("click", reloadStaff);
  $("sheet-node").addEventListener("change", (event) => {
    page.sheet.nodeId = Number(event.target.value);
  });
  $("sheet-make").addEventListener("click", makeSheet);
  $("sheet-reprint").addEventListener("click", () => printArea("sheet"));
  $("cards-print").addEventListener("click", () => openCards(""));
  $("reissue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    reissueCard();
  });
  $("audit-refresh").addEventListener("click", () => loadAudit(false));
  $("audit-more").addEventListener("click", () => loadAudit(true));
  $("message-close").addEventListener("click", () => ($("message").hidden = true));
  $("pairing-print").addEventListener("click", printOneCard);
  $("pairing-close").addEventListener("click", () => $("pairing-dialog").close());
  // No refetch here (each staff read is audited): "刷新" shows the newly paired phone.
  $("pairing-dialog").addEventListener("close", () => (page.pairing = null));
  $("password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    savePassword();
  });
  $("password-cancel").addEventListener("click", () => $("password-dialog").close());
  $("staff-add").addEventListener("click", () => openStaffDialog(null));
  $("staff-role").addEventListener("change", showRoleFields);
  $("staff-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveStaff();
  });
  $("staff-cancel").addEventListener("click", () => $("staff-dialog").close());
  $("point-add").addEventListener("click", () => openPointDialog(null));
  $("point-form").addEventListener("submit", (event) => {
    event.preventDefault();
    savePoint();
  });
  $("point-cancel").addEventListener("click", () => $("point-dialog").close());
  $("password-show").addEventListener("change", (event) => {
    $("password-input").type = event.target.checked ? "text" : "password";
  });
  window.addEventListener("afterprint", () => delete document.body.dataset.print);
}

/**
 * Who is signed in, then (for an admin or the chief) staff and areas. A network failure
 * is retried on its own; a 401 or 403 is final and says what to do.
 */
async function load() {
  page.notice = { title: "notice.loading", body: null, vars: {} };
  renderNotice();
  try {
    page.me = await api("GET", "/api/me");
    showUser(page.me);
    if (!MANAGER_ROLES.includes(page.me.role)) {
      page.notice = { title: "admin.noAccessTitle", body: "admin.noAccessBody", vars: { role: roleLabel(page.me.role) } };
      renderNotice();
      return;
    }
    await loadStaff();
  } catch (e) {
    loadFailed(problemOf(e));
    return;
  }
  page.notice = null;
  renderNotice();
  showTab(location.hash.slice(1));
}

function loadFailed(problem) {
  if (problem.status === 401) return; // signedOut() has said it.
  if (problem.status === 403) {
    page.notice = { title: "admin.noAccessTitle", body: "admin.noAccessBody", vars: { role: roleLabel(page.me?.role) } };
  } else {
    page.notice = { title: "notice.errorTitle", text: `${problemText(problem)} ${t("notice.errorBody", { s: RETRY_LOAD_S })}`, vars: {} };
    setTimeout(load, RETRY_LOAD_S * 1000);
  }
  renderNotice();
}

function start() {
  wire();
  if (!startSession(signedOut)) {
    signedOut();
    return;
  }
  load();
}

start();
