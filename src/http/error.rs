//! The one place errors become HTTP answers. Every variant has a stable machine `code`
//! and a message a clerk can act on, written in `crate::messages::api` and sent in the
//! request's language (`Lang::current`, set from `Accept-Language`); answers are RFC 9457
//! problem details with `code`, `message` and the specifics (`field`, `index`, `errors`)
//! as extension members. A 500 is logged with its cause and the client gets an opaque
//! message.

use crate::action::Rejection;
use crate::messages::api as say;
use crate::messages::{self, Lang, Said};
use crate::roster::Role;
use crate::store::StoreError;
use crate::writer::AppendError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every error an answer can carry. What each says to a person is in
/// [`crate::messages::api`] (one function per message, Chinese and English), chosen by
/// [`ApiError::message`]; `Display` is the English, for logs.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    /// The caller's role.
    Forbidden(Role),
    /// Why the thing asked for is outside the caller's area.
    OutOfScope(Said),
    LastAdmin,
    /// Another staff member on duty has the phone.
    PhoneTaken {
        other: i64,
    },
    /// Another open sampling point has the name.
    PointNameTaken {
        other: i64,
    },
    PairingCodeInvalid,
    SignInFailed,
    /// Seconds until the next attempt may be made.
    TooManyAttempts(u64),
    NotFound {
        what: &'static str,
        id: String,
    },
    MethodNotAllowed {
        method: String,
    },
    WebSocketRequired,
    /// serde's account of where the JSON breaks (English: serde's own words).
    InvalidJson(String),
    InvalidField {
        field: String,
        message: Said,
    },
    InvalidPathParam {
        field: String,
        value: String,
        whole: bool,
    },
    /// `problem`: serde's words for what is wrong with the parameter.
    InvalidQueryParam {
        field: String,
        problem: String,
    },
    NotAnObject,
    NilEventId {
        field: String,
    },
    NotATube {
        field: String,
        shown: String,
        max: usize,
    },
    /// A tick's note longer than a note (`action::event::NOTE_MAX` characters).
    NoteTooLong {
        field: String,
        max: usize,
    },
    DeviceTimeAhead {
        field: String,
    },
    DeviceTimeBeforePlan {
        field: String,
        planned: time::Date,
    },
    CloseBeforeOpen,
    BodyTooLarge {
        limit: usize,
    },
    SheetTooLarge {
        limit: usize,
    },
    Rejected(Rejection),
    RejectedBatch(Vec<(usize, Rejection)>),
    IdReused {
        index: usize,
        client_id: uuid::Uuid,
        action_id: i64,
    },
    IdReusedOtherwise {
        index: usize,
        client_id: uuid::Uuid,
    },
    RosterInvalid(Vec<crate::roster::import::Problem>),
    /// A lab's results sheet with problems: nothing was recorded.
    ResultsInvalid(Vec<crate::roster::import::Problem>),
    FileUnreadable(Said),
    /// An import that would remove rows, without `confirm_removals` giving their total:
    /// nothing was written. The report says what would go.
    RemovalsUnconfirmed(Box<crate::roster::import::Report>),
    /// Not a card code at all: the wrong length or a letter no code has.
    MalformedCode(crate::cards::MalformedCode),
    /// A well-formed card code that no card of this roster has.
    UnknownCode,
    /// A card code of a card that was reissued (lost and replaced).
    CodeReissued,
    Unavailable,
    Internal(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for ApiError {}

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
        Rejection::AwayIsAnExemption => ("away_is_an_exemption", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::UnknownHousehold(_) => ("unknown_household", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::HouseholdOutOfScope(_) => ("out_of_scope", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::NoVisitPending(_) => ("no_visit_pending", StatusCode::CONFLICT),
        Rejection::VisitAlreadyTaken(_) => ("visit_already_taken", StatusCode::CONFLICT),
        Rejection::OnTheRoster(_) => ("on_the_roster", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::UnknownTube(_) => ("unknown_tube", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::TubeAtAnotherPoint(_) => ("tube_at_another_point", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::TubeClosed(_) => ("tube_closed", StatusCode::CONFLICT),
        Rejection::TubeFull(..) => ("tube_full", StatusCode::CONFLICT),
        Rejection::InAnotherTube(_) => ("in_another_tube", StatusCode::CONFLICT),
        Rejection::TubeExists(_) => ("tube_exists", StatusCode::CONFLICT),
        Rejection::BadTubeSize(_) => ("bad_tube_size", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::RetestNeedsSingleTube(_) => ("retest_needs_single_tube", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::ResultAlreadyEntered(_) => ("result_already_entered", StatusCode::CONFLICT),
        Rejection::UnknownWalkIn(_) => ("unknown_walk_in", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::WalkInAlreadyResolved(_) => ("walk_in_already_resolved", StatusCode::CONFLICT),
        Rejection::ResolutionNeedsResident => ("resolution_needs_resident", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::EmptyCallUp => ("empty_call_up", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::UnknownCallUp(_) => ("unknown_call_up", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::ChaseAlreadyStarted => ("chase_already_started", StatusCode::CONFLICT),
        Rejection::NotOverdue => ("not_overdue", StatusCode::CONFLICT),
        Rejection::AlreadyEscalated(_) => ("already_escalated", StatusCode::CONFLICT),
        Rejection::UnknownStaff(_) => ("unknown_staff", StatusCode::UNPROCESSABLE_ENTITY),
        Rejection::UnknownNode(_) => ("unknown_node", StatusCode::UNPROCESSABLE_ENTITY),
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
            ApiError::NoteTooLong { .. } => "note_too_long",
            ApiError::BodyTooLarge { .. } | ApiError::SheetTooLarge { .. } => "body_too_large",
            ApiError::Rejected(r) => rejection_code(r).0,
            ApiError::RejectedBatch(_) => "events_rejected",
            ApiError::IdReused { .. } | ApiError::IdReusedOtherwise { .. } => "event_id_reused",
            ApiError::RosterInvalid(_) => "roster_invalid",
            ApiError::ResultsInvalid(_) => "results_invalid",
            ApiError::FileUnreadable(_) => "file_unreadable",
            ApiError::RemovalsUnconfirmed(_) => "removals_unconfirmed",
            ApiError::MalformedCode(_) => "malformed_code",
            ApiError::UnknownCode => "unknown_code",
            ApiError::CodeReissued => "code_reissued",
            ApiError::Unavailable => "storage_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::PairingCodeInvalid | ApiError::SignInFailed => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::OutOfScope(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound { .. } | ApiError::UnknownCode => StatusCode::NOT_FOUND,
            ApiError::CodeReissued => StatusCode::GONE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::WebSocketRequired => StatusCode::UPGRADE_REQUIRED,
            ApiError::InvalidJson(_)
            | ApiError::InvalidField { .. }
            | ApiError::InvalidPathParam { .. }
            | ApiError::InvalidQueryParam { .. }
            | ApiError::NotAnObject
            | ApiError::NilEventId { .. }
            | ApiError::NotATube { .. }
            | ApiError::NoteTooLong { .. }
            | ApiError::DeviceTimeAhead { .. }
            | ApiError::DeviceTimeBeforePlan { .. }
            | ApiError::CloseBeforeOpen
            | ApiError::MalformedCode(_) => StatusCode::BAD_REQUEST,
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
            ApiError::RosterInvalid(_) | ApiError::ResultsInvalid(_) | ApiError::FileUnreadable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the error says to a person, in `lang`: the catalogue's words for the variant,
    /// given its specifics.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ApiError::Unauthorized => say::unauthorized(lang),
            ApiError::Forbidden(role) => say::forbidden(*role, lang),
            ApiError::OutOfScope(why) | ApiError::InvalidField { message: why, .. } | ApiError::FileUnreadable(why) => {
                why.get(lang).to_owned()
            }
            ApiError::LastAdmin => say::last_admin(lang),
            ApiError::PhoneTaken { other } => say::phone_taken(*other, lang),
            ApiError::PointNameTaken { other } => say::point_name_taken(*other, lang),
            ApiError::PairingCodeInvalid => say::pairing_code_invalid(lang),
            ApiError::SignInFailed => say::sign_in_failed(lang),
            ApiError::TooManyAttempts(seconds) => say::too_many_attempts(*seconds, lang),
            ApiError::NotFound { what, id } => say::not_found(what, id, lang),
            ApiError::MethodNotAllowed { method } => say::method_not_allowed(method, lang),
            ApiError::WebSocketRequired => say::websocket_required(lang),
            ApiError::InvalidJson(why) => say::invalid_json(why, lang),
            ApiError::InvalidPathParam { field, value, whole } => say::invalid_path_param(field, value, *whole, lang),
            ApiError::InvalidQueryParam { field, problem } => say::invalid_query_param(field, problem, lang),
            ApiError::NotAnObject => say::not_an_object(lang),
            ApiError::NilEventId { .. } => say::nil_event_id(lang),
            ApiError::NotATube { shown, max, .. } => say::not_a_tube(shown, *max, lang),
            ApiError::NoteTooLong { max, .. } => say::note_too_long(*max, lang),
            ApiError::DeviceTimeAhead { .. } => say::device_time_ahead(lang),
            ApiError::DeviceTimeBeforePlan { planned, .. } => say::device_time_before_plan(*planned, lang),
            ApiError::CloseBeforeOpen => say::close_before_open(lang),
            ApiError::BodyTooLarge { limit } => say::body_too_large(*limit, lang),
            ApiError::SheetTooLarge { limit } => say::sheet_too_large(*limit, lang),
            ApiError::Rejected(r) => r.message(lang),
            ApiError::RejectedBatch(all) => say::rejected_batch(all.len(), lang),
            ApiError::IdReused { index, client_id, action_id } => say::id_reused(*index, *client_id, *action_id, lang),
            ApiError::IdReusedOtherwise { index, client_id } => say::id_reused_otherwise(*index, *client_id, lang),
            ApiError::RosterInvalid(problems) => say::roster_invalid(problems.len(), lang),
            ApiError::ResultsInvalid(problems) => messages::results::results_invalid(problems.len(), lang),
            ApiError::RemovalsUnconfirmed(report) => say::removals_unconfirmed(report, lang),
            ApiError::MalformedCode(e) => say::malformed_code(
                match e {
                    crate::cards::MalformedCode::Length(n) => Some(*n),
                    crate::cards::MalformedCode::Characters => None,
                },
                lang,
            ),
            ApiError::UnknownCode => say::unknown_code(lang),
            ApiError::CodeReissued => say::code_reissued(lang),
            ApiError::Unavailable => say::unavailable(lang),
            ApiError::Internal(_) => say::internal(lang),
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
            | ApiError::NoteTooLong { field, .. }
            | ApiError::DeviceTimeAhead { field }
            | ApiError::DeviceTimeBeforePlan { field, .. } => Some(field),
            ApiError::NotAnObject => Some("."),
            ApiError::MalformedCode(_) => Some("code"),
            ApiError::CloseBeforeOpen => Some("planned_close"),
            _ => None,
        }
    }

    /// Specifics a client needs to act on, beyond the code and message.
    fn details(&self, lang: Lang) -> Value {
        if let Some(field) = self.field() {
            return json!({ "field": field });
        }
        match self {
            ApiError::BodyTooLarge { limit } | ApiError::SheetTooLarge { limit } => json!({ "limit": limit }),
            ApiError::Rejected(Rejection::OnTheRoster(id)) => json!({ "resident_id": id }),
            ApiError::RejectedBatch(all) => json!({
                "errors": all.iter().map(|(i, r)| json!({
                    "index": i, "code": rejection_code(r).0, "message": r.message(lang)
                })).collect::<Vec<_>>()
            }),
            ApiError::IdReused { index, .. } | ApiError::IdReusedOtherwise { index, .. } => json!({ "index": index }),
            ApiError::RosterInvalid(problems) | ApiError::ResultsInvalid(problems) => json!({ "problems": problems }),
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
            other => ApiError::FileUnreadable(messages::import::unreadable(&other)),
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
            crate::store::import::ImportFailure::UnknownArea(id) => {
                ApiError::InvalidField { field: "area".into(), message: say::field::no_such_area(id) }
            }
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
        let lang = Lang::current();
        let message = self.message(lang);
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
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, self.details(lang)) {
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

#[cfg(test)]
mod tests {
    //! Every variant has its words in both languages: the test that fails when one is missing.

    use super::*;
    use crate::messages::assert_speaks_both;
    use crate::roster::import::Problem;

    /// One of each variant. `index` is exhaustive, so a new variant fails to compile until it
    /// has an index, and `VARIANTS` (bumped with it) fails the test until it has a sample.
    fn every_api_error() -> Vec<ApiError> {
        let said = || Said::new("中文", "English");
        let problem = Problem::new(12, "身份证号", "1101…0021", "id_invalid", crate::messages::import::id_missing());
        vec![
            ApiError::Unauthorized,
            ApiError::Forbidden(Role::GridMember),
            ApiError::OutOfScope(said()),
            ApiError::LastAdmin,
            ApiError::PhoneTaken { other: 10 },
            ApiError::PointNameTaken { other: 2 },
            ApiError::PairingCodeInvalid,
            ApiError::SignInFailed,
            ApiError::TooManyAttempts(30),
            ApiError::NotFound { what: "action", id: "7".into() },
            ApiError::MethodNotAllowed { method: "PUT".into() },
            ApiError::WebSocketRequired,
            ApiError::InvalidJson("expected value at line 1 column 1".into()),
            ApiError::InvalidField { field: "tube".into(), message: said() },
            ApiError::InvalidPathParam { field: "id".into(), value: "x".into(), whole: true },
            ApiError::InvalidQueryParam { field: "limit".into(), problem: "invalid digit".into() },
            ApiError::NotAnObject,
            ApiError::NilEventId { field: "event_id".into() },
            ApiError::NotATube { field: "tube".into(), shown: "??".into(), max: 32 },
            ApiError::NoteTooLong { field: "events[0].note".into(), max: 500 },
            ApiError::DeviceTimeAhead { field: "device_time".into() },
            ApiError::DeviceTimeBeforePlan {
                field: "device_time".into(),
                planned: time::macros::date!(2026 - 12 - 01),
            },
            ApiError::CloseBeforeOpen,
            ApiError::BodyTooLarge { limit: 1024 },
            ApiError::SheetTooLarge { limit: 1024 },
            ApiError::Rejected(Rejection::Closed),
            ApiError::RejectedBatch(vec![(0, Rejection::Closed)]),
            ApiError::IdReused { index: 0, client_id: uuid::Uuid::nil(), action_id: 1 },
            ApiError::IdReusedOtherwise { index: 0, client_id: uuid::Uuid::nil() },
            ApiError::RosterInvalid(vec![problem.clone()]),
            ApiError::ResultsInvalid(vec![problem]),
            ApiError::FileUnreadable(said()),
            ApiError::RemovalsUnconfirmed(Box::default()),
            ApiError::Unavailable,
            ApiError::Internal("cause".into()),
            ApiError::MalformedCode(crate::cards::MalformedCode::Length(8)),
            ApiError::UnknownCode,
            ApiError::CodeReissued,
        ]
    }

    const VARIANTS: usize = 38;

    fn index(e: &ApiError) -> usize {
        match e {
            ApiError::Unauthorized => 0,
            ApiError::Forbidden(_) => 1,
            ApiError::OutOfScope(_) => 2,
            ApiError::LastAdmin => 3,
            ApiError::PairingCodeInvalid => 4,
            ApiError::SignInFailed => 5,
            ApiError::TooManyAttempts(_) => 6,
            ApiError::NotFound { .. } => 7,
            ApiError::MethodNotAllowed { .. } => 8,
            ApiError::WebSocketRequired => 9,
            ApiError::InvalidJson(_) => 10,
            ApiError::InvalidField { .. } => 11,
            ApiError::InvalidPathParam { .. } => 12,
            ApiError::InvalidQueryParam { .. } => 13,
            ApiError::NotAnObject => 14,
            ApiError::NilEventId { .. } => 15,
            ApiError::NotATube { .. } => 16,
            ApiError::DeviceTimeAhead { .. } => 17,
            ApiError::DeviceTimeBeforePlan { .. } => 18,
            ApiError::CloseBeforeOpen => 19,
            ApiError::BodyTooLarge { .. } => 20,
            ApiError::SheetTooLarge { .. } => 21,
            ApiError::Rejected(_) => 22,
            ApiError::RejectedBatch(_) => 23,
            ApiError::IdReused { .. } => 24,
            ApiError::IdReusedOtherwise { .. } => 25,
            ApiError::RosterInvalid(_) => 26,
            ApiError::FileUnreadable(_) => 27,
            ApiError::RemovalsUnconfirmed(_) => 28,
            ApiError::Unavailable => 29,
            ApiError::Internal(_) => 30,
            ApiError::PhoneTaken { .. } => 31,
            ApiError::PointNameTaken { .. } => 32,
            ApiError::NoteTooLong { .. } => 33,
            ApiError::MalformedCode(_) => 34,
            ApiError::UnknownCode => 35,
            ApiError::CodeReissued => 36,
            ApiError::ResultsInvalid(_) => 37,
        }
    }

    #[test]
    fn every_api_error_speaks_chinese_and_english() {
        let all = every_api_error();
        let mut seen: Vec<usize> = all.iter().map(index).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..VARIANTS).collect::<Vec<_>>(), "one sample of each ApiError variant");
        for e in &all {
            let (zh, en) = (e.message(Lang::Zh), e.message(Lang::En));
            assert_speaks_both(e.code(), &zh, &en);
            assert_eq!(e.to_string(), en, "Display is the English");
        }
    }
}
