// The pairing page: a grid member scans the QR code on their pairing card, this page
// opens with `?code=ABCD-EFGH`, they press one big button and the phone is theirs: the
// server trades the one-time code for a token, kept in localStorage where every other
// page looks for it. Made for an older person on a cheap phone at midnight on patchy
// data: huge text, one button, and every failure says what to do next.
//
// All text from the server goes in through textContent, never innerHTML.

import { applyTranslations, getLang, problemText, setLang, t } from "./i18n.js";

const TOKEN_KEY = "muster.token";
/** Roles that manage accounts: after pairing they also get a link to the admin page. */
const ADMIN_ROLES = ["admin", "chief"];
/** The server keeps device descriptions short; so do we, and they must not carry much. */
const DEVICE_MAX = 100;

const $ = (id) => document.getElementById(id);

const page = {
  /** The code from the link, normalised, or null when the person has to type one. */
  linkCode: null,
  /** Who this phone is already signed in as (from /api/me), or null. */
  current: null,
  /** What the error box says, kept so a language switch can say it again. */
  problem: null,
  /** The staff member shown on the success screen, and whether they were already there. */
  done: null,
  busy: false,
  waitUntil: 0,
  waitTimer: 0,
};

// ---------------------------------------------------------------- the code

/**
 * "abcd efgh", "ABCDEFGH", "ＡＢＣＤ－ＥＦＧＨ" (a Chinese keyboard's full-width letters)
 * all become "ABCD-EFGH"; anything that is not 8 letters or digits becomes null.
 */
function normaliseCode(raw) {
  const plain = String(raw ?? "").normalize("NFKC").toUpperCase().replace(/[^A-Z0-9]/g, "");
  return plain.length === 8 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : null;
}

/** While typing: upper case, and the dash put in after four characters. */
function tidyTyping(input) {
  const atEnd = input.selectionStart === input.value.length;
  const plain = input.value.normalize("NFKC").toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 8);
  const tidy = plain.length > 4 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : plain;
  // Rewriting the value moves the caret to the end: only do it when it is there anyway.
  if (atEnd && tidy !== input.value) input.value = tidy;
}

/**
 * A short, recognisable name for this phone, so the chief's device list says
 * "Android 10; Redmi 9A · 微信 8" rather than a 200-character user agent.
 */
function describeDevice() {
  const ua = navigator.userAgent || "";
  const inside = ua.match(/\(([^)]*)\)/)?.[1] ?? "";
  const platform = inside
    .split(";")
    .map((part) => part.trim().replace(/\s*Build\/.*$/, ""))
    .filter((part) => part && !/^(Linux|U|wv|X11|[a-z]{2}[-_][a-zA-Z]{2})$/.test(part))
    .slice(0, 3)
    .join("; ");
  const browsers = [
    ["MicroMessenger", "微信"], ["MQQBrowser", "QQ浏览器"], ["UCBrowser", "UC"], ["HuaweiBrowser", "华为浏览器"],
    ["MiuiBrowser", "小米浏览器"], ["HeyTapBrowser", "OPPO浏览器"], ["VivoBrowser", "vivo浏览器"],
    ["SamsungBrowser", "Samsung"], ["EdgA", "Edge"], ["Edg", "Edge"], ["Firefox", "Firefox"],
    ["CriOS", "Chrome"], ["Chrome", "Chrome"], ["Version", "Safari"],
  ];
  let browser = "";
  for (const [token, name] of browsers) {
    const version = ua.match(new RegExp(`${token}/(\\d+)`))?.[1];
    if (version) {
      browser = `${name} ${version}`;
      break;
    }
  }
  const text = [platform, browser].filter(Boolean).join(" · ") || ua || "browser";
  return text.slice(0, DEVICE_MAX);
}

// ---------------------------------------------------------------- the server

/** Seconds from a Retry-After header (a number of seconds, or an HTTP date), or null. */
function retryAfterSeconds(res) {
  const value = res.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

/**
 * Sends a request and gives back { data } or { problem }. A problem is the server's
 * JSON ({ code, message }) with `status` and `retryAfter`, or { code: "network" } when
 * the phone could not reach the server at all: the two need different advice.
 */
async function request(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
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

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** False when the browser will not store it (private mode): the person must be told. */
function storeToken(token) {
  try {
    localStorage.setItem(TOKEN_KEY, token);
    return localStorage.getItem(TOKEN_KEY) === token;
  } catch {
    return false;
  }
}

/** Who this phone is signed in as already, if anyone: shown, and used if the code was spent. */
async function checkCurrent() {
  const token = storedToken();
  if (!token) return;
  const { data } = await request("GET", "/api/me", { token });
  if (!data) return;
  page.current = data;
  render();
}

async function pair() {
  if (page.busy || Date.now() < page.waitUntil) return;
  const code = page.linkCode ?? normaliseCode($("code-input").value);
  if (!code) {
    showProblem({ code: "bad_code_typed" });
    $("code-input").focus();
    return;
  }
  page.busy = true;
  page.problem = null;
  render();
  const { data, problem } = await request("POST", "/api/auth/pair", { body: { code, device: describeDevice() } });
  page.busy = false;
  if (data?.token && storeToken(data.token)) {
    succeed(data.staff, false);
  } else if (data?.token) {
    showProblem({ code: "no_storage" });
  } else if (problem?.status === 401 && page.current) {
    // Most often the same person scanning the card a second time: the code is spent
    // but the phone is already theirs. Say so (with their name) instead of an error.
    succeed(page.current, true);
  } else {
    showProblem(problem ?? { code: "network", status: 0 });
  }
}

function succeed(staff, already) {
  page.done = { staff, already };
  // The code is spent: a reload must not send it again and show a confusing error.
  const url = new URL(location.href);
  if (url.searchParams.has("code")) {
    url.searchParams.delete("code");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }
  render();
  $("go").focus();
}

function showProblem(problem) {
  page.problem = problem;
  if (problem.status === 429 && problem.retryAfter != null) startWait(problem.retryAfter);
  render();
  // On a small phone the box can land below the fold, under the thumb.
  $("error").scrollIntoView({ block: "nearest" });
}

/** After a 429 the button rests until the server's wait is over, counting down on screen. */
function startWait(seconds) {
  page.waitUntil = Date.now() + seconds * 1000;
  clearInterval(page.waitTimer);
  page.waitTimer = setInterval(() => {
    if (Date.now() >= page.waitUntil) {
      clearInterval(page.waitTimer);
      page.waitUntil = 0;
      page.problem = null;
    }
    render();
  }, 1000);
}

// ---------------------------------------------------------------- rendering

function roleLabel(role) {
  const key = `role.${role}`;
  const label = t(key);
  return label === key ? String(role ?? "") : label;
}

function render() {
  const done = page.done;
  $("step-code").hidden = done != null;
  $("step-done").hidden = done == null;
  if (done) renderDone(done);
  else renderForm();
}

function renderForm() {
  const current = page.current;
  $("current").hidden = !current;
  if (current) $("current").textContent = t("pair.current", { name: current.name, role: roleLabel(current.role) });

  const fromLink = page.linkCode != null;
  $("code-shown").hidden = !fromLink;
  $("code-shown").textContent = page.linkCode ?? "";
  $("code-entry").hidden = fromLink;
  $("other-code").hidden = !fromLink || !page.problem;

  const waiting = Date.now() < page.waitUntil;
  const button = $("pair-button");
  button.disabled = page.busy || waiting;
  button.textContent = t(page.busy ? "pair.working" : "pair.button");
  button.setAttribute("aria-busy", String(page.busy));
  renderProblem(waiting);
}

function renderProblem(waiting) {
  const problem = page.problem;
  $("error").hidden = !problem;
  if (!problem) return;
  let text;
  let todo = "";
  if (problem.code === "bad_code_typed") {
    text = t("pair.codeBad");
  } else if (problem.code === "no_storage") {
    // Private mode or a locked-down browser: the token would be lost at once.
    text = t("pair.noStorage");
  } else {
    const left = waiting ? (page.waitUntil - Date.now()) / 1000 : problem.retryAfter;
    text = problemText({ ...problem, retryAfter: left });
    // A 429's text already says how long to wait; the countdown keeps it true.
    if (problem.code === "network") todo = t("pair.checkNetwork");
    else if (problem.status !== 429) todo = t("pair.askChief");
  }
  $("error-text").textContent = text;
  $("error-todo").textContent = todo;
  $("error-todo").hidden = !todo;
  // The server's own words, small, for whoever helps over the phone; not when they
  // would only repeat ours.
  const detail = problem.message && problem.message !== text ? problem.message : "";
  $("error-detail").textContent = detail;
  $("error-detail").hidden = !detail;
}

function renderDone({ staff, already }) {
  $("done-title").textContent = t(already ? "pair.alreadyTitle" : "pair.doneTitle");
  $("done-name").textContent = staff?.name ?? "";
  $("done-role").textContent = roleLabel(staff?.role);
  $("not-you").hidden = !already;
  // Every role starts at the command centre for now; account managers also get theirs.
  $("go-admin").hidden = !ADMIN_ROLES.includes(staff?.role);
}

// ---------------------------------------------------------------- start-up

function showLanguage() {
  applyTranslations();
  document.title = t("pair.pageTitle");
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === getLang()));
  }
}

function wire() {
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      setLang(button.dataset.lang);
      showLanguage();
      render();
    });
  }
  $("pair-form").addEventListener("submit", (event) => {
    event.preventDefault();
    pair();
  });
  $("code-input").addEventListener("input", (event) => {
    tidyTyping(event.target);
    // The old complaint is about the old text; a 429's wait still stands.
    if (page.problem && page.problem.status !== 429) {
      page.problem = null;
      render();
    }
  });
  // A spent or mistyped code from the link: let the person type the one they were given.
  $("other-code").addEventListener("click", () => {
    page.linkCode = null;
    page.problem = null;
    render();
    $("code-input").focus();
  });
}

function start() {
  showLanguage();
  wire();
  const raw = new URL(location.href).searchParams.get("code");
  page.linkCode = normaliseCode(raw);
  // A damaged link still helps: what it carried is put in the box to be corrected.
  if (raw && !page.linkCode) $("code-input").value = raw;
  render();
  checkCurrent();
}

start();
