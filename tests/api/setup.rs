//! A village from zero: an empty database, the first admin (from the link `muster serve`
//! prints, or from `muster admin create` in the shell), and pairing links from the shell.

use crate::helpers::{Database, Node, code_in};
use serde_json::{Value, json};

/// `muster ARGS…` on the real binary; its standard output, which must say it succeeded.
async fn muster(args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster")).args(args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "muster {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(format!("{base}{path}")).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn me(base: &str, token: &str) -> Value {
    let r = reqwest::Client::new().get(format!("{base}/api/me")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_new_database_prints_a_setup_link_that_makes_the_first_admin_once() {
    let db = Database::fresh().await;
    let node = Node::start(&db.url).await;
    let link = node.setup_link.clone().expect("a database with no admin prints a setup link");
    let code = code_in(&link, "setup.html");
    let setup = |code: &str, phone: &str| json!({ "code": code, "name": "王建国", "phone": phone, "device": "laptop" });

    let (status, body) = post(&node.base, "/api/auth/setup", setup(&code, "1380000")).await;
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (400, Some("invalid_field"), Some("phone")));
    let (status, body) = post(&node.base, "/api/auth/setup", setup("ZZZZ-ZZZZ", "13800001111")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("pairing_code_invalid")));

    let (status, body) = post(&node.base, "/api/auth/setup", setup(&code.to_lowercase(), "13800001111")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["staff"]["role"], "admin");
    let me = me(&node.base, body["token"].as_str().unwrap()).await;
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("王建国"), Some("admin")));

    // Used once; and once an admin exists, a restart prints no new link.
    let (status, _) = post(&node.base, "/api/auth/setup", setup(&code, "13800002222")).await;
    assert_eq!(status, 401);
    node.kill().await;
    let again = Node::start(&db.url).await;
    assert_eq!(again.setup_link, None);
}

#[tokio::test]
async fn each_start_without_an_admin_replaces_the_setup_link() {
    let db = Database::fresh().await;
    let first = Node::start(&db.url).await;
    let old = code_in(first.setup_link.as_deref().unwrap(), "setup.html");
    first.kill().await;
    let second = Node::start(&db.url).await;
    let new = code_in(second.setup_link.as_deref().unwrap(), "setup.html");
    assert_ne!(old, new);
    let body = json!({ "code": old, "name": "王建国", "phone": "13800001111" });
    assert_eq!(post(&second.base, "/api/auth/setup", body).await.0, 401);
    let body = json!({ "code": new, "name": "王建国", "phone": "13800001111" });
    assert_eq!(post(&second.base, "/api/auth/setup", body).await.0, 200);
}

#[tokio::test]
async fn the_shell_makes_an_admin_and_pairing_links_for_a_database_no_server_serves() {
    let db = Database::fresh().await;
    let made = muster(&["admin", "create", "--name", "李秀英", "--phone", "13911112222", "--db", &db.url]).await;
    let first = code_in(&made, "pair.html");
    let link = muster(&["admin", "pairing-link", "李秀英", "--db", &db.url]).await;
    let second = code_in(&link, "pair.html");
    assert_ne!(first, second);

    let node = Node::start(&db.url).await;
    assert_eq!(node.setup_link, None, "the database has an admin");
    for code in [first, second] {
        let (status, body) = post(&node.base, "/api/auth/pair", json!({ "code": code })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["staff"]["role"], "admin");
        assert_eq!(me(&node.base, body["token"].as_str().unwrap()).await["name"], "李秀英");
    }

    // The same phone twice is refused, and nothing is added.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["admin", "create", "--name", "张三", "--phone", "13911112222", "--db", &db.url])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("已经用了这个电话号码"), "in Chinese by default");
}
