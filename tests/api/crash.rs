//! Crash: kill -9 the server while 64 clients post scans; after a restart every scan that
//! was acknowledged is in the log, and the counts are a fold of the log.

use crate::helpers::{checked_log, samples_in, spawn_process};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn every_acknowledged_scan_survives_a_kill_9() {
    let mut app = spawn_process().await;
    let acked = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    // Acknowledged so far: a watch channel, so the test waits on the count itself.
    let count = Arc::new(tokio::sync::watch::Sender::new(0usize));
    let residents: Vec<(i64, i64, String)> =
        app.residents(2_676).into_iter().map(|r| (r, app.point_of(r), app.operator_of(app.point_of(r)))).collect();
    let (base, action) = (app.base.clone(), app.action_id);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let mine: Vec<(i64, i64, String)> = residents.iter().skip(i).step_by(64).cloned().collect();
            let (acked, count, base) = (acked.clone(), count.clone(), base.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for (resident, point, token) in mine {
                    let id = Uuid::now_v7();
                    let body = serde_json::json!({ "id": id, "resident_id": resident, "point_id": point });
                    match client
                        .post(format!("{base}/api/actions/{action}/scans"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => {
                            acked.lock().unwrap().push(id);
                            count.send_modify(|n| *n += 1);
                        }
                        Ok(r) => panic!("a scan was refused: {}", r.status()),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();

    // Kill once a good number of scans are in, with many more in flight.
    tokio::time::timeout(Duration::from_secs(60), count.subscribe().wait_for(|n| *n >= 600))
        .await
        .expect("600 scans acknowledged within 60 s")
        .expect("the count outlives the test");
    app.kill().await;
    for t in tasks {
        t.await.unwrap();
    }
    let acked: HashSet<Uuid> = acked.lock().unwrap().iter().copied().collect();
    assert!(acked.len() >= 600 && acked.len() < 2_676, "killed mid-load ({} acknowledged)", acked.len());

    app.start_process().await;
    let log = checked_log(&app).await;
    let logged: HashSet<Uuid> = log.iter().map(|e| e.new.client_id).collect();
    let lost: Vec<&Uuid> = acked.difference(&logged).collect();
    assert!(lost.is_empty(), "{} acknowledged scans are missing from the log", lost.len());
    let (samples, distinct) = samples_in(&log);
    let snap = app.snapshot().await;
    assert_eq!(snap["seq"].as_i64().unwrap(), log.len() as i64);
    assert_eq!(snap["totals"]["scans"].as_i64().unwrap(), samples as i64);
    assert_eq!(snap["totals"]["sampled"].as_i64().unwrap(), distinct as i64);
}
