//! Recording: every acknowledged event is in the log once, whatever the retries.

use crate::helpers::spawn_app;
use muster::roster::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

#[tokio::test]
async fn a_scan_sent_twice_is_recorded_once_and_answered_the_same() {
    let app = spawn_app().await;
    let id = Uuid::now_v7();
    let first = app.scan(id, 1).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let second = app.scan(id, 1).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["seq"], 2);
    assert_eq!(second["seq"], 2);
    assert_eq!((first["status"].as_str(), second["status"].as_str()), (Some("new"), Some("repeat")));
    let snap = app.snapshot().await;
    assert_eq!(snap["seq"], 2);
    assert_eq!(snap["totals"]["sampled"], 1);
    assert_eq!(snap["totals"]["scans"], 1);
}

#[tokio::test]
async fn a_scan_resent_after_a_restart_and_the_close_is_answered_as_the_repeat_it_is() {
    // After a restart the writer knows recorded ids from a scan of the log; a resent scan
    // must be found there, not checked as new (which a closed action would refuse).
    let mut app = spawn_app().await;
    let (early, late) = (Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(app.scan(early, 1).await.status(), 201);
    app.restart().await;
    assert_eq!(app.scan(late, 2).await.status(), 201);
    assert_eq!(app.record(Role::Chief, json!({ "type": "action_closed" })).await.status(), 200);
    for (id, resident, seq) in [(early, 1, 2), (late, 2, 3)] {
        let again = app.scan(id, resident).await;
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!((again["status"].as_str(), again["seq"].as_i64()), (Some("repeat"), Some(seq)));
    }
    let snap = app.snapshot().await;
    assert_eq!((snap["seq"].as_i64(), snap["totals"]["scans"].as_i64()), (Some(4), Some(2)));
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn an_id_sent_again_with_another_body_is_refused_and_records_nothing() {
    let app = spawn_app().await;
    // The village's home-visit team may record samples at any point.
    let medic = app.token(Role::Medic);
    let scan = |id: Uuid, r: i64| app.scan_as(&medic, id, r, app.point_of(r));
    let id = Uuid::now_v7();
    let first: Value = scan(id, 1).await.json().await.unwrap();
    assert_eq!((first["status"].as_str(), first["seq"].as_i64()), (Some("new"), Some(2)));

    // The same id for another resident: across requests, the log's event is compared.
    let other = scan(id, 2).await;
    assert_eq!(other.status(), 409);
    let other: Value = other.json().await.unwrap();
    assert_eq!((other["code"].as_str(), other["index"].as_i64()), (Some("event_id_reused"), Some(0)));
    // The very same scan is still its repeat.
    let again = scan(id, 1).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!((again["status"].as_str(), again["seq"].as_i64()), (Some("repeat"), Some(2)));

    // In one batch: the second copy of an id with another body refuses the whole batch.
    let sampled = |id: Uuid, r: i64| json!({ "id": id, "type": "resident_sampled", "resident_id": r, "point_id": app.point_of(r) });
    let reused = Uuid::now_v7();
    let batch = json!({ "events": [sampled(Uuid::now_v7(), 3), sampled(reused, 4), sampled(reused, 5)] });
    let refused = app.post_events(&medic, batch).await;
    assert_eq!(refused.status(), 409);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!((refused["code"].as_str(), refused["index"].as_i64()), (Some("event_id_reused"), Some(2)));
    // Two copies of the same event in one batch are one event and its repeat.
    let batch = json!({ "events": [sampled(reused, 4), sampled(reused, 4)] });
    let twice: Value = app.post_events(&medic, batch).await.json().await.unwrap();
    let results: Vec<(&str, i64)> = twice["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["seq"].as_i64().unwrap()))
        .collect();
    assert_eq!(results, vec![("new", 3), ("repeat", 3)]);

    // A device time is part of the event: a resend carries the one it was queued with.
    let queued = Uuid::now_v7();
    let at = |t: time::OffsetDateTime| {
        let mut e = sampled(queued, 6);
        e["device_time"] = json!(rfc3339(t));
        json!({ "events": [e] })
    };
    let when = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let result = |v: &Value| (v["results"][0]["status"].as_str().map(String::from), v["results"][0]["seq"].as_i64());
    let sent: Value = app.post_events(&medic, at(when)).await.json().await.unwrap();
    assert_eq!(result(&sent), (Some("new".into()), Some(4)));
    let resent: Value = app.post_events(&medic, at(when)).await.json().await.unwrap();
    assert_eq!(result(&resent), (Some("repeat".into()), Some(4)));
    let retimed = app.post_events(&medic, at(when + time::Duration::seconds(1))).await;
    assert_eq!(retimed.status(), 409);

    let snap = app.snapshot().await;
    assert_eq!((snap["seq"].as_i64(), snap["totals"]["sampled"].as_i64()), (Some(4), Some(3)), "{snap}");
    let log = crate::helpers::checked_log(&app).await;
    assert_eq!(crate::helpers::samples_in(&log), (3, 3), "residents 1, 4 and 6; nothing under a reused id");
}

#[tokio::test]
async fn fifty_concurrent_copies_of_one_scan_make_one_event() {
    let app = Arc::new(spawn_app().await);
    let id = Uuid::now_v7();
    let copies: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let r = app.scan(id, 7).await;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                (status, body["seq"].as_i64().unwrap(), body["status"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for c in copies {
        answers.push(c.await.unwrap());
    }
    assert_eq!(answers.iter().filter(|a| a.2 == "new").count(), 1);
    assert_eq!(answers.iter().filter(|a| a.2 == "repeat" && a.0 == 200).count(), 49);
    assert!(answers.iter().all(|a| a.1 == 2), "every copy gets the first answer's position");
    let snap = app.snapshot().await;
    assert_eq!((snap["seq"].as_i64(), snap["totals"]["scans"].as_i64()), (Some(2), Some(1)));
}

#[tokio::test]
async fn a_batch_from_an_offline_queue_sent_twice_changes_nothing_the_second_time() {
    let app = spawn_app().await;
    let an_hour_ago = rfc3339(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    let events: Vec<Value> = (1..=5)
        .map(|r| {
            json!({ "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": r, "point_id": app.point_of(r),
                         "device_time": an_hour_ago })
        })
        .collect();
    // The village's home-visit team may record samples at any point.
    let token = app.token(Role::Medic);
    let first: Value = app.post_events(&token, json!({ "events": events })).await.json().await.unwrap();
    let again: Value = app.post_events(&token, json!({ "events": events })).await.json().await.unwrap();
    let seqs = |v: &Value, status: &str| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|r| assert_eq!(r["status"], status))
            .map(|r| r["seq"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(seqs(&first, "new"), vec![2, 3, 4, 5, 6]);
    assert_eq!(seqs(&again, "repeat"), vec![2, 3, 4, 5, 6]);
    assert_eq!(app.snapshot().await["totals"]["sampled"], 5);
}

#[tokio::test]
async fn two_thousand_scans_from_64_tasks_give_exact_counts_per_point_and_grid() {
    let app = Arc::new(spawn_app().await);
    let residents = app.residents(2_000);
    let chunks: Vec<Vec<i64>> = (0..64).map(|i| residents.iter().skip(i).step_by(64).copied().collect()).collect();
    assert_eq!(chunks.len(), 64);
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let app = app.clone();
            tokio::spawn(async move {
                for r in chunk {
                    assert_eq!(app.scan(Uuid::now_v7(), r).await.status(), 201);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    let mut per_point: BTreeMap<i64, i64> = BTreeMap::new();
    let mut per_node: BTreeMap<i64, i64> = BTreeMap::new();
    for &r in &residents {
        *per_point.entry(app.point_of(r)).or_default() += 1;
        let idx = app.roster.resident_idx(r).unwrap();
        for &a in app.roster.ancestors(app.roster.resident_node_idx(idx)) {
            *per_node.entry(app.roster.nodes()[a].id).or_default() += 1;
        }
    }
    let snap = app.snapshot().await;
    assert_eq!(snap["seq"], 2_001);
    assert_eq!(snap["totals"]["sampled"], 2_000);
    assert_eq!(snap["totals"]["missing"], 676);
    let points: BTreeMap<i64, i64> = snap["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["count"].as_i64().unwrap()))
        .filter(|(_, c)| *c > 0)
        .collect();
    assert_eq!(points, per_point);
    let nodes: BTreeMap<i64, i64> = snap["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_i64().unwrap(), n["sampled"].as_i64().unwrap()))
        .filter(|(_, c)| *c > 0)
        .collect();
    assert_eq!(nodes, per_node);
    assert_eq!(nodes[&1], 2_000, "the village root counts everyone");
}

#[tokio::test]
async fn a_correction_undoes_a_sample_and_exemptions_are_counted_apart() {
    let app = spawn_app().await;
    let scanned: Value = app.scan(Uuid::now_v7(), 3).await.json().await.unwrap();
    let seq = scanned["seq"].as_i64().unwrap();
    let r = app.record(Role::Operator, json!({ "type": "correction", "target_seq": seq, "reason": "扫错人" })).await;
    assert_eq!(r.status(), 200);
    let again = app.record(Role::Operator, json!({ "type": "correction", "target_seq": seq, "reason": "again" })).await;
    assert_eq!(again.status(), 409, "a sample is corrected once");
    let r = app.record(Role::GridMember, json!({ "type": "exemption_set", "resident_id": 4, "reason": "away" })).await;
    assert_eq!(r.status(), 200);
    let snap = app.snapshot().await;
    assert_eq!(snap["totals"], json!({ "target": 2676, "sampled": 0, "exempt": 1, "missing": 2675, "scans": 0 }));
}
