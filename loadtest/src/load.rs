//! HTTP load: sampling points posting scans (closed loop: C clients each sending the
//! next scan when the last is answered; open loop: scans started at a fixed rate,
//! whatever the answers do), replays of scans already acknowledged, the same closed
//! loop against `/healthz` for the ceiling, and grid members reading their missing lists.
//!
//! Every scan that is not answered (a timeout, a refused connection) is sent again with
//! the same id until it is: that is what a sampling point's outbox does, and it is what
//! keeps the final count exact, since an unanswered scan may still have been recorded.

use crate::Clock;
use crate::roster::Plan;
use hdrhistogram::Histogram;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// A scan the server acknowledged as new.
#[derive(Debug, Clone, Copy)]
pub struct Acked {
    /// When it was sent (open loop: when it was due), µs on the run's clock.
    pub sent_us: u64,
    pub seq: i64,
    /// Index into the plan's residents.
    pub resident: u32,
}

/// What one client (or all of them, merged) measured.
pub struct Tally {
    pub ack: Histogram<u64>,
    pub replay_ack: Histogram<u64>,
    pub acked: Vec<Acked>,
    pub replays: u64,
    /// Replays answered otherwise than `200 repeat` with the first position.
    pub replay_mismatches: u64,
    /// New scans answered `repeat` on their first attempt (should never happen).
    pub unexpected: u64,
    /// Attempts that got no answer or a 5xx and were sent again.
    pub retries: u64,
    /// Scans the server refused with a 4xx (a mistake of the load, never retried).
    pub refused: u64,
    pub errors: Vec<String>,
    pub requests: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            ack: histogram(),
            replay_ack: histogram(),
            acked: Vec::new(),
            replays: 0,
            replay_mismatches: 0,
            unexpected: 0,
            retries: 0,
            refused: 0,
            errors: Vec::new(),
            requests: 0,
        }
    }
}

impl Tally {
    pub fn merge(&mut self, other: Tally) {
        self.ack.add(&other.ack).expect("same bounds");
        self.replay_ack.add(&other.replay_ack).expect("same bounds");
        self.acked.extend(other.acked);
        self.replays += other.replays;
        self.replay_mismatches += other.replay_mismatches;
        self.unexpected += other.unexpected;
        self.retries += other.retries;
        self.refused += other.refused;
        self.requests += other.requests;
        if self.errors.len() < 20 {
            self.errors.extend(other.errors.into_iter().take(20));
        }
    }
}

#[derive(Deserialize)]
struct ScanOut {
    seq: i64,
    status: String,
}

/// Everything a scan client shares with the others.
pub struct Scans {
    pub http: reqwest::Client,
    pub base: String,
    pub action: i64,
    pub plan: Arc<Plan>,
    /// The next scan number; scan `i` samples resident `permute(i)`.
    pub next: AtomicU64,
    /// A stride coprime with the number of residents: consecutive scans land on residents
    /// far apart, so they spread over grids and points as a town's points do.
    pub stride: u64,
    pub replay_share: f64,
    pub v7_ids: bool,
    pub clock: Clock,
    /// (id, point, resident index, seq) of acknowledged scans that may be replayed. A std
    /// mutex: held for a push or a pick, never across an `.await`.
    replayable: Mutex<Vec<(Uuid, i64, u32, i64)>>,
}

const REPLAYABLE: usize = 65_536;

impl Scans {
    pub fn new(
        http: reqwest::Client,
        base: String,
        action: i64,
        plan: Arc<Plan>,
        replay_share: f64,
        v7_ids: bool,
        clock: Clock,
    ) -> Self {
        let n = plan.resident_ids.len() as u64;
        let mut stride = (n as f64 * 0.618_033_988_7) as u64 | 1;
        while gcd(stride, n) != 1 {
            stride += 2;
        }
        Self {
            http,
            base,
            action,
            plan,
            next: AtomicU64::new(0),
            stride: stride % n.max(1),
            replay_share,
            v7_ids,
            clock,
            replayable: Mutex::new(Vec::new()),
        }
    }

    fn resident(&self, i: u64) -> u32 {
        let n = self.plan.resident_ids.len() as u64;
        ((i % n) * self.stride.max(1) % n) as u32
    }

    /// Posts one scan until it is answered, resending the same id while the answer is lost
    /// or the server is busy (5xx), as an outbox does. A 4xx is the load generator's own
    /// mistake: retrying would only hide it, so it is counted and the scan given up.
    async fn post(&self, id: Uuid, resident: u32, point: i64, token: &str, t: &mut Tally) -> Option<(u16, ScanOut)> {
        let url = format!("{}/api/actions/{}/scans", self.base, self.action);
        let body = serde_json::json!({
            "id": id,
            "resident_id": self.plan.resident_ids[resident as usize],
            "point_id": point,
        });
        for attempt in 0..20 {
            t.requests += 1;
            let result = self.http.post(&url).bearer_auth(token).json(&body).send().await;
            let why = match result {
                Ok(r) if r.status().is_success() => {
                    let status = r.status().as_u16();
                    match r.json::<ScanOut>().await {
                        Ok(out) => return Some((status, out)),
                        Err(e) => format!("unreadable answer: {e}"),
                    }
                }
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    let why = format!("{status}: {}", text.chars().take(200).collect::<String>());
                    if status.is_client_error() {
                        if t.errors.len() < 20 {
                            t.errors.push(why);
                        }
                        t.refused += 1;
                        return None;
                    }
                    why
                }
                Err(e) => format!("{e}"),
            };
            t.retries += 1;
            if t.errors.len() < 20 {
                t.errors.push(why);
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
        }
        None
    }

    /// One scan (or a replay), sent at `due` µs; returns false when it could not be
    /// recorded at all.
    pub async fn one(&self, client: usize, due: u64, rng: &mut muster::demo::Rng, t: &mut Tally) -> bool {
        let (point, token) = &self.plan.operators[client % self.plan.operators.len()];
        let replay = (self.replay_share > 0.0 && rng.unit() < self.replay_share)
            .then(|| {
                let list = self.replayable.lock().expect("not poisoned");
                (!list.is_empty()).then(|| list[rng.below(list.len() as u64) as usize])
            })
            .flatten();
        if let Some((id, point, resident, seq)) = replay {
            // A replay comes from the point that first sent it: an operator records only
            // at their own point.
            let token = self.plan.operators.iter().find(|(p, _)| *p == point).map_or(token, |(_, t)| t);
            let Some((status, out)) = self.post(id, resident, point, token, t).await else {
                return false;
            };
            t.replay_ack.saturating_record(self.clock.now_us().saturating_sub(due).max(1));
            t.replays += 1;
            if status != 200 || out.status != "repeat" || out.seq != seq {
                t.replay_mismatches += 1;
            }
            return true;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let resident = self.resident(i);
        let id = if self.v7_ids { Uuid::now_v7() } else { Uuid::new_v4() };
        let retries_before = t.retries;
        let Some((status, out)) = self.post(id, resident, *point, token, t).await else {
            return false;
        };
        t.ack.saturating_record(self.clock.now_us().saturating_sub(due).max(1));
        // A repeat is right only after a retry: the first attempt was recorded unanswered.
        if status != 201 && t.retries == retries_before {
            t.unexpected += 1;
        }
        t.acked.push(Acked { sent_us: due, seq: out.seq, resident });
        let mut list = self.replayable.lock().expect("not poisoned");
        if list.len() < REPLAYABLE {
            list.push((id, *point, resident, out.seq));
        } else {
            let k = (i as usize) % REPLAYABLE;
            list[k] = (id, *point, resident, out.seq);
        }
        true
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// C clients, each sending its next scan when the last is answered, until `until`.
pub async fn closed_loop(scans: Arc<Scans>, clients: usize, until: Instant) -> Tally {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let scans = scans.clone();
            tokio::spawn(async move {
                let mut t = Tally::default();
                let mut rng = muster::demo::Rng::new(c as u64 + 1);
                while Instant::now() < until {
                    let due = scans.clock.now_us();
                    if !scans.one(c, due, &mut rng, &mut t).await {
                        break;
                    }
                }
                t
            })
        })
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        all.merge(task.await.expect("a scan client does not panic"));
    }
    all
}

/// Scans started at `rate` per second until `until`, each timed from when it was due
/// (so a stalled server shows as latency, not as fewer samples), at most `max_in_flight`
/// at once.
pub async fn open_loop(scans: Arc<Scans>, rate: f64, until: Instant, max_in_flight: usize) -> Tally {
    let started = Instant::now();
    let start_us = scans.clock.now_us();
    let limit = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    // Tallies are reused, one per scan in flight: a fresh one per scan would allocate and
    // merge two histograms (≈1 MiB) per request, which costs more than the request.
    // A std mutex: held for a pop or a push, never across an `.await`.
    let tallies: Arc<Mutex<Vec<Tally>>> = Arc::new(Mutex::new(Vec::new()));
    let mut issued: u64 = 0;
    let mut running = tokio::task::JoinSet::new();
    while Instant::now() < until {
        let due_count = (started.elapsed().as_secs_f64() * rate) as u64;
        while issued < due_count {
            let due = start_us + (issued as f64 * 1e6 / rate) as u64;
            issued += 1;
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let (scans, tallies) = (scans.clone(), tallies.clone());
            let c = issued as usize;
            running.spawn(async move {
                let mut t = tallies.lock().expect("not poisoned").pop().unwrap_or_default();
                let mut rng = muster::demo::Rng::new(c as u64);
                scans.one(c, due, &mut rng, &mut t).await;
                drop(permit);
                tallies.lock().expect("not poisoned").push(t);
            });
        }
        while running.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while running.join_next().await.is_some() {}
    let mut all = Tally::default();
    for t in std::mem::take(&mut *tallies.lock().expect("not poisoned")) {
        all.merge(t);
    }
    all
}

/// The ceiling: the same closed loop against `/healthz`.
pub async fn ceiling(
    http: reqwest::Client,
    base: String,
    clients: usize,
    until: Instant,
    clock: Clock,
) -> (u64, Histogram<u64>) {
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, url, count) = (http.clone(), format!("{base}/healthz"), count.clone());
            tokio::spawn(async move {
                let mut h = histogram();
                while Instant::now() < until {
                    let t0 = clock.now_us();
                    if let Ok(r) = http.get(&url).send().await
                        && r.status().is_success()
                        && r.bytes().await.is_ok()
                    {
                        count.fetch_add(1, Ordering::Relaxed);
                        h.saturating_record(clock.now_us().saturating_sub(t0).max(1));
                    }
                }
                h
            })
        })
        .collect();
    let mut all = histogram();
    for t in tasks {
        all.add(t.await.expect("no panic")).expect("same bounds");
    }
    (count.load(Ordering::Relaxed), all)
}

/// Grid members reading the first page of their missing list in a loop, one request at a
/// time each, until `until`.
pub async fn missing_readers(
    http: reqwest::Client,
    base: String,
    action: i64,
    members: Vec<String>,
    until: Instant,
    clock: Clock,
) -> (Histogram<u64>, u64) {
    let tasks: Vec<_> = members
        .into_iter()
        .map(|token| {
            let (http, url) = (http.clone(), format!("{base}/api/actions/{action}/missing?limit=100"));
            tokio::spawn(async move {
                let (mut h, mut failed) = (histogram(), 0);
                while Instant::now() < until {
                    let t0 = clock.now_us();
                    let ok = match http.get(&url).bearer_auth(&token).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        h.saturating_record(clock.now_us().saturating_sub(t0).max(1));
                    } else {
                        failed += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (h, failed)
            })
        })
        .collect();
    let (mut all, mut failed) = (histogram(), 0);
    for t in tasks {
        let (h, f) = t.await.expect("no panic");
        all.add(&h).expect("same bounds");
        failed += f;
    }
    (all, failed)
}
