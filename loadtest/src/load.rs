//! HTTP load: sampling points posting scans (closed loop: C clients each sending the
//! next scan when the last is answered; open loop: scans started at a fixed rate,
//! whatever the answers do), replays of scans already acknowledged, the same closed
//! loop against `/healthz` for the ceiling, and grid members reading their missing lists.
//!
//! Every scan that is not answered (a timeout, a refused connection) is sent again with
//! the same id until it is: that is what a sampling point's outbox does, and it is what
//! keeps the final count exact, since an unanswered scan may still have been recorded.
//!
//! Scans and the ceiling go over [`Conn`], a minimal keep-alive HTTP/1.1 client, one
//! connection per virtual client: the load generator runs on the server's own cores, so
//! every cycle it spends is one the server does not get. The missing-list readers (a few
//! requests a second) keep reqwest.

use crate::Clock;
use crate::roster::Plan;
use hdrhistogram::Histogram;
use serde::Deserialize;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
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

/// The part of a scan's answer the load checks; the rest (the resident's name, household,
/// masked ID number) is skipped by serde without being kept.
#[derive(Deserialize)]
struct ScanOut<'a> {
    seq: i64,
    #[serde(borrow)]
    status: std::borrow::Cow<'a, str>,
}

/// A scan's answer: its HTTP status, its position, and whether it was a repeat.
struct Answer {
    code: u16,
    seq: i64,
    repeat: bool,
}

/// How long a request may go unanswered before it counts as lost (and, for a scan, is
/// sent again): what reqwest's client-wide timeout was.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One keep-alive HTTP/1.1 connection to the server, owned by one virtual client.
///
/// Why not reqwest: the load generator shares this machine's two cores with the server it
/// measures, and reqwest (a pool behind a lock, URL parsing, header maps, a task per
/// connection fed through channels) took 0.54 cores at 10,000 scans/s and held the
/// `/healthz` ceiling near 40,000/s. Here a request is bytes laid out ahead of time, one
/// `write`, and `read`s into a buffer kept for the connection's life, parsed with
/// `httparse`: one task, no channel, no allocation per request. It reads what muster's
/// server (hyper) answers — a `Content-Length` or chunked body, keep-alive unless told
/// `Connection: close` — and treats anything else as a broken answer.
pub struct Conn {
    server: SocketAddr,
    stream: Option<TcpStream>,
    /// The request to send: filled by the caller, kept until replaced, so a resend sends
    /// the same bytes.
    pub out: Vec<u8>,
    /// Bytes read for the current answer.
    buf: Vec<u8>,
    /// The current answer's body, de-chunked.
    body: Vec<u8>,
}

impl Conn {
    /// Connects lazily, on the first request.
    pub fn new(server: SocketAddr) -> Self {
        Self { server, stream: None, out: Vec::with_capacity(512), buf: Vec::with_capacity(4096), body: Vec::new() }
    }

    /// Sends `out` and reads the answer: its status code, with its body in [`Conn::body`].
    /// Any failure (no connection, a reset, no answer within [`TIMEOUT`], an answer that
    /// does not parse) drops the connection, so the next request starts on a fresh one:
    /// whatever was half-read on it cannot be mistaken for the next answer.
    pub async fn send(&mut self) -> Result<u16, String> {
        let result = match tokio::time::timeout(TIMEOUT, self.exchange()).await {
            Ok(Ok((code, close))) => {
                if close {
                    self.stream = None;
                }
                return Ok(code);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer in {} s", TIMEOUT.as_secs()),
        };
        self.stream = None;
        Err(result)
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    async fn exchange(&mut self) -> io::Result<(u16, bool)> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.server).await?;
                stream.set_nodelay(true)?;
                self.stream.insert(stream)
            }
        };
        stream.write_all(&self.out).await?;
        self.buf.clear();
        loop {
            self.buf.reserve(4096);
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
            }
            if let Some(done) = parse_answer(&self.buf, &mut self.body)? {
                return Ok(done);
            }
        }
    }
}

fn invalid(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("unreadable HTTP answer: {why}"))
}

/// A whole answer in `buf`: `Some((status code, close the connection after it))` with its
/// body in `body`, or `None` while more bytes are needed. Called after each read; an
/// answer almost always arrives in one, so parsing the head again is rare.
fn parse_answer(buf: &[u8], body: &mut Vec<u8>) -> io::Result<Option<(u16, bool)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut answer = httparse::Response::new(&mut headers);
    let head = match answer.parse(buf).map_err(invalid)? {
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(n) => n,
    };
    let code = answer.code.ok_or_else(|| invalid("no status"))?;
    let (mut length, mut chunked, mut close) = (None, false, answer.version == Some(0));
    for h in answer.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(h.value).map_err(invalid)?;
            length = Some(text.trim().parse::<usize>().map_err(invalid)?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h.value.to_ascii_lowercase().windows(7).any(|w| w == b"chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    body.clear();
    let end = if chunked {
        match dechunk(&buf[head..], body)? {
            Some(n) => head + n,
            None => return Ok(None),
        }
    } else if let Some(length) = length {
        if buf.len() < head + length {
            return Ok(None);
        }
        body.extend_from_slice(&buf[head..head + length]);
        head + length
    } else if code == 204 || code == 304 {
        head
    } else {
        return Err(invalid("neither a length nor chunks"));
    };
    // Nothing is pipelined, so bytes past the answer mean the two sides disagree on where
    // it ended: the connection cannot be trusted for the next one.
    Ok(Some((code, close || buf.len() > end)))
}

/// Decodes a chunked body from `buf` into `body`: `Some(bytes used)` when the last chunk
/// and the trailers' end are in, `None` while more are needed.
fn dechunk(buf: &[u8], body: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let mut at = 0;
    loop {
        let (n, size) = match httparse::parse_chunk_size(&buf[at..]).map_err(invalid)? {
            httparse::Status::Partial => return Ok(None),
            httparse::Status::Complete(found) => found,
        };
        let start = at + n;
        if size == 0 {
            // Trailers (hyper's server sends none) end with an empty line.
            let rest = &buf[start..];
            let end = if rest.starts_with(b"\r\n") {
                Some(2)
            } else {
                rest.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
            };
            return Ok(end.map(|e| start + e));
        }
        let size = usize::try_from(size).map_err(invalid)?;
        if buf.len() < start + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[start..start + size]);
        at = start + size + 2;
    }
}

/// Everything a scan client shares with the others.
pub struct Scans {
    pub server: SocketAddr,
    pub plan: Arc<Plan>,
    /// Per operator (the plan's order), the request up to the body's length:
    /// `POST /api/actions/{id}/scans HTTP/1.1`, the host, the operator's Bearer token, the
    /// content type and `content-length: `. Laid out once; a scan appends its length and
    /// its JSON body.
    heads: Vec<Vec<u8>>,
    /// The next scan number; scan `i` samples resident `permute(i)`.
    pub next: AtomicU64,
    /// A stride coprime with the number of residents: consecutive scans land on residents
    /// far apart, so they spread over grids and points as a town's points do.
    pub stride: u64,
    pub replay_share: f64,
    pub v7_ids: bool,
    pub clock: Clock,
    /// (id, operator index, resident index, seq) of acknowledged scans that may be
    /// replayed. A std mutex: held for a push or a pick, never across an `.await`.
    replayable: Mutex<Vec<(Uuid, u32, u32, i64)>>,
}

const REPLAYABLE: usize = 65_536;

impl Scans {
    pub fn new(
        server: SocketAddr,
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
        let heads = plan
            .operators
            .iter()
            .map(|(_, token)| {
                format!(
                    "POST /api/actions/{action}/scans HTTP/1.1\r\nhost: {server}\r\n\
                     authorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: "
                )
                .into_bytes()
            })
            .collect();
        Self {
            server,
            plan,
            heads,
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

    /// Lays the scan's request out in `out`: the operator's head, then the body the server
    /// expects (`ScanIn`: `{"id","resident_id","point_id"}`, what serde_json made of the
    /// same values before), without building a JSON value or a string.
    fn scan_request(&self, out: &mut Vec<u8>, id: Uuid, resident: u32, operator: usize) {
        let mut uuid = Uuid::encode_buffer();
        let id = id.hyphenated().encode_lower(&mut uuid);
        let resident_id = self.plan.resident_ids[resident as usize];
        let point = self.plan.operators[operator].0;
        // 36 for the id, at most 20 for each number, 38 for the rest.
        let mut body = [0u8; 128];
        let mut free = &mut body[..];
        write!(free, r#"{{"id":"{id}","resident_id":{resident_id},"point_id":{point}}}"#).expect("fits");
        let body_len = 128 - free.len();
        out.clear();
        out.extend_from_slice(&self.heads[operator]);
        write!(out, "{body_len}\r\n\r\n").expect("a Vec takes it");
        out.extend_from_slice(&body[..body_len]);
    }

    /// Posts one scan until it is answered, resending the same id while the answer is lost
    /// or the server is busy (5xx), as an outbox does. A 4xx is the load generator's own
    /// mistake: retrying would only hide it, so it is counted and the scan given up.
    async fn post(&self, conn: &mut Conn, id: Uuid, resident: u32, operator: usize, t: &mut Tally) -> Option<Answer> {
        self.scan_request(&mut conn.out, id, resident, operator);
        for attempt in 0..20 {
            t.requests += 1;
            let why = match conn.send().await {
                Ok(code) if (200..300).contains(&code) => match serde_json::from_slice::<ScanOut>(conn.body()) {
                    Ok(out) => return Some(Answer { code, seq: out.seq, repeat: out.status == "repeat" }),
                    Err(e) => format!("unreadable answer: {e}"),
                },
                Ok(code) => {
                    let text = String::from_utf8_lossy(conn.body());
                    let why = format!("{code}: {}", text.chars().take(200).collect::<String>());
                    if (400..500).contains(&code) {
                        if t.errors.len() < 20 {
                            t.errors.push(why);
                        }
                        t.refused += 1;
                        return None;
                    }
                    why
                }
                Err(e) => e,
            };
            t.retries += 1;
            if t.errors.len() < 20 {
                t.errors.push(why);
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
        }
        None
    }

    /// One scan (or a replay) on `conn`, sent at `due` µs; returns false when it could not
    /// be recorded at all.
    pub async fn one(
        &self,
        conn: &mut Conn,
        client: usize,
        due: u64,
        rng: &mut muster::demo::Rng,
        t: &mut Tally,
    ) -> bool {
        let operator = client % self.plan.operators.len();
        let replay = (self.replay_share > 0.0 && rng.unit() < self.replay_share)
            .then(|| {
                let list = self.replayable.lock().expect("not poisoned");
                (!list.is_empty()).then(|| list[rng.below(list.len() as u64) as usize])
            })
            .flatten();
        if let Some((id, operator, resident, seq)) = replay {
            // A replay comes from the operator who first sent it: an operator records only
            // at their own point.
            let Some(answer) = self.post(conn, id, resident, operator as usize, t).await else {
                return false;
            };
            t.replay_ack.saturating_record(self.clock.now_us().saturating_sub(due).max(1));
            t.replays += 1;
            if answer.code != 200 || !answer.repeat || answer.seq != seq {
                t.replay_mismatches += 1;
            }
            return true;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let resident = self.resident(i);
        let id = if self.v7_ids { Uuid::now_v7() } else { Uuid::new_v4() };
        let retries_before = t.retries;
        let Some(answer) = self.post(conn, id, resident, operator, t).await else {
            return false;
        };
        t.ack.saturating_record(self.clock.now_us().saturating_sub(due).max(1));
        // A repeat is right only after a retry: the first attempt was recorded unanswered.
        if answer.code != 201 && t.retries == retries_before {
            t.unexpected += 1;
        }
        t.acked.push(Acked { sent_us: due, seq: answer.seq, resident });
        let mut list = self.replayable.lock().expect("not poisoned");
        let entry = (id, operator as u32, resident, answer.seq);
        if list.len() < REPLAYABLE {
            list.push(entry);
        } else {
            let k = (i as usize) % REPLAYABLE;
            list[k] = entry;
        }
        true
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// C clients, each on its own keep-alive connection, sending its next scan when the last
/// is answered, until `until`.
pub async fn closed_loop(scans: Arc<Scans>, clients: usize, until: Instant) -> Tally {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let scans = scans.clone();
            tokio::spawn(async move {
                let mut t = Tally::default();
                let mut rng = muster::demo::Rng::new(c as u64 + 1);
                let mut conn = Conn::new(scans.server);
                while Instant::now() < until {
                    let due = scans.clock.now_us();
                    if !scans.one(&mut conn, c, due, &mut rng, &mut t).await {
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
    // A tally and a connection per scan in flight, reused: a fresh tally per scan would
    // allocate and merge two histograms (≈1 MiB) per request, and a fresh connection
    // would measure connects. A std mutex: held for a pop or a push, never across an
    // `.await`.
    let slots: Arc<Mutex<Vec<(Tally, Conn)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut issued: u64 = 0;
    let mut running = tokio::task::JoinSet::new();
    while Instant::now() < until {
        let due_count = (started.elapsed().as_secs_f64() * rate) as u64;
        while issued < due_count {
            let due = start_us + (issued as f64 * 1e6 / rate) as u64;
            issued += 1;
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let (scans, slots) = (scans.clone(), slots.clone());
            let c = issued as usize;
            running.spawn(async move {
                let slot = slots.lock().expect("not poisoned").pop();
                let (mut t, mut conn) = slot.unwrap_or_else(|| (Tally::default(), Conn::new(scans.server)));
                let mut rng = muster::demo::Rng::new(c as u64);
                scans.one(&mut conn, c, due, &mut rng, &mut t).await;
                drop(permit);
                slots.lock().expect("not poisoned").push((t, conn));
            });
        }
        while running.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while running.join_next().await.is_some() {}
    let mut all = Tally::default();
    for (t, _) in std::mem::take(&mut *slots.lock().expect("not poisoned")) {
        all.merge(t);
    }
    all
}

/// The ceiling: the same closed loop, on the same kind of connection, against `/healthz`.
pub async fn ceiling(server: SocketAddr, clients: usize, until: Instant, clock: Clock) -> (u64, Histogram<u64>) {
    let count = Arc::new(AtomicU64::new(0));
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {server}\r\n\r\n").into_bytes();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (count, mut conn) = (count.clone(), Conn::new(server));
            conn.out.clone_from(&request);
            tokio::spawn(async move {
                let mut h = histogram();
                while Instant::now() < until {
                    let t0 = clock.now_us();
                    match conn.send().await {
                        Ok(code) if (200..300).contains(&code) => {
                            count.fetch_add(1, Ordering::Relaxed);
                            h.saturating_record(clock.now_us().saturating_sub(t0).max(1));
                        }
                        Ok(_) => {}
                        // Refused or reset: a short pause, so a server that is gone is
                        // not hammered with connects for the rest of the run.
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `answer` a byte at a time, as the slowest socket would: `None` until the
    /// last byte, then the whole answer.
    fn read_slowly(answer: &[u8]) -> (u16, bool, Vec<u8>) {
        let mut body = Vec::new();
        for end in 1..answer.len() {
            assert!(
                parse_answer(&answer[..end], &mut body).unwrap().is_none(),
                "complete at {end} of {}",
                answer.len()
            );
        }
        let (code, close) = parse_answer(answer, &mut body).unwrap().expect("complete");
        (code, close, body)
    }

    #[test]
    fn reads_a_length_delimited_answer() {
        let answer = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 24\r\n\r\n{\"seq\":7,\"status\":\"new\"}";
        let (code, close, body) = read_slowly(answer);
        assert_eq!((code, close), (201, false));
        let out: ScanOut = serde_json::from_slice(&body).unwrap();
        assert_eq!((out.seq, &*out.status), (7, "new"));
    }

    #[test]
    fn reads_a_chunked_answer_with_and_without_trailers() {
        let (code, close, body) =
            read_slowly(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n");
        assert_eq!((code, close, &body[..]), (200, false, &b"ok!!!"[..]));
        let (_, _, body) =
            read_slowly(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx: y\r\n\r\n");
        assert_eq!(body, b"ok");
    }

    #[test]
    fn a_closing_or_overlong_answer_ends_the_connection() {
        let (_, close, _) =
            read_slowly(b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        assert!(close);
        let mut body = Vec::new();
        let extra = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP";
        assert_eq!(parse_answer(extra, &mut body).unwrap(), Some((200, true)));
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n\r\n", &mut body).is_err());
    }

    #[test]
    fn lays_out_a_scan_as_the_server_reads_it() {
        let mut plan = Plan::default();
        plan.operators = vec![(31, "tok-a".into()), (32, "tok-b".into())];
        plan.resident_ids = vec![1_000_001, 1_000_002];
        let scans = Scans::new(
            "127.0.0.1:9".parse().unwrap(),
            5,
            Arc::new(plan),
            0.0,
            false,
            crate::Clock(std::time::Instant::now()),
        );
        let id = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);
        let mut out = Vec::new();
        scans.scan_request(&mut out, id, 1, 1);
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            "POST /api/actions/5/scans HTTP/1.1\r\nhost: 127.0.0.1:9\r\nauthorization: Bearer tok-b\r\n\
             content-type: application/json\r\ncontent-length: 81"
        );
        let want = serde_json::json!({"id": id, "resident_id": 1_000_002, "point_id": 32});
        assert_eq!(serde_json::from_str::<serde_json::Value>(body).unwrap(), want);
        assert_eq!(body.len(), 81);
    }
}
