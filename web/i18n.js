// Shared by Muster's pages: the words (Simplified Chinese first, English second) and
// the way numbers and times are written. Times are always shown in Asia/Shanghai,
// whatever the browser's own zone is: a laptop set to UTC in the county office must
// show the same 00:45 as the phones in the village.

const LANG_KEY = "muster.lang";
export const LANGS = ["zh-CN", "en"];
const DEFAULT_LANG = "zh-CN";
const TIME_ZONE = "Asia/Shanghai";

const TABLES = {
  "zh-CN": {
    "app.title": "Muster 指挥中心",
    "phase.planned": "未开始",
    "phase.open": "进行中",
    "phase.closed": "已结束",
    "header.opened": "开始",
    "header.closed": "结束",
    "header.clock": "当前",
    "header.action": "行动",
    "header.user": "{name}（{role}）",
    "conn.connecting": "连接中…",
    "conn.open": "实时",
    "conn.reconnecting": "重新连接中…",
    "conn.offline": "网络已断开",
    "conn.idle": "未连接",
    "kpi.sampled": "已采样",
    "kpi.target": "应采",
    "kpi.exempt": "豁免",
    "kpi.exemptHint": "外出等",
    "kpi.missing": "未检",
    "kpi.scans": "扫码 {n} 次",
    "kpi.completion": "完成率",
    "kpi.completionHint": "（已采样 + 豁免）÷ 应采",
    "kpi.rate": "采样速度",
    "kpi.rate5": "近 5 分钟",
    "kpi.rate15": "近 15 分钟",
    "kpi.perMin": "人/分",
    "kpi.eta": "预计完成",
    "kpi.etaIn": "约 {n} 分钟后",
    "kpi.etaNone": "按近 15 分钟速度估算",
    "chart.title": "累计采样",
    "chart.target": "应采 {n}",
    "chart.empty": "尚无采样",
    "points.title": "采集点",
    "points.name": "采集点",
    "points.place": "位置",
    "points.count": "采样数",
    "points.rate5": "5 分钟速度",
    "points.rate15": "15 分钟速度",
    "points.last": "最后扫码",
    "points.atHome": "上门采样",
    "points.empty": "没有采集点",
    "tree.title": "网格进度",
    "tree.hint": "完成率最低的排在前面",
    "tree.exempt": "豁免 {n}",
    "tree.expand": "展开",
    "tree.collapse": "收起",
    "tree.empty": "没有网格",
    "staff.title": "各网格员未检人数",
    "staff.hint": "未检最多的排在前面",
    "staff.allDone": "全部完成",
    "time.justNow": "刚刚",
    "time.minutesAgo": "{n} 分钟前",
    "notice.loading": "加载中…",
    "notice.authTitle": "需要登录链接",
    "notice.authBody": "请使用总网格长发给您的登录链接打开本页（链接中带有 token）。",
    "notice.forbiddenTitle": "没有权限",
    "notice.forbiddenBody": "您的账号不能查看指挥中心，请联系总网格长。",
    "notice.noActionsTitle": "还没有行动",
    "notice.noActionsBody": "行动创建后，本页会显示它的实时进度。",
    "notice.actionMissingTitle": "找不到行动",
    "notice.actionMissingBody": "没有编号为 {id} 的行动，请检查链接。",
    "notice.errorTitle": "无法连接服务器",
    "notice.errorBody": "{s} 秒后重试…",
    "role.admin": "管理员",
    "role.chief": "总网格长",
    "role.grid_head": "网格长",
    "role.grid_member": "网格员",
    "role.operator": "采样点操作员",
    "role.medic": "医护",
    "role.viewer": "查看者",
  },
  en: {
    "app.title": "Muster command centre",
    "phase.planned": "Not started",
    "phase.open": "In progress",
    "phase.closed": "Finished",
    "header.opened": "Opened",
    "header.closed": "Closed",
    "header.clock": "Now",
    "header.action": "Action",
    "header.user": "{name} ({role})",
    "conn.connecting": "Connecting…",
    "conn.open": "Live",
    "conn.reconnecting": "Reconnecting…",
    "conn.offline": "Offline",
    "conn.idle": "Not connected",
    "kpi.sampled": "Sampled",
    "kpi.target": "Target",
    "kpi.exempt": "Exempt",
    "kpi.exemptHint": "away etc.",
    "kpi.missing": "Missing",
    "kpi.scans": "{n} scans",
    "kpi.completion": "Complete",
    "kpi.completionHint": "(sampled + exempt) ÷ target",
    "kpi.rate": "Rate",
    "kpi.rate5": "last 5 min",
    "kpi.rate15": "last 15 min",
    "kpi.perMin": "/min",
    "kpi.eta": "Expected finish",
    "kpi.etaIn": "in about {n} min",
    "kpi.etaNone": "at the 15-minute rate",
    "chart.title": "Cumulative samples",
    "chart.target": "Target {n}",
    "chart.empty": "No samples yet",
    "points.title": "Sampling points",
    "points.name": "Point",
    "points.place": "Place",
    "points.count": "Samples",
    "points.rate5": "Rate 5 min",
    "points.rate15": "Rate 15 min",
    "points.last": "Last scan",
    "points.atHome": "At home",
    "points.empty": "No sampling points",
    "tree.title": "Progress by grid",
    "tree.hint": "Lowest completion first",
    "tree.exempt": "exempt {n}",
    "tree.expand": "Expand",
    "tree.collapse": "Collapse",
    "tree.empty": "No grids",
    "staff.title": "Missing by grid member",
    "staff.hint": "Most missing first",
    "staff.allDone": "All done",
    "time.justNow": "just now",
    "time.minutesAgo": "{n} min ago",
    "notice.loading": "Loading…",
    "notice.authTitle": "Sign-in link needed",
    "notice.authBody": "Open this page with the sign-in link the chief sent you (it carries a token).",
    "notice.forbiddenTitle": "Not allowed",
    "notice.forbiddenBody": "Your account cannot open the command centre; ask the chief.",
    "notice.noActionsTitle": "No actions yet",
    "notice.noActionsBody": "Once an action is created this page shows its live progress.",
    "notice.actionMissingTitle": "Action not found",
    "notice.actionMissingBody": "There is no action number {id}; check the link.",
    "notice.errorTitle": "Cannot reach the server",
    "notice.errorBody": "Retrying in {s} s…",
    "role.admin": "admin",
    "role.chief": "chief",
    "role.grid_head": "grid head",
    "role.grid_member": "grid member",
    "role.operator": "point operator",
    "role.medic": "medic",
    "role.viewer": "viewer",
  },
};

let lang = readStoredLang();

function readStoredLang() {
  try {
    const stored = localStorage.getItem(LANG_KEY);
    return LANGS.includes(stored) ? stored : DEFAULT_LANG;
  } catch {
    // Storage can be disabled (private mode, locked-down kiosk): fall back quietly.
    return DEFAULT_LANG;
  }
}

export function getLang() {
  return lang;
}

/** Switches language, remembers it and sets `<html lang>` so fonts and screen readers follow. */
export function setLang(next) {
  if (!LANGS.includes(next)) return;
  lang = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // Not remembered, but still switched for this visit.
  }
  document.documentElement.lang = next;
}

/** The text for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = TABLES[lang][key] ?? TABLES[DEFAULT_LANG][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Fills every `data-i18n="key"` element's text under `root` (the page's fixed labels). */
export function applyTranslations(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
}

// Formatters are costly to build, cheap to use: keep one per language.
const cache = new Map();
function formatter(name, make) {
  const key = `${name}:${lang}`;
  if (!cache.has(key)) cache.set(key, make(lang));
  return cache.get(key);
}

export function fmtInt(n) {
  return formatter("int", (l) => new Intl.NumberFormat(l, { maximumFractionDigits: 0 })).format(n);
}

/** A per-minute rate: one decimal, so 0.4/min at a quiet point does not read as 0. */
export function fmtRate(x) {
  return formatter("rate", (l) => new Intl.NumberFormat(l, { minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(x);
}

/**
 * A share as a percentage with one decimal, rounded down: 2675 of 2676 must not read
 * "100.0 %" while one resident is still missing.
 */
export function fmtPercent(ratio) {
  const floored = Math.floor(Math.max(0, ratio) * 1000) / 1000;
  return formatter("pct", (l) => new Intl.NumberFormat(l, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(floored);
}

/** A Date from an RFC 3339 string, a Date, or unix seconds; null when there is none. */
export function toDate(value) {
  if (value == null || value === "") return null;
  if (value instanceof Date) return value;
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function timeFormat(name, options) {
  return formatter(name, (l) => new Intl.DateTimeFormat(l, { timeZone: TIME_ZONE, hourCycle: "h23", ...options }));
}

/** HH:MM in Asia/Shanghai, or "—" when there is no time. */
export function fmtTime(value) {
  const d = toDate(value);
  return d ? timeFormat("hm", { hour: "2-digit", minute: "2-digit" }).format(d) : "—";
}

/** HH:MM:SS in Asia/Shanghai, for the state clock, which moves second by second. */
export function fmtClock(value) {
  const d = toDate(value);
  return d ? timeFormat("hms", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(d) : "—";
}

/** Full local date and time, for tooltips. */
export function fmtDateTime(value) {
  const d = toDate(value);
  return d
    ? timeFormat("dt", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(d)
    : "";
}

/** "just now" / "N min ago", measured against `now` (the state clock, not the browser's). */
export function fmtAgo(value, now) {
  const d = toDate(value);
  const n = toDate(now);
  if (!d || !n) return "";
  const minutes = Math.floor((n - d) / 60000);
  return minutes < 1 ? t("time.justNow") : t("time.minutesAgo", { n: fmtInt(minutes) });
}
