//! HTTPS with a certificate and key given: what phones need for the camera and a service
//! worker. The certificate is made here (rcgen) and trusted by the test's own client.

use crate::helpers::{Database, Node};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{self, pki_types::ServerName};

/// A TLS client that trusts only `cert` (DER).
fn client_trusting(cert: &rcgen::Certificate) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request over TLS; the status and the JSON body (or `Null`).
async fn https(
    tls: &tokio_rustls::TlsConnector,
    node: &Node,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let tcp = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    let mut stream = tls.connect(ServerName::try_from("localhost").unwrap(), tcp).await.expect("the handshake");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        node.addr.port(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null), head.to_owned())
}

#[tokio::test]
async fn serve_speaks_https_with_the_given_certificate_and_links_say_https() {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("fullchain.pem"), dir.path().join("privkey.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let db = Database::fresh().await;
    let args = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let node = Node::start_with(&db.url, &args).await;
    assert!(node.base.starts_with("https://"), "{}", node.base);
    let setup = node.setup_link.clone().expect("a setup link");
    assert!(setup.starts_with("https://"), "{setup}");

    let tls = client_trusting(&made.cert);
    let code = setup.split_once("code=").unwrap().1;
    let first = json!({ "code": code, "name": "王建国", "phone": "13800001111" });
    let (status, signed_in, head) = https(&tls, &node, "POST", "/api/auth/setup", None, Some(first)).await;
    assert_eq!(status, 200, "{head}");
    let token = signed_in["token"].as_str().unwrap();
    let admin = signed_in["staff"]["id"].as_i64().unwrap();
    let path = format!("/api/staff/{admin}/pairing-codes");
    let (status, pairing, _) = https(&tls, &node, "POST", &path, Some(token), None).await;
    assert_eq!(status, 201);
    let url = pairing["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("https://localhost:{}/pair.html?code=", node.addr.port())), "{url}");

    // Plain HTTP to the TLS port gets no page.
    let plain = reqwest::get(format!("http://{}/healthz", node.addr)).await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}

#[tokio::test]
async fn a_missing_or_broken_certificate_is_one_clear_line() {
    let db = Database::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "not a certificate").unwrap();
    for (cert, key) in [("/nonexistent/fullchain.pem", broken.to_str().unwrap()), (broken.to_str().unwrap(), "/x")] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(["serve", "--db", &db.url, "--bind", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key])
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(cert), "the message names the file: {err}");
        assert!(!err.contains("backtrace") && !err.contains("panicked"), "{err}");
    }
}
