// A call-up (召集) on a phone: full screen, over whatever page is open, with one big 收到
// and 有困难 (with the reason), until this person has answered. The live feed says how many
// call-ups concern this phone and how many answers they have (`pace.call_ups`,
// `pace.call_up_answers`); when that moves, GET /api/actions/{id}/call-ups is read again.
// The answer goes through the page's outbox (made at the tap, with the tap's time: an
// offline phone's answer keeps it), so it is never lost; while it waits the overlay is gone
// and the outbox shows it pending, as any tick.
//
//   const callUps = new CallUpOverlay({ outbox, eventsUrl: () => url, me: () => page.me });
//   callUps.follow(actionId);  callUps.count(msg.pace);

import { fmtTime, t } from "./i18n.js";
import { api, el } from "./session.js";

/** A failed read is tried again after this long. */
const RETRY_MS = 5000;

export class CallUpOverlay {
  constructor({ outbox, eventsUrl, me }) {
    this.outbox = outbox;
    this.eventsUrl = eventsUrl;
    this.me = me;
    this.action = null;
    this.seen = "";
    this.list = [];
    this.busy = false;
    this.reasonFor = null;
    this.root = el("div", "callup");
    this.root.dataset.testid = "call-up";
    this.root.setAttribute("role", "alertdialog");
    this.root.hidden = true;
    document.body.append(this.root);
  }

  follow(action) {
    if (action !== this.action) this.list = [];
    this.action = action;
    this.seen = "";
  }

  /** The live pace: reads the call-ups again when their counts moved. */
  count(pace) {
    if (!pace || this.action == null) return;
    const key = `${pace.call_ups || 0}/${pace.call_up_answers || 0}`;
    if (key === this.seen) return;
    this.seen = key;
    if ((pace.call_ups || 0) > 0) this.read();
    else this.show();
  }

  async read() {
    if (this.busy) return;
    this.busy = true;
    try {
      const answer = await api("GET", `/api/actions/${this.action}/call-ups`);
      this.list = answer.call_ups || [];
    } catch {
      setTimeout(() => {
        this.seen = "";
      }, RETRY_MS);
    } finally {
      this.busy = false;
    }
    this.show();
  }

  /** The oldest call-up this person has not answered (nor queued an answer to). */
  waiting() {
    const me = this.me();
    if (!me) return null;
    const queued = new Set(this.outbox.list((e) => e.meta && e.meta.kind === "call_up" && e.state !== "refused").map((e) => e.meta.seq));
    const open = this.list.filter((c) => {
      const mine = (c.people || []).find((p) => p.staff_id === me.id);
      return mine && mine.answer == null && !queued.has(c.seq);
    });
    return open.length ? open[open.length - 1] : null;
  }

  show() {
    const c = this.waiting();
    this.root.hidden = !c;
    document.body.classList.toggle("has-callup", !!c);
    if (!c) return;
    const box = el("div", "callup-box");
    box.append(el("p", "callup-kind", t("cu.title", { time: fmtTime(c.sent_at), name: c.sent_by_name })));
    box.append(el("h2", "callup-text", c.text));
    if (c.place) box.append(el("p", "callup-place", c.place));
    if (this.reasonFor === c.seq) {
      const label = el("label", "callup-label", t("cu.reasonLabel"));
      const reason = el("textarea", "callup-reason");
      reason.rows = 2;
      reason.maxLength = 500;
      reason.dataset.testid = "call-up-reason";
      label.append(reason);
      const send = el("button", "callup-cannot", t("cu.sendCannot"));
      send.type = "button";
      send.dataset.testid = "call-up-send-cannot";
      send.addEventListener("click", () => this.answer(c, "cannot", reason.value.trim()));
      const back = el("button", "callup-back", t("cu.back"));
      back.type = "button";
      back.addEventListener("click", () => {
        this.reasonFor = null;
        this.show();
      });
      box.append(label, send, back);
    } else {
      const yes = el("button", "callup-yes", t("cu.received"));
      yes.type = "button";
      yes.dataset.testid = "call-up-received";
      yes.addEventListener("click", () => this.answer(c, "received", ""));
      const no = el("button", "callup-no", t("cu.cannot"));
      no.type = "button";
      no.dataset.testid = "call-up-cannot";
      no.addEventListener("click", () => {
        this.reasonFor = c.seq;
        this.show();
      });
      box.append(yes, no);
    }
    this.root.replaceChildren(box);
  }

  answer(c, answer, reason) {
    const event = { type: "call_up_answered", call_up_seq: c.seq, answer };
    if (reason) event.reason = reason;
    this.outbox.put(this.eventsUrl(), event, { kind: "call_up", seq: c.seq, label: answer === "received" ? "callUpReceived" : "callUpCannot" });
    this.reasonFor = null;
    this.show();
  }
}
