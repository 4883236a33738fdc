//! What Muster itself posts into a chat group. In Chinese only: the groups are the
//! village's, whoever pressed the button. (Call-ups and escalations bring their own
//! words, from their callers.)

/// The message `POST /api/channels/{id}/test` sends.
pub fn test_message(channel_name: &str) -> String {
    format!("【Muster 测试】这是一条测试消息：「{channel_name}」已接通，召集和提醒会发到这个群。")
}

/// A call-up as the chat groups read it: Chinese only (a group of a village's staff), what
/// it says, where and when, and how to answer (the link follows the text).
pub fn call_up(text: &str, place: &str) -> String {
    let place = if place.is_empty() { String::new() } else { format!("\n{place}") };
    format!("【召集】{text}{place}\n请在手机上打开 Muster，点「收到」；来不了点「有困难」并写明原因。")
}

/// Escalations that climbed to one person at a deadline: how many residents are still
/// missing past their time, and how many people have not answered a call-up in time.
pub fn escalation(name: &str, residents: usize, silent: usize) -> String {
    let mut parts = Vec::new();
    if residents > 0 {
        parts.push(format!("{residents} 名居民超时仍未找到"));
    }
    if silent > 0 {
        parts.push(format!("{silent} 人超时未回复召集"));
    }
    format!("【上报】{name}：{}。请在手机上打开 Muster 查看名单并跟进。", parts.join("，"))
}

/// An area under a summary's node, with how many of its residents are still missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Slow {
    pub name: String,
    pub target: i64,
    pub missing: i64,
}

/// The figures of one area's progress summary (see `crate::summary::progress`).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// When it was made, in local time.
    pub at: time::OffsetDateTime,
    pub action: String,
    pub area: String,
    /// The action has closed: the last summary.
    pub closed: bool,
    pub target: i64,
    pub sampled: i64,
    pub exempt: i64,
    /// Samples a minute over the last 15 minutes, and when the missing would be done at it.
    pub rate_15: f64,
    pub eta: Option<time::OffsetDateTime>,
    /// The areas under it furthest behind, furthest first.
    pub slowest: Vec<Slow>,
    /// Its missing residents whose case climbed the chain, and its people whose silence on
    /// a call-up did.
    pub escalated: i64,
    pub silent: usize,
    /// Of the heads' areas under it, how many reported done.
    pub signed_off: (usize, usize),
}

fn percent(done: i64, of: i64) -> i64 {
    if of > 0 { done * 100 / of } else { 0 }
}

fn hh_mm(t: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// An area's progress summary as its chat group reads it, one fact a line.
pub fn summary(p: &Progress) -> String {
    let missing = p.target - p.sampled - p.exempt;
    let head = if p.closed { "【结束】" } else { "【进度】" };
    let mut lines = vec![format!("{head}{} {} · {}", hh_mm(p.at), p.action, p.area)];
    lines.push(format!(
        "应采 {} 人，已采样 {}，豁免 {}，未检 {}；完成率 {}%。",
        p.target,
        p.sampled,
        p.exempt,
        missing,
        percent(p.sampled + p.exempt, p.target)
    ));
    if p.closed {
        lines.push("行动已结束。".into());
    } else if missing == 0 {
        lines.push("已全部采完。".into());
    } else if p.rate_15 > 0.0 {
        let rate = p.rate_15.round().max(1.0);
        match p.eta {
            Some(eta) if eta - p.at <= time::Duration::hours(12) => {
                lines.push(format!("近 15 分钟每分钟约 {rate} 人，按此速度约 {} 采完。", hh_mm(eta)))
            }
            Some(eta) => {
                let hours = (eta - p.at).whole_hours();
                lines.push(format!("近 15 分钟每分钟约 {rate} 人，按此速度还要 {hours} 小时以上。"))
            }
            None => lines.push(format!("近 15 分钟每分钟约 {rate} 人。")),
        }
    } else {
        lines.push("近 15 分钟没有新的采样。".into());
    }
    if !p.slowest.is_empty() {
        let slow: Vec<String> = p
            .slowest
            .iter()
            .map(|s| format!("{} {}%（未检 {}）", s.name, percent(s.target - s.missing, s.target), s.missing))
            .collect();
        lines.push(format!("进度最慢：{}。", slow.join("，")));
    }
    let mut chain = Vec::new();
    if p.escalated > 0 {
        chain.push(format!("超时仍未找到 {} 人", p.escalated));
    }
    if p.silent > 0 {
        chain.push(format!("超时未回复召集 {} 人", p.silent));
    }
    if !chain.is_empty() {
        lines.push(format!("{}。", chain.join("；")));
    }
    if p.signed_off.1 > 0 {
        lines.push(format!("已上报 {} / {} 个片区。", p.signed_off.0, p.signed_off.1));
    }
    lines.join("\n")
}
