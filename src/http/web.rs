//! The pages, embedded in the binary from `web/` at build time: nothing to install and
//! nothing fetched at run time. Only embedded names are served, so a path like
//! `/../Cargo.toml` finds nothing.

use super::ApiError;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Pages;

/// Only the server's own scripts, styles and connections; images also as `data:` (the
/// pairing QR codes); never inside a frame (a page that pairs or scans must not be
/// overlaid by another site); scripts may not write HTML from strings (Trusted Types).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'";

pub async fn page(uri: Uri) -> Result<Response, ApiError> {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let file = Pages::get(path).ok_or_else(|| ApiError::NotFound { what: "page", id: path.to_owned() })?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_str(mime.as_ref()).expect("a MIME type is a header value")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    Ok((headers, file.data).into_response())
}
