// The chain of command (GET /api/actions/{id}/chain): whose case climbed to whom, who has
// not answered a call-up in time, who covers whose households tonight, which areas have
// reported done. The live feed counts them in `pace` (escalated, call_ups_overdue,
// handovers, sign_offs, chase_started_at); when one of those moves, the view is read again
// (it holds names and phones, so it is not pushed to every screen).
//
//   const feed = new ChainFeed(() => redraw());
//   feed.follow(actionId, role);  feed.count(pace);  feed.view  // the last answer, or null
//
// `ChainBoard` draws it on the command centre; the phone page draws its own (m-chain.js).

import { fmtInt, fmtTime, t } from "./i18n.js";
import { api, el } from "./session.js";
import { deskTel } from "./tel.js";

/** The roles the server gives the view to (src/http/chain.rs). */
const READERS = ["admin", "chief", "grid_head", "grid_member", "medic"];
/** A failed read is tried again after this long. */
const RETRY_MS = 5000;
/** Names shown per level on the command centre (the rest counted; the phone lists all). */
const SHOWN = 4;
/** Reads no closer together than this (a burst of escalations at a deadline is one read). */
const GAP_MS = 400;

/** What in `pace` says the view moved. */
function keyOf(pace) {
  if (!pace) return "";
  return [pace.escalated, pace.call_ups_overdue, pace.handovers, pace.sign_offs, pace.chase_started_at, pace.phase].join("|");
}

export class ChainFeed {
  constructor(changed) {
    this.changed = changed;
    this.action = null;
    this.role = null;
    this.view = null;
    this.wanted = "";
    this.read_ = "";
    this.busy = false;
    this.timer = 0;
  }

  follow(action, role) {
    if (action !== this.action) this.view = null;
    this.action = action;
    this.role = role;
    this.read_ = "";
  }

  count(pace) {
    this.wanted = keyOf(pace);
    if (this.wanted !== this.read_ && READERS.includes(this.role)) this.soon();
  }

  /** Reads again now (after one's own change: a handover, a sign-off). */
  refresh() {
    this.read_ = "";
    this.soon(0);
  }

  soon(delay = GAP_MS) {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.read();
    }, delay);
  }

  async read() {
    if (this.busy || this.action == null) return;
    this.busy = true;
    const wanted = this.wanted;
    try {
      this.view = await api("GET", `/api/actions/${this.action}/chain`);
      this.read_ = wanted;
      this.changed(this.view);
    } catch {
      this.timer = setTimeout(() => {
        this.timer = 0;
        this.read();
      }, RETRY_MS);
    } finally {
      this.busy = false;
    }
    if (this.wanted !== this.read_ && this.read_ === wanted) this.soon();
  }
}

/** A chase status in words, or "not reached". */
export function chaseWord(chase) {
  return t(chase ? `chain.status.${chase}` : "chain.notReached");
}

/**
 * The chain on the command centre: the chase's start and rule (the chief starts it and
 * sets the minutes), escalations by level, silent call-up answers, each head's area and
 * its sign-off, and the handovers.
 */
export class ChainBoard {
  constructor(parts) {
    this.parts = parts;
  }

  render(view, me, pace) {
    const { panel, rule, start, setRule, escalations, silent, areas, handovers } = this.parts;
    const chief = me && ["admin", "chief"].includes(me.role);
    const open = pace?.phase === "open";
    if (!view) {
      panel.hidden = true;
      return;
    }
    const started = view.chase_started_at;
    panel.dataset.started = started ? "yes" : "no";
    const hasAny = started || view.escalations.length || view.silent.length || view.handovers.length || chief;
    panel.hidden = !hasAny;
    rule.textContent = started
      ? t("chain.started", { time: fmtTime(started), n: fmtInt(view.rule.minutes), m: fmtInt(view.rule.call_up_minutes) })
      : t("chain.notStarted", { n: fmtInt(view.rule.minutes), m: fmtInt(view.rule.call_up_minutes) });
    start.hidden = !chief || !open || !!started;
    setRule.hidden = !chief || pace?.phase === "closed";

    const toChief = view.escalations.filter((e) => e.level >= 2);
    const toHead = view.escalations.filter((e) => e.level === 1);
    escalations.replaceChildren();
    for (const [list, key] of [[toChief, "chain.toChief"], [toHead, "chain.toHead"]]) {
      if (!list.length) continue;
      const li = el("li", `chain-esc chain-level-${list[0].level}`);
      li.dataset.testid = `escalated-${list[0].level}`;
      li.append(el("b", "", t(key, { n: fmtInt(list.length) })), " ");
      for (const e of list.slice(0, SHOWN)) {
        const who = el("span", "chain-who");
        who.append(el("span", "", `${e.name}（${e.household} · ${e.grid}）`), " ", el("span", "muted", chaseWord(e.chase)));
        if (e.responsible) {
          who.append(" ", el("span", "muted", e.responsible.name));
          if (e.responsible.phone) who.append(" ", deskTel(e.responsible.phone));
        }
        li.append(who);
      }
      if (list.length > SHOWN) li.append(el("span", "muted", t("chain.more", { n: fmtInt(list.length - SHOWN) })));
      escalations.append(li);
    }

    silent.hidden = !view.silent.length;
    silent.replaceChildren();
    if (view.silent.length) {
      silent.append(el("b", "", t("chain.silent", { n: fmtInt(view.silent.length) })), " ");
      for (const s of view.silent.slice(0, 12)) {
        const who = el("span", "chain-who");
        who.dataset.testid = "silent";
        who.append(el("span", "", s.person.name));
        if (s.person.phone) who.append(" ", deskTel(s.person.phone));
        silent.append(who);
      }
    }

    // Each head's area: one chip each, done (when, except whom) or how many are missing;
    // the time they are due by said once.
    const due = view.areas.find((a) => a.due_at)?.due_at;
    const now = new Date(pace?.clock || Date.now());
    const lead = el("li", "chain-area-lead", due ? t("chain.dueAt", { time: fmtTime(due) }) : t("chain.areas"));
    const signed = view.areas.filter((a) => a.signed_off).length;
    const late = view.areas.filter((a) => a.signed_off?.in_time === false).length;
    lead.append(" ", el("span", "chain-area-sum", t("chain.areasSigned", { n: fmtInt(signed), of: fmtInt(view.areas.length), late: fmtInt(late) })));
    areas.replaceChildren(lead, ...view.areas.map((a) => {
      const li = el("li", "chain-area");
      const off = a.signed_off;
      li.dataset.state = off ? (off.in_time === false ? "late" : "done") : (a.due_at && new Date(a.due_at) < now ? "overdue" : "open");
      li.dataset.testid = `area-${a.node_id}`;
      li.append(el("b", "", a.name), " ");
      if (off) {
        // When, in time or late against due_at, and the few still missing by name.
        const when = off.in_time == null ? "" : ` ${t(off.in_time ? "chain.inTime" : "chain.late")}`;
        li.append(el("span", "", `${t("chain.signed")} ${fmtTime(off.at)}${when}`));
        if (off.except.length) {
          const names = off.except.map((x) => `${x.name}（${chaseWord(x.chase)}）`);
          li.title = names.join("、");
          li.append(" ", el("span", "muted", t("chain.except", { n: fmtInt(off.except.length) })));
          const few = el("span", "chain-except-names muted", names.slice(0, 3).join("、") + (names.length > 3 ? ` ${t("chain.more", { n: fmtInt(names.length - 3) })}` : ""));
          few.dataset.testid = "sign-off-except";
          li.append(" ", few);
        }
        if (off.note) li.append(" ", el("span", "chain-note-said", `“${off.note}”`));
      } else {
        li.append(el("span", "muted", t("chain.missingN", { n: fmtInt(a.missing) })));
      }
      return li;
    }));
    areas.hidden = !view.areas.length || !started;

    handovers.replaceChildren(...view.handovers.map((h) => {
      const li = el("li", "chain-handover");
      const from = [...new Set(h.households.map((x) => x.from?.name).filter(Boolean))].join("、");
      li.textContent = h.to
        ? t("chain.handed", { time: fmtTime(h.at), to: h.to.name, from, n: fmtInt(h.households.length) })
        : from
          ? t("chain.handedBackFrom", { time: fmtTime(h.at), from, n: fmtInt(h.households.length) })
          : t("chain.handedBack", { time: fmtTime(h.at), n: fmtInt(h.households.length) });
      if (h.by?.name) li.title = h.by.name;
      return li;
    }));
    handovers.hidden = !view.handovers.length;
  }
}
