//! Personal data stays out of logs: run a whole (fast) drill with the most verbose logs,
//! then look for every roster name, ID number and phone in everything the server wrote.

use muster::demo::village;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn no_name_id_number_or_phone_reaches_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    // The night at 2,000× speed: about seven seconds of real time.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["demo", "--db", &db, "--bind", "127.0.0.1:0", "--speed", "2000", "--seed", "11"])
        // Debug for everything that could see personal data; the HTTP client and connection
        // pool internals only log addresses, and at debug they slow the run tenfold.
        .env("RUST_LOG", "debug,hyper=info,hyper_util=info,reqwest=info,h2=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s).await;
        s
    });
    let err = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    // Wait for the drill's own report that it finished, then stop the server.
    let finished = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let sqlite = dir.path().join("demo.db");
            if !sqlite.exists() {
                continue;
            }
            let store = muster::store::open(&db).await.unwrap();
            let Some(action) = store.actions().await.unwrap().into_iter().next() else { continue };
            let log = store.read_events(action.id, 0, 100_000).await.unwrap();
            if log.iter().any(|e| matches!(e.new.body, muster::action::EventBody::ActionClosed)) {
                return;
            }
        }
    })
    .await;
    assert!(finished.is_ok(), "the drill closes the action within two minutes");
    let pid = child.id().unwrap();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let written = format!("{}\n{}", out.await.unwrap(), err.await.unwrap());
    assert!(written.lines().count() > 20, "the server did log (debug level)");

    let roster = village::generate(11).roster;
    let mut leaks = Vec::new();
    for r in &roster.residents {
        for secret in [
            Some(r.name.clone()),
            Some(r.id_number.expose().to_owned()),
            r.phone.as_ref().map(|p| p.expose().to_owned()),
        ]
        .into_iter()
        .flatten()
        {
            if written.contains(&secret) {
                leaks.push(format!("resident {}", r.id));
            }
        }
    }
    for s in &roster.staff {
        if written.contains(&s.name) || s.phone.as_ref().is_some_and(|p| written.contains(p.expose())) {
            leaks.push(format!("staff {}", s.id));
        }
    }
    assert!(leaks.is_empty(), "personal data in the logs: {leaks:?}");
}
