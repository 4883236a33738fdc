//! Extractors: who is calling ([`Caller`]), and JSON bodies whose every rejection becomes
//! an [`ApiError`] with a clear code ([`ApiJson`]). Identity lives here and only here, so
//! the accounts issue changes one file.

use super::{ApiError, AppState};
use crate::auth::{Scope, Session};
use crate::roster::{Role, Staff};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

/// Largest request body accepted, in bytes. A batch of a few thousand events fits.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The staff member making the request and what they answer for. The token comes from
/// `Authorization: Bearer TOKEN` or, where a browser cannot set headers (WebSocket),
/// `?token=TOKEN`; it names a live session (see `crate::auth`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub staff: Staff,
    pub session: Session,
    pub scope: Scope,
}

impl Caller {
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.staff.role) { Ok(()) } else { Err(ApiError::Forbidden(self.staff.role.as_str())) }
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
            tracing::error!(error = %e, "could not look a session up");
            ApiError::Unavailable
        })?;
        let session = session.ok_or(ApiError::Unauthorized)?;
        let roster = &state.hub.roster;
        let staff = roster.staff_member(session.staff_id).ok_or(ApiError::Unauthorized)?.clone();
        let scope = Scope::of(&staff, roster);
        Ok(Caller { staff, session, scope })
    }
}

/// `Json<T>` whose rejections are ours: malformed JSON, wrong types, unknown fields and
/// oversized bodies each get their own code and a message saying what to fix.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::InvalidJson(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::InvalidJson("send the body with Content-Type: application/json".into()))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::BodyTooLarge { limit: BODY_LIMIT }),
            Err(e) => Err(ApiError::InvalidJson(e.body_text())),
        }
    }
}

/// Splits serde's "path: what is wrong" into the field and a message for the person.
fn data_error(text: &str) -> ApiError {
    let text = text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(text);
    let (field, problem) = match text.split_once(": ") {
        Some((path, problem)) if !path.contains(' ') => (path, problem),
        _ => (".", text),
    };
    ApiError::InvalidField { field: field.to_owned(), message: format!("field `{field}`: {problem}") }
}
