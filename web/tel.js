// Tap-to-call links, one way on every page: the `tel:` address made from a number as it
// was typed (spaces and dashes dropped), the desk pages' plain link, and the phone's big
// one with whom it calls, the number spaced for older eyes.

import { t } from "./i18n.js";
import { el } from "./session.js";

/** `tel:` and the digits (and a leading +) of `phone`. */
export function telHref(phone) {
  return `tel:${String(phone).replace(/[^\d+]/g, "")}`;
}

/** 13812345678 → "138 1234 5678": read out and dialled by older eyes. */
export function spaced(phone) {
  const d = String(phone);
  return /^\d{11}$/.test(d) ? `${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}` : d;
}

/** A desk page's link: the number as its text. */
export function deskTel(phone, className = "visit-tel") {
  const a = el("a", className, phone);
  a.href = telHref(phone);
  return a;
}

/** A phone's link, big enough for a thumb: ☎, whom it calls (if said) and the number. */
export function phoneTel(phone, whom) {
  const a = el("a", whom ? "tel tel-named" : "tel");
  a.href = telHref(phone);
  a.dataset.testid = "tel";
  const text = el("span", "tel-text");
  if (whom) text.append(el("span", "tel-whom", whom));
  text.append(el("span", "tel-number", spaced(phone)));
  a.append(el("span", "tel-icon", "☎"), text);
  a.setAttribute("aria-label", `${t("m.call")} ${whom || ""} ${phone}`);
  return a;
}
