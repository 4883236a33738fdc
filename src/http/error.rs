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
    #[error("this is the last administrator; make someone else an administrator first")]
    LastAdmin,
    #[error("staff member #{other} has this phone number already; one phone, one person")]
    PhoneTaken { other: i64 },
    #[error("sampling point #{other} has this name already; give each open point its own name")]
    PointNameTaken { other: i64 },
    #[error("this code has expired or was already used; ask your chief for a new one")]
    PairingCodeInvalid,
    #[error("the phone number or the password is wrong")]
    SignInFailed,
    #[error("too many attempts; wait {0} seconds and try again")]
    TooManyAttempts(u64),
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("{method} is not allowed on this address; the Allow header lists the methods it answers")]
    MethodNotAllowed { method: String },
    #[error("this address is a WebSocket: connect with a WebSocket client (Upgrade: websocket)")]
    WebSocketRequired,
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error("`{field}` in the address must be {}, not {value:?}", path_expects(*.whole))]
    InvalidPathParam { field: String, value: String, whole: bool },
    #[error("query parameter `{field}`: {problem}")]
    InvalidQueryParam { field: String, problem: String },
    #[error("the body must be a JSON object ({{…}}) with the fields this request takes")]
    NotAnObject,
    #[error("the event id is the nil UUID: make a new UUID (v7) for every event")]
    NilEventId { field: String },
    #[error(
        "tube {shown:?} is not a tube code: 1 to {max} letters, digits or -_./; scan the tube again, or leave tube out"
    )]
    NotATube { field: String, shown: String, max: usize },
    #[error("device_time is more than a day ahead of the server: check the phone's clock")]
    DeviceTimeAhead { field: String },
    #[error("device_time is before this action was planned (on {planned}): check the phone's date and clock")]
    DeviceTimeBeforePlan { field: String, planned: time::Date },
    #[error("planned_close must be after planned_open")]
    CloseBeforeOpen,
    #[error("the request body is larger than {limit} bytes; send fewer events per request")]
    BodyTooLarge { limit: usize },
    #[error("the roster file is larger than {limit} bytes; save it without pictures or other sheets")]
    SheetTooLarge { limit: usize },
    #[error("{0}")]
    Rejected(Rejection),
    #[error("{} of the events were refused; nothing was recorded", .0.len())]
    RejectedBatch(Vec<(usize, Rejection)>),
    #[error(
        "event id {client_id} (event {index}) was already used in action {action_id}; make a new id for a new event"
    )]
    IdReused { index: usize, client_id: uuid::Uuid, action_id: i64 },
    #[error(
        "event id {client_id} (event {index}) was already used for a different event; a resend must be \
         the same event, byte for byte: make a new id for a new event"
    )]
    IdReusedOtherwise { index: usize, client_id: uuid::Uuid },
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

/// What a path parameter must be, in [`ApiError::InvalidPathParam`]'s message.
fn path_expects(whole: bool) -> &'static str {
    if whole { "a whole number that fits in 64 bits (e.g. 12)" } else { "valid here" }
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
            ApiError::LastAdmin => "last_admin",
            ApiError::PhoneTaken { .. } => "phone_taken",
            ApiError::PointNameTaken { .. } => "point_name_taken",
            ApiError::PairingCodeInvalid => "pairing_code_invalid",
            ApiError::SignInFailed => "sign_in_failed",
            ApiError::TooManyAttempts(_) => "too_many_attempts",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::WebSocketRequired => "websocket_required",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidField { .. }
            | ApiError::InvalidPathParam { .. }
            | ApiError::InvalidQueryParam { .. }
            | ApiError::NotAnObject
            | ApiError::NilEventId { .. }
            | ApiError::NotATube { .. }
            | ApiError::DeviceTimeAhead { .. }
            | ApiError::DeviceTimeBeforePlan { .. }
            | ApiError::CloseBeforeOpen => "invalid_field",
            ApiError::BodyTooLarge { .. } | ApiError::SheetTooLarge { .. } => "body_too_large",
            ApiError::Rejected(r) => rejection_code(r).0,
            ApiError::RejectedBatch(_) => "events_rejected",
            ApiError::IdReused { .. } | ApiError::IdReusedOtherwise { .. } => "event_id_reused",
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
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::WebSocketRequired => StatusCode::UPGRADE_REQUIRED,
            ApiError::InvalidJson(_)
            | ApiError::InvalidField { .. }
            | ApiError::InvalidPathParam { .. }
            | ApiError::InvalidQueryParam { .. }
            | ApiError::NotAnObject
            | ApiError::NilEventId { .. }
            | ApiError::NotATube { .. }
            | ApiError::DeviceTimeAhead { .. }
            | ApiError::DeviceTimeBeforePlan { .. }
            | ApiError::CloseBeforeOpen => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge { .. } | ApiError::SheetTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Rejected(r) => rejection_code(r).1,
            ApiError::RejectedBatch(all) => {
                let first = all.first().map(|(_, r)| rejection_code(r).1);
                first.unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            }
            ApiError::IdReused { .. }
            | ApiError::IdReusedOtherwise { .. }
            | ApiError::LastAdmin
            | ApiError::PhoneTaken { .. }
            | ApiError::PointNameTaken { .. }
            | ApiError::RemovalsUnconfirmed(_) => StatusCode::CONFLICT,
            ApiError::RosterInvalid(_) | ApiError::FileUnreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The field an `invalid_field` answer is about (`id`, `limit`, `events[2].tube` …).
    fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidField { field, .. }
            | ApiError::InvalidPathParam { field, .. }
            | ApiError::InvalidQueryParam { field, .. }
            | ApiError::NilEventId { field }
            | ApiError::NotATube { field, .. }
            | ApiError::DeviceTimeAhead { field }
            | ApiError::DeviceTimeBeforePlan { field, .. } => Some(field),
            ApiError::NotAnObject => Some("."),
            ApiError::CloseBeforeOpen => Some("planned_close"),
            _ => None,
        }
    }

    /// Specifics a client needs to act on, beyond the code and message.
    fn details(&self) -> Value {
        if let Some(field) = self.field() {
            return json!({ "field": field });
        }
        match self {
            ApiError::BodyTooLarge { limit } | ApiError::SheetTooLarge { limit } => json!({ "limit": limit }),
            ApiError::RejectedBatch(all) => json!({
                "errors": all.iter().map(|(i, r)| json!({
                    "index": i, "code": rejection_code(r).0, "message": r.to_string()
                })).collect::<Vec<_>>()
            }),
            ApiError::IdReused { index, .. } | ApiError::IdReusedOtherwise { index, .. } => json!({ "index": index }),
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
            ApiError::PhoneTaken { other } => json!({ "field": "phone", "staff_id": other }),
            ApiError::PointNameTaken { other } => json!({ "field": "name", "point_id": other }),
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
            AppendError::IdReusedOtherwise { index, client_id } => ApiError::IdReusedOtherwise { index, client_id },
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
    /// A database out of reach (no connection within the pool's wait, a broken one) is
    /// `503`, as for appends: retrying is right. Anything else is a fault of ours.
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)) => {
                tracing::warn!(error = %e, request_id = super::request_id(), "database unavailable");
                ApiError::Unavailable
            }
            _ => ApiError::Internal(e.to_string()),
        }
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
        match self {
            ApiError::TooManyAttempts(seconds) => {
                response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            }
            // RFC 9110 §15.5.22: a 426 names the protocol to switch to.
            ApiError::WebSocketRequired => {
                response.headers_mut().insert(header::UPGRADE, header::HeaderValue::from_static("websocket"));
            }
            _ => {}
        }
        response
    }
}
