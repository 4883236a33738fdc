//! The figures: histograms summarised, the visibility of scans on pushed screens, the
//! writer's own metrics, the correctness checks and their verdict, the printed table.

use crate::live::Seen;
use crate::load::{Acked, histogram};
use crate::roster::Plan;
use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct Report(pub Map<String, Value>);

impl Report {
    pub fn put(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_owned(), value);
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

/// Latency figures in milliseconds.
pub fn hist(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({"count": 0});
    }
    let ms = |us: u64| us as f64 / 1000.0;
    json!({
        "count": h.len(),
        "p50_ms": ms(h.value_at_quantile(0.5)),
        "p90_ms": ms(h.value_at_quantile(0.9)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
        "mean_ms": h.mean() / 1000.0,
    })
}

pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "memory_gib": mem_kib as f64 / 1024.0 / 1024.0,
    })
}

/// The server's `muster_commit_*` and `muster_fold_*` series, by their full line name.
pub async fn metrics(http: &reqwest::Client, base: &str) -> HashMap<String, f64> {
    let Ok(r) = http.get(format!("{base}/metrics")).send().await else {
        return HashMap::new();
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("muster_commit") || l.starts_with("muster_fold"))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Commit batch size and commit time during the scan phase (from sums and counts), and
/// the exporter's quantiles at its end.
pub fn writer_figures(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> Value {
    let delta = |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
    let mean = |name: &str| {
        let n = delta(&format!("{name}_count"));
        (n > 0.0).then(|| delta(&format!("{name}_sum")) / n)
    };
    let quantiles: Map<String, Value> =
        after.iter().filter(|(k, _)| k.contains("quantile")).map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "commits": delta("muster_commit_seconds_count"),
        "mean_batch_events": mean("muster_commit_batch_size"),
        "mean_commit_ms": mean("muster_commit_seconds").map(|s| s * 1000.0),
        "mean_fold_ms": mean("muster_fold_seconds").map(|s| s * 1000.0),
        "quantiles": quantiles,
    })
}

/// Scan → visible: for each acknowledged scan and each client that should show it, the
/// time from sending the scan to the first message that client received at a position at
/// or past the scan's. Dashboards show every scan; a phone shows the scans of residents
/// its grid member answers for. At most about 5 million pairs are looked up (scans are
/// sampled evenly beyond that). Returns (dashboards, phones, pairs never seen).
pub fn visibility(acked: &[Acked], views: &[Seen], plan: &Plan) -> (Histogram<u64>, Histogram<u64>, u64) {
    let (mut dash, mut phone, mut never) = (histogram(), histogram(), 0u64);
    let dashboards: Vec<&Seen> = views.iter().filter(|v| v.staff.is_none() && !v.messages.is_empty()).collect();
    let mut phones: HashMap<i64, Vec<&Seen>> = HashMap::new();
    for v in views.iter().filter(|v| !v.messages.is_empty()) {
        if let Some(s) = v.staff {
            phones.entry(s).or_default().push(v);
        }
    }
    let pairs = acked.len() * dashboards.len().max(1);
    let step = (pairs / 5_000_000).max(1);
    let mut record = |h: &mut Histogram<u64>, a: &Acked, v: &Seen| {
        let i = v.messages.partition_point(|m| m.1 < a.seq);
        match v.messages.get(i) {
            // A client connected after the scan saw it in its snapshot: not a push figure.
            Some(&(at, _)) if i > 0 => {
                h.saturating_record(at.saturating_sub(a.sent_us).max(1));
            }
            Some(_) => {}
            None => never += 1,
        }
    };
    for a in acked.iter().step_by(step) {
        for v in &dashboards {
            record(&mut dash, a, v);
        }
    }
    // A phone shows its grid member's missing count: only a resident's first sample moves
    // it (a re-sample changes nothing a phone shows, so the server need not tell it).
    let mut first_sample: HashMap<u32, i64> = HashMap::new();
    for a in acked {
        let seq = first_sample.entry(a.resident).or_insert(a.seq);
        *seq = (*seq).min(a.seq);
    }
    for a in acked.iter().filter(|a| first_sample.get(&a.resident) == Some(&a.seq)) {
        if let Some(list) = phones.get(&plan.resident_staff[a.resident as usize]) {
            for v in list {
                record(&mut phone, a, v);
            }
        }
    }
    (dash, phone, never)
}

/// Reads the whole missing list of the first `members` grid members, page by page, and
/// compares it with their residents not sampled. Returns how many differ.
pub async fn check_missing_lists(
    http: &reqwest::Client,
    base: &str,
    action: i64,
    plan: &Plan,
    sampled: &[bool],
    members: usize,
) -> anyhow::Result<i64> {
    let mut wrong = 0;
    for (staff, token) in plan.grid_members.iter().take(members) {
        let want: HashSet<i64> = plan
            .resident_staff
            .iter()
            .enumerate()
            .filter(|(i, s)| **s == *staff && !sampled[*i])
            .map(|(i, _)| plan.resident_ids[i])
            .collect();
        let mut got = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}/api/actions/{action}/missing?limit=1000");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = http.get(&url).bearer_auth(token).send().await?.error_for_status()?.json().await?;
            for r in page["residents"].as_array().into_iter().flatten() {
                got.insert(r["id"].as_i64().unwrap_or(-1));
            }
            match page["next"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        if got != want {
            eprintln!("grid member {staff}: /missing lists {} residents, {} expected", got.len(), want.len());
            wrong += 1;
        }
    }
    Ok(wrong)
}

/// Correctness checks: each an expected and an actual number.
#[derive(Default)]
pub struct Checks(Vec<(String, i64, i64)>);

impl Checks {
    pub fn expect(&mut self, what: &str, got: i64, want: i64) {
        self.0.push((what.to_owned(), got, want));
    }

    pub fn ok(&self) -> bool {
        self.0.iter().all(|(_, g, w)| g == w)
    }

    pub fn json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|(what, got, want)| json!({"check": what, "got": got, "want": want, "ok": got == want}))
                .collect(),
        )
    }

    pub fn verdict(&self, acked: i64, replays: u64, secs: f64) -> String {
        let proved =
            format!("{acked} scans acknowledged, {replays} replays, server totals and every pushed screen agree");
        self.verdict_saying(&proved, secs)
    }

    /// `verdict: OK` and what was proved, or `verdict: MISMATCH` and what failed.
    pub fn verdict_saying(&self, proved: &str, secs: f64) -> String {
        let failed: Vec<String> =
            self.0.iter().filter(|(_, g, w)| g != w).map(|(what, g, w)| format!("{what}: {g}, expected {w}")).collect();
        if failed.is_empty() {
            format!("verdict: OK {proved} ({} checks, {secs:.1} s)", self.0.len())
        } else {
            format!("verdict: MISMATCH {}", failed.join("; "))
        }
    }

    /// One line per check.
    pub fn print(&self) {
        for (what, got, want) in &self.0 {
            let mark = if got == want { "ok  " } else { "FAIL" };
            println!("{mark} {what}: {got} (expected {want})");
        }
    }
}

fn f(v: Option<&Value>) -> String {
    if let Some(n) = v.and_then(Value::as_i64) {
        return n.to_string();
    }
    match v.and_then(Value::as_f64) {
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

/// The summary table.
pub fn print(r: &Report, checks: &Checks) {
    let g = |path: &[&str]| f(lookup(&r.0, path));
    let lat = |path: &[&str]| {
        let get = |q: &str| {
            let mut p = path.to_vec();
            p.push(q);
            f(lookup(&r.0, &p))
        };
        format!(
            "p50 {} · p99 {} · max {} ms (n={})",
            get("p50_ms"),
            get("p99_ms"),
            get("max_ms"),
            f(lookup(&r.0, &[path, &["count"]].concat()))
        )
    };
    let rows = [
        ("server start-up (spawn → /healthz)", format!("{} s", g(&["startup", "seconds"])), ""),
        ("/healthz ceiling", format!("{} req/s", g(&["ceiling", "per_second"])), ""),
        (
            "durable scans",
            format!("{} /s ({} of ceiling)", g(&["scans", "per_second"]), g(&["scans", "ratio_to_ceiling"])),
            "≥ 25,000/s, ≥ 0.25",
        ),
        ("scan ack latency", lat(&["scans", "ack_latency"]), "p99 < 50 ms at 5,000/s"),
        ("replay ack latency", lat(&["scans", "replay_latency"]), ""),
        (
            "server CPU during scans",
            format!(
                "{} cores (loadtest {}, other processes {})",
                g(&["scans", "server_cores"]),
                g(&["scans", "loadtest_cores"]),
                g(&["scans", "other_cores"])
            ),
            "",
        ),
        ("server disk writes per scan", format!("{} bytes", g(&["scans", "server_write_bytes_per_scan"])), ""),
        (
            "commit: mean batch, mean time",
            format!(
                "{} events, {} ms",
                g(&["scans", "writer", "mean_batch_events"]),
                g(&["scans", "writer", "mean_commit_ms"])
            ),
            "",
        ),
        ("scan → dashboard", lat(&["push", "scan_to_dashboard"]), "p99 ≤ 200 ms"),
        ("scan → phone (own missing count)", lat(&["push", "scan_to_phone"]), ""),
        ("WebSocket connect", lat(&["push", "ws_connect"]), ""),
        ("WebSocket first snapshot", lat(&["push", "ws_first_snapshot"]), ""),
        ("pushed message size (mean)", format!("{} bytes", g(&["push", "mean_message_bytes"])), ""),
        ("GET /missing (grid member)", lat(&["missing_list_get", "latency"]), ""),
        (
            "server RSS, action open",
            format!(
                "{} MiB ({} bytes/resident)",
                g(&["memory", "rss_action_open_mib"]),
                g(&["memory", "bytes_per_resident_action_open"])
            ),
            "< 1,024 bytes/resident",
        ),
        (
            "server RSS end of scans (peak)",
            format!("{} MiB ({})", g(&["scans", "server_rss_mib"]), g(&["scans", "server_peak_rss_mib"])),
            "",
        ),
        (
            "restart with the log",
            format!("{} s for {} events", g(&["restart", "seconds"]), g(&["restart", "log_events"])),
            "< 20 s at 10M events",
        ),
    ];
    println!();
    println!("{:<36} {:<58} target", "figure", "value");
    for (name, value, target) in rows {
        println!("{name:<36} {value:<58} {target}");
    }
    println!();
    checks.print();
}

fn return_nested<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, p| v.get(p))
}

fn lookup<'a>(m: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    return_nested(m.get(*first)?, rest)
}
