//! The pages, embedded in the binary from `web/` at build time: nothing to install and
//! nothing fetched at run time. Only embedded names are served, so a path like
//! `/../Cargo.toml` finds nothing. An unknown `/api/…` address is an API error, not a page.
//!
//! The phone page is `/m` (a short address to type or read out), its web app manifest
//! `/manifest.webmanifest`, and its service worker `/sw.js`, which is served with this
//! build's [`version`] written into it: any change to any page changes the worker's bytes,
//! so phones install the new pages as a whole and drop the old ones (web/sw.js).

use super::ApiError;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Pages;

/// Only the server's own scripts, styles and connections; images also as `data:` (the
/// pairing QR codes); never inside a frame (a page that pairs or scans must not be
/// overlaid by another site); scripts may not write HTML from strings (Trusted Types).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'";

/// Short addresses for pages that people type or read out: `/m` is the phone page, `/scan`
/// the sampling point's.
const ALIASES: &[(&str, &str)] = &[("m", "m.html"), ("scan", "scan.html")];

/// Where web/sw.js says which build it caches; replaced when it is served.
const VERSION_MARK: &str = "__MUSTER_PAGES_VERSION__";

/// One embedded file as it is served: its type, a strong validator from its content's
/// hash, and its gzip form when that is smaller.
struct Served {
    mime: HeaderValue,
    etag: HeaderValue,
    plain: Bytes,
    gzip: Option<Bytes>,
}

/// Every embedded file, prepared once (the first request compresses them all: ~100 KB of
/// text, a few milliseconds), so that a repeat visit on a bad mobile link costs a `304`
/// and a first visit a third of the bytes.
fn served() -> &'static HashMap<String, Served> {
    static SERVED: OnceLock<HashMap<String, Served>> = OnceLock::new();
    SERVED.get_or_init(|| {
        let version = version();
        Pages::iter()
            .filter_map(|path| {
                let file = Pages::get(&path)?;
                let mime = mime_type(&path);
                let mut data = file.data.into_owned();
                let mut hash: String = file.metadata.sha256_hash()[..16].iter().map(|b| format!("{b:02x}")).collect();
                if path == "sw.js" {
                    data = String::from_utf8_lossy(&data).replace(VERSION_MARK, &version).into_bytes();
                    hash = version.clone();
                }
                let plain = Bytes::from(data);
                let gzip = gzipped(&plain).filter(|g| g.len() + 64 < plain.len());
                let served = Served {
                    mime: HeaderValue::from_str(&mime).expect("a MIME type is a header value"),
                    etag: HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex digits in quotes"),
                    plain,
                    gzip,
                };
                Some((path.into_owned(), served))
            })
            .collect()
    })
}

/// This build's pages, as one name: a hash over every embedded file. The service worker
/// names its cache with it, so a server with other pages makes phones fetch them anew.
fn version() -> String {
    use sha2::{Digest, Sha256};
    let mut paths: Vec<_> = Pages::iter().collect();
    paths.sort();
    let mut all = Sha256::new();
    for path in paths {
        if let Some(file) = Pages::get(&path) {
            all.update(path.as_bytes());
            all.update(file.metadata.sha256_hash());
        }
    }
    all.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn mime_type(path: &str) -> String {
    if path.ends_with(".webmanifest") {
        // mime_guess does not know it; browsers read a manifest by this type.
        return "application/manifest+json".into();
    }
    mime_guess::from_path(path).first_or_octet_stream().to_string()
}

fn gzipped(data: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).ok()?;
    gz.finish().ok().map(Bytes::from)
}

/// Whether a request header lists `token` (e.g. `gzip` in `Accept-Encoding`, an ETag in
/// `If-None-Match`), ignoring parameters such as `;q=`.
fn lists(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|item| {
        let item = item.split(';').next().unwrap_or("").trim();
        // If-None-Match compares weakly: `W/"…"` names the same content.
        let item = item.strip_prefix("W/").unwrap_or(item);
        item == token || item == "*"
    })
}

pub async fn page(uri: Uri, request: HeaderMap) -> Result<Response, ApiError> {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return Err(ApiError::NotFound { what: "API route", id: uri.path().to_owned() });
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let path = ALIASES.iter().find(|(short, _)| *short == path).map_or(path, |(_, file)| file);
    let file = served().get(path).ok_or_else(|| ApiError::NotFound { what: "page", id: path.to_owned() })?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, file.mime.clone());
    // Checked again on every visit: a new binary's pages are seen at once, an unchanged one costs a 304.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, file.etag.clone());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if path == "sw.js" {
        // m.js and scan.js register it for the scopes `/m` and `/scan`, which a worker at the root may take anyway;
        // said outright for in-app browsers that are stricter about a worker's scope.
        headers.insert(HeaderName::from_static("service-worker-allowed"), HeaderValue::from_static("/"));
    }
    let etag = file.etag.to_str().expect("ASCII");
    if lists(&request, header::IF_NONE_MATCH, etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let body = match &file.gzip {
        Some(gzip) if lists(&request, header::ACCEPT_ENCODING, "gzip") => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gzip.clone()
        }
        _ => file.plain.clone(),
    };
    Ok((headers, body).into_response())
}
