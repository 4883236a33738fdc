//! What a sampling point does beyond one resident at a time: pooled tubes (混管) and the
//! people in them, the lab's results and the flags a positive tube raises, and walk-ins
//! (people not on the roster, sampled and queued for the clerk). Folded in
//! [`super::fold`]; nothing here does I/O.

use super::Seq;
use super::event::{LabResult, Resolution, WalkIn};
use crate::roster::{PointId, ResidentId};
use serde::Serialize;
use time::OffsetDateTime;

/// Someone who can be in a tube: a resident (by roster index) or a walk-in (by their
/// place in [`WalkIns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    Resident(u32),
    WalkIn(u32),
}

/// One pooled tube as the log built it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tube {
    pub code: String,
    pub point: PointId,
    pub size: u8,
    pub opened_at: OffsetDateTime,
    /// Who is in it, in the order they were sampled into it, with the sample's position.
    pub members: Vec<(Member, Seq)>,
    pub closed: bool,
    pub result: Option<LabResult>,
}

impl Tube {
    pub fn is_full(&self) -> bool {
        self.members.len() >= usize::from(self.size)
    }

    /// Whether a single-tube result says something about one person, rather than a pool.
    pub fn is_single(&self) -> bool {
        self.size == 1
    }
}

/// What a result flagged a person for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagState {
    /// In a positive pooled tube: to isolate and re-test in a single tube (待单采复核).
    Retest,
    /// A positive single tube: confirmed.
    Confirmed,
    /// A negative single tube after a positive pool: cleared.
    Cleared,
}

impl FlagState {
    /// Whether the person must still be found and kept apart.
    pub fn is_raised(self) -> bool {
        self != FlagState::Cleared
    }
}

/// A person's flag: its state and the tube that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub state: FlagState,
    /// The tube whose result set it (a pooled tube, or the single re-test tube).
    pub tube: u32,
    pub at: OffsetDateTime,
}

/// A walk-in as the log built them.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkInState {
    /// The position of their first sample: how the clerk names them.
    pub seq: Seq,
    pub who: WalkIn,
    pub point: PointId,
    pub at: OffsetDateTime,
    /// Samples of theirs recorded (a re-scan is a second sample, one person).
    pub samples: u16,
    pub resolved: Option<Resolved>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub resolution: Resolution,
    pub resident: Option<ResidentId>,
    pub seq: Seq,
}

/// Every walk-in of an action, by ID number and by first position.
#[derive(Debug, Clone, Default)]
pub struct WalkIns {
    pub list: Vec<WalkInState>,
    /// By [`crate::roster::IdNumber`]'s key.
    by_key: std::collections::HashMap<u64, u32>,
}

impl WalkIns {
    pub fn by_key(&self, key: u64) -> Option<u32> {
        self.by_key.get(&key).copied()
    }

    pub fn by_seq(&self, seq: Seq) -> Option<u32> {
        // First positions increase with the list, so a binary search finds one.
        self.list.binary_search_by_key(&seq, |w| w.seq).ok().map(|i| i as u32)
    }

    pub(crate) fn add(&mut self, key: u64, w: WalkInState) -> u32 {
        let i = self.list.len() as u32;
        self.list.push(w);
        self.by_key.insert(key, i);
        i
    }

    /// Walk-ins the clerk has not decided on yet.
    pub fn pending(&self) -> i64 {
        self.list.iter().filter(|w| w.resolved.is_none()).count() as i64
    }
}
