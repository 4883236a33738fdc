// Sign-in with phone and password, for staff at a computer. The token the server gives
// back goes into localStorage (where every page looks for it), then the person goes on
// to the page for their role: account managers to the admin page, everyone else to the
// command centre.
//
// All text from the server goes in through textContent, never innerHTML.

import { applyTranslations, getLang, problemText, setLang, t } from "./i18n.js";

const TOKEN_KEY = "muster.token";
const ADMIN_ROLES = ["admin", "chief"];

const $ = (id) => document.getElementById(id);

const page = {
  busy: false,
  /** The last failure, kept so a language switch can say it again. */
  problem: null,
  waitUntil: 0,
  waitTimer: 0,
};

/** Seconds from a Retry-After header (a number of seconds, or an HTTP date), or null. */
function retryAfterSeconds(res) {
  const value = res.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

/**
 * POSTs JSON and gives back { data } or { problem }: the server's { code, message }
 * with `status` and `retryAfter`, or { code: "network" } when nothing came back.
 */
async function postJson(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    return { problem: { code: "network", status: 0 } };
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (res.ok) return { data: json };
  return { problem: { ...(json ?? {}), status: res.status, retryAfter: retryAfterSeconds(res) } };
}

/**
 * A short name for this computer for the admin's device list ("Windows NT 10.0 · Chrome
 * 120"), rather than a 200-character user agent. pair.js has the phone-minded version.
 */
function describeDevice() {
  const ua = navigator.userAgent || "";
  const platform = (ua.match(/\(([^;)]*)/)?.[1] ?? "").trim();
  // Edge also says "Chrome": look for it first.
  const browser = ua.match(/(Edg|Firefox)\/(\d+)/) ?? ua.match(/(Chrome|Version)\/(\d+)/);
  const name = browser ? `${browser[1] === "Version" ? "Safari" : browser[1] === "Edg" ? "Edge" : browser[1]} ${browser[2]}` : "";
  return [platform, name].filter(Boolean).join(" · ").slice(0, 100) || "browser";
}

/** Spaces and dashes people type in phone numbers ("138 1234 5678") are not part of it. */
function cleanPhone(raw) {
  return raw.normalize("NFKC").replace(/[\s-]/g, "");
}

async function signIn() {
  if (page.busy || Date.now() < page.waitUntil) return;
  const phone = cleanPhone($("phone").value);
  const password = $("password").value;
  if (!phone || !password) {
    page.problem = { code: "missing" };
    render();
    (phone ? $("password") : $("phone")).focus();
    return;
  }
  page.busy = true;
  page.problem = null;
  render();
  const { data, problem } = await postJson("/api/auth/login", { phone, password, device: describeDevice() });
  page.busy = false;
  if (data?.token) {
    try {
      localStorage.setItem(TOKEN_KEY, data.token);
    } catch {
      // Not stored: the next page will ask to sign in again; nothing better to do here.
    }
    $("status").textContent = t("login.done");
    // replace(): "back" from the admin page should not land on a filled-in form.
    location.replace(ADMIN_ROLES.includes(data.staff?.role) ? "/admin.html" : "/");
    return;
  }
  page.problem = problem ?? { code: "network", status: 0 };
  if (page.problem.status === 429 && page.problem.retryAfter != null) startWait(page.problem.retryAfter);
  render();
  // A wrong password is the usual case: put the cursor back where the fix goes.
  if (page.problem.code === "sign_in_failed") $("password").select();
}

/** After a 429 the button rests until the wait is over, counting down on screen. */
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

function render() {
  const waiting = Date.now() < page.waitUntil;
  const button = $("submit");
  button.disabled = page.busy || waiting;
  button.textContent = t(page.busy ? "login.working" : "login.submit");
  button.setAttribute("aria-busy", String(page.busy));

  const problem = page.problem;
  $("error").hidden = !problem;
  if (!problem) return;
  let text;
  if (problem.code === "missing") {
    text = t("login.missing");
  } else {
    const left = waiting ? (page.waitUntil - Date.now()) / 1000 : problem.retryAfter;
    text = problemText({ ...problem, retryAfter: left });
  }
  $("error-text").textContent = text;
  const detail = problem.message && problem.message !== text ? problem.message : "";
  $("error-detail").textContent = detail;
  $("error-detail").hidden = !detail;
}

function showLanguage() {
  applyTranslations();
  document.title = t("login.pageTitle");
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === getLang()));
  }
}

function start() {
  showLanguage();
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      setLang(button.dataset.lang);
      showLanguage();
      render();
    });
  }
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn();
  });
  render();
  $("phone").focus();
}

start();
