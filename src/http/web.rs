//! The pages, embedded in the binary from `web/` at build time: nothing to install and
//! nothing fetched at run time. Only embedded names are served, so a path like
//! `/../Cargo.toml` finds nothing. An unknown `/api/…` address is an API error, not a page.

use super::ApiError;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Pages;

pub async fn page(uri: Uri) -> Result<Response, ApiError> {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return Err(ApiError::NotFound { what: "API route", id: uri.path().to_owned() });
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let file = Pages::get(path).ok_or_else(|| ApiError::NotFound { what: "page", id: path.to_owned() })?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    Ok(([(header::CONTENT_TYPE, mime.as_ref().to_owned()), (header::CACHE_CONTROL, "no-cache".to_owned())], file.data)
        .into_response())
}
