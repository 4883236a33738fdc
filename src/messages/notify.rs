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
