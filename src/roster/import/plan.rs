//! From a sheet to the next roster: matches what the sheet says with what the roster has
//! by stable keys (an area by its parent and name, a household by its number, a resident
//! by ID number, a staff member by phone — or by name when they have none — and a point
//! by name), so ids never change and nothing is duplicated, and says exactly what was
//! added, changed and removed. Rows something refers to are never deleted: residents the
//! log names are marked removed, staff that sessions or logs name and points an action
//! names are retired.
//!
//! An import can be limited to an area node: then rows outside it are problems, and only
//! what lies inside (residents and households at or under it, nodes under it, staff and
//! points whose areas are all inside it) is added, changed or removed.
//!
//! Areas in the staff and point sheets are named as in the residents' sheet: by name, or
//! by a path of names from any level down (`东片区/第1网格`) when a name alone is not
//! unique; `全村` (or the root's name) is the whole roster.

use super::export::header;
use super::layout::Field;
use super::{Cited, Counts, Problem, REMOVAL_EXAMPLES, Removed, Report, SheetPoint, SheetRoster, SheetStaff, texts};
use crate::roster::{
    AreaNode, Household, HouseholdId, NodeId, Phone, PointId, Resident, ResidentId, Role, RosterParts, SamplingPoint,
    Staff, StaffId,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What changes, by id, for the store to write in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosterChanges {
    /// New or changed rows (written as upserts), and staff whose areas changed.
    pub staff: Vec<StaffId>,
    /// Parents before children.
    pub nodes: Vec<NodeId>,
    pub households: Vec<HouseholdId>,
    pub residents: Vec<ResidentId>,
    /// New or changed points, and points whose areas changed.
    pub points: Vec<PointId>,
    pub deleted_residents: Vec<ResidentId>,
    pub deleted_households: Vec<HouseholdId>,
    pub deleted_staff: Vec<StaffId>,
    pub deleted_points: Vec<PointId>,
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

/// What the import must not delete, beyond what the sheet names.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    /// Residents named by an event in any action.
    pub residents: HashSet<ResidentId>,
    /// Area nodes an action covers.
    pub nodes: HashSet<NodeId>,
    /// Staff that sessions, pairing codes, the audit log or the event log refer to: retired,
    /// not deleted, when the sheet no longer lists them.
    pub staff: HashSet<StaffId>,
    /// Points an action names: retired, not deleted.
    pub points: HashSet<PointId>,
}

/// Hands out new ids after the largest in use. Only rows nothing refers to are ever
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

/// Words in an area cell meaning the whole roster.
const WHOLE: &[&str] = &["全村", "全部", "全域", "all"];

/// The area tree by name, to resolve the areas the staff and point sheets name.
struct AreaIndex {
    /// Each node's names from the root down.
    paths: HashMap<NodeId, Vec<String>>,
    /// Nodes by their own name, ascending.
    by_name: HashMap<String, Vec<NodeId>>,
    root: NodeId,
}

impl AreaIndex {
    fn new(nodes: &[AreaNode], root: NodeId) -> Self {
        let by_id: HashMap<NodeId, &AreaNode> = nodes.iter().map(|n| (n.id, n)).collect();
        let mut by_name: HashMap<String, Vec<NodeId>> = HashMap::new();
        let mut paths = HashMap::with_capacity(nodes.len());
        for n in nodes {
            let mut path = vec![n.name.clone()];
            let mut cur = n.parent;
            while let Some(p) = cur.and_then(|p| by_id.get(&p)) {
                if path.len() > nodes.len() {
                    break;
                }
                path.push(p.name.clone());
                cur = p.parent;
            }
            path.reverse();
            paths.insert(n.id, path);
            by_name.entry(n.name.clone()).or_default().push(n.id);
        }
        by_name.values_mut().for_each(|ids| ids.sort_unstable());
        Self { paths, by_name, root }
    }

    fn path(&self, id: NodeId) -> String {
        self.paths.get(&id).map(|p| p.join("/")).unwrap_or_default()
    }

    /// The one node an area cell names (see the module's doc), or the problem's code and texts.
    fn resolve(&self, text: &str) -> Result<NodeId, (&'static str, texts::Text)> {
        if WHOLE.contains(&super::layout::header_key(text).as_str()) {
            return Ok(self.root);
        }
        let wanted: Vec<String> = text.split('/').map(super::layout::normalize).filter(|s| !s.is_empty()).collect();
        let candidates = wanted.last().and_then(|last| self.by_name.get(last)).map_or(&[][..], Vec::as_slice);
        let found: Vec<NodeId> = candidates.iter().copied().filter(|id| self.paths[id].ends_with(&wanted)).collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(("area_unknown", texts::area_unknown(text))),
            many => {
                let shown: Vec<String> = many.iter().take(5).map(|id| self.path(*id)).collect();
                Err(("area_ambiguous", texts::area_ambiguous(text, &shown)))
            }
        }
    }
}

/// The area node a `--area` argument names: an id, a name or a path (as in the sheets).
pub fn find_area(parts: &RosterParts, text: &str) -> Result<NodeId, String> {
    let text = text.trim();
    if let Ok(id) = text.parse::<NodeId>() {
        let unknown = || crate::messages::api::field::no_such_node(id).to_string();
        return parts.nodes.iter().find(|n| n.id == id).map(|n| n.id).ok_or_else(unknown);
    }
    let root = parts.nodes.iter().find(|n| n.parent.is_none()).map_or(0, |n| n.id);
    AreaIndex::new(&parts.nodes, root).resolve(text).map_err(|(_, (problem, fix))| format!("{problem}: {fix}"))
}

/// A staff member the sheets ask for, before it is matched to the roster.
struct Wanted {
    name: String,
    phone: Option<Phone>,
    role: Role,
    nodes: BTreeSet<NodeId>,
    point: Option<PointId>,
    /// Nodes whose residents answer to them (`AreaNode::staff_id`).
    responsible: BTreeSet<NodeId>,
    /// From the residents' sheet's grid member columns only (not the staff sheet).
    grid_member_only: bool,
    /// Where the sheets first name them: sheet, row, and the column of their name.
    sheet: String,
    row: u32,
    column: String,
}

/// The state of one planning: the roster as it becomes, and every problem found.
struct Planner<'a> {
    current: &'a RosterParts,
    keep: &'a Keep,
    sheet: &'a SheetRoster,
    area: Option<NodeId>,
    parts: RosterParts,
    report: Report,
    changes: RosterChanges,
    problems: Vec<Problem>,
    root: NodeId,
    /// Nodes at or under `area` (every node when the import is not limited), including new ones.
    inside: HashSet<NodeId>,
    /// The grid of each household path of the sheet; `None` where it lies outside the area.
    grid_of: HashMap<Vec<String>, Option<NodeId>>,
    /// Nodes the sheets use: never deleted.
    used: HashSet<NodeId>,
    /// The tree as the residents' sheet leaves it, by name.
    index: AreaIndex,
    /// Points of the point sheet refused for their areas: staff naming them are told so
    /// when the problem is the area the import is limited to.
    refused_points: HashSet<String>,
}

pub fn plan(
    current: &RosterParts,
    keep: &Keep,
    sheet: &SheetRoster,
    area: Option<NodeId>,
) -> Result<Plan, Vec<Problem>> {
    let mut p = Planner {
        current,
        keep,
        sheet,
        area,
        parts: current.clone(),
        report: Report { area, ..Report::default() },
        changes: RosterChanges::default(),
        problems: Vec::new(),
        root: 0,
        inside: HashSet::new(),
        grid_of: HashMap::new(),
        used: HashSet::new(),
        refused_points: HashSet::new(),
        index: AreaIndex::new(&current.nodes, 0),
    };
    p.areas();
    p.residents();
    let points = p.points();
    p.staff(&points);
    if !p.problems.is_empty() {
        return Err(p.problems);
    }
    p.prune_nodes();
    Ok(p.finish())
}

impl Planner<'_> {
    /// The area the import is limited to (or the root), by its path.
    fn area_name(&self) -> String {
        self.index.path(self.area.unwrap_or(self.root))
    }

    fn path_name(&self, node: NodeId) -> String {
        self.index.path(node)
    }

    /// The root, then every household's area path matched by parent and name (new nodes
    /// only inside the area).
    fn areas(&mut self) {
        let sheet = self.sheet;
        let firsts: HashSet<&str> =
            sheet.households.iter().filter_map(|h| h.path.first()).map(String::as_str).collect();
        let full = sheet.households.iter().all(|h| h.path.len() == sheet.levels.len());
        let roots: Vec<usize> = (0..self.parts.nodes.len()).filter(|&i| self.parts.nodes[i].parent.is_none()).collect();
        let mut node_ids = Ids::after(&self.parts.nodes, |n| n.id);
        let parent_of: HashMap<NodeId, Option<NodeId>> = self.parts.nodes.iter().map(|n| (n.id, n.parent)).collect();
        let root_of = |mut id: NodeId| {
            while let Some(Some(p)) = parent_of.get(&id) {
                id = *p;
            }
            id
        };
        // With an area, the tree above it is not the sheet's to rename: its paths start at
        // the root when their first name is the root's.
        let rooted = match self.area {
            Some(a) => {
                let root = root_of(a);
                let name = self.parts.nodes.iter().find(|n| n.id == root).map(|n| n.name.as_str());
                full && firsts.len() == 1 && firsts.iter().next().copied() == name
            }
            None => firsts.len() == 1 && full,
        };
        let (root_level, root_label) = match rooted {
            true => (sheet.levels[0].clone(), firsts.iter().next().map(|s| s.to_string()).unwrap_or_default()),
            false => ("村".to_owned(), root_name(sheet)),
        };
        self.root = match (self.area, roots.as_slice()) {
            (Some(a), _) => root_of(a),
            (None, [only]) => {
                if rooted {
                    self.parts.nodes[*only].name = root_label;
                    self.parts.nodes[*only].level = root_level;
                }
                self.parts.nodes[*only].id
            }
            (None, _) => match roots.iter().find(|&&i| self.parts.nodes[i].name == root_label) {
                Some(&i) => self.parts.nodes[i].id,
                None => {
                    let id = node_ids.next();
                    let node = AreaNode { id, parent: None, level: root_level, name: root_label, staff_id: None };
                    self.parts.nodes.push(node);
                    id
                }
            },
        };
        self.inside = match self.area {
            None => self.parts.nodes.iter().map(|n| n.id).collect(),
            Some(a) => {
                let mut inside = HashSet::from([a]);
                // Nodes come in no particular order: add children until none is new.
                loop {
                    let before = inside.len();
                    for n in &self.parts.nodes {
                        if n.parent.is_some_and(|p| inside.contains(&p)) {
                            inside.insert(n.id);
                        }
                    }
                    if inside.len() == before {
                        break inside;
                    }
                }
            }
        };
        self.used.insert(self.root);

        let mut children: HashMap<(NodeId, String), usize> =
            self.parts.nodes.iter().enumerate().filter_map(|(i, n)| Some(((n.parent?, n.name.clone()), i))).collect();
        let skip = usize::from(rooted);
        // With an area, a path may also start at the area's own level (its name first) or
        // below it (one 片区's sheet with a 网格 column only); it starts at the root when its
        // first name is one of the root's children.
        let area = self
            .area
            .and_then(|a| self.parts.nodes.iter().find(|n| n.id == a))
            .map(|n| (n.id, n.parent, n.name.clone()));
        for h in &sheet.households {
            if self.grid_of.contains_key(&h.path) {
                continue;
            }
            let first = h.path.get(skip).cloned().unwrap_or_default();
            let mut parent = match &area {
                Some((a, above, name)) if !children.contains_key(&(self.root, first.clone())) => match above {
                    Some(above) if *name == first => *above,
                    _ => *a,
                },
                _ => self.root,
            };
            let mut walked = vec![parent];
            let mut outside = false;
            for (level, name) in h.path.iter().enumerate().skip(skip) {
                let level_name = sheet.levels.get(level).cloned().unwrap_or_default();
                let i = match children.get(&(parent, name.clone())) {
                    Some(&i) => i,
                    None if !self.inside.contains(&parent) => {
                        outside = true;
                        break;
                    }
                    None => {
                        let id = node_ids.next();
                        let node = AreaNode {
                            id,
                            parent: Some(parent),
                            level: level_name.clone(),
                            name: name.clone(),
                            staff_id: None,
                        };
                        self.parts.nodes.push(node);
                        self.inside.insert(id);
                        children.insert((parent, name.clone()), self.parts.nodes.len() - 1);
                        self.parts.nodes.len() - 1
                    }
                };
                if self.inside.contains(&self.parts.nodes[i].id) {
                    self.parts.nodes[i].level = level_name;
                }
                parent = self.parts.nodes[i].id;
                walked.push(parent);
            }
            if outside || !self.inside.contains(&parent) {
                self.grid_of.insert(h.path.clone(), None);
                continue;
            }
            self.used.extend(walked);
            self.grid_of.insert(h.path.clone(), Some(parent));
        }
        self.index = AreaIndex::new(&self.parts.nodes, self.root);
        // Each resident's row outside the area is refused.
        let column = sheet.levels.last().cloned().unwrap_or_default();
        for h in sheet.households.iter().filter(|h| self.grid_of[&h.path].is_none()) {
            let shown = h.path.join("/");
            let (problem, fix) = texts::outside_area(&self.area_name(), &shown);
            for r in &h.residents {
                let p = Problem::at(&sheet.sheet, r.row, &column, &shown, "outside_area", problem.clone(), fix.clone());
                self.problems.push(p);
            }
        }
    }

    /// Households by number, residents by ID number; those the sheet no longer lists are
    /// removed (residents the log names are kept, marked removed).
    fn residents(&mut self) {
        let sheet = self.sheet;
        let area = self.area_name();
        let mut household_ids = Ids::after(&self.parts.households, |h| h.id);
        let mut resident_ids = Ids::after(&self.parts.residents, |r| r.id);
        let mut household_by_number: HashMap<String, usize> =
            self.parts.households.iter().enumerate().map(|(i, h)| (h.number.clone(), i)).collect();
        let mut resident_by_id: HashMap<String, usize> =
            self.parts.residents.iter().enumerate().map(|(i, r)| (r.id_number.expose().to_owned(), i)).collect();
        let node_of_household: HashMap<HouseholdId, NodeId> =
            self.current.households.iter().map(|h| (h.id, h.node_id)).collect();
        let mut seen_households = HashSet::new();
        let mut seen_residents = HashSet::new();
        let was_removed = self.current.removed.clone();
        for h in &sheet.households {
            let Some(node_id) = self.grid_of[&h.path] else { continue };
            let hi = match household_by_number.get(&h.number) {
                Some(&i) if !self.inside.contains(&self.parts.households[i].node_id) => {
                    let at = self.path_name(self.parts.households[i].node_id);
                    let (problem, fix) = texts::moves_from_outside(&area, texts::Moved::Household(&h.number), &at);
                    let column = header(Field::Household);
                    self.problems.push(Problem::at(
                        &sheet.sheet,
                        h.row,
                        &column,
                        &h.number,
                        "outside_area",
                        problem,
                        fix,
                    ));
                    continue;
                }
                Some(&i) => {
                    self.parts.households[i].address = h.address.clone();
                    self.parts.households[i].node_id = node_id;
                    i
                }
                None => {
                    let id = household_ids.next();
                    let household = Household { id, number: h.number.clone(), address: h.address.clone(), node_id };
                    self.parts.households.push(household);
                    household_by_number.insert(h.number.clone(), self.parts.households.len() - 1);
                    self.parts.households.len() - 1
                }
            };
            let household_id = self.parts.households[hi].id;
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
                        let was_at = node_of_household.get(&self.parts.residents[i].household_id).copied();
                        if let Some(at) = was_at.filter(|n| !self.inside.contains(n)) {
                            let at = self.path_name(at);
                            let (problem, fix) = texts::moves_from_outside(&area, texts::Moved::Resident, &at);
                            let column = header(Field::IdNumber);
                            let masked = r.id_number.masked();
                            self.problems.push(Problem::at(
                                &sheet.sheet,
                                r.row,
                                &column,
                                &masked,
                                "outside_area",
                                problem,
                                fix,
                            ));
                            continue;
                        }
                        self.parts.residents[i] = resident(self.parts.residents[i].id);
                        self.parts.residents[i].id
                    }
                    None => {
                        let id = resident_ids.next();
                        self.parts.residents.push(resident(id));
                        resident_by_id.insert(r.id_number.expose().to_owned(), self.parts.residents.len() - 1);
                        id
                    }
                };
                self.parts.removed.remove(&id);
                seen_residents.insert(id);
            }
        }

        // Residents the sheet no longer lists (inside the area): kept, marked removed, if
        // the log names them.
        let inside_household = |h: HouseholdId| node_of_household.get(&h).is_some_and(|n| self.inside.contains(n));
        let (keep, report, changes) = (&self.keep, &mut self.report, &mut self.changes);
        let mut examples = Vec::new();
        self.parts.residents.retain(|r| {
            if seen_residents.contains(&r.id) || was_removed.contains(&r.id) || !inside_household(r.household_id) {
                return true;
            }
            report.residents.removed += 1;
            if examples.len() < REMOVAL_EXAMPLES {
                examples.push(Removed { kind: "resident", name: r.name.clone() });
            }
            if keep.residents.contains(&r.id) {
                report.kept_for_history += 1;
                true
            } else {
                changes.deleted_residents.push(r.id);
                false
            }
        });
        let newly_removed: BTreeSet<ResidentId> = self
            .parts
            .residents
            .iter()
            .filter(|r| !seen_residents.contains(&r.id) && inside_household(r.household_id))
            .map(|r| r.id)
            .collect();
        self.parts.removed.extend(newly_removed);
        let occupied: HashSet<HouseholdId> = self.parts.residents.iter().map(|r| r.household_id).collect();
        let active_before: BTreeSet<HouseholdId> = self
            .current
            .residents
            .iter()
            .filter(|r| !self.current.removed.contains(&r.id))
            .map(|r| r.household_id)
            .collect();
        let number_of: HashMap<HouseholdId, &str> =
            self.current.households.iter().map(|h| (h.id, h.number.as_str())).collect();
        for h in active_before.iter().filter(|h| !seen_households.contains(h) && inside_household(**h)) {
            self.report.households.removed += 1;
            if examples.iter().filter(|e| e.kind == "household").count() < REMOVAL_EXAMPLES {
                examples.push(Removed { kind: "household", name: number_of.get(h).copied().unwrap_or("").into() });
            }
        }
        let changes = &mut self.changes;
        self.parts.households.retain(|h| {
            let stays = seen_households.contains(&h.id) || occupied.contains(&h.id) || !inside_household(h.id);
            if !stays {
                changes.deleted_households.push(h.id);
            }
            stays
        });
        self.report.removals.examples.extend(examples);
        let before: HashSet<HouseholdId> = self.current.households.iter().map(|h| h.id).collect();
        self.changes.households = changed(&self.current.households, &self.parts.households, |h| h.id);
        count(&mut self.report.households, &seen_households, &before, &self.changes.households);
        self.changes.residents = changed(&self.current.residents, &self.parts.residents, |r| r.id);
        // Marked removed, or back on the sheet after that: the row's flag changes.
        let flipped: Vec<ResidentId> = self.parts.removed.symmetric_difference(&was_removed).copied().collect();
        let flipped: Vec<ResidentId> = flipped.into_iter().filter(|id| !self.changes.residents.contains(id)).collect();
        self.changes.residents.extend(flipped);
        let before: HashSet<ResidentId> = self.current.residents.iter().map(|r| r.id).collect();
        count(&mut self.report.residents, &seen_residents, &before, &self.changes.residents);
    }

    /// The areas one row names, resolved, each with the cell that named it; a problem for
    /// each it cannot resolve or that lies outside the area.
    fn resolve_all<'c>(&mut self, sheet: &str, cited: &'c [Cited]) -> Option<BTreeMap<NodeId, &'c Cited>> {
        let mut nodes = BTreeMap::new();
        let mut ok = true;
        for c in cited {
            match self.index.resolve(&c.text) {
                Ok(n) if self.inside.contains(&n) => {
                    nodes.entry(n).or_insert(c);
                }
                Ok(n) => {
                    let text = texts::outside_area(&self.area_name(), &self.index.path(n));
                    self.problems.push(Problem::cited(sheet, c, "outside_area", text));
                    ok = false;
                }
                Err((code, text)) => {
                    self.problems.push(Problem::cited(sheet, c, code, text));
                    ok = false;
                }
            }
        }
        ok.then_some(nodes)
    }

    /// Whether a point or staff member lies wholly inside the area (and so is this
    /// import's to change or remove).
    fn inside_all(&self, nodes: &[NodeId], point: Option<PointId>) -> bool {
        if self.area.is_none() {
            return true;
        }
        let point_nodes = point.map(|p| self.parts.points.iter().find(|x| x.id == p).map(|x| x.nodes.clone()));
        let point_inside = match point_nodes {
            None => true,
            Some(Some(n)) => !n.is_empty() && n.iter().all(|n| self.inside.contains(n)),
            Some(None) => false,
        };
        (!nodes.is_empty() || point.is_some()) && nodes.iter().all(|n| self.inside.contains(n)) && point_inside
    }

    /// Points by name, from the point sheet (when there is one). Answers the point names
    /// operators may name, with their ids.
    fn points(&mut self) -> HashMap<String, PointId> {
        let Some(listed) = &self.sheet.points else {
            return self.parts.points.iter().filter(|p| !p.retired).map(|p| (p.name.clone(), p.id)).collect();
        };
        let mut ids = Ids::after(&self.parts.points, |p| p.id);
        let by_name: HashMap<String, usize> =
            self.parts.points.iter().enumerate().map(|(i, p)| (p.name.clone(), i)).collect();
        let mut named = HashMap::new();
        let mut seen = HashSet::new();
        for row in &listed.rows {
            let SheetPoint { name, place, areas, row: n } = row;
            let Some(nodes) = self.resolve_all(&listed.sheet, areas) else {
                self.refused_points.insert(name.clone());
                continue;
            };
            let nodes: Vec<NodeId> = nodes.into_keys().collect();
            self.used.extend(nodes.iter().copied());
            let id = match by_name.get(name) {
                Some(&i) => {
                    let p = &self.parts.points[i];
                    if !p.retired && !self.inside_all(&p.nodes, None) {
                        let at = p.nodes.first().map(|n| self.path_name(*n)).unwrap_or_default();
                        let text = texts::moves_from_outside(&self.area_name(), texts::Moved::Point(name), &at);
                        let column = super::export::point_headers()[0].clone();
                        self.problems.push(Problem::at(
                            &listed.sheet,
                            *n,
                            &column,
                            name,
                            "outside_area",
                            text.0,
                            text.1,
                        ));
                        self.refused_points.insert(name.clone());
                        continue;
                    }
                    let p = &mut self.parts.points[i];
                    (p.place, p.nodes, p.retired) = (place.clone(), nodes, false);
                    p.id
                }
                None => {
                    let id = ids.next();
                    let point = SamplingPoint { id, name: name.clone(), place: place.clone(), nodes, retired: false };
                    self.parts.points.push(point);
                    id
                }
            };
            seen.insert(id);
            named.insert(name.clone(), id);
        }
        // Points the sheet no longer lists (inside the area): retired if an action names them.
        let mut examples = Vec::new();
        let mut gone = HashSet::new();
        for i in 0..self.parts.points.len() {
            let p = &self.parts.points[i];
            if seen.contains(&p.id) || p.retired || !self.inside_all(&p.nodes, None) {
                continue;
            }
            self.report.points.removed += 1;
            if examples.len() < REMOVAL_EXAMPLES {
                examples.push(Removed { kind: "point", name: p.name.clone() });
            }
            if self.keep.points.contains(&p.id) {
                self.report.points_retired += 1;
                let p = &mut self.parts.points[i];
                (p.nodes, p.retired) = (Vec::new(), true);
            } else {
                gone.insert(p.id);
            }
        }
        self.parts.points.retain(|p| !gone.contains(&p.id));
        self.changes.deleted_points = gone.into_iter().collect();
        self.changes.deleted_points.sort_unstable();
        self.report.removals.examples.extend(examples);
        let before: HashSet<PointId> = self.current.points.iter().map(|p| p.id).collect();
        self.changes.points = changed(&self.current.points, &self.parts.points, |p| p.id);
        count(&mut self.report.points, &seen, &before, &self.changes.points);
        named
    }

    /// The staff the sheets ask for: the staff sheet's rows, and the residents' sheet's
    /// grid members (one person by name and phone, wherever they appear).
    fn wanted(&mut self, points: &HashMap<String, PointId>) -> (Vec<Wanted>, HashMap<NodeId, usize>) {
        let mut wanted: Vec<Wanted> = Vec::new();
        // Who answers for each node, and where the sheet said so (for the conflict's text).
        let mut responsible: HashMap<NodeId, usize> = HashMap::new();
        let mut said: HashMap<NodeId, (u32, String)> = HashMap::new();
        let staff_sheet = self.sheet.staff.as_ref();
        for row in staff_sheet.map_or(&[][..], |l| &l.rows) {
            let sheet = &staff_sheet.expect("rows come from the staff sheet").sheet;
            let SheetStaff { row: n, name, phone, role, areas, point } = row;
            let Some(cells) = self.resolve_all(sheet, areas) else { continue };
            let mut nodes: BTreeSet<NodeId> = cells.keys().copied().collect();
            if nodes.is_empty() && matches!(role, Role::Chief | Role::Viewer | Role::Medic | Role::Lab | Role::Admin) {
                nodes.insert(self.area.unwrap_or(self.root));
            }
            let point = match point {
                None => None,
                Some(c) => match points.get(&c.text) {
                    Some(&id) if self.inside_all(&[], Some(id)) => Some(id),
                    None if self.refused_points.contains(&c.text) && self.area.is_some() => {
                        let text = texts::outside_area(&self.area_name(), &c.text);
                        self.problems.push(Problem::cited(sheet, c, "outside_area", text));
                        continue;
                    }
                    Some(_) => {
                        let text = texts::outside_area(&self.area_name(), &c.text);
                        self.problems.push(Problem::cited(sheet, c, "outside_area", text));
                        continue;
                    }
                    None => {
                        self.problems.push(Problem::cited(sheet, c, "point_unknown", texts::point_unknown(&c.text)));
                        continue;
                    }
                },
            };
            let mut answers = BTreeSet::new();
            if role.answers_for_area() {
                for node in &nodes {
                    if let Some((first, other)) = said.get(node) {
                        // Every node an answering role has came from a cell (the default is
                        // the chief's alone, and the first to claim it).
                        let at = cells.get(node).copied().cloned().unwrap_or(Cited {
                            row: *n,
                            column: String::new(),
                            text: String::new(),
                        });
                        let text = texts::area_two_responsible(*first, other);
                        self.problems.push(Problem::cited(sheet, &at, "area_two_responsible", text));
                        continue;
                    }
                    said.insert(*node, (*n, name.clone()));
                    responsible.insert(*node, wanted.len());
                    answers.insert(*node);
                }
            }
            self.used.extend(nodes.iter().copied());
            wanted.push(Wanted {
                name: name.clone(),
                phone: phone.clone(),
                role: *role,
                nodes,
                point,
                responsible: answers,
                grid_member_only: false,
                sheet: sheet.clone(),
                row: *n,
                column: super::export::staff_headers()[0].clone(),
            });
        }
        // The residents' sheet's grid members, in row order so that problems come in order.
        let mut members: Vec<(&Vec<String>, &super::SheetGridMember)> = self.sheet.grid_members.iter().collect();
        members.sort_by_key(|(_, m)| m.row);
        for (path, m) in members {
            let Some(Some(grid)) = self.grid_of.get(path).copied() else { continue };
            let same_phone = |w: &Wanted| m.phone.is_some() && w.phone == m.phone;
            let same = |w: &Wanted| w.name == m.name && w.phone == m.phone;
            let i = match wanted.iter().position(same) {
                Some(i) => i,
                None => {
                    if let Some(w) = wanted.iter().find(|w| same_phone(w)) {
                        let text = texts::grid_member_mismatch(&w.sheet, w.row, &w.name);
                        let masked = m.phone.as_ref().map(Phone::masked).unwrap_or_default();
                        self.problems.push(Problem::at(
                            &self.sheet.sheet,
                            m.row,
                            &m.column,
                            &masked,
                            "grid_member_mismatch",
                            text.0,
                            text.1,
                        ));
                        continue;
                    }
                    wanted.push(Wanted {
                        name: m.name.clone(),
                        phone: m.phone.clone(),
                        role: Role::GridMember,
                        nodes: BTreeSet::new(),
                        point: None,
                        responsible: BTreeSet::new(),
                        grid_member_only: true,
                        sheet: self.sheet.sheet.clone(),
                        row: m.row,
                        column: m.column.clone(),
                    });
                    wanted.len() - 1
                }
            };
            if let Some(&other) = responsible.get(&grid)
                && other != i
            {
                let (first, name) = said.get(&grid).cloned().unwrap_or_default();
                let text = texts::area_two_responsible(first, &name);
                let column = m.column.clone();
                self.problems.push(Problem::at(
                    &self.sheet.sheet,
                    m.row,
                    &column,
                    &m.name,
                    "area_two_responsible",
                    text.0,
                    text.1,
                ));
                continue;
            }
            responsible.insert(grid, i);
            wanted[i].nodes.insert(grid);
            wanted[i].responsible.insert(grid);
        }
        (wanted, responsible)
    }

    /// Staff matched by phone (or by name when there is none): updated, added, and, with a
    /// staff sheet, removed when it no longer lists them (retired if anything refers to
    /// them; admins are never removed by a sheet).
    fn staff(&mut self, points: &HashMap<String, PointId>) {
        let (wanted, responsible) = self.wanted(points);
        let with_sheet = self.sheet.staff.is_some();
        let mut ids = Ids::after(&self.parts.staff, |s| s.id);
        let key = |name: &str, phone: &Option<Phone>| match phone {
            Some(p) => (String::new(), p.expose().to_owned()),
            None => (name.to_owned(), String::new()),
        };
        let by_key: HashMap<(String, String), usize> =
            self.parts.staff.iter().enumerate().map(|(i, s)| (key(&s.name, &s.phone), i)).collect();
        let sheet_grids: HashSet<NodeId> = self.grid_of.values().flatten().copied().collect();
        let mut id_of = Vec::with_capacity(wanted.len());
        let mut seen = HashSet::new();
        for w in &wanted {
            let nodes: Vec<NodeId> = w.nodes.iter().copied().collect();
            let id = match by_key.get(&key(&w.name, &w.phone)) {
                Some(&i) => {
                    let s = &self.parts.staff[i];
                    if !s.retired && !self.inside_all(&s.nodes, s.point_id) {
                        let at = s.nodes.first().map(|n| self.path_name(*n)).unwrap_or_default();
                        let text = texts::moves_from_outside(&self.area_name(), texts::Moved::Staff(&w.name), &at);
                        let (sheet, row, column) = (&w.sheet, w.row, &w.column);
                        self.problems.push(Problem::at(sheet, row, column, &w.name, "outside_area", text.0, text.1));
                        id_of.push(None);
                        continue;
                    }
                    let s = &mut self.parts.staff[i];
                    if w.grid_member_only && !with_sheet {
                        // Without a staff sheet, only the grids the residents' sheet lists change.
                        s.nodes.retain(|n| !sheet_grids.contains(n));
                        s.nodes.extend(nodes);
                        s.nodes.sort_unstable();
                        s.nodes.dedup();
                        if s.retired {
                            s.role = Role::GridMember;
                        }
                    } else {
                        (s.role, s.nodes, s.point_id) = (w.role, nodes, w.point);
                    }
                    (s.name, s.phone, s.retired) = (w.name.clone(), w.phone.clone(), false);
                    s.id
                }
                None => {
                    let id = ids.next();
                    self.parts.staff.push(Staff {
                        id,
                        name: w.name.clone(),
                        phone: w.phone.clone(),
                        role: w.role,
                        nodes,
                        point_id: w.point,
                        retired: false,
                    });
                    if w.grid_member_only {
                        self.report.grid_members_added += 1;
                    }
                    id
                }
            };
            seen.insert(id);
            id_of.push(Some(id));
        }
        if !with_sheet {
            // Grid members the residents' sheet no longer names for its grids lose them.
            for s in self.parts.staff.iter_mut().filter(|s| s.role == Role::GridMember && !seen.contains(&s.id)) {
                s.nodes.retain(|n| !sheet_grids.contains(n));
            }
        }

        // Staff the staff sheet no longer lists.
        let mut examples = Vec::new();
        let mut gone = HashSet::new();
        if with_sheet {
            for i in 0..self.parts.staff.len() {
                let s = &self.parts.staff[i];
                if seen.contains(&s.id) || s.retired || s.role == Role::Admin || !self.inside_all(&s.nodes, s.point_id)
                {
                    continue;
                }
                self.report.staff.removed += 1;
                if examples.len() < REMOVAL_EXAMPLES {
                    examples.push(Removed { kind: "staff", name: s.name.clone() });
                }
                if self.keep.staff.contains(&s.id) {
                    self.report.staff_retired += 1;
                    let s = &mut self.parts.staff[i];
                    (s.nodes, s.point_id, s.retired) = (Vec::new(), None, true);
                } else {
                    gone.insert(s.id);
                }
            }
        }
        self.parts.staff.retain(|s| !gone.contains(&s.id));
        self.report.removals.examples.extend(examples);

        // An operator whose point went (deleted or retired) has none.
        let open: HashSet<PointId> = self.parts.points.iter().filter(|p| !p.retired).map(|p| p.id).collect();
        for s in &mut self.parts.staff {
            s.point_id = s.point_id.filter(|p| open.contains(p));
        }

        // Whom each node's residents answer to.
        let retired: HashSet<StaffId> = self.parts.staff.iter().filter(|s| s.retired).map(|s| s.id).collect();
        let role_of: HashMap<StaffId, Role> = self.parts.staff.iter().map(|s| (s.id, s.role)).collect();
        let answer_to: HashMap<NodeId, StaffId> =
            responsible.iter().filter_map(|(n, &w)| Some((*n, id_of[w]?))).collect();
        for n in &mut self.parts.nodes {
            let decided_here = if with_sheet {
                self.inside.contains(&n.id)
            } else {
                // A grid the residents' sheet lists gets the member it names, or none; a
                // grid head or chief placed on it keeps it.
                sheet_grids.contains(&n.id) && n.staff_id.is_none_or(|s| role_of.get(&s) == Some(&Role::GridMember))
            };
            if decided_here {
                n.staff_id = answer_to.get(&n.id).copied();
            }
            if n.staff_id.is_some_and(|s| gone.contains(&s) || retired.contains(&s)) {
                n.staff_id = None;
            }
        }
        self.changes.deleted_staff = gone.into_iter().collect();
        self.changes.deleted_staff.sort_unstable();
        let before: HashSet<StaffId> = self.current.staff.iter().map(|s| s.id).collect();
        self.changes.staff = changed(&self.current.staff, &self.parts.staff, |s| s.id);
        count(&mut self.report.staff, &seen, &before, &self.changes.staff);
    }

    /// Areas nothing refers to any more go, children first (only under the area).
    fn prune_nodes(&mut self) {
        let mut needed: HashSet<NodeId> = self.used.clone();
        needed.extend(self.parts.households.iter().map(|h| h.node_id));
        needed.extend(self.parts.points.iter().flat_map(|p| p.nodes.iter().copied()));
        needed.extend(self.keep.nodes.iter().copied());
        needed.extend(self.parts.nodes.iter().map(|n| n.id).filter(|n| !self.inside.contains(n)));
        needed.extend(self.area);
        if self.sheet.staff.is_some() {
            needed.extend(self.parts.staff.iter().flat_map(|s| s.nodes.iter().copied()));
        }
        let parent_of: HashMap<NodeId, Option<NodeId>> = self.parts.nodes.iter().map(|n| (n.id, n.parent)).collect();
        for n in needed.clone() {
            let mut cur = parent_of.get(&n).copied().flatten();
            while let Some(p) = cur {
                if !needed.insert(p) {
                    break;
                }
                cur = parent_of.get(&p).copied().flatten();
            }
        }
        let mut gone: Vec<NodeId> = self.parts.nodes.iter().map(|n| n.id).filter(|id| !needed.contains(id)).collect();
        gone.sort_by_key(|&id| std::cmp::Reverse(depth(&parent_of, id)));
        let gone_set: HashSet<NodeId> = gone.iter().copied().collect();
        self.parts.nodes.retain(|n| !gone_set.contains(&n.id));
        for s in &mut self.parts.staff {
            s.nodes.retain(|n| !gone_set.contains(n));
        }
        self.report.areas.removed = gone.len();
        self.changes.deleted_nodes = gone;
    }

    fn finish(mut self) -> Plan {
        // Staff whose areas were pruned changed too.
        self.changes.staff = changed(&self.current.staff, &self.parts.staff, |s| s.id);
        let parent_of: HashMap<NodeId, Option<NodeId>> = self.parts.nodes.iter().map(|n| (n.id, n.parent)).collect();
        let nodes = changed(&self.current.nodes, &self.parts.nodes, |n| n.id);
        let before: HashSet<NodeId> = self.current.nodes.iter().map(|n| n.id).collect();
        self.report.areas.added = nodes.iter().filter(|id| !before.contains(id)).count();
        self.report.areas.changed = nodes.len() - self.report.areas.added;
        self.report.areas.unchanged = self.parts.nodes.len() - nodes.len();
        self.changes.nodes = nodes;
        self.changes.nodes.sort_by_cached_key(|&id| depth(&parent_of, id));
        let r = &self.report;
        self.report.removals.total = r.residents.removed + r.households.removed + r.staff.removed + r.points.removed;
        self.report.flags_from_notes = self.sheet.notices.clone();
        Plan { parts: self.parts, changes: self.changes, report: self.report }
    }
}

fn depth(parent_of: &HashMap<NodeId, Option<NodeId>>, mut id: NodeId) -> usize {
    let mut d = 0;
    while let Some(Some(p)) = parent_of.get(&id) {
        d += 1;
        id = *p;
        if d > parent_of.len() {
            break;
        }
    }
    d
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
