//! The report as one self-contained HTML page: inline CSS and SVG charts, no script, no
//! network. It prints on A4 (each section on a new page, table heads repeated, no row cut
//! in two) and reads on a phone (wide tables scroll sideways).

use super::AfterAction;
use super::sheets::{Cell, Table, clock, tables};
use crate::messages::Lang;
use crate::messages::review::word;
use std::fmt::Write;

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1b2430; --muted: #5b6675; --line: #d5dbe3; --accent: #0b6bcb; --warn: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px; font: 15px/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: var(--ink); background: #fff; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: var(--muted); }
section { margin: 24px 0; }
h2 { font-size: 19px; margin: 0 0 8px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; white-space: nowrap; }
th { background: #f1f4f8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.dash { color: var(--muted); text-align: center; }
svg { width: 100%; height: auto; max-width: 900px; display: block; }
svg text { font-size: 11px; fill: var(--muted); }
.legend span { display: inline-block; margin-right: 12px; font-size: 13px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
@page { size: A4; margin: 12mm; }
@page wide { size: A4 landscape; margin: 10mm; }
@media print {
  body { padding: 0; font-size: 11px; }
  section { break-before: page; margin: 0; }
  section.first { break-before: auto; }
  section.wide { page: wide; }
  td:first-child, th:first-child { white-space: nowrap; }
  .scroll { overflow: visible; }
  table { font-size: 9px; }
  th, td { white-space: normal; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  svg { max-width: 100%; }
}
"#;

/// The colours of the curves: this round, then the earlier ones.
const COLOURS: [&str; 5] = ["#0b6bcb", "#b3261e", "#2e7d32", "#8e24aa", "#ef6c00"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn table_html(out: &mut String, t: &Table) {
    out.push_str("<div class=\"scroll\"><table>");
    // A table of names and figures (the summary) has no heads.
    if t.heads.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for h in &t.heads {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead>");
    }
    out.push_str("<tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for cell in row {
            let class = match cell {
                Cell::Int(_) | Cell::Num(_) => " class=\"n\"",
                Cell::None => " class=\"dash\"",
                _ => "",
            };
            let _ = write!(out, "<td{class}>{}</td>", esc(&cell.shown()));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// A step chart of `(x, y)` series on one pair of axes, x in minutes, with vertical marks.
fn line_chart(series: &[(String, Vec<(f64, f64)>)], marks: &[(String, f64)], x_label: &str) -> String {
    let (w, h, left, bottom, top, right) = (900.0, 300.0, 56.0, 36.0, 12.0, 16.0);
    let points = series.iter().flat_map(|(_, s)| s.iter());
    let x_max = points.clone().map(|p| p.0).chain(marks.iter().map(|m| m.1)).fold(0.0_f64, f64::max).max(1.0);
    let x_min = points.clone().map(|p| p.0).chain(marks.iter().map(|m| m.1)).fold(0.0_f64, f64::min);
    let y_max = points.map(|p| p.1).fold(0.0_f64, f64::max).max(1.0);
    let x = |v: f64| left + (v - x_min) / (x_max - x_min).max(1.0) * (w - left - right);
    let y = |v: f64| h - bottom - v / y_max * (h - bottom - top);
    let mut svg = format!("<svg viewBox=\"0 0 {w} {h}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        h - bottom,
        w - right,
        h - bottom
    );
    let _ = write!(svg, "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#999\"/>", h - bottom);
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = write!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0}</text>", left - 4.0, y(v) + 4.0, v);
        let xv = x_min + (x_max - x_min) * f64::from(i) / 4.0;
        let _ =
            write!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.0}</text>", x(xv), h - bottom + 16.0, xv);
    }
    let _ = write!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", w - right, h - 4.0, esc(x_label));
    for (label, at) in marks {
        let _ = write!(
            svg,
            "<line x1=\"{0}\" y1=\"{top}\" x2=\"{0}\" y2=\"{1}\" stroke=\"#bbb\" stroke-dasharray=\"3 3\"/><text x=\"{2}\" y=\"{3}\" transform=\"rotate(-90 {2} {3})\" text-anchor=\"end\">{4}</text>",
            x(*at),
            h - bottom,
            x(*at) + 10.0,
            top + 2.0,
            esc(label)
        );
    }
    for (i, (_, s)) in series.iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        let mut d = format!("M{:.1},{:.1}", x(s[0].0), y(0.0));
        for &(px, py) in s {
            let _ = write!(d, " H{:.1} V{:.1}", x(px), y(py));
        }
        let _ =
            write!(svg, "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", COLOURS[i % COLOURS.len()]);
    }
    svg.push_str("</svg>");
    if series.len() > 1 {
        svg.push_str("<p class=\"legend\">");
        for (i, (name, _)) in series.iter().enumerate() {
            let _ =
                write!(svg, "<span><i style=\"background:{}\"></i>{}</span>", COLOURS[i % COLOURS.len()], esc(name));
        }
        svg.push_str("</p>");
    }
    svg
}

/// Bars of samples per 10 minutes, labelled in local time.
fn bars(per_10: &[(i64, i64)]) -> String {
    let (w, h, left, bottom) = (900.0, 180.0, 40.0, 28.0);
    let max = per_10.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1) as f64;
    let n = per_10.len().max(1) as f64;
    let bw = (w - left) / n;
    let mut svg = format!("<svg viewBox=\"0 0 {w} {h}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (i, (t, c)) in per_10.iter().enumerate() {
        let bh = *c as f64 / max * (h - bottom - 8.0);
        let bx = left + i as f64 * bw;
        let _ = write!(
            svg,
            "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#0b6bcb\"/>",
            h - bottom - bh,
            (bw - 1.0).max(1.0)
        );
        if i % (per_10.len() / 8).max(1) == 0 {
            let label =
                clock(time::OffsetDateTime::from_unix_timestamp(*t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
            let _ = write!(svg, "<text x=\"{bx:.1}\" y=\"{}\">{}</text>", h - 8.0, &label[6..]);
        }
    }
    let _ = write!(svg, "<text x=\"{}\" y=\"12\" text-anchor=\"end\">{max:.0}</text>", left - 4.0);
    svg.push_str("</svg>");
    svg
}

/// The whole page.
pub fn page(r: &AfterAction, lang: Lang) -> String {
    let w = |k: &str| word(k, lang);
    let mut out = String::with_capacity(64 * 1024);
    let lang_tag = if lang == Lang::Zh { "zh-CN" } else { "en" };
    let title = format!("{}：{}", w("title"), r.action.name);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{lang_tag}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let start = r.start.map(clock).unwrap_or_else(|| "—".into());
    let from = w(&format!("from.{}", r.start_is));
    let _ = write!(
        out,
        "<header><h1>{}</h1><p>{}：{} · {}（{}） · {}：{}</p>",
        esc(&title),
        w("generated"),
        clock(r.generated_at),
        esc(from),
        start,
        w("events"),
        r.totals.events
    );
    out.push_str("<div class=\"cards\">");
    let t = &r.totals;
    for (key, n) in [
        ("target", t.target),
        ("accounted", t.accounted),
        ("sampled", t.sampled),
        ("exempt", t.exempt),
        ("missing_n", t.missing),
        ("walk_ins", t.walk_ins),
    ] {
        let _ = write!(out, "<div class=\"card\"><b>{n}</b><span>{}</span></div>", w(key));
    }
    out.push_str("</div></header>");

    let all = tables(r, lang);
    let find = |key: &'static str| all.iter().filter(move |t| t.key == key);
    // The wide tables (areas, grid members, points) print on landscape pages.
    let section = |out: &mut String, first: bool, title: &str| {
        let wide = [w("points"), w("areas"), w("members")].contains(&title);
        let class = match (first, wide) {
            (true, _) => " class=\"first\"",
            (false, true) => " class=\"wide\"",
            (false, false) => "",
        };
        let _ = write!(out, "<section{class}><h2>{}</h2>", esc(title));
    };

    section(&mut out, true, w("timeline"));
    for t in find("timeline") {
        table_html(&mut out, t);
    }
    // The curve, minutes from the start, with the night's steps marked.
    let origin = r.start.map(|s| s.unix_timestamp());
    let to_minutes = |unix: i64| origin.map(|o| (unix - o) as f64 / 60.0);
    let here: Vec<(f64, f64)> = r.curve.iter().filter_map(|&(t, c)| Some((to_minutes(t)?, c as f64))).collect();
    let marks: Vec<(String, f64)> = r
        .marks
        .iter()
        .filter(|m| matches!(m.key, "call_up" | "opened" | "accounted_90" | "accounted_100" | "closed"))
        .filter_map(|m| Some((w(&format!("mark.{}", m.key)).to_owned(), m.minutes?)))
        .collect();
    let _ = write!(out, "<h2>{}</h2>", w("curve"));
    if here.is_empty() {
        let _ = write!(out, "<p>{}</p>", w("no_data"));
    } else {
        out.push_str(&line_chart(&[(r.action.name.clone(), here)], &marks, w(&format!("from.{}", r.start_is))));
    }
    let _ = write!(out, "<h2>{}</h2>", w("per10"));
    if r.per_10_minutes.is_empty() {
        let _ = write!(out, "<p>{}</p>", w("no_data"));
    } else {
        out.push_str(&bars(&r.per_10_minutes));
    }
    out.push_str("</section>");

    for (key, title) in [
        ("summary", "summary"),
        ("points", "points"),
        ("areas", "areas"),
        ("members", "members"),
        ("chain", "chain"),
        ("missing", "missing"),
        ("offline", "offline"),
        ("tubes", "tubes"),
    ] {
        section(&mut out, false, w(title));
        for t in find(key) {
            if key == "missing" && t.rows.is_empty() {
                let _ = write!(out, "<p>{}</p>", w("none_missing"));
            } else if key == "chain" && t.rows.is_empty() {
                let _ = write!(out, "<p>{}</p>", w("no_chain"));
            } else {
                table_html(&mut out, t);
            }
        }
        out.push_str("</section>");
    }

    if !r.compare.is_empty() {
        section(&mut out, false, w("compare"));
        let mut series = vec![(
            r.action.name.clone(),
            r.curve.iter().filter_map(|&(t, c)| Some((to_minutes(t)?, c as f64))).collect(),
        )];
        for round in &r.compare {
            series.push((round.name.clone(), round.curve.iter().map(|&(m, c)| (m, c as f64)).collect()));
        }
        out.push_str(&line_chart(&series, &[], w(&format!("from.{}", r.start_is))));
        // Key durations side by side.
        let _ = write!(
            out,
            "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th>",
            w("step"),
            esc(&r.action.name)
        );
        for round in &r.compare {
            let _ = write!(out, "<th>{}</th>", esc(&round.name));
        }
        out.push_str("</tr></thead><tbody>");
        for (i, m) in r.marks.iter().enumerate() {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td>",
                w(&format!("mark.{}", m.key)),
                Cell::num(m.minutes).shown()
            );
            for round in &r.compare {
                let then = round.marks.get(i).and_then(|m| m.minutes);
                let _ = write!(out, "<td class=\"n\">{}</td>", Cell::num(then).shown());
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
        for t in find("compare") {
            let _ = write!(out, "<h2>{}</h2>", esc(&t.title));
            table_html(&mut out, t);
        }
        out.push_str("</section>");
    }
    out.push_str("</body></html>");
    out
}
