//! The roster: the area tree of grids, households, residents, staff and sampling
//! points. It owns the model and its rules (one household per resident, one grid per
//! household, valid ID numbers, no dangling references). It does not know about
//! actions or storage: the store loads rows and hands them to [`Roster::new`], which is
//! the only way to get a `Roster`, so the rest of the code never sees one that breaks
//! the rules.

mod ids;
pub mod import;

pub use ids::{IdNumber, IdNumberError, Phone, PhoneError, Sex};

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

pub type NodeId = i64;
pub type HouseholdId = i64;
pub type ResidentId = i64;
pub type StaffId = i64;
pub type PointId = i64;

/// A unit of the area tree (village, 片区, grid …). Level names come from the data.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaNode {
    pub id: NodeId,
    pub parent: Option<NodeId>,
    /// What this level is called in this village, e.g. `网格`.
    pub level: String,
    pub name: String,
    /// The staff member responsible for this node (chief, grid head, grid member).
    pub staff_id: Option<StaffId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub id: HouseholdId,
    /// The village's own household number, unique within the roster.
    pub number: String,
    pub address: String,
    /// The grid the household belongs to: exactly one.
    pub node_id: NodeId,
}

/// Circumstances the village records about a resident; they decide who a night action
/// must visit at home and who is expected to be exempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub away: bool,
    pub bedridden: bool,
    pub migrant: bool,
}

impl Flags {
    pub fn bits(self) -> i64 {
        i64::from(self.away) | i64::from(self.bedridden) << 1 | i64::from(self.migrant) << 2
    }

    pub fn from_bits(bits: i64) -> Self {
        Self { away: bits & 1 != 0, bedridden: bits & 2 != 0, migrant: bits & 4 != 0 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resident {
    pub id: ResidentId,
    pub household_id: HouseholdId,
    pub name: String,
    pub id_number: IdNumber,
    pub phone: Option<Phone>,
    pub birth_year: i32,
    pub flags: Flags,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Chief,
    GridHead,
    GridMember,
    Operator,
    Medic,
    /// A lab: enters tubes' results, and sees tubes and results only.
    Lab,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Chief,
        Role::GridHead,
        Role::GridMember,
        Role::Operator,
        Role::Medic,
        Role::Lab,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Chief => "chief",
            Role::GridHead => "grid_head",
            Role::GridMember => "grid_member",
            Role::Operator => "operator",
            Role::Medic => "medic",
            Role::Lab => "lab",
            Role::Viewer => "viewer",
        }
    }

    /// Whether a node's residents answer to this role's holder when they are its
    /// responsible person (`AreaNode::staff_id`): chiefs, grid heads and grid members.
    pub fn answers_for_area(self) -> bool {
        matches!(self, Role::Chief | Role::GridHead | Role::GridMember)
    }

    /// How far up the chain of command a role sits. Operators, medics and viewers answer
    /// to the same people and manage nobody, so they share the lowest rank.
    fn rank(self) -> u8 {
        match self {
            Role::Admin => 4,
            Role::Chief => 3,
            Role::GridHead => 2,
            Role::GridMember | Role::Operator | Role::Medic | Role::Lab | Role::Viewer => 1,
        }
    }

    /// Whether this role's holder may act on (pair, set a password for, change, retire)
    /// a staff member holding `other`, or give someone `other`: an admin on anyone, anyone
    /// else only on roles below their own — so no one can raise themselves, an equal, or
    /// a staff member into a role at or above their own.
    pub fn may_manage(self, other: Role) -> bool {
        self == Role::Admin || self.rank() > other.rank()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Staff {
    pub id: StaffId,
    pub name: String,
    pub phone: Option<Phone>,
    pub role: Role,
    /// Area nodes this staff member answers for (a head covers the subtree).
    pub nodes: Vec<NodeId>,
    /// For an operator: the sampling point they work at.
    pub point_id: Option<PointId>,
    /// Taken off the roster while sessions, the audit log or the event log still refer
    /// to them: they sign in to nothing and answer for nothing (no nodes, no point).
    pub retired: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SamplingPoint {
    pub id: PointId,
    pub name: String,
    pub place: String,
    /// The grids this point serves.
    pub nodes: Vec<NodeId>,
    /// Taken off the roster while an action names it: kept for the log, serves nothing.
    pub retired: bool,
}

/// The rows a roster is built from, as a generator or the store hands them over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosterParts {
    pub nodes: Vec<AreaNode>,
    pub households: Vec<Household>,
    pub residents: Vec<Resident>,
    pub staff: Vec<Staff>,
    pub points: Vec<SamplingPoint>,
    /// Residents no longer on the village's roster, kept because actions record them
    /// (see [`import`]): out of new actions, still counted where the log names them.
    pub removed: BTreeSet<ResidentId>,
}

/// What makes a set of rows not a roster; the message says which row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RosterError {
    #[error("{kind} {id} appears twice")]
    DuplicateId { kind: &'static str, id: i64 },
    #[error("{kind} {id} refers to {target} {target_id}, which is not in the roster")]
    Dangling { kind: &'static str, id: i64, target: &'static str, target_id: i64 },
    #[error("area node {0} is its own ancestor")]
    Cycle(NodeId),
    #[error("resident {id} has ID number {id_number}, already used by resident {other}")]
    DuplicateIdNumber { id: ResidentId, other: ResidentId, id_number: IdNumber },
    #[error("household number {number} is used by households {a} and {b}")]
    DuplicateHouseholdNumber { number: String, a: HouseholdId, b: HouseholdId },
    #[error("resident {0} is marked removed but is not in the roster")]
    UnknownRemoved(ResidentId),
}

/// A validated roster with the indexes the fold and the API need.
#[derive(Debug, Clone)]
pub struct Roster {
    parts: RosterParts,
    node_index: IdIndex,
    /// For each node (by index): the indexes of its ancestors and itself, root first.
    ancestors: Vec<Vec<usize>>,
    household_index: IdIndex,
    /// Looked up for every event folded (ten million at a large start-up), so usually an
    /// array rather than a hash map: see [`IdIndex`].
    resident_index: IdIndex,
    /// For each resident (by index): the index of their grid. Looked up for every change
    /// the fold and the live views handle, so kept as an array rather than two hash look-ups.
    resident_nodes: Vec<u32>,
    /// For each node (by index): the residents whose household is at it (not below it),
    /// as roster indexes in roster order, so that a grid member's list is read without
    /// walking the whole roster.
    node_residents: Vec<Vec<u32>>,
    /// By [`IdNumber::key`]: 16 bytes a resident, where the numbers' text took about 60.
    by_id_number: HashMap<u64, ResidentId>,
    staff_index: IdIndex,
    point_index: IdIndex,
}

/// Where each row of one kind sits in its `Vec`, by id.
///
/// Ids come from the store's integer keys and the import, which hand them out in
/// sequence, so they are nearly always dense: then the index is an array over the span
/// of ids (4 bytes an id, one memory read a look-up), built and read without hashing.
/// A roster whose ids are scattered (span more than twice the count) gets a hash map.
/// Positions are `u32`: a roster of four billion rows would not fit in memory anyway.
#[derive(Debug, Clone)]
enum IdIndex {
    /// `at[id - first]` is the position, or [`IdIndex::NONE`] for an id not in the roster.
    Dense {
        first: i64,
        at: Vec<u32>,
    },
    Sparse(HashMap<i64, u32>),
}

impl IdIndex {
    const NONE: u32 = u32::MAX;

    fn new<T>(rows: &[T], kind: &'static str, id: impl Fn(&T) -> i64) -> Result<Self, RosterError> {
        let position = |i: usize| u32::try_from(i).ok().filter(|&p| p != Self::NONE).expect("fewer than 2³² rows");
        let (Some(first), Some(last)) = (rows.iter().map(&id).min(), rows.iter().map(&id).max()) else {
            return Ok(Self::Dense { first: 0, at: Vec::new() });
        };
        let span = last.abs_diff(first).saturating_add(1);
        if span <= 2 * rows.len() as u64 + 64 {
            let mut at = vec![Self::NONE; span as usize];
            for (i, row) in rows.iter().enumerate() {
                let slot = &mut at[id(row).abs_diff(first) as usize];
                if *slot != Self::NONE {
                    return Err(RosterError::DuplicateId { kind, id: id(row) });
                }
                *slot = position(i);
            }
            return Ok(Self::Dense { first, at });
        }
        let mut map = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            if map.insert(id(row), position(i)).is_some() {
                return Err(RosterError::DuplicateId { kind, id: id(row) });
            }
        }
        Ok(Self::Sparse(map))
    }

    fn get(&self, id: i64) -> Option<usize> {
        let at = match self {
            Self::Dense { first, at } => {
                let offset = usize::try_from(id.checked_sub(*first)?).ok()?;
                *at.get(offset)?
            }
            Self::Sparse(map) => *map.get(&id)?,
        };
        (at != Self::NONE).then_some(at as usize)
    }

    fn contains(&self, id: i64) -> bool {
        self.get(id).is_some()
    }
}

fn must_exist(
    index: &IdIndex,
    kind: &'static str,
    id: i64,
    target: &'static str,
    target_id: i64,
) -> Result<(), RosterError> {
    if index.contains(target_id) { Ok(()) } else { Err(RosterError::Dangling { kind, id, target, target_id }) }
}

impl Roster {
    pub fn new(parts: RosterParts) -> Result<Self, RosterError> {
        let node_index = IdIndex::new(&parts.nodes, "area node", |n| n.id)?;
        let household_index = IdIndex::new(&parts.households, "household", |h| h.id)?;
        let resident_index = IdIndex::new(&parts.residents, "resident", |r| r.id)?;
        let staff_index = IdIndex::new(&parts.staff, "staff member", |s| s.id)?;
        let point_index = IdIndex::new(&parts.points, "sampling point", |p| p.id)?;

        for n in &parts.nodes {
            if let Some(p) = n.parent {
                must_exist(&node_index, "area node", n.id, "parent node", p)?;
            }
            if let Some(s) = n.staff_id {
                must_exist(&staff_index, "area node", n.id, "staff member", s)?;
            }
        }
        let mut ancestors = Vec::with_capacity(parts.nodes.len());
        for (i, n) in parts.nodes.iter().enumerate() {
            let mut chain = vec![i];
            let mut cur = n.parent;
            while let Some(p) = cur {
                let pi = node_index.get(p).expect("parents were checked to exist");
                if chain.len() > parts.nodes.len() || pi == i {
                    return Err(RosterError::Cycle(n.id));
                }
                chain.push(pi);
                cur = parts.nodes[pi].parent;
            }
            chain.reverse();
            ancestors.push(chain);
        }
        // Each household's grid, by household index, to place residents without a look-up.
        let mut household_nodes = Vec::with_capacity(parts.households.len());
        let mut numbers: HashMap<&str, HouseholdId> = HashMap::with_capacity(parts.households.len());
        for h in &parts.households {
            let node = node_index.get(h.node_id).ok_or(RosterError::Dangling {
                kind: "household",
                id: h.id,
                target: "area node",
                target_id: h.node_id,
            })?;
            household_nodes.push(node as u32);
            if let Some(other) = numbers.insert(&h.number, h.id) {
                return Err(RosterError::DuplicateHouseholdNumber { number: h.number.clone(), a: other, b: h.id });
            }
        }
        drop(numbers);
        let mut by_id_number = HashMap::with_capacity(parts.residents.len());
        let mut resident_nodes = Vec::with_capacity(parts.residents.len());
        for r in &parts.residents {
            let household = household_index.get(r.household_id).ok_or(RosterError::Dangling {
                kind: "resident",
                id: r.id,
                target: "household",
                target_id: r.household_id,
            })?;
            resident_nodes.push(household_nodes[household]);
            if let Some(other) = by_id_number.insert(r.id_number.key(), r.id) {
                return Err(RosterError::DuplicateIdNumber { id: r.id, other, id_number: r.id_number.clone() });
            }
        }
        let mut node_residents = vec![Vec::new(); parts.nodes.len()];
        for (i, &n) in resident_nodes.iter().enumerate() {
            node_residents[n as usize].push(i as u32);
        }
        if let Some(r) = parts.removed.iter().find(|r| !resident_index.contains(**r)) {
            return Err(RosterError::UnknownRemoved(*r));
        }
        for s in &parts.staff {
            for n in &s.nodes {
                must_exist(&node_index, "staff member", s.id, "area node", *n)?;
            }
            if let Some(p) = s.point_id {
                must_exist(&point_index, "staff member", s.id, "sampling point", p)?;
            }
        }
        for p in &parts.points {
            for n in &p.nodes {
                must_exist(&node_index, "sampling point", p.id, "area node", *n)?;
            }
        }
        Ok(Self {
            parts,
            resident_nodes,
            node_residents,
            node_index,
            ancestors,
            household_index,
            resident_index,
            by_id_number,
            staff_index,
            point_index,
        })
    }

    pub fn parts(&self) -> &RosterParts {
        &self.parts
    }

    pub fn nodes(&self) -> &[AreaNode] {
        &self.parts.nodes
    }

    pub fn households(&self) -> &[Household] {
        &self.parts.households
    }

    pub fn residents(&self) -> &[Resident] {
        &self.parts.residents
    }

    pub fn staff(&self) -> &[Staff] {
        &self.parts.staff
    }

    pub fn points(&self) -> &[SamplingPoint] {
        &self.parts.points
    }

    pub fn node_idx(&self, id: NodeId) -> Option<usize> {
        self.node_index.get(id)
    }

    /// Indexes of the node and its ancestors, root first.
    pub fn ancestors(&self, node_idx: usize) -> &[usize] {
        &self.ancestors[node_idx]
    }

    pub fn resident_idx(&self, id: ResidentId) -> Option<usize> {
        self.resident_index.get(id)
    }

    /// Whether a resident was taken off the roster and is kept only for the log's sake.
    pub fn is_removed(&self, id: ResidentId) -> bool {
        self.parts.removed.contains(&id)
    }

    pub fn resident_by_id_number(&self, id_number: &IdNumber) -> Option<ResidentId> {
        self.by_id_number.get(&id_number.key()).copied()
    }

    pub fn household(&self, id: HouseholdId) -> Option<&Household> {
        self.household_index.get(id).map(|i| &self.parts.households[i])
    }

    /// The grid (node index) a resident (by index) lives in.
    pub fn resident_node_idx(&self, resident_idx: usize) -> usize {
        self.resident_nodes[resident_idx] as usize
    }

    /// Roster indexes of the residents whose household is at this node (not below it), in
    /// roster order.
    pub fn residents_at(&self, node_idx: usize) -> &[u32] {
        &self.node_residents[node_idx]
    }

    pub fn staff_member(&self, id: StaffId) -> Option<&Staff> {
        self.staff_index.get(id).map(|i| &self.parts.staff[i])
    }

    pub fn point(&self, id: PointId) -> Option<&SamplingPoint> {
        self.point_index.get(id).map(|i| &self.parts.points[i])
    }

    /// Whether `node_idx` lies in the subtree of any of `scope` (node indexes).
    pub fn in_subtree_of(&self, node_idx: usize, scope: &HashSet<usize>) -> bool {
        self.ancestors[node_idx].iter().any(|a| scope.contains(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::village;

    /// The demo village with its residents' ids moved by `f`.
    fn village_with_resident_ids(f: impl Fn(i64) -> i64) -> RosterParts {
        let mut parts = village::generate(3).roster;
        parts.residents.iter_mut().for_each(|r| r.id = f(r.id));
        parts
    }

    #[test]
    fn residents_are_found_by_id_whether_ids_are_dense_or_scattered() {
        for f in [|id: i64| id, |id: i64| id * 1_000_003 - 7, |id: i64| -id] {
            let parts = village_with_resident_ids(f);
            let roster = Roster::new(parts.clone()).expect("a valid roster");
            for (i, r) in parts.residents.iter().enumerate() {
                assert_eq!(roster.resident_idx(r.id), Some(i));
                assert_eq!(roster.resident_by_id_number(&r.id_number), Some(r.id));
            }
            let (min, max) = (parts.residents.iter().map(|r| r.id).min(), parts.residents.iter().map(|r| r.id).max());
            assert_eq!(roster.resident_idx(min.unwrap() - 1), None);
            assert_eq!(roster.resident_idx(max.unwrap() + 1), None);
            assert_eq!(roster.resident_idx(i64::MIN), None);
            assert_eq!(roster.resident_idx(i64::MAX), None);
        }
    }

    #[test]
    fn a_resident_id_used_twice_is_refused_whether_ids_are_dense_or_scattered() {
        for f in [|id: i64| id, |id| id * 1_000_003] {
            let mut parts = village_with_resident_ids(f);
            parts.residents[5].id = parts.residents[4].id;
            let id = parts.residents[4].id;
            assert_eq!(Roster::new(parts).unwrap_err(), RosterError::DuplicateId { kind: "resident", id });
        }
    }

    #[test]
    fn an_id_number_used_twice_names_both_residents() {
        let mut parts = village::generate(3).roster;
        parts.residents[9].id_number = parts.residents[2].id_number.clone();
        let (id, other) = (parts.residents[9].id, parts.residents[2].id);
        let id_number = parts.residents[2].id_number.clone();
        assert_eq!(Roster::new(parts).unwrap_err(), RosterError::DuplicateIdNumber { id, other, id_number });
    }
}
