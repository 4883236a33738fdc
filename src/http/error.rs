//! The one place errors become HTTP answers. Every variant has a stable machine `code`
//! and a message a clerk can act on; answers are RFC 9457 problem details with `code`,
//! `message` and the specifics (`field`, `index`, `errors`) as extension members. A 500
//! is logged with its cause and the client gets an opaque message.

use crate::action::Rejection;
use crate::store::StoreError;
use crate::store::writer::AppendError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("sign-in needed: open the link your chief sent you again")]
    Unauthorized,
    #[error("your role ({0}) may not do this")]
    Forbidden(&'static str),
    #[error("{0}")]
    OutOfScope(String),
    #[error("this code has expired or was already used; ask your chief for a new one")]
    PairingCodeInvalid,
    #[error("the phone number or the password is wrong")]
    SignInFailed,
    #[error("too many attempts; wait {0} seconds and try again")]
    TooManyAttempts(u64),
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error("the request body is larger than {limit} bytes; send fewer events per request")]
    BodyTooLarge { limit: usize },
    #[error("{0}")]
    Rejected(Rejection),
    #[error("{} of the events were refused; nothing was recorded", .0.len())]
    RejectedBatch(Vec<(usize, Rejection)>),
    #[error(
        "event id {client_id} (event {index}) was already used in action {action_id}; make a new id for a new event"
    )]
    IdReused { index: usize, client_id: uuid::Uuid, action_id: i64 },
    #[error("the roster sheet has {} problem(s); nothing was imported: fix them in the sheet and import it again", .0.len())]
    RosterInvalid(Vec<crate::roster::import::Problem>),
    #[error("{0}")]
    FileUnreadable(String),
    /// An import that would remove rows, without `confirm_removals` giving their total:
    /// nothing was written. The report says what would go.
    #[error(
        "this import would remove {} row(s): {} residents, {} households, {} staff, {} sampling points; \
         check them, then import again with confirm_removals={}",
        .0.removals.total, .0.residents.removed, .0.households.removed, .0.staff.removed, .0.points.removed,
        .0.removals.total
    )]
    RemovalsUnconfirmed(Box<crate::roster::import::Report>),
    #[error("the database is not available; nothing was recorded, try again shortly")]
    Unavailable,
    #[error("internal error; it has been logged")]
    Internal(String),
}

fn rejection_code(r: &Rejection) -> (&'static str, StatusCode) {
    match r {
        Rejection::UnknownResident(_) | Rejection::UnknownIdNumber => {
            ("unknown_resident", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Rejection::OutOfScope(_) => ("out_of_scope", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::Removed(_) => ("resident_removed", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::UnknownPoint(_) => ("unknown_point", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::NotOpen => ("action_not_open", StatusCode::CONFLICT),
        Rejection::Closed => ("action_closed", StatusCode::CONFLICT),
        Rejection::AlreadyOpen => ("action_already_open", StatusCode::CONFLICT),
        Rejection::NotCorrectable(_) => ("not_correctable", StatusCode::CONFLICT),
        Rejection::EmptyReason => ("reason_required", StatusCode::UNPROCESSABLE_ENTITY),
    }
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::OutOfScope(_) => "out_of_your_scope",
            ApiError::PairingCodeInvalid => "pairing_code_invalid",
            ApiError::SignInFailed => "sign_in_failed",
            ApiError::TooManyAttempts(_) => "too_many_attempts",
            ApiError::NotFound { .. } => "not_found",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::Rejected(r) => rejection_code(r).0,
            ApiError::RejectedBatch(_) => "events_rejected",
            ApiError::IdReused { .. } => "event_id_reused",
            ApiError::RosterInvalid(_) => "roster_invalid",
            ApiError::FileUnreadable(_) => "file_unreadable",
            ApiError::RemovalsUnconfirmed(_) => "removals_unconfirmed",
            ApiError::Unavailable => "storage_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::PairingCodeInvalid | ApiError::SignInFailed => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::OutOfScope(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::InvalidJson(_) | ApiError::InvalidField { .. } => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Rejected(r) => rejection_code(r).1,
            ApiError::RejectedBatch(all) => {
                let first = all.first().map(|(_, r)| rejection_code(r).1);
                first.unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            }
            ApiError::IdReused { .. } | ApiError::RemovalsUnconfirmed(_) => StatusCode::CONFLICT,
            ApiError::RosterInvalid(_) | ApiError::FileUnreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Specifics a client needs to act on, beyond the code and message.
    fn details(&self) -> Value {
        match self {
            ApiError::InvalidField { field, .. } => json!({ "field": field }),
            ApiError::BodyTooLarge { limit } => json!({ "limit": limit }),
            ApiError::RejectedBatch(all) => json!({
                "errors": all.iter().map(|(i, r)| json!({
                    "index": i, "code": rejection_code(r).0, "message": r.to_string()
                })).collect::<Vec<_>>()
            }),
            ApiError::IdReused { index, .. } => json!({ "index": index }),
            ApiError::RosterInvalid(problems) => json!({ "problems": problems }),
            // Names of what would be removed: for the admin or chief importing, who must see
            // what they confirm. Never logged.
            ApiError::RemovalsUnconfirmed(report) => json!({
                "removals": {
                    "residents": report.residents.removed,
                    "households": report.households.removed,
                    "staff": report.staff.removed,
                    "points": report.points.removed,
                },
                "total": report.removals.total,
                "examples": report.removals.examples,
                "report": report,
            }),
            ApiError::TooManyAttempts(seconds) => json!({ "retry_after": seconds }),
            _ => json!({}),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::UnknownAction(id) => ApiError::NotFound { what: "action", id: id.to_string() },
            AppendError::Rejected(mut all) if all.len() == 1 => ApiError::Rejected(all.remove(0).1),
            AppendError::Rejected(all) => ApiError::RejectedBatch(all),
            AppendError::IdReused { index, client_id, action_id } => ApiError::IdReused { index, client_id, action_id },
            AppendError::Store(e) => {
                tracing::error!(error = %e, request_id = super::request_id(), "append failed");
                ApiError::Unavailable
            }
            AppendError::Closed => ApiError::Unavailable,
        }
    }
}

impl From<crate::roster::import::ImportError> for ApiError {
    fn from(e: crate::roster::import::ImportError) -> Self {
        match e {
            crate::roster::import::ImportError::Invalid(problems) => ApiError::RosterInvalid(problems),
            other => ApiError::FileUnreadable(other.to_string()),
        }
    }
}

impl From<crate::store::import::ImportFailure> for ApiError {
    fn from(e: crate::store::import::ImportFailure) -> Self {
        match e {
            crate::store::import::ImportFailure::Store(e) => {
                tracing::error!(error = %e, request_id = super::request_id(), "roster import failed");
                ApiError::Unavailable
            }
            crate::store::import::ImportFailure::Closed => ApiError::Unavailable,
            crate::store::import::ImportFailure::Invalid(problems) => ApiError::RosterInvalid(problems),
            crate::store::import::ImportFailure::Unconfirmed(report) => ApiError::RemovalsUnconfirmed(report),
            crate::store::import::ImportFailure::UnknownArea(id) => ApiError::InvalidField {
                field: "area".into(),
                message: format!("there is no area node {id}; give the id of a node of /api/nodes"),
            },
            e @ crate::store::import::ImportFailure::Roster(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, request_id = super::request_id(), "request failed");
        }
        let mut body = json!({
            "type": format!("https://muster.invalid/problems/{}", self.code()),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": message,
            "code": self.code(),
            "message": message,
        });
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, self.details()) {
            body.extend(extra);
        }
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
        if let ApiError::TooManyAttempts(seconds) = self {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
