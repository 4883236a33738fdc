//! What an event must satisfy before it is appended. The writer asks these questions of
//! the live state (plus what the same batch has already changed), so a refused event
//! never reaches the log.

use super::Seq;
use super::event::Overdue;
use super::event::{Chase, EventBody, LabResult, Resolution, TUBE_SIZES};
use super::fold::{ActionState, Phase};
use super::tubes::{FlagState, Member};
use crate::messages::Lang;
use crate::roster::{HouseholdId, IdNumber, NodeId, PointId, ResidentId, StaffId};
use std::collections::{HashMap, HashSet};

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
    /// A walk-in whose ID number is a resident's: sample the resident instead.
    OnTheRoster(ResidentId),
    UnknownTube(String),
    TubeAtAnotherPoint(String),
    TubeClosed(String),
    TubeFull(String, u8),
    /// The person is in another open tube already (or this one).
    InAnotherTube(String),
    TubeExists(String),
    BadTubeSize(u8),
    /// A flagged resident's re-test is a single tube.
    RetestNeedsSingleTube(ResidentId),
    ResultAlreadyEntered(String),
    UnknownWalkIn(Seq),
    WalkInAlreadyResolved(Seq),
    /// Confirming or merging a walk-in names the resident they are.
    ResolutionNeedsResident,
    /// A call-up that reaches nobody (no staff in those areas, of those roles).
    EmptyCallUp,
    UnknownCallUp(Seq),
    /// The chase was started already (its start is one moment of the night).
    ChaseAlreadyStarted,
    /// An escalation of something no longer overdue (sampled, exempt, answered).
    NotOverdue,
    /// An escalation to a level it has reached already: each climbs once per level.
    AlreadyEscalated(u8),
    UnknownStaff(StaffId),
    UnknownNode(NodeId),
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
            Rejection::OnTheRoster(id) => say::on_the_roster(*id, lang),
            Rejection::UnknownTube(t) => say::unknown_tube(t, lang),
            Rejection::TubeAtAnotherPoint(t) => say::tube_at_another_point(t, lang),
            Rejection::TubeClosed(t) => say::tube_closed(t, lang),
            Rejection::TubeFull(t, size) => say::tube_full(t, *size, lang),
            Rejection::InAnotherTube(t) => say::in_another_tube(t, lang),
            Rejection::TubeExists(t) => say::tube_exists(t, lang),
            Rejection::BadTubeSize(size) => say::bad_tube_size(*size, lang),
            Rejection::RetestNeedsSingleTube(id) => say::retest_needs_single_tube(*id, lang),
            Rejection::ResultAlreadyEntered(t) => say::result_already_entered(t, lang),
            Rejection::UnknownWalkIn(seq) => say::unknown_walk_in(*seq, lang),
            Rejection::WalkInAlreadyResolved(seq) => say::walk_in_already_resolved(*seq, lang),
            Rejection::ResolutionNeedsResident => say::resolution_needs_resident(lang),
            Rejection::EmptyCallUp => say::empty_call_up(lang),
            Rejection::UnknownCallUp(seq) => say::unknown_call_up(*seq, lang),
            Rejection::ChaseAlreadyStarted => say::chase_already_started(lang),
            Rejection::NotOverdue => say::not_overdue(lang),
            Rejection::AlreadyEscalated(level) => say::already_escalated(*level, lang),
            Rejection::UnknownStaff(id) => say::unknown_staff(*id, lang),
            Rejection::UnknownNode(id) => say::unknown_node(*id, lang),
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
    /// Tubes the batch opened (code → point, size), closed, filled (code → people added)
    /// and gave results; people it put into open tubes; walk-ins it resolved; the tube size
    /// it set.
    opened: HashMap<String, (PointId, u8)>,
    closed: HashSet<String>,
    filled: HashMap<String, usize>,
    tubed: HashSet<Who>,
    results: HashMap<String, LabResult>,
    resolved: HashSet<Seq>,
    tube_size: Option<u8>,
    /// Escalations (what, level) the batch appends, and whether it started the chase.
    escalated: HashSet<(Overdue, u8)>,
    chase_started: bool,
}

/// A person as the rules tell them apart within a batch: a resident, or a walk-in by the
/// key of their ID number (one the batch itself may have registered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Resident(ResidentId),
    WalkIn(u64),
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
            EventBody::ResidentSampled { resident_id, point_id, tube, .. } => {
                self.sampling_at(phase, *point_id)?;
                // Never refuse a swab: a resident from outside the scope is sampled too,
                // and counted apart. Only who is not on the roster at all is refused.
                let Some(idx) = self.roster.resident_idx(*resident_id) else {
                    return Err(Rejection::UnknownResident(*resident_id));
                };
                if self.status(*resident_id).is_none() && self.roster.is_removed(*resident_id) {
                    return Err(Rejection::Removed(*resident_id));
                }
                if let Some(code) = tube {
                    let member = Member::Resident(idx as u32);
                    let flagged = self.flag(member).is_some_and(|f| f.state == FlagState::Retest);
                    let single = self.tube_fits(code, *point_id, Some(member), Who::Resident(*resident_id), pending)?;
                    if flagged && !single {
                        return Err(Rejection::RetestNeedsSingleTube(*resident_id));
                    }
                    *pending.filled.entry(code.clone()).or_insert(0) += 1;
                    pending.tubed.insert(Who::Resident(*resident_id));
                }
                Ok(())
            }
            EventBody::WalkInSampled { walk_in, point_id, tube } => {
                self.sampling_at(phase, *point_id)?;
                // The edge checked the number; a log written otherwise folds it as nothing.
                let Ok(number) = IdNumber::parse(&walk_in.id_number) else { return Ok(()) };
                if let Some(r) = self.roster.resident_by_id_number(&number) {
                    return Err(Rejection::OnTheRoster(r));
                }
                if let Some(code) = tube {
                    let key = number.key();
                    let member = self.walk_ins.by_key(key).map(Member::WalkIn);
                    self.tube_fits(code, *point_id, member, Who::WalkIn(key), pending)?;
                    *pending.filled.entry(code.clone()).or_insert(0) += 1;
                    pending.tubed.insert(Who::WalkIn(key));
                }
                Ok(())
            }
            EventBody::WalkInResolved { walk_in_seq, resolution, resident_id, .. } => {
                let Some(i) = self.walk_ins.by_seq(*walk_in_seq) else {
                    return Err(Rejection::UnknownWalkIn(*walk_in_seq));
                };
                if self.walk_ins.list[i as usize].resolved.is_some() || !pending.resolved.insert(*walk_in_seq) {
                    return Err(Rejection::WalkInAlreadyResolved(*walk_in_seq));
                }
                match (resolution, resident_id) {
                    (Resolution::Rejected, _) => Ok(()),
                    (_, None) => Err(Rejection::ResolutionNeedsResident),
                    (_, Some(r)) if self.roster.resident_idx(*r).is_none() => Err(Rejection::UnknownResident(*r)),
                    (_, Some(_)) => Ok(()),
                }
            }
            EventBody::TubeOpened { tube, point_id, size } => {
                self.sampling_at(phase, *point_id)?;
                let size = size.or(pending.tube_size).unwrap_or(self.tube_size);
                if !TUBE_SIZES.contains(&size) {
                    return Err(Rejection::BadTubeSize(size));
                }
                if self.tube(tube).is_some() || pending.opened.contains_key(tube) {
                    return Err(Rejection::TubeExists(tube.clone()));
                }
                pending.opened.insert(tube.clone(), (*point_id, size));
                Ok(())
            }
            EventBody::TubeClosed { tube } => {
                not_closed()?;
                let open = match (self.tube(tube), pending.opened.contains_key(tube)) {
                    (Some(t), _) => !self.tubes[t as usize].closed,
                    (None, true) => true,
                    (None, false) => return Err(Rejection::UnknownTube(tube.clone())),
                };
                if !open || !pending.closed.insert(tube.clone()) {
                    return Err(Rejection::TubeClosed(tube.clone()));
                }
                Ok(())
            }
            EventBody::TubeSizeSet { size } => {
                not_closed()?;
                if !TUBE_SIZES.contains(size) {
                    return Err(Rejection::BadTubeSize(*size));
                }
                pending.tube_size = Some(*size);
                Ok(())
            }
            EventBody::TubeResult { tube, result } => {
                // A lab answers in the morning, after the action closed: allowed then too.
                let Some(t) = self.tube(tube) else {
                    return Err(Rejection::UnknownTube(tube.clone()));
                };
                let entered = self.tubes[t as usize].result.or_else(|| pending.results.get(tube).copied());
                match entered {
                    Some(r) if r != *result => Err(Rejection::ResultAlreadyEntered(tube.clone())),
                    _ => {
                        pending.results.insert(tube.clone(), *result);
                        Ok(())
                    }
                }
            }
            EventBody::CallUpSent { nodes, .. } => {
                not_closed()?;
                // No area, or one the roster does not have: it reaches nobody.
                if nodes.is_empty() || nodes.iter().any(|n| self.roster.node_idx(*n).is_none()) {
                    return Err(Rejection::EmptyCallUp);
                }
                Ok(())
            }
            EventBody::CallUpAnswered { call_up_seq, .. } => {
                // An answer after the close is still an answer (a phone that was offline).
                match self.call_up(*call_up_seq) {
                    Some(_) => Ok(()),
                    None => Err(Rejection::UnknownCallUp(*call_up_seq)),
                }
            }
            EventBody::EscalationSet { .. } => not_closed(),
            EventBody::ChaseStarted => {
                match phase {
                    Phase::Planned => return Err(Rejection::NotOpen),
                    Phase::Closed => return Err(Rejection::Closed),
                    Phase::Open => {}
                }
                if self.chase_started.is_some() || std::mem::replace(&mut pending.chase_started, true) {
                    return Err(Rejection::ChaseAlreadyStarted);
                }
                Ok(())
            }
            EventBody::Escalated { about, level } => {
                not_closed()?;
                let reached = match *about {
                    Overdue::Resident { resident_id } => {
                        resident(resident_id)?;
                        let idx = self.roster.resident_idx(resident_id).expect("checked just above");
                        if !self.is_missing(idx) {
                            return Err(Rejection::NotOverdue);
                        }
                        self.escalated(idx).map_or(0, |c| c.level)
                    }
                    Overdue::CallUp { call_up_seq, staff_id } => {
                        let c = self.call_up(call_up_seq).ok_or(Rejection::UnknownCallUp(call_up_seq))?;
                        match c.answers.get(&staff_id) {
                            None => return Err(Rejection::UnknownStaff(staff_id)),
                            Some(Some(_)) => return Err(Rejection::NotOverdue),
                            Some(None) => {}
                        }
                        c.escalated.get(&staff_id).map_or(0, |e| e.level)
                    }
                };
                if *level == 0 || *level > super::event::ESCALATION_LEVELS {
                    return Err(Rejection::NotOverdue);
                }
                if reached >= *level || !pending.escalated.insert((*about, *level)) {
                    return Err(Rejection::AlreadyEscalated(*level));
                }
                Ok(())
            }
            EventBody::HouseholdsHanded { households, to } => {
                not_closed()?;
                for h in households {
                    if self.roster.household(*h).is_none() {
                        return Err(Rejection::UnknownHousehold(*h));
                    }
                    if self.household_residents(*h).is_empty() {
                        return Err(Rejection::HouseholdOutOfScope(*h));
                    }
                }
                match to {
                    Some(s) if self.roster.staff_member(*s).is_none_or(|m| m.retired) => {
                        Err(Rejection::UnknownStaff(*s))
                    }
                    _ => Ok(()),
                }
            }
            EventBody::AreaSignedOff { node_id, .. } => {
                match phase {
                    Phase::Planned => return Err(Rejection::NotOpen),
                    Phase::Closed => return Err(Rejection::Closed),
                    Phase::Open => {}
                }
                match self.roster.node_idx(*node_id) {
                    Some(_) => Ok(()),
                    None => Err(Rejection::UnknownNode(*node_id)),
                }
            }
            EventBody::QueueReported { point_id, .. } => {
                not_closed()?;
                if !self.points.contains_key(point_id) {
                    return Err(Rejection::UnknownPoint(*point_id));
                }
                Ok(())
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

    /// Whether a point may sample now: the action is open and uses it.
    fn sampling_at(&self, phase: Phase, point: PointId) -> Result<(), Rejection> {
        match phase {
            Phase::Planned => return Err(Rejection::NotOpen),
            Phase::Closed => return Err(Rejection::Closed),
            Phase::Open => {}
        }
        if !self.points.contains_key(&point) {
            return Err(Rejection::UnknownPoint(point));
        }
        Ok(())
    }

    /// Whether one more person (`member` as the state knows them, `who` as the batch does)
    /// fits into the tube `code` at `point`: open there, not full, and they in no open tube.
    /// Answers whether it is a single tube.
    fn tube_fits(
        &self,
        code: &str,
        point: PointId,
        member: Option<Member>,
        who: Who,
        pending: &Pending,
    ) -> Result<bool, Rejection> {
        let (at, size, held, closed) = match (self.tube(code), pending.opened.get(code)) {
            (Some(t), _) => {
                let t = &self.tubes[t as usize];
                (t.point, t.size, t.members.len(), t.closed)
            }
            (None, Some(&(point, size))) => (point, size, 0, false),
            (None, None) => return Err(Rejection::UnknownTube(code.to_owned())),
        };
        if at != point {
            return Err(Rejection::TubeAtAnotherPoint(code.to_owned()));
        }
        // A tube closes by itself when full: say full, which is why.
        if held + pending.filled.get(code).copied().unwrap_or(0) >= usize::from(size) {
            return Err(Rejection::TubeFull(code.to_owned(), size));
        }
        if closed || pending.closed.contains(code) {
            return Err(Rejection::TubeClosed(code.to_owned()));
        }
        let open = member.and_then(|m| self.open_tube_of(m)).map(|t| self.tubes[t as usize].code.clone());
        if let Some(other) = open {
            return Err(Rejection::InAnotherTube(other));
        }
        if pending.tubed.contains(&who) {
            return Err(Rejection::InAnotherTube(code.to_owned()));
        }
        Ok(size == 1)
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
            | Rejection::VisitAlreadyTaken(_)
            | Rejection::OnTheRoster(_)
            | Rejection::UnknownTube(_)
            | Rejection::TubeAtAnotherPoint(_)
            | Rejection::TubeClosed(_)
            | Rejection::TubeFull(..)
            | Rejection::InAnotherTube(_)
            | Rejection::TubeExists(_)
            | Rejection::BadTubeSize(_)
            | Rejection::RetestNeedsSingleTube(_)
            | Rejection::ResultAlreadyEntered(_)
            | Rejection::UnknownWalkIn(_)
            | Rejection::WalkInAlreadyResolved(_)
            | Rejection::ResolutionNeedsResident
            | Rejection::EmptyCallUp
            | Rejection::UnknownCallUp(_)
            | Rejection::ChaseAlreadyStarted
            | Rejection::NotOverdue
            | Rejection::AlreadyEscalated(_)
            | Rejection::UnknownStaff(_)
            | Rejection::UnknownNode(_) => (),
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
            Rejection::OnTheRoster(17),
            Rejection::UnknownTube("T-1".into()),
            Rejection::TubeAtAnotherPoint("T-1".into()),
            Rejection::TubeClosed("T-1".into()),
            Rejection::TubeFull("T-1".into(), 10),
            Rejection::InAnotherTube("T-1".into()),
            Rejection::TubeExists("T-1".into()),
            Rejection::BadTubeSize(7),
            Rejection::RetestNeedsSingleTube(17),
            Rejection::ResultAlreadyEntered("T-1".into()),
            Rejection::UnknownWalkIn(9),
            Rejection::WalkInAlreadyResolved(9),
            Rejection::ResolutionNeedsResident,
            Rejection::EmptyCallUp,
            Rejection::UnknownCallUp(4),
            Rejection::ChaseAlreadyStarted,
            Rejection::NotOverdue,
            Rejection::AlreadyEscalated(1),
            Rejection::UnknownStaff(12),
            Rejection::UnknownNode(4),
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
