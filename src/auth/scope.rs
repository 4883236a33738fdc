//! What a staff member answers for, resolved against the roster: the area subtrees
//! under their nodes (a head covers the subtree), or their sampling point. Every read
//! and write asks this before answering, and live views are cut down to it.

use crate::action::Action;
use crate::action::view::{Delta, Snapshot};
use crate::roster::{PointId, Role, Roster, Staff, StaffId};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub staff_id: StaffId,
    pub role: Role,
    /// Covers the whole roster (admins; chiefs and viewers placed at a root).
    pub all: bool,
    /// Roster indexes of the nodes whose subtrees are covered.
    roots: HashSet<usize>,
    /// Ids of the covered nodes no other covered node is above: their counts, summed,
    /// are this scope's totals.
    tops: HashSet<i64>,
    /// An operator's (or a medic team's) sampling point.
    pub point: Option<PointId>,
}

impl Scope {
    pub fn of(staff: &Staff, roster: &Roster) -> Self {
        let roots: HashSet<usize> = staff.nodes.iter().filter_map(|n| roster.node_idx(*n)).collect();
        let at_root = roots.iter().any(|&i| roster.nodes()[i].parent.is_none());
        let all =
            staff.role == Role::Admin || (at_root && matches!(staff.role, Role::Chief | Role::Viewer | Role::Medic));
        let tops = roots
            .iter()
            .filter(|&&r| !roster.ancestors(r).iter().rev().skip(1).any(|a| roots.contains(a)))
            .map(|&i| roster.nodes()[i].id)
            .collect();
        Self { staff_id: staff.id, role: staff.role, all, roots, tops, point: staff.point_id }
    }

    pub fn covers_node(&self, roster: &Roster, node_idx: usize) -> bool {
        self.all || roster.ancestors(node_idx).iter().any(|a| self.roots.contains(a))
    }

    pub fn covers_resident(&self, roster: &Roster, resident_idx: usize) -> bool {
        self.covers_node(roster, roster.resident_node_idx(resident_idx))
    }

    /// Whether the action is any of this staff member's business: its area overlaps
    /// theirs, or it uses their point.
    pub fn sees(&self, roster: &Roster, action: &Action) -> bool {
        if self.all {
            return true;
        }
        if self.point.is_some_and(|p| action.points.contains(&p)) {
            return true;
        }
        let action_roots: HashSet<usize> = action.scope.iter().filter_map(|n| roster.node_idx(*n)).collect();
        action_roots.iter().any(|&a| self.covers_node(roster, a))
            || self.roots.iter().any(|&r| roster.ancestors(r).iter().any(|x| action_roots.contains(x)))
    }

    pub fn covers_staff(&self, roster: &Roster, staff: StaffId) -> bool {
        staff == self.staff_id
            || roster.staff_member(staff).is_some_and(|s| {
                s.nodes.iter().filter_map(|n| roster.node_idx(*n)).any(|i| self.covers_node(roster, i))
            })
    }

    /// A snapshot cut down to this scope: only covered nodes, totals summed over them,
    /// only this scope's point and responsible staff; action-wide rates and the timeline
    /// are withheld, since they would tell what happens outside.
    pub fn snapshot(&self, roster: &Roster, mut s: Snapshot) -> Snapshot {
        if self.all {
            return s;
        }
        s.nodes.retain(|n| roster.node_idx(n.id).is_some_and(|i| self.covers_node(roster, i)));
        let (mut target, mut sampled, mut exempt) = (0, 0, 0);
        for n in s.nodes.iter().filter(|n| self.tops.contains(&n.id)) {
            target += n.target;
            sampled += n.sampled;
            exempt += n.exempt;
        }
        s.totals =
            crate::action::view::Totals { target, sampled, exempt, missing: target - sampled - exempt, scans: 0 };
        s.points.retain(|p| Some(p.id) == self.point);
        s.staff.retain(|st| self.covers_staff(roster, st.id));
        s.timeline.clear();
        self.pace(&mut s.pace);
        s
    }

    /// A delta cut down the same way, so that a scoped snapshot plus its deltas still
    /// adds up to the scoped snapshot at the end.
    pub fn delta(&self, roster: &Roster, mut d: Delta) -> Delta {
        if self.all {
            return d;
        }
        d.nodes.retain(|id, _| roster.node_idx(*id).is_some_and(|i| self.covers_node(roster, i)));
        let (mut sampled, mut exempt) = (0, 0);
        for id in &self.tops {
            if let Some(c) = d.nodes.get(id) {
                sampled += c.sampled;
                exempt += c.exempt;
            }
        }
        d.totals = crate::action::view::Totals { target: 0, sampled, exempt, missing: -sampled - exempt, scans: 0 };
        d.points.retain(|id, _| Some(*id) == self.point);
        d.staff.retain(|id, _| self.covers_staff(roster, *id));
        d.timeline = BTreeMap::new();
        self.pace(&mut d.pace);
        d
    }

    fn pace(&self, pace: &mut crate::action::view::Pace) {
        pace.rate_5 = 0.0;
        pace.rate_15 = 0.0;
        pace.eta = None;
        pace.points.retain(|id, _| Some(*id) == self.point);
    }
}
