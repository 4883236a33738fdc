//! The chain of command's facts as the fold keeps them: the escalation rule, how far an
//! overdue case has climbed, households handed to substitutes, and areas signed off
//! (层层上报). Types only; the fold ([`super::fold`]) builds them and [`super::escalation`]
//! reads them.

use super::Seq;
use super::event::{CALL_UP_MINUTES, Chase, ESCALATE_MINUTES};
use crate::roster::{HouseholdId, NodeId, StaffId};
use time::OffsetDateTime;

/// How long each level has (the chief's call, [`super::EventBody::EscalationSet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub minutes: u32,
    pub call_up_minutes: u32,
    /// When the chase starts by itself, if the chief has not started it before.
    pub chase_at: Option<OffsetDateTime>,
}

impl Default for Rule {
    fn default() -> Self {
        Self { minutes: ESCALATE_MINUTES, call_up_minutes: CALL_UP_MINUTES, chase_at: None }
    }
}

/// A resident's (or a call-up answer's) escalation so far: the level reached and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Climb {
    pub level: u8,
    /// The deadline that made it climb (the event's device time).
    pub at: OffsetDateTime,
    pub seq: Seq,
}

/// Households handed to a substitute (or back), as the log says.
#[derive(Debug, Clone, PartialEq)]
pub struct Handover {
    pub seq: Seq,
    pub by: StaffId,
    pub at: OffsetDateTime,
    pub households: Vec<HouseholdId>,
    /// The substitute; none: back to the roster's own person.
    pub to: Option<StaffId>,
    /// Who answered for them before, per household (in the same order).
    pub from: Vec<Option<StaffId>>,
}

/// A head's report that their area is done, with those still missing then.
#[derive(Debug, Clone, PartialEq)]
pub struct SignOff {
    pub seq: Seq,
    pub node_id: NodeId,
    pub by: StaffId,
    pub at: OffsetDateTime,
    pub note: String,
    /// When it was due, by the rule as it stood when it was signed (the chase's start
    /// plus the level's minutes); none when the chase had not started.
    pub due: Option<OffsetDateTime>,
    /// The residents (by roster index) missing when it was signed, with their last chase
    /// status then (none: nobody reached them).
    pub except: Vec<(u32, Option<Chase>)>,
}
