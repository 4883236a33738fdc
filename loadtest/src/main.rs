//! `loadtest`: how fast, how many, how close to the limit one `muster` node goes.
//!
//! # Layout
//! - [`roster`]: a roster of any size written into the database, and the [`roster::Plan`]
//!   the load acts from (tokens, who answers for whom).
//! - [`eventlog`]: a long event log written straight into SQLite, for the rebuild figure.
//! - [`server`]: starting and stopping `muster serve`; CPU and memory from `/proc`.
//! - [`load`]: HTTP load — scans (closed or open loop, with replays), the `/healthz`
//!   ceiling, missing-list readers.
//! - [`live`]: WebSocket dashboards and phones, what they were pushed and when.
//! - [`storm`]: the call-up storm — every phone called up at once, every one answering.
//! - [`report`]: the figures, the verdict, the table and the JSON file.
//!
//! Everything the server is asked goes through its public HTTP and WebSocket API; only
//! the roster (and, on request, a long log) is written into the database beforehand.

#![forbid(unsafe_code)]

mod eventlog;
mod live;
mod load;
mod report;
mod roster;
mod server;
mod storm;

use anyhow::{Context, bail, ensure};
use clap::Parser;
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Microseconds since the run started: every time the tool records is on this clock.
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn now_us(&self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }

    /// The instant `us` µs after the run started.
    pub fn at(&self, us: u64) -> Instant {
        self.0 + Duration::from_micros(us)
    }
}

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator and benchmark for Muster (see BENCHMARKS.md)")]
pub struct Opts {
    /// A short run for CI (under 30 s with server start): 20,000 residents, 64 clients,
    /// 6 s of scans. Explicit options still win.
    #[arg(long)]
    quick: bool,
    /// Residents to generate into a fresh database (default 100,000; 20,000 with --quick).
    #[arg(long)]
    residents: Option<usize>,
    /// Sampling points, one operator each (default: one per 2,000 residents, 10 to 1,000).
    #[arg(long)]
    points: Option<usize>,
    /// The database: sqlite://FILE. Generated into when it is empty, used as it is when
    /// it holds a roster. Default: a new file in the temporary directory, removed after.
    #[arg(long)]
    db: Option<String>,
    /// Drive a server that is already running (needs --db for its roster and tokens).
    #[arg(long, requires = "db")]
    url: Option<String>,
    /// With --url: the server's process id, for its CPU and memory figures.
    #[arg(long)]
    pid: Option<u32>,
    /// The `muster` binary to start (default: the one next to this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Concurrent scan clients in the closed loop (default 256; 64 with --quick).
    #[arg(long)]
    clients: Option<usize>,
    /// Open loop: scans started per second, whatever the answers do (instead of the
    /// closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of scans (0: none; default 20, 6 with --quick).
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds of the /healthz ceiling run with the same clients (default: up to 10; 3
    /// with --quick; 0 skips it).
    #[arg(long)]
    ceiling_duration: Option<f64>,
    /// Share of requests that replay an acknowledged scan's id (default 0.02).
    #[arg(long)]
    replay: Option<f64>,
    /// WebSocket dashboards (default 10; 8 with --quick).
    #[arg(long)]
    dashboards: Option<usize>,
    /// WebSocket phones, grid members round robin (default 100; 40 with --quick).
    #[arg(long)]
    phones: Option<usize>,
    /// Grid members reading their missing list during the scans (default 4; 2 quick).
    #[arg(long)]
    missing_readers: Option<usize>,
    /// Loopback source addresses for WebSocket clients (127.0.0.2 …), for more sockets
    /// than one address has ephemeral ports.
    #[arg(long, default_value_t = 4)]
    source_addrs: usize,
    /// Write a log of this many events straight into the database before starting the
    /// server (one action, opened, then scans): the rebuild benchmark.
    #[arg(long)]
    log_events: Option<u64>,
    /// Client ids as random UUID v4 (what `crypto.randomUUID()` makes) instead of the
    /// time-ordered UUID v7 that Muster's own clients make (the demo's drill) and the API
    /// asks for. Random ids land anywhere in the log's unique index: each batch dirties
    /// ~one index page per event, ~10× the bytes written per scan (BENCHMARKS.md).
    #[arg(long)]
    v4_ids: bool,
    /// Skip stopping and restarting the server at the end (the restart figure).
    #[arg(long)]
    no_restart: bool,
    /// Keep the generated database file.
    #[arg(long)]
    keep_db: bool,
    #[arg(long, default_value_t = 2022_04_22)]
    seed: u64,
    /// The call-up storm (issue 16) instead of scans: the chief calls up every grid
    /// member; `--phones` of them (default 10,000; 300 with --quick), each on their own
    /// paired phone with its live feed open, read the call-up when it shows and answer it
    /// within `--answer-window`, while `--dashboards` command-centre sockets (the chief's
    /// session; default 2) watch the answers come in. Residents default to 38 per phone,
    /// so that every phone has a grid of its own.
    #[arg(long)]
    storm: bool,
    /// With --storm: seconds over which the answers are spread, evenly at random
    /// (default 60; 5 with --quick).
    #[arg(long)]
    answer_window: Option<f64>,
    /// With --storm: keep-alive HTTP connections the phones share for their requests.
    #[arg(long, default_value_t = 128)]
    http_conns: usize,
    /// Write the figures as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads of the load generator's own runtime (default: one per core). The
    /// load runs on the server's cores: 1 caps what it can take from the server at one
    /// core. (`taskset` would pin the server too, which this tool starts.)
    #[arg(long)]
    threads: Option<usize>,
}

/// The options with the defaults of the chosen mode filled in.
pub struct Settings {
    pub residents: usize,
    pub points: usize,
    pub clients: usize,
    pub duration: f64,
    pub ceiling: f64,
    pub replay: f64,
    pub dashboards: usize,
    pub phones: usize,
    pub readers: usize,
}

impl Opts {
    fn answer_window(&self) -> f64 {
        self.answer_window.unwrap_or(if self.quick { 5.0 } else { 60.0 })
    }

    fn settings(&self) -> Settings {
        let q = self.quick;
        let phones = self.phones.unwrap_or(match (self.storm, q) {
            (true, true) => 300,
            (true, false) => 10_000,
            (false, true) => 40,
            (false, false) => 100,
        });
        let residents = self.residents.unwrap_or(match (self.storm, q) {
            (true, _) => phones * 38,
            (false, true) => 20_000,
            (false, false) => 100_000,
        });
        let duration = self.duration.unwrap_or(if q { 6.0 } else { 20.0 });
        Settings {
            residents,
            points: self.points.unwrap_or((residents / 2_000).clamp(10, 1_000)),
            clients: self.clients.unwrap_or(if q { 64 } else { 256 }),
            duration,
            ceiling: self.ceiling_duration.unwrap_or(if q { 3.0 } else { duration.min(10.0) }),
            replay: self.replay.unwrap_or(0.02),
            dashboards: self.dashboards.unwrap_or(if self.storm {
                2
            } else if q {
                8
            } else {
                10
            }),
            phones,
            readers: self.missing_readers.unwrap_or(if q { 2 } else { 4 }),
        }
    }
}

fn main() {
    let opts = Opts::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = opts.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime.enable_all().build().expect("a runtime can be built");
    match runtime.block_on(run(opts)) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("loadtest failed: {e:#}");
            println!("verdict: ERROR {e}");
            std::process::exit(2);
        }
    }
}

/// Runs the benchmark; `Ok(false)` on a correctness mismatch.
async fn run(opts: Opts) -> anyhow::Result<bool> {
    let wall = Instant::now();
    let clock = Clock(wall);
    let s = opts.settings();
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    eprintln!("open files limit: {limit}");
    let mut r = report::Report::default();
    r.put(
        "settings",
        json!({
            "quick": opts.quick, "residents": s.residents, "points": s.points, "clients": s.clients,
            "rate": opts.rate, "duration_s": s.duration, "ceiling_s": s.ceiling, "replay": s.replay,
            "dashboards": s.dashboards, "phones": s.phones, "missing_readers": s.readers,
            "source_addrs": opts.source_addrs, "log_events": opts.log_events, "v4_ids": opts.v4_ids,
            "open_files_limit": limit, "threads": opts.threads, "storm": opts.storm,
            "answer_window_s": opts.storm.then(|| opts.answer_window()),
        }),
    );
    r.put("machine", report::machine());

    // 1. The database: a fresh generated roster, or the one already there.
    let temp_db = opts.db.is_none();
    let db = opts.db.clone().unwrap_or_else(|| {
        let file = std::env::temp_dir().join(format!("muster-loadtest-{}.db", std::process::id()));
        format!("sqlite://{}", file.display())
    });
    let db_path = db.strip_prefix("sqlite://").unwrap_or(&db).to_owned();
    let store = muster::store::open(&db).await.with_context(|| format!("cannot open {db}"))?;
    let generated_at = Instant::now();
    let fresh = store.load_roster().await?.nodes.is_empty();
    // A paired phone is a session: the storm signs in one grid member per phone.
    let signed_in = if opts.storm { s.phones } else { roster::SIGNED_IN_GRID_MEMBERS };
    let plan = if fresh {
        ensure!(opts.url.is_none(), "--url needs --db with the server's roster");
        eprintln!("generating {} residents into {db} …", s.residents);
        let plan = roster::generate(store.as_ref(), s.residents, s.points, opts.seed, signed_in).await?;
        r.put("roster_generation_s", json!(generated_at.elapsed().as_secs_f64()));
        plan
    } else {
        roster::load(store.as_ref(), signed_in).await?
    };
    let plan = Arc::new(plan);
    r.put(
        "roster",
        json!({
            "residents": plan.resident_ids.len(), "grid_members": plan.grid_members.len(),
            "points": plan.points.len(),
        }),
    );
    eprintln!(
        "roster: {} residents, {} grid members, {} points ({:.1} s)",
        plan.resident_ids.len(),
        plan.grid_members.len(),
        plan.points.len(),
        generated_at.elapsed().as_secs_f64()
    );
    if let Some(events) = opts.log_events {
        ensure!(opts.url.is_none(), "--log-events writes the log before the server starts");
        let action = store
            .create_action(
                &muster::action::NewAction {
                    kind: muster::action::ActionKind::Testing,
                    name: "重建基准 全员核酸".into(),
                    scope: plan.scope.clone(),
                    points: plan.points.clone(),
                    planned_open: None,
                    planned_close: None,
                },
                time::OffsetDateTime::now_utc(),
            )
            .await?;
        eprintln!("writing a log of {events} events straight into {db_path} …");
        let secs = eventlog::write(&db_path, action.id, events, &plan.resident_ids, &plan.points, 1).await?;
        r.put("log_generation", json!({"events": events, "seconds": secs, "written": "directly with SQL"}));
    }
    drop(store);

    // 2. The server.
    let log = std::env::temp_dir().join(format!("muster-loadtest-{}.log", std::process::id()));
    let bin = opts.server_bin.clone().unwrap_or_else(server::default_bin);
    let (mut spawned, base, pid) = match &opts.url {
        Some(url) => (None, url.trim_end_matches('/').to_owned(), opts.pid),
        None => {
            eprintln!("starting {} (log: {}) …", bin.display(), log.display());
            let child = server::start(&bin, &db, &log).await?;
            let (url, pid) = (child.url.clone(), child.pid);
            r.put(
                "startup",
                json!({
                    "seconds": child.startup.as_secs_f64(),
                    "log_events": opts.log_events,
                    "rss_mib": server::sample(Some(pid)).rss_kib as f64 / 1024.0,
                }),
            );
            eprintln!("server ready at {url} in {:.2} s", child.startup.as_secs_f64());
            (Some(child), url, Some(pid))
        }
    };
    let after_start = server::sample(pid);

    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(30))
        .build()?;

    // 3. The action, planned and opened by the chief through the API.
    let action = open_action(&http, &base, &plan).await?;
    let after_open = server::sample(pid);
    r.put(
        "memory",
        json!({
            "rss_after_start_mib": after_start.rss_kib as f64 / 1024.0,
            "rss_action_open_mib": after_open.rss_kib as f64 / 1024.0,
            "bytes_per_resident_action_open": after_open.rss_kib as f64 * 1024.0 / plan.resident_ids.len() as f64,
        }),
    );

    // 4. Dashboards and phones.
    let addr: std::net::SocketAddr = base
        .strip_prefix("http://")
        .context("--url must be http://HOST:PORT")?
        .parse()
        .context("--url must name an IP address and port")?;
    let target = Arc::new(live::Target { server: addr, host: addr.to_string(), action });
    if opts.storm {
        let mut checks = report::Checks::default();
        let storm = storm::Storm {
            http: &http,
            base: &base,
            target,
            plan: plan.clone(),
            phones: s.phones,
            command: s.dashboards,
            window: opts.answer_window(),
            http_conns: opts.http_conns,
            source_addrs: opts.source_addrs,
            pid,
            clock,
            seed: opts.seed,
        };
        let ran = storm::run(storm, &mut r, &mut checks).await;
        if let Some(child) = spawned.take() {
            child.stop().await?;
        }
        if temp_db && !opts.keep_db {
            remove_db(&db_path, &log);
        }
        ran?;
        r.put("checks", checks.json());
        r.put("total_seconds", json!(wall.elapsed().as_secs_f64()));
        storm::print(&r, &checks);
        write_out(&opts, &r)?;
        let proved =
            format!("{} phones shown the call-up and answered; every pushed count agrees with the log", s.phones);
        println!("{}", checks.verdict_saying(&proved, wall.elapsed().as_secs_f64()));
        return Ok(checks.ok());
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let who = (0..s.dashboards + s.phones)
        .map(|k| {
            let (token, staff) = if k < s.dashboards {
                (plan.viewer.clone(), None)
            } else {
                let (id, token) = &plan.grid_members[(k - s.dashboards) % plan.grid_members.len().max(1)];
                (token.clone(), Some(*id))
            };
            live::Who { source: live::source(k, opts.source_addrs), token, staff, call_ups: None }
        })
        .collect();
    let connect_started = Instant::now();
    let (clients, tasks) = live::connect(&target, who, clock, &stop_rx).await;
    wait_for(&clients, Duration::from_secs(300), |c| !c.messages.is_empty()).await;
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let with_ws = server::sample(pid);
    r.put(
        "ws_connected",
        json!({
            "seconds_for_all": connect_secs,
            "rss_mib": with_ws.rss_kib as f64 / 1024.0,
        }),
    );
    eprintln!("{} WebSocket clients connected in {connect_secs:.1} s", clients.len());

    // 5. The ceiling: the same clients against /healthz.
    if s.ceiling > 0.0 {
        let (a, me) = (server::sample(pid), server::sample(None));
        let until = tokio::time::Instant::now() + Duration::from_secs_f64(s.ceiling);
        let started = Instant::now();
        let (n, h) = load::ceiling(addr, s.clients, until, clock).await;
        let secs = started.elapsed().as_secs_f64();
        let (b, me2) = (server::sample(pid), server::sample(None));
        r.put(
            "ceiling",
            json!({
                "requests": n, "seconds": secs, "per_second": n as f64 / secs,
                "latency": report::hist(&h), "server_cores": server::cores(a, b),
                "loadtest_cores": server::cores(me, me2), "other_cores": server::other_cores((a, b), (me, me2)),
            }),
        );
        eprintln!("ceiling: {:.0} /healthz per second", n as f64 / secs);
    }

    // 6. Scans, with the missing-list readers alongside.
    let scans = Arc::new(load::Scans::new(addr, action, plan.clone(), s.replay, !opts.v4_ids, clock));
    let metrics_before = report::metrics(&http, &base).await;
    let (a, me) = (server::sample(pid), server::sample(None));
    let started = Instant::now();
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(s.duration);
    let readers = tokio::spawn(load::missing_readers(
        http.clone(),
        base.clone(),
        action,
        // Spread over the roster: a grid member late in roster order waits longest.
        plan.grid_members
            .iter()
            .step_by((plan.grid_members.len() / s.readers.max(1)).max(1))
            .take(s.readers)
            .map(|m| m.1.clone())
            .collect(),
        until,
        clock,
    ));
    let tally = if s.duration <= 0.0 {
        load::Tally::default()
    } else if let Some(rate) = opts.rate {
        load::open_loop(scans.clone(), rate, until, 16_384).await
    } else {
        load::closed_loop(scans.clone(), s.clients, until).await
    };
    let secs = started.elapsed().as_secs_f64();
    let (b, me2) = (server::sample(pid), server::sample(None));
    let (missing_h, missing_failed) = readers.await?;
    let metrics_after = report::metrics(&http, &base).await;
    eprintln!(
        "scans: {} new, {} replays in {secs:.1} s ({:.0}/s)",
        tally.acked.len(),
        tally.replays,
        tally.acked.len() as f64 / secs
    );

    // 7. Drain: every client should reach the final position.
    let snapshot: serde_json::Value = http
        .get(format!("{base}/api/actions/{action}"))
        .bearer_auth(&plan.chief)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let final_seq = snapshot["seq"].as_i64().context("snapshot without seq")?;
    let drained = wait_for(&clients, Duration::from_secs(30), |c| c.position() >= final_seq).await;

    // 8. Figures and checks.
    let mut checks = report::Checks::default();
    let server_scans = snapshot["totals"]["scans"].as_i64().unwrap_or(-1);
    let server_sampled = snapshot["totals"]["sampled"].as_i64().unwrap_or(-1);
    let acked = tally.acked.len() as i64;
    let mut distinct = vec![false; plan.resident_ids.len()];
    let mut sampled_by_staff: std::collections::HashMap<i64, i64> = Default::default();
    let mut scans_by_staff: std::collections::HashMap<i64, i64> = Default::default();
    for a in &tally.acked {
        let staff = plan.resident_staff[a.resident as usize];
        *scans_by_staff.entry(staff).or_insert(0) += 1;
        if !std::mem::replace(&mut distinct[a.resident as usize], true) {
            *sampled_by_staff.entry(staff).or_insert(0) += 1;
        }
    }
    let distinct_n = distinct.iter().filter(|d| **d).count() as i64;
    checks.expect("server scans == scans acknowledged new", server_scans, acked);
    checks.expect("server sampled == distinct residents acknowledged", server_sampled, distinct_n);
    checks.expect("log position == 1 (opened) + scans acknowledged new", final_seq, 1 + acked);
    checks.expect("replays answered other than 200 repeat at the first position", tally.replay_mismatches as i64, 0);
    checks.expect("new scans answered repeat on their first attempt", tally.unexpected as i64, 0);
    checks.expect("scans refused with a 4xx", tally.refused as i64, 0);
    let mut seqs: Vec<i64> = tally.acked.iter().map(|a| a.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    checks.expect("distinct positions among acknowledged scans", seqs.len() as i64, acked);
    let views: Vec<live::Seen> = clients.iter().map(|c| c.lock().expect("not poisoned").clone()).collect();
    let errors: Vec<&str> = views.iter().filter_map(|v| v.error.as_deref()).collect();
    checks.expect("WebSocket clients with an error", errors.len() as i64, 0);
    checks.expect("WebSocket clients that reached the final position", drained as i64, views.len() as i64);
    // A dashboard holds the action's totals; a grid member's phone holds its own part
    // (the server cuts live views to the caller's scope): its residents' scans and how
    // many of them are sampled. A run that scans more than the roster wraps round and
    // scans residents again: each is a scan, not another sampled resident.
    let wrong_sums = views
        .iter()
        .filter(|v| v.position() >= final_seq)
        .filter(|v| match v.staff {
            None => v.scans != server_scans || v.sampled != server_sampled,
            Some(m) => {
                let own = |by: &std::collections::HashMap<i64, i64>| by.get(&m).copied().unwrap_or(0);
                v.scans != own(&scans_by_staff) || v.sampled != own(&sampled_by_staff)
            }
        })
        .count();
    checks.expect("clients whose snapshot + deltas differ from the server's totals", wrong_sums as i64, 0);
    let wrong_own = views
        .iter()
        .filter(|v| v.position() >= final_seq)
        .filter_map(|v| {
            let m = v.staff?;
            let want =
                plan.staff_residents.get(&m).copied().unwrap_or(0) - sampled_by_staff.get(&m).copied().unwrap_or(0);
            (v.own_missing != Some(want)).then_some(m)
        })
        .count();
    checks.expect("phones whose own missing count is wrong", wrong_own as i64, 0);
    let missing_ok = report::check_missing_lists(&http, &base, action, &plan, &distinct, 3).await?;
    checks.expect("grid members whose /missing list is not exactly their unsampled residents", missing_ok, 0);
    if !errors.is_empty() {
        eprintln!("first WebSocket error: {}", errors[0]);
    }
    if !tally.errors.is_empty() {
        eprintln!("first HTTP errors (retried): {:?}", &tally.errors[..tally.errors.len().min(3)]);
    }

    let (dash, phone, never) = report::visibility(&tally.acked, &views, &plan);
    let ceiling = r.get("ceiling").and_then(|c| c["per_second"].as_f64());
    let per_second = acked as f64 / secs.max(1e-9);
    let mut connect = load::histogram();
    let mut first = load::histogram();
    for v in &views {
        if v.connect_us > 0 {
            connect.saturating_record(v.connect_us);
            first.saturating_record(v.first_us.max(1));
        }
    }
    let ws_bytes: u64 = views.iter().map(|v| v.bytes).sum();
    let ws_messages: usize = views.iter().map(|v| v.messages.len()).sum();
    r.put(
        "scans",
        json!({
            "mode": if opts.rate.is_some() { "open" } else { "closed" },
            "acknowledged_new": acked, "replays": tally.replays, "retries": tally.retries,
            "requests": tally.requests, "seconds": secs, "per_second": per_second,
            "ratio_to_ceiling": ceiling.map(|c| per_second / c),
            "ack_latency": report::hist(&tally.ack), "replay_latency": report::hist(&tally.replay_ack),
            "server_cores": server::cores(a, b), "loadtest_cores": server::cores(me, me2),
            "other_cores": server::other_cores((a, b), (me, me2)),
            "server_write_bytes_per_scan": (b.write_bytes.saturating_sub(a.write_bytes)) as f64 / acked.max(1) as f64,
            "server_rss_mib": b.rss_kib as f64 / 1024.0, "server_peak_rss_mib": b.peak_kib as f64 / 1024.0,
            "writer": report::writer_figures(&metrics_before, &metrics_after),
        }),
    );
    r.put(
        "push",
        json!({
            "scan_to_dashboard": report::hist(&dash), "scan_to_phone": report::hist(&phone),
            "never_seen_pairs": never, "ws_connect": report::hist(&connect),
            "ws_first_snapshot": report::hist(&first), "clients": views.len(),
            "messages": ws_messages, "bytes": ws_bytes,
            "mean_message_bytes": ws_bytes as f64 / ws_messages.max(1) as f64,
        }),
    );
    r.put("missing_list_get", json!({"latency": report::hist(&missing_h), "failed": missing_failed}));

    // 9. Stop the clients; restart the server on the same database and time it.
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    if let Some(child) = spawned.take() {
        if opts.no_restart {
            child.stop().await?;
        } else {
            child.stop().await?;
            let again = server::start(&bin, &db, &log).await?;
            let after: serde_json::Value = http
                .get(format!("{}/api/actions/{action}", again.url))
                .bearer_auth(&plan.chief)
                .send()
                .await?
                .json()
                .await?;
            checks.expect("log position after a restart", after["seq"].as_i64().unwrap_or(-1), final_seq);
            checks.expect("scans after a restart", after["totals"]["scans"].as_i64().unwrap_or(-1), server_scans);
            r.put(
                "restart",
                json!({
                    "seconds": again.startup.as_secs_f64(), "log_events": final_seq,
                    "rss_mib": server::sample(Some(again.pid)).rss_kib as f64 / 1024.0,
                }),
            );
            again.stop().await?;
        }
    }
    if temp_db && !opts.keep_db {
        remove_db(&db_path, &log);
    }

    r.put("checks", checks.json());
    r.put("total_seconds", json!(wall.elapsed().as_secs_f64()));
    report::print(&r, &checks);
    write_out(&opts, &r)?;
    println!("{}", checks.verdict(acked, tally.replays, wall.elapsed().as_secs_f64()));
    Ok(checks.ok())
}

/// Removes a generated database file and the server's log.
fn remove_db(db_path: &str, log: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_path}{suffix}"));
    }
    let _ = std::fs::remove_file(log);
}

/// Writes the figures as JSON to `--out`, if given.
fn write_out(opts: &Opts, r: &report::Report) -> anyhow::Result<()> {
    if let Some(out) = &opts.out {
        std::fs::write(out, serde_json::to_string_pretty(&r.0)?)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

/// Plans and opens a testing action over the whole roster, as the chief.
async fn open_action(http: &reqwest::Client, base: &str, plan: &roster::Plan) -> anyhow::Result<i64> {
    let created: serde_json::Value = http
        .post(format!("{base}/api/actions"))
        .bearer_auth(&plan.chief)
        .json(&json!({
            "kind": "testing", "name": "负载测试 全员核酸",
            "scope": plan.scope, "points": plan.points,
        }))
        .send()
        .await?
        .error_for_status()
        .context("planning the action")?
        .json()
        .await?;
    let id = created["id"].as_i64().context("the new action has no id")?;
    let opened = http
        .post(format!("{base}/api/actions/{id}/events"))
        .bearer_auth(&plan.chief)
        .json(&json!({"events": [{"id": uuid::Uuid::new_v4(), "type": "action_opened"}]}))
        .send()
        .await?;
    if !opened.status().is_success() {
        bail!("opening the action failed: {}", opened.text().await.unwrap_or_default());
    }
    Ok(id)
}

/// Waits until `done` holds for every client that has not failed, or `timeout`; returns
/// how many it holds for.
async fn wait_for(clients: &[Arc<Mutex<live::Seen>>], timeout: Duration, done: impl Fn(&live::Seen) -> bool) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let (mut ok, mut waiting) = (0, 0);
        for c in clients {
            let c = c.lock().expect("not poisoned");
            if done(&c) {
                ok += 1;
            } else if c.error.is_none() && !c.closed {
                waiting += 1;
            }
        }
        if waiting == 0 || Instant::now() > deadline {
            return ok;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
