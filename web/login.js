// Sign-in with phone and password, for staff at a computer. The token the server gives
// back goes into localStorage (where every page looks for it), then the person goes on
// to the page for their role: account managers to the admin page, everyone else to the
// command centre.
//
// All text from the server goes in through textContent, never innerHTML.

import { t } from "./i18n.js";
import { identify, mountHeader } from "./header.js";
import { $, MANAGER_ROLES, RetryWait, request, serverDetail, storeToken, wireLanguage } from "./session.js";

const page = {
  busy: false,
  /** The last failure, kept so a language switch can say it again. */
  problem: null,
};

const wait = new RetryWait({
  onTick: () => render(),
  onOver: () => (page.problem = null),
});

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
  if (page.busy || wait.waiting) return;
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
  const { data, problem } = await request("POST", "/api/auth/login", { body: { phone, password, device: describeDevice() } });
  page.busy = false;
  if (data?.token) {
    // Not stored: the next page will ask to sign in again; nothing better to do here.
    storeToken(data.token);
    $("status").textContent = t("login.done");
    // replace(): "back" from the admin page should not land on a filled-in form.
    location.replace(MANAGER_ROLES.includes(data.staff?.role) ? "/admin.html" : "/");
    return;
  }
  page.problem = problem ?? { code: "network", status: 0 };
  wait.startFor(page.problem);
  render();
  // A wrong password is the usual case: put the cursor back where the fix goes.
  if (page.problem.code === "sign_in_failed") $("password").select();
}

function render() {
  const button = $("submit");
  button.disabled = page.busy || wait.waiting;
  button.textContent = t(page.busy ? "login.working" : "login.submit");
  button.setAttribute("aria-busy", String(page.busy));

  const problem = page.problem;
  $("error").hidden = !problem;
  if (!problem) return;
  const text = problem.code === "missing" ? t("login.missing") : wait.problemText(problem);
  $("error-text").textContent = text;
  const detail = serverDetail(problem, text);
  $("error-detail").textContent = detail;
  $("error-detail").hidden = !detail;
}

function start() {
  mountHeader();
  wireLanguage({ relabel: () => (document.title = t("login.pageTitle")), redraw: render });
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn();
  });
  render();
  $("phone").focus();
  // Someone already signed in here is told who, in the header, before signing in as another.
  identify();
}

start();
