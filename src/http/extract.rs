//! Extractors: who is calling ([`Caller`]), and JSON bodies, path and query parameters
//! whose every rejection becomes an [`ApiError`] with a clear code and the field it is
//! about ([`ApiJson`], [`ApiPath`], [`ApiQuery`]): axum's own answer them in plain text.
//! Identity lives here and only here, so the accounts issue changes one file.

use super::{ApiError, AppState};
use crate::auth::{Scope, Session};
use crate::roster::{Role, Roster, Staff};
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use dashmap::DashMap;
use serde::de::DeserializeOwned;
use std::sync::{Arc, Weak};

/// Largest request body accepted, in bytes. A batch of a few thousand events fits.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The staff member making the request and what they answer for. The token comes from
/// `Authorization: Bearer TOKEN` or, where a browser cannot set headers (WebSocket),
/// `?token=TOKEN`; it names a live session (see `crate::auth`), checked on every request.
/// The staff record and scope are shared from [`Callers`] while the roster stays the same.
#[derive(Debug, Clone)]
pub struct Caller {
    pub staff: Arc<Staff>,
    pub session: Session,
    pub scope: Arc<Scope>,
}

/// Each session's staff record and scope, resolved against one roster version. Building a
/// scope (and cloning the staff record) for every request cost a scan ≈ 2 % of its CPU;
/// a roster replaced by an import or a staff change resolves them again. The roster is
/// held weakly: an idle session does not keep a replaced roster in memory (and while the
/// weak pointer lives, no new roster can reuse its address).
#[derive(Default)]
pub struct Callers(DashMap<String, Resolved>);

/// A session's staff record and scope, and the roster version they were resolved in.
struct Resolved {
    roster: Weak<Roster>,
    staff: Arc<Staff>,
    scope: Arc<Scope>,
}

impl Callers {
    fn resolve(&self, session: &Session, roster: &Arc<Roster>) -> Option<(Arc<Staff>, Arc<Scope>)> {
        if let Some(entry) = self.0.get(&session.id)
            && std::ptr::eq(entry.roster.as_ptr(), Arc::as_ptr(roster))
        {
            return Some((entry.staff.clone(), entry.scope.clone()));
        }
        // A retired staff member (taken off the roster sheet) signs in to nothing.
        let staff = Arc::new(roster.staff_member(session.staff_id).filter(|s| !s.retired)?.clone());
        let scope = Arc::new(Scope::of(&staff, roster));
        let resolved = Resolved { roster: Arc::downgrade(roster), staff: staff.clone(), scope: scope.clone() };
        self.0.insert(session.id.clone(), resolved);
        Some((staff, scope))
    }
}

impl Caller {
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.staff.role) { Ok(()) } else { Err(ApiError::Forbidden(self.staff.role)) }
    }
}

fn token_from(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    bearer.or_else(|| parts.uri.query()?.split('&').find_map(|kv| kv.strip_prefix("token=")))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = token_from(parts).ok_or(ApiError::Unauthorized)?;
        let session = state.auth.verify(token).await.map_err(|e| {
            tracing::error!(error = %e, request_id = super::request_id(), "could not look a session up");
            ApiError::Unavailable
        })?;
        let session = session.ok_or(ApiError::Unauthorized)?;
        let (staff, scope) = state.callers.resolve(&session, &state.hub.roster()).ok_or(ApiError::Unauthorized)?;
        Ok(Caller { staff, session, scope })
    }
}

/// `Json<T>` whose rejections are ours: malformed JSON, wrong types, unknown fields and
/// oversized bodies each get their own code and a message saying what to fix.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::InvalidJson("send the body with Content-Type: application/json".into()));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::BodyTooLarge { limit: BODY_LIMIT });
            }
            Err(e) => return Err(ApiError::InvalidJson(e.body_text())),
        };
        // Every body this API takes is an object; serde would also read a struct from an
        // array (`[null, null]`), which no client means.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b != b'{') {
            return Err(ApiError::NotAnObject);
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&e.body_text())),
            Err(e) => Err(ApiError::InvalidJson(e.body_text())),
        }
    }
}

/// `application/json`, or a `+json` type, as axum's `Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Splits serde's "path: what is wrong" into the field and a message for the person.
fn data_error(text: &str) -> ApiError {
    let text = text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(text);
    let (field, problem) = field_and_problem(text);
    ApiError::InvalidField { message: crate::messages::api::field::unreadable(&field, problem), field }
}

/// The field serde's message is about: its path before ": ", or the name an unknown or
/// missing field's message quotes (`` unknown field `x` ``), or `.` for the whole.
fn field_and_problem(text: &str) -> (String, &str) {
    match text.split_once(": ") {
        Some((path, problem)) if !path.contains(' ') => (path.to_owned(), problem),
        _ => {
            let quoted = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|p| text.strip_prefix(p))
                .and_then(|rest| rest.split_once('`'))
                .map(|(name, _)| name.to_owned());
            (quoted.unwrap_or_else(|| ".".into()), text)
        }
    }
}

/// `Path<T>` whose rejections are ours: `/api/actions/abc` is `invalid_field` on `id`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                // A single value (`Path<i64>`) is reported without its name: it is the only one.
                let raw = axum::extract::RawPathParams::from_request_parts(parts, state).await;
                let only = raw.ok().and_then(|p| p.iter().next().map(|(k, _)| k.to_owned()));
                let only = only.unwrap_or_else(|| "path".into());
                let (field, value, expected) = match e.into_kind() {
                    ErrorKind::ParseErrorAtKey { key, value, expected_type } => (key, value, expected_type),
                    ErrorKind::ParseError { value, expected_type } => (only, value, expected_type),
                    ErrorKind::DeserializeError { key, value, .. } => (key, value, "valid"),
                    ErrorKind::InvalidUtf8InPathParam { key } => (key, "(not UTF-8)".into(), "valid"),
                    other => (only, other.to_string(), "valid"),
                };
                Err(path_error(field, &value, expected))
            }
            Err(e) => Err(ApiError::Internal(format!("path parameters: {}", e.body_text()))),
        }
    }
}

fn path_error(field: String, value: &str, expected: &str) -> ApiError {
    let whole = matches!(expected, "i64" | "i32" | "u64" | "u32" | "usize" | "isize" | "u16" | "i16" | "u8" | "i8");
    ApiError::InvalidPathParam { field, value: value.chars().take(40).collect(), whole }
}

/// `Query<T>` whose rejections are ours: `?limit=-1` is `invalid_field` on `limit`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let text = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                let (field, problem) = field_and_problem(text);
                Err(ApiError::InvalidQueryParam { field, problem: problem.to_owned() })
            }
            Err(e) => Err(ApiError::Internal(format!("query string: {}", e.body_text()))),
        }
    }
}

/// A list's position from its `cursor` query parameter (the `next` of the page before;
/// none: the start).
pub fn cursor(raw: Option<&str>) -> Result<usize, ApiError> {
    raw.map_or(Ok(0), |c| {
        c.parse().map_err(|_| ApiError::InvalidField {
            field: "cursor".into(),
            message: crate::messages::api::field::cursor(),
        })
    })
}

/// Whether a phone number is shown whole (not masked): each such read is audited.
pub fn whole_phone(phone: Option<&str>) -> bool {
    phone.is_some_and(|p| !p.contains('*'))
}

#[cfg(test)]
mod tests {
    use super::field_and_problem;

    #[test]
    fn serde_messages_are_split_into_the_field_and_what_is_wrong() {
        let cases = [
            ("limit: invalid digit found in string", "limit", "invalid digit found in string"),
            ("events[2].id: invalid length", "events[2].id", "invalid length"),
            ("unknown field `foo`, expected one of `limit`", "foo", "unknown field `foo`, expected one of `limit`"),
            ("missing field `id`", "id", "missing field `id`"),
            ("invalid type: sequence, expected a map", ".", "invalid type: sequence, expected a map"),
        ];
        for (text, field, problem) in cases {
            assert_eq!(field_and_problem(text), (field.to_owned(), problem), "{text}");
        }
    }
}
