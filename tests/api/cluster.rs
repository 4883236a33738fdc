//! Several nodes on one PostgreSQL database: the same answers as one node. These tests
//! always run on PostgreSQL, whichever backend the rest of the suite uses.

use crate::helpers::{Node, TestApp, checked_log, missing_of, next_message, samples_in, spawn_on_postgres};
use muster::roster::Role;
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Posts a scan to `base`, retrying with the same id while the answer is a 5xx or lost,
/// as a sampling point's phone does. Returns whether it was acknowledged.
async fn scan_with_retries(client: &reqwest::Client, base: &str, action: i64, token: &str, body: &Value) -> bool {
    for _ in 0..60 {
        match client.post(format!("{base}/api/actions/{action}/scans")).bearer_auth(token).json(body).send().await {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) if r.status().is_client_error() => panic!("a scan was refused: {}", r.status()),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    false
}

/// Waits until a node's live state has folded the whole log, then returns its snapshot.
async fn converged(app: &TestApp, addr: std::net::SocketAddr, seq: i64) -> Value {
    // The node's own live feed says when it has folded up to `seq`.
    let mut socket = app.connect_at(addr, None).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = next_message(&mut socket).await;
            if m["seq"].as_i64().or(m["to"].as_i64()) >= Some(seq) {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{addr} did not reach position {seq} within 10 s"));
    app.snapshot_at(&format!("http://{addr}")).await
}

#[tokio::test]
async fn two_nodes_on_one_database_agree_with_each_other_and_with_the_log() {
    let app = Arc::new(spawn_on_postgres().await);
    let b = Node::start(&app.db_url).await;
    let bases = [app.base.clone(), b.base.clone()];
    let mut sockets = [app.connect_at(app.addr, None).await, app.connect_at(b.addr, None).await];
    for s in &mut sockets {
        assert_eq!(next_message(s).await["type"], "snapshot");
    }

    // 4,000 distinct scans (everyone once, then 1,324 re-samples); 1,000 of them are sent
    // to both nodes at once, as a phone that retries on another node would: 5,000 requests.
    let residents = app.residents(2_676);
    let scans: Vec<(i64, Uuid)> = (0..4_000).map(|i| (residents[i % residents.len()], Uuid::now_v7())).collect();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let mine: Vec<(usize, i64, Uuid)> =
                scans.iter().enumerate().skip(t).step_by(64).map(|(i, (r, id))| (i, *r, *id)).collect();
            let (app, bases) = (app.clone(), bases.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for (i, resident, id) in mine {
                    let body = json!({ "id": id, "resident_id": resident, "point_id": app.point_of(resident) });
                    let token = app.operator_of(app.point_of(resident));
                    let targets: &[&String] = if i % 4 == 0 { &[&bases[0], &bases[1]] } else { &[&bases[i % 2]] };
                    let sent =
                        targets.iter().map(|base| scan_with_retries(&client, base, app.action_id, &token, &body));
                    for ok in futures_util::future::join_all(sent).await {
                        assert!(ok, "scan acknowledged");
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    let log = checked_log(&app).await;
    assert_eq!(log.len(), 4_001, "the opening and 4,000 scans, each once");
    let (samples, distinct) = samples_in(&log);
    assert_eq!((samples, distinct), (4_000, 2_676));
    let on_a = converged(&app, app.addr, 4_001).await;
    let on_b = converged(&app, b.addr, 4_001).await;
    assert_eq!(on_a, on_b, "both nodes hold the same state");
    assert_eq!(on_a["totals"]["sampled"], 2_676);
    assert_eq!(on_a["totals"]["scans"], 4_000);

    // Each node's WebSocket subscribers reach the same final counts.
    for s in &mut sockets {
        let mut sampled = 0;
        let mut seq = 1;
        while seq < 4_001 {
            let m = next_message(s).await;
            assert_eq!(m["from"], seq, "no gap, no repeat");
            sampled += m["totals"]["sampled"].as_i64().unwrap();
            seq = m["to"].as_i64().unwrap();
        }
        assert_eq!(sampled, 2_676);
    }
    b.kill().await;
}

/// Runs `sql` against the test's database server as the superuser.
async fn admin(sql: String) {
    let mut c = sqlx::postgres::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
}

fn database_name(app: &TestApp) -> String {
    app.db_url.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn cutting_the_nodes_database_connections_mid_load_loses_nothing_and_doubles_nothing() {
    let app = Arc::new(spawn_on_postgres().await);
    let b = Node::start(&app.db_url).await;
    let bases = [app.base.clone(), b.base.clone()];
    let acked = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    // Acknowledged so far: a watch channel, so the test waits on the count itself.
    let count = Arc::new(tokio::sync::watch::Sender::new(0usize));
    let residents = app.residents(2_000);
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let mine: Vec<i64> = residents.iter().skip(t).step_by(64).copied().collect();
            let (app, bases, acked, count) = (app.clone(), bases.clone(), acked.clone(), count.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for (k, resident) in mine.into_iter().enumerate() {
                    let id = Uuid::now_v7();
                    let body = json!({ "id": id, "resident_id": resident, "point_id": app.point_of(resident) });
                    let token = app.operator_of(app.point_of(resident));
                    if scan_with_retries(&client, &bases[(t + k) % 2], app.action_id, &token, &body).await {
                        acked.lock().unwrap().push(id);
                        count.send_modify(|n| *n += 1);
                    }
                }
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(60), count.subscribe().wait_for(|n| *n >= 400))
        .await
        .expect("400 scans acknowledged within 60 s")
        .expect("the count outlives the test");
    // Every connection of both nodes to this database, the listeners included.
    admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        database_name(&app)
    ))
    .await;
    for t in tasks {
        t.await.unwrap();
    }

    let acked: HashSet<Uuid> = acked.lock().unwrap().iter().copied().collect();
    assert_eq!(acked.len(), 2_000, "every scan was acknowledged in the end");
    let log = checked_log(&app).await;
    let logged: HashSet<Uuid> = log.iter().map(|e| e.new.client_id).collect();
    assert!(acked.is_subset(&logged), "every acknowledged scan is in the log");
    assert_eq!(log.len(), 2_001);
    let on_a = converged(&app, app.addr, 2_001).await;
    let on_b = converged(&app, b.addr, 2_001).await;
    assert_eq!(on_a, on_b);
    assert_eq!(on_a["totals"]["sampled"], 2_000);
    b.kill().await;
}

#[tokio::test]
async fn while_the_database_is_down_writes_get_503_reads_keep_serving_and_the_node_recovers() {
    let app = spawn_on_postgres().await;
    assert_eq!(app.scan(Uuid::now_v7(), 1).await.status(), 201);
    let name = database_name(&app);
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).await;

    let id = Uuid::now_v7();
    let refused = app.scan(id, 2).await;
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "storage_unavailable");
    let snap = app.snapshot().await;
    assert_eq!(snap["totals"]["sampled"], 1, "live state is still served");

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let again = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let r = app.scan(id, 2).await;
            if r.status() != 503 {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the node recovers within 30 s");
    assert_eq!(again.status(), 201, "the same scan, retried, is recorded once");
    assert_eq!(app.snapshot().await["totals"]["sampled"], 2);
    assert_eq!(checked_log(&app).await.len(), 3);
}

#[tokio::test]
async fn a_staff_change_on_one_node_takes_effect_on_the_others_at_once() {
    let app = spawn_on_postgres().await;
    let b = Node::start(&app.db_url).await;
    let members: Vec<_> = app.roster.staff().iter().filter(|s| s.role == Role::GridMember).cloned().collect();
    let (member, other_grid) = (&members[0], members[5].nodes[0]);
    let me_on_b = || async {
        let url = format!("{}/api/me", b.base);
        let r = app.client.get(url).bearer_auth(app.token_of(member.id)).send().await.unwrap();
        r.json::<Value>().await.unwrap()
    };
    assert_eq!(me_on_b().await["nodes"], json!(member.nodes), "node B has served this member once");

    let changed = app.patch_staff(&app.token(Role::Chief), member.id, json!({ "nodes": [other_grid] })).await;
    assert_eq!(changed.status(), 200);

    // Node B hears of it (no restart) and checks the member against the new area.
    tokio::time::timeout(Duration::from_secs(5), async {
        while me_on_b().await["nodes"] != json!([other_grid]) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("node B uses the changed roster within 5 s");
    let (on_a, on_b) = (app.snapshot().await, app.snapshot_at(&b.base).await);
    assert_eq!(
        missing_of(&on_b, member.id),
        missing_of(&on_a, member.id),
        "both nodes send the grid's missing residents to the same person"
    );
}
