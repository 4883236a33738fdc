//! What a staff member answers for, resolved against the roster: the area subtrees
//! under their nodes (a head covers the subtree), or their sampling point. Every read
//! and write asks this before answering, and live views are cut down to it.

use crate::action::tubes::Member;
use crate::action::view::{CountsDelta, Delta, Pace, ResidentLive, Snapshot, Totals, add_minutes};
use crate::action::{Action, ActionState};
use crate::roster::{HouseholdId, NodeId, PointId, Role, Roster, Staff, StaffId};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// See [`Scope::view_key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ViewKey {
    All,
    Part { staff_id: StaffId, roots: Vec<usize>, point: Option<PointId> },
}

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
        let all = !staff.retired
            && (staff.role == Role::Admin
                || (at_root && matches!(staff.role, Role::Chief | Role::Viewer | Role::Medic | Role::Lab)));
        let tops = roots
            .iter()
            .filter(|&&r| !roster.ancestors(r).iter().rev().skip(1).any(|a| roots.contains(a)))
            .map(|&i| roster.nodes()[i].id)
            .collect();
        Self { staff_id: staff.id, role: staff.role, all, roots, tops, point: staff.point_id }
    }

    /// What this scope sees, as a key: scopes with equal keys are cut the same, so their
    /// live feeds can share each rendered message.
    pub fn view_key(&self) -> ViewKey {
        if self.all {
            return ViewKey::All;
        }
        let mut roots: Vec<usize> = self.roots.iter().copied().collect();
        roots.sort_unstable();
        ViewKey::Part { staff_id: self.staff_id, roots, point: self.point }
    }

    /// The same staff member's scope resolved against another roster (after an import
    /// replaced it): node indexes are the roster's own. A staff member the new roster no
    /// longer has sees nothing.
    pub fn resolve_in(&self, roster: &Roster) -> Scope {
        if self.all {
            return self.clone();
        }
        match roster.staff_member(self.staff_id) {
            Some(staff) => Scope::of(staff, roster),
            None => Scope { all: false, roots: HashSet::new(), tops: HashSet::new(), point: None, ..self.clone() },
        }
    }

    pub fn covers_node(&self, roster: &Roster, node_idx: usize) -> bool {
        self.all || roster.ancestors(node_idx).iter().any(|a| self.roots.contains(a))
    }

    pub fn covers_resident(&self, roster: &Roster, resident_idx: usize) -> bool {
        self.covers_node(roster, roster.resident_node_idx(resident_idx))
    }

    /// Roster indexes of the residents this scope covers, from `from` on, in roster order
    /// (the missing list's pages). A part reads only its own nodes' residents (see
    /// [`Roster::residents_at`]), not the roster from its start.
    pub fn residents_from<'a>(&self, roster: &'a Roster, from: usize) -> Box<dyn Iterator<Item = usize> + 'a> {
        if self.all {
            return Box::new(from..roster.residents().len());
        }
        let covered = (0..roster.nodes().len()).filter(|&n| self.covers_node(roster, n));
        Box::new(merged_from(covered.map(|n| roster.residents_at(n)).collect(), from))
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

    /// Whether this scope answers for a household in an action: a household handed to a
    /// substitute is theirs for the night and no longer its grid member's (a head above it
    /// keeps it), and one handed to this staff member is theirs wherever it is.
    pub fn covers_household_in(&self, state: &ActionState, household: HouseholdId, node_idx: usize) -> bool {
        match state.handed_to(household) {
            Some(to) if to == self.staff_id => true,
            Some(_) if !self.all && self.role == Role::GridMember => false,
            _ => self.covers_node(&state.roster, node_idx),
        }
    }

    /// [`Self::covers_household_in`] for a resident, by roster index.
    pub fn covers_resident_in(&self, state: &ActionState, resident_idx: usize) -> bool {
        let roster = &state.roster;
        let household = roster.residents()[resident_idx].household_id;
        self.covers_household_in(state, household, roster.resident_node_idx(resident_idx))
    }

    pub fn covers_staff(&self, roster: &Roster, staff: StaffId) -> bool {
        staff == self.staff_id
            || roster.staff_member(staff).is_some_and(|s| {
                s.nodes.iter().filter_map(|n| roster.node_idx(*n)).any(|i| self.covers_node(roster, i))
            })
    }

    /// The snapshot of `state` this scope sees (see [`Cut::snapshot`]).
    pub fn snapshot(&self, state: &ActionState) -> Snapshot {
        if self.all {
            return state.snapshot();
        }
        Cut::new(&self.resolve_in(&state.roster), &state.roster).snapshot(state)
    }
}

/// A [`Scope`] resolved once against one roster into sorted lists, so that live views are
/// cut by look-ups in what is covered instead of walking every node's ancestors each time.
/// A live feed cuts every delta it sends with the same `Cut`; it is built when the feed
/// starts (O(nodes + staff)) and again only if the roster is replaced.
#[derive(Debug, Clone)]
pub struct Cut {
    pub all: bool,
    /// The roster the indexes below belong to.
    pub roster: Arc<Roster>,
    /// Roster indexes of the covered nodes, ascending: the roster's order, parents first.
    node_idx: Vec<usize>,
    /// Their ids, sorted, to look up a delta's node entries.
    node_ids: Vec<NodeId>,
    /// Covered nodes no other covered node is above: their counts summed are the totals.
    tops: Vec<NodeId>,
    /// The same nodes by roster index.
    top_idx: Vec<usize>,
    /// Staff whose missing counts this scope sees, sorted.
    staff: Vec<StaffId>,
    point: Option<PointId>,
    /// The scope itself, for what an action changes after the cut was made (households
    /// handed to a substitute, [`Scope::covers_resident_in`]).
    scope: Scope,
}

impl Cut {
    pub fn new(scope: &Scope, roster: &Arc<Roster>) -> Self {
        let mut cut = Cut {
            all: scope.all,
            roster: roster.clone(),
            node_idx: Vec::new(),
            node_ids: Vec::new(),
            tops: scope.tops.iter().copied().collect(),
            top_idx: Vec::new(),
            staff: Vec::new(),
            point: scope.point,
            scope: scope.clone(),
        };
        if scope.all {
            return cut;
        }
        cut.node_idx = (0..roster.nodes().len()).filter(|&i| scope.covers_node(roster, i)).collect();
        cut.node_ids = cut.node_idx.iter().map(|&i| roster.nodes()[i].id).collect();
        cut.node_ids.sort_unstable();
        cut.tops.sort_unstable();
        cut.top_idx = cut.tops.iter().filter_map(|id| roster.node_idx(*id)).collect();
        cut.staff = roster
            .staff()
            .iter()
            .filter(|s| s.nodes.iter().any(|n| cut.node_ids.binary_search(n).is_ok()))
            .map(|s| s.id)
            .chain([scope.staff_id])
            .collect();
        cut.staff.sort_unstable();
        cut.staff.dedup();
        cut
    }

    /// The snapshot of `state` this scope sees, rendered straight from the covered parts
    /// (a grid member's costs their grid, not the whole village's): only covered nodes,
    /// totals summed over them, only this scope's point and responsible staff, and the
    /// scans, rates, ETA and curve of the samples in this scope (see [`Cut::minutes`]).
    pub fn snapshot(&self, state: &ActionState) -> Snapshot {
        if self.all {
            return state.snapshot();
        }
        let nodes: Vec<_> = self
            .node_idx
            .iter()
            .filter(|&&i| state.nodes.get(i).is_some_and(|c| c.target > 0))
            .map(|&i| state.node_view(i))
            .collect();
        let mut totals = Totals { target: 0, sampled: 0, exempt: 0, missing: 0, scans: 0 };
        for &i in &self.top_idx {
            let c = &state.nodes[i];
            totals.target += c.target;
            totals.sampled += c.sampled;
            totals.exempt += c.exempt;
        }
        totals.missing = totals.target - totals.sampled - totals.exempt;
        let mut timeline = BTreeMap::new();
        for minutes in self.minutes(state) {
            add_minutes(&mut timeline, minutes);
        }
        totals.scans = timeline.values().sum();
        Snapshot {
            seq: state.seq,
            action: state.action.clone(),
            totals,
            pace: self.pace(state),
            nodes,
            points: self.point.and_then(|p| state.point_view(p)).into_iter().collect(),
            staff: self.staff.iter().filter_map(|id| state.staff_view(*id)).collect(),
            timeline: timeline.into_iter().filter(|(_, c)| *c != 0).map(|(m, c)| (m * 60, c)).collect(),
        }
    }

    /// Where this scope's scans are counted, per minute: the areas it covers, or, for a
    /// scope with no area (a sampling point's operator), its point.
    fn minutes<'s>(&self, state: &'s ActionState) -> Vec<&'s BTreeMap<i64, i64>> {
        if !self.top_idx.is_empty() {
            return self.top_idx.iter().filter_map(|&i| state.node_minutes.get(i)).collect();
        }
        self.point.and_then(|p| state.points.get(&p)).map(|p| &p.minutes).into_iter().collect()
    }

    /// This scope's pace now: the rates and ETA of its own samples and missing, and only its
    /// own point's pace.
    pub fn pace(&self, state: &ActionState) -> Pace {
        if self.all {
            return state.pace();
        }
        let missing: i64 = self.top_idx.iter().map(|&i| state.nodes[i].missing()).sum();
        let mut pace = state.pace_of(&self.minutes(state), missing, |id| Some(id) == self.point);
        self.top_idx.iter().for_each(|&i| pace.chase.plus(&state.node_chase[i]));
        let roster = &state.roster;
        let covered = |i: usize| self.node_ids.binary_search(&roster.nodes()[roster.resident_node_idx(i)].id).is_ok();
        pace.visits_late = state.visits_late(covered);
        pace.flagged = state
            .flags()
            .filter(|(m, f)| f.state.is_raised() && matches!(m, Member::Resident(i) if covered(*i as usize)))
            .count() as i64;
        // The call-ups that called this view's owner, or anyone this view answers for.
        for c in &state.call_ups {
            let (called, answered) = c.called_among(&self.staff);
            if called > 0 {
                pace.call_ups += 1;
                pace.call_up_answers += answered as i64;
                // Only those whose silence climbed: few, walked as they are.
                pace.call_ups_overdue +=
                    c.overdue().filter(|(id, _)| self.staff.binary_search(id).is_ok()).count() as i64;
            }
        }
        pace.escalated = self.top_idx.iter().map(|&i| state.node_escalated[i]).sum();
        pace
    }

    /// The current state of the residents `touched` that this scope shows: a part's own,
    /// or, to a whole-action view, only those someone chased (a chief's screen need not
    /// hear of every scan by name).
    pub fn residents(&self, state: &ActionState, touched: &[u32]) -> Vec<ResidentLive> {
        let roster = &state.roster;
        let shown = |idx: usize| match self.all {
            true => state.chased(idx).is_some() || state.flag(Member::Resident(idx as u32)).is_some(),
            false => match state.handed_to(roster.residents()[idx].household_id) {
                None => self.node_ids.binary_search(&roster.nodes()[roster.resident_node_idx(idx)].id).is_ok(),
                Some(_) => self.scope.covers_resident_in(state, idx),
            },
        };
        let mut residents: Vec<ResidentLive> = touched
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| i < roster.residents().len() && shown(i))
            .map(|i| state.resident_live(i))
            .collect();
        residents.sort_by_key(|r| r.id);
        residents
    }

    /// What a delta to `state`'s position carries as current values for this scope: its
    /// pace and its changed residents.
    pub fn current(&self, state: &ActionState, d: &Delta) -> (Pace, Vec<ResidentLive>) {
        let pace = if self.all { d.pace.clone() } else { self.pace(state) };
        (pace, self.residents(state, &d.touched))
    }

    /// A delta cut down the same way, with `pace` (this scope's, at the delta's end), so
    /// that a cut snapshot plus its cut deltas still adds up to the cut snapshot at the end.
    /// Looks up whichever side is smaller: a grid member's one grid in the delta, or a big
    /// delta's nodes in a big scope.
    pub fn delta(&self, d: &Delta, pace: Pace, residents: Vec<ResidentLive>) -> Delta {
        if self.all {
            return Delta { pace, residents, ..d.clone() };
        }
        let nodes: BTreeMap<NodeId, CountsDelta> = pick(&d.nodes, &self.node_ids);
        let (mut sampled, mut exempt) = (0, 0);
        for id in &self.tops {
            if let Some(c) = nodes.get(id) {
                sampled += c.sampled;
                exempt += c.exempt;
            }
        }
        let mut timeline = BTreeMap::new();
        let minutes: Vec<_> = match (self.tops.is_empty(), self.point) {
            (false, _) => self.tops.iter().filter_map(|id| d.node_minutes.get(id)).collect(),
            (true, Some(p)) => d.point_minutes.get(&p).into_iter().collect(),
            (true, None) => Vec::new(),
        };
        minutes.into_iter().for_each(|m| add_minutes(&mut timeline, m));
        Delta {
            from: d.from,
            to: d.to,
            totals: Totals { target: 0, sampled, exempt, missing: -sampled - exempt, scans: timeline.values().sum() },
            pace,
            nodes,
            points: self.point.and_then(|p| d.points.get(&p).map(|c| (p, c.clone()))).into_iter().collect(),
            staff: pick(&d.staff, &self.staff),
            timeline,
            node_minutes: BTreeMap::new(),
            point_minutes: BTreeMap::new(),
            chase: pick(&d.chase, &self.node_ids),
            touched: Vec::new(),
            residents,
        }
    }
}

/// The entries of `map` whose keys are in `keys` (sorted), walking the shorter of the two.
fn pick<V: Clone>(map: &BTreeMap<i64, V>, keys: &[i64]) -> BTreeMap<i64, V> {
    if keys.len() < map.len() {
        keys.iter().filter_map(|k| map.get(k).map(|v| (*k, v.clone()))).collect()
    } else {
        map.iter().filter(|(k, _)| keys.binary_search(k).is_ok()).map(|(k, v)| (*k, v.clone())).collect()
    }
}

/// The entries of several ascending lists (each node's residents) from `from` on, in
/// ascending order: a page costs its own length and the sampled residents it passes, not
/// a walk over the whole roster from its start (a grid member's residents may sit at its
/// end, under the action's lock, at a million residents).
fn merged_from(lists: Vec<&[u32]>, from: usize) -> impl Iterator<Item = usize> + '_ {
    use std::cmp::Reverse;
    let mut heads = std::collections::BinaryHeap::new();
    let mut rests: Vec<&[u32]> = Vec::new();
    for list in lists {
        let rest = &list[list.partition_point(|&i| (i as usize) < from)..];
        if let Some((&first, tail)) = rest.split_first() {
            heads.push(Reverse((first, rests.len())));
            rests.push(tail);
        }
    }
    std::iter::from_fn(move || {
        let Reverse((idx, list)) = heads.pop()?;
        if let Some((&first, tail)) = rests[list].split_first() {
            heads.push(Reverse((first, list)));
            rests[list] = tail;
        }
        Some(idx as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{ActionKind, Chase, Event, EventBody, NewEvent};
    use crate::demo::village;
    use proptest::prelude::*;
    use time::macros::datetime;

    const OPENED: time::OffsetDateTime = datetime!(2022-04-22 16:45 UTC);

    /// The device time of the event at `seq`: one every 7 seconds from the opening.
    fn at(seq: i64) -> time::OffsetDateTime {
        OPENED + time::Duration::seconds(7 * (seq - 1))
    }

    /// A log: the action opened, then each sample `(resident, point, undone)`, a sample
    /// marked undone followed at once by its correction.
    fn log(samples: &[(i64, i64, bool)]) -> Vec<EventBody> {
        let mut bodies = vec![EventBody::ActionOpened];
        for &(r, p, undone) in samples {
            // Some are chased first: the parts' chase counts and residents move too.
            if r % 5 == 0 {
                let chase = [Chase::Notified, Chase::Bedridden, Chase::Unreachable][(r % 3) as usize];
                bodies.push(EventBody::ResidentTicked { resident_id: r + 1, chase, note: String::new() });
            }
            bodies.push(EventBody::ResidentSampled { resident_id: r, point_id: p, at_home: r % 2 == 0, tube: None });
            if undone {
                bodies.push(EventBody::Correction { target_seq: bodies.len() as i64, reason: "wrong person".into() });
            }
        }
        bodies
    }

    fn state_after(roster: &Arc<Roster>, bodies: &[EventBody]) -> ActionState {
        let v = village::generate(5);
        let action = Action {
            id: 1,
            kind: ActionKind::Testing,
            name: "test".into(),
            scope: v.action.scope,
            points: v.action.points,
            planned_open: None,
            planned_close: None,
            created_at: datetime!(2022-04-22 15:36 UTC),
        };
        let mut state = ActionState::new(action, roster.clone());
        for (i, body) in bodies.iter().enumerate() {
            let seq = i as i64 + 1;
            let new = NewEvent {
                action_id: 1,
                client_id: uuid::Uuid::from_u128(i as u128),
                actor: 1,
                device_time: at(seq),
                server_time: at(seq),
                body: body.clone(),
            };
            state.apply(&Event { seq, new });
        }
        state
    }

    /// A scope's scans per minute counted straight from the log, the slow way: the samples
    /// (not undone) of the residents in its areas, or, with no area, at its point.
    fn counted(roster: &Roster, state: &ActionState, scope: &Scope, bodies: &[EventBody]) -> BTreeMap<i64, i64> {
        let undone: HashSet<i64> = bodies
            .iter()
            .filter_map(|b| match b {
                EventBody::Correction { target_seq, .. } => Some(*target_seq),
                _ => None,
            })
            .collect();
        let mut minutes = BTreeMap::new();
        for (i, body) in bodies.iter().enumerate() {
            let seq = i as i64 + 1;
            let EventBody::ResidentSampled { resident_id, point_id, .. } = body else { continue };
            let Some(idx) = roster.resident_idx(*resident_id) else { continue };
            let ours = match scope.all || !scope.tops.is_empty() {
                true => scope.covers_resident(roster, idx),
                false => scope.point == Some(*point_id),
            };
            if ours && state.status(*resident_id).is_some() && !undone.contains(&seq) {
                *minutes.entry(at(seq).unix_timestamp().div_euclid(60) * 60).or_insert(0) += 1;
            }
        }
        minutes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Every staff member's live view: its scans, curve and rates are those of the
        /// samples in their part, counted straight from the log; their snapshot plus their
        /// cut of the deltas after it, absorbed one into the next, equals their snapshot at
        /// the end, every figure shown.
        #[test]
        fn each_part_shows_its_own_figures_and_its_deltas_add_up_to_them(
            samples in prop::collection::vec((1i64..2_700, 1i64..11, prop::bool::weighted(0.1)), 0..200),
            a in 0usize..200, b in 0usize..200
        ) {
            let roster = Arc::new(Roster::new(village::generate(5).roster).unwrap());
            let (a, b) = (a.min(b).min(samples.len()), a.max(b).min(samples.len()));
            let whole = log(&samples);
            let (early, middle, late) = (
                state_after(&roster, &log(&samples[..a])),
                state_after(&roster, &log(&samples[..b])),
                state_after(&roster, &whole),
            );
            let mut both = late.delta_until(early.seq, middle.seq, middle.pace()).expect("recent enough");
            // Counts as at `middle`; chase counts (current values) as they are now, at `late`.
            let counts = |d: &Delta| Delta { chase: BTreeMap::new(), ..d.clone() };
            prop_assert_eq!(counts(&both), counts(&middle.delta(early.seq).unwrap()));
            both.absorb(late.delta(middle.seq).unwrap());
            for staff in roster.staff() {
                let scope = Scope::of(staff, &roster);
                let cut = Cut::new(&scope, &roster);
                let shown = cut.snapshot(&late);
                let minutes = counted(&roster, &late, &scope, &whole);
                let timeline: Vec<(i64, i64)> = minutes.iter().map(|(m, c)| (*m, *c)).filter(|(_, c)| *c != 0).collect();
                prop_assert_eq!(&shown.timeline, &timeline, "{}", staff.name);
                prop_assert_eq!(shown.totals.scans, minutes.values().sum::<i64>());
                let now = late.clock.unwrap().unix_timestamp().div_euclid(60) * 60;
                let last = |window: i64| minutes.range(now - (window - 1) * 60..=now).map(|(_, c)| c).sum::<i64>();
                prop_assert_eq!(shown.pace.rate_15, last(15) as f64 / 15.0);
                prop_assert_eq!(shown.pace.rate_5, last(5) as f64 / 5.0);
                prop_assert_eq!(shown.pace.eta.is_some(), shown.totals.missing > 0 && last(15) > 0);
                prop_assert!(scope.all || shown.pace.points.keys().all(|p| Some(*p) == scope.point));
                let cut_at = |state: &ActionState, d: &Delta| {
                    let (pace, residents) = cut.current(state, d);
                    cut.delta(d, pace, residents)
                };
                let mut part = cut_at(&middle, &middle.delta(early.seq).unwrap());
                part.absorb(cut_at(&late, &late.delta(middle.seq).unwrap()));
                prop_assert_eq!(&part, &cut_at(&late, &both));
                prop_assert_eq!(cut.snapshot(&early).plus(&part), shown);
            }
        }
    }
}
