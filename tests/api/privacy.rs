//! Personal data stays out of logs: run a whole (fast) drill with the most verbose logs,
//! import a roster with a new resident and a sheet with mistakes, then look for every
//! name, ID number and phone in everything the server wrote.

use muster::demo::village;
use muster::roster::IdNumber;
use muster::roster::import::{Format, export, write_sheet};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn no_name_id_number_or_phone_reaches_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    // The night at 2,000× speed: about seven seconds of real time.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["demo", "--db", &db, "--bind", "127.0.0.1:0", "--speed", "2000", "--seed", "11"])
        // The lines read below (`listening on`, `(admin)`, `drill finished`) in English.
        .env("MUSTER_LANG", "en")
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
    let printed = Arc::new(Mutex::new(String::new()));
    let out = tokio::spawn({
        let printed = printed.clone();
        async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let mut finished_tx = Some(finished_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let mut all = printed.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                if line.starts_with("drill finished")
                    && let Some(tx) = finished_tx.take()
                {
                    let _ = tx.send(());
                }
            }
        }
    });
    let err = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let finished = tokio::time::timeout(Duration::from_secs(120), finished).await;
    assert!(matches!(finished, Ok(Ok(()))), "the drill finishes within two minutes");
    let so_far = printed.lock().unwrap().clone();
    let imported = import_as_admin(&so_far).await;
    let pid = child.id().unwrap();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    out.await.unwrap();
    let errors = err.await.unwrap();
    let written = format!("{}\n{errors}", printed.lock().unwrap());
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
    for (what, name, id_number, phone) in &imported {
        if named(name) || digit_runs.contains(id_number.as_str()) || digit_runs.contains(phone.as_str()) {
            leaks.push(what.to_string());
        }
    }
    assert!(leaks.is_empty(), "personal data in the logs: {leaks:?}");
}

/// Signs in as the admin with the pairing link the demo printed, imports the village's
/// sheet with one new household (a resident with a phone), then a sheet with mistakes
/// that name a person. Returns the people those sheets named: (what, name, ID, phone).
async fn import_as_admin(printed: &str) -> Vec<(&'static str, String, String, String)> {
    let base = printed.lines().find_map(|l| l.strip_prefix("listening on ")).expect("the address").to_owned();
    let code = printed
        .lines()
        .find(|l| l.contains("(admin)"))
        .and_then(|l| l.split("code=").nth(1))
        .expect("an admin pairing link")
        .trim()
        .to_owned();
    let client = reqwest::Client::new();
    let paired: Value = client
        .post(format!("{base}/api/auth/pair"))
        .json(&json!({ "code": code, "device": "村委会电脑" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = paired["token"].as_str().expect("paired").to_owned();
    let import = |query: &str, body: Vec<u8>| {
        client.post(format!("{base}/api/roster/import?{query}")).bearer_auth(&token).body(body).send()
    };

    let newcomer = ("imported resident", "欧阳新来".to_owned(), id("11022819900303003"), "13987654321".to_owned());
    let mut sheet = export::export(&village::generate(11).roster);
    let col = |names: &[&str]| sheet.rows[0].iter().position(|h| names.contains(&h.as_str())).expect("a column");
    let (number, name, id_number, phone) =
        (col(&["户号"]), col(&["姓名"]), col(&["身份证号"]), col(&["联系电话", "手机号", "电话"]));
    let mut row = vec![String::new(); sheet.rows[0].len()];
    row[number] = "PRIV0001".into();
    row[name] = newcomer.1.clone();
    row[id_number] = newcomer.2.clone();
    row[phone] = newcomer.3.clone();
    sheet.rows.push(row);
    sheet.households.clear();
    let r = import("filename=花名册.xlsx", write_sheet(&sheet, Format::Xlsx).unwrap()).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let mistaken =
        ("resident of a sheet with mistakes", "司马错表".to_owned(), id("11011719700101007"), "13712345678".to_owned());
    let csv = format!(
        "花名册\n户号,网格,姓名,身份证号,联系电话\nX1,第1网格,{},{},{}\nX1,第1网格,,,\n",
        mistaken.1, mistaken.2, mistaken.3
    );
    let r = import("format=csv", csv.into_bytes()).await.unwrap();
    assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());

    // A sampling point's searches carry ID numbers and names in the query: none is logged.
    let action = client.get(format!("{base}/api/actions")).bearer_auth(&token).send().await.unwrap();
    let action = action.json::<Value>().await.unwrap()[0]["id"].as_i64().expect("the demo's action");
    let roster = village::generate(11).roster;
    let someone = &roster.residents[7];
    let wrong_check = format!("{}0", &someone.id_number.expose()[..17]);
    for q in [someone.id_number.expose(), &someone.name, &someone.id_number.expose()[12..], &wrong_check] {
        let url = reqwest::Url::parse_with_params(&format!("{base}/api/actions/{action}/lookup"), [("q", q)]).unwrap();
        let r = client.get(url).bearer_auth(&token);
        assert!(r.send().await.unwrap().status().as_u16() < 500);
    }
    vec![newcomer, mistaken]
}

/// A valid ID number from its first 17 digits.
fn id(body: &str) -> String {
    IdNumber::from_body(body).unwrap().expose().to_owned()
}
