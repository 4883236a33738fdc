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
