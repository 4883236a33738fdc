//! The call-up storm (issue 16): every paired phone of a village with its live feed open
//! is called up at once, and all of them answer within a minute.
//!
//! The chief sends one `call_up_sent` to the whole roster's grid members. Each phone (a
//! grid member's session, one WebSocket each) waits until a pushed message's
//! `pace.call_ups` shows it, then does what `web/callup.js` does: reads
//! `GET /api/actions/{id}/call-ups`, and answers `call_up_answered` (收到; one in 25
//! 有困难 with a reason) at a moment drawn evenly from the answer window after the call-up
//! was acknowledged. Command-centre sockets (the chief's whole-action view) watch
//! `pace.call_up_answers` climb. Phones share a pool of keep-alive HTTP connections (the
//! minimal client of [`crate::load`]): ten thousand sockets plus ten thousand connections
//! would pass the per-process open-files limit.
//!
//! Measured afterwards, from what each socket was pushed (see [`crate::live`]):
//!
//! - **call-up → phone**: from the chief's POST being answered (the event is durable and
//!   folded) to the first message on each phone whose `pace.call_ups` counts it; a push
//!   that beat the answer counts 0. Also until the phone's `GET …/call-ups` returned it.
//! - **answer → command centre**: from each phone's answer POST being answered to the
//!   first message on each command-centre socket at or past the answer's position (a
//!   message at position `to` is rendered with every event up to `to` folded in). The
//!   checks prove the pushed count itself: at every command-centre message,
//!   `call_up_answers` equals the acknowledged answers at or before its position.

use crate::Clock;
use crate::live::{self, Seen, Target, Who};
use crate::load::{Conn, histogram};
use crate::report::{self, Checks, Report};
use crate::roster::Plan;
use crate::server;
use anyhow::{Context, ensure};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::json;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// How long a phone waits to be shown the call-up, and the command centre to catch up,
/// before the run gives up on them (they are then counted as never shown).
const PATIENCE: Duration = Duration::from_secs(120);
/// One phone in this many answers 有困难 instead of 收到.
const CANNOT_EVERY: usize = 25;

/// What the storm needs from the run.
pub struct Storm<'a> {
    pub http: &'a reqwest::Client,
    pub base: &'a str,
    pub target: Arc<Target>,
    pub plan: Arc<Plan>,
    pub phones: usize,
    /// Command-centre sockets (the chief's session).
    pub command: usize,
    /// Seconds over which the answers are spread.
    pub window: f64,
    /// Keep-alive HTTP connections the phones share.
    pub http_conns: usize,
    pub source_addrs: usize,
    pub pid: Option<u32>,
    pub clock: Clock,
    pub seed: u64,
}

/// Keep-alive connections shared by the phones' requests, at most `permits` at once.
struct Pool {
    server: std::net::SocketAddr,
    /// A std mutex: held to pop or push a connection, never across an `.await`.
    free: Mutex<Vec<Conn>>,
    permits: Semaphore,
}

impl Pool {
    /// Sends `request` on a free connection: the status and the body.
    async fn exchange(&self, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let _permit = self.permits.acquire().await.expect("never closed");
        let mut conn = self.free.lock().expect("not poisoned").pop().unwrap_or_else(|| Conn::new(self.server));
        conn.out.clear();
        conn.out.extend_from_slice(request);
        let result = conn.send().await.map(|code| (code, conn.body().to_vec()));
        self.free.lock().expect("not poisoned").push(conn);
        result
    }

    /// [`Pool::exchange`] until a 2xx, resending the same bytes (the same event id) after
    /// an error or a 5xx, as an outbox does; a 4xx is the load's own mistake and ends it.
    async fn until_answered(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let mut why = String::new();
        for attempt in 0..10 {
            match self.exchange(request).await {
                Ok((code, body)) if (200..300).contains(&code) => return Ok(body),
                Ok((code, body)) if (400..500).contains(&code) => {
                    return Err(format!("{code}: {}", String::from_utf8_lossy(&body)));
                }
                Ok((code, body)) => why = format!("{code}: {}", String::from_utf8_lossy(&body)),
                Err(e) => why = e,
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
        }
        Err(why)
    }
}

/// An HTTP/1.1 request as bytes, with the caller's token.
fn request(method: &str, path: &str, host: &str, token: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    write!(out, "{method} {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n")
        .expect("a Vec takes it");
    if !body.is_empty() {
        write!(out, "content-type: application/json\r\ncontent-length: {}\r\n", body.len()).expect("a Vec takes it");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[derive(Deserialize)]
struct Results {
    results: Vec<ResultOut>,
}

#[derive(Deserialize)]
struct ResultOut {
    seq: i64,
}

#[derive(Deserialize)]
struct CallUpsOut {
    call_ups: Vec<CallUpOut>,
}

#[derive(Deserialize)]
struct CallUpOut {
    seq: i64,
}

/// What one phone did, on the run's clock (µs).
#[derive(Default)]
struct PhoneDid {
    /// Its `GET …/call-ups` returned, listing the call-up.
    read_us: Option<u64>,
    /// When its answer was due, when the answer's POST was answered, and its position.
    due_us: u64,
    answer: Option<(u64, i64)>,
    error: Option<String>,
}

/// The events body of one answer.
fn answer_body(call_up: i64, cannot: bool) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).expect("formats");
    let mut event = json!({
        "id": uuid::Uuid::now_v7(), "device_time": now, "type": "call_up_answered",
        "call_up_seq": call_up, "answer": if cannot { "cannot" } else { "received" },
    });
    if cannot {
        event["reason"] = json!("被封在村外");
    }
    serde_json::to_vec(&json!({"events": [event]})).expect("serialises")
}

/// What every phone shares.
struct Shared {
    pool: Pool,
    target: Arc<Target>,
    /// The call-up's position: how an answer names it.
    call_up: i64,
    clock: Clock,
}

/// One phone's part.
struct Phone {
    token: String,
    shown: watch::Receiver<(i64, i64)>,
    due_us: u64,
    cannot: bool,
}

/// One phone: shown the call-up, it reads the call-ups, waits until its answer is due,
/// and answers.
async fn phone(shared: Arc<Shared>, p: Phone) -> PhoneDid {
    let Phone { token, mut shown, due_us, cannot } = p;
    let Shared { pool, target, call_up, clock } = &*shared;
    let (call_up, clock) = (*call_up, *clock);
    let mut did = PhoneDid { due_us, ..PhoneDid::default() };
    if tokio::time::timeout(PATIENCE, shown.wait_for(|c| c.0 >= 1)).await.is_err() {
        did.error = Some("never shown the call-up".into());
        return did;
    }
    let path = format!("/api/actions/{}/call-ups", target.action);
    match pool.until_answered(&request("GET", &path, &target.host, &token, b"")).await {
        Ok(body) => match serde_json::from_slice::<CallUpsOut>(&body) {
            Ok(list) if list.call_ups.iter().any(|c| c.seq == call_up) => did.read_us = Some(clock.now_us()),
            Ok(_) => did.error = Some("GET call-ups did not list the call-up".into()),
            Err(e) => did.error = Some(format!("unreadable call-ups: {e}")),
        },
        Err(e) => did.error = Some(format!("GET call-ups: {e}")),
    }
    tokio::time::sleep_until(clock.at(due_us).into()).await;
    let path = format!("/api/actions/{}/events", target.action);
    let post = request("POST", &path, &target.host, &token, &answer_body(call_up, cannot));
    match pool.until_answered(&post).await {
        Ok(body) => match serde_json::from_slice::<Results>(&body) {
            Ok(r) if r.results.len() == 1 => did.answer = Some((clock.now_us(), r.results[0].seq)),
            Ok(_) => did.error = Some("an answer without one result".into()),
            Err(e) => did.error = Some(format!("unreadable answer: {e}")),
        },
        Err(e) => did.error = did.error.take().or(Some(format!("answer: {e}"))),
    }
    did
}

/// When a client was first pushed a message whose call-up counts pass `reached`.
fn first_at(v: &Seen, reached: impl Fn((i64, i64)) -> bool) -> Option<u64> {
    v.call_ups.iter().position(|&c| reached(c)).map(|i| v.messages[i].0)
}

/// Runs the storm; its figures go into `r`, its checks into `checks`.
pub async fn run(s: Storm<'_>, r: &mut Report, checks: &mut Checks) -> anyhow::Result<()> {
    let plan = &s.plan;
    ensure!(
        plan.grid_members.len() >= s.phones,
        "the roster has {} grid members, fewer than {} phones: give more --residents",
        plan.grid_members.len(),
        s.phones
    );
    let (stop_tx, stop_rx) = watch::channel(false);

    // The command centre, then one phone per grid member.
    let mut who = Vec::new();
    let mut shown = Vec::new();
    for k in 0..s.command + s.phones {
        let source = live::source(k, s.source_addrs);
        if k < s.command {
            who.push(Who { source, token: plan.chief.clone(), staff: None, call_ups: None });
        } else {
            let (id, token) = &plan.grid_members[k - s.command];
            let (tell, rx) = watch::channel((0, 0));
            shown.push(rx);
            who.push(Who { source, token: token.clone(), staff: Some(*id), call_ups: Some(tell) });
        }
    }
    let started = std::time::Instant::now();
    let (clients, tasks) = live::connect(&s.target, who, s.clock, &stop_rx).await;
    let connected = crate::wait_for(&clients, Duration::from_secs(300), |c| !c.messages.is_empty()).await;
    let connect_secs = started.elapsed().as_secs_f64();
    eprintln!("{connected} of {} WebSocket clients connected in {connect_secs:.1} s", clients.len());
    let with_ws = server::sample(s.pid);

    // The call-up, as the chief's page sends it: every grid member of the action's areas.
    let (a, me) = (server::sample(s.pid), server::sample(None));
    let sent_us = s.clock.now_us();
    let answer: serde_json::Value = s
        .http
        .post(format!("{}/api/actions/{}/events", s.base, s.target.action))
        .bearer_auth(&plan.chief)
        .json(&json!({"events": [{
            "id": uuid::Uuid::now_v7(), "type": "call_up_sent",
            "text": "紧急通知:全体网格员立即到岗,核对本网格人员", "place": "23:50 到村委会集合",
            "nodes": plan.scope, "roles": ["grid_member"],
        }]}))
        .send()
        .await?
        .error_for_status()
        .context("sending the call-up")?
        .json()
        .await?;
    let acked_us = s.clock.now_us();
    let call_up = answer["results"][0]["seq"].as_i64().context("the call-up's answer has no seq")?;
    eprintln!("call-up at position {call_up} answered in {:.1} ms", (acked_us - sent_us) as f64 / 1000.0);

    // The phones react.
    let pool = Pool { server: s.target.server, free: Mutex::new(Vec::new()), permits: Semaphore::new(s.http_conns) };
    let shared = Arc::new(Shared { pool, target: s.target.clone(), call_up, clock: s.clock });
    let mut rng = muster::demo::Rng::new(s.seed);
    let window_us = (s.window * 1e6) as u64;
    let phones: Vec<_> = shown
        .into_iter()
        .enumerate()
        .map(|(k, shown)| {
            let p = Phone {
                token: plan.grid_members[k].1.clone(),
                shown,
                due_us: acked_us + rng.below(window_us.max(1)),
                cannot: k % CANNOT_EVERY == CANNOT_EVERY - 1,
            };
            tokio::spawn(phone(shared.clone(), p))
        })
        .collect();
    let mut did = Vec::with_capacity(phones.len());
    for p in phones {
        did.push(p.await.expect("a phone does not panic"));
    }
    let answered_us = s.clock.now_us();
    eprintln!("{} answers acknowledged", did.iter().filter(|d| d.answer.is_some()).count());

    // Every socket to the log's end, then the figures.
    let snapshot: serde_json::Value = s
        .http
        .get(format!("{}/api/actions/{}", s.base, s.target.action))
        .bearer_auth(&plan.chief)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let final_seq = snapshot["seq"].as_i64().context("snapshot without seq")?;
    let drained = crate::wait_for(&clients, PATIENCE, |c| c.position() >= final_seq).await;
    let (b, me2) = (server::sample(s.pid), server::sample(None));
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let views: Vec<Seen> = clients.iter().map(|c| c.lock().expect("not poisoned").clone()).collect();
    let (command, phone_views) = views.split_at(s.command);

    let since = |h: &mut Histogram<u64>, from: u64, at: u64| h.saturating_record(at.saturating_sub(from).max(1));
    let (mut shown_h, mut shown_sent_h, mut read_h, mut own_h, mut post_h) =
        (histogram(), histogram(), histogram(), histogram(), histogram());
    let (mut pushed_before_ack, mut last_shown) = (0, 0);
    for (v, d) in phone_views.iter().zip(&did) {
        if let Some(at) = first_at(v, |c| c.0 >= 1) {
            since(&mut shown_h, acked_us, at);
            since(&mut shown_sent_h, sent_us, at);
            pushed_before_ack += usize::from(at < acked_us);
            last_shown = last_shown.max(at);
        }
        if let Some(at) = d.read_us {
            since(&mut read_h, acked_us, at);
        }
        if let Some((at, _)) = d.answer {
            since(&mut post_h, d.due_us, at);
            if let Some(own) = first_at(v, |c| c.1 >= 1) {
                since(&mut own_h, at, own);
            }
        }
    }
    let mut answers: Vec<(u64, i64)> = did.iter().filter_map(|d| d.answer).collect();
    answers.sort_unstable_by_key(|a| a.1);
    let (mut command_h, mut never, mut last_seen) = (histogram(), 0, 0);
    for v in command.iter().filter(|v| !v.messages.is_empty()) {
        for &(at, seq) in &answers {
            match v.messages.get(v.messages.partition_point(|m| m.1 < seq)) {
                Some(&(seen, _)) => {
                    since(&mut command_h, at, seen);
                    last_seen = last_seen.max(seen);
                }
                None => never += 1,
            }
        }
    }

    // Checks: the pushed counts agree with the log at each message's position.
    let answered_by = |pos: i64| answers.partition_point(|a| a.1 <= pos) as i64;
    let wrong_command = command
        .iter()
        .flat_map(|v| v.messages.iter().zip(&v.call_ups))
        .filter(|((_, pos), (called, got))| *called != i64::from(*pos >= call_up) || *got != answered_by(*pos))
        .count();
    let wrong_phone = phone_views
        .iter()
        .zip(&did)
        .filter(|(v, d)| {
            let own = d.answer.map_or(i64::MAX, |a| a.1);
            v.messages.iter().zip(&v.call_ups).any(|((_, pos), (called, got))| {
                *called != i64::from(*pos >= call_up) || *got != i64::from(*pos >= own)
            })
        })
        .count();
    let errors: Vec<&str> = did.iter().filter_map(|d| d.error.as_deref()).collect();
    let ws_errors: Vec<&str> = views.iter().filter_map(|v| v.error.as_deref()).collect();
    if let Some(e) = errors.first() {
        eprintln!("first phone error ({} in all): {e}", errors.len());
    }
    if let Some(e) = ws_errors.first() {
        eprintln!("first WebSocket error ({} in all): {e}", ws_errors.len());
    }
    let list: serde_json::Value = s
        .http
        .get(format!("{}/api/actions/{}/call-ups", s.base, s.target.action))
        .bearer_auth(&plan.chief)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let count = |k: &str| list["call_ups"][0][k].as_i64().unwrap_or(-1);
    let phones = s.phones as i64;
    let cannot = (0..s.phones).filter(|k| k % CANNOT_EVERY == CANNOT_EVERY - 1).count() as i64;
    checks.expect("WebSocket clients connected", connected as i64, views.len() as i64);
    checks.expect("WebSocket clients with an error", ws_errors.len() as i64, 0);
    checks.expect("phones shown the call-up", shown_h.len() as i64, phones);
    checks.expect("phones whose GET call-ups listed it", read_h.len() as i64, phones);
    checks.expect("answers acknowledged", answers.len() as i64, phones);
    checks.expect("phones with an error", errors.len() as i64, 0);
    checks.expect("clients that reached the log's end", drained as i64, views.len() as i64);
    checks.expect("log position == call-up + answers", final_seq, call_up + answers.len() as i64);
    checks.expect("called up (the roster's grid members)", count("called"), plan.grid_members_total as i64);
    checks.expect("answered 收到 on the server", count("received"), phones - cannot);
    checks.expect("answered 有困难 on the server", count("cannot"), cannot);
    checks.expect(
        "command-centre messages whose counts differ from the log at their position",
        wrong_command as i64,
        0,
    );
    checks.expect("phones shown counts that differ from the log at a message's position", wrong_phone as i64, 0);
    checks.expect("(answer, command-centre socket) pairs never shown", never, 0);

    let ws_bytes: u64 = views.iter().map(|v| v.bytes).sum();
    let ws_messages: usize = views.iter().map(|v| v.messages.len()).sum();
    let secs = |us: u64| us.saturating_sub(sent_us) as f64 / 1e6;
    r.put(
        "storm",
        json!({
            "phones": s.phones, "command_centre_sockets": s.command, "called": count("called"),
            "answer_window_s": s.window, "http_connections": s.http_conns,
            "connect_seconds": connect_secs, "rss_with_sockets_mib": with_ws.rss_kib as f64 / 1024.0,
            "clients_refused_at_first": views.iter().filter(|v| v.refused > 0).count(),
            "connections_refused": views.iter().map(|v| u64::from(v.refused)).sum::<u64>(),
            "call_up_post_ms": (acked_us - sent_us) as f64 / 1000.0,
            "call_up_to_phone": report::hist(&shown_h), "call_up_to_phone_from_sent": report::hist(&shown_sent_h),
            "pushed_before_the_post_was_answered": pushed_before_ack,
            "call_up_to_phone_get": report::hist(&read_h),
            "answer_post_from_due": report::hist(&post_h),
            "answer_to_command_centre": report::hist(&command_h),
            "answer_to_own_phone": report::hist(&own_h),
            "all_phones_shown_s": secs(last_shown), "answers_done_s": secs(answered_us),
            "last_answer_on_command_centre_s": secs(last_seen),
            "server_cores": server::cores(a, b), "loadtest_cores": server::cores(me, me2),
            "other_cores": server::other_cores((a, b), (me, me2)),
            "server_rss_mib": b.rss_kib as f64 / 1024.0, "server_peak_rss_mib": b.peak_kib as f64 / 1024.0,
            "messages": ws_messages, "mean_message_bytes": ws_bytes as f64 / ws_messages.max(1) as f64,
        }),
    );
    Ok(())
}

/// The storm's table.
pub fn print(r: &Report, checks: &Checks) {
    let g = |k: &str| r.get("storm").and_then(|s| s.get(k)).cloned().unwrap_or_default();
    let num = |v: serde_json::Value| v.as_f64().map_or("–".into(), |x| format!("{x:.1}"));
    let cores = |v: serde_json::Value| v.as_f64().map_or("–".into(), |x| format!("{x:.2}"));
    let lat = |k: &str| {
        let h = g(k);
        format!(
            "p50 {} · p99 {} · max {} ms (n={})",
            num(h["p50_ms"].clone()),
            num(h["p99_ms"].clone()),
            num(h["max_ms"].clone()),
            h["count"]
        )
    };
    let rows = [
        ("phones (called up)", format!("{} ({})", g("phones"), g("called")), ""),
        (
            "WebSocket connect, all",
            format!(
                "{} s ({} clients refused at first, tried again)",
                num(g("connect_seconds")),
                g("clients_refused_at_first")
            ),
            "",
        ),
        ("call-up POST answered", format!("{} ms", num(g("call_up_post_ms"))), ""),
        ("call-up → shown on the phone", lat("call_up_to_phone"), "p99 ≤ 1 s"),
        ("call-up → phone's GET call-ups", lat("call_up_to_phone_get"), ""),
        ("answer POST (from due)", lat("answer_post_from_due"), ""),
        ("answer → shown on the command centre", lat("answer_to_command_centre"), "p99 ≤ 1 s"),
        ("answer → shown on the own phone", lat("answer_to_own_phone"), ""),
        (
            "wall: all shown · answers · last on command",
            format!(
                "{} s · {} s · {} s",
                num(g("all_phones_shown_s")),
                num(g("answers_done_s")),
                num(g("last_answer_on_command_centre_s"))
            ),
            "",
        ),
        (
            "server CPU",
            format!(
                "{} cores (loadtest {}, other processes {})",
                cores(g("server_cores")),
                cores(g("loadtest_cores")),
                cores(g("other_cores"))
            ),
            "",
        ),
        ("server RSS (peak)", format!("{} MiB ({})", num(g("server_rss_mib")), num(g("server_peak_rss_mib"))), ""),
    ];
    println!();
    println!("{:<44} {:<58} target", "figure", "value");
    for (name, value, target) in rows {
        println!("{name:<44} {value:<58} {target}");
    }
    println!();
    checks.print();
}
