//! A roster of any size, written straight into the database through the library's
//! `Store::insert_roster`, and the [`Plan`]: what the load needs to know about it (tokens
//! by role, each resident's responsible grid member, the sampling points).
//!
//! The shape follows the 大华山村 figures in `shared/DOMAIN.md`, repeated: a grid member
//! answers for 14 households (≈35 residents), a grid head for 4 grids, one chief for the
//! whole area. The roster is generated and inserted in chunks of about 50,000 residents,
//! each chunk one `insert_roster` call (one transaction) with the area nodes, staff,
//! households and residents it introduces, so memory stays flat up to 10 million
//! residents and every row's parent is in an earlier chunk or the same one.

use anyhow::{Context, ensure};
use muster::demo::Rng;
use muster::roster::{AreaNode, Flags, Household, IdNumber, Phone, Resident, Role, RosterParts, SamplingPoint, Staff};
use muster::store::Store;
use std::collections::HashMap;

const HOUSEHOLDS_PER_GRID: usize = 14;
const GRIDS_PER_HEAD: usize = 4;
/// Residents per `insert_roster` call.
const CHUNK: usize = 50_000;

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: &[&str] =
    &["建国", "秀英", "桂兰", "玉兰", "淑珍", "德山", "志强", "海燕", "丽娟", "春生", "国华", "振华"];

/// What the load generator knows about a roster: enough to act as its staff and to
/// check what the server says, nothing personal.
#[derive(Debug, Default)]
pub struct Plan {
    pub chief: String,
    /// A token for dashboards (a viewer if there is one, else the chief).
    pub viewer: String,
    /// Grid members signed in: (staff id, token).
    pub grid_members: Vec<(i64, String)>,
    /// Grid members in the roster, signed in or not.
    pub grid_members_total: usize,
    /// Sampling points and the token of an operator who may scan there.
    pub operators: Vec<(i64, String)>,
    /// Root area nodes: the scope of the action.
    pub scope: Vec<i64>,
    pub points: Vec<i64>,
    /// Resident ids, in roster order.
    pub resident_ids: Vec<i64>,
    /// The staff member answering for each resident (same order), or 0.
    pub resident_staff: Vec<i64>,
    /// Missing residents per staff member before any scan.
    pub staff_residents: HashMap<i64, i64>,
    /// area node → (parent, staff): kept across chunks to find who answers for whom.
    nodes: HashMap<i64, (Option<i64>, Option<i64>)>,
    /// Who the load acts as, until [`Plan::finish`] signs them in: chief, viewer, and
    /// each point's operator.
    chief_id: Option<i64>,
    viewer_id: Option<i64>,
    operator_ids: Vec<(i64, i64)>,
}

/// Grid members signed in for the scan load (phones share them round-robin; missing-list
/// readers take a few), spread evenly over the roster: a session each is a durable write,
/// so signing in thousands would cost start-up time for nothing. The call-up storm signs
/// in one per phone instead (a paired phone is a session).
pub const SIGNED_IN_GRID_MEMBERS: usize = 200;

impl Plan {
    /// Takes in one chunk of roster rows (all of them, for a roster read back).
    /// Households must come in the same chunk as their residents.
    fn absorb(&mut self, parts: &RosterParts) {
        for n in &parts.nodes {
            self.nodes.insert(n.id, (n.parent, n.staff_id));
            if n.parent.is_none() {
                self.scope.push(n.id);
            }
        }
        for s in &parts.staff {
            match s.role {
                Role::Chief if self.chief_id.is_none() => self.chief_id = Some(s.id),
                Role::Viewer if self.viewer_id.is_none() => self.viewer_id = Some(s.id),
                Role::GridMember => self.grid_members.push((s.id, String::new())),
                Role::Operator => {
                    if let Some(p) = s.point_id {
                        self.operator_ids.push((p, s.id));
                    }
                }
                _ => {}
            }
        }
        self.points.extend(parts.points.iter().map(|p| p.id));
        let household_node: HashMap<i64, i64> = parts.households.iter().map(|h| (h.id, h.node_id)).collect();
        for r in &parts.residents {
            let mut cur = household_node.get(&r.household_id).copied();
            let mut staff = 0;
            while let Some(n) = cur {
                let (parent, s) = self.nodes.get(&n).copied().unwrap_or((None, None));
                if let Some(s) = s {
                    staff = s;
                    break;
                }
                cur = parent;
            }
            self.resident_ids.push(r.id);
            self.resident_staff.push(staff);
            *self.staff_residents.entry(staff).or_insert(0) += 1;
        }
    }

    /// Signs the staff the load acts as in, as paired phones are (a session each): the
    /// chief, a viewer, each point's operator and `grid_members` grid members spread evenly
    /// over the roster (all of them when there are fewer); checks the roster can carry an
    /// action.
    async fn finish(mut self, store: &dyn Store, grid_members: usize) -> anyhow::Result<Self> {
        let auth = muster::auth::Auth::new(store.accounts());
        let chief = self.chief_id.context("the roster has no chief to open an action")?;
        self.chief = auth.issue(chief, "loadtest").await?.1;
        if let Some(viewer) = self.viewer_id {
            self.viewer = auth.issue(viewer, "loadtest").await?.1;
        }
        for (point, staff) in std::mem::take(&mut self.operator_ids) {
            self.operators.push((point, auth.issue(staff, "loadtest").await?.1));
        }
        let (all, n) = (std::mem::take(&mut self.grid_members), grid_members.max(1));
        self.grid_members_total = all.len();
        self.grid_members = match all.len() <= n {
            true => all,
            false => (0..n).map(|i| all[i * all.len() / n].clone()).collect(),
        };
        for (staff, token) in &mut self.grid_members {
            *token = auth.issue(*staff, "loadtest").await?.1;
        }
        ensure!(!self.resident_ids.is_empty(), "the roster has no residents");
        ensure!(!self.points.is_empty(), "the roster has no sampling points");
        if self.viewer.is_empty() {
            self.viewer = self.chief.clone();
        }
        if self.operators.is_empty() {
            // No operators: the chief may record samples at every point.
            self.operators = self.points.iter().map(|p| (*p, self.chief.clone())).collect();
        }
        self.nodes = HashMap::new();
        Ok(self)
    }
}

/// Reads the roster already in a database; see [`Plan::finish`] for `grid_members`.
pub async fn load(store: &dyn Store, grid_members: usize) -> anyhow::Result<Plan> {
    let parts = store.load_roster().await?;
    let mut plan = Plan::default();
    plan.absorb(&parts);
    plan.finish(store, grid_members).await
}

fn name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

fn phone(rng: &mut Rng) -> Phone {
    Phone::parse(&format!("1{}{:08}", rng.pick(&["38", "39", "50", "86"]), rng.below(100_000_000)))
        .expect("generated phones are valid")
}

/// A valid, unique ID number for the `i`-th resident (unique for i < 26 million).
fn id_number(i: usize) -> IdNumber {
    let (seq, rest) = (i % 1000, i / 1000);
    let (day, rest) = (rest % 28 + 1, rest / 28);
    let (month, rest) = (rest % 12 + 1, rest / 12);
    let (year, region) = (1940 + rest % 80, 110_101 + rest / 80);
    IdNumber::from_body(&format!("{region:06}{year:04}{month:02}{day:02}{seq:03}")).expect("17 generated digits")
}

struct Ids {
    staff: i64,
    node: i64,
    household: i64,
    resident: i64,
}

fn staff_member(ids: &mut Ids, rng: &mut Rng, role: Role, nodes: Vec<i64>, point_id: Option<i64>) -> Staff {
    ids.staff += 1;
    Staff { id: ids.staff, name: name(rng), phone: Some(phone(rng)), role, nodes, point_id, retired: false }
}

/// Generates a roster of `residents` residents and `points` sampling points into an
/// empty database, and returns its plan with `grid_members` of them signed in.
pub async fn generate(
    store: &dyn Store,
    residents: usize,
    points: usize,
    seed: u64,
    grid_members: usize,
) -> anyhow::Result<Plan> {
    ensure!(residents > 0 && points > 0, "need at least one resident and one point");
    ensure!(
        store.load_roster().await?.nodes.is_empty(),
        "the database already holds a roster; leave out --residents to use it, or give a new file"
    );
    let mut rng = Rng::new(seed);
    let mut plan = Plan::default();
    let mut ids = Ids { staff: 0, node: 0, household: 0, resident: 0 };

    // The first chunk: the root, its chief, a viewer and an admin.
    let mut parts = RosterParts::default();
    ids.node = 1;
    let chief = staff_member(&mut ids, &mut rng, Role::Chief, vec![1], None);
    parts.nodes.push(AreaNode {
        id: 1,
        parent: None,
        level: "镇".into(),
        name: "负载测试镇".into(),
        staff_id: Some(chief.id),
    });
    parts.staff.push(chief);
    parts.staff.push(staff_member(&mut ids, &mut rng, Role::Viewer, vec![1], None));
    parts.staff.push(staff_member(&mut ids, &mut rng, Role::Admin, vec![1], None));

    let mut grids: Vec<i64> = Vec::new();
    let mut head_node = 0;
    let mut households_in_grid = HOUSEHOLDS_PER_GRID;
    while (ids.resident as usize) < residents {
        if households_in_grid == HOUSEHOLDS_PER_GRID {
            households_in_grid = 0;
            if grids.len().is_multiple_of(GRIDS_PER_HEAD) {
                ids.node += 1;
                head_node = ids.node;
                let head = staff_member(&mut ids, &mut rng, Role::GridHead, vec![head_node], None);
                parts.nodes.push(AreaNode {
                    id: head_node,
                    parent: Some(1),
                    level: "分网格".into(),
                    name: format!("第{}分网格", grids.len() / GRIDS_PER_HEAD + 1),
                    staff_id: Some(head.id),
                });
                parts.staff.push(head);
            }
            ids.node += 1;
            let grid = ids.node;
            let member = staff_member(&mut ids, &mut rng, Role::GridMember, vec![grid], None);
            parts.nodes.push(AreaNode {
                id: ids.node,
                parent: Some(head_node),
                level: "网格".into(),
                name: format!("第{}网格", grids.len() + 1),
                staff_id: Some(member.id),
            });
            parts.staff.push(member);
            grids.push(ids.node);
        }
        ids.household += 1;
        households_in_grid += 1;
        parts.households.push(Household {
            id: ids.household,
            number: format!("H{:08}", ids.household),
            address: format!("{}号院", ids.household),
            node_id: *grids.last().expect("a grid was just made"),
        });
        let size = (1 + rng.below(4) as usize).min(residents - ids.resident as usize);
        for _ in 0..size {
            let i = ids.resident as usize;
            ids.resident += 1;
            let roll = rng.below(1000);
            let flags =
                Flags { away: roll < 45, bedridden: (45..62).contains(&roll), migrant: (62..85).contains(&roll) };
            parts.residents.push(Resident {
                id: ids.resident,
                household_id: ids.household,
                name: name(&mut rng),
                id_number: id_number(i),
                phone: (rng.below(10) < 8).then(|| phone(&mut rng)),
                birth_year: 1940 + (i / 336_000 % 80) as i32,
                flags,
                note: String::new(),
            });
        }
        if parts.residents.len() >= CHUNK {
            write(store, &mut plan, std::mem::take(&mut parts)).await?;
        }
    }

    // Points serve the grids round robin; one operator each, and one medic.
    for p in 0..points {
        let id = p as i64 + 1;
        parts.points.push(SamplingPoint {
            id,
            name: format!("{}号采集点", p + 1),
            place: format!("第{}采集点位", p + 1),
            nodes: grids.iter().copied().skip(p).step_by(points).collect(),
            retired: false,
        });
        parts.staff.push(staff_member(&mut ids, &mut rng, Role::Operator, vec![], Some(id)));
    }
    parts.staff.push(staff_member(&mut ids, &mut rng, Role::Medic, vec![1], Some(1)));
    write(store, &mut plan, parts).await?;
    plan.finish(store, grid_members).await
}

async fn write(store: &dyn Store, plan: &mut Plan, parts: RosterParts) -> anyhow::Result<()> {
    store.insert_roster(&parts).await.context("inserting a chunk of the generated roster")?;
    plan.absorb(&parts);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_numbers_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..200_000).chain((200_000..26_000_000).step_by(9_973)) {
            assert!(seen.insert(id_number(i).expose().to_owned()), "resident {i}");
        }
    }
}
