// Shared by Muster's pages: the sign-in token, talking to the API, the language
// buttons and waiting out a 429. Each page's own file keeps what it shows and when;
// this keeps the parts that must behave the same on every page, so that a fix to one
// (how a 401 or a Retry-After is read, where the token lives) reaches them all.
//
// Layout of this file: the page · the token · the API · the language buttons · waiting ·
// the installable shell.
// Nothing here writes server text into the page; the pages do, through textContent.

import { LANGS, applyTranslations, getLang, problemText, setLang, t } from "./i18n.js";

// ---------------------------------------------------------------- the page

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

/** Roles that manage accounts: the admin page is theirs. The server enforces it; pages only pick what to show. */
export const MANAGER_ROLES = ["admin", "chief"];

/**
 * The action a desk page works on (the lab's, the clerk's): the link's `?action=` if it is
 * one of `actions`, else the newest open one, else the newest.
 */
export function pickAction(actions) {
  const asked = Number(new URL(location.href).searchParams.get("action"));
  if (actions.some((a) => a.id === asked)) return asked;
  const newest = actions.slice().sort((a, b) => b.id - a.id);
  const open = newest.find((a) => a.phase === "open");
  return (open || newest[0]).id;
}

/**
 * Fills a desk page's action picker (`#action` in `#action-pick`, shown only with two or
 * more actions) with `actions`, `current` chosen; each named with its phase.
 */
export function fillActionPicker(actions, current) {
  const select = $("action");
  select.replaceChildren(...actions.map((a) => {
    const option = el("option", null, a.phase ? `${a.name}（${t(`phase.${a.phase}`)}）` : a.name);
    option.value = String(a.id);
    option.selected = a.id === current;
    return option;
  }));
  $("action-pick").hidden = actions.length < 2;
  return select;
}

// ---------------------------------------------------------------- the token

/** Where every page looks for the token: one key, so signing in on one page signs in all. */
const TOKEN_KEY = "muster.token";

/** The token this page is signed in with (see startSession), or null. */
let token = null;
/** What the page does when the server says the token is no good any more. */
let whenSignedOut = () => {};

export function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** False when the browser will not keep it (private mode): whoever just signed in must be told. */
export function storeToken(value) {
  try {
    localStorage.setItem(TOKEN_KEY, value);
    return localStorage.getItem(TOKEN_KEY) === value;
  } catch {
    return false;
  }
}

export function forgetToken() {
  token = null;
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing stored, nothing to forget.
  }
}

/**
 * The token from `?token=` (the chief's link), kept in localStorage so a reload or a
 * bookmark works, and removed from the address bar so it is not shown on a wall screen
 * or copied along with the URL; otherwise the one already stored.
 */
export function takeToken() {
  const url = new URL(location.href);
  const fromLink = url.searchParams.get("token");
  if (!fromLink) return storedToken();
  // Not stored (storage disabled): the token still works for this visit.
  storeToken(fromLink);
  url.searchParams.delete("token");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return fromLink;
}

/**
 * Signs this page in with the token from the link or storage, for `api()`. Returns it,
 * or null when there is none. `onSignedOut()` runs, after the token is forgotten, when
 * any call gets a 401: the token expired or this device was revoked.
 */
export function startSession(onSignedOut) {
  whenSignedOut = onSignedOut;
  token = takeToken();
  return token;
}

export function sessionToken() {
  return token;
}

// ---------------------------------------------------------------- the API

/** Seconds from a Retry-After header (a number of seconds, or an HTTP date), or null. */
function retryAfterSeconds(res) {
  const value = res.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

/**
 * Sends a request and gives back { data } (null for 204) or { problem }. A problem is
 * the server's problem+json ({ code, message }) with `status` and `retryAfter`, or
 * { code: "network", status: 0 } when the server could not be reached at all: the two
 * need different advice.
 */
export async function request(method, path, { body, token: bearer } = {}) {
  // The server's messages (a problem's `message`) follow the page's language switch.
  const headers = { Accept: "application/json", "Accept-Language": getLang() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch {
    return { problem: { code: "network", status: 0 } };
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    // No body (204) or not JSON (a proxy's error page): the status says enough.
  }
  if (res.ok) return { data: json };
  return { problem: { ...(json ?? {}), status: res.status, retryAfter: retryAfterSeconds(res) } };
}

/** A failed `api()` call: `problem` is what `request()` gives back. */
export class ApiProblem extends Error {
  constructor(problem) {
    super(problem.message || problem.code || `HTTP ${problem.status}`);
    this.problem = problem;
  }
}

/** The problem behind any error a page caught; anything but an ApiProblem counts as the network. */
export function problemOf(error) {
  return error instanceof ApiProblem ? error.problem : { code: "network", status: 0 };
}

/**
 * One request with the session's token; JSON back. Throws ApiProblem. A 401 from any
 * call means the token is gone: it is forgotten and the page told there and then,
 * whoever asked, before the caller sees the error.
 */
export async function api(method, path, body) {
  const { data, problem } = await request(method, path, { body, token });
  if (!problem) return data;
  if (problem.status === 401) {
    forgetToken();
    whenSignedOut();
  }
  throw new ApiProblem(problem);
}

/** Our words for a problem, then the server's own only when they say something more. */
export function serverDetail(problem, ours) {
  return problem.message && problem.message !== ours ? problem.message : "";
}

// ---------------------------------------------------------------- the language buttons

/** Each language's name in itself, so that whoever cannot read the page can still find theirs. */
const LANG_NAMES = { "zh-CN": "中文", en: "English" };

/** What shared modules (the header) redraw in a new language, besides the page's own. */
const languageListeners = [];

/** `fn()` runs after every language switch, once the fixed labels are in the new language. */
export function onLanguageChange(fn) {
  languageListeners.push(fn);
}

/**
 * Puts a button for every language into each `.lang` group, shows the page's fixed
 * labels in the current language, and does so again when a button is pressed.
 * `relabel()` sets the page's own fixed text that `data-i18n` cannot reach (its title, a
 * placeholder); `redraw()` then draws what came from data in the new language.
 */
export function wireLanguage({ relabel = () => {}, redraw }) {
  const buttons = [];
  for (const group of document.querySelectorAll(".lang")) {
    for (const lang of LANGS) {
      const button = el("button", null, LANG_NAMES[lang] ?? lang);
      button.type = "button";
      button.lang = lang;
      button.dataset.lang = lang;
      buttons.push(button);
      group.append(button);
    }
  }
  const show = () => {
    applyTranslations();
    relabel();
    for (const listener of languageListeners) listener();
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.lang === getLang()));
  };
  show();
  for (const button of buttons) {
    button.addEventListener("click", () => {
      setLang(button.dataset.lang);
      show();
      redraw();
    });
  }
}

// ---------------------------------------------------------------- waiting

/**
 * After a 429 the page's button rests until the server's wait is over, counting down on
 * screen: `onTick()` runs every second meanwhile, `onOver()` once just before the last.
 */
export class RetryWait {
  #until = 0;
  #timer = 0;

  constructor({ onTick, onOver }) {
    this.onTick = onTick;
    this.onOver = onOver;
  }

  /** Starts waiting when the problem is a 429 that said for how long. */
  startFor(problem) {
    if (problem.status !== 429 || problem.retryAfter == null) return;
    this.#until = Date.now() + problem.retryAfter * 1000;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      if (Date.now() >= this.#until) {
        clearInterval(this.#timer);
        this.#until = 0;
        this.onOver();
      }
      this.onTick();
    }, 1000);
  }

  get waiting() {
    return Date.now() < this.#until;
  }

  /** Our words for the problem; a 429's wait is what is left of it, so the text stays true. */
  problemText(problem) {
    return problemText({ ...problem, retryAfter: this.waiting ? (this.#until - Date.now()) / 1000 : problem.retryAfter });
  }
}

// ---------------------------------------------------------------- the installable shell

/** The pages' policy lets scripts make no URLs from strings; this one names our worker only. */
function trustedWorkerUrl(url) {
  if (window.trustedTypes && window.trustedTypes.createPolicy) {
    const policy = window.trustedTypes.createPolicy("muster-sw", {
      createScriptURL: (u) => {
        if (u !== url) throw new TypeError("not Muster's service worker");
        return u;
      },
    });
    return policy.createScriptURL(url);
  }
  return url;
}

/**
 * Registers the service worker (sw.js) for a page that works offline (`/m`, `/scan`), so
 * it opens with no network; the page works without one too. `onNewVersion()` runs when a
 * new server's pages take over from the ones this page was loaded from (not on the first
 * install): the page reloads onto them, or says so when that would lose what is on screen.
 */
export function registerShell(scope, onNewVersion) {
  if (!("serviceWorker" in navigator)) return;
  const hadOne = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.register(trustedWorkerUrl("/sw.js"), { scope }).catch(() => {});
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (hadOne) onNewVersion();
  });
}
