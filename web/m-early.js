// The phone page's first requests, sent before the rest of the page has arrived. On a
// 400 ms link every round trip counts: this tiny module has no imports, so the browser
// runs it as soon as it is here (m.html loads it before m.js), and asks who is signed
// in, which actions there are and then the open action's households while m.js and its
// modules are still on the way. m.js takes the answers (or asks again if they failed).
//
// It reads the token and the language where session.js and i18n.js keep them; it writes
// nothing. No newer syntax than the rest of the page: old Android WebViews run it.

const TOKEN_KEY = "muster.token";
const LANG_KEY = "muster.lang";
/** The role this phone was last signed in as (pair.js and m.js keep it): a hint, checked by m.js. */
export const ROLE_KEY = "muster.m.role";

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch (err) {
    return null;
  }
}

/** The open action, else the latest. */
export function chooseAction(actions) {
  if (!actions || !actions.length) return null;
  const open = actions.filter((a) => a.phase === "open");
  const pool = open.length ? open : actions;
  return pool.reduce((best, a) => (best == null || Number(a.id) > Number(best.id) ? a : best), null);
}

/** Whether a role's page lists home visits (a medic) rather than households. */
export function wantsVisits(role) {
  return role === "medic";
}

/** A GET as session.js's request() answers it: { data } or { problem } (status 0: no answer). */
function get(path, token) {
  const lang = stored(LANG_KEY) || "zh-CN";
  return fetch(path, {
    headers: { Accept: "application/json", "Accept-Language": lang, Authorization: `Bearer ${token}` },
    cache: "no-store",
  }).then(
    (res) => res.json().catch(() => null).then((json) => (res.ok ? { data: json } : { problem: Object.assign({}, json, { status: res.status }) })),
    () => ({ problem: { code: "network", status: 0 } }),
  );
}

function start() {
  const token = new URL(location.href).searchParams.get("token") || stored(TOKEN_KEY);
  if (!token) return null;
  const me = get("/api/me", token);
  const actions = get("/api/actions", token);
  // With the role known from before, the list is asked for as soon as the actions are
  // here, not after /api/me too: one round trip less. m.js checks the guess.
  const hint = stored(ROLE_KEY);
  const roleKnown = hint ? Promise.resolve(hint) : me.then((m) => (m.data ? m.data.role : null));
  const households = Promise.all([roleKnown, actions]).then(([role, a]) => {
    const action = role && a.data ? chooseAction(a.data) : null;
    if (!action) return null;
    const visits = wantsVisits(role);
    const q = visits ? "?limit=500&visits=true" : "?limit=500";
    return get(`/api/actions/${encodeURIComponent(action.id)}/households${q}`, token).then((answer) => ({ action, visits, answer }));
  });
  return { token, me, actions, households };
}

/** The answers on their way, for the token they were asked with; null without a token. */
export const early = start();
