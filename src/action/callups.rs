//! Call-ups (召集): an instruction to the staff of a part of the area tree, and each one's
//! answer (收到 / 有困难) with the time they gave it. Who is called up is fixed when the
//! call-up is sent, from the roster then: a staff member added later was not called. Folded
//! in [`super::fold`]; nothing here does I/O.

use super::Seq;
use super::chain::Climb;
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

    /// Of the staff `among` (ids, sorted, no repeats), how many this call-up called and how
    /// many of those have answered. Walks the shorter side: a phone's view (its owner alone)
    /// looks itself up instead of walking everyone called, which, for every phone's view on
    /// every push, was most of the server's time in a storm of 10,000 (BENCHMARKS.md).
    pub fn called_among(&self, among: &[StaffId]) -> (usize, usize) {
        let (mut called, mut answered) = (0, 0);
        let mut count = |reply: &Option<Reply>| {
            called += 1;
            answered += usize::from(reply.is_some());
        };
        if among.len() < self.answers.len() {
            among.iter().filter_map(|id| self.answers.get(id)).for_each(&mut count);
        } else {
            self.answers.iter().filter(|(id, _)| among.binary_search(id).is_ok()).for_each(|(_, r)| count(r));
        }
        (called, answered)
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn called_among_counts_the_same_whichever_side_it_walks() {
        let reply =
            |seq| Reply { answer: Answer::Received, reason: String::new(), at: datetime!(2022-04-22 23:40 UTC), seq };
        let c = CallUp {
            seq: 2,
            by: 1,
            at: datetime!(2022-04-22 23:36 UTC),
            text: "到村委会集合".into(),
            place: String::new(),
            nodes: vec![1],
            roles: Vec::new(),
            answers: (10..20).map(|id| (id, (id % 3 == 0).then(|| reply(id)))).collect(),
            escalated: BTreeMap::new(),
        };
        // Fewer staff than called (looked up): 12 and 13 called, 12 answered, 3 not called.
        // More (walked): all ten called, 12, 15 and 18 answered.
        assert_eq!(c.called_among(&[3, 12, 13]), (2, 1));
        let many: Vec<StaffId> = (0..40).collect();
        assert_eq!(c.called_among(&many), (10, 3));
        assert_eq!(c.called_among(&[]), (0, 0));
    }
}
