// The lab's page (检测机构), at a laptop: the tubes still waiting for a result, one tube's
// result entered (its code typed, or scanned by a wedge scanner that types it and Enter;
// then 阴性 or 阳性 with big buttons, then a confirmation, and for 阳性 a second one: a
// positive pooled tube sends its ten people and their households into isolation), and a
// results sheet uploaded to POST /api/actions/{id}/results, checked first (a dry run)
// and recorded by a second press, with every problem the server names shown in a table.
//
// One tube's result is one `tube_result` event through POST /api/actions/{id}/events,
// with its id made at the confirmation: a retry after a lost answer sends the same id,
// which the server answers as a repeat. Nothing is queued offline here: a lab at a laptop
// is told at once that a result was not recorded, and can press again.
//
// All text from the server goes in through textContent. Written for old browsers: no
// private fields, no `??=`.

import { fmtInt, fmtTime, getLang, problemText, roleLabel, t } from "./i18n.js";
import { mountHeader, showUser } from "./header.js";
import { uuidv7 } from "./outbox.js";
import { $, el, fillActionPicker, pickAction, problemOf, api, sessionToken, startSession, wireLanguage } from "./session.js";

/** The roles that enter results; the server checks it on every request anyway. */
const LAB_ROLES = ["admin", "chief", "lab"];
/** What a tube's barcode holds (the server's rule): letters, digits and -_./, at most 64. */
const TUBE_CODE = /^[A-Za-z0-9._/-]{1,64}$/;
const PAGE_SIZE = 50;

const page = {
  me: null,
  actions: [],
  actionId: null,
  /** The waiting list as loaded: tubes, the cursor for more, the counts. */
  waiting: [],
  next: null,
  counts: null,
  /** The tube being entered: the server's view of it, or null. */
  tube: null,
  /** negative | positive, once chosen. */
  result: null,
  /** 0: choosing; 1: first confirmation; 2: a positive's second. */
  step: 0,
  /** The event id made at the (last) confirmation, kept for a retry of the same result. */
  pending: null,
  busy: false,
  /** What the one-tube status line says: { key, vars, cls } or { text, cls }. */
  oneStatus: null,
  /** The chosen file, its dry run's answer or problems, and the status line. */
  file: null,
  report: null,
  problems: null,
  sheetStatus: null,
  notice: null,
};

// ---------------------------------------------------------------- the server

function actionPath(rest) {
  return `/api/actions/${page.actionId}${rest}`;
}

async function loadWaiting(more) {
  if (page.actionId == null) return;
  const cursor = more && page.next ? `&cursor=${encodeURIComponent(page.next)}` : "";
  try {
    const data = await api("GET", actionPath(`/tubes?waiting=true&limit=${PAGE_SIZE}${cursor}`));
    page.waiting = more ? page.waiting.concat(data.tubes) : data.tubes;
    page.next = data.next || null;
    page.counts = data.counts;
  } catch (e) {
    page.counts = null;
    page.waiting = [];
    page.next = null;
    setOne({ text: problemText(problemOf(e)), cls: "bad" });
  }
  renderWaiting();
}

async function findTube(raw) {
  const code = String(raw || "").normalize("NFKC").trim();
  resetTube();
  if (!code) return render();
  if (!TUBE_CODE.test(code)) {
    setOne({ key: "lab.codeBad", vars: { code: code.slice(0, 30) }, cls: "bad" });
    return;
  }
  page.busy = true;
  render();
  try {
    page.tube = await api("GET", actionPath(`/tubes/${encodeURIComponent(code)}`));
    page.oneStatus = null;
  } catch (e) {
    const problem = problemOf(e);
    page.oneStatus = problem.code === "not_found"
      ? { key: "lab.noSuchTube", vars: { code }, cls: "bad" }
      : { text: problemText(problem), cls: "bad" };
  }
  page.busy = false;
  render();
  // Ready for the next thing to press: the buttons when there is a choice, else the code box.
  if (page.tube && !page.tube.result) $("negative").focus();
  else $("code").select();
}

async function sendResult() {
  const tube = page.tube;
  const result = page.result;
  if (!tube || !result || page.busy) return;
  page.busy = true;
  render();
  const body = { events: [{ id: page.pending, type: "tube_result", tube: tube.code, result }] };
  try {
    await api("POST", actionPath("/events"), body);
    const key = result === "positive" ? "lab.recordedPositive" : "lab.recordedNegative";
    resetTube();
    page.oneStatus = { key, vars: { code: tube.code, n: fmtInt(tube.count) }, cls: result === "positive" ? "bad" : "good" };
    $("code").value = "";
    loadWaiting(false);
  } catch (e) {
    const problem = problemOf(e);
    // Not recorded; the same id goes again on the next press (a repeat if it did arrive).
    page.oneStatus = { text: t("lab.notRecorded", { why: problemText(problem) }), cls: "bad" };
    if (problem.status && problem.status !== 0 && problem.status < 500) {
      // Refused: the server's word is final for this choice.
      page.step = 0;
      page.pending = null;
    }
  }
  page.busy = false;
  render();
  $("code").focus();
}

/** Sends the chosen file; the answer or the problem. */
async function sendSheet(dryRun) {
  const file = page.file;
  const query = new URLSearchParams({ filename: file.name, dry_run: String(dryRun) });
  let response;
  try {
    response = await fetch(actionPath(`/results?${query}`), {
      method: "POST",
      headers: {
        Authorization: `Bearer ${sessionToken()}`,
        "Content-Type": "application/octet-stream",
        Accept: "application/json",
        // The problems' words come in the page's language.
        "Accept-Language": getLang(),
      },
      body: file,
      cache: "no-store",
    });
  } catch {
    return { problem: { code: "network", status: 0 } };
  }
  const json = await response.json().catch(() => ({}));
  return response.ok ? { data: json } : { problem: Object.assign({}, json, { status: response.status }) };
}

async function checkSheet() {
  page.report = null;
  page.problems = null;
  page.sheetStatus = { key: "lab.checking" };
  renderSheet();
  const { data, problem } = await sendSheet(true);
  if (data) {
    page.report = data;
    page.sheetStatus = data.recorded > 0
      ? { key: data.positives.length ? "lab.checkedWithPositives" : "lab.checked", vars: reportVars(data), cls: "good" }
      : { key: "lab.checkedNothingNew", vars: reportVars(data), cls: "good" };
  } else {
    showSheetProblem(problem);
  }
  renderSheet();
}

async function recordSheet() {
  if (!page.report || page.busy) return;
  page.busy = true;
  page.sheetStatus = { key: "lab.recording" };
  renderSheet();
  const { data, problem } = await sendSheet(false);
  page.busy = false;
  page.report = null;
  if (data) {
    page.sheetStatus = {
      key: data.positives.length ? "lab.sheetRecordedWithPositives" : "lab.sheetRecorded",
      vars: reportVars(data),
      cls: data.positives.length ? "bad" : "good",
    };
    page.file = null;
    $("file").value = "";
    loadWaiting(false);
  } else {
    showSheetProblem(problem);
  }
  renderSheet();
}

function reportVars(r) {
  return { n: fmtInt(r.recorded), repeats: fmtInt(r.repeats), p: fmtInt(r.positives.length), codes: r.positives.join("、") };
}

function showSheetProblem(problem) {
  if (problem.code === "results_invalid") {
    page.problems = problem.problems || [];
    page.sheetStatus = { key: "lab.sheetInvalid", vars: { n: fmtInt(page.problems.length) }, cls: "bad" };
  } else {
    page.sheetStatus = { text: t("lab.notRecorded", { why: problemText(problem) }), cls: "bad" };
  }
}

// ---------------------------------------------------------------- the one tube

function resetTube() {
  page.tube = null;
  page.result = null;
  page.step = 0;
  page.pending = null;
  page.oneStatus = null;
}

function choose(result) {
  if (!page.tube || page.tube.result || page.busy) return;
  page.result = result;
  page.step = 1;
  page.pending = null;
  render();
  $("confirm-yes").focus();
}

function confirmYes() {
  if (page.busy) return;
  if (page.result === "positive" && page.step === 1) {
    page.step = 2;
    render();
    $("confirm-yes").focus();
    return;
  }
  // The id of this result is made when the person confirms it, once.
  if (!page.pending) page.pending = uuidv7();
  sendResult();
}

function confirmNo() {
  page.result = null;
  page.step = 0;
  page.pending = null;
  render();
  $("negative").focus();
}

function setOne(status) {
  page.oneStatus = status;
  render();
}

// ---------------------------------------------------------------- rendering

function said(status) {
  if (!status) return "";
  return status.key ? t(status.key, status.vars || {}) : status.text;
}

function showStatus(node, status) {
  node.textContent = said(status);
  node.className = `status${status && status.cls ? ` ${status.cls}` : ""}`;
}

function resultTag(result) {
  if (!result) return el("span", "tag waiting", t("lab.tagWaiting"));
  return el("span", `tag ${result}`, t(result === "positive" ? "lab.positive" : "lab.negative"));
}

function render() {
  const tube = page.tube;
  const line = $("tube");
  line.hidden = !tube;
  if (tube) {
    const state = tube.closed ? t("lab.closed") : t("lab.open");
    line.replaceChildren(
      el("b", null, tube.code),
      document.createTextNode(` · ${t("lab.tubeAt", { point: tube.point, n: fmtInt(tube.count), size: tube.size })} · ${state} · ${t("lab.openedAt", { time: fmtTime(tube.opened_at) })}`),
      resultTag(tube.result),
    );
    if (tube.result) {
      line.append(el("span", "muted", ` ${t("lab.alreadyEntered")}`));
    }
  }
  const choosing = Boolean(tube && !tube.result);
  $("choose").hidden = !choosing;
  $("negative").disabled = page.busy;
  $("positive").disabled = page.busy;
  $("negative").setAttribute("aria-pressed", String(page.result === "negative"));
  $("positive").setAttribute("aria-pressed", String(page.result === "positive"));

  const confirm = $("confirm");
  confirm.hidden = !choosing || page.step === 0;
  if (!confirm.hidden) {
    const vars = { code: tube.code, n: fmtInt(tube.count) };
    const positive = page.result === "positive";
    confirm.dataset.result = page.result;
    let text = t("lab.confirmNegative", vars);
    let yes = t("lab.confirmNegativeYes");
    if (positive && page.step === 1) {
      text = t("lab.confirmPositive", vars);
      yes = t("lab.confirmPositiveYes");
    } else if (positive) {
      text = t("lab.confirmPositiveAgain", vars);
      yes = t("lab.confirmPositiveAgainYes");
    }
    $("confirm-text").textContent = text;
    const button = $("confirm-yes");
    button.textContent = page.busy ? t("lab.sending") : yes;
    button.className = `lab-button ${positive ? "danger" : "primary"}`;
    button.disabled = page.busy;
    button.dataset.step = String(page.step);
  }
  showStatus($("one-status"), page.oneStatus);
}

function renderWaiting() {
  const counts = page.counts;
  const line = $("counts");
  line.replaceChildren();
  if (counts) {
    const part = (key, n, cls) => {
      const b = el("b", cls || null, fmtInt(n));
      const words = t(key, { n: "\u0000" }).split("\u0000");
      return [document.createTextNode(words[0]), b, document.createTextNode(words[1] || "")];
    };
    const parts = [
      part("lab.countWaiting", counts.waiting, "waiting"),
      part("lab.countOpen", counts.open),
      part("lab.countNegative", counts.negative),
      part("lab.countPositive", counts.positive, counts.positive ? "positive" : null),
    ];
    parts.forEach((p, i) => {
      if (i > 0) line.append(document.createTextNode(" · "));
      line.append.apply(line, p);
    });
  }
  const body = $("waiting");
  body.replaceChildren.apply(body, page.waiting.map((tube) => {
    const tr = el("tr");
    tr.dataset.testid = "waiting-row";
    tr.dataset.code = tube.code;
    tr.append(el("td", "code", tube.code), el("td", null, tube.point), el("td", "num", fmtInt(tube.count)), el("td", "num", fmtTime(tube.opened_at)));
    tr.title = t("lab.rowHint");
    tr.addEventListener("click", () => {
      $("code").value = tube.code;
      findTube(tube.code);
    });
    return tr;
  }));
  const empty = $("waiting-empty");
  empty.hidden = page.waiting.length > 0 || !counts;
  empty.textContent = t("lab.waitingNone");
  $("more").hidden = !page.next;
}

function renderSheet() {
  $("file-name").textContent = page.file ? page.file.name : t("lab.noFile");
  showStatus($("sheet-status"), page.sheetStatus);
  const button = $("record-sheet");
  const report = page.report;
  button.hidden = !report || report.recorded === 0;
  if (report && report.recorded > 0) {
    button.textContent = t(report.positives.length ? "lab.recordSheetPositive" : "lab.recordSheet", reportVars(report));
    button.className = `lab-button ${report.positives.length ? "danger" : "primary"}`;
  }
  button.disabled = page.busy;
  const box = $("problems");
  box.replaceChildren();
  if (page.problems && page.problems.length) box.append(problemTable(page.problems));
}

function problemTable(problems) {
  const table = el("table");
  const head = el("tr");
  const sheets = problems.some((p) => p.sheet);
  const columns = (sheets ? ["lab.pSheet"] : []).concat(["lab.pRow", "lab.pColumn", "lab.pValue", "lab.pProblem", "lab.pFix"]);
  for (const key of columns) head.append(el("th", null, t(key)));
  table.append(head);
  for (const p of problems) {
    const tr = el("tr");
    tr.dataset.testid = "problem";
    if (sheets) tr.append(el("td", null, p.sheet));
    const value = el("td", "value", p.value === "" ? t("lab.blank") : p.value);
    value.title = p.value;
    tr.append(
      el("td", "num row", String(p.row)),
      el("td", "column", p.column),
      value,
      el("td", "what", p.problem),
      el("td", null, p.fix),
    );
    table.append(tr);
  }
  return table;
}

function renderActions() {
  fillActionPicker(page.actions, page.actionId);
}

function redraw() {
  if (page.notice) return showNotice(page.notice);
  renderActions();
  render();
  renderWaiting();
  renderSheet();
}

function showNotice(what) {
  page.notice = what;
  $("lab").hidden = true;
  $("notice").hidden = false;
  $("notice-title").textContent = t(what.title);
  $("notice-body").textContent = t(what.body, what.vars || {});
  $("notice-signin").hidden = !what.signIn;
}

// ---------------------------------------------------------------- start-up


function wire() {
  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    findTube($("code").value);
  });
  // A new code typed over the old one: the old tube's choice no longer applies.
  $("code").addEventListener("input", () => {
    if (page.tube && page.tube.code !== $("code").value.trim()) {
      resetTube();
      render();
    }
  });
  $("negative").addEventListener("click", () => choose("negative"));
  $("positive").addEventListener("click", () => choose("positive"));
  $("confirm-yes").addEventListener("click", confirmYes);
  $("confirm-no").addEventListener("click", confirmNo);
  $("refresh").addEventListener("click", () => loadWaiting(false));
  $("more").addEventListener("click", () => loadWaiting(true));
  $("file").addEventListener("change", (event) => {
    page.file = event.target.files[0] || null;
    page.report = null;
    page.problems = null;
    page.sheetStatus = null;
    renderSheet();
    if (page.file) checkSheet();
  });
  $("record-sheet").addEventListener("click", recordSheet);
  $("action").addEventListener("change", (event) => {
    page.actionId = Number(event.target.value);
    resetTube();
    loadWaiting(false);
    render();
  });
  // Back at the laptop after a while: what is waiting may have changed.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") loadWaiting(false);
  });
}

async function start() {
  mountHeader();
  wireLanguage({ relabel: () => (document.title = t("lab.pageTitle")), redraw });
  const token = startSession(() => showNotice({ title: "admin.signInTitle", body: "lab.signInBody", signIn: true }));
  if (!token) {
    showUser(null);
    return showNotice({ title: "admin.signInTitle", body: "lab.signInBody", signIn: true });
  }
  try {
    page.me = await api("GET", "/api/me");
  } catch (e) {
    const problem = problemOf(e);
    if (problem.status === 401) return showUser(null);
    return showNotice({ title: "notice.errorTitle", body: "lab.unreachable" });
  }
  showUser(page.me);
  if (!LAB_ROLES.includes(page.me.role)) {
    return showNotice({ title: "admin.noAccessTitle", body: "lab.noAccessBody", vars: { role: roleLabel(page.me.role) } });
  }
  try {
    page.actions = await api("GET", "/api/actions");
  } catch (e) {
    return showNotice({ title: "notice.errorTitle", body: "lab.unreachable" });
  }
  if (!page.actions.length) return showNotice({ title: "notice.noActionsTitle", body: "lab.noActionsBody" });
  page.actionId = pickAction(page.actions);
  wire();
  $("lab").hidden = false;
  redraw();
  await loadWaiting(false);
  $("code").focus();
}

start();
