//! WebSocket clients of `/api/actions/{id}/live`: dashboards (the command centre) and
//! phones (grid members). Each keeps what it was pushed as a list of
//! `(time received, position)`, plus the sums a screen would show, so that afterwards
//!
//! - scan → visible is exact: a message at position `to` is rendered from live state
//!   with every event up to `to` folded in, so a scan acknowledged at `seq` became
//!   visible to a client at the first message it received with `to ≥ seq`. The ack and
//!   the push race (state is folded before the answer is sent); looking up afterwards
//!   handles both orders.
//! - the push is checked: snapshot + deltas summed by the client must equal the
//!   server's final totals, and a phone's own missing count must have gone down by
//!   exactly the residents of theirs that were scanned.
//! - call-ups are followed the same way: every message's `pace.call_ups` and
//!   `pace.call_up_answers` are kept beside its position (the storm, [`crate::storm`]),
//!   and published on a watch so that a phone can react the moment it is shown one.

use crate::Clock;
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer per client; see [`client`].
const READ_BUFFER: usize = 16 * 1024;

/// What one client saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Staff id for a phone; `None` for a dashboard.
    pub staff: Option<i64>,
    /// TCP connect + WebSocket handshake, in µs (from the first attempt).
    pub connect_us: u64,
    /// Attempts the server refused for now (a 5xx) before one was taken.
    pub refused: u32,
    /// Handshake done → first snapshot, in µs.
    pub first_us: u64,
    /// (received at, position), in order.
    pub messages: Vec<(u64, i64)>,
    /// Each message's `(pace.call_ups, pace.call_up_answers)`, same order as `messages`.
    pub call_ups: Vec<(i64, i64)>,
    pub snapshots: u64,
    pub bytes: u64,
    /// Sums as a screen would hold them.
    pub scans: i64,
    pub sampled: i64,
    /// For a phone: its own missing count.
    pub own_missing: Option<i64>,
    pub error: Option<String>,
    pub closed: bool,
}

impl Seen {
    pub fn position(&self) -> i64 {
        self.messages.last().map_or(-1, |m| m.1)
    }
}

#[derive(Deserialize)]
struct TotalsIn {
    sampled: i64,
    scans: i64,
}

/// The call-up counts of a message's pace; the rest of it is skipped.
#[derive(Deserialize, Default, Clone, Copy)]
struct PaceIn {
    #[serde(default)]
    call_ups: i64,
    #[serde(default)]
    call_up_answers: i64,
}

/// Only what a client checks; serde skips the rest of each message unparsed.
#[derive(Deserialize)]
struct LiveIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    seq: Option<i64>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
    totals: TotalsIn,
    #[serde(default)]
    pace: PaceIn,
    #[serde(default)]
    staff: StaffIn,
}

/// A snapshot's `staff: [{id, missing, ...}]` or a delta's `staff: {"id": change}`,
/// kept as (id, value) pairs.
#[derive(Default)]
struct StaffIn(Vec<(i64, i64)>);

impl<'de> Deserialize<'de> for StaffIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        #[derive(Deserialize)]
        struct Row {
            id: i64,
            missing: i64,
        }
        impl<'de> Visitor<'de> for V {
            type Value = StaffIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a staff list or map")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<StaffIn, A::Error> {
                let mut v = Vec::new();
                while let Some(r) = a.next_element::<Row>()? {
                    v.push((r.id, r.missing));
                }
                Ok(StaffIn(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<StaffIn, A::Error> {
                let mut v = Vec::new();
                while let Some((k, n)) = a.next_entry::<std::borrow::Cow<'de, str>, i64>()? {
                    v.push((k.parse().map_err(serde::de::Error::custom)?, n));
                }
                Ok(StaffIn(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Dashboards skip the staff map entirely.
#[derive(Deserialize)]
struct DashIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    seq: Option<i64>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
    totals: TotalsIn,
    #[serde(default)]
    pace: PaceIn,
}

pub struct Target {
    pub server: SocketAddr,
    pub host: String,
    pub action: i64,
}

/// Who a client is.
pub struct Who {
    /// The loopback address it connects from, so that more than one address's worth of
    /// ephemeral ports can be used.
    pub source: Ipv4Addr,
    pub token: String,
    /// The staff member of a phone; `None` for a dashboard.
    pub staff: Option<i64>,
    /// Told `(call_ups, call_up_answers)` whenever a message moves either: what a phone
    /// reacts to (it reads the call-ups and answers).
    pub call_ups: Option<watch::Sender<(i64, i64)>>,
}

/// Connects one client and keeps reading until `stop` turns true. The result is shared
/// so that the caller can watch positions while it runs.
pub async fn client(
    target: Arc<Target>,
    who: Who,
    clock: Clock,
    seen: Arc<Mutex<Seen>>,
    mut stop: watch::Receiver<bool>,
) {
    let Who { source, token, staff, call_ups } = who;
    seen.lock().expect("not poisoned").staff = staff;
    let fail = |e: String| {
        seen.lock().expect("not poisoned").error = Some(e);
    };
    let started = clock.now_us();
    let mut refused = 0;
    let mut ws = loop {
        match open(&target, source, &token).await {
            Ok(ws) => break ws,
            // What web/live.js does: a server too busy to take the connection (a 5xx, as
            // when a storm of first connections waits on the store for their sessions) is
            // tried again after 0.5 s, 1 s, 2 s … 5 s.
            Err((_, true)) if refused < RETRIES => {
                refused += 1;
                seen.lock().expect("not poisoned").refused = refused;
                tokio::time::sleep(Duration::from_millis((500 << (refused - 1)).min(5_000))).await;
            }
            Err((e, _)) => return fail(e),
        }
    };
    let connected = clock.now_us();
    seen.lock().expect("not poisoned").connect_us = connected - started;
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => break,
        };
        let now = clock.now_us();
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => {
                seen.lock().expect("not poisoned").closed = true;
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return fail(format!("read: {e}")),
        };
        let parsed = if staff.is_some() {
            serde_json::from_str::<LiveIn>(text.as_str())
                .map(|m| (m.kind, m.seq, m.from, m.to, m.totals, m.pace, Some(m.staff)))
        } else {
            serde_json::from_str::<DashIn>(text.as_str()).map(|m| (m.kind, m.seq, m.from, m.to, m.totals, m.pace, None))
        };
        let mut s = seen.lock().expect("not poisoned");
        s.bytes += text.len() as u64;
        let (kind, seq, from, to, totals, pace, staff_rows) = match parsed {
            Ok(p) => p,
            Err(e) => {
                s.error = Some(format!("unreadable message: {e}"));
                break;
            }
        };
        let own = |rows: &Option<StaffIn>| {
            let me = staff?;
            rows.as_ref()?.0.iter().find(|(id, _)| *id == me).map(|r| r.1)
        };
        match (kind.as_str(), seq, to) {
            ("snapshot", Some(seq), _) => {
                if s.snapshots == 0 {
                    s.first_us = now - connected;
                }
                s.snapshots += 1;
                s.scans = totals.scans;
                s.sampled = totals.sampled;
                if staff.is_some() {
                    s.own_missing = Some(own(&staff_rows).unwrap_or(0));
                }
                s.messages.push((now, seq));
            }
            ("delta", _, Some(to)) => {
                if from != Some(s.position()) {
                    s.error = Some(format!("a delta from {from:?} arrived at position {}", s.position()));
                }
                s.scans += totals.scans;
                s.sampled += totals.sampled;
                if let (Some(m), Some(change)) = (s.own_missing.as_mut(), own(&staff_rows)) {
                    *m += change;
                }
                s.messages.push((now, to));
            }
            _ => {
                s.error = Some(format!("unexpected message of type {kind}"));
                break;
            }
        }
        let counts = (pace.call_ups, pace.call_up_answers);
        let moved = s.call_ups.last() != Some(&counts);
        s.call_ups.push(counts);
        drop(s);
        if let Some(tell) = call_ups.as_ref().filter(|_| moved) {
            tell.send_replace(counts);
        }
    }
    let _ = ws.close(None).await;
}

/// Times a refused connection is tried again before the client gives up.
const RETRIES: u32 = 8;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// One connection attempt: TCP from `source`, then the WebSocket handshake. An error says
/// whether trying again may help (the server refused for now: a 5xx, or no connection).
async fn open(target: &Target, source: Ipv4Addr, token: &str) -> Result<Ws, (String, bool)> {
    let socket = TcpSocket::new_v4().map_err(|e| (format!("socket: {e}"), false))?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).map_err(|e| (format!("bind {source}: {e}"), false))?;
    let stream = socket.connect(target.server).await.map_err(|e| (format!("connect: {e}"), true))?;
    let _ = stream.set_nodelay(true);
    let url = format!("ws://{}/api/actions/{}/live?token={token}", target.host, target.action);
    let request = url.into_client_request().map_err(|e| (format!("request: {e}"), false))?;
    // Every read attempt clears the unused part of the read buffer (128 KiB by default),
    // and a client reads at least twice per message: at 10,000 clients that was most of
    // the load generator's CPU. Messages larger than this still arrive whole: the buffer
    // grows to fit a frame.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let handshake = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    match tokio::time::timeout(Duration::from_secs(60), handshake).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(answer))) => {
            Err((format!("handshake: HTTP {}", answer.status()), answer.status().is_server_error()))
        }
        Ok(Err(e)) => Err((format!("handshake: {e}"), false)),
        Err(_) => Err(("handshake timed out".into(), false)),
    }
}

/// The `k`-th source address for client connections: 127.0.0.2, 127.0.0.3, …
pub fn source(k: usize, addresses: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (k % addresses.max(1)) as u8)
}

/// Connects every client in `clients` (what each saw, and its task), a little paced so
/// that the accept queue is not the thing measured.
pub async fn connect(
    target: &Arc<Target>,
    clients: Vec<Who>,
    clock: Clock,
    stop: &watch::Receiver<bool>,
) -> (Vec<Arc<Mutex<Seen>>>, Vec<tokio::task::JoinHandle<()>>) {
    let (mut seen, mut tasks) = (Vec::new(), Vec::new());
    for (k, who) in clients.into_iter().enumerate() {
        let s = Arc::new(Mutex::new(Seen::default()));
        seen.push(s.clone());
        tasks.push(tokio::spawn(client(target.clone(), who, clock, s, stop.clone())));
        if k % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (seen, tasks)
}
