//! Actions and what happens in them: the event types ([`event`]), the one pure fold
//! that turns a log of events into live state ([`fold`]), the rules an event must
//! pass before it is appended ([`rules`]) and the views pushed to screens ([`view`]);
//! call-ups ([`callups`]), the chain of command's facts ([`chain`]) and who an overdue
//! case climbs to and when ([`escalation`]), the chase ([`chase`]), pooled tubes ([`tubes`]).
//! Nothing here does I/O, reads the clock or takes a lock: the store and the writer
//! call in with rows, and the same code rebuilds state at start-up and feeds reports.

pub mod callups;
pub mod chain;
pub mod chase;
pub mod escalation;
pub mod event;
pub mod fold;
pub mod rules;
pub mod tubes;
pub mod view;

#[cfg(test)]
mod tests;

/// The night tests outside the fold's own start from: the demo village's testing action,
/// opened, with events applied as the writer would (checked, then folded).
#[cfg(test)]
pub(crate) mod night {
    use super::{Action, ActionKind, ActionState, Event, EventBody, NewEvent};
    use crate::roster::{Roster, StaffId};
    use std::sync::Arc;
    use time::OffsetDateTime;

    /// The village of `seed`, its action opened by the chief at `opened`.
    pub fn opened(seed: u64, opened: OffsetDateTime) -> ActionState {
        let v = crate::demo::village::generate(seed);
        let roster = Arc::new(Roster::new(v.roster).unwrap());
        let action = Action {
            id: 1,
            kind: ActionKind::Testing,
            name: v.action.name,
            scope: v.action.scope,
            points: v.action.points,
            planned_open: None,
            planned_close: None,
            created_at: opened,
        };
        let mut state = ActionState::new(action, roster);
        apply(&mut state, 1, opened, EventBody::ActionOpened);
        state
    }

    /// Checks `body` by the rules and folds it as the next event, made by `actor` at `at`.
    pub fn apply(state: &mut ActionState, actor: StaffId, at: OffsetDateTime, body: EventBody) {
        let seq = state.seq + 1;
        let new = NewEvent {
            action_id: state.action.id,
            client_id: uuid::Uuid::from_u128(seq as u128),
            actor,
            device_time: at,
            server_time: at,
            body,
        };
        state.check(&new.body, &mut Default::default()).expect("the rules allow it");
        state.apply(&Event { seq, new });
    }
}

pub use event::{Answer, Chase, Event, EventBody, ExemptReason, LabResult, NewEvent, Overdue, Resolution, WalkIn};
pub use fold::{ActionState, Status};
pub use rules::Rejection;

use crate::roster::{NodeId, PointId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub type ActionId = i64;
/// An event's position in its action's log: 1, 2, 3 … with no gaps.
pub type Seq = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A whole-population testing round (全员核酸).
    Testing,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Testing => "testing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s == "testing").then_some(ActionKind::Testing)
    }
}

/// An action as planned: what it covers and where. What happened lives in the log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Action {
    pub id: ActionId,
    pub kind: ActionKind,
    pub name: String,
    /// Area nodes whose subtrees are in scope.
    pub scope: Vec<NodeId>,
    /// Sampling points taking part.
    pub points: Vec<PointId>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub planned_open: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub planned_close: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An action about to be created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub kind: ActionKind,
    pub name: String,
    pub scope: Vec<NodeId>,
    pub points: Vec<PointId>,
    pub planned_open: Option<OffsetDateTime>,
    pub planned_close: Option<OffsetDateTime>,
}
