//! The chain of command: escalations the server appends as its own actor when a deadline
//! passes (judged by the server's clock, which these tests move), once per level, across a
//! restart and between two nodes; households handed to a substitute and back; a head's
//! sign-off; and what is refused.

use crate::helpers::{TestApp, checked_log, next_message, spawn_app};
use muster::action::EventBody;
use muster::action::escalation::{SERVER_ACTOR, staff_up};
use muster::roster::Role;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

async fn post(app: &TestApp, token: &str, event: Value) -> (u16, Value) {
    let mut e = event;
    e["id"] = json!(Uuid::now_v7());
    let r = app.post_events(token, json!({ "events": [e] })).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn chain_path(app: &TestApp) -> String {
    format!("/api/actions/{}/chain", app.action_id)
}

/// The log's position as a node serves it.
async fn position(app: &TestApp, base: &str) -> i64 {
    app.snapshot_at(base).await["seq"].as_i64().unwrap()
}

/// Waits on a node's live feed until its log reaches position `seq` (each escalation the
/// server appends moves it on by one), then reads the chain view there.
async fn chain_at(app: &TestApp, base: &str, token: &str, seq: i64) -> Value {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let mut socket = app.connect_at(addr, None).await;
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let m = next_message(&mut socket).await;
            if m["to"].as_i64().or(m["seq"].as_i64()).is_some_and(|at| at >= seq) {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{base} never reached position {seq}"));
    app.client.get(format!("{base}{}", chain_path(app))).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// Escalations in the log, as (what, level): each must be there once.
async fn escalations_in_log(app: &TestApp) -> Vec<(String, u8)> {
    let log = checked_log(app).await;
    let mut seen = Vec::new();
    for e in &log {
        if let EventBody::Escalated { about, level } = &e.new.body {
            assert_eq!(e.new.actor, SERVER_ACTOR, "the server escalates, as its own actor");
            seen.push((format!("{about:?}"), *level));
        }
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "each escalates once per level");
    seen
}

/// Residents in scope with someone `level` staffed areas above their grid member.
fn climbable(app: &TestApp, level: usize, except: &[i64]) -> usize {
    let roster = &app.roster;
    (0..roster.residents().len())
        .filter(|&i| !except.contains(&roster.residents()[i].id))
        .filter(|&i| staff_up(roster, roster.resident_node_idx(i)).len() > level)
        .count()
}

async fn start_chase(app: &TestApp, minutes: u32) {
    let chief = app.token(Role::Chief);
    let rule = json!({ "type": "escalation_set", "minutes": minutes, "call_up_minutes": 10 });
    assert_eq!(post(app, &chief, rule).await.0, 200);
    assert_eq!(post(app, &chief, json!({ "type": "chase_started" })).await.0, 200);
}

#[tokio::test]
async fn a_resident_still_missing_climbs_to_the_head_then_the_chief_and_a_sample_clears_it() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let sampled = app.residents(3);
    for &r in &sampled {
        assert_eq!(
            app.scan_as(&app.operator_of(app.point_of(r)), Uuid::now_v7(), r, app.point_of(r)).await.status(),
            201
        );
    }
    start_chase(&app, 30).await;
    app.clock.advance(time::Duration::minutes(29));
    let before = app.get_json(&chain_path(&app), &chief).await;
    assert!(before["chase_started_at"].is_string());
    assert_eq!(before["escalations"].as_array().unwrap().len(), 0, "not before the deadline");

    let at = position(&app, &app.base).await;
    app.clock.advance(time::Duration::minutes(2));
    let expected = climbable(&app, 1, &sampled);
    let first = chain_at(&app, &app.base, &chief, at + expected as i64).await;
    assert_eq!(first["escalations"].as_array().unwrap().len(), expected);
    let e = &first["escalations"][0];
    assert_eq!(e["level"], 1);
    let idx = app.roster.resident_idx(e["resident_id"].as_i64().unwrap()).unwrap();
    let head = staff_up(&app.roster, app.roster.resident_node_idx(idx))[1];
    assert_eq!(e["escalated_to"]["staff_id"], head, "to the head above their grid member");
    assert_eq!(app.roster.staff_member(head).unwrap().role, Role::GridHead);
    // The head sees it on their own view, with the grid member to ring.
    let theirs = app.get_json(&chain_path(&app), &app.token_of(head)).await;
    let mine = theirs["escalations"].as_array().unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|x| x["escalated_to"]["staff_id"] == head));
    assert!(mine[0]["responsible"]["phone"].as_str().is_some_and(|p| !p.contains('*')), "whole, to ring");
    let snap = app.snapshot().await;
    assert_eq!(snap["pace"]["escalated"], expected as i64);

    // Found at a point: the escalation clears.
    let found = e["resident_id"].as_i64().unwrap();
    assert_eq!(
        app.scan_as(&app.operator_of(app.point_of(found)), Uuid::now_v7(), found, app.point_of(found)).await.status(),
        201
    );
    let after = app.get_json(&chain_path(&app), &chief).await;
    assert_eq!(after["escalations"].as_array().unwrap().len(), expected - 1);
    assert_eq!(app.snapshot().await["pace"]["escalated"], expected as i64 - 1);

    // As long again: the rest climb to the chief, once.
    let at = position(&app, &app.base).await;
    app.clock.advance(time::Duration::minutes(30));
    let mut gone = sampled.clone();
    gone.push(found);
    let to_chief = climbable(&app, 2, &gone);
    let second = chain_at(&app, &app.base, &chief, at + to_chief as i64).await;
    assert_eq!(second["escalations"].as_array().unwrap().iter().filter(|e| e["level"] == 2).count(), to_chief);
    assert_eq!(second["escalations"][0]["escalated_to"]["role"], "chief");
    let log = escalations_in_log(&app).await;
    assert_eq!(log.iter().filter(|(_, l)| *l == 1).count(), expected);
    assert_eq!(log.iter().filter(|(_, l)| *l == 2).count(), to_chief);
}

#[tokio::test]
async fn a_server_down_when_the_deadline_passed_escalates_on_start_up_once() {
    let mut app = spawn_app().await;
    start_chase(&app, 30).await;
    app.restart().await;
    let at = position(&app, &app.base).await;
    // Down across the deadline: the clock moves while nobody looks.
    app.clock.advance(time::Duration::minutes(45));
    app.restart().await;
    let chief = app.token(Role::Chief);
    let expected = climbable(&app, 1, &[]);
    let chain = chain_at(&app, &app.base, &chief, at + expected as i64).await;
    assert_eq!(chain["escalations"].as_array().unwrap().len(), expected);
    // And again: a restart after it appends nothing more (each would be refused as one
    // already made; the log holds each once).
    app.restart().await;
    assert_eq!(position(&app, &app.base).await, at + expected as i64);
    assert_eq!(escalations_in_log(&app).await.len(), expected);
}

#[tokio::test]
async fn two_nodes_escalate_each_resident_once_between_them() {
    let app = spawn_app().await;
    let other = app.second_node().await;
    start_chase(&app, 30).await;
    let at = position(&app, &app.base).await;
    app.clock.advance(time::Duration::minutes(31));
    let chief = app.token(Role::Chief);
    let expected = climbable(&app, 1, &[]);
    for base in [&app.base, &other.base] {
        let chain = chain_at(&app, base, &chief, at + expected as i64).await;
        assert_eq!(chain["escalations"].as_array().unwrap().len(), expected, "{base}");
    }
    assert_eq!(escalations_in_log(&app).await.len(), expected);
}

#[tokio::test]
async fn an_unanswered_call_up_climbs_to_the_head_and_an_answer_clears_it() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let roster = &app.roster;
    let sub = roster.nodes().iter().find(|n| n.parent == Some(1)).unwrap();
    let call = json!({ "type": "call_up_sent", "text": "集合", "nodes": [sub.id], "roles": ["grid_member"] });
    let (status, body) = post(&app, &chief, call).await;
    assert_eq!(status, 200, "{body}");
    let seq = body["results"][0]["seq"].as_i64().unwrap();
    let called =
        app.get_json(&format!("/api/actions/{}/call-ups", app.action_id), &chief).await["call_ups"][0]["called"]
            .as_u64()
            .unwrap() as usize;
    let answered = app.get_json(&format!("/api/actions/{}/call-ups", app.action_id), &chief).await["call_ups"][0]
        ["people"][0]["staff_id"]
        .as_i64()
        .unwrap();
    let received = json!({ "type": "call_up_answered", "call_up_seq": seq, "answer": "received" });
    assert_eq!(post(&app, &app.token_of(answered), received.clone()).await.0, 200);

    let at = position(&app, &app.base).await;
    app.clock.advance(time::Duration::minutes(11));
    let silent = chain_at(&app, &app.base, &chief, at + called as i64 - 1).await;
    assert_eq!(silent["silent"].as_array().unwrap().len(), called - 1);
    let late = silent["silent"][0]["person"]["staff_id"].as_i64().unwrap();
    assert_eq!(silent["silent"][0]["escalated_to"]["role"], "grid_head");
    let head = silent["silent"][0]["escalated_to"]["staff_id"].as_i64().unwrap();
    let heads_view = app.get_json(&chain_path(&app), &app.token_of(head)).await;
    assert!(heads_view["silent"].as_array().unwrap().iter().any(|s| s["person"]["staff_id"] == late));
    assert_eq!(app.snapshot().await["pace"]["call_ups_overdue"], (called - 1) as i64);
    assert_eq!(post(&app, &app.token_of(late), received).await.0, 200);
    let after = app.get_json(&chain_path(&app), &chief).await;
    assert_eq!(after["silent"].as_array().unwrap().len(), called - 2, "an answer clears it");
}

#[tokio::test]
async fn a_head_hands_a_grid_members_households_to_a_substitute_and_back() {
    let app = spawn_app().await;
    let roster = &app.roster;
    let member = roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let grid = roster.node_idx(member.nodes[0]).unwrap();
    let head = staff_up(roster, grid)[1];
    let substitute = roster
        .staff()
        .iter()
        .find(|s| {
            s.role == Role::GridMember
                && s.id != member.id
                && staff_up(roster, roster.node_idx(s.nodes[0]).unwrap())[1] == head
        })
        .unwrap();
    let list = |token: String| {
        let app = &app;
        async move {
            let page = app.get_json(&format!("/api/actions/{}/households", app.action_id), &token).await;
            page["households"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    let theirs = list(app.token_of(member.id)).await;
    assert!(!theirs.is_empty());
    // A tick before the handover travels with the household.
    let resident = roster.residents().iter().find(|r| r.household_id == theirs[0]).unwrap().id;
    let tick = json!({ "type": "resident_ticked", "resident_id": resident, "chase": "unreachable" });
    assert_eq!(post(&app, &app.token_of(member.id), tick.clone()).await.0, 200);

    let hand = json!({ "type": "households_handed", "households": theirs, "to": substitute.id });
    let (status, body) = post(&app, &app.token_of(head), hand).await;
    assert_eq!(status, 200, "{body}");
    assert!(list(app.token_of(member.id)).await.is_empty(), "the member's phone no longer shows them");
    let now_theirs = list(app.token_of(substitute.id)).await;
    assert!(theirs.iter().all(|h| now_theirs.contains(h)), "the substitute's phone does");
    let page = app.get_json(&format!("/api/actions/{}/households", app.action_id), &app.token_of(substitute.id)).await;
    let moved = page["households"].as_array().unwrap().iter().find(|h| h["id"] == theirs[0]).unwrap();
    assert_eq!(moved["staff_id"], substitute.id);
    let r = moved["residents"].as_array().unwrap().iter().find(|r| r["id"] == resident).unwrap();
    assert_eq!(r["live"]["chase"], "unreachable", "with their history");
    // The member can no longer tick them; the substitute can.
    let (status, body) = post(&app, &app.token_of(member.id), tick.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("out_of_your_scope")), "{body}");
    assert_eq!(post(&app, &app.token_of(substitute.id), tick).await.0, 200);
    let chain = app.get_json(&chain_path(&app), &app.token_of(head)).await;
    let h = &chain["handovers"][0];
    assert_eq!(
        (h["to"]["staff_id"].as_i64(), h["households"][0]["from"]["staff_id"].as_i64()),
        (Some(substitute.id), Some(member.id))
    );

    // And back.
    let back = json!({ "type": "households_handed", "households": theirs });
    assert_eq!(post(&app, &app.token_of(head), back).await.0, 200);
    assert_eq!(list(app.token_of(member.id)).await, theirs);
    let substitutes = list(app.token_of(substitute.id)).await;
    assert!(theirs.iter().all(|h| !substitutes.contains(h)), "nor the substitute's any more");
}

#[tokio::test]
async fn a_head_signs_off_their_area_with_those_still_missing_and_their_last_status() {
    let app = spawn_app().await;
    let roster = &app.roster;
    let head = roster.staff().iter().find(|s| s.role == Role::GridHead).unwrap();
    let area = head.nodes[0];
    let area_idx: HashSet<usize> = [roster.node_idx(area).unwrap()].into();
    let under: Vec<i64> = (0..roster.residents().len())
        .filter(|&i| roster.in_subtree_of(roster.resident_node_idx(i), &area_idx))
        .map(|i| roster.residents()[i].id)
        .collect();
    // All but two are found; one of those two could not be reached.
    for &r in &under[2..] {
        assert_eq!(
            app.scan_as(&app.operator_of(app.point_of(r)), Uuid::now_v7(), r, app.point_of(r)).await.status(),
            201
        );
    }
    let tick = json!({ "type": "resident_ticked", "resident_id": under[0], "chase": "unreachable" });
    assert_eq!(post(&app, &app.token_of(head.id), tick).await.0, 200);
    start_chase(&app, 30).await;
    // Signed twenty minutes into the chase (by the head's phone), within the 30 minutes.
    let twenty = (time::OffsetDateTime::now_utc() + time::Duration::minutes(20))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let sign =
        json!({ "type": "area_signed_off", "node_id": area, "note": "两人联系不上，明早再找", "device_time": twenty });
    let (status, body) = post(&app, &app.token_of(head.id), sign).await;
    assert_eq!(status, 200, "{body}");
    // The chief shortens the rule afterwards: a report made in time stays in time.
    let rule = json!({ "type": "escalation_set", "minutes": 10, "call_up_minutes": 10 });
    assert_eq!(post(&app, &app.token(Role::Chief), rule).await.0, 200);
    let chain = app.get_json(&chain_path(&app), &app.token(Role::Chief)).await;
    let a = chain["areas"].as_array().unwrap().iter().find(|a| a["node_id"] == area).unwrap();
    let off = &a["signed_off"];
    assert_eq!(off["in_time"], true);
    assert_eq!(off["note"], "两人联系不上，明早再找");
    let except: Vec<(i64, Value)> = off["except"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["resident_id"].as_i64().unwrap(), e["chase"].clone()))
        .collect();
    assert_eq!(except, vec![(under[0], json!("unreachable")), (under[1], Value::Null)]);
    assert_eq!(a["missing"], 2);
}

#[tokio::test]
async fn bad_chain_events_are_refused_clearly_and_nothing_is_appended() {
    let app = spawn_app().await;
    let roster = &app.roster;
    let chief = app.token(Role::Chief);
    let heads: Vec<_> = roster.staff().iter().filter(|s| s.role == Role::GridHead).collect();
    let (head, other_head) = (heads[0], heads[1]);
    let own = app.get_json(&format!("/api/actions/{}/households", app.action_id), &app.token_of(head.id)).await;
    let own_household = own["households"][0]["id"].as_i64().unwrap();
    let foreign =
        app.get_json(&format!("/api/actions/{}/households", app.action_id), &app.token_of(other_head.id)).await;
    let foreign_household = foreign["households"][0]["id"].as_i64().unwrap();
    let operator = roster.staff().iter().find(|s| s.role == Role::Operator).unwrap();
    let member = roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    assert_eq!(post(&app, &chief, json!({ "type": "chase_started" })).await.0, 200);
    let before = checked_log(&app).await.len();

    let cases: Vec<(String, Value, u16, &str, Option<&str>)> = vec![
        (
            chief.clone(),
            json!({ "type": "escalated", "about": { "kind": "resident", "resident_id": 1 }, "level": 1 }),
            400,
            "invalid_field",
            Some("events[0].type"),
        ),
        (chief.clone(), json!({ "type": "chase_started" }), 409, "chase_already_started", None),
        (
            chief.clone(),
            json!({ "type": "escalation_set", "minutes": 0, "call_up_minutes": 10 }),
            400,
            "invalid_field",
            Some("events[0].minutes"),
        ),
        (
            app.token_of(head.id),
            json!({ "type": "escalation_set", "minutes": 20, "call_up_minutes": 10 }),
            403,
            "forbidden",
            None,
        ),
        (
            app.token_of(head.id),
            json!({ "type": "households_handed", "households": [], "to": member.id }),
            400,
            "invalid_field",
            Some("events[0].households"),
        ),
        (
            app.token_of(head.id),
            json!({ "type": "households_handed", "households": [foreign_household], "to": member.id }),
            403,
            "out_of_your_scope",
            None,
        ),
        (
            app.token_of(head.id),
            json!({ "type": "households_handed", "households": [own_household], "to": operator.id }),
            400,
            "invalid_field",
            Some("to"),
        ),
        (
            app.token_of(head.id),
            json!({ "type": "households_handed", "households": [own_household], "to": 99_999 }),
            422,
            "unknown_staff",
            None,
        ),
        (
            app.token_of(member.id),
            json!({ "type": "households_handed", "households": [own_household], "to": member.id }),
            403,
            "forbidden",
            None,
        ),
        (
            app.token_of(head.id),
            json!({ "type": "area_signed_off", "node_id": other_head.nodes[0] }),
            403,
            "out_of_your_scope",
            None,
        ),
        (chief.clone(), json!({ "type": "area_signed_off", "node_id": 99_999 }), 422, "unknown_node", None),
    ];
    for (token, event, status, code, field) in cases {
        let (got, body) = post(&app, &token, event.clone()).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{event}: {body}");
        if let Some(field) = field {
            assert_eq!(body["field"], field, "{event}");
        }
        assert!(
            body["message"].as_str().is_some_and(|m| m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "{body}"
        );
    }
    assert_eq!(checked_log(&app).await.len(), before, "nothing was appended");
}
