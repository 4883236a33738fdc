//! Outbound channels into the chat groups staff already use, and the delivery of
//! messages through them: WeCom group robots, DingTalk custom robots, Feishu/Lark bots
//! and a generic signed webhook (for an SMS or voice gateway).
//!
//! It owns the channels' domain types ([`Kind`], [`ChannelUrl`], [`Secret`]), how each
//! service is signed and read ([`wire`]), and the [`Notifier`]: one task per channel with
//! a bounded in-memory queue that keeps to the service's rate limits, coalesces waiting
//! messages into one, retries with backoff and records every delivery's outcome.
//!
//! What it must not do: delay anything else. [`Notifier::post`] never waits (no I/O, no
//! `.await`, a lock held for a push); a slow or dead webhook holds only its own channel's
//! task. It appends no events and reads no live state: callers (call-ups, escalations)
//! decide what to say and to which node. A secret never leaves it except in a signature:
//! not in an answer, not in a log line (see [`Secret`]), and a channel's URL, which may
//! carry the robot's key, is never logged either.

pub mod wire;

use crate::roster::NodeId;
use crate::store::StoreError;
use crate::store::accounts::DbPool;
use crate::store::channels::{ChannelRow, NewDelivery};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use uuid::Uuid;

pub type ChannelId = i64;

/// Which service a channel posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 企业微信群机器人
    #[serde(rename = "wecom")]
    WeCom,
    /// 钉钉自定义机器人
    #[serde(rename = "dingtalk")]
    DingTalk,
    /// 飞书/Lark 自定义机器人
    Feishu,
    /// A generic JSON webhook, signed (an SMS or voice gateway behind it).
    Webhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WeCom => "wecom",
            Kind::DingTalk => "dingtalk",
            Kind::Feishu => "feishu",
            Kind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::WeCom, Kind::DingTalk, Kind::Feishu, Kind::Webhook].into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a channel of this kind signs its requests, so needs a secret. (A WeCom
    /// robot's key is in its URL and nothing is signed.)
    pub fn signs(self) -> bool {
        !matches!(self, Kind::WeCom)
    }

    /// The service's rate limits: at most `n` requests in any `window`, each pair. Given
    /// the length of a minute (see [`Limits::minute`]).
    fn rates(self, minute: Duration) -> Vec<(usize, Duration)> {
        match self {
            Kind::WeCom | Kind::DingTalk => vec![(20, minute)],
            Kind::Feishu => vec![(100, minute), (5, minute / 60)],
            // A gateway documents nothing; one a second keeps a phone gateway unflooded.
            Kind::Webhook => vec![(60, minute)],
        }
    }
}

/// A channel's secret (DingTalk's and Feishu's signing secret, the webhook's HMAC key).
/// `Debug` and `Display` show `***`; only [`Secret::expose`] gives the text, and only
/// [`wire`] calls it, to sign.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// An http(s) URL of a service, as given. It may carry a credential (WeCom's `key`,
/// DingTalk's `access_token`, Feishu's hook id): `Debug` and `Display` show its origin
/// only (`https://qyapi.weixin.qq.com`), and so do answers.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelUrl(reqwest::Url);

/// Why a URL is not a channel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadUrl {
    Unparsable,
    NotHttp,
    TooLong,
}

impl ChannelUrl {
    pub const MAX: usize = 2000;

    pub fn parse(s: &str) -> Result<ChannelUrl, BadUrl> {
        let s = s.trim();
        if s.len() > Self::MAX {
            return Err(BadUrl::TooLong);
        }
        let url = reqwest::Url::parse(s).map_err(|_| BadUrl::Unparsable)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BadUrl::NotHttp);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(BadUrl::Unparsable);
        }
        Ok(ChannelUrl(url))
    }

    /// Scheme, host and port: what may be shown.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for ChannelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/***", self.origin())
    }
}

impl std::fmt::Display for ChannelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/***", self.origin())
    }
}

/// A channel as the notifier uses it.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub node_id: NodeId,
    pub kind: Kind,
    pub name: String,
    pub url: ChannelUrl,
    pub secret: Option<Secret>,
    /// Unix microseconds.
    pub created_at: i64,
    /// Whether its group wants the hourly progress summary (see `crate::summary`).
    pub summary: bool,
}

impl TryFrom<ChannelRow> for Channel {
    type Error = StoreError;

    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        let kind = Kind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt(format!("channel {}: kind", r.id)))?;
        let url = ChannelUrl::parse(&r.url).map_err(|_| StoreError::Corrupt(format!("channel {}: url", r.id)))?;
        Ok(Channel {
            id: r.id,
            node_id: r.node_id,
            kind,
            name: r.name,
            url,
            secret: r.secret.map(Secret::new),
            created_at: r.created_at,
            summary: r.summary,
        })
    }
}

/// What a message is about; the generic webhook is told (`kind`), so a gateway can pick
/// a voice call for a call-up and an SMS for a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// `POST /api/channels/{id}/test`.
    Test,
    CallUp,
    Escalation,
    Summary,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Test => "test",
            MessageKind::CallUp => "call_up",
            MessageKind::Escalation => "escalation",
            MessageKind::Summary => "summary",
        }
    }

    pub fn parse(s: &str) -> Option<MessageKind> {
        [MessageKind::Test, MessageKind::CallUp, MessageKind::Escalation, MessageKind::Summary]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A message for a chat group: Chinese text (the caller's words, already in the
/// language of the group) and a link that opens the thing on a phone.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Uuid,
    pub kind: MessageKind,
    pub text: String,
    pub link: Option<String>,
}

impl Message {
    pub fn new(kind: MessageKind, text: impl Into<String>, link: Option<String>) -> Message {
        Message { id: Uuid::now_v7(), kind, text: text.into(), link }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Sent,
    /// The service said no (its errcode and errmsg are kept).
    Refused,
    /// Every try failed (network, 5xx, throttled); the last error is kept.
    GaveUp,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Refused => "refused",
            Outcome::GaveUp => "gave_up",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Sent, Outcome::Refused, Outcome::GaveUp].into_iter().find(|o| o.as_str() == s)
    }
}

/// How often a node reads the channels again, for those another node added or retired.
const SYNC_EVERY: Duration = Duration::from_secs(30);

/// How the notifier paces itself. The defaults are the services' own; tests shorten the
/// minute and the backoff so that a throttle or a give-up takes milliseconds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long the services' "minute" lasts (their per-minute limits, WeCom's and
    /// Feishu's throttles; DingTalk's 10-minute throttle is ten of them).
    pub minute: Duration,
    /// The wait after the first failed try; doubled after each next one.
    pub backoff: Duration,
    /// Tries before giving up on a message.
    pub tries: u32,
    /// How long one request may take.
    pub timeout: Duration,
    /// Messages held per channel. Beyond it the oldest waiting one is dropped and the
    /// drop recorded as given up: a channel dead for hours cannot grow memory.
    pub queue_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            minute: Duration::from_secs(60),
            backoff: Duration::from_secs(2),
            tries: 6,
            timeout: Duration::from_secs(10),
            queue_max: 1000,
        }
    }
}

/// The sliding windows of a channel's rate limits and any throttle the service imposed.
/// Pure (times are given), so tested under `tokio::time::pause`.
#[derive(Debug)]
struct Pace {
    rates: Vec<(usize, Duration)>,
    /// When recent requests went, oldest first; as many as the largest limit.
    sent: VecDeque<Instant>,
    throttled_until: Option<Instant>,
}

impl Pace {
    fn new(rates: Vec<(usize, Duration)>) -> Pace {
        Pace { rates, sent: VecDeque::new(), throttled_until: None }
    }

    /// The earliest moment the next request may go.
    fn next_free(&self, now: Instant) -> Instant {
        let mut at = now;
        for &(n, window) in &self.rates {
            if self.sent.len() >= n {
                at = at.max(self.sent[self.sent.len() - n] + window);
            }
        }
        self.throttled_until.map_or(at, |t| at.max(t))
    }

    fn went(&mut self, at: Instant) {
        self.sent.push_back(at);
        let keep = self.rates.iter().map(|r| r.0).max().unwrap_or(0);
        while self.sent.len() > keep {
            self.sent.pop_front();
        }
    }

    fn throttle(&mut self, until: Instant) {
        self.throttled_until = Some(self.throttled_until.map_or(until, |t| t.max(until)));
    }
}

/// One channel's waiting messages and the task's wake-up.
struct Queue {
    channel: Channel,
    /// Whether it posts the hourly summary: changed in place (`PATCH /api/channels/{id}`,
    /// [`Notifier::sync`]) so what waits in the queue stays.
    summary: AtomicBool,
    /// A std mutex: held only to push or take messages, never across an `.await`.
    waiting: Mutex<Waiting>,
    wake: Notify,
}

#[derive(Default)]
struct Waiting {
    messages: VecDeque<(Message, Instant)>,
    /// Messages dropped from a full queue since the task last recorded it.
    dropped: Vec<Message>,
    /// The channel was removed: the task ends.
    closed: bool,
}

struct Inner {
    db: DbPool,
    limits: Limits,
    http: reqwest::Client,
    /// The channels in use, by id. A std mutex: held to look up or change the map only.
    queues: Mutex<HashMap<ChannelId, Arc<Queue>>>,
    stop: watch::Receiver<bool>,
}

/// The delivery of messages to channels; cheap to clone. Started with the server
/// ([`Notifier::start`]); its tasks end when `stop` flips.
#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

impl Notifier {
    /// Loads the channels in use and starts a task for each, and one that reads them again
    /// every [`SYNC_EVERY`] (see [`Notifier::sync`]).
    pub async fn start(db: DbPool, limits: Limits, stop: watch::Receiver<bool>) -> Result<Notifier, StoreError> {
        let http = reqwest::Client::builder()
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StoreError::Corrupt(format!("HTTP client: {}", e.without_url())))?;
        let n = Notifier(Arc::new(Inner { db, limits, http, queues: Mutex::default(), stop }));
        n.sync().await?;
        tokio::spawn(n.clone().keep_in_sync());
        Ok(n)
    }

    /// Makes the channels in use those the database has: another node behind the load
    /// balancer may have added one, retired one or changed its summary.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let rows = self.0.db.every_channel().await?;
        // Only those the database says are retired: one added here after the read is not.
        for row in rows.iter().filter(|r| r.retired_at.is_some()) {
            self.remove(row.id);
        }
        for row in rows.into_iter().filter(|r| r.retired_at.is_none()) {
            self.add(Channel::try_from(row)?);
        }
        Ok(())
    }

    async fn keep_in_sync(self) {
        crate::tick::every(SYNC_EVERY, self.0.stop.clone(), || async {
            if let Err(e) = self.sync().await {
                tracing::warn!(error = %e, "could not read the channels again; will retry");
            }
        })
        .await
    }

    /// Starts delivering to a channel not yet in use; for one in use, takes its summary
    /// setting (its queue and pace stay).
    pub fn add(&self, channel: Channel) {
        let mut queues = self.0.queues.lock().expect("not poisoned");
        if let Some(q) = queues.get(&channel.id) {
            q.summary.store(channel.summary, Ordering::Relaxed);
            return;
        }
        let summary = AtomicBool::new(channel.summary);
        let queue = Arc::new(Queue { channel, summary, waiting: Mutex::default(), wake: Notify::new() });
        queues.insert(queue.channel.id, queue.clone());
        tokio::spawn(run(self.0.clone(), queue));
    }

    /// Stops delivering to a channel; what waits for it is dropped.
    pub fn remove(&self, id: ChannelId) {
        if let Some(q) = self.0.queues.lock().expect("not poisoned").remove(&id) {
            q.close();
        }
    }

    /// Sets whether a channel in use posts the hourly summary.
    pub fn set_summary(&self, id: ChannelId, on: bool) {
        if let Some(q) = self.0.queues.lock().expect("not poisoned").get(&id) {
            q.summary.store(on, Ordering::Relaxed);
        }
    }

    /// The channels of `node` (its own, not its ancestors') that `pick` picks.
    fn of_node(&self, node: NodeId, pick: impl Fn(&Queue) -> bool) -> Vec<Arc<Queue>> {
        let queues = self.0.queues.lock().expect("not poisoned");
        queues.values().filter(|q| q.channel.node_id == node && pick(q)).cloned().collect()
    }

    /// Queues `message` for every channel of `node` (that node's own, not its
    /// ancestors'); how many. Never waits: a full queue drops its oldest message (and
    /// records that), a slow service delays only its own channel.
    pub fn post(&self, node: NodeId, message: Message) -> usize {
        self.push_all(self.of_node(node, |_| true), message)
    }

    /// Queues a summary for the channels of `node` that want it; how many.
    pub fn post_summary(&self, node: NodeId, message: Message) -> usize {
        self.push_all(self.of_node(node, |q| q.summary.load(Ordering::Relaxed)), message)
    }

    fn push_all(&self, queues: Vec<Arc<Queue>>, message: Message) -> usize {
        for q in &queues {
            q.push(message.clone(), self.0.limits.queue_max);
        }
        queues.len()
    }

    /// The nodes with a channel that wants the hourly summary.
    pub fn summary_nodes(&self) -> std::collections::BTreeSet<NodeId> {
        let queues = self.0.queues.lock().expect("not poisoned");
        queues.values().filter(|q| q.summary.load(Ordering::Relaxed)).map(|q| q.channel.node_id).collect()
    }

    /// Whether `node` has a channel of its own in use: for a call-up's list of who cannot
    /// be reached before it is sent.
    pub fn has_channel(&self, node: NodeId) -> bool {
        self.0.queues.lock().expect("not poisoned").values().any(|q| q.channel.node_id == node)
    }

    /// Queues `message` for one channel; `false` if it is not in use.
    pub fn post_to(&self, channel: ChannelId, message: Message) -> bool {
        let queue = self.0.queues.lock().expect("not poisoned").get(&channel).cloned();
        queue.map(|q| q.push(message, self.0.limits.queue_max)).is_some()
    }
}

impl Queue {
    fn push(&self, m: Message, max: usize) {
        {
            let mut w = self.waiting.lock().expect("not poisoned");
            w.messages.push_back((m, Instant::now()));
            while w.messages.len() > max.max(1) {
                if let Some((old, _)) = w.messages.pop_front() {
                    w.dropped.push(old);
                }
            }
        }
        self.wake.notify_one();
    }

    fn is_closed(&self) -> bool {
        self.waiting.lock().expect("not poisoned").closed
    }

    fn close(&self) {
        self.waiting.lock().expect("not poisoned").closed = true;
        self.wake.notify_one();
    }

    /// Whether the channel was removed, what was dropped from its full queue since the
    /// last look (taken), and whether anything waits.
    fn look(&self) -> (bool, Vec<Message>, bool) {
        let mut w = self.waiting.lock().expect("not poisoned");
        (w.closed, std::mem::take(&mut w.dropped), w.messages.is_empty())
    }

    /// The next message to send: as many waiting messages, oldest first, as fit in one
    /// of the service's messages (the first alone, cut to fit, if it fits in none), and
    /// when the first of them was queued.
    fn take(&self) -> (Vec<Message>, Option<Instant>) {
        let mut w = self.waiting.lock().expect("not poisoned");
        let kind = self.channel.kind;
        let mut parts: Vec<Message> = Vec::new();
        let mut queued_at = None;
        // Linear in what is taken, so a push never waits long on this lock.
        let mut total = 0;
        while let Some((m, at)) = w.messages.front() {
            let cost = wire::cost(kind, m);
            if !parts.is_empty() && !wire::fits_cost(kind, total + cost) {
                break;
            }
            queued_at.get_or_insert(*at);
            let (m, _) = w.messages.pop_front().expect("a front");
            let m = if parts.is_empty() { wire::cut_to_fit(kind, m) } else { m };
            total += wire::cost(kind, &m);
            parts.push(m);
        }
        (parts, queued_at)
    }
}

/// A channel's task: waits for messages, keeps to the pace, sends, records.
async fn run(inner: Arc<Inner>, queue: Arc<Queue>) {
    let mut stop = inner.stop.clone();
    let mut pace = Pace::new(queue.channel.kind.rates(inner.limits.minute));
    let channel = queue.channel.id;
    loop {
        // `Notify` keeps one permit: a push between `look` and the wait is not missed.
        let (closed, dropped, empty) = queue.look();
        if closed || *stop.borrow() {
            return;
        }
        if !dropped.is_empty() {
            record(&inner, channel, &dropped, Instant::now(), Ended::dropped()).await;
        }
        if empty {
            tokio::select! {
                _ = queue.wake.notified() => continue,
                _ = stop.changed() => return,
            }
        }
        // The pace first, then the taking: whatever is queued while the robot's limit
        // holds us goes out in the same message.
        tokio::select! {
            _ = tokio::time::sleep_until(pace.next_free(Instant::now())) => {}
            _ = stop.changed() => return,
        }
        let (parts, queued_at) = queue.take();
        if parts.is_empty() || queue.is_closed() {
            continue;
        }
        let queued_at = queued_at.unwrap_or_else(Instant::now);
        let ended = tokio::select! {
            ended = deliver(&inner, &queue.channel, &mut pace, &parts) => ended,
            _ = stop.changed() => return,
        };
        record(&inner, channel, &parts, queued_at, ended).await;
    }
}

/// How a delivery ended, for its row.
struct Ended {
    attempts: u32,
    outcome: Outcome,
    code: Option<i64>,
    message: Option<String>,
}

impl Ended {
    fn dropped() -> Ended {
        Ended { attempts: 0, outcome: Outcome::GaveUp, code: None, message: Some("queue full".into()) }
    }
}

/// Tries to send `parts` as one message until it is sent, refused, or out of tries.
async fn deliver(inner: &Inner, channel: &Channel, pace: &mut Pace, parts: &[Message]) -> Ended {
    let limits = &inner.limits;
    let mut attempts = 0;
    loop {
        tokio::time::sleep_until(pace.next_free(Instant::now())).await;
        attempts += 1;
        pace.went(Instant::now());
        let reply = send(inner, channel, parts).await;
        let (code, message) = match reply {
            wire::Reply::Sent => return Ended { attempts, outcome: Outcome::Sent, code: None, message: None },
            wire::Reply::Refused { code, message } => {
                tracing::warn!(channel = channel.id, code, "a channel's service refused a message");
                return Ended { attempts, outcome: Outcome::Refused, code: Some(code), message: Some(message) };
            }
            wire::Reply::Throttled { code, message, wait } => {
                tracing::info!(
                    channel = channel.id,
                    code,
                    wait_ms = wait.as_millis() as u64,
                    "throttled by the service"
                );
                pace.throttle(Instant::now() + wait);
                (Some(code), message)
            }
            wire::Reply::Failed { code, message } => {
                let wait = limits.backoff.saturating_mul(1 << (attempts - 1).min(16));
                tracing::info!(channel = channel.id, ?code, attempts, "delivery failed; will retry");
                pace.throttle(Instant::now() + wait);
                (code, message)
            }
        };
        if attempts >= limits.tries {
            tracing::warn!(channel = channel.id, attempts, "gave up on a message");
            return Ended { attempts, outcome: Outcome::GaveUp, code, message: Some(message) };
        }
    }
}

/// One request and its reply.
async fn send(inner: &Inner, channel: &Channel, parts: &[Message]) -> wire::Reply {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let req = wire::request(channel.kind, &channel.url.0, channel.secret.as_ref(), parts, now_ms);
    let mut r = inner.http.post(req.url).header("content-type", "application/json").body(req.body);
    if let Some(sig) = req.signature {
        r = r.header(wire::SIGNATURE_HEADER, sig);
    }
    let answer = match r.send().await {
        Ok(a) => a,
        // Without the URL: it may carry the robot's key.
        Err(e) => return wire::Reply::Failed { code: None, message: e.without_url().to_string() },
    };
    let status = answer.status().as_u16();
    let retry_after =
        answer.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let body = match answer.text().await {
        Ok(b) => b,
        Err(e) => return wire::Reply::Failed { code: Some(i64::from(status)), message: e.without_url().to_string() },
    };
    wire::read_reply(channel.kind, status, retry_after, &body, inner.limits.minute)
}

/// Records a delivery; a database that cannot take it is logged, and delivery goes on.
async fn record(inner: &Inner, channel: ChannelId, parts: &[Message], queued_at: Instant, ended: Ended) {
    let now = time::OffsetDateTime::now_utc();
    let queued = now - (Instant::now() - queued_at);
    let ids: Vec<String> = parts.iter().map(|m| m.id.to_string()).collect();
    let ids = ids.join(",");
    let kinds: Vec<&str> = parts.iter().map(|m| m.kind.as_str()).collect();
    let kinds = kinds.join(",");
    let delivery = NewDelivery {
        channel_id: channel,
        message_id: &ids,
        parts: parts.len() as i64,
        attempts: i64::from(ended.attempts),
        outcome: ended.outcome.as_str(),
        errcode: ended.code,
        errmsg: ended.message.as_deref(),
        queued_at: crate::store::to_micros(queued),
        finished_at: crate::store::to_micros(now),
        kinds: &kinds,
    };
    let result = inner.db.record_delivery(&delivery).await;
    if let Err(e) = result {
        tracing::warn!(channel, error = %e, "could not record a delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `Pace` is given the time, so these move a clock of their own: no sleeping, and no
    // paused runtime needed.
    #[test]
    fn twenty_five_requests_to_one_robot_take_two_windows() {
        let minute = Duration::from_secs(60);
        let mut pace = Pace::new(Kind::WeCom.rates(minute));
        let start = Instant::now();
        let mut now = start;
        let mut times = Vec::new();
        for _ in 0..25 {
            now = pace.next_free(now);
            pace.went(now);
            times.push(now - start);
        }
        assert!(times[..20].iter().all(|t| *t == Duration::ZERO));
        assert!(times[20..].iter().all(|t| *t == minute));
    }

    #[test]
    fn feishu_keeps_to_five_a_second_and_a_throttle_holds_everything() {
        let minute = Duration::from_secs(60);
        let mut pace = Pace::new(Kind::Feishu.rates(minute));
        let start = Instant::now();
        for _ in 0..5 {
            pace.went(start);
        }
        assert_eq!(pace.next_free(start) - start, Duration::from_secs(1));
        pace.throttle(start + minute * 10);
        assert_eq!(pace.next_free(start) - start, minute * 10);
    }

    #[test]
    fn secrets_and_keyed_urls_print_masked() {
        let s = Secret::new("SEC-very-secret".into());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let u = ChannelUrl::parse("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123").unwrap();
        assert_eq!(format!("{u} {u:?}"), "https://qyapi.weixin.qq.com/*** https://qyapi.weixin.qq.com/***");
        assert_eq!(ChannelUrl::parse("ftp://x/y"), Err(BadUrl::NotHttp));
        assert_eq!(ChannelUrl::parse("javascript:alert(1)"), Err(BadUrl::NotHttp));
        assert_eq!(ChannelUrl::parse("not a url"), Err(BadUrl::Unparsable));
    }
}
