//! Call-ups (召集): the chief or a head calls up a part of the tree; exactly its staff are
//! called; each answers 收到 or 有困难 with the time they gave it (an offline phone's later);
//! the senders see who has not answered. And what is refused.

use crate::helpers::{TestApp, checked_log, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

async fn post(app: &TestApp, token: &str, event: Value) -> (u16, Value) {
    let mut e = event;
    e["id"] = json!(Uuid::now_v7());
    let r = app.post_events(token, json!({ "events": [e] })).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn call_ups(app: &TestApp, token: &str) -> Value {
    app.get_json(&format!("/api/actions/{}/call-ups", app.action_id), token).await
}

#[tokio::test]
async fn a_call_up_reaches_exactly_its_subtree_and_the_answers_come_back_with_their_times() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let roster = &app.roster;
    // The first sub-grid: its head, its grid members and the operators of points serving it.
    let sub = roster.nodes().iter().find(|n| n.parent == Some(1)).unwrap();
    let sub_idx: std::collections::HashSet<usize> = [roster.node_idx(sub.id).unwrap()].into();
    let inside = |n: &i64| roster.node_idx(*n).is_some_and(|i| roster.in_subtree_of(i, &sub_idx));
    let members: Vec<i64> = roster
        .staff()
        .iter()
        .filter(|s| s.role == Role::GridMember && s.nodes.iter().any(inside))
        .map(|s| s.id)
        .collect();
    let call = json!({ "type": "call_up_sent", "text": "紧急通知：今晚全员核酸", "place": "23:50 到村委会集合",
                       "nodes": [sub.id], "roles": ["grid_member"] });
    let (status, body) = post(&app, &chief, call).await;
    assert_eq!(status, 200, "{body}");
    let seq = body["results"][0]["seq"].as_i64().unwrap();

    let list = call_ups(&app, &chief).await;
    let c = &list["call_ups"][0];
    let mut called: Vec<i64> =
        c["people"].as_array().unwrap().iter().map(|p| p["staff_id"].as_i64().unwrap()).collect();
    called.sort_unstable();
    assert_eq!(called, members, "exactly the grid members of the sub-grid");
    assert_eq!((c["called"].as_u64(), c["not_yet"].as_u64()), (Some(members.len() as u64), Some(members.len() as u64)));

    // One answers now; another, offline, answers later with the time they tapped it.
    let now = time::OffsetDateTime::now_utc();
    let (first, second) = (members[0], members[1]);
    let (status, _) = post(
        &app,
        &app.token_of(first),
        json!({ "type": "call_up_answered", "call_up_seq": seq, "answer": "received" }),
    )
    .await;
    assert_eq!(status, 200);
    let tapped = (now - time::Duration::minutes(5)).format(&Rfc3339).unwrap();
    let late = json!({ "type": "call_up_answered", "call_up_seq": seq, "answer": "cannot", "reason": "被封在村外", "device_time": tapped });
    assert_eq!(post(&app, &app.token_of(second), late).await.0, 200);
    let list = call_ups(&app, &chief).await;
    let c = &list["call_ups"][0];
    assert_eq!((c["received"].as_u64(), c["cannot"].as_u64()), (Some(1), Some(1)));
    assert_eq!(c["not_yet"].as_u64(), Some(members.len() as u64 - 2));
    assert_eq!(c["people"][0]["answer"], Value::Null, "whom to phone first");
    let theirs = c["people"].as_array().unwrap().iter().find(|p| p["staff_id"] == second).unwrap();
    assert_eq!(theirs["reason"], "被封在村外");
    let at = time::OffsetDateTime::parse(theirs["answered_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!((at - (now - time::Duration::minutes(5))).abs() < time::Duration::seconds(1), "the device time is kept");

    // A grid member reads their own call-up only, with their own answer.
    let mine = call_ups(&app, &app.token_of(first)).await;
    let people = mine["call_ups"][0]["people"].as_array().unwrap();
    assert_eq!((people.len(), people[0]["answer"].as_str()), (1, Some("received")));
    // Someone not called up sees nothing of it.
    let other = roster.staff().iter().find(|s| s.role == Role::GridMember && !members.contains(&s.id)).unwrap();
    assert_eq!(call_ups(&app, &app.token_of(other.id)).await["call_ups"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_call_ups_and_answers_are_refused_and_nothing_is_appended() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let roster = &app.roster;
    let subs: Vec<i64> = roster.nodes().iter().filter(|n| n.parent == Some(1)).map(|n| n.id).collect();
    let call =
        |nodes: Value, roles: Value| json!({ "type": "call_up_sent", "text": "集合", "nodes": nodes, "roles": roles });
    let (_, body) = post(&app, &chief, call(json!([subs[0]]), json!([]))).await;
    let seq = body["results"][0]["seq"].as_i64().unwrap();
    let before = checked_log(&app).await.len();

    // To nobody: a sub-grid has no medic of its own.
    let (status, body) = post(&app, &chief, call(json!([subs[0]]), json!(["lab"]))).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("empty_call_up")), "{body}");
    // A head calls up outside their own sub-grid.
    let head = roster.staff().iter().find(|s| s.role == Role::GridHead && s.nodes.contains(&subs[0])).unwrap();
    let (status, body) = post(&app, &app.token_of(head.id), call(json!([subs[1]]), json!([]))).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("out_of_your_scope")), "{body}");
    // A grid member may not call up.
    let member = roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    assert_eq!(post(&app, &app.token_of(member.id), call(json!([subs[0]]), json!([]))).await.0, 403);
    // Answering someone else's call-up: one that did not call you.
    let outsider = roster
        .staff()
        .iter()
        .find(|s| {
            s.role == Role::GridMember
                && !s.nodes.iter().any(|n| {
                    roster
                        .node_idx(*n)
                        .is_some_and(|i| roster.ancestors(i).contains(&roster.node_idx(subs[0]).unwrap()))
                })
        })
        .unwrap();
    let answer = json!({ "type": "call_up_answered", "call_up_seq": seq, "answer": "received" });
    let (status, body) = post(&app, &app.token_of(outsider.id), answer).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("out_of_your_scope")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("没有叫到您"), "{body}");
    // An answer to a position that is no call-up; an empty text.
    let (status, body) =
        post(&app, &chief, json!({ "type": "call_up_answered", "call_up_seq": 1, "answer": "received" })).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_call_up")), "{body}");
    let (status, body) = post(&app, &chief, json!({ "type": "call_up_sent", "text": "  ", "nodes": [1] })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("events[0].text")), "{body}");
    assert_eq!(checked_log(&app).await.len(), before, "nothing appended");
}

#[tokio::test]
async fn before_sending_the_chief_sees_who_a_call_up_may_not_reach() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let sub = app.roster.nodes().iter().find(|n| n.parent == Some(1)).unwrap().id;
    let grid = app.roster.nodes().iter().find(|n| n.parent == Some(sub)).unwrap().id;
    // A stand-in grid member added tonight: no phone paired, no number given.
    let r = app.client.post(format!("{}/api/staff", app.base)).bearer_auth(&chief);
    let added: Value = r
        .json(&json!({ "name": "代班网格员", "role": "grid_member", "nodes": [grid] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/api/actions/{}/call-ups/reach?nodes={sub}&roles=grid_member", app.action_id);
    // No chat group yet: nobody reads the call-up in one; only the stand-in is out of reach.
    let reach = app.get_json(&path, &chief).await;
    assert_eq!(reach["no_chat_group"], reach["called"], "{reach}");
    let unreachable = reach["unreachable"].as_array().unwrap();
    assert_eq!(unreachable.len(), 1, "{reach}");
    assert_eq!(unreachable[0]["why"], json!(["no_paired_phone", "no_phone_number", "no_chat_group"]));
    // A group robot for the sub-grid covers every grid under it.
    let channel = json!({ "kind": "webhook", "name": "分网格短信网关", "url": "http://127.0.0.1:9/gateway",
                          "secret": "s3cret", "node_id": sub });
    let r =
        app.client.post(format!("{}/api/channels", app.base)).bearer_auth(&chief).json(&channel).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let reach = app.get_json(&path, &chief).await;
    assert_eq!(reach["no_chat_group"], 0, "{reach}");
    let unreachable = reach["unreachable"].as_array().unwrap();
    assert_eq!(unreachable.len(), 1, "{reach}");
    assert_eq!(unreachable[0]["staff_id"], added["id"]);
    assert_eq!(unreachable[0]["why"], json!(["no_paired_phone", "no_phone_number"]));
    assert!(reach["called"].as_u64().unwrap() >= 4);
    let bad = app
        .client
        .get(format!("{}/api/actions/{}/call-ups/reach?nodes={sub}&roles=wizard", app.base, app.action_id))
        .bearer_auth(&chief)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = app.get_json(&format!("/api/actions/{}/call-ups/reach?nodes=2,x7", app.action_id), &chief).await;
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("invalid_field"), Some("nodes")), "{bad}");
}
