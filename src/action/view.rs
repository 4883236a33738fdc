//! What screens are sent: a [`Snapshot`] of the whole state at a position, and a
//! [`Delta`] between two positions whose count fields add up, so that a snapshot plus
//! every delta after it equals the snapshot at the end. Rates, ETA and phase are sent as
//! current values, since they are not sums.

use super::chase::{ChaseCounts, Tick};
use super::event::{Chase, ExemptReason};
use super::fold::{ActionState, ChaseMoved, Counts, Phase, SampleOf, Status};
use super::tubes::{FlagState, Member};
use super::{Action, Seq};
use crate::roster::{NodeId, PointId, ResidentId, StaffId};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

const RATE_WINDOWS: (i64, i64) = (5, 15);

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub target: i64,
    pub sampled: i64,
    pub exempt: i64,
    pub missing: i64,
    /// Sample events, re-samples of the same resident included: of the residents in the
    /// view's areas, or, for a view with no area (a point's operator), at its point.
    pub scans: i64,
}

/// Figures that are current values, not sums: sent whole in snapshots and deltas.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pace {
    #[schema(value_type = String)]
    pub phase: Phase,
    #[serde(with = "time::serde::rfc3339::option")]
    pub opened_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// The latest time any event was made (device clock): the state's "now".
    #[serde(with = "time::serde::rfc3339::option")]
    pub clock: Option<OffsetDateTime>,
    /// Samples per minute over the last 5 and 15 minutes, counted as `scans` is.
    pub rate_5: f64,
    pub rate_15: f64,
    /// When the view's missing would all be sampled at its 15-minute rate.
    #[serde(with = "time::serde::rfc3339::option")]
    pub eta: Option<OffsetDateTime>,
    /// Per point (by id: JSON keys are strings): current rates, last scan.
    #[schema(value_type = BTreeMap<String, PointPace>)]
    pub points: BTreeMap<PointId, PointPace>,
    /// The view's missing by chase status (notified, on the way, …) and its home visits.
    pub chase: ChaseCounts,
    /// Home-visit requests waiting for a medic longer than `visit_minutes`.
    pub visits_late: i64,
    pub visit_minutes: u32,
    /// People of the view a lab result flagged and not cleared: to isolate and re-test.
    pub flagged: i64,
    /// The call-ups that concern the view (sent to its people, or, for a phone, to its
    /// owner) and the answers given to them so far: when either moves, a screen reads
    /// `GET /api/actions/{id}/call-ups` again (the names are not pushed to every screen).
    pub call_ups: i64,
    pub call_up_answers: i64,
    /// The view's missing residents whose case climbed the chain (escalated), and the
    /// people of the view whose silence on a call-up did: the chain view
    /// (`GET /api/actions/{id}/chain`) names them.
    pub escalated: i64,
    pub call_ups_overdue: i64,
    /// When the chase started (the chief's word or the planned time); none before.
    #[serde(with = "time::serde::rfc3339::option")]
    pub chase_started_at: Option<OffsetDateTime>,
    /// Handovers and sign-offs in the action so far: when either moves, a phone reads its
    /// households (and a screen the chain view) again.
    pub handovers: i64,
    pub sign_offs: i64,
    /// Of the whole action (absent from a part's view): residents from outside its scope
    /// sampled at its points, and walk-ins the clerk has not decided on yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_ins: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointPace {
    pub rate_5: f64,
    pub rate_15: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_scan_at: Option<OffsetDateTime>,
    /// About how many wait, as the operator last said, and when they said it.
    pub waiting: Option<u32>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub waiting_at: Option<OffsetDateTime>,
    /// Minutes the queue takes at the 15-minute rate (none without a queue or a rate).
    pub queue_minutes: Option<f64>,
    pub tubes_open: i64,
}

/// An area node's counts. (Named apart from the staff pages' `NodeView` in the document.)
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = NodeCounts)]
pub struct NodeView {
    pub id: NodeId,
    pub parent: Option<NodeId>,
    pub level: String,
    pub name: String,
    pub staff_id: Option<StaffId>,
    pub target: i64,
    pub sampled: i64,
    pub exempt: i64,
    /// Its missing by chase status; left out while nobody under it was reached.
    #[serde(skip_serializing_if = "ChaseCounts::is_zero")]
    pub chase: ChaseCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointView {
    pub id: PointId,
    pub name: String,
    pub place: String,
    pub count: i64,
    pub at_home: i64,
    /// Of `count`: residents from outside the action's scope (非本范围), and walk-ins.
    pub outside: i64,
    pub walk_ins: i64,
}

/// A responsible staff member and how many of their residents are missing. (Named apart
/// from the staff pages' `StaffView` in the document.)
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = StaffMissing)]
pub struct StaffView {
    pub id: StaffId,
    pub name: String,
    pub role: String,
    pub missing: i64,
}

/// The whole live state of an action at position `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub seq: Seq,
    pub action: Action,
    pub totals: Totals,
    pub pace: Pace,
    /// Area nodes with residents in scope, parents before children.
    pub nodes: Vec<NodeView>,
    pub points: Vec<PointView>,
    /// Responsible staff and how many of their residents are missing.
    pub staff: Vec<StaffView>,
    /// Samples per minute, counted as `scans` is: `[unix seconds of the minute, count]`.
    pub timeline: Vec<(i64, i64)>,
}

/// A change that is zero is left out of a delta (a reader adds 0 for a missing field):
/// thousands of screens read every delta, and most changes move one count only.
fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CountsDelta {
    #[serde(skip_serializing_if = "is_zero")]
    pub sampled: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub exempt: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointDelta {
    #[serde(skip_serializing_if = "is_zero")]
    pub count: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub at_home: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub outside: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub walk_ins: i64,
}

/// What changed between positions `from` (exclusive) and `to` (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delta {
    pub from: Seq,
    pub to: Seq,
    /// Added to the totals (`target` never changes within an action).
    pub totals: Totals,
    /// The pace at `to`. Its `points` may leave out points whose pace is the same as at
    /// `from`: a reader keeps what it has for those.
    pub pace: Pace,
    #[schema(value_type = BTreeMap<String, CountsDelta>)]
    pub nodes: BTreeMap<NodeId, CountsDelta>,
    /// Added to each point's `count` and `at_home`.
    #[schema(value_type = BTreeMap<String, PointDelta>)]
    pub points: BTreeMap<PointId, PointDelta>,
    /// Added to each staff member's `missing`.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub staff: BTreeMap<StaffId, i64>,
    /// Added to the timeline, by unix seconds of the minute.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub timeline: BTreeMap<i64, i64>,
    /// The timeline's change per area node (residents under it) and per point, by unix
    /// seconds of the minute: what a part's cut of this delta takes its scans and curve
    /// from. Not sent: a part's own delta carries its sum as `timeline`.
    #[serde(skip)]
    pub node_minutes: BTreeMap<NodeId, BTreeMap<i64, i64>>,
    #[serde(skip)]
    pub point_minutes: BTreeMap<PointId, BTreeMap<i64, i64>>,
    /// The chase counts now of each area node whose chase moved (current values, not sums:
    /// a reader replaces what it has).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, ChaseCounts>)]
    pub chase: BTreeMap<NodeId, ChaseCounts>,
    /// Roster indexes of the residents whose status, sample or chase moved: a view's cut
    /// renders those it shows as `residents`.
    #[serde(skip)]
    pub touched: Vec<u32>,
    /// The current state of each resident of the view that changed (a part's residents; a
    /// whole-action view's chased residents only): a reader replaces what it has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub residents: Vec<ResidentLive>,
}

/// A resident's state in an action as a phone shows it: the outcome (missing, sampled
/// where and when, exempt why), the chase status with its history, and the home visit.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResidentLive {
    pub id: ResidentId,
    #[schema(value_type = String)]
    pub status: Status,
    pub exempt_reason: Option<ExemptReason>,
    /// The latest counted sample: when (device clock), where.
    #[serde(with = "time::serde::rfc3339::option")]
    pub sampled_at: Option<OffsetDateTime>,
    pub point_id: Option<PointId>,
    pub point: Option<String>,
    pub at_home: bool,
    /// The current chase status: the latest tick by device time.
    pub chase: Option<Chase>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub chase_at: Option<OffsetDateTime>,
    pub chase_by: Option<StaffId>,
    pub note: Option<String>,
    /// A bedridden missing resident's home visit.
    pub visit: Option<VisitView>,
    /// Every tick, by device time.
    pub history: Vec<Tick>,
    /// What a lab result flagged them for, and the tube whose result it was.
    #[schema(value_type = Option<String>)]
    pub flag: Option<FlagState>,
    pub flag_tube: Option<String>,
    /// While missing: how far their case has climbed (1: to the head, 2: to the chief).
    pub escalated: Option<u8>,
    /// Who answers for them in this action: the roster's grid member, or the substitute
    /// their household was handed to.
    pub staff_id: Option<StaffId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VisitView {
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub taken_by: Option<StaffId>,
    pub taken_by_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub taken_at: Option<OffsetDateTime>,
}

impl Delta {
    /// Whether any count moved. A delta that moves nothing still carries the position
    /// and the current pace.
    pub fn moves_counts(&self) -> bool {
        let t = &self.totals;
        t.sampled != 0
            || t.exempt != 0
            || t.missing != 0
            || t.scans != 0
            || !self.nodes.is_empty()
            || !self.points.is_empty()
            || !self.staff.is_empty()
            || !self.timeline.is_empty()
            || !self.chase.is_empty()
            || !self.residents.is_empty()
    }

    /// Folds the delta that follows this one into it: the result goes from this one's
    /// `from` to `next.to`, its counts are the sums and its pace is `next`'s (the later).
    pub fn absorb(&mut self, next: Delta) {
        debug_assert_eq!(self.to, next.from, "deltas are absorbed in order");
        self.to = next.to;
        self.totals.sampled += next.totals.sampled;
        self.totals.exempt += next.totals.exempt;
        self.totals.missing += next.totals.missing;
        self.totals.scans += next.totals.scans;
        self.pace = next.pace;
        for (id, c) in next.nodes {
            let n = self.nodes.entry(id).or_default();
            n.sampled += c.sampled;
            n.exempt += c.exempt;
        }
        for (id, c) in next.points {
            let p = self.points.entry(id).or_default();
            p.count += c.count;
            p.at_home += c.at_home;
            p.outside += c.outside;
            p.walk_ins += c.walk_ins;
        }
        for (id, by) in next.staff {
            *self.staff.entry(id).or_insert(0) += by;
        }
        add_minutes(&mut self.timeline, &next.timeline);
        for (id, minutes) in &next.node_minutes {
            add_minutes(self.node_minutes.entry(*id).or_default(), minutes);
        }
        for (id, minutes) in &next.point_minutes {
            add_minutes(self.point_minutes.entry(*id).or_default(), minutes);
        }
        self.chase.extend(next.chase);
        self.touched.extend(next.touched);
        self.touched.sort_unstable();
        self.touched.dedup();
        for r in next.residents {
            match self.residents.binary_search_by_key(&r.id, |x| x.id) {
                Ok(at) => self.residents[at] = r,
                Err(at) => self.residents.insert(at, r),
            }
        }
    }
}

/// Adds `more` into `into`, minute by minute.
pub(crate) fn add_minutes(into: &mut BTreeMap<i64, i64>, more: &BTreeMap<i64, i64>) {
    for (minute, by) in more {
        *into.entry(*minute).or_insert(0) += by;
    }
}

fn totals(c: Counts, scans: i64) -> Totals {
    Totals { target: c.target, sampled: c.sampled, exempt: c.exempt, missing: c.missing(), scans }
}

/// Samples per minute over the `window` minutes up to `now_minute`, of the samples counted
/// in `minutes` (a part's several areas, or one map).
pub(crate) fn rate(minutes: &[&BTreeMap<i64, i64>], now_minute: i64, window: i64) -> f64 {
    let n: i64 = minutes.iter().flat_map(|m| m.range(now_minute - window + 1..=now_minute)).map(|(_, c)| c).sum();
    n as f64 / window as f64
}

impl ActionState {
    /// The whole action's pace.
    pub fn pace(&self) -> Pace {
        Pace {
            chase: self.chase,
            visits_late: self.visits_late(|_| true),
            flagged: self.flags().filter(|(_, f)| f.state.is_raised()).count() as i64,
            call_ups: self.call_ups.len() as i64,
            call_up_answers: self.call_ups.iter().map(|c| c.answered().0 as i64).sum(),
            escalated: self.escalated_now,
            call_ups_overdue: self.call_ups.iter().map(|c| c.overdue().count() as i64).sum(),
            outside: Some(self.outside),
            walk_ins: Some(self.walk_ins.pending()),
            ..self.pace_of(&[&self.timeline], self.totals.missing(), |_| true)
        }
    }

    /// The pace of a part of the action: rates of the samples counted in `minutes` (its
    /// areas', or its point's), the ETA of its `missing` at that rate, and the paces of the
    /// points `keep` keeps. Its `chase` is left for the caller to sum.
    pub fn pace_of(&self, minutes: &[&BTreeMap<i64, i64>], missing: i64, keep: impl Fn(PointId) -> bool) -> Pace {
        let now = self.clock.map(|c| c.unix_timestamp().div_euclid(60)).unwrap_or(0);
        let (short, long) = RATE_WINDOWS;
        let rate_15 = rate(minutes, now, long);
        let eta = match (self.phase, self.clock) {
            (Phase::Open, Some(clock)) if missing > 0 && rate_15 > 0.0 => {
                Some(clock + time::Duration::seconds_f64(missing as f64 / rate_15 * 60.0))
            }
            _ => None,
        };
        let points = self
            .points
            .iter()
            .filter(|(id, _)| keep(**id))
            .map(|(id, p)| {
                let rate_15 = rate(&[&p.minutes], now, long);
                let waiting = p.waiting.map(|(n, _)| n);
                let pace = PointPace {
                    rate_5: rate(&[&p.minutes], now, short),
                    rate_15,
                    last_scan_at: p.last_scan,
                    waiting,
                    waiting_at: p.waiting.map(|(_, at)| at),
                    queue_minutes: waiting.filter(|&n| n > 0 && rate_15 > 0.0).map(|n| f64::from(n) / rate_15),
                    tubes_open: p.tubes_open,
                };
                (*id, pace)
            })
            .collect();
        Pace {
            chase: ChaseCounts::default(),
            visits_late: 0,
            visit_minutes: self.visit_minutes,
            flagged: 0,
            call_ups: 0,
            call_up_answers: 0,
            escalated: 0,
            call_ups_overdue: 0,
            // The chase's start as the log says it (the planned time counts once it came,
            // which only the escalator's clock knows: its first escalation shows it).
            chase_started_at: self
                .chase_started
                .or(self.escalation.chase_at.filter(|&t| self.clock.is_some_and(|c| t <= c))),
            handovers: self.handovers.len() as i64,
            sign_offs: self.sign_offs.len() as i64,
            outside: None,
            walk_ins: None,
            phase: self.phase,
            opened_at: self.opened_at,
            closed_at: self.closed_at,
            clock: self.clock,
            rate_5: rate(minutes, now, short),
            rate_15,
            eta,
            points,
        }
    }

    /// An area node's view: its place in the tree and its counts.
    pub fn node_view(&self, idx: usize) -> NodeView {
        let (n, c) = (&self.roster.nodes()[idx], &self.nodes[idx]);
        NodeView {
            id: n.id,
            parent: n.parent,
            level: n.level.clone(),
            name: n.name.clone(),
            staff_id: n.staff_id,
            target: c.target,
            sampled: c.sampled,
            exempt: c.exempt,
            chase: self.node_chase[idx],
        }
    }

    /// A resident's state as a phone shows it (by roster index).
    pub fn resident_live(&self, idx: usize) -> ResidentLive {
        let roster = &self.roster;
        let sample = self.last_sample(idx);
        let chased = self.chased(idx);
        let current = chased.and_then(|c| c.current());
        let status = self.slot_status(idx);
        let visit = self.visit_requested_at(idx).map(|requested_at| {
            let taken = chased.and_then(|c| c.visit);
            VisitView {
                requested_at,
                taken_by: taken.map(|v| v.by),
                taken_by_name: taken.and_then(|v| roster.staff_member(v.by)).map(|s| s.name.clone()),
                taken_at: taken.map(|v| v.at),
            }
        });
        let mut history = chased.map(|c| c.history.clone()).unwrap_or_default();
        history.sort_by_key(|t| (t.at, t.seq));
        let flag = self.flag(Member::Resident(idx as u32));
        ResidentLive {
            id: roster.residents()[idx].id,
            status,
            exempt_reason: if status == Status::Exempt { self.exempt_reason(idx) } else { None },
            sampled_at: sample.and_then(|(_, at, _)| OffsetDateTime::from_unix_timestamp(at).ok()),
            point_id: sample.map(|(p, _, _)| p),
            point: sample.and_then(|(p, _, _)| roster.point(p)).map(|p| p.name.clone()),
            at_home: sample.is_some_and(|(_, _, home)| home),
            chase: current.map(|t| t.chase),
            chase_at: current.map(|t| t.at),
            chase_by: current.map(|t| t.by),
            note: current.map(|t| t.note.clone()).filter(|n| !n.is_empty()),
            visit,
            history,
            flag: flag.map(|f| f.state),
            flag_tube: flag.and_then(|f| self.tubes.get(f.tube as usize)).map(|t| t.code.clone()),
            escalated: self.escalated(idx).filter(|_| status == Status::Missing).map(|c| c.level),
            staff_id: self.responsible_staff(idx),
        }
    }

    /// A sampling point's view, or `None` when the action does not use it.
    pub fn point_view(&self, id: PointId) -> Option<PointView> {
        let p = self.points.get(&id)?;
        let (name, place) =
            self.roster.point(id).map_or((String::new(), String::new()), |pt| (pt.name.clone(), pt.place.clone()));
        Some(PointView {
            id,
            name,
            place,
            count: p.count,
            at_home: p.at_home,
            outside: p.outside,
            walk_ins: p.walk_ins,
        })
    }

    /// A responsible staff member's view, or `None` when they answer for nobody here.
    pub fn staff_view(&self, id: StaffId) -> Option<StaffView> {
        let missing = *self.staff_missing.get(&id)?;
        let s = self.roster.staff_member(id);
        Some(StaffView {
            id,
            name: s.map(|s| s.name.clone()).unwrap_or_default(),
            role: s.map(|s| s.role.as_str().to_owned()).unwrap_or_default(),
            missing,
        })
    }

    /// The action's totals as a snapshot carries them.
    pub fn totals_view(&self) -> Totals {
        totals(self.totals, self.scans)
    }

    pub fn snapshot(&self) -> Snapshot {
        let nodes = (0..self.nodes.len()).filter(|&i| self.nodes[i].target > 0).map(|i| self.node_view(i)).collect();
        Snapshot {
            seq: self.seq,
            action: self.action.clone(),
            totals: self.totals_view(),
            pace: self.pace(),
            nodes,
            points: self.points.keys().filter_map(|id| self.point_view(*id)).collect(),
            staff: self.staff_missing.keys().filter_map(|id| self.staff_view(*id)).collect(),
            timeline: self.timeline.iter().filter(|(_, c)| **c != 0).map(|(m, c)| (m * 60, *c)).collect(),
        }
    }

    /// The delta from `after` to now, or `None` when `after` is too old (or ahead).
    pub fn delta(&self, after: Seq) -> Option<Delta> {
        self.delta_until(after, self.seq, self.pace())
    }

    /// The delta from `after` to `to`, an earlier position than now, with `pace` as it
    /// was at `to` (this state only knows its current pace). Lets a subscriber that fell
    /// behind catch up to the position everyone else is at, so that it can share their
    /// messages again. `None` when `after` is too old, or `to` is not in `after..=now`.
    pub fn delta_until(&self, after: Seq, to: Seq, pace: Pace) -> Option<Delta> {
        if to < after || to > self.seq {
            return None;
        }
        let mut d = Delta {
            from: after,
            to,
            totals: Totals { target: 0, sampled: 0, exempt: 0, missing: 0, scans: 0 },
            pace,
            nodes: BTreeMap::new(),
            points: BTreeMap::new(),
            staff: BTreeMap::new(),
            timeline: BTreeMap::new(),
            node_minutes: BTreeMap::new(),
            point_minutes: BTreeMap::new(),
            chase: BTreeMap::new(),
            touched: Vec::new(),
            residents: Vec::new(),
        };
        let mut chase_moved = Vec::new();
        for c in self.changes_after(after)?.take_while(|c| c.seq <= to) {
            match c.chased {
                ChaseMoved::Nobody => {}
                ChaseMoved::Resident(idx) => chase_moved.push(idx as usize),
                ChaseMoved::Household(h) => chase_moved.extend(self.household_residents(h)),
                ChaseMoved::Tube(t) => d.touched.extend(self.tube_residents(t).into_iter().map(|i| i as u32)),
            }
            d.touched.extend(c.resident.map(|(idx, _, _)| idx).into_iter().chain(c.point.and_then(|p| p.resident)));
            if let Some((idx, from, to)) = c.resident {
                let idx = idx as usize;
                let mut shift = Counts::default();
                shift.shift(from, to);
                d.totals.sampled += shift.sampled;
                d.totals.exempt += shift.exempt;
                d.totals.missing -= shift.sampled + shift.exempt;
                let roster = &self.roster;
                for &a in roster.ancestors(roster.resident_node_idx(idx)) {
                    let n = d.nodes.entry(roster.nodes()[a].id).or_default();
                    n.sampled += shift.sampled;
                    n.exempt += shift.exempt;
                }
                if let Some(s) = self.responsible_staff(idx) {
                    *d.staff.entry(s).or_insert(0) -= shift.sampled + shift.exempt;
                }
            }
            if let Some(p) = c.point {
                d.totals.scans += p.by;
                let point = d.points.entry(p.point).or_default();
                point.count += p.by;
                point.at_home += if p.at_home { p.by } else { 0 };
                point.outside += if p.of == SampleOf::Outside { p.by } else { 0 };
                point.walk_ins += if p.of == SampleOf::WalkIn { p.by } else { 0 };
                *d.timeline.entry(p.minute * 60).or_insert(0) += p.by;
                *d.point_minutes.entry(p.point).or_default().entry(p.minute * 60).or_insert(0) += p.by;
                let roster = &self.roster;
                for &a in p.resident.iter().flat_map(|&r| roster.ancestors(roster.resident_node_idx(r as usize))) {
                    let node = d.node_minutes.entry(roster.nodes()[a].id).or_default();
                    *node.entry(p.minute * 60).or_insert(0) += p.by;
                }
            }
        }
        // Chase counts are sent as they are now, for the nodes above each resident whose
        // chase moved: few, since a scan of a resident nobody chased moves none.
        for &idx in &chase_moved {
            for &a in self.roster.ancestors(self.roster.resident_node_idx(idx)) {
                d.chase.insert(self.roster.nodes()[a].id, self.node_chase[a]);
            }
        }
        d.touched.extend(chase_moved.iter().map(|&i| i as u32));
        d.touched.sort_unstable();
        d.touched.dedup();
        Some(d)
    }
}

/// What a screen holds after applying a delta to a snapshot: counts added, pace replaced.
/// The property tests of the fold and of scoped views check against it.
#[cfg(test)]
impl Snapshot {
    pub(crate) fn plus(self, d: &Delta) -> Snapshot {
        let mut s = self;
        assert_eq!(s.seq, d.from);
        s.seq = d.to;
        s.totals.sampled += d.totals.sampled;
        s.totals.exempt += d.totals.exempt;
        s.totals.missing += d.totals.missing;
        s.totals.scans += d.totals.scans;
        s.pace = d.pace.clone();
        for n in &mut s.nodes {
            if let Some(c) = d.nodes.get(&n.id) {
                n.sampled += c.sampled;
                n.exempt += c.exempt;
            }
        }
        for p in &mut s.points {
            if let Some(c) = d.points.get(&p.id) {
                p.count += c.count;
                p.at_home += c.at_home;
                p.outside += c.outside;
                p.walk_ins += c.walk_ins;
            }
        }
        for st in &mut s.staff {
            st.missing += d.staff.get(&st.id).copied().unwrap_or(0);
        }
        for n in &mut s.nodes {
            if let Some(c) = d.chase.get(&n.id) {
                n.chase = *c;
            }
        }
        let mut timeline: BTreeMap<i64, i64> = s.timeline.iter().copied().collect();
        add_minutes(&mut timeline, &d.timeline);
        s.timeline = timeline.into_iter().filter(|(_, c)| *c != 0).collect();
        s
    }
}
