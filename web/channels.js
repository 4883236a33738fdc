// The chat groups (工作群) call-ups and escalations are posted into, for the chief and
// admins: the robots and gateways of each area (GET/POST /api/channels), whether each gets
// the hourly progress of its area (PATCH /api/channels/{id}), a test message to
// see one work (POST …/test), retiring one (POST …/retire), and each one's deliveries as
// the service answered (GET …/deliveries): sent, refused with the service's own error, or
// given up after every try. A secret is typed once and never shown again.

import { fmtDateTime, fmtInt, problemText, t } from "./i18n.js";
import { deskNotice, startDesk } from "./header.js";
import { $, MANAGER_ROLES, api, el, problemOf } from "./session.js";

const page = { me: null, nodes: [], channels: [], deliveries: new Map() };
/** Kinds that sign with a secret (a WeCom robot's key is in its address). */
const SIGNED = ["dingtalk", "feishu", "webhook"];
/** Deliveries shown per channel: the newest. */
const SHOWN = 8;

function nodeName(id) {
  return page.nodes.find((n) => n.id === id)?.name ?? `#${id}`;
}

async function load() {
  page.channels = await api("GET", "/api/channels");
  await Promise.all(page.channels.map(readDeliveries));
  render();
}

async function readDeliveries(c) {
  try {
    page.deliveries.set(c.id, await api("GET", `/api/channels/${c.id}/deliveries`));
  } catch {
    page.deliveries.set(c.id, null);
  }
}

function deliveryLine(d) {
  const li = el("li");
  li.dataset.outcome = d.outcome;
  li.dataset.testid = "delivery";
  li.append(el("b", "", t(`ch.outcome.${d.outcome}`)), " ", el("span", "muted", fmtDateTime(d.finished_at)));
  // What it carried: the call-up, an escalation, the hour's progress, a test.
  const kinds = [...new Set(d.kinds || [])].map((k) => t(`ch.what.${k}`));
  if (kinds.length) li.append(" · ", el("span", "ch-what", kinds.join("、")));
  if (d.message_ids.length > 1) li.append(" ", el("span", "muted", t("ch.coalesced", { n: fmtInt(d.message_ids.length) })));
  if (d.errcode != null || d.errmsg) li.append(" ", el("span", "", t("ch.error", { code: d.errcode ?? "", words: d.errmsg ?? "" })));
  if (d.attempts > 1) li.append(" ", el("span", "muted", t("ch.attempts", { n: fmtInt(d.attempts) })));
  return li;
}

/** Whether the group gets its area's progress each hour: changed at once, and put back
 * with the reason if the server says no. */
function summaryToggle(c) {
  const label = el("label", "ch-check");
  const box = el("input");
  box.type = "checkbox";
  box.checked = c.summary;
  box.dataset.testid = "ch-summary";
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      Object.assign(c, await api("PATCH", `/api/channels/${c.id}`, { summary: box.checked }));
    } catch (e) {
      box.checked = c.summary;
      window.alert(problemText(problemOf(e)));
    } finally {
      box.disabled = false;
    }
  });
  label.append(box, " ", el("span", "", t("ch.summary")));
  return label;
}

function channelCard(c) {
  const li = el("li", "ch-card");
  li.dataset.testid = "channel";
  li.append(el("h3", "", c.name));
  li.append(el("p", "ch-line", `${nodeName(c.node_id)} · ${t(`ch.kind.${c.kind}`)} · ${c.origin}${c.secret_set ? ` · ${t("ch.secretSet")}` : ""}`));
  li.append(summaryToggle(c));
  const buttons = el("div", "ch-buttons");
  const test = el("button", "", t("ch.test"));
  test.type = "button";
  test.dataset.testid = "ch-test";
  test.addEventListener("click", async () => {
    test.disabled = true;
    try {
      const before = page.deliveries.get(c.id)?.length ?? 0;
      await api("POST", `/api/channels/${c.id}/test`);
      // The message is queued; its delivery is recorded once the service has answered (or
      // every try has failed): look again each second for a while.
      for (let i = 0; i < 20; i += 1) {
        await new Promise((r) => setTimeout(r, 1000));
        await readDeliveries(c);
        if ((page.deliveries.get(c.id)?.length ?? 0) > before) break;
      }
      render();
    } catch (e) {
      window.alert(problemText(problemOf(e)));
    } finally {
      test.disabled = false;
    }
  });
  const retire = el("button", "", t("ch.retire"));
  retire.type = "button";
  retire.addEventListener("click", async () => {
    if (!window.confirm(t("ch.retireConfirm", { name: c.name }))) return;
    try {
      await api("POST", `/api/channels/${c.id}/retire`);
      await load();
    } catch (e) {
      window.alert(problemText(problemOf(e)));
    }
  });
  const refresh = el("button", "", t("ch.refresh"));
  refresh.type = "button";
  refresh.dataset.testid = "ch-refresh";
  refresh.addEventListener("click", async () => {
    await readDeliveries(c);
    render();
  });
  buttons.append(test, refresh, retire);
  li.append(buttons);
  const deliveries = page.deliveries.get(c.id);
  const list = el("ol", "ch-deliveries");
  if (deliveries && deliveries.length) list.append(...deliveries.slice(0, SHOWN).map(deliveryLine));
  else list.append(el("li", "muted", t("ch.noDeliveries")));
  li.append(list);
  return li;
}

function render() {
  $("channels").replaceChildren(...page.channels.map(channelCard));
  $("none").hidden = page.channels.length > 0;
  $("secret-field").hidden = !SIGNED.includes($("kind").value);
}

async function add(event) {
  event.preventDefault();
  const body = {
    node_id: Number($("node").value),
    kind: $("kind").value,
    name: $("name").value.trim(),
    url: $("url").value.trim(),
    summary: $("summary").checked,
  };
  if (SIGNED.includes(body.kind)) body.secret = $("secret").value;
  $("add-problem").hidden = true;
  try {
    await api("POST", "/api/channels", body);
    for (const id of ["name", "url", "secret"]) $(id).value = "";
    $("summary").checked = false;
    await load();
  } catch (e) {
    $("add-problem").textContent = problemText(problemOf(e));
    $("add-problem").hidden = false;
  }
}

const showNotice = deskNotice("ch");

async function start() {
  page.me = await startDesk({
    roles: MANAGER_ROLES,
    pageTitle: "ch.pageTitle",
    signInBody: "ch.signInBody",
    noAccessBody: "ch.noAccessBody",
    redraw: render,
    notice: showNotice,
  });
  if (!page.me) return;
  try {
    page.nodes = await api("GET", "/api/nodes");
    await load();
  } catch (e) {
    return showNotice("notice.errorTitle", "lab.unreachable");
  }
  $("node").replaceChildren(...page.nodes.map((n) => {
    const o = el("option", "", `${n.name}（${n.level}）`);
    o.value = String(n.id);
    return o;
  }));
  $("kind").addEventListener("change", render);
  $("add").addEventListener("submit", add);
  $("ch").hidden = false;
  render();
}

start();
