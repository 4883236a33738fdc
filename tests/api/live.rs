//! Live push: a snapshot, then deltas that add up to the final state; a subscriber that
//! comes back with `after` gets exactly what it missed.

use crate::helpers::{Socket, TestApp, next_message, spawn_app};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// Counts a client would hold: totals and per-point counts.
#[derive(Debug, Default, PartialEq, Clone)]
struct Held {
    seq: i64,
    sampled: i64,
    missing: i64,
    scans: i64,
    points: BTreeMap<String, i64>,
    nodes: BTreeMap<String, i64>,
}

impl Held {
    fn from_snapshot(s: &Value) -> Self {
        Held {
            seq: s["seq"].as_i64().unwrap(),
            sampled: s["totals"]["sampled"].as_i64().unwrap(),
            missing: s["totals"]["missing"].as_i64().unwrap(),
            scans: s["totals"]["scans"].as_i64().unwrap(),
            points: s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["id"].to_string(), p["count"].as_i64().unwrap()))
                .collect(),
            nodes: s["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| (n["id"].to_string(), n["sampled"].as_i64().unwrap()))
                .collect(),
        }
    }

    fn apply(&mut self, d: &Value) {
        assert_eq!(d["type"], "delta");
        assert_eq!(d["from"].as_i64().unwrap(), self.seq, "a delta starts where the last one ended");
        self.seq = d["to"].as_i64().unwrap();
        self.sampled += d["totals"]["sampled"].as_i64().unwrap();
        self.missing += d["totals"]["missing"].as_i64().unwrap();
        self.scans += d["totals"]["scans"].as_i64().unwrap();
        for (id, by) in d["points"].as_object().unwrap() {
            // A count that did not move is left out.
            *self.points.get_mut(id).expect("a known point") += by["count"].as_i64().unwrap_or(0);
        }
        for (id, by) in d["nodes"].as_object().unwrap() {
            *self.nodes.get_mut(id).expect("a known node") += by["sampled"].as_i64().unwrap_or(0);
        }
    }
}

async fn scan_many(app: &Arc<TestApp>, residents: Vec<i64>) {
    let tasks: Vec<_> = residents
        .chunks(10)
        .map(|c| {
            let (app, c) = (app.clone(), c.to_vec());
            tokio::spawn(async move {
                for r in c {
                    assert_eq!(app.scan(Uuid::now_v7(), r).await.status(), 201);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

async fn follow_until(socket: &mut Socket, held: &mut Held, seq: i64) -> usize {
    let mut messages = 0;
    while held.seq < seq {
        held.apply(&next_message(socket).await);
        messages += 1;
    }
    messages
}

#[tokio::test]
async fn a_subscriber_gets_a_snapshot_then_deltas_that_sum_to_the_final_counts() {
    let app = Arc::new(spawn_app().await);
    let mut socket = app.connect(None).await;
    let first = next_message(&mut socket).await;
    assert_eq!(first["type"], "snapshot");
    let mut held = Held::from_snapshot(&first);
    assert_eq!((held.seq, held.sampled, held.missing), (1, 0, 2676));

    scan_many(&app, (1..=300).collect()).await;
    let messages = follow_until(&mut socket, &mut held, 301).await;
    assert_eq!(held, Held::from_snapshot(&app.snapshot().await));
    assert_eq!(held.sampled, 300);
    assert!(messages < 300, "updates are coalesced ({messages} messages for 300 scans)");
}

#[tokio::test]
async fn a_subscriber_resuming_after_a_position_misses_nothing_and_gets_nothing_twice() {
    let app = Arc::new(spawn_app().await);
    let mut socket = app.connect(None).await;
    let mut held = Held::from_snapshot(&next_message(&mut socket).await);
    scan_many(&app, (1..=50).collect()).await;
    follow_until(&mut socket, &mut held, 51).await;
    drop(socket);

    // While disconnected: 120 more scans.
    scan_many(&app, (51..=170).collect()).await;
    let mut socket = app.connect(Some(held.seq)).await;
    let resumed = next_message(&mut socket).await;
    assert_eq!(resumed["type"], "delta", "a recent position resumes with a delta");
    assert_eq!((resumed["from"].as_i64(), resumed["to"].as_i64()), (Some(51), Some(171)));
    held.apply(&resumed);
    assert_eq!(held, Held::from_snapshot(&app.snapshot().await));
    assert_eq!(held.sampled, 170);
}

#[tokio::test]
async fn a_subscriber_with_an_unknown_position_gets_a_fresh_snapshot() {
    let app = spawn_app().await;
    let mut socket = app.connect(Some(999_999)).await;
    let msg = next_message(&mut socket).await;
    assert_eq!(msg["type"], "snapshot");
    assert_eq!(msg["seq"], 1);
}

/// A staff member's live feed (the token in the query, as pages send it).
async fn connect_as(app: &TestApp, token: &str) -> Socket {
    let url = format!("ws://{}/api/actions/{}/live?token={token}", app.addr, app.action_id);
    tokio_tungstenite::connect_async(url).await.expect("the WebSocket connects").0
}

fn timeline_sum(s: &Value) -> i64 {
    s["timeline"].as_array().unwrap().iter().map(|m| m[1].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn a_grid_members_view_counts_their_grids_scans_and_an_operators_their_points() {
    use muster::roster::Role;
    let app = Arc::new(spawn_app().await);
    let roster = &app.roster;
    let member = roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let grid = roster.node_idx(member.nodes[0]).unwrap();
    let in_grid = |i: usize| roster.ancestors(roster.resident_node_idx(i)).contains(&grid);
    let ids = |f: &dyn Fn(usize) -> bool| -> Vec<i64> {
        roster.residents().iter().enumerate().filter(|(i, _)| f(*i)).map(|(_, r)| r.id).collect()
    };
    let (mine, others) = (ids(&in_grid)[..5].to_vec(), ids(&|i| !in_grid(i)));
    let point = app.point_of(mine[0]);
    let theirs = |id: &i64| app.point_of(*id) == point;
    let elsewhere: Vec<i64> = others.iter().copied().filter(|id| !theirs(id)).take(20).collect();
    let same_point: Vec<i64> = others.iter().copied().filter(|id| theirs(id)).take(7).collect();
    scan_many(&app, [&mine[..3], &elsewhere[..], &same_point[..]].concat()).await;

    let token = app.token_of(member.id);
    let mut socket = connect_as(&app, &token).await;
    let first = next_message(&mut socket).await;
    assert_eq!(first["totals"]["sampled"], 3);
    assert_eq!(first["totals"]["scans"], 3, "the grid's scans, not 0 and not the village's 30");
    assert_eq!(timeline_sum(&first), 3, "the grid's curve");
    assert_eq!(first["pace"]["rate_15"], 3.0 / 15.0, "the grid's rate");
    assert!(first["pace"]["eta"].is_string(), "an ETA for the grid's missing at the grid's rate");
    let mut held = Held::from_snapshot(&first);

    // Two more of the grid's residents and two others: the grid's feed counts its two.
    scan_many(&app, [&mine[3..5], &elsewhere[..2]].concat()).await;
    let seq = app.snapshot().await["seq"].as_i64().unwrap();
    let mut timeline = timeline_sum(&first);
    while held.seq < seq {
        let d = next_message(&mut socket).await;
        timeline += d["timeline"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum::<i64>();
        held.apply(&d);
    }
    assert_eq!((held.sampled, held.scans, timeline), (5, 5, 5));
    let now: Value = app.get_json(&format!("/api/actions/{}", app.action_id), &token).await;
    assert_eq!((now["totals"]["scans"].as_i64(), timeline_sum(&now)), (Some(5), 5));

    // The operator of the grid's point: their point's samples, rate and nothing else.
    let view: Value = app.get_json(&format!("/api/actions/{}", app.action_id), &app.operator_of(point)).await;
    let at_point = 5 + same_point.len() as i64;
    assert_eq!(view["points"].as_array().unwrap().len(), 1);
    assert_eq!(view["points"][0]["count"].as_i64(), Some(at_point));
    assert_eq!(view["totals"]["scans"].as_i64(), Some(at_point), "an operator's scans are their point's");
    assert_eq!(timeline_sum(&view), at_point);
    assert_eq!(view["pace"]["rate_15"], at_point as f64 / 15.0);
    let paces = view["pace"]["points"].as_object().unwrap();
    assert_eq!(paces.keys().collect::<Vec<_>>(), [&point.to_string()]);
    assert!(paces[&point.to_string()]["last_scan_at"].is_string());
}
