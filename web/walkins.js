// The clerk's walk-in queue (外来人员核实), at a laptop, the morning after: everyone a
// sampling point registered who is not on the roster, each decided on once —
//   确认入册  a new resident: search a household by its number, pick it, confirm;
//   合并      the same person as a resident on the roster: search by name, ID digits or
//             household, pick them, confirm (one person, one sample);
//   驳回      a wrong registration, with the reason.
// Each decision is POST /api/actions/{id}/walk-ins/{seq} with an id made at the confirm, so
// a retry after a lost answer is a repeat; the server audits it. Searches go to
// GET /api/actions/{id}/lookup (the whole roster, ID numbers masked).
//
// All text from the server goes in through textContent. Written for old browsers.

import { fmtDateTime, fmtInt, problemText, t } from "./i18n.js";
import { startDesk } from "./header.js";
import { uuidv7 } from "./outbox.js";
import { $, MANAGER_ROLES, api, el, fillActionPicker, pickAction, problemOf } from "./session.js";

const page = {
  me: null,
  actions: [],
  actionId: null,
  walkIns: [],
  /** The walk-in being decided on (its seq), what is being done, its step's state. */
  open: null,
};

function actionPath(rest) {
  return `/api/actions/${page.actionId}${rest}`;
}

async function load() {
  try {
    const data = await api("GET", actionPath("/walk-ins"));
    page.walkIns = data.walk_ins || [];
  } catch (e) {
    status({ text: problemText(problemOf(e)), cls: "bad" });
  }
  render();
}

function status(s) {
  const line = $("wi-status");
  line.textContent = s ? s.text : "";
  line.className = `status ${s ? s.cls || "" : ""}`;
}

// ---------------------------------------------------------------- deciding

/** Starts one decision on a walk-in: `confirm`, `merge` or `reject`. */
function begin(seq, decision) {
  page.open = { seq, decision, query: "", found: [], picked: null, note: "", problem: null, id: null, busy: false };
  render();
  const input = document.querySelector(`[data-seq="${seq}"] .wi-step input`);
  if (input) input.focus();
}

async function searchFor(q) {
  const o = page.open;
  o.query = q;
  o.picked = null;
  o.problem = null;
  if (!q.trim()) {
    o.found = [];
    return render();
  }
  try {
    const data = await api("GET", actionPath(`/lookup?q=${encodeURIComponent(q.trim())}`));
    if (page.open !== o) return;
    o.found = data.residents || [];
  } catch (e) {
    o.found = [];
    o.problem = problemText(problemOf(e));
  }
  render();
}

async function decide() {
  const o = page.open;
  if (!o || o.busy) return;
  const body = { id: o.id || uuidv7(), decision: o.decision, note: o.note.trim() };
  // The same id for a retry of the same decision: the server answers it as a repeat.
  o.id = body.id;
  if (o.decision === "confirm") body.household_id = o.picked.household_id;
  if (o.decision === "merge") body.resident_id = o.picked.id;
  o.busy = true;
  render();
  try {
    const answer = await api("POST", actionPath(`/walk-ins/${o.seq}`), body);
    page.open = null;
    status({ text: t(`wi.done.${o.decision}`, { n: answer.resident_id == null ? "" : `#${answer.resident_id}` }), cls: "good" });
    await load();
  } catch (e) {
    o.busy = false;
    o.problem = problemText(problemOf(e));
    render();
  }
}

// ---------------------------------------------------------------- drawing

function render() {
  const pending = page.walkIns.filter((w) => !w.resolution);
  const done = page.walkIns.filter((w) => w.resolution);
  $("pending-title").textContent = t("wi.pending", { n: fmtInt(pending.length) });
  $("done-title").textContent = t("wi.decided", { n: fmtInt(done.length) });
  $("done-title").hidden = done.length === 0;
  $("pending").replaceChildren(...(pending.length ? pending.map(card) : [el("li", "wi-facts", t("wi.none"))]));
  $("done").replaceChildren(...done.map(card));
}

function card(w) {
  const li = el("li", "wi-card");
  li.dataset.seq = String(w.seq);
  li.dataset.testid = "walk-in";
  const who = el("div", "wi-who");
  who.append(el("b", "wi-name", w.name), el("span", "wi-facts", w.id_number));
  if (w.phone) who.append(el("span", "wi-facts", w.phone));
  const facts = el("div", "wi-facts", t("wi.facts", {
    stays: w.stays_at, point: w.point, time: fmtDateTime(w.sampled_at), n: fmtInt(w.samples),
  }));
  li.append(who, facts);
  if (w.resolution) {
    const said = t(`wi.resolution.${w.resolution}`, { n: w.resident_id == null ? "" : `#${w.resident_id}` });
    li.append(el("div", "wi-facts", said));
    return li;
  }
  const o = page.open && page.open.seq === w.seq ? page.open : null;
  const buttons = el("div", "wi-buttons");
  for (const decision of ["confirm", "merge", "reject"]) {
    const b = el("button", `wi-button${o && o.decision === decision ? " primary" : ""}`, t(`wi.${decision}`));
    b.type = "button";
    b.dataset.testid = `wi-${decision}`;
    b.addEventListener("click", () => begin(w.seq, decision));
    buttons.append(b);
  }
  li.append(buttons);
  if (o) li.append(step(o, w));
  return li;
}

/** The open decision's step: search and pick (confirm, merge), the reason (reject), confirm. */
function step(o, w) {
  const box = el("div", "wi-step");
  if (o.decision !== "reject") {
    const label = el("label", "wi-facts", t(o.decision === "confirm" ? "wi.searchHousehold" : "wi.searchResident"));
    const input = el("input");
    input.type = "search";
    input.value = o.query;
    input.dataset.testid = "wi-search";
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") searchFor(input.value);
    });
    label.append(input);
    box.append(label);
    const list = el("ol", "wi-pick");
    for (const option of options(o)) {
      const li = el("li");
      const b = el("button", option.picked ? "primary" : "", option.text);
      b.type = "button";
      b.dataset.testid = "wi-option";
      b.addEventListener("click", () => {
        o.picked = option.value;
        render();
      });
      li.append(b);
      list.append(li);
    }
    box.append(list);
    if (o.query && !options(o).length && !o.problem) box.append(el("p", "wi-facts", t("wi.noneFound")));
  } else {
    const label = el("label", "wi-facts", t("wi.reason"));
    const input = el("input");
    input.value = o.note;
    input.maxLength = 500;
    input.dataset.testid = "wi-reason";
    input.addEventListener("input", () => {
      o.note = input.value;
      yes.disabled = !o.note.trim() || o.busy;
    });
    label.append(input);
    box.append(label);
  }
  const ask = confirmText(o, w);
  if (ask) box.append(el("p", "", ask));
  const yes = el("button", `wi-button ${o.decision === "reject" ? "danger" : "primary"}`, t(`wi.yes.${o.decision}`));
  yes.type = "button";
  yes.dataset.testid = "wi-yes";
  yes.disabled = o.busy || (o.decision === "reject" ? !o.note.trim() : !o.picked);
  yes.addEventListener("click", decide);
  const no = el("button", "wi-button", t("common.cancel"));
  no.type = "button";
  no.addEventListener("click", () => {
    page.open = null;
    render();
  });
  const row = el("div", "wi-buttons");
  row.append(yes, no);
  box.append(row);
  if (o.problem) box.append(el("p", "wi-problem", o.problem));
  return box;
}

/** What can be picked: households (confirm; each once) or residents (merge). */
function options(o) {
  if (o.decision === "confirm") {
    const seen = new Set();
    return o.found
      .filter((r) => !seen.has(r.household_id) && seen.add(r.household_id))
      .map((r) => ({
        value: r,
        picked: o.picked && o.picked.household_id === r.household_id,
        text: t("wi.householdOption", { number: r.household, address: r.address || "", grid: r.grid || "" }),
      }));
  }
  return o.found.map((r) => ({
    value: r,
    picked: o.picked && o.picked.id === r.id,
    text: t("wi.residentOption", { name: r.name, id: r.id_number, number: r.household, grid: r.grid || "" }),
  }));
}

function confirmText(o, w) {
  if (!o.picked) return "";
  if (o.decision === "confirm") return t("wi.ask.confirm", { name: w.name, number: o.picked.household });
  if (o.decision === "merge") return t("wi.ask.merge", { name: w.name, resident: o.picked.name, id: o.picked.id_number });
  return "";
}

// ---------------------------------------------------------------- start-up

function showNotice(what) {
  $("wi").hidden = true;
  $("notice").hidden = false;
  $("notice-title").textContent = t(what.title);
  $("notice-body").textContent = t(what.body, what.vars || {});
  $("notice-signin").hidden = !what.signIn;
}


async function start() {
  const notice = (title, body, vars, signIn = false) => showNotice({ title, body, vars, signIn });
  page.me = await startDesk({
    roles: MANAGER_ROLES,
    pageTitle: "wi.pageTitle",
    signInBody: "wi.signInBody",
    noAccessBody: "wi.noAccessBody",
    redraw: render,
    notice,
  });
  if (!page.me) return;
  try {
    page.actions = await api("GET", "/api/actions");
  } catch (e) {
    return showNotice({ title: "notice.errorTitle", body: "lab.unreachable" });
  }
  if (!page.actions.length) return showNotice({ title: "notice.noActionsTitle", body: "wi.noActionsBody" });
  page.actionId = pickAction(page.actions);
  const select = fillActionPicker(page.actions, page.actionId);
  select.addEventListener("change", () => {
    page.actionId = Number(select.value);
    page.open = null;
    load();
  });
  $("wi").hidden = false;
  await load();
}

start();
