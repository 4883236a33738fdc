//! What screens are sent: a [`Snapshot`] of the whole state at a position, and a
//! [`Delta`] between two positions whose count fields add up, so that a snapshot plus
//! every delta after it equals the snapshot at the end. Rates, ETA and phase are sent as
//! current values, since they are not sums.

use super::fold::{ActionState, Counts, Phase};
use super::{Action, Seq};
use crate::roster::{NodeId, PointId, StaffId};
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
    /// Sample events, re-samples of the same resident included.
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
    /// Samples per minute over the last 5 and 15 minutes.
    pub rate_5: f64,
    pub rate_15: f64,
    /// When the missing would all be sampled at the 15-minute rate.
    #[serde(with = "time::serde::rfc3339::option")]
    pub eta: Option<OffsetDateTime>,
    /// Per point: current rates, last scan.
    pub points: BTreeMap<PointId, PointPace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointPace {
    pub rate_5: f64,
    pub rate_15: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_scan_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NodeView {
    pub id: NodeId,
    pub parent: Option<NodeId>,
    pub level: String,
    pub name: String,
    pub staff_id: Option<StaffId>,
    pub target: i64,
    pub sampled: i64,
    pub exempt: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointView {
    pub id: PointId,
    pub name: String,
    pub place: String,
    pub count: i64,
    pub at_home: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
    /// Samples per minute: `[unix seconds of the minute, count]`.
    pub timeline: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CountsDelta {
    pub sampled: i64,
    pub exempt: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointDelta {
    pub count: i64,
    pub at_home: i64,
}

/// What changed between positions `from` (exclusive) and `to` (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delta {
    pub from: Seq,
    pub to: Seq,
    /// Added to the totals (`target` never changes within an action).
    pub totals: Totals,
    pub pace: Pace,
    pub nodes: BTreeMap<NodeId, CountsDelta>,
    /// Added to each point's `count` and `at_home`.
    pub points: BTreeMap<PointId, PointDelta>,
    /// Added to each staff member's `missing`.
    pub staff: BTreeMap<StaffId, i64>,
    /// Added to the timeline, by unix seconds of the minute.
    pub timeline: BTreeMap<i64, i64>,
}

fn totals(c: Counts, scans: i64) -> Totals {
    Totals { target: c.target, sampled: c.sampled, exempt: c.exempt, missing: c.missing(), scans }
}

fn rate(minutes: &BTreeMap<i64, i64>, now_minute: i64, window: i64) -> f64 {
    let n: i64 = minutes.range(now_minute - window + 1..=now_minute).map(|(_, c)| c).sum();
    n as f64 / window as f64
}

impl ActionState {
    pub fn pace(&self) -> Pace {
        let now = self.clock.map(|c| c.unix_timestamp().div_euclid(60)).unwrap_or(0);
        let (short, long) = RATE_WINDOWS;
        let rate_15 = rate(&self.timeline, now, long);
        let missing = self.totals.missing();
        let eta = match (self.phase, self.clock) {
            (Phase::Open, Some(clock)) if missing > 0 && rate_15 > 0.0 => {
                Some(clock + time::Duration::seconds_f64(missing as f64 / rate_15 * 60.0))
            }
            _ => None,
        };
        let points = self
            .points
            .iter()
            .map(|(id, p)| {
                let pace = PointPace {
                    rate_5: rate(&p.minutes, now, short),
                    rate_15: rate(&p.minutes, now, long),
                    last_scan_at: p.last_scan,
                };
                (*id, pace)
            })
            .collect();
        Pace {
            phase: self.phase,
            opened_at: self.opened_at,
            closed_at: self.closed_at,
            clock: self.clock,
            rate_5: rate(&self.timeline, now, short),
            rate_15,
            eta,
            points,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let roster = &self.roster;
        let nodes = roster
            .nodes()
            .iter()
            .zip(&self.nodes)
            .filter(|(_, c)| c.target > 0)
            .map(|(n, c)| NodeView {
                id: n.id,
                parent: n.parent,
                level: n.level.clone(),
                name: n.name.clone(),
                staff_id: n.staff_id,
                target: c.target,
                sampled: c.sampled,
                exempt: c.exempt,
            })
            .collect();
        let points = self
            .points
            .iter()
            .map(|(id, p)| {
                let (name, place) =
                    roster.point(*id).map_or((String::new(), String::new()), |pt| (pt.name.clone(), pt.place.clone()));
                PointView { id: *id, name, place, count: p.count, at_home: p.at_home }
            })
            .collect();
        let staff = self
            .staff_missing
            .iter()
            .map(|(id, missing)| {
                let s = roster.staff_member(*id);
                StaffView {
                    id: *id,
                    name: s.map(|s| s.name.clone()).unwrap_or_default(),
                    role: s.map(|s| s.role.as_str().to_owned()).unwrap_or_default(),
                    missing: *missing,
                }
            })
            .collect();
        Snapshot {
            seq: self.seq,
            action: self.action.clone(),
            totals: totals(self.totals, self.scans),
            pace: self.pace(),
            nodes,
            points,
            staff,
            timeline: self.timeline.iter().filter(|(_, c)| **c != 0).map(|(m, c)| (m * 60, *c)).collect(),
        }
    }

    /// The delta from `after` to now, or `None` when `after` is too old (or ahead).
    pub fn delta(&self, after: Seq) -> Option<Delta> {
        let mut d = Delta {
            from: after,
            to: self.seq,
            totals: Totals { target: 0, sampled: 0, exempt: 0, missing: 0, scans: 0 },
            pace: self.pace(),
            nodes: BTreeMap::new(),
            points: BTreeMap::new(),
            staff: BTreeMap::new(),
            timeline: BTreeMap::new(),
        };
        for c in self.changes_after(after)? {
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
                *d.timeline.entry(p.minute * 60).or_insert(0) += p.by;
            }
        }
        Some(d)
    }
}
