// The pairing page: a grid member scans the QR code on their pairing card, this page
// opens with `?code=ABCD-EFGH`, they press one big button and the phone is theirs: the
// server trades the one-time code for a token, kept in localStorage where every other
// page looks for it. Made for an older person on a cheap phone at midnight on patchy
// data: huge text, one button, and every failure says what to do next.
//
// All text from the server goes in through textContent, never innerHTML.

import { roleLabel, t } from "./i18n.js";
import "./phone-words.js";
import { mountHeader, showUser } from "./header.js";
import { $, MANAGER_ROLES, RetryWait, request, serverDetail, storeToken, storedToken, wireLanguage } from "./session.js";

/** The server keeps device descriptions short; so do we, and they must not carry much. */
const DEVICE_MAX = 100;

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
};

const wait = new RetryWait({
  onTick: () => render(),
  onOver: () => (page.problem = null),
});

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

/** Who this phone is signed in as already, if anyone: shown, and used if the code was spent. */
async function checkCurrent() {
  const token = storedToken();
  if (!token) {
    showUser(null);
    return;
  }
  const { data, problem } = await request("GET", "/api/me", { token });
  if (!data) {
    if (problem?.status === 401) showUser(null);
    return;
  }
  page.current = data;
  showUser(data);
  render();
}

async function pair() {
  if (page.busy || wait.waiting) return;
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
  showUser(staff);
  // The phone page asks for the right list before it has asked who this is (m-early.js).
  try {
    if (staff?.role) localStorage.setItem("muster.m.role", staff.role);
  } catch {
    // Only a hint: the phone page asks anyway.
  }
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
  wait.startFor(problem);
  render();
  // On a small phone the box can land below the fold, under the thumb.
  $("error").scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- rendering

function render() {
  renderWeChat();
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

  const button = $("pair-button");
  button.disabled = page.busy || wait.waiting;
  button.textContent = t(page.busy ? "pair.working" : "pair.button");
  button.setAttribute("aria-busy", String(page.busy));
  renderProblem();
}

function renderProblem() {
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
    text = wait.problemText(problem);
    // A 429's text already says how long to wait; the countdown keeps it true.
    if (problem.code === "network") todo = t("pair.checkNetwork");
    else if (problem.status !== 429) todo = t("pair.askChief");
  }
  $("error-text").textContent = text;
  $("error-todo").textContent = todo;
  $("error-todo").hidden = !todo;
  // The server's own words, small, for whoever helps over the phone; not when they
  // would only repeat ours.
  const detail = serverDetail(problem, text);
  $("error-detail").textContent = detail;
  $("error-detail").hidden = !detail;
}

function renderDone({ staff, already }) {
  $("done-title").textContent = t(already ? "pair.alreadyTitle" : "pair.doneTitle");
  $("done-name").textContent = staff?.name ?? "";
  $("done-role").textContent = roleLabel(staff?.role);
  $("not-you").hidden = !already;
  // The people who chase residents start on the phone page; a head keeps the command
  // centre one tap away (and the phone page links to it too). Account managers also get theirs.
  // A sampling point's operator starts on the scan page, as the phone roles on theirs.
  const phone = PHONE_ROLES.includes(staff?.role);
  const scan = staff?.role === "operator";
  // The lab works from its own page: tubes and results, not the command centre.
  const lab = staff?.role === "lab";
  $("go").href = phone ? "/m" : scan ? "/scan" : lab ? "/lab.html" : "/";
  $("go").textContent = t(
    staff?.role === "medic" ? "pair.goMedic" : phone ? "pair.goPhone" : scan ? "pair.goScan" : lab ? "pair.goLab" : "pair.go",
  );
  $("go-centre").hidden = staff?.role !== "grid_head";
  $("go-admin").hidden = !MANAGER_ROLES.includes(staff?.role);
}

/** The roles whose pairing link lands on the phone page, /m. */
const PHONE_ROLES = ["grid_member", "grid_head", "medic"];

/**
 * WeChat's in-app browser keeps its own storage: a phone paired there is signed in only
 * inside WeChat. Said before the button, with how to open the link in the phone's browser.
 */
function renderWeChat() {
  $("wechat").hidden = !/MicroMessenger/i.test(navigator.userAgent || "");
}

// ---------------------------------------------------------------- start-up

function wire() {
  mountHeader();
  wireLanguage({ relabel: () => (document.title = t("pair.pageTitle")), redraw: render });
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
  wire();
  const raw = new URL(location.href).searchParams.get("code");
  page.linkCode = normaliseCode(raw);
  // A damaged link still helps: what it carried is put in the box to be corrected.
  if (raw && !page.linkCode) $("code-input").value = raw;
  render();
  checkCurrent();
}

start();
