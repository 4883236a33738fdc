//! PostgreSQL out of reach: a write is answered `503 storage_unavailable` within about a
//! second, nothing is recorded, and the server recovers by itself. The database is cut
//! off by a TCP relay between server and PostgreSQL (the machine's PostgreSQL itself keeps
//! serving the other tests): a cut relay drops every connection and leaves new ones
//! hanging unanswered, as an unreachable host does. Always on PostgreSQL, like `cluster`.

use crate::helpers::spawn_on_postgres_in_process;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use uuid::Uuid;

/// A relay to PostgreSQL that can be cut and restored.
struct Relay {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl Relay {
    async fn start(to: &'static str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            let mut links = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (mut client, _) = accepted.unwrap();
                        if !up2.load(Ordering::SeqCst) {
                            // Unreachable: hold the connection and answer nothing.
                            links.spawn(async move { std::future::pending::<()>().await; drop(client) });
                            continue;
                        }
                        links.spawn(async move {
                            let Ok(mut server) = TcpStream::connect(to).await else { return };
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        });
                    }
                    _ = cut2.notified() => links.abort_all(),
                }
            }
        });
        Relay { addr, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_one();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
        self.cut.notify_one();
    }
}

#[tokio::test]
async fn a_write_with_postgres_unreachable_is_answered_503_within_a_second_and_the_server_recovers() {
    let relay = Relay::start("127.0.0.1:5432").await;
    let mut app = spawn_on_postgres_in_process(|url| url.replace("127.0.0.1:5432", &relay.addr.to_string())).await;
    assert_eq!(app.scan(Uuid::now_v7(), 1).await.status(), 201);
    let before = app.snapshot().await;

    relay.cut();
    let started = Instant::now();
    let refused = app.scan(Uuid::now_v7(), 2).await;
    let waited = started.elapsed();
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "storage_unavailable");
    assert!(waited < Duration::from_millis(2_500), "answered after {waited:?}");
    assert_eq!(app.snapshot().await, before, "live state is still served, and nothing was recorded");
    // Writes outside the log (planning an action) are told the same.
    let started = Instant::now();
    let plan = serde_json::json!({ "kind": "testing", "name": "第2轮", "scope": [1], "points": [1] });
    let chief = app.token(muster::roster::Role::Chief);
    let planned = app.client.post(format!("{}/api/actions", app.base)).bearer_auth(chief).json(&plan).send().await;
    let planned = planned.unwrap();
    assert_eq!((planned.status().as_u16(), started.elapsed() < Duration::from_millis(2_500)), (503, true));

    // Restoring drops every held connection, so the pool's dead ones fail fast and are
    // replaced: the phone's retries (same id, each waiting on its answer) get through
    // within a few tries.
    relay.restore();
    let retried = Uuid::now_v7();
    let recovered = tokio::time::timeout(Duration::from_secs(15), async {
        for _ in 0..10 {
            let r = app.scan(retried, 2).await;
            if r.status() != 503 {
                return Some(r.status());
            }
        }
        None
    })
    .await
    .expect("the server answers within 15 s");
    assert_eq!(recovered, Some(reqwest::StatusCode::CREATED), "recovered within 10 retries");
    app.use_direct_database();
    let log = crate::helpers::checked_log(&app).await;
    assert_eq!(crate::helpers::samples_in(&log), (2, 2));
}
