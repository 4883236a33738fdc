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

/// What a stand-in ACME server (RFC 8555) received, request by request, as it arrives:
/// each request's line, headers and body.
type Received = tokio::sync::mpsc::UnboundedReceiver<(String, String, Vec<u8>)>;

/// A stand-in certificate authority on HTTPS: a directory, nonces, and a refusal for
/// everything else, recording each request.
async fn acme_receiver(made: &rcgen::CertifiedKey<rcgen::KeyPair>) -> (u16, Received) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (log, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // One request per connection: read the head, then as many body bytes as it says.
            let (head, body) = loop {
                let n = tls.read(&mut chunk).await.unwrap_or(0);
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).into_owned();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    while buf.len() < at + 4 + length {
                        let n = tls.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    break (head, buf[at + 4..].to_vec());
                }
                if n == 0 {
                    break (String::from_utf8_lossy(&buf).into_owned(), Vec::new());
                }
            };
            let line = head.lines().next().unwrap_or("").to_owned();
            let _ = log.send((line.clone(), head.clone(), body));
            let base = format!("https://localhost:{port}");
            let (status, extra, body) = if line.starts_with("GET /directory") {
                let dir = json!({ "newNonce": format!("{base}/nonce"), "newAccount": format!("{base}/account"),
                    "newOrder": format!("{base}/order"), "revokeCert": format!("{base}/revoke"), "keyChange": format!("{base}/key") });
                ("200 OK", String::new(), dir.to_string())
            } else if line.contains(" /nonce ") {
                ("200 OK", "Replay-Nonce: bm9uY2Utb25l\r\n".to_owned(), String::new())
            } else {
                let problem = json!({ "type": "urn:ietf:params:acme:error:serverInternal", "detail": "stand-in" });
                ("503 Service Unavailable", "Replay-Nonce: bm9uY2UtdHdv\r\n".to_owned(), problem.to_string())
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    });
    (port, received)
}

fn base64url_json(text: &str) -> Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).expect("base64url without padding");
    serde_json::from_slice(&bytes).expect("JSON")
}

#[tokio::test]
async fn with_an_acme_domain_serve_registers_an_account_with_the_certificate_authority() {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (port, mut received) = acme_receiver(&made).await;
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("ca.pem");
    std::fs::write(&roots, made.cert.pem()).unwrap();
    let cache = dir.path().join("acme-cache");
    let directory = format!("https://localhost:{port}/directory");
    let db = Database::fresh().await;
    let args = [
        "--acme-domain",
        "muster.example.cn",
        "--acme-contact",
        "ops@example.cn",
        "--acme-directory",
        &directory,
        "--acme-ca-roots",
        roots.to_str().unwrap(),
        "--acme-cache",
        cache.to_str().unwrap(),
    ];
    let node = Node::start_with(&db.url, &args).await;
    assert!(node.base.starts_with("https://"), "{}", node.base);

    let mut lines = Vec::new();
    let account = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(request) = received.recv().await {
            lines.push(request.0.clone());
            if request.0.starts_with("POST /account") {
                return request;
            }
        }
        panic!("the stand-in CA stopped");
    })
    .await
    .expect("the server asks the certificate authority for an account within 20 s");
    assert!(lines[0].starts_with("GET /directory "), "the directory first: {lines:?}");

    // RFC 8555 §6.2 and §7.3: a flattened JWS, signed with the account key it carries.
    let (_, head, body) = account;
    assert!(head.to_ascii_lowercase().contains("content-type: application/jose+json"), "{head}");
    let jws: Value = serde_json::from_slice(&body).unwrap();
    let protected = base64url_json(jws["protected"].as_str().unwrap());
    assert_eq!(protected["url"], format!("https://localhost:{port}/account"));
    assert_eq!(protected["nonce"], "bm9uY2Utb25l");
    assert!(protected["alg"] == "ES256" && protected["jwk"]["kty"] == "EC", "{protected}");
    assert!(!jws["signature"].as_str().unwrap().is_empty());
    let payload = base64url_json(jws["payload"].as_str().unwrap());
    assert_eq!(payload["termsOfServiceAgreed"], true);
    assert_eq!(payload["contact"], json!(["mailto:ops@example.cn"]));
}
