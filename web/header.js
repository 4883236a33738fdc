// The header every page shares: who is signed in and as what, the language switch, links
// to the pages that person's role may use, and signing out. Each page's HTML has an
// empty-ish `<header id="site-header">` (holding that page's own title or live status, if
// any); mountHeader() puts the shared parts around it, the same on every page, so a
// grid member, the chief and the clerk find their way round the same way everywhere.
//
// The links only choose what to offer: the server checks every request's role itself.
// A page that already asks /api/me hands the answer to showUser(); one that does not
// calls identify(). Nothing from the server goes in but through textContent.

import { roleLabel, t } from "./i18n.js";
import { $, MANAGER_ROLES, api, el, forgetToken, onLanguageChange, problemOf, request, sessionToken, startSession, storedToken, wireLanguage } from "./session.js";

/** The phone page's name for each role it is for: the same as the title it shows that role. */
const PHONE_KEYS = { grid_member: "common.phoneMember", grid_head: "common.phoneHead", medic: "common.phoneMedic" };

/**
 * The pages in the header, in this order; `roles` null means every signed-in role. `key`
 * is the i18n key of the link's text, or a map from role to key.
 */
const PAGES = [
  // Everyone watches the live state but a lab, which sees tubes and results only.
  { path: "/", key: "common.commandCentre", roles: ["admin", "chief", "grid_head", "grid_member", "operator", "medic", "viewer"], testid: "nav-centre" },
  // Those who work from a phone find their page from the command centre too (a grid
  // member opening the chief's link, a medic signed in on a laptop).
  { path: "/m", key: PHONE_KEYS, roles: Object.keys(PHONE_KEYS), testid: "nav-phone" },
  // A sampling point's operator works from the scan page; it is theirs alone to be sent to.
  { path: "/scan", key: "common.scan", roles: ["operator"], testid: "nav-scan" },
  { path: "/admin.html", key: "common.admin", roles: MANAGER_ROLES, testid: "nav-admin" },
  { path: "/import.html", key: "common.import", roles: MANAGER_ROLES, testid: "nav-import" },
  // The lab enters results; the command may too (a phoned-in result at night).
  { path: "/lab.html", key: "common.lab", roles: ["lab", "chief", "admin"], testid: "nav-lab" },
  // The clerk's queue of walk-ins to confirm onto the roster, merge or reject.
  { path: "/walkins.html", key: "common.walkIns", roles: MANAGER_ROLES, testid: "nav-walkins" },
  // The chat groups call-ups and escalations are posted into, and what each delivery did.
  { path: "/channels.html", key: "common.channels", roles: MANAGER_ROLES, testid: "nav-channels" },
  // The after-action report (复盘): the chief's of the whole action, a head's of their areas.
  { path: "/report.html", key: "common.report", roles: ["admin", "chief", "grid_head"], testid: "nav-report" },
];
/** What a visitor without a session is offered. */
const SIGN_IN = { path: "/login.html", key: "common.signIn", testid: "nav-sign-in" };

const header = {
  root: null,
  nav: null,
  user: null,
  signOut: null,
  /** undefined until told; null for nobody signed in; else { name, role }. */
  me: undefined,
};

function here() {
  const p = location.pathname;
  return p === "/index.html" ? "/" : p;
}

/**
 * Builds the shared parts into the page's `<header id="site-header">`. Call it before
 * wireLanguage(), which fills the `.lang` group made here.
 */
export function mountHeader() {
  const root = $("site-header");
  root.classList.add("site");
  root.dataset.testid = "site-header";

  const brand = el("span", "site-brand", "Muster");
  const nav = el("nav", "site-nav");
  nav.dataset.testid = "site-nav";
  nav.setAttribute("aria-label", "Muster");

  const side = el("div", "site-side");
  const user = el("span", "site-user");
  user.dataset.testid = "site-user";
  user.hidden = true;
  const lang = el("div", "lang");
  lang.setAttribute("role", "group");
  lang.setAttribute("aria-label", "语言 / Language");
  const out = el("button", "site-sign-out");
  out.type = "button";
  out.dataset.testid = "site-sign-out";
  out.dataset.i18n = "common.signOut";
  out.textContent = t("common.signOut");
  out.hidden = true;
  out.addEventListener("click", signOut);
  side.append(user, lang, out);

  root.prepend(brand, nav);
  root.append(side);
  Object.assign(header, { root, nav, user, signOut: out });
  onLanguageChange(render);
}

/**
 * What a desk page shows instead of its `main` (by id) when it cannot be used: the
 * notice's title and words, and the way to sign in when that is what is missing.
 */
export function deskNotice(main) {
  return (title, body, vars = {}, signIn = false) => {
    $(main).hidden = true;
    $("notice").hidden = false;
    $("notice-title").textContent = t(title);
    $("notice-body").textContent = t(body, vars);
    $("notice-signin").hidden = !signIn;
  };
}

/**
 * How a desk page (the report, the chat groups, the walk-ins) starts: the header, the
 * language switch, the session, who this is and whether their role may use the page.
 * Resolves with /api/me, or null after `notice(title, body, vars, signIn)` said why not
 * (not signed in, the server out of reach, a role without the page).
 */
export async function startDesk({ roles, pageTitle, signInBody, noAccessBody, redraw, notice }) {
  mountHeader();
  wireLanguage({ relabel: () => (document.title = t(pageTitle)), redraw });
  const signIn = () => notice("admin.signInTitle", signInBody, {}, true);
  if (!startSession(signIn)) {
    showUser(null);
    signIn();
    return null;
  }
  let me;
  try {
    me = await api("GET", "/api/me");
  } catch (e) {
    if (problemOf(e).status === 401) showUser(null);
    else notice("notice.errorTitle", "lab.unreachable", {});
    return null;
  }
  showUser(me);
  if (!roles.includes(me.role)) {
    notice("admin.noAccessTitle", noAccessBody, { role: roleLabel(me.role) });
    return null;
  }
  return me;
}

/** Who is signed in (`{ name, role }` from /api/me), or null for nobody. */
export function showUser(me) {
  header.me = me ? { name: me.name, role: me.role } : null;
  render();
}

/**
 * For a page that does not ask /api/me itself: asks it with the page's token (or the
 * stored one), shows the answer and returns it (null when nobody is signed in or the
 * server cannot say). Changes no stored token: the page decides what a 401 means.
 */
export async function identify() {
  const token = sessionToken() ?? storedToken();
  if (!token) {
    showUser(null);
    return null;
  }
  const { data, problem } = await request("GET", "/api/me", { token });
  // Unreachable is not signed out: say nothing rather than something false.
  if (problem && problem.status !== 401) {
    header.root.dataset.ready = "";
    return null;
  }
  showUser(data);
  return data;
}

function keyOf(page, role) {
  return typeof page.key === "string" ? page.key : page.key[role];
}

function link(page, role) {
  const key = keyOf(page, role);
  const a = el("a", null, t(key));
  a.href = page.path;
  a.dataset.i18n = key;
  a.dataset.testid = page.testid;
  if (page.path === here()) a.setAttribute("aria-current", "page");
  return a;
}

function render() {
  if (!header.root || header.me === undefined) return;
  const me = header.me;
  const pages = me ? PAGES.filter((p) => p.roles == null || p.roles.includes(me.role)) : [SIGN_IN];
  const role = me ? me.role : null;
  // The keys too: the same path is named for the role (the phone page).
  const wanted = pages.map((p) => `${p.path}=${keyOf(p, role)}`).join(" ");
  if (header.nav.dataset.pages !== wanted) {
    header.nav.replaceChildren(...pages.map((p) => link(p, role)));
    header.nav.dataset.pages = wanted;
  }
  header.user.hidden = !me;
  header.user.textContent = me ? t("header.user", { name: me.name, role: roleLabel(me.role) }) : "";
  header.signOut.hidden = !me;
  header.root.dataset.ready = "";
}

/**
 * Asks first: a grid member's phone signed out at night needs a new pairing code from
 * the chief before it works again. Then the server forgets the token, this browser too,
 * and the person lands on the page that explains both ways back in.
 */
async function signOut() {
  if (!window.confirm(t("common.signOutConfirm"))) return;
  const token = sessionToken() ?? storedToken();
  // Already signed out or offline: the token is forgotten here either way.
  if (token) await request("POST", "/api/auth/logout", { token });
  forgetToken();
  location.replace("/");
}
