// The chain of command on a grid head's phone (/m): who has climbed to them (residents
// still missing past their time, people silent on a call-up), handing a grid member's
// households to a substitute and back (交接 / 交还), and reporting the area done (本片完成上报).
// The view comes from GET /api/actions/{id}/chain (chain.js's ChainFeed); everything that
// records goes through the page's outbox, so it is pending until the server has it.
//
//   const chainUi = new PhoneChain({ outbox, eventsUrl, me, households, staff, refresh });
//   chainUi.cards(view)  // elements for the top of the list
//   chainUi.handover(group) / chainUi.signOff()  // open a dialog

import { fmtInt, fmtTime, roleLabel, t } from "./i18n.js";
import { el } from "./session.js";
import { chaseWord } from "./chain.js";
import { phoneTel } from "./tel.js";

/** Who on the phone page reads the chain and acts on it. */
export const HEADS = ["grid_head", "chief", "admin"];

function button(cls, label, testid) {
  const b = el("button", cls, label);
  b.type = "button";
  if (testid) b.dataset.testid = testid;
  return b;
}

/** A modal dialog of our own (a cheap phone's browser may lack <dialog>'s polish). */
function sheet(title) {
  const back = el("div", "sheet chain-sheet");
  back.setAttribute("role", "dialog");
  back.setAttribute("aria-modal", "true");
  const box = el("div", "sheet-box");
  box.append(el("h2", "sheet-title", title));
  back.append(box);
  back.addEventListener("click", (event) => {
    if (event.target === back) back.remove();
  });
  document.body.append(back);
  return { back, box };
}

export class PhoneChain {
  constructor(parts) {
    this.parts = parts;
  }

  /** The cards at the top of a head's list: what climbed to them, then who is silent. */
  cards(view) {
    const me = this.parts.me();
    if (!view || !me || !HEADS.includes(me.role)) return [];
    const out = [];
    if (view.escalations.length) {
      const box = el("section", "chain-box chain-up");
      box.dataset.testid = "escalated-to-me";
      box.append(el("h2", "section", t("mc.escalated", { n: fmtInt(view.escalations.length) })));
      for (const e of view.escalations) {
        const row = el("div", "chain-row");
        row.dataset.testid = "escalated";
        row.dataset.level = String(e.level);
        row.append(el("p", "chain-name", `${e.name}　${e.household} · ${e.grid}`));
        const said = e.chase ? `${chaseWord(e.chase)} ${fmtTime(e.chase_at)}` : chaseWord(null);
        row.append(el("p", "chain-said", t(e.level >= 2 ? "mc.sinceChief" : "mc.since", { time: fmtTime(e.at), said })));
        if (e.responsible?.phone) row.append(phoneTel(e.responsible.phone, e.responsible.name));
        box.append(row);
      }
      out.push(box);
    }
    if (view.silent.length) {
      const box = el("section", "chain-box chain-silent-box");
      box.dataset.testid = "silent-list";
      box.append(el("h2", "section", t("mc.silent", { n: fmtInt(view.silent.length) })));
      for (const s of view.silent) {
        const row = el("div", "chain-row");
        row.dataset.testid = "silent";
        row.append(el("p", "chain-name", `${s.person.name}　${roleLabel(s.person.role)}`));
        row.append(el("p", "chain-said", t("mc.silentSince", { time: fmtTime(s.at) })));
        if (s.person.phone) row.append(phoneTel(s.person.phone, s.person.name));
        box.append(row);
      }
      out.push(box);
    }
    // Handovers this head made that still stand: each can be handed back.
    const standing = view.handovers.filter((h) => h.to && h.households.some((x) => x.now === h.to.staff_id));
    if (standing.length) {
      const box = el("section", "chain-box");
      box.append(el("h2", "section", t("mc.handovers")));
      for (const h of standing) {
        const ids = h.households.filter((x) => x.now === h.to.staff_id).map((x) => x.id);
        const from = [...new Set(h.households.map((x) => x.from?.name).filter(Boolean))].join("、");
        const row = el("div", "chain-row");
        row.append(el("p", "chain-name", t("mc.covers", { to: h.to.name, from, n: fmtInt(ids.length) })));
        const back = button("button-plain", t("mc.handBack"), "hand-back");
        back.dataset.act = "hand-back";
        back.dataset.households = ids.join(",");
        row.append(back);
        box.append(row);
      }
      out.push(box);
    }
    const area = view.areas.find((a) => me.nodes?.includes(a.node_id));
    if (area && me.role === "grid_head") {
      const box = el("section", "chain-box");
      const off = area.signed_off;
      box.append(el("p", "chain-said", off
        ? t("mc.signedAt", { time: fmtTime(off.at), n: fmtInt(off.except.length) })
        : area.due_at ? t("mc.dueAt", { time: fmtTime(area.due_at) }) : t("mc.notDue")));
      const sign = button("button-main", t(off ? "mc.signAgain" : "mc.signOff"), "sign-off");
      sign.dataset.act = "sign-off";
      box.append(sign);
      out.push(box);
    }
    return out;
  }

  /** 交接: choose which of a member's households go, and to whom. */
  handover(group, staffList) {
    const me = this.parts.me();
    const { back, box } = sheet(t("mc.handoverTitle", { name: group.staff ? group.staff.name : "" }));
    box.dataset.testid = "handover-sheet";
    box.append(el("p", "sheet-hint", t("mc.handoverHint")));
    const list = el("div", "chain-pick");
    const all = el("label", "chain-check chain-all");
    const allBox = el("input");
    allBox.type = "checkbox";
    allBox.checked = true;
    all.append(allBox, el("span", "", t("mc.allHouseholds", { n: fmtInt(group.households.length) })));
    list.append(all);
    const boxes = group.households.map((h) => {
      const label = el("label", "chain-check");
      const b = el("input");
      b.type = "checkbox";
      b.checked = true;
      b.value = String(h.id);
      label.append(b, el("span", "", `${h.number} ${h.address}`));
      list.append(label);
      return b;
    });
    allBox.addEventListener("change", () => boxes.forEach((b) => (b.checked = allBox.checked)));
    box.append(list);
    const whoLabel = el("label", "chain-field");
    whoLabel.append(el("span", "", t("mc.substitute")));
    const who = el("select", "chain-select");
    who.dataset.testid = "substitute";
    const choices = staffList.filter((s) => String(s.id) !== group.id && ["grid_member", "grid_head", "chief"].includes(s.role));
    if (me && !choices.some((s) => s.id === me.id)) choices.push({ id: me.id, name: me.name, role: me.role });
    for (const s of choices) {
      const o = el("option", "", `${s.name}（${roleLabel(s.role)}）`);
      o.value = String(s.id);
      who.append(o);
    }
    whoLabel.append(who);
    box.append(whoLabel);
    const buttons = el("div", "sheet-buttons");
    const cancel = button("button-plain", t("common.cancel"));
    cancel.addEventListener("click", () => back.remove());
    const send = button("button-main", t("mc.handOver"), "hand-over");
    send.addEventListener("click", () => {
      const households = boxes.filter((b) => b.checked).map((b) => Number(b.value));
      if (!households.length || !who.value) return;
      const to = Number(who.value);
      const name = choices.find((s) => s.id === to)?.name || "";
      this.parts.outbox.put(this.parts.eventsUrl(), { type: "households_handed", households, to }, { label: "handOver", who: name });
      back.remove();
      this.parts.changed();
    });
    buttons.append(cancel, send);
    box.append(buttons);
  }

  /** 交还: the households go back to their own grid member. */
  handBack(households) {
    this.parts.outbox.put(this.parts.eventsUrl(), { type: "households_handed", households }, { label: "handBack" });
    this.parts.changed();
  }

  /** 本片完成上报: the head sees who is still missing, adds a word, and reports the area. */
  signOff() {
    const me = this.parts.me();
    const node = me?.nodes?.[0];
    if (node == null) return;
    const missing = this.parts.missing();
    const { back, box } = sheet(t("mc.signOffTitle"));
    box.dataset.testid = "sign-off-sheet";
    box.append(el("p", "sheet-hint", missing.length ? t("mc.exceptN", { n: fmtInt(missing.length) }) : t("mc.noneMissing")));
    if (missing.length) {
      const list = el("ul", "chain-except");
      list.dataset.testid = "sign-off-missing";
      // Every one of them, by name and last status (the list scrolls), under the grid
      // member who answers for them, the member with most first: the head reports them.
      const SHOWN_ALL = 300;
      const byMember = new Map();
      for (const r of missing) {
        const key = r.member ?? "";
        if (!byMember.has(key)) byMember.set(key, []);
        byMember.get(key).push(r);
      }
      const groups = [...byMember.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
      let shown = 0;
      for (const [member, residents] of groups) {
        if (shown >= SHOWN_ALL) break;
        const head = el("li", "chain-except-member", t("mc.exceptMember", { name: member || t("mc.noMember"), n: fmtInt(residents.length) }));
        head.dataset.testid = "sign-off-member";
        list.append(head);
        for (const r of residents.slice(0, SHOWN_ALL - shown)) {
          list.append(el("li", "", `${r.name}（${r.household}）${r.live.chase ? chaseWord(r.live.chase) : chaseWord(null)}`));
        }
        shown += Math.min(residents.length, SHOWN_ALL - shown);
      }
      if (missing.length > shown) list.append(el("li", "muted", t("chain.more", { n: fmtInt(missing.length - shown) })));
      box.append(list);
    }
    const noteLabel = el("label", "chain-field");
    noteLabel.append(el("span", "", t("mc.note")));
    const note = el("textarea", "chain-note");
    note.rows = 2;
    note.maxLength = 500;
    noteLabel.append(note);
    box.append(noteLabel);
    const buttons = el("div", "sheet-buttons");
    const cancel = button("button-plain", t("common.cancel"));
    cancel.addEventListener("click", () => back.remove());
    const send = button("button-main", t("mc.signOffSend"), "sign-off-send");
    send.addEventListener("click", () => {
      const event = { type: "area_signed_off", node_id: node };
      if (note.value.trim()) event.note = note.value.trim();
      this.parts.outbox.put(this.parts.eventsUrl(), event, { label: "signOff" });
      back.remove();
      this.parts.changed();
    });
    buttons.append(cancel, send);
    box.append(buttons);
  }
}
