// Who a positive pooled tube flagged: to isolate and re-test in a single tube, with the
// people they live with and the grid member who must find them tonight. The live feed
// says how many (`pace.flagged`); when that number moves, the list is read again from
// `GET /api/actions/{id}/flagged` (it holds names and phones, so it is not pushed to every
// screen). Roles that may not read it (a wall screen's viewer) see the count alone.
//
//   const flagged = new FlaggedList({ panel, title, hint, list, more, fit });
//   flagged.follow(actionId, role);  flagged.count(pace.flagged);  flagged.render();

import { fmtInt, t } from "./i18n.js";
import { api, el } from "./session.js";
import { telHref } from "./tel.js";

/** The roles the server gives the list to (src/http/tubes.rs: the chase's roles). */
const READERS = ["admin", "chief", "grid_head", "grid_member", "medic"];
/** A failed read is tried again after this long. */
const RETRY_MS = 5000;

export class FlaggedList {
  constructor(parts) {
    this.parts = parts;
    this.action = null;
    this.role = null;
    this.flagged = 0;
    this.people = [];
    this.readFor = -1;
    this.busy = false;
    this.timer = 0;
    /** Whether the cards must be made again (the list or the language changed). */
    this.dirty = true;
  }

  /** A new action (or the same one after a fresh snapshot): forget the list. */
  follow(action, role) {
    if (action !== this.action) this.people = [];
    this.action = action;
    this.role = role;
    this.readFor = -1;
  }

  /** The live count; reads the list again when it moved. */
  count(n) {
    const was = this.flagged;
    this.flagged = typeof n === "number" ? n : 0;
    if (was !== this.flagged) this.dirty = true;
    if (this.flagged !== this.readFor && READERS.includes(this.role)) this.read();
  }

  async read() {
    if (this.busy || this.action == null) return;
    this.busy = true;
    const wanted = this.flagged;
    try {
      const answer = await api("GET", `/api/actions/${this.action}/flagged`);
      this.people = answer.people ?? [];
      this.readFor = wanted;
      this.dirty = true;
    } catch {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.count(this.flagged), RETRY_MS);
    } finally {
      this.busy = false;
    }
    if (this.flagged !== this.readFor && this.readFor === wanted) this.read();
    this.render();
  }

  /** The language changed: every word again. */
  reword() {
    this.dirty = true;
  }

  /** Draws the panel; cheap when nothing changed (called every frame, so that on a wall
   * screen the cards that do not fit are counted in one line, as the screen's size says). */
  render() {
    const { panel, title, hint, list, more, fit } = this.parts;
    panel.hidden = this.flagged <= 0;
    if (panel.hidden) return;
    if (this.dirty) {
      title.textContent = t("flagged.title", { n: fmtInt(this.flagged) });
      hint.textContent = t("flagged.hint");
      list.replaceChildren(...this.people.map(card));
      this.dirty = false;
    }
    if (fit) fit(list, more, (shown) => t("flagged.more", { n: fmtInt(this.people.length - shown) }));
  }
}

/** One flagged person: who, where they live and with how many, whose they are, the tube. */
function card(p) {
  const li = el("li", "flag-card");
  li.dataset.testid = "flagged";
  li.dataset.state = p.flag ?? "retest";
  const who = el("div", "flag-who");
  const name = el("b", "flag-name");
  name.textContent = p.name;
  const number = el("span", "muted");
  number.textContent = p.id_number;
  const state = el("span", "flag-state");
  state.textContent = t(p.flag === "confirmed" ? "flagged.confirmed" : "flagged.retest");
  who.append(name, number, state);
  const where = el("div", "flag-where");
  const h = p.household;
  where.textContent = h
    ? t("flagged.household", { number: h.number, address: h.address, n: fmtInt(h.residents.length) })
    : t("flagged.walkIn", { where: p.stays_at ?? "" });
  const whose = el("div", "flag-whose muted");
  if (p.flag_tube) whose.append(t("flagged.tube", { code: p.flag_tube }), " · ");
  if (p.staff_name) whose.append(t("flagged.member", { name: p.staff_name }), " ");
  if (p.staff_phone) {
    const tel = el("a", "flag-tel");
    tel.href = telHref(p.staff_phone);
    tel.textContent = p.staff_phone;
    tel.setAttribute("aria-label", t("flagged.call", { name: p.staff_name ?? "" }));
    whose.append(tel);
  }
  li.append(who, where, whose);
  return li;
}
