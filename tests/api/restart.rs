//! Restart: live state is a fold of the log, so it is the same after a restart.

use crate::helpers::spawn_app;
use muster::roster::Role;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn state_after_a_restart_equals_state_before() {
    let mut app = spawn_app().await;
    for r in 1..=40 {
        assert_eq!(app.scan(Uuid::now_v7(), r).await.status(), 201);
    }
    let r = app.record(Role::Chief, json!({ "type": "exemption_set", "resident_id": 41, "reason": "away" })).await;
    assert_eq!(r.status(), 200);
    let r = app.record(Role::Chief, json!({ "type": "correction", "target_seq": 5, "reason": "扫错人" })).await;
    assert_eq!(r.status(), 200);
    let before = app.snapshot().await;

    app.restart().await;
    let after = app.snapshot().await;
    assert_eq!(before, after);
    assert_eq!(after["totals"]["sampled"], 39);
    assert_eq!(after["totals"]["exempt"], 1);

    // And the log goes on from where it was.
    let next: serde_json::Value = app.scan(Uuid::now_v7(), 100).await.json().await.unwrap();
    assert_eq!(next["seq"], 44);
}
