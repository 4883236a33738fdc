// The roster import page: sends the chosen file to POST /api/roster/import (the file as
// the body, its name in the query), first as a dry run, and shows the server's report or
// every problem it found as a table. Problems are shown in Chinese by their code, with
// the server's text as the fallback (the staff and point sheets' texts come in Chinese).
// An import that removes residents, households, staff or points is never sent blind: the
// dry run's removals are shown first, with a few names, and only a press of the confirm
// button sends the import with confirm_removals set to the number shown.

import { roleLabel, t } from "./i18n.js";
import { mountHeader, showUser } from "./header.js";
import { MANAGER_ROLES, request, takeToken, wireLanguage } from "./session.js";

const token = takeToken() ?? "";

const PROBLEMS = {
  header_missing: ["找不到表头", "在数据上方放一行表头，至少包含 户号、姓名、身份证号"],
  column_missing: ["缺少这一列", "加上这一列（表头写法见模板）"],
  id_missing: ["身份证号为空", "填写18位身份证号"],
  id_invalid: ["身份证号不正确", "对照身份证核对每一位数字（最后一位可为 X）"],
  id_number_shortened: ["Excel 把身份证号存成了数字，后几位丢失", "把身份证号一列设为“文本”格式，重新填写后再导出"],
  id_duplicate: ["同一身份证号出现了两次", "一人一行：删除重复行，或改正其中一个号码"],
  name_missing: ["姓名为空", "填写姓名"],
  phone_malformed: ["电话号码格式不对", "填写一个号码：1开头的11位手机号，或 010-69961234 这样的座机"],
  household_missing: ["这一行没有户号，上方也没有所属的户", "填写户号，或把这一行移到所属户的第一行下面"],
  household_in_two_grids: ["同一户出现在两个网格", "一户只属于一个网格：改正其中一行的网格"],
  grid_member_conflict: ["同一网格有两个网格员", "每个网格只写一位网格员"],
  birth_date_malformed: ["出生日期无法识别", "写成 1949-12-31（或只写年份）"],
  birth_date_mismatch: ["出生年份与身份证号不一致", "核对出生日期和身份证号"],
  status_unknown: ["状态无法识别", "填写 外出、卧床 或 流动人口（多个用、分隔），或留空"],
  no_residents: ["表头下面没有村民", "表头下面每行一位村民"],
};

const FLAGS = { away: "外出", bedridden: "卧床", migrant: "流动人口" };

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
}

function table(head, rows) {
  const t = document.createElement("table");
  const tr = document.createElement("tr");
  for (const h of head) {
    const th = document.createElement("th");
    th.textContent = h;
    tr.append(th);
  }
  t.append(tr);
  for (const r of rows) {
    const row = document.createElement("tr");
    r.forEach((v, i) => cell(row, String(v), typeof v === "number" && i > 0 ? "num" : ""));
    t.append(row);
  }
  return t;
}

function showProblems(problems) {
  const rows = problems.map((p) => {
    const [problem, fix] = PROBLEMS[p.code] ?? [p.problem, p.fix];
    return [p.sheet ?? "", p.row, p.column, p.value, problem, fix];
  });
  return table(["工作表", "行", "列", "内容", "问题", "如何修改"], rows);
}

const KINDS = { resident: "村民", household: "户", staff: "工作人员", point: "采样点" };

/** The removals of a report, shown so that nobody confirms them without seeing them. */
function showRemovals(r) {
  const box = document.createElement("div");
  box.className = "removals";
  box.dataset.testid = "removals";
  const h = document.createElement("h2");
  const counts = [
    ["村民", r.residents.removed], ["户", r.households.removed],
    ["工作人员", r.staff.removed], ["采样点", r.points.removed],
  ].filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join("，");
  h.textContent = `这次导入将移除 ${r.removals.total} 项：${counts}`;
  const names = document.createElement("p");
  names.textContent = "例如：" + r.removals.examples.map((e) => `${KINDS[e.kind] ?? e.kind} ${e.name}`).join("、") +
    (r.removals.examples.length < r.removals.total ? " 等" : "");
  const note = document.createElement("p");
  note.className = "hint";
  note.textContent = "不在表中的将被移除；已有记录的村民标记为“已移出花名册”，已有记录的工作人员和采样点停用，历史保留。" +
    "如果这张表只是一个片区的，请先选择“导入范围”。";
  box.append(h, names, note);
  return box;
}

function showReport(r) {
  const line = (label, c) => [label, c.added, c.changed, c.removed, c.unchanged];
  const parts = [
    table(["", "新增", "变更", "移除", "未变"], [
      line("村民", r.residents),
      line("户", r.households),
      line("区域（网格）", r.areas),
      line("工作人员", r.staff),
      line("采样点", r.points),
    ]),
  ];
  if (r.removals.total > 0) parts.unshift(showRemovals(r));
  const extra = document.createElement("p");
  extra.textContent = `新增网格员 ${r.grid_members_added} 人` +
    (r.kept_for_history ? `；移除的村民中有 ${r.kept_for_history} 人已有记录，标记为“已移出花名册”并保留历史` : "") +
    (r.staff_retired ? `；移除的工作人员中有 ${r.staff_retired} 人已有记录，停用并保留历史` : "") +
    (r.points_retired ? `；移除的采样点中有 ${r.points_retired} 个已有行动使用，停用并保留历史` : "");
  parts.push(extra);
  if (r.flags_from_notes.length) {
    const h = document.createElement("h2");
    h.textContent = `根据备注识别的状态（${r.flags_from_notes.length}），请核对`;
    const flags = (f) => Object.keys(FLAGS).filter((k) => f[k]).map((k) => FLAGS[k]).join("、");
    parts.push(h, table(["行", "列", "内容", "状态"], r.flags_from_notes.map((n) => [n.row, n.column, n.value, flags(n.flags)])));
  }
  return parts;
}

async function send(file, { dryRun, confirm }) {
  const query = new URLSearchParams({ filename: file.name, dry_run: String(dryRun) });
  const sheet = document.getElementById("sheet").value.trim();
  if (sheet) query.set("sheet", sheet);
  const area = document.getElementById("area").value;
  if (area) query.set("area", area);
  if (confirm != null) query.set("confirm_removals", String(confirm));
  const response = await fetch(`/api/roster/import?${query}`, {
    method: "POST",
    // This page is in Chinese: so are the problems the server writes for it.
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream", "Accept-Language": "zh-CN" },
    body: file,
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

const status = document.getElementById("status");
const result = document.getElementById("result");

/** The area choices: the whole roster, or one node of the tree the caller manages, by path. */
async function loadAreas() {
  const response = await fetch("/api/nodes", { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return;
  const nodes = await response.json();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const path = (n) => {
    const names = [];
    for (let cur = n; cur && names.length <= nodes.length; cur = byId.get(cur.parent)) names.unshift(cur.name);
    return names.join("/");
  };
  const select = document.getElementById("area");
  for (const n of nodes.filter((n) => n.parent != null)) {
    const option = document.createElement("option");
    option.value = String(n.id);
    option.textContent = path(n);
    select.append(option);
  }
}

/** Asks before an import that removes anything; the button sends the number shown. */
function askToConfirm(file, report) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "danger";
  button.dataset.testid = "confirm-removals";
  button.textContent = `确认移除 ${report.removals.total} 项并导入`;
  button.addEventListener("click", () => run(file, { dryRun: false, confirm: report.removals.total }));
  status.className = "bad";
  status.textContent = `还没有导入：这次导入会移除 ${report.removals.total} 项。请核对下面的名单，确认后再导入。`;
  result.replaceChildren(button, ...showReport(report));
}

async function run(file, { dryRun, confirm }) {
  status.className = "";
  status.textContent = dryRun ? "检查中…" : "导入中…";
  result.replaceChildren();
  try {
    // An import is checked first: what it would remove is shown before anything is written.
    if (!dryRun && confirm == null) {
      const { status: code, body } = await send(file, { dryRun: true });
      if (code === 200 && body.removals.total > 0) return askToConfirm(file, body);
      if (code === 200) confirm = 0;
      else return showFailure(code, body);
    }
    const { status: code, body } = await send(file, { dryRun, confirm });
    if (code === 200) {
      status.className = "good";
      status.textContent = dryRun ? "检查通过，没有写入。确认无误后点“导入”。" : "导入完成。";
      result.replaceChildren(...showReport(body));
    } else if (body.code === "removals_unconfirmed") {
      // The roster changed since the check: what would go now.
      askToConfirm(file, body.report);
    } else {
      showFailure(code, body);
    }
  } catch (e) {
    status.className = "bad";
    status.textContent = `无法连接服务器：${e.message}`;
  }
}

function showFailure(code, body) {
  status.className = "bad";
  if (body.code === "roster_invalid") {
    status.textContent = `发现 ${body.problems.length} 个问题，什么都没有导入。请在表格中改正后重新上传。`;
    result.replaceChildren(showProblems(body.problems));
  } else {
    status.textContent = body.message ?? `失败（${code}）`;
  }
}

document.getElementById("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = document.getElementById("file").files[0];
  if (!file) return;
  run(file, { dryRun: event.submitter?.value !== "import" });
});

/**
 * Who is here decides what the page shows: the form to an admin or the chief, a sign-in
 * prompt to a visitor without a session, and to anyone else why not. The server refuses
 * an upload without the role anyway; this only keeps a form nobody can use off the screen.
 */
async function start() {
  mountHeader();
  wireLanguage({ relabel: () => {}, redraw: () => notice && showNotice(notice) });
  const { data: me, problem } = token ? await request("GET", "/api/me", { token }) : { problem: { status: 401 } };
  if (problem) {
    if (problem.status === 401) showUser(null);
    showNotice(problem.status === 401
      ? { title: "admin.signInTitle", body: "import.signInBody", signIn: true }
      : { title: "notice.errorTitle", body: "import.unreachable" });
    return;
  }
  showUser(me);
  if (!MANAGER_ROLES.includes(me.role)) {
    showNotice({ title: "admin.noAccessTitle", body: "import.noAccessBody", vars: { role: roleLabel(me.role) } });
    return;
  }
  document.getElementById("import-main").hidden = false;
  loadAreas();
}

/** What the notice says, kept so that a language switch says it again. */
let notice = null;

function showNotice(what) {
  notice = what;
  document.getElementById("import-notice").hidden = false;
  document.getElementById("import-notice-title").textContent = t(what.title);
  document.getElementById("import-notice-body").textContent = t(what.body, what.vars ?? {});
  document.getElementById("import-signin").hidden = !what.signIn;
}

start();

// The chosen file's name beside our own label (the browser's "Choose File" is hidden).
document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  document.getElementById("file-name").textContent = file ? file.name : "还没有选文件";
});
