//! What each service is sent and what its answer means: the body, the signature and the
//! reading of the reply, as each service documents them. Pure functions (the time is
//! given), so the tests can recompute every signature from the documented formulas.
//!
//! - WeCom group robot: `POST …/cgi-bin/webhook/send?key=KEY`, `{"msgtype":"text",
//!   "text":{"content":…}}`, content ≤ 2048 bytes; answers `{"errcode":0,"errmsg":"ok"}`,
//!   errcode 45009 when over its 20 a minute.
//! - DingTalk custom robot: `POST …/robot/send?access_token=T&timestamp=MS&sign=S`, S =
//!   urlencode(base64(HMAC-SHA256(key = secret, message = `MS\nsecret`))); the same text
//!   body; errcode 130101 when throttled (for 10 minutes).
//! - Feishu/Lark bot: `POST …/bot/v2/hook/ID`, `{"timestamp":"S","sign":…,"msg_type":"text",
//!   "content":{"text":…}}`, sign = base64(HMAC-SHA256(key = `S\nsecret`, message = empty)),
//!   body ≤ 20 KB; answers `{"code":0,"msg":"success"}` (older: `StatusCode`), code 11232
//!   when over its limits.
//! - Generic webhook (an SMS or voice gateway): `{"text","link","kind"}` (a digest of
//!   several adds `parts`), header `X-Muster-Signature: sha256=<hex HMAC-SHA256(secret, body)>`;
//!   any 2xx is taken, 429 is a throttle.

use super::{Kind, Message, Secret};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// WeCom's limit on a text message's content, in bytes.
pub const WECOM_TEXT_MAX: usize = 2048;
/// Feishu's limit on a request body, in bytes.
pub const FEISHU_BODY_MAX: usize = 20 * 1024;
/// DingTalk's limit on a text message's content, in bytes (its documented 20,000).
pub const DINGTALK_TEXT_MAX: usize = 20_000;
/// What we send a gateway at most, in bytes: a gateway reads the text out or cuts it to
/// SMS; more would only be cut.
pub const WEBHOOK_BODY_MAX: usize = 64 * 1024;

pub const SIGNATURE_HEADER: &str = "x-muster-signature";

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// DingTalk's `sign` before URL-encoding: base64(HMAC-SHA256(secret, `ms\nsecret`)).
pub fn dingtalk_sign(secret: &Secret, timestamp_ms: i64) -> String {
    let s = secret.expose();
    base64::engine::general_purpose::STANDARD.encode(hmac(s.as_bytes(), format!("{timestamp_ms}\n{s}").as_bytes()))
}

/// Feishu's `sign`: base64(HMAC-SHA256(key = `s\nsecret`, message = empty)).
pub fn feishu_sign(secret: &Secret, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{}", secret.expose());
    base64::engine::general_purpose::STANDARD.encode(hmac(key.as_bytes(), b""))
}

/// The generic webhook's header value: `sha256=` and the hex HMAC-SHA256 of the body.
pub fn webhook_signature(secret: &Secret, body: &[u8]) -> String {
    let mac = hmac(secret.expose().as_bytes(), body);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// One message as a person reads it in the group: the text, then its link.
fn part_text(m: &Message) -> String {
    match &m.link {
        Some(link) => format!("{}\n{link}", m.text),
        None => m.text.clone(),
    }
}

/// Several queued messages as one text, each part after the other.
pub fn joined(parts: &[Message]) -> String {
    parts.iter().map(part_text).collect::<Vec<_>>().join("\n\n")
}

/// A request to send: where, the body, and the signature header if the kind has one.
#[derive(Debug)]
pub struct Request {
    pub url: reqwest::Url,
    pub body: Vec<u8>,
    pub signature: Option<String>,
}

/// The body's JSON for `parts` on a channel of `kind` (signed fields included), given
/// the time now in unix milliseconds.
fn body(kind: Kind, secret: Option<&Secret>, parts: &[Message], now_ms: i64) -> Value {
    match kind {
        Kind::WeCom | Kind::DingTalk => json!({ "msgtype": "text", "text": { "content": joined(parts) } }),
        Kind::Feishu => {
            let ts = now_ms.div_euclid(1000);
            let mut b = json!({ "msg_type": "text", "content": { "text": joined(parts) } });
            if let Some(s) = secret {
                b["timestamp"] = json!(ts.to_string());
                b["sign"] = json!(feishu_sign(s, ts));
            }
            b
        }
        Kind::Webhook => match parts {
            [one] => json!({ "text": one.text, "link": one.link, "kind": one.kind }),
            _ => json!({
                "text": joined(parts),
                "link": null,
                "kind": "digest",
                "parts": parts.iter().map(|m| json!({ "text": m.text, "link": m.link, "kind": m.kind })).collect::<Vec<_>>(),
            }),
        },
    }
}

/// What a body carries besides its parts' text, at most (keys, `msgtype`, Feishu's
/// timestamp and 44-character sign, the webhook's `kind`): room kept for it.
const ENVELOPE: usize = 256;

/// How many bytes of parts one message of `kind` takes.
fn budget(kind: Kind) -> usize {
    match kind {
        Kind::WeCom => WECOM_TEXT_MAX,
        Kind::DingTalk => DINGTALK_TEXT_MAX,
        Kind::Feishu => FEISHU_BODY_MAX - ENVELOPE,
        Kind::Webhook => WEBHOOK_BODY_MAX - ENVELOPE,
    }
}

/// The length of `s` as a JSON string's contents (escapes counted).
fn escaped_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len() * 6, |j| j.len() - 2)
}

/// How many bytes of [`budget`] one part takes, its separator from the others included
/// (so a count of parts is never under): for the robots' text the text's own bytes, in
/// a JSON body its escaped bytes (and for a gateway's digest the part again in `parts`).
pub fn cost(kind: Kind, m: &Message) -> usize {
    let text = part_text(m);
    match kind {
        Kind::WeCom | Kind::DingTalk => text.len() + 2,
        Kind::Feishu => escaped_len(&text) + 4,
        Kind::Webhook => {
            let part = json!({ "text": m.text, "link": m.link, "kind": m.kind }).to_string();
            escaped_len(&text) + 4 + part.len() + 1
        }
    }
}

/// Whether parts costing `total` bytes fit in one message of `kind`.
pub fn fits_cost(kind: Kind, total: usize) -> bool {
    total <= budget(kind)
}

/// Whether `parts` fit in one message of `kind`.
pub fn fits(kind: Kind, parts: &[Message]) -> bool {
    fits_cost(kind, parts.iter().map(|m| cost(kind, m)).sum())
}

/// `m` cut (on a character boundary, marked with `…`) so that it fits in one message of
/// `kind` on its own; the link is kept whole.
pub fn cut_to_fit(kind: Kind, mut m: Message) -> Message {
    while !fits(kind, std::slice::from_ref(&m)) && !m.text.is_empty() {
        let keep = m.text.chars().count() * 9 / 10;
        m.text = m.text.chars().take(keep).collect::<String>();
        m.text.push('…');
        if keep == 0 {
            m.text.clear();
        }
    }
    m
}

/// The request for `parts` on a channel, at `now_ms` (unix milliseconds).
pub fn request(kind: Kind, url: &reqwest::Url, secret: Option<&Secret>, parts: &[Message], now_ms: i64) -> Request {
    let mut url = url.clone();
    if let (Kind::DingTalk, Some(s)) = (kind, secret) {
        // `append_pair` URL-encodes the base64 (`+`, `/`, `=`), as DingTalk requires.
        url.query_pairs_mut()
            .append_pair("timestamp", &now_ms.to_string())
            .append_pair("sign", &dingtalk_sign(s, now_ms));
    }
    let body = body(kind, secret, parts, now_ms).to_string().into_bytes();
    let signature = match (kind, secret) {
        (Kind::Webhook, Some(s)) => Some(webhook_signature(s, &body)),
        _ => None,
    };
    Request { url, body, signature }
}

/// What an answer (or its absence) means for the message.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Sent,
    /// The service said no to this message; sending it again would not help.
    Refused {
        code: i64,
        message: String,
    },
    /// The service is over its limit for this robot: wait this long, then try again.
    Throttled {
        code: i64,
        message: String,
        wait: Duration,
    },
    /// A network error, a timeout or a 5xx: try again after a while.
    Failed {
        code: Option<i64>,
        message: String,
    },
}

/// Reads a service's answer: `status`, the `Retry-After` seconds if any, and the body.
/// `minute` is how long the services' minute lasts (shortened in tests).
pub fn read_reply(kind: Kind, status: u16, retry_after: Option<u64>, body: &str, minute: Duration) -> Reply {
    let code = i64::from(status);
    if status == 429 {
        let wait = retry_after.map(Duration::from_secs).unwrap_or(minute);
        return Reply::Throttled { code, message: short(body), wait };
    }
    if status >= 500 {
        return Reply::Failed { code: Some(code), message: short(body) };
    }
    if kind == Kind::Webhook {
        return if (200..300).contains(&status) { Reply::Sent } else { Reply::Refused { code, message: short(body) } };
    }
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let (errcode, errmsg) = match kind {
        Kind::Feishu => (
            json.get("code").or_else(|| json.get("StatusCode")).and_then(Value::as_i64),
            json.get("msg").or_else(|| json.get("StatusMessage")).and_then(Value::as_str),
        ),
        _ => (json.get("errcode").and_then(Value::as_i64), json.get("errmsg").and_then(Value::as_str)),
    };
    let message = errmsg.map(short).unwrap_or_else(|| short(body));
    match (kind, errcode) {
        (_, Some(0)) if (200..300).contains(&status) => Reply::Sent,
        (Kind::WeCom, Some(c @ 45009)) => Reply::Throttled { code: c, message, wait: minute },
        (Kind::DingTalk, Some(c @ 130101)) => Reply::Throttled { code: c, message, wait: minute * 10 },
        (Kind::Feishu, Some(c @ 11232)) => Reply::Throttled { code: c, message, wait: minute },
        (_, Some(c)) => Reply::Refused { code: c, message },
        (_, None) => Reply::Refused { code, message },
    }
}

/// At most 200 characters of a service's words, for the deliveries list.
fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::MessageKind;

    fn message(text: &str) -> Message {
        Message::new(MessageKind::Test, text, Some("http://muster.local/m".into()))
    }

    #[test]
    fn dingtalk_signs_as_its_documentation_shows() {
        // The expected values were computed from the documented formulas with Python's
        // `hmac` and `base64`, not with this code.
        let sign = dingtalk_sign(&Secret::new("SEC000".into()), 1_700_000_000_000);
        assert_eq!(sign, "ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA=");
        assert_eq!(
            feishu_sign(&Secret::new("SEC000".into()), 1_700_000_000),
            "QKhXycVUGrhA1dUEbXA2Vo/zGkv/W88IgYgKNA7Xmk0="
        );
        assert_eq!(
            webhook_signature(&Secret::new("SEC000".into()), br#"{"a":1}"#),
            "sha256=b5e97a5d150caea2201837d3aab90e65ada9538724e44e9dfb74435c890f7323"
        );
        let url = reqwest::Url::parse("http://h/robot/send?access_token=T").unwrap();
        let r =
            request(Kind::DingTalk, &url, Some(&Secret::new("SEC000".into())), &[message("通知")], 1_700_000_000_000);
        let pairs: Vec<(String, String)> = r.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(pairs[0], ("access_token".into(), "T".into()));
        assert_eq!(pairs[1], ("timestamp".into(), "1700000000000".into()));
        assert_eq!(pairs[2], ("sign".into(), sign));
    }

    #[test]
    fn a_long_message_is_cut_to_wecoms_limit_and_keeps_its_link() {
        let m = cut_to_fit(Kind::WeCom, message(&"集合".repeat(2000)));
        assert!(joined(std::slice::from_ref(&m)).len() <= WECOM_TEXT_MAX);
        assert!(m.text.ends_with('…'));
        assert_eq!(m.link.as_deref(), Some("http://muster.local/m"));
    }

    #[test]
    fn a_body_of_parts_that_fit_is_within_the_services_limit() {
        let url = reqwest::Url::parse("http://h/x").unwrap();
        let secret = Secret::new("s".repeat(64));
        for kind in [Kind::WeCom, Kind::DingTalk, Kind::Feishu, Kind::Webhook] {
            let mut parts = Vec::new();
            while fits(kind, &parts) {
                parts.push(message("晚上11点50分到村委会集合，带上名单和手电筒。\"引号\"也算"));
            }
            parts.pop();
            let r = request(kind, &url, Some(&secret), &parts, 1_700_000_000_000);
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            match kind {
                Kind::WeCom => assert!(body["text"]["content"].as_str().unwrap().len() <= WECOM_TEXT_MAX),
                Kind::DingTalk => assert!(body["text"]["content"].as_str().unwrap().len() <= DINGTALK_TEXT_MAX),
                Kind::Feishu => assert!(r.body.len() <= FEISHU_BODY_MAX),
                Kind::Webhook => assert!(r.body.len() <= WEBHOOK_BODY_MAX),
            }
            assert!(parts.len() > 1, "{kind:?} takes several parts");
        }
    }

    #[test]
    fn the_services_throttles_are_read_as_throttles() {
        let minute = Duration::from_secs(60);
        let t = read_reply(Kind::DingTalk, 200, None, r#"{"errcode":130101,"errmsg":"send too fast"}"#, minute);
        assert!(matches!(t, Reply::Throttled { code: 130101, wait, .. } if wait == minute * 10));
        let t = read_reply(Kind::WeCom, 200, None, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#, minute);
        assert!(matches!(t, Reply::Throttled { code: 45009, .. }));
        let r = read_reply(Kind::WeCom, 200, None, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#, minute);
        assert_eq!(r, Reply::Refused { code: 93000, message: "invalid webhook url".into() });
        assert!(matches!(read_reply(Kind::Feishu, 502, None, "", minute), Reply::Failed { code: Some(502), .. }));
        assert_eq!(read_reply(Kind::Feishu, 200, None, r#"{"code":0,"msg":"success","data":{}}"#, minute), Reply::Sent);
    }
}
