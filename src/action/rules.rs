//! What an event must satisfy before it is appended. The writer asks these questions of
//! the live state (plus what the same batch has already changed), so a refused event
//! never reaches the log.

use super::Seq;
use super::event::Chase;
use super::event::EventBody;
use super::fold::{ActionState, Phase};
use crate::messages::Lang;
use crate::roster::{HouseholdId, PointId, ResidentId};
use std::collections::HashSet;

/// Why an event was refused. Each variant has a stable machine code in the HTTP layer,
/// and its words in [`crate::messages::api::rejection`]; `Display` is the English, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    UnknownResident(ResidentId),
    UnknownIdNumber,
    /// A resident outside the area this action covers.
    OutOfScope(ResidentId),
    /// A resident removed from the roster whom this action has not recorded.
    Removed(ResidentId),
    UnknownPoint(PointId),
    NotOpen,
    Closed,
    AlreadyOpen,
    NotCorrectable(Seq),
    EmptyReason,
    /// A tick saying "away": away is an exemption (`exemption_set`, reason `away`).
    AwayIsAnExemption,
    UnknownHousehold(HouseholdId),
    /// A household with nobody in the area this action covers.
    HouseholdOutOfScope(HouseholdId),
    /// A visit taken for a resident who is not waiting for one (not bedridden, sampled).
    NoVisitPending(ResidentId),
    /// Another medic took this visit first.
    VisitAlreadyTaken(ResidentId),
}

impl Rejection {
    /// What to tell the person, in their language: the catalogue's words for this refusal.
    pub fn message(&self, lang: Lang) -> String {
        use crate::messages::api::rejected as say;
        match self {
            Rejection::UnknownResident(id) => say::unknown_resident(*id, lang),
            Rejection::UnknownIdNumber => say::unknown_id_number(lang),
            Rejection::OutOfScope(id) => say::out_of_scope(*id, lang),
            Rejection::Removed(id) => say::removed(*id, lang),
            Rejection::UnknownPoint(id) => say::unknown_point(*id, lang),
            Rejection::NotOpen => say::not_open(lang),
            Rejection::Closed => say::closed(lang),
            Rejection::AlreadyOpen => say::already_open(lang),
            Rejection::NotCorrectable(seq) => say::not_correctable(*seq, lang),
            Rejection::EmptyReason => say::empty_reason(lang),
            Rejection::AwayIsAnExemption => say::away_is_an_exemption(lang),
            Rejection::UnknownHousehold(id) => say::unknown_household(*id, lang),
            Rejection::HouseholdOutOfScope(id) => say::household_out_of_scope(*id, lang),
            Rejection::NoVisitPending(id) => say::no_visit_pending(*id, lang),
            Rejection::VisitAlreadyTaken(id) => say::visit_already_taken(*id, lang),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for Rejection {}

/// Effects of events earlier in the same batch that the state does not show yet.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    phase: Option<Phase>,
    corrected: HashSet<Seq>,
    /// Residents whose visit an earlier event of the batch took.
    visits: HashSet<ResidentId>,
}

impl ActionState {
    /// Checks `body` against this state and the batch so far; on success, records its
    /// effect in `pending` so the next event of the batch sees it.
    pub fn check(&self, body: &EventBody, pending: &mut Pending) -> Result<(), Rejection> {
        let phase = pending.phase.unwrap_or(self.phase);
        let not_closed = || {
            if phase == Phase::Closed { Err(Rejection::Closed) } else { Ok(()) }
        };
        let resident = |id: ResidentId| match self.roster.resident_idx(id) {
            None => Err(Rejection::UnknownResident(id)),
            Some(_) if self.status(id).is_none() && self.roster.is_removed(id) => Err(Rejection::Removed(id)),
            Some(_) if self.status(id).is_none() => Err(Rejection::OutOfScope(id)),
            Some(_) => Ok(()),
        };
        match body {
            EventBody::ActionOpened => match phase {
                Phase::Planned => {
                    pending.phase = Some(Phase::Open);
                    Ok(())
                }
                Phase::Open => Err(Rejection::AlreadyOpen),
                Phase::Closed => Err(Rejection::Closed),
            },
            EventBody::ActionClosed => {
                not_closed()?;
                pending.phase = Some(Phase::Closed);
                Ok(())
            }
            EventBody::ResidentSampled { resident_id, point_id, .. } => {
                match phase {
                    Phase::Planned => return Err(Rejection::NotOpen),
                    Phase::Closed => return Err(Rejection::Closed),
                    Phase::Open => {}
                }
                if !self.points.contains_key(point_id) {
                    return Err(Rejection::UnknownPoint(*point_id));
                }
                resident(*resident_id)
            }
            EventBody::ExemptionSet { resident_id, .. } | EventBody::ExemptionCleared { resident_id } => {
                not_closed()?;
                resident(*resident_id)
            }
            EventBody::Correction { target_seq, reason } => {
                not_closed()?;
                if reason.trim().is_empty() {
                    return Err(Rejection::EmptyReason);
                }
                if !self.correctable(*target_seq) || !pending.corrected.insert(*target_seq) {
                    return Err(Rejection::NotCorrectable(*target_seq));
                }
                Ok(())
            }
            EventBody::ResidentTicked { resident_id, chase, .. } => {
                not_closed()?;
                if *chase == Chase::Away {
                    return Err(Rejection::AwayIsAnExemption);
                }
                resident(*resident_id)
            }
            EventBody::HouseholdTicked { household_id, chase, .. } => {
                not_closed()?;
                if *chase == Chase::Away {
                    return Err(Rejection::AwayIsAnExemption);
                }
                if self.roster.household(*household_id).is_none() {
                    return Err(Rejection::UnknownHousehold(*household_id));
                }
                if self.household_residents(*household_id).is_empty() {
                    return Err(Rejection::HouseholdOutOfScope(*household_id));
                }
                Ok(())
            }
            EventBody::VisitWaitSet { .. } => not_closed(),
            EventBody::VisitTaken { resident_id } => {
                not_closed()?;
                resident(*resident_id)?;
                let idx = self.roster.resident_idx(*resident_id).expect("checked just above");
                let taken = self.chased(idx).is_some_and(|c| c.visit.is_some()) || pending.visits.contains(resident_id);
                if taken && self.status(*resident_id) == Some(super::Status::Missing) {
                    return Err(Rejection::VisitAlreadyTaken(*resident_id));
                }
                if !self.visit_pending(idx) {
                    return Err(Rejection::NoVisitPending(*resident_id));
                }
                pending.visits.insert(*resident_id);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::assert_speaks_both;

    fn every_rejection() -> Vec<Rejection> {
        // The match makes a new variant a compile error here until it is listed below.
        let listed = |r: &Rejection| match r {
            Rejection::UnknownResident(_)
            | Rejection::UnknownIdNumber
            | Rejection::OutOfScope(_)
            | Rejection::Removed(_)
            | Rejection::UnknownPoint(_)
            | Rejection::NotOpen
            | Rejection::Closed
            | Rejection::AlreadyOpen
            | Rejection::NotCorrectable(_)
            | Rejection::EmptyReason
            | Rejection::AwayIsAnExemption
            | Rejection::UnknownHousehold(_)
            | Rejection::HouseholdOutOfScope(_)
            | Rejection::NoVisitPending(_)
            | Rejection::VisitAlreadyTaken(_) => (),
        };
        let all = vec![
            Rejection::UnknownResident(17),
            Rejection::UnknownIdNumber,
            Rejection::OutOfScope(17),
            Rejection::Removed(17),
            Rejection::UnknownPoint(3),
            Rejection::NotOpen,
            Rejection::Closed,
            Rejection::AlreadyOpen,
            Rejection::NotCorrectable(42),
            Rejection::EmptyReason,
            Rejection::AwayIsAnExemption,
            Rejection::UnknownHousehold(5),
            Rejection::HouseholdOutOfScope(5),
            Rejection::NoVisitPending(17),
            Rejection::VisitAlreadyTaken(17),
        ];
        all.iter().for_each(listed);
        all
    }

    #[test]
    fn every_refusal_speaks_chinese_and_english() {
        for r in every_rejection() {
            assert_speaks_both(&format!("{r:?}"), &r.message(Lang::Zh), &r.message(Lang::En));
        }
    }
}
