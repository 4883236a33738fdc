//! Extractors: who is calling ([`Caller`]), and JSON bodies whose every rejection becomes
//! an [`ApiError`] with a clear code ([`ApiJson`]). Identity lives here and only here, so
//! the accounts issue changes one file.

use super::{ApiError, AppState};
use crate::auth::{Scope, Session};
use crate::roster::{Role, Roster, Staff};
use axum::extract::rejection::JsonRejection;
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
