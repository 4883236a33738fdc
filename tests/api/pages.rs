//! How the pages are served: compressed, with validators so a repeat visit costs a 304,
//! and with the headers that keep scripts, frames and referrers in their place.

use crate::helpers::spawn_app;
use std::io::Read;

#[tokio::test]
async fn pages_come_compressed_and_a_repeat_visit_costs_a_304() {
    let app = spawn_app().await;
    // reqwest here has no gzip feature: what arrives is what the server sent.
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = app.client.get(format!("{}{path}", app.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    let plain = get("/app.js", &[]).await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers().get("content-encoding"), None);
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "a strong validator: {etag}");
    let plain = plain.bytes().await.unwrap();

    let zipped = get("/app.js", &[("accept-encoding", "gzip, deflate, br")]).await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.len() * 2 < plain.len(), "gzip makes {} bytes of {}", zipped.len(), plain.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).unwrap();
    assert_eq!(unzipped, plain);

    let again = get("/app.js", &[("if-none-match", &etag)]).await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let weak = format!("W/{etag}");
    assert_eq!(get("/app.js", &[("if-none-match", &weak)]).await.unwrap().status(), 304);
    assert_eq!(get("/app.js", &[("if-none-match", "\"stale\"")]).await.unwrap().status(), 200);
}

#[tokio::test]
async fn pages_allow_only_their_own_scripts_and_no_answer_leaks_a_referrer() {
    let app = spawn_app().await;
    let page = app.client.get(format!("{}/", app.base)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    for rule in ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(csp.contains(rule), "{rule} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    for answer in [page, app.client.get(format!("{}/api/actions", app.base)).send().await.unwrap()] {
        assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn the_phone_page_its_manifest_and_its_worker_are_served_and_the_worker_names_this_build() {
    let app = spawn_app().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();

    let phone = get("/m").await.unwrap();
    assert_eq!(phone.status(), 200);
    assert!(phone.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(phone.text().await.unwrap().contains("m.js"), "/m is the phone page");

    let manifest = get("/manifest.webmanifest").await.unwrap();
    assert_eq!(manifest.headers()["content-type"], "application/manifest+json");
    let manifest: serde_json::Value = manifest.json().await.unwrap();
    assert_eq!(manifest["start_url"], "/m");

    let worker = get("/sw.js").await.unwrap();
    assert_eq!(worker.headers()["cache-control"], "no-cache", "a new build's worker is seen at once");
    assert_eq!(worker.headers()["service-worker-allowed"], "/");
    let etag = worker.headers()["etag"].to_str().unwrap().to_owned();
    let text = worker.text().await.unwrap();
    assert!(!text.contains("__MUSTER_PAGES_VERSION__"), "the build's version is written in");
    let version = text.split("const VERSION = \"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
    assert_eq!(version.len(), 16, "a hash over every page: {version}");
    assert_eq!(etag, format!("\"{version}\""), "the worker's validator is the version it caches");
}
