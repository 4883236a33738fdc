//! Outbound channels against a local receiver on 127.0.0.1 that plays each service as it
//! documents itself: it checks the format and recomputes every signature from the
//! documented formulas (not with Muster's code), answers errors and throttles on demand,
//! and records what arrived. Nothing here reaches outside the machine.

use crate::helpers::{TestApp, spawn_app};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use muster::roster::Role;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

const WECOM_KEY: &str = "wecom-key-693a91f6";
const DING_TOKEN: &str = "ding-token-5b1c";
const DING_SECRET: &str = "SECding0c1e4f2d8a";
const FEISHU_HOOK: &str = "feishu-hook-77e2";
const FEISHU_SECRET: &str = "feishuSecret9b3d";
const GATEWAY_SECRET: &str = "gateway-secret-41aa";

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What the receiver answers the next request with.
#[derive(Clone)]
enum Answer {
    Ok,
    /// The service's error code and words, in its own JSON (HTTP 200, as they answer).
    Errcode(i64, &'static str),
    Status(u16),
    /// Holds the request until `release` is notified, then answers OK.
    Hold,
}

#[derive(Debug, Clone)]
struct Arrival {
    service: &'static str,
    /// The text a person would read in the group (the gateway's `text`).
    text: String,
    body: Value,
    /// Whether the format and the signature were exactly as documented.
    verified: bool,
}

#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<Answer>>,
    arrived: Mutex<Vec<Arrival>>,
    arrival: Notify,
    /// Requests being held (see [`Answer::Hold`]).
    held: Mutex<usize>,
    release: Notify,
}

impl Receiver {
    async fn start() -> (Arc<Receiver>, String) {
        let rx = Arc::new(Receiver::default());
        let app = axum::Router::new().fallback(receive).with_state(rx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (rx, base)
    }

    fn then(&self, answers: impl IntoIterator<Item = Answer>) {
        self.script.lock().unwrap().extend(answers);
    }

    fn arrived(&self) -> Vec<Arrival> {
        self.arrived.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (each recorded on arrival, before its answer).
    async fn wait_for(&self, n: usize) -> Vec<Arrival> {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let notified = self.arrival.notified();
                if self.arrived.lock().unwrap().len() >= n {
                    return self.arrived();
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} requests did not arrive: {:?}", self.arrived()))
    }

    fn release_all(&self) {
        *self.held.lock().unwrap() = 0;
        self.release.notify_waiters();
    }
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x{uri}")).unwrap().query_pairs().map(|(k, v)| (k.into(), v.into())).collect()
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Checks a request as its service documents it; which service, the text, and whether
/// it was right.
fn check(uri: &Uri, headers: &HeaderMap, raw: &[u8]) -> (&'static str, String, Value, bool) {
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let q = query_pairs(uri);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let within_an_hour = |ms: i64| (now_ms() - ms).abs() < 3_600_000;
    let text_body = |b: &Value| b["msgtype"] == "text" && b["text"]["content"].is_string();
    match uri.path() {
        "/cgi-bin/webhook/send" => {
            let text = body["text"]["content"].as_str().unwrap_or_default().to_owned();
            let ok = get("key").as_deref() == Some(WECOM_KEY) && text_body(&body) && text.len() <= 2048;
            ("wecom", text, body, ok)
        }
        "/robot/send" => {
            let text = body["text"]["content"].as_str().unwrap_or_default().to_owned();
            let ts: i64 = get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
            let expected = b64(&hmac(DING_SECRET.as_bytes(), format!("{ts}\n{DING_SECRET}").as_bytes()));
            // The sign is URL-encoded in the query as sent: no bare `+`, `/` or `=`.
            let raw_sign = uri.query().unwrap_or("").split('&').find_map(|p| p.strip_prefix("sign=")).unwrap_or("");
            let encoded = !raw_sign.contains(['+', '/', '=']);
            let ok = get("access_token").as_deref() == Some(DING_TOKEN)
                && within_an_hour(ts)
                && get("sign") == Some(expected)
                && encoded
                && text_body(&body);
            ("dingtalk", text, body, ok)
        }
        p if p == format!("/open-apis/bot/v2/hook/{FEISHU_HOOK}") => {
            let text = body["content"]["text"].as_str().unwrap_or_default().to_owned();
            let ts: i64 = body["timestamp"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
            let expected = b64(&hmac(format!("{ts}\n{FEISHU_SECRET}").as_bytes(), b""));
            let ok = within_an_hour(ts * 1000)
                && body["sign"].as_str() == Some(expected.as_str())
                && body["msg_type"] == "text"
                && raw.len() <= 20 * 1024;
            ("feishu", text, body, ok)
        }
        "/gateway" => {
            let hex: String = hmac(GATEWAY_SECRET.as_bytes(), raw).iter().map(|b| format!("{b:02x}")).collect();
            let signature = headers.get("x-muster-signature").and_then(|v| v.to_str().ok());
            let text = body["text"].as_str().unwrap_or_default().to_owned();
            let ok = signature == Some(format!("sha256={hex}").as_str()) && body["kind"].is_string();
            ("webhook", text, body, ok)
        }
        _ => ("unknown", String::new(), body, false),
    }
}

async fn receive(
    State(rx): State<Arc<Receiver>>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let (service, text, body, verified) = check(&uri, &headers, &raw);
    let answer = rx.script.lock().unwrap().pop_front().unwrap_or(Answer::Ok);
    let release = rx.release.notified();
    if matches!(answer, Answer::Hold) {
        *rx.held.lock().unwrap() += 1;
    }
    rx.arrived.lock().unwrap().push(Arrival { service, text, body, verified });
    rx.arrival.notify_waiters();
    let ok_body = |code: i64, msg: &str| match service {
        "feishu" => json!({ "code": code, "msg": msg, "data": {} }),
        _ => json!({ "errcode": code, "errmsg": msg }),
    };
    if !verified {
        // Each service's own answer to a bad signature or key.
        let code = match service {
            "dingtalk" => 310000,
            "feishu" => 19021,
            _ => 93000,
        };
        return (StatusCode::OK, axum::Json(ok_body(code, "sign not match")));
    }
    match answer {
        Answer::Ok => (StatusCode::OK, axum::Json(ok_body(0, "ok"))),
        Answer::Errcode(code, msg) => (StatusCode::OK, axum::Json(ok_body(code, msg))),
        Answer::Status(s) => (StatusCode::from_u16(s).unwrap(), axum::Json(json!({}))),
        Answer::Hold => {
            release.await;
            (StatusCode::OK, axum::Json(ok_body(0, "ok")))
        }
    }
}

/// A grid the roster has, to hang channels on.
fn grid(app: &TestApp) -> i64 {
    app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().nodes[0]
}

/// Short waits: a throttle or a failed try costs milliseconds, not minutes.
fn quick() -> muster::notify::Limits {
    muster::notify::Limits {
        minute: Duration::from_millis(200),
        backoff: Duration::from_millis(20),
        tries: 3,
        ..Default::default()
    }
}

async fn spawn_quick() -> TestApp {
    let mut app = spawn_app().await;
    app.notify = quick();
    app.restart().await;
    app
}

fn channel_body(kind: &str, base: &str) -> Value {
    match kind {
        "wecom" => {
            json!({ "kind": "wecom", "name": "第1网格企业微信群", "url": format!("{base}/cgi-bin/webhook/send?key={WECOM_KEY}") })
        }
        "dingtalk" => {
            json!({ "kind": "dingtalk", "name": "第1网格钉钉群", "url": format!("{base}/robot/send?access_token={DING_TOKEN}"), "secret": DING_SECRET })
        }
        "feishu" => {
            json!({ "kind": "feishu", "name": "第1网格飞书群", "url": format!("{base}/open-apis/bot/v2/hook/{FEISHU_HOOK}"), "secret": FEISHU_SECRET })
        }
        _ => {
            json!({ "kind": "webhook", "name": "短信网关", "url": format!("{base}/gateway"), "secret": GATEWAY_SECRET })
        }
    }
}

async fn post_channel(app: &TestApp, body: Value) -> reqwest::Response {
    let r = app.client.post(format!("{}/api/channels", app.base)).bearer_auth(app.token(Role::Chief)).json(&body);
    r.send().await.unwrap()
}

async fn add_channel(app: &TestApp, kind: &str, base: &str) -> i64 {
    let mut body = channel_body(kind, base);
    body["node_id"] = json!(grid(app));
    let r = post_channel(app, body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Queues a test message; its id.
async fn test_message(app: &TestApp, channel: i64) -> String {
    let r = app.client.post(format!("{}/api/channels/{channel}/test", app.base)).bearer_auth(app.token(Role::Chief));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 202);
    r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_owned()
}

async fn deliveries(app: &TestApp, channel: i64) -> Vec<Value> {
    let v = app.get_json(&format!("/api/channels/{channel}/deliveries"), &app.token(Role::Chief)).await;
    v.as_array().unwrap_or_else(|| panic!("deliveries: {v}")).clone()
}

/// Waits until the channel's deliveries satisfy `done` (each is written when it ends).
async fn deliveries_until(app: &TestApp, channel: i64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let wait = async {
        loop {
            let d = deliveries(app, channel).await;
            if done(&d) {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.expect("the deliveries ended as expected")
}

#[tokio::test]
async fn each_kind_of_channel_gets_its_documented_format_and_signature() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let mut channels = Vec::new();
    for kind in ["wecom", "dingtalk", "feishu", "webhook"] {
        let id = add_channel(&app, kind, &base).await;
        channels.push((kind, id, test_message(&app, id).await));
    }
    let arrived = rx.wait_for(4).await;
    assert!(arrived.iter().all(|a| a.verified), "as documented: {arrived:?}");
    let mut services: Vec<&str> = arrived.iter().map(|a| a.service).collect();
    services.sort();
    assert_eq!(services, ["dingtalk", "feishu", "webhook", "wecom"]);
    assert!(arrived.iter().all(|a| a.text.contains("测试消息")), "Chinese first: {arrived:?}");
    let gateway = arrived.iter().find(|a| a.service == "webhook").unwrap();
    assert_eq!(gateway.body["kind"], "test");
    assert!(gateway.body.as_object().unwrap().contains_key("link"));
    for (kind, id, message) in channels {
        let d = deliveries_until(&app, id, |d| d.len() == 1).await;
        assert_eq!(d[0]["outcome"], "sent", "{kind}: {d:?}");
        assert_eq!(d[0]["attempts"], 1);
        assert_eq!(d[0]["message_ids"], json!([message]));
    }
}

#[tokio::test]
async fn a_refusal_is_recorded_with_the_services_own_error() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "wecom", &base).await;
    rx.then([Answer::Errcode(93000, "invalid webhook url")]);
    test_message(&app, id).await;
    let d = deliveries_until(&app, id, |d| d.len() == 1).await;
    assert_eq!(d[0]["outcome"], "refused");
    assert_eq!(d[0]["attempts"], 1, "a refusal is not retried");
    assert_eq!(d[0]["errcode"], 93000);
    assert_eq!(d[0]["errmsg"], "invalid webhook url");
    assert_eq!(rx.arrived().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_the_message_is_sent() {
    let app = spawn_quick().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "feishu", &base).await;
    rx.then([Answer::Status(500), Answer::Status(503)]);
    test_message(&app, id).await;
    let d = deliveries_until(&app, id, |d| d.len() == 1).await;
    assert_eq!(d[0]["outcome"], "sent");
    assert_eq!(d[0]["attempts"], 3);
    assert_eq!(rx.arrived().len(), 3);
}

#[tokio::test]
async fn a_message_that_fails_every_try_is_given_up_and_recorded() {
    let app = spawn_quick().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "dingtalk", &base).await;
    rx.then([Answer::Status(500), Answer::Status(500), Answer::Status(500), Answer::Status(500)]);
    test_message(&app, id).await;
    let d = deliveries_until(&app, id, |d| d.len() == 1).await;
    assert_eq!(d[0]["outcome"], "gave_up");
    assert_eq!(d[0]["attempts"], 3, "the bounded number of tries");
    assert_eq!(d[0]["errcode"], 500);
    assert_eq!(rx.arrived().len(), 3);

    // A webhook nobody listens on: network errors, the same bounded tries.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_base = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let gone = add_channel(&app, "webhook", &dead_base).await;
    test_message(&app, gone).await;
    let d = deliveries_until(&app, gone, |d| d.len() == 1).await;
    assert_eq!(d[0]["outcome"], "gave_up");
    assert_eq!(d[0]["attempts"], 3);
    assert!(d[0]["errcode"].is_null());
}

#[tokio::test]
async fn throttled_robots_wait_their_time_and_then_deliver() {
    let app = spawn_quick().await;
    let (rx, base) = Receiver::start().await;
    let ding = add_channel(&app, "dingtalk", &base).await;
    rx.then([Answer::Errcode(130101, "send too fast, exceed 20 times per minute")]);
    test_message(&app, ding).await;
    let d = deliveries_until(&app, ding, |d| d.len() == 1).await;
    assert_eq!((d[0]["outcome"].as_str(), d[0]["attempts"].as_i64()), (Some("sent"), Some(2)));

    let wecom = add_channel(&app, "wecom", &base).await;
    rx.then([Answer::Errcode(45009, "api freq out of limit")]);
    test_message(&app, wecom).await;
    let d = deliveries_until(&app, wecom, |d| d.len() == 1).await;
    assert_eq!((d[0]["outcome"].as_str(), d[0]["attempts"].as_i64()), (Some("sent"), Some(2)));
    assert_eq!(rx.arrived().len(), 4);
}

#[tokio::test]
async fn twenty_five_messages_to_one_robot_in_a_minute_are_coalesced_and_none_is_lost() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "wecom", &base).await;
    // The first request is held while the other 24 are queued behind it.
    rx.then([Answer::Hold]);
    let mut ids = vec![test_message(&app, id).await];
    rx.wait_for(1).await;
    for _ in 1..25 {
        ids.push(test_message(&app, id).await);
    }
    rx.release_all();
    let d = deliveries_until(&app, id, |d| {
        d.iter().map(|d| d["message_ids"].as_array().unwrap().len()).sum::<usize>() == 25
    })
    .await;
    let arrived = rx.arrived();
    assert!(arrived.len() <= 20, "at most 20 requests a minute: {}", arrived.len());
    assert!(arrived.len() < 25, "waiting messages were coalesced");
    assert!(arrived.iter().all(|a| a.verified && a.text.len() <= 2048));
    let parts: usize = arrived.iter().map(|a| a.text.matches("测试消息").count()).sum();
    assert_eq!(parts, 25, "every message arrived");
    assert!(d.iter().all(|d| d["outcome"] == "sent"));
    let mut delivered: Vec<String> = d
        .iter()
        .flat_map(|d| d["message_ids"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()))
        .collect();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids);
    // Newest first.
    assert!(d.windows(2).all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));
}

#[tokio::test]
async fn a_robot_at_its_limit_holds_the_next_messages_and_sends_them_as_one() {
    let mut app = spawn_app().await;
    // A "minute" of five seconds: long enough that twenty sends fit in it on a busy
    // machine, short enough to wait out.
    app.notify = muster::notify::Limits { minute: Duration::from_secs(5), ..quick() };
    app.restart().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "wecom", &base).await;
    for n in 1..=20 {
        test_message(&app, id).await;
        rx.wait_for(n).await;
    }
    for _ in 0..5 {
        test_message(&app, id).await;
    }
    let d = deliveries_until(&app, id, |d| {
        d.iter().map(|d| d["message_ids"].as_array().unwrap().len()).sum::<usize>() == 25
    })
    .await;
    assert_eq!(rx.arrived().len(), 21, "the five waited for the window and went as one");
    assert_eq!(d[0]["message_ids"].as_array().unwrap().len(), 5);
    assert!(d.iter().all(|d| d["outcome"] == "sent"));
}

#[tokio::test]
async fn a_webhook_that_holds_its_requests_does_not_delay_an_append() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "webhook", &base).await;
    rx.then([Answer::Hold]);
    test_message(&app, id).await;
    rx.wait_for(1).await;
    // The receiver has the request in hand and does not answer; Muster goes on.
    let resident = app.residents(1)[0];
    let exempt = json!({ "events": [{ "id": Uuid::now_v7(), "type": "exemption_set", "resident_id": resident, "reason": "away" }] });
    let appended = app.post_events(&app.token(Role::Chief), exempt).await;
    assert_eq!(appended.status(), 200);
    test_message(&app, id).await;
    assert_eq!(*rx.held.lock().unwrap(), 1, "the first request is still held");
    assert!(deliveries(&app, id).await.is_empty(), "nothing has ended yet");
    rx.release_all();
    let d = deliveries_until(&app, id, |d| d.len() == 2).await;
    assert!(d.iter().all(|d| d["outcome"] == "sent"));
}

#[tokio::test]
async fn secrets_and_keys_never_reach_an_answer_or_a_log_line() {
    let logs = LogBuffer::default();
    let subscriber =
        tracing_subscriber::fmt().with_env_filter("trace").with_writer(logs.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = spawn_quick().await;
    let (rx, base) = Receiver::start().await;
    let mut answers = String::new();
    for kind in ["wecom", "dingtalk", "feishu", "webhook"] {
        let mut body = channel_body(kind, &base);
        body["node_id"] = json!(grid(&app));
        let made = post_channel(&app, body).await.text().await.unwrap();
        let id = serde_json::from_str::<Value>(&made).unwrap()["id"].as_i64().unwrap();
        answers.push_str(&made);
        rx.then([Answer::Status(500)]);
        test_message(&app, id).await;
        deliveries_until(&app, id, |d| d.len() == 1).await;
        answers.push_str(&deliveries(&app, id).await.iter().map(Value::to_string).collect::<String>());
    }
    let chief = app.token(Role::Chief);
    let listed = app.get_json("/api/channels", &chief).await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert!(listed.as_array().unwrap().iter().all(|c| c["secret_set"] == (c["kind"] != "wecom")));
    answers.push_str(&listed.to_string());
    answers.push_str(&app.get_json("/api/audit", &app.token(Role::Admin)).await.to_string());
    let logged = logs.text();
    assert!(logged.contains("channel added"), "the log was captured");
    for secret in [WECOM_KEY, DING_TOKEN, DING_SECRET, FEISHU_HOOK, FEISHU_SECRET, GATEWAY_SECRET] {
        assert!(!answers.contains(secret), "{secret} in an answer");
        assert!(!logged.contains(secret), "{secret} in the log");
    }
}

/// Log output kept in memory, for reading back.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

#[tokio::test]
async fn a_bad_url_an_empty_secret_or_a_node_outside_the_area_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let node = grid(&app);
    let cases = [
        (json!({ "kind": "wecom", "name": "群", "url": "ftp://example.invalid/x" }), "url"),
        (json!({ "kind": "wecom", "name": "群", "url": "javascript:alert(1)" }), "url"),
        (json!({ "kind": "wecom", "name": "群", "url": "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }), "url"),
        (
            json!({ "kind": "dingtalk", "name": "群", "url": "https://oapi.dingtalk.com/robot/send?access_token=t", "secret": "" }),
            "secret",
        ),
        (
            json!({ "kind": "dingtalk", "name": "群", "url": "https://oapi.dingtalk.com/robot/send?access_token=t" }),
            "secret",
        ),
        (
            json!({ "kind": "feishu", "name": "群", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/x", "secret": "  " }),
            "secret",
        ),
        (json!({ "kind": "webhook", "name": "网关", "url": "http://127.0.0.1:9/gateway", "secret": "" }), "secret"),
        (
            json!({ "kind": "wecom", "name": " ", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }),
            "name",
        ),
    ];
    for (mut body, field) in cases {
        body["node_id"] = json!(node);
        let r = post_channel(&app, body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(
            (problem["code"].as_str(), problem["field"].as_str()),
            (Some("invalid_field"), Some(field)),
            "{body}"
        );
        assert!(!problem["message"].as_str().unwrap().is_empty());
    }
    // A chief of one sub-grid, adding a channel to another's grid.
    let admin = app.token(Role::Admin);
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let mine = app.roster.node_idx(member.nodes[0]).unwrap();
    let elsewhere = app
        .roster
        .nodes()
        .iter()
        .enumerate()
        .find(|(i, n)| n.parent == Some(1) && !app.roster.ancestors(mine).contains(i))
        .unwrap()
        .1
        .id;
    let made = app.client.post(format!("{}/api/staff", app.base)).bearer_auth(&admin);
    let made: Value = made
        .json(&json!({ "name": "片区总网格长", "role": "chief", "nodes": [elsewhere] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let local_chief = app.new_session(made["id"].as_i64().unwrap()).await;
    let mut body = channel_body("wecom", "http://127.0.0.1:9");
    body["node_id"] = json!(node);
    let r = app.client.post(format!("{}/api/channels", app.base)).bearer_auth(&local_chief).json(&body);
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "out_of_your_scope");
    assert_eq!(app.get_json("/api/channels", &admin).await, json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_retired_channel_is_sent_nothing_more_and_its_deliveries_stay() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let id = add_channel(&app, "wecom", &base).await;
    test_message(&app, id).await;
    deliveries_until(&app, id, |d| d.len() == 1).await;
    let retire = app.client.post(format!("{}/api/channels/{id}/retire", app.base)).bearer_auth(app.token(Role::Chief));
    assert_eq!(retire.send().await.unwrap().status(), 204);
    let test = app.client.post(format!("{}/api/channels/{id}/test", app.base)).bearer_auth(app.token(Role::Chief));
    assert_eq!(test.send().await.unwrap().status(), 404);
    assert_eq!(app.get_json("/api/channels", &app.token(Role::Chief)).await, json!([]));
    assert_eq!(rx.arrived().len(), 1);
    let store = muster::store::open(&app.db_url).await.unwrap();
    assert_eq!(store.accounts().deliveries(id, 10).await.unwrap().len(), 1, "its deliveries stay");
}

#[tokio::test]
async fn a_call_up_is_posted_to_the_chat_groups_of_the_areas_it_calls_up_once() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    // A channel on one grid; the call-up goes to the whole village, so to that grid too.
    add_channel(&app, "webhook", &base).await;
    let call = json!({ "events": [{ "id": uuid::Uuid::now_v7(), "type": "call_up_sent",
        "text": "紧急通知：今晚全员核酸", "place": "23:50 到村委会集合", "nodes": [1] }] });
    let r = app.post_events(&app.token(Role::Chief), call.clone()).await;
    assert_eq!(r.status(), 200);
    let arrived = rx.wait_for(1).await;
    assert!(arrived[0].verified, "{:?}", arrived[0]);
    assert_eq!(arrived[0].body["kind"], "call_up");
    assert!(
        arrived[0].text.contains("【召集】紧急通知：今晚全员核酸") && arrived[0].text.contains("23:50 到村委会集合"),
        "{:?}",
        arrived[0].text
    );
    // The same call-up sent again is a repeat: nothing more is posted.
    assert_eq!(app.post_events(&app.token(Role::Chief), call).await.status(), 200);
    let test_id = add_channel(&app, "webhook", &base).await;
    test_message(&app, test_id).await;
    let arrived = rx.wait_for(2).await;
    assert_eq!(arrived.iter().filter(|a| a.body["kind"] == "call_up").count(), 1, "{arrived:?}");
}

#[tokio::test]
async fn escalations_are_posted_to_the_chat_group_of_the_head_they_climb_to_one_message_a_look() {
    let app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let head = app.roster.staff().iter().find(|s| s.role == Role::GridHead).unwrap();
    let mut body = channel_body("webhook", &base);
    body["node_id"] = json!(head.nodes[0]);
    assert_eq!(post_channel(&app, body).await.status(), 201);
    let chief = app.token(Role::Chief);
    let start = json!({ "events": [{ "id": uuid::Uuid::now_v7(), "type": "chase_started" }] });
    assert_eq!(app.post_events(&chief, start).await.status(), 200);
    app.clock.advance(time::Duration::minutes(31));
    let arrived = rx.wait_for(1).await;
    assert!(arrived[0].verified, "{:?}", arrived[0]);
    assert_eq!(arrived[0].body["kind"], "escalation");
    // Every resident of the head's area is still missing: all of them, in one message.
    let area: std::collections::HashSet<usize> = [app.roster.node_idx(head.nodes[0]).unwrap()].into();
    let under = (0..app.roster.residents().len())
        .filter(|&i| app.roster.in_subtree_of(app.roster.resident_node_idx(i), &area))
        .count();
    let expected = format!("【上报】{}：{under} 名居民超时仍未找到", head.name);
    assert!(arrived[0].text.starts_with(&expected), "{:?} / {expected}", arrived[0].text);
}

/// The village's own node, at the top of the tree.
fn village_node(app: &TestApp) -> i64 {
    app.roster.nodes().iter().find(|n| n.parent.is_none()).unwrap().id
}

/// Moves the server's clock just past the next clock hour in 大华山村's time; that hour.
fn to_next_hour(app: &TestApp) -> time::OffsetDateTime {
    let now = app.clock.now().to_offset(time::macros::offset!(+8));
    let hour = now.replace_minute(0).unwrap().replace_second(0).unwrap().replace_nanosecond(0).unwrap()
        + time::Duration::hours(1);
    app.clock.advance(hour - now + time::Duration::seconds(30));
    hour
}

/// Waits until the nodes' looks at a due summary have ended as said (the counter is the
/// process's: in-process nodes add to one).
async fn summaries_counted(app: &TestApp, posted: u64, elsewhere: u64) {
    let wait = async {
        loop {
            let m = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
            let count = |outcome: &str| {
                let name = format!("muster_summaries_total{{outcome=\"{outcome}\"}} ");
                m.lines().find_map(|l| l.strip_prefix(&name)).map_or(0, |n| n.trim().parse::<u64>().unwrap())
            };
            let has = |outcome: &str, n: u64| count(outcome) == n;
            if has("posted", posted) && has("claimed_elsewhere", elsewhere) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait).await.expect("the summaries were looked at");
}

async fn add_summary_channel(app: &TestApp, base: &str, node: i64, summary: bool) -> i64 {
    let mut body = channel_body("wecom", base);
    body["node_id"] = json!(node);
    body["summary"] = json!(summary);
    let r = post_channel(app, body).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["summary"], summary);
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_group_that_asked_gets_its_areas_progress_each_hour_once_and_at_the_close() {
    let mut app = spawn_app().await;
    let (rx, base) = Receiver::start().await;
    let wants = add_summary_channel(&app, &base, village_node(&app), true).await;
    // A second group of the village that did not ask: it gets none (it would arrive here).
    add_summary_channel(&app, &base, village_node(&app), false).await;
    for r in app.residents(3) {
        assert_eq!(app.scan(uuid::Uuid::now_v7(), r).await.status(), 201);
    }
    let snapshot = app.snapshot().await;
    let (target, action) =
        (snapshot["totals"]["target"].as_i64().unwrap(), snapshot["action"]["name"].as_str().unwrap());
    let hour = to_next_hour(&app);
    let arrived = rx.wait_for(1).await;
    assert!(arrived[0].verified, "{:?}", arrived[0]);
    let village = &app.roster.nodes().iter().find(|n| n.parent.is_none()).unwrap().name;
    assert_eq!(
        arrived[0].text.lines().take(2).collect::<Vec<_>>(),
        [
            format!("【进度】{:02}:00 {action} · {village}", hour.hour()),
            format!("应采 {target} 人，已采样 3，豁免 0，未检 {}；完成率 0%。", target - 3),
        ],
        "{}",
        arrived[0].text
    );
    summaries_counted(&app, 1, 0).await;

    // A restart within the hour finds the hour's summary claimed: nothing more is posted.
    app.restart().await;
    summaries_counted(&app, 1, 1).await;
    assert_eq!(rx.arrived().len(), 1);

    // The next hour's, and the last one at the close.
    let next = to_next_hour(&app);
    let arrived = rx.wait_for(2).await;
    assert!(arrived[1].text.starts_with(&format!("【进度】{:02}:00 ", next.hour())), "{}", arrived[1].text);
    assert!(
        arrived[1].text.contains("近 15 分钟没有新的采样。"),
        "an hour with no samples has no rate: {}",
        arrived[1].text
    );
    let now = app.clock.now().format(&time::format_description::well_known::Rfc3339).unwrap();
    let close = json!({ "type": "action_closed", "device_time": now });
    assert_eq!(app.record(Role::Chief, close).await.status(), 200);
    let arrived = rx.wait_for(3).await;
    assert!(arrived[2].text.starts_with("【结束】") && arrived[2].text.contains("行动已结束。"), "{}", arrived[2].text);
    let kinds: Vec<&Value> = arrived.iter().map(|a| &a.body["msgtype"]).collect();
    assert!(kinds.iter().all(|k| *k == "text"), "{kinds:?}");
    let delivered = deliveries_until(&app, wants, |d| d.len() == 3).await;
    assert_eq!(rx.arrived().len(), 3, "the group that did not ask got none");
    assert!(delivered.iter().all(|d| d["outcome"] == "sent" && d["kinds"] == json!(["summary"])), "{delivered:?}");
}

#[tokio::test]
async fn two_nodes_post_each_hours_progress_once_between_them() {
    let app = spawn_app().await;
    // Started before the channel exists, and told of its summary by neither: it reads them.
    let other = app.second_node().await;
    let (rx, base) = Receiver::start().await;
    let id = add_summary_channel(&app, &base, village_node(&app), false).await;
    let on = app.client.patch(format!("{}/api/channels/{id}", other.base)).bearer_auth(app.token(Role::Chief));
    let on = on.json(&json!({ "summary": true })).send().await.unwrap();
    assert_eq!(on.status(), 200);
    assert_eq!(on.json::<Value>().await.unwrap()["summary"], true);
    to_next_hour(&app);
    summaries_counted(&app, 1, 1).await;
    let arrived = rx.wait_for(1).await;
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert!(arrived[0].text.starts_with("【进度】"), "{}", arrived[0].text);
}

#[tokio::test]
async fn a_bad_change_of_a_channel_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let id = add_summary_channel(&app, "http://127.0.0.1:9", grid(&app), false).await;
    let chief = app.token(Role::Chief);
    let patch = |path: String, token: String, body: Value| {
        let r = app.client.patch(format!("{}{path}", app.base)).bearer_auth(token).json(&body);
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, problem) = patch(format!("/api/channels/{id}"), chief.clone(), json!({ "summary": "yes" })).await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (400, Some("invalid_field"), Some("summary")),
        "{problem}"
    );
    let (status, problem) =
        patch(format!("/api/channels/{id}"), chief.clone(), json!({ "summary": true, "url": "http://x/" })).await;
    assert_eq!(status, 400, "an address does not change in place: {problem}");
    let (status, problem) = patch("/api/channels/999999".into(), chief.clone(), json!({ "summary": true })).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{problem}");
    let member = app.token(Role::GridMember);
    let (status, problem) = patch(format!("/api/channels/{id}"), member, json!({ "summary": true })).await;
    assert_eq!(status, 403, "{problem}");
    let channels = app.get_json("/api/channels", &chief).await;
    assert_eq!(channels[0]["summary"], false, "nothing changed: {channels}");
}
