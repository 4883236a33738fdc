//! Personal data stays out of logs: run a whole (fast) drill with the most verbose logs,
//! then look for every roster name, ID number and phone in everything the server wrote.

use muster::demo::village;
use std::collections::HashSet;
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
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Stdout line by line, until the drill reports that it has played the whole night.
    let (finished_tx, finished) = tokio::sync::oneshot::channel();
    let out = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut all = String::new();
        let mut finished_tx = Some(finished_tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("drill finished")
                && let Some(tx) = finished_tx.take()
            {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let err = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let finished = tokio::time::timeout(Duration::from_secs(120), finished).await;
    assert!(matches!(finished, Ok(Ok(()))), "the drill finishes within two minutes");
    let pid = child.id().unwrap();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let written = format!("{}\n{}", out.await.unwrap(), err.await.unwrap());
    assert!(written.lines().count() > 20, "the server did log (debug level)");

    // Index what was written once: its runs of digits (an ID number may end in X) and of
    // Chinese characters; then look each secret up in those, not in megabytes of text.
    let mut digit_runs = HashSet::new();
    let mut han_runs = HashSet::new();
    let (mut digits, mut han) = (String::new(), String::new());
    for c in written.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == 'X' && !digits.is_empty()) {
            digits.push(c);
        } else if !digits.is_empty() {
            digit_runs.insert(std::mem::take(&mut digits));
        }
        if !c.is_ascii() {
            han.push(c);
        } else if !han.is_empty() {
            han_runs.insert(std::mem::take(&mut han));
        }
    }
    let named = |name: &str| han_runs.iter().any(|run| run.contains(name));
    let roster = village::generate(11).roster;
    let mut leaks = Vec::new();
    for r in &roster.residents {
        let phone = r.phone.as_ref().is_some_and(|p| digit_runs.contains(p.expose()));
        if named(&r.name) || digit_runs.contains(r.id_number.expose()) || phone {
            leaks.push(format!("resident {}", r.id));
        }
    }
    for s in &roster.staff {
        if named(&s.name) || s.phone.as_ref().is_some_and(|p| digit_runs.contains(p.expose())) {
            leaks.push(format!("staff {}", s.id));
        }
    }
    assert!(leaks.is_empty(), "personal data in the logs: {leaks:?}");
}
