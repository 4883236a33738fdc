//! From a sheet to the next roster: matches what the sheet says with what the roster has
//! by stable keys (an area by its parent and name, a household by its number, a resident
//! by ID number, a grid member by name and phone), so ids never change and nothing is
//! duplicated, and says exactly what was added, changed and removed. Residents the log
//! refers to are never deleted: they are marked removed and kept for their history.

use super::{Counts, Report, SheetRoster};
use crate::roster::{
    AreaNode, Household, HouseholdId, NodeId, Resident, ResidentId, Role, RosterParts, Staff, StaffId,
};
use std::collections::{BTreeSet, HashMap, HashSet};

/// What changes, by id, for the store to write in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosterChanges {
    /// New or changed rows (written as upserts), and staff whose areas changed.
    pub staff: Vec<StaffId>,
    /// Parents before children.
    pub nodes: Vec<NodeId>,
    pub households: Vec<HouseholdId>,
    pub residents: Vec<ResidentId>,
    pub deleted_residents: Vec<ResidentId>,
    pub deleted_households: Vec<HouseholdId>,
    /// Children before parents.
    pub deleted_nodes: Vec<NodeId>,
}

impl RosterChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The next roster, what to write to get there, and the report for the clerk.
#[derive(Debug, Clone)]
pub struct Plan {
    pub parts: RosterParts,
    pub changes: RosterChanges,
    pub report: Report,
}

/// What the import must not remove, beyond what the sheet names.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    /// Residents named by an event in any action.
    pub residents: HashSet<ResidentId>,
    /// Area nodes an action covers.
    pub nodes: HashSet<NodeId>,
}

/// Hands out new ids after the largest in use. Only rows no event names are ever
/// deleted, so an id the log refers to never comes back for someone else.
struct Ids(i64);

impl Ids {
    fn after<T>(rows: &[T], id: impl Fn(&T) -> i64) -> Self {
        Ids(rows.iter().map(id).max().unwrap_or(0))
    }

    fn next(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }
}

/// The root's name when the sheet does not name it: the title row less its usual ending
/// (`某某村村民花名册` → `某某村`).
fn root_name(sheet: &SheetRoster) -> String {
    let title = sheet.title.as_deref().unwrap_or("");
    let name = ["村民花名册", "居民花名册", "人员花名册", "花名册", "人员名单", "名单", "户籍信息"]
        .iter()
        .find_map(|s| title.strip_suffix(s))
        .unwrap_or(title);
    if name.is_empty() || name.chars().count() > 30 { "全村".into() } else { name.into() }
}

pub fn plan(current: &RosterParts, keep: &Keep, sheet: &SheetRoster) -> Plan {
    let mut parts = current.clone();
    let mut report = Report::default();

    // The root: the sheet names it when its top area column has one value throughout.
    let firsts: HashSet<&str> = sheet.households.iter().filter_map(|h| h.path.first()).map(String::as_str).collect();
    let rooted = firsts.len() == 1 && sheet.households.iter().all(|h| h.path.len() == sheet.levels.len());
    let roots: Vec<usize> = (0..parts.nodes.len()).filter(|&i| parts.nodes[i].parent.is_none()).collect();
    let (root_level, root_label) = match rooted {
        true => (sheet.levels[0].clone(), firsts.iter().next().map(|s| s.to_string()).unwrap_or_default()),
        false => ("村".to_owned(), root_name(sheet)),
    };
    let mut node_ids = Ids::after(&parts.nodes, |n| n.id);
    let mut staff_ids = Ids::after(&parts.staff, |s| s.id);
    let mut household_ids = Ids::after(&parts.households, |h| h.id);
    let mut resident_ids = Ids::after(&parts.residents, |r| r.id);
    let root = match roots.as_slice() {
        [only] => {
            if rooted {
                parts.nodes[*only].name = root_label;
                parts.nodes[*only].level = root_level;
            }
            parts.nodes[*only].id
        }
        _ => match roots.iter().find(|&&i| parts.nodes[i].name == root_label) {
            Some(&i) => parts.nodes[i].id,
            None => {
                let id = node_ids.next();
                parts.nodes.push(AreaNode { id, parent: None, level: root_level, name: root_label, staff_id: None });
                id
            }
        },
    };

    // Areas, matched by parent and name.
    let mut children: HashMap<(NodeId, String), usize> =
        parts.nodes.iter().enumerate().filter_map(|(i, n)| Some(((n.parent?, n.name.clone()), i))).collect();
    let skip = usize::from(rooted);
    let mut used: HashSet<NodeId> = HashSet::from([root]);
    let mut grid_of: HashMap<&[String], NodeId> = HashMap::new();
    for h in &sheet.households {
        if grid_of.contains_key(h.path.as_slice()) {
            continue;
        }
        let mut parent = root;
        for (level, name) in h.path.iter().enumerate().skip(skip) {
            let level_name = sheet.levels.get(level).cloned().unwrap_or_default();
            let i = match children.get(&(parent, name.clone())) {
                Some(&i) => i,
                None => {
                    let id = node_ids.next();
                    let node = AreaNode {
                        id,
                        parent: Some(parent),
                        level: level_name.clone(),
                        name: name.clone(),
                        staff_id: None,
                    };
                    parts.nodes.push(node);
                    children.insert((parent, name.clone()), parts.nodes.len() - 1);
                    parts.nodes.len() - 1
                }
            };
            parts.nodes[i].level = level_name;
            parent = parts.nodes[i].id;
            used.insert(parent);
        }
        grid_of.insert(&h.path, parent);
    }

    // Grid members, matched by name and phone, answer for their grids.
    if sheet.has_grid_members {
        let key = |name: &str, phone: Option<&str>| (name.to_owned(), phone.unwrap_or("").to_owned());
        let mut members: HashMap<(String, String), StaffId> = parts
            .staff
            .iter()
            .filter(|s| s.role == Role::GridMember)
            .map(|s| (key(&s.name, s.phone.as_ref().map(|p| p.expose())), s.id))
            .collect();
        let node_index: HashMap<NodeId, usize> = parts.nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        let role_of: HashMap<StaffId, Role> = parts.staff.iter().map(|s| (s.id, s.role)).collect();
        let mut assigned: HashMap<NodeId, StaffId> = HashMap::new();
        for (path, (name, phone)) in &sheet.grid_members {
            let Some(&grid) = grid_of.get(path.as_slice()) else { continue };
            let k = key(name, phone.as_ref().map(|p| p.expose()));
            let id = match members.get(&k) {
                Some(&id) => id,
                None => {
                    let id = staff_ids.next();
                    parts.staff.push(Staff {
                        id,
                        name: name.clone(),
                        phone: phone.clone(),
                        role: Role::GridMember,
                        nodes: Vec::new(),
                        point_id: None,
                    });
                    members.insert(k, id);
                    report.grid_members_added += 1;
                    id
                }
            };
            assigned.insert(grid, id);
        }
        // Each grid the sheet lists gets the member the sheet names, or none; a grid
        // head or chief placed on a node keeps it.
        for &grid in grid_of.values() {
            let n = &mut parts.nodes[node_index[&grid]];
            let by_member = n.staff_id.is_none_or(|s| role_of.get(&s) == Some(&Role::GridMember));
            if by_member {
                n.staff_id = assigned.get(&grid).copied();
            }
        }
        let sheet_grids: HashSet<NodeId> = grid_of.values().copied().collect();
        for s in parts.staff.iter_mut().filter(|s| s.role == Role::GridMember) {
            s.nodes.retain(|n| !sheet_grids.contains(n));
            s.nodes.extend(assigned.iter().filter(|(_, m)| **m == s.id).map(|(g, _)| *g));
            s.nodes.sort_unstable();
        }
    }

    // Households by number, residents by ID number.
    let mut household_by_number: HashMap<String, usize> =
        parts.households.iter().enumerate().map(|(i, h)| (h.number.clone(), i)).collect();
    let mut resident_by_id: HashMap<String, usize> =
        parts.residents.iter().enumerate().map(|(i, r)| (r.id_number.expose().to_owned(), i)).collect();
    let mut seen_households = HashSet::new();
    let mut seen_residents = HashSet::new();
    let was_removed = current.removed.clone();
    for h in &sheet.households {
        let node_id = grid_of[h.path.as_slice()];
        let hi = match household_by_number.get(&h.number) {
            Some(&i) => {
                parts.households[i].address = h.address.clone();
                parts.households[i].node_id = node_id;
                i
            }
            None => {
                let id = household_ids.next();
                parts.households.push(Household { id, number: h.number.clone(), address: h.address.clone(), node_id });
                household_by_number.insert(h.number.clone(), parts.households.len() - 1);
                parts.households.len() - 1
            }
        };
        let household_id = parts.households[hi].id;
        seen_households.insert(household_id);
        for r in &h.residents {
            let resident = |id: ResidentId| Resident {
                id,
                household_id,
                name: r.name.clone(),
                id_number: r.id_number.clone(),
                phone: r.phone.clone(),
                birth_year: r.birth_year,
                flags: r.flags,
                note: r.note.clone(),
            };
            let id = match resident_by_id.get(r.id_number.expose()) {
                Some(&i) => {
                    parts.residents[i] = resident(parts.residents[i].id);
                    parts.residents[i].id
                }
                None => {
                    let id = resident_ids.next();
                    parts.residents.push(resident(id));
                    resident_by_id.insert(r.id_number.expose().to_owned(), parts.residents.len() - 1);
                    id
                }
            };
            parts.removed.remove(&id);
            seen_residents.insert(id);
        }
    }

    // Residents the sheet no longer lists: kept (marked removed) if the log names them.
    let mut changes = RosterChanges::default();
    parts.residents.retain(|r| {
        if seen_residents.contains(&r.id) || was_removed.contains(&r.id) {
            return true;
        }
        report.residents.removed += 1;
        if keep.residents.contains(&r.id) {
            report.kept_for_history += 1;
            true
        } else {
            changes.deleted_residents.push(r.id);
            false
        }
    });
    parts.removed.extend(
        parts.residents.iter().filter(|r| !seen_residents.contains(&r.id)).map(|r| r.id).collect::<BTreeSet<_>>(),
    );
    let occupied: HashSet<HouseholdId> = parts.residents.iter().map(|r| r.household_id).collect();
    let active_before: HashSet<HouseholdId> =
        current.residents.iter().filter(|r| !current.removed.contains(&r.id)).map(|r| r.household_id).collect();
    report.households.removed = active_before.iter().filter(|h| !seen_households.contains(h)).count();
    parts.households.retain(|h| {
        let stays = seen_households.contains(&h.id) || occupied.contains(&h.id);
        if !stays {
            changes.deleted_households.push(h.id);
        }
        stays
    });

    // Areas nothing refers to any more go, children first.
    let mut needed: HashSet<NodeId> = used;
    needed.extend(parts.households.iter().map(|h| h.node_id));
    needed.extend(parts.points.iter().flat_map(|p| p.nodes.iter().copied()));
    needed.extend(keep.nodes.iter().copied());
    let parent_of: HashMap<NodeId, Option<NodeId>> = parts.nodes.iter().map(|n| (n.id, n.parent)).collect();
    for n in needed.clone() {
        let mut cur = parent_of.get(&n).copied().flatten();
        while let Some(p) = cur {
            if !needed.insert(p) {
                break;
            }
            cur = parent_of.get(&p).copied().flatten();
        }
    }
    let depth = |mut id: NodeId| {
        let mut d = 0;
        while let Some(Some(p)) = parent_of.get(&id) {
            d += 1;
            id = *p;
        }
        d
    };
    let mut gone: Vec<NodeId> = parts.nodes.iter().map(|n| n.id).filter(|id| !needed.contains(id)).collect();
    gone.sort_by_key(|&id| std::cmp::Reverse(depth(id)));
    let gone_set: HashSet<NodeId> = gone.iter().copied().collect();
    parts.nodes.retain(|n| !gone_set.contains(&n.id));
    for s in &mut parts.staff {
        s.nodes.retain(|n| !gone_set.contains(n));
    }
    report.areas.removed = gone.len();
    changes.deleted_nodes = gone;

    // What differs from the current roster, row by row.
    changes.staff = changed(&current.staff, &parts.staff, |s| s.id);
    let nodes = changed(&current.nodes, &parts.nodes, |n| n.id);
    let before: HashSet<NodeId> = current.nodes.iter().map(|n| n.id).collect();
    report.areas.added = nodes.iter().filter(|id| !before.contains(id)).count();
    report.areas.changed = nodes.len() - report.areas.added;
    report.areas.unchanged = parts.nodes.len() - nodes.len();
    changes.nodes = nodes;
    changes.nodes.sort_by_cached_key(|&id| depth(id));
    changes.households = changed(&current.households, &parts.households, |h| h.id);
    let before: HashSet<HouseholdId> = current.households.iter().map(|h| h.id).collect();
    count(&mut report.households, &seen_households, &before, &changes.households);
    changes.residents = changed(&current.residents, &parts.residents, |r| r.id);
    // Marked removed, or back on the sheet after that: the row's flag changes.
    let flipped: Vec<ResidentId> = parts.removed.symmetric_difference(&was_removed).copied().collect();
    let flipped: Vec<ResidentId> = flipped.into_iter().filter(|id| !changes.residents.contains(id)).collect();
    changes.residents.extend(flipped);
    let before: HashSet<ResidentId> = current.residents.iter().map(|r| r.id).collect();
    count(&mut report.residents, &seen_residents, &before, &changes.residents);
    report.flags_from_notes = sheet.notices.clone();
    Plan { parts, changes, report }
}

/// Ids of rows that are new or differ from the row with the same id before.
fn changed<T: PartialEq>(old: &[T], new: &[T], id: impl Fn(&T) -> i64) -> Vec<i64> {
    let before: HashMap<i64, &T> = old.iter().map(|r| (id(r), r)).collect();
    new.iter().filter(|r| before.get(&id(r)).is_none_or(|o| *o != *r)).map(&id).collect()
}

/// Added, changed and unchanged among the rows the sheet lists (`removed` is counted
/// apart, from what the sheet no longer lists).
fn count(counts: &mut Counts, seen: &HashSet<i64>, before: &HashSet<i64>, changed: &[i64]) {
    let changed: HashSet<i64> = changed.iter().copied().collect();
    for id in seen {
        match (before.contains(id), changed.contains(id)) {
            (false, _) => counts.added += 1,
            (true, true) => counts.changed += 1,
            (true, false) => counts.unchanged += 1,
        }
    }
}
