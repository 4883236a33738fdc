//! The chase: what staff learned about residents still to be accounted for, beside their
//! outcome. A tick never changes whether a resident is missing, sampled or exempt (a
//! sample always wins); it adds a *chase status* with its history. The current status is
//! the latest tick by device time, so ticks that arrive late from an offline phone fold to
//! the same state as if they had come in the order they were made. A bedridden resident
//! who is still missing is a home-visit request until sampled.

use super::Seq;
use super::event::Chase;
use crate::roster::StaffId;
use serde::Serialize;
use time::OffsetDateTime;

/// One tick as the log holds it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tick {
    pub chase: Chase,
    /// When the person ticked it, by their phone's clock.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(skip)]
    pub seq: Seq,
    pub by: StaffId,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A medic who took a resident's home visit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visit {
    pub by: StaffId,
    pub at: OffsetDateTime,
}

/// A resident's chase: every tick in log order, and the visit if a medic took it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chased {
    pub history: Vec<Tick>,
    pub visit: Option<Visit>,
}

impl Chased {
    /// The current status: the latest tick by device time (the later in the log on a tie).
    pub fn current(&self) -> Option<&Tick> {
        self.history.iter().max_by_key(|t| (t.at, t.seq))
    }
}

/// Where a missing resident's chase stands, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChaseKey {
    pub chase: Chase,
    /// For a bedridden resident: whether a medic took the visit.
    pub taken: bool,
}

/// Missing residents by chase status, and the home visits among them. Residents not yet
/// reached are the missing less the sum of the statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChaseCounts {
    pub notified: i64,
    pub on_the_way: i64,
    pub away: i64,
    pub bedridden: i64,
    pub refused: i64,
    pub unreachable: i64,
    pub nobody_home: i64,
    /// Bedridden and no medic has taken the visit yet.
    pub visits_pending: i64,
    /// Bedridden, a medic is on the way.
    pub visits_taken: i64,
}

impl ChaseCounts {
    pub(crate) fn add(&mut self, key: ChaseKey, by: i64) {
        let slot = match key.chase {
            Chase::Away => &mut self.away,
            Chase::Notified => &mut self.notified,
            Chase::OnTheWay => &mut self.on_the_way,
            Chase::Bedridden => &mut self.bedridden,
            Chase::Refused => &mut self.refused,
            Chase::Unreachable => &mut self.unreachable,
            Chase::NobodyHome => &mut self.nobody_home,
        };
        *slot += by;
        if key.chase == Chase::Bedridden {
            if key.taken {
                self.visits_taken += by;
            } else {
                self.visits_pending += by;
            }
        }
    }

    /// Moves one resident from `from` to `to` (either may be none: not missing or not reached).
    pub(crate) fn shift(&mut self, from: Option<ChaseKey>, to: Option<ChaseKey>) {
        if let Some(k) = from {
            self.add(k, -1);
        }
        if let Some(k) = to {
            self.add(k, 1);
        }
    }

    pub(crate) fn plus(&mut self, other: &ChaseCounts) {
        let ChaseCounts {
            notified,
            on_the_way,
            away,
            bedridden,
            refused,
            unreachable,
            nobody_home,
            visits_pending,
            visits_taken,
        } = other;
        self.notified += notified;
        self.on_the_way += on_the_way;
        self.away += away;
        self.bedridden += bedridden;
        self.refused += refused;
        self.unreachable += unreachable;
        self.nobody_home += nobody_home;
        self.visits_pending += visits_pending;
        self.visits_taken += visits_taken;
    }

    pub fn is_zero(&self) -> bool {
        *self == ChaseCounts::default()
    }

    /// Residents with any chase status.
    pub fn reached(&self) -> i64 {
        self.notified
            + self.on_the_way
            + self.away
            + self.bedridden
            + self.refused
            + self.unreachable
            + self.nobody_home
    }
}
