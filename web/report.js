// The after-action report (复盘) of an action, for the chief (and a head, of their areas):
// GET /api/actions/{id}/report?format=html is one self-contained page, shown here in a
// frame (it prints as it is); earlier rounds of the same kind over the same area can be
// set beside it; the same report downloads as Excel, CSV or JSON.

import { problemText, t, getLang } from "./i18n.js";
import { deskNotice, startDesk } from "./header.js";
import { $, api, el, fillActionPicker, pickAction, sessionToken } from "./session.js";

const READERS = ["admin", "chief", "grid_head"];

const page = { me: null, actions: [], actionId: null, compare: new Set() };

function status(text, cls = "") {
  const line = $("rp-status");
  line.textContent = text || "";
  line.className = `status ${cls}`;
}

function reportPath(format) {
  const q = new URLSearchParams({ format });
  if (page.compare.size) q.set("compare", [...page.compare].join(","));
  return `/api/actions/${page.actionId}/report?${q}`;
}

/** The report in one format, as the server made it (a problem is thrown as its words). */
async function fetchReport(format) {
  const res = await fetch(reportPath(format), {
    headers: { Authorization: `Bearer ${sessionToken()}`, "Accept-Language": getLang() },
    cache: "no-store",
  });
  if (!res.ok) {
    let problem = { status: res.status };
    try {
      problem = { ...(await res.json()), status: res.status };
    } catch {
      // Not problem+json: the status says enough.
    }
    throw new Error(problemText(problem));
  }
  return res;
}

/**
 * Shows the report in the frame. The frame loads it from the API itself (the `token`
 * scheme: a frame sends no Authorization header), so the report keeps its own inline
 * styles, which this page's policy would not allow it. A refusal is read first, in words.
 */
async function show() {
  status(t("rp.loading"));
  try {
    const res = await fetchReport("html");
    await res.body?.cancel();
    const frame = $("report");
    frame.onload = () => status("");
    frame.src = `${reportPath("html")}&lang=${encodeURIComponent(getLang())}&token=${encodeURIComponent(sessionToken())}`;
  } catch (e) {
    status(e.message, "bad");
  }
}

async function download(format) {
  try {
    const blob = await (await fetchReport(format)).blob();
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = `report-${page.actionId}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    status(e.message, "bad");
  }
}

/** Earlier rounds of the same kind: the chief ticks which to set beside this one. */
function drawRounds() {
  const current = page.actions.find((a) => a.id === page.actionId);
  const earlier = page.actions.filter((a) => a.id !== page.actionId && current && a.kind === current.kind);
  page.compare = new Set([...page.compare].filter((id) => earlier.some((a) => a.id === id)));
  $("compare").hidden = !earlier.length;
  $("rounds").replaceChildren(...earlier.map((a) => {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.checked = page.compare.has(a.id);
    box.dataset.testid = `rp-round-${a.id}`;
    box.addEventListener("change", () => {
      if (box.checked) page.compare.add(a.id);
      else page.compare.delete(a.id);
      show();
    });
    label.append(box, el("span", "", a.name));
    return label;
  }));
}

const showNotice = deskNotice("rp");

async function start() {
  page.me = await startDesk({
    roles: READERS,
    pageTitle: "rp.pageTitle",
    signInBody: "rp.signInBody",
    noAccessBody: "rp.noAccessBody",
    redraw: () => page.actionId && show(),
    notice: showNotice,
  });
  if (!page.me) return;
  try {
    page.actions = await api("GET", "/api/actions");
  } catch (e) {
    return showNotice("notice.errorTitle", "lab.unreachable");
  }
  if (!page.actions.length) return showNotice("notice.noActionsTitle", "rp.noActionsBody");
  page.actionId = pickAction(page.actions);
  const select = fillActionPicker(page.actions, page.actionId);
  select.addEventListener("change", () => {
    page.actionId = Number(select.value);
    drawRounds();
    show();
  });
  $("print").addEventListener("click", () => $("report").contentWindow.print());
  for (const b of document.querySelectorAll("[data-format]")) {
    b.addEventListener("click", () => download(b.dataset.format));
  }
  $("rp").hidden = false;
  drawRounds();
  await show();
}

start();
