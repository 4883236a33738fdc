//! The one event type. Every change of state in an action is one of these, appended
//! to the log with the id the client made when the person acted.

use super::{ActionId, Seq};
use crate::roster::{PointId, ResidentId, StaffId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why a resident in scope is not expected to be sampled. Counted apart, never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExemptReason {
    /// Away from the village (works or studies elsewhere).
    Away,
    /// In hospital or otherwise tested elsewhere.
    TestedElsewhere,
    Other,
}

/// What happened. The JSON form (`{"type": "resident_sampled", ...}`) is both the API's
/// and the log's, so a stored event reads the same as the request that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    ActionOpened,
    ActionClosed,
    /// A resident was sampled at a point (or at home by that point's team).
    ResidentSampled {
        resident_id: ResidentId,
        point_id: PointId,
        #[serde(default)]
        at_home: bool,
        /// The pooled tube (混管) the sample went into, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tube: Option<String>,
    },
    ExemptionSet {
        resident_id: ResidentId,
        reason: ExemptReason,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    ExemptionCleared {
        resident_id: ResidentId,
    },
    /// Undo a sample recorded by mistake (wrong person scanned), with the reason.
    Correction {
        target_seq: Seq,
        reason: String,
    },
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::ActionOpened => "action_opened",
            EventBody::ActionClosed => "action_closed",
            EventBody::ResidentSampled { .. } => "resident_sampled",
            EventBody::ExemptionSet { .. } => "exemption_set",
            EventBody::ExemptionCleared { .. } => "exemption_cleared",
            EventBody::Correction { .. } => "correction",
        }
    }
}

/// An event as a client asked for it, before the log gave it a position.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub action_id: ActionId,
    pub client_id: Uuid,
    pub actor: StaffId,
    /// When the person acted, by the device's clock (may be long ago for an offline queue).
    pub device_time: OffsetDateTime,
    /// When the server received it.
    pub server_time: OffsetDateTime,
    pub body: EventBody,
}

/// Times are kept to the microsecond, as the log stores them, so state folded from a
/// fresh request and state rebuilt from the log are equal to the last digit.
pub fn to_log_precision(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).expect("a smaller nanosecond is valid")
}

/// An event in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: Seq,
    pub new: NewEvent,
}
