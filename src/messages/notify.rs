//! What Muster itself posts into a chat group. In Chinese only: the groups are the
//! village's, whoever pressed the button. (Call-ups and escalations bring their own
//! words, from their callers.)

/// The message `POST /api/channels/{id}/test` sends.
pub fn test_message(channel_name: &str) -> String {
    format!("【Muster 测试】这是一条测试消息：「{channel_name}」已接通，召集和提醒会发到这个群。")
}
