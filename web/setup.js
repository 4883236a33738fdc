// The first administrator's page: opened once, from the link `muster serve` printed for a
// database with no administrator. Name and phone in, a signed-in administrator out; the
// code in the link works once. Server text goes in through textContent only.

import { t } from "./i18n.js";
import { identify, mountHeader, showUser } from "./header.js";
import { $, request, storeToken, wireLanguage } from "./session.js";

const page = { code: new URL(location.href).searchParams.get("code") ?? "", problem: null, staff: null, busy: false };

function render() {
  $("step-form").hidden = page.staff != null;
  $("step-done").hidden = page.staff == null;
  $("done-name").textContent = page.staff?.name ?? "";
  $("setup-button").disabled = page.busy;
  $("error").hidden = !page.problem;
  if (page.problem) $("error-text").textContent = problemText(page.problem);
}

function problemText(problem) {
  if (problem.code === "network") return t("setup.network");
  if (problem.code === "pairing_code_invalid") return t("setup.codeSpent");
  return problem.message || problem.code;
}

async function submit() {
  if (page.busy) return;
  page.busy = true;
  page.problem = null;
  render();
  const body = { code: page.code, name: $("name").value, phone: $("phone").value, device: navigator.userAgent.slice(0, 100) };
  const { data, problem } = await request("POST", "/api/auth/setup", { body });
  page.busy = false;
  if (data?.token && storeToken(data.token)) {
    page.staff = data.staff;
    showUser(data.staff);
    // The code is spent: a reload must not send it again.
    history.replaceState(history.state, "", location.pathname);
  } else {
    page.problem = problem ?? { code: "network" };
  }
  render();
}

mountHeader();
wireLanguage({ relabel: () => (document.title = t("setup.pageTitle")), redraw: render });
$("setup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
render();
identify();
