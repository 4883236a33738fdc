//! Call-ups (召集): an instruction to the staff of a part of the area tree, and each one's
//! answer (收到 / 有困难) with the time they gave it. Who is called up is fixed when the
//! call-up is sent, from the roster then: a staff member added later was not called. Folded
//! in [`super::fold`]; nothing here does I/O.

use super::Seq;
use super::escalation::Climb;
use super::event::Answer;
use crate::roster::{NodeId, Role, Roster, StaffId};
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;

/// One call-up as the log built it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallUp {
    pub seq: Seq,
    pub by: StaffId,
    pub at: OffsetDateTime,
    pub text: String,
    pub place: String,
    pub nodes: Vec<NodeId>,
    pub roles: Vec<Role>,
    /// Everyone called up, and their answer so far (none: not yet).
    pub answers: BTreeMap<StaffId, Option<Reply>>,
    /// Those whose silence climbed the chain, and how far (cleared by their answer).
    pub escalated: BTreeMap<StaffId, Climb>,
}

/// A staff member's answer: the latest by device time (the later in the log on a tie).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub answer: Answer,
    pub reason: String,
    pub at: OffsetDateTime,
    pub seq: Seq,
}

impl CallUp {
    /// Those called up who have not answered and whose silence climbed the chain.
    pub fn overdue(&self) -> impl Iterator<Item = (StaffId, &Climb)> + '_ {
        self.escalated.iter().filter(|(s, _)| self.answers.get(s).is_some_and(Option::is_none)).map(|(s, c)| (*s, c))
    }

    /// How many answered, and how many of those cannot come.
    pub fn answered(&self) -> (usize, usize) {
        let replies = self.answers.values().flatten();
        let cannot = replies.clone().filter(|r| r.answer == Answer::Cannot).count();
        (replies.count(), cannot)
    }
}

/// The staff a call-up to `nodes` (of `roles`, or every role when empty) reaches: everyone
/// on duty who answers for an area in those subtrees, and the operators of the points that
/// serve them; never the sender.
pub fn recipients(roster: &Roster, nodes: &[NodeId], roles: &[Role], sender: StaffId) -> Vec<StaffId> {
    let tops: HashSet<usize> = nodes.iter().filter_map(|n| roster.node_idx(*n)).collect();
    let inside = |node: &NodeId| roster.node_idx(*node).is_some_and(|i| roster.in_subtree_of(i, &tops));
    roster
        .staff()
        .iter()
        .filter(|s| !s.retired && s.id != sender && (roles.is_empty() || roles.contains(&s.role)))
        .filter(|s| {
            s.nodes.iter().any(inside)
                || s.point_id.and_then(|p| roster.point(p)).is_some_and(|p| p.nodes.iter().any(inside))
        })
        .map(|s| s.id)
        .collect()
}
