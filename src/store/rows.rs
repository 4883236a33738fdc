//! Rows as both backends read them, and their conversion into the model. The SELECTs
//! here are plain SQL that SQLite and PostgreSQL read alike, so the two backends load the
//! roster, actions and events with the same statements and the same checks.

use super::{StoreError, from_micros};
use crate::action::{Action, ActionKind, Event, EventBody, NewEvent};
use crate::roster::{AreaNode, Flags, Household, IdNumber, Phone, Resident, Role, RosterParts, SamplingPoint, Staff};
use std::collections::HashMap;

pub const SELECT_STAFF_NODES: &str = "SELECT staff_id AS a, node_id AS b FROM staff_nodes ORDER BY staff_id, node_id";
pub const SELECT_POINT_NODES: &str = "SELECT point_id AS a, node_id AS b FROM point_nodes ORDER BY point_id, node_id";
pub const SELECT_STAFF: &str = "SELECT id, name, phone, role, point_id, retired FROM staff ORDER BY id";
pub const SELECT_NODES: &str = "SELECT id, parent_id, level, name, staff_id FROM area_nodes ORDER BY id";
pub const SELECT_HOUSEHOLDS: &str = "SELECT id, number, address, node_id FROM households ORDER BY id";
pub const SELECT_RESIDENTS: &str =
    "SELECT id, household_id, name, id_number, phone, birth_year, flags, note, removed FROM residents ORDER BY id";
pub const SELECT_POINTS: &str = "SELECT id, name, place, retired FROM sampling_points ORDER BY id";
pub const SELECT_ACTIONS: &str =
    "SELECT id, kind, name, scope, points, planned_open, planned_close, created_at FROM actions ORDER BY id";

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {id}: {e}"))
}

#[derive(sqlx::FromRow)]
pub struct PairRow {
    pub a: i64,
    pub b: i64,
}

#[derive(sqlx::FromRow)]
pub struct StaffRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) phone: Option<String>,
    pub(super) role: String,
    pub(super) point_id: Option<i64>,
    pub(super) retired: bool,
}

#[derive(sqlx::FromRow)]
pub struct NodeRow {
    pub(super) id: i64,
    pub(super) parent_id: Option<i64>,
    pub(super) level: String,
    pub(super) name: String,
    pub(super) staff_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub struct HouseholdRow {
    pub(super) id: i64,
    pub(super) number: String,
    pub(super) address: String,
    pub(super) node_id: i64,
}

#[derive(sqlx::FromRow)]
pub struct ResidentRow {
    pub(super) id: i64,
    pub(super) household_id: i64,
    pub(super) name: String,
    pub(super) id_number: String,
    pub(super) phone: Option<String>,
    pub(super) birth_year: i32,
    pub(super) flags: i64,
    pub(super) note: String,
    pub(super) removed: bool,
}

#[derive(sqlx::FromRow)]
pub struct PointRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) place: String,
    pub(super) retired: bool,
}

#[derive(sqlx::FromRow)]
pub struct ActionRow {
    id: i64,
    kind: String,
    name: String,
    scope: String,
    points: String,
    planned_open: Option<i64>,
    planned_close: Option<i64>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub action_id: i64,
    pub seq: i64,
    pub client_id: uuid::Uuid,
    pub actor_id: i64,
    pub device_time: i64,
    pub server_time: i64,
    pub body: String,
}

/// Everything `load_roster` read, before it is checked by `Roster::new`.
pub struct RosterRows {
    pub staff_nodes: Vec<PairRow>,
    pub point_nodes: Vec<PairRow>,
    pub staff: Vec<StaffRow>,
    pub nodes: Vec<NodeRow>,
    pub households: Vec<HouseholdRow>,
    pub residents: Vec<ResidentRow>,
    pub points: Vec<PointRow>,
}

fn grouped(pairs: Vec<PairRow>) -> HashMap<i64, Vec<i64>> {
    let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
    for p in pairs {
        map.entry(p.a).or_default().push(p.b);
    }
    map
}

fn phone(id: i64, s: Option<String>) -> Result<Option<Phone>, StoreError> {
    s.map(|p| Phone::parse(&p).map_err(|e| corrupt("phone of", id, e))).transpose()
}

impl RosterRows {
    pub fn into_parts(self) -> Result<RosterParts, StoreError> {
        let mut staff_nodes = grouped(self.staff_nodes);
        let mut point_nodes = grouped(self.point_nodes);
        let staff = self
            .staff
            .into_iter()
            .map(|r| {
                Ok(Staff {
                    id: r.id,
                    name: r.name,
                    phone: phone(r.id, r.phone)?,
                    role: Role::parse(&r.role).ok_or_else(|| corrupt("staff", r.id, format!("role {}", r.role)))?,
                    nodes: staff_nodes.remove(&r.id).unwrap_or_default(),
                    point_id: r.point_id,
                    retired: r.retired,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let nodes = self
            .nodes
            .into_iter()
            .map(|r| AreaNode { id: r.id, parent: r.parent_id, level: r.level, name: r.name, staff_id: r.staff_id })
            .collect();
        let households = self
            .households
            .into_iter()
            .map(|r| Household { id: r.id, number: r.number, address: r.address, node_id: r.node_id })
            .collect();
        let removed = self.residents.iter().filter(|r| r.removed).map(|r| r.id).collect();
        let residents = self
            .residents
            .into_iter()
            .map(|r| {
                Ok(Resident {
                    id: r.id,
                    household_id: r.household_id,
                    name: r.name,
                    id_number: IdNumber::parse(&r.id_number).map_err(|e| corrupt("ID number of resident", r.id, e))?,
                    phone: phone(r.id, r.phone)?,
                    birth_year: r.birth_year,
                    flags: Flags::from_bits(r.flags),
                    note: r.note,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let points = self
            .points
            .into_iter()
            .map(|r| SamplingPoint {
                id: r.id,
                name: r.name,
                place: r.place,
                nodes: point_nodes.remove(&r.id).unwrap_or_default(),
                retired: r.retired,
            })
            .collect();
        Ok(RosterParts { nodes, households, residents, staff, points, removed })
    }
}

impl TryFrom<ActionRow> for Action {
    type Error = StoreError;

    fn try_from(r: ActionRow) -> Result<Self, StoreError> {
        let list = |s: &str| serde_json::from_str::<Vec<i64>>(s).map_err(|e| corrupt("action", r.id, e));
        Ok(Action {
            id: r.id,
            kind: ActionKind::parse(&r.kind).ok_or_else(|| corrupt("action", r.id, format!("kind {}", r.kind)))?,
            scope: list(&r.scope)?,
            points: list(&r.points)?,
            name: r.name,
            planned_open: r.planned_open.map(from_micros).transpose()?,
            planned_close: r.planned_close.map(from_micros).transpose()?,
            created_at: from_micros(r.created_at)?,
        })
    }
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;

    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        let body = EventBody::from_log_json(&r.body).map_err(|e| corrupt("event", r.seq, e))?;
        Ok(Event {
            seq: r.seq,
            new: NewEvent {
                action_id: r.action_id,
                client_id: r.client_id,
                actor: r.actor_id,
                device_time: from_micros(r.device_time)?,
                server_time: from_micros(r.server_time)?,
                body,
            },
        })
    }
}

pub fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("a list of integers serialises")
}

pub fn body_json(body: &EventBody) -> String {
    serde_json::to_string(body).expect("event bodies serialise")
}

/// Reads the whole roster with the shared SELECTs and checks it into `RosterParts`.
macro_rules! load_roster {
    ($db:expr) => {{
        use $crate::store::rows::*;
        let db = $db;
        RosterRows {
            staff_nodes: sqlx::query_as::<_, PairRow>(SELECT_STAFF_NODES).fetch_all(db).await?,
            point_nodes: sqlx::query_as::<_, PairRow>(SELECT_POINT_NODES).fetch_all(db).await?,
            staff: sqlx::query_as(SELECT_STAFF).fetch_all(db).await?,
            nodes: sqlx::query_as(SELECT_NODES).fetch_all(db).await?,
            households: sqlx::query_as(SELECT_HOUSEHOLDS).fetch_all(db).await?,
            residents: sqlx::query_as(SELECT_RESIDENTS).fetch_all(db).await?,
            points: sqlx::query_as(SELECT_POINTS).fetch_all(db).await?,
        }
        .into_parts()
    }};
}
pub(crate) use load_roster;

/// Writes roster rows with multi-row INSERTs, in the same statements on both backends
/// (macros, because sqlx's bind bounds per database make generic functions unreadable).
/// `$rows` is a slice of references; `$tail` follows the VALUES: empty for a plain insert,
/// [`UPSERT_STAFF`] and the like to update rows that exist (kept ids, changed fields).
macro_rules! write_rows {
    ($db:ty, $max:expr, $tx:ident, staff, $rows:expr, $tail:expr) => {
        for chunk in $rows.chunks($max / 6) {
            let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO staff (id, name, phone, role, point_id, retired) ");
            q.push_values(chunk, |mut b, s: &&$crate::roster::Staff| {
                b.push_bind(s.id)
                    .push_bind(&s.name)
                    .push_bind(s.phone.as_ref().map($crate::roster::Phone::expose))
                    .push_bind(s.role.as_str())
                    .push_bind(s.point_id)
                    .push_bind(s.retired);
            });
            q.push($tail).build().execute(&mut *$tx).await?;
        }
    };
    ($db:ty, $max:expr, $tx:ident, nodes, $rows:expr, $tail:expr) => {
        for chunk in $rows.chunks($max / 5) {
            let mut q =
                sqlx::QueryBuilder::<$db>::new("INSERT INTO area_nodes (id, parent_id, level, name, staff_id) ");
            q.push_values(chunk, |mut b, n: &&$crate::roster::AreaNode| {
                b.push_bind(n.id).push_bind(n.parent).push_bind(&n.level).push_bind(&n.name).push_bind(n.staff_id);
            });
            q.push($tail).build().execute(&mut *$tx).await?;
        }
    };
    ($db:ty, $max:expr, $tx:ident, points, $rows:expr, $tail:expr) => {
        for chunk in $rows.chunks($max / 4) {
            let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO sampling_points (id, name, place, retired) ");
            q.push_values(chunk, |mut b, p: &&$crate::roster::SamplingPoint| {
                b.push_bind(p.id).push_bind(&p.name).push_bind(&p.place).push_bind(p.retired);
            });
            q.push($tail).build().execute(&mut *$tx).await?;
        }
    };
    ($db:ty, $max:expr, $tx:ident, pairs $table:literal, $rows:expr) => {
        for chunk in $rows.chunks($max / 2) {
            let mut q = sqlx::QueryBuilder::<$db>::new($table);
            q.push_values(chunk, |mut b, (a, n): &(i64, i64)| {
                b.push_bind(*a).push_bind(*n);
            });
            q.build().execute(&mut *$tx).await?;
        }
    };
    ($db:ty, $max:expr, $tx:ident, households, $rows:expr, $tail:expr) => {
        for chunk in $rows.chunks($max / 4) {
            let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO households (id, number, address, node_id) ");
            q.push_values(chunk, |mut b, h: &&$crate::roster::Household| {
                b.push_bind(h.id).push_bind(&h.number).push_bind(&h.address).push_bind(h.node_id);
            });
            q.push($tail).build().execute(&mut *$tx).await?;
        }
    };
    ($db:ty, $max:expr, $tx:ident, residents, $rows:expr, $removed:expr, $tail:expr) => {
        for chunk in $rows.chunks($max / 9) {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO residents (id, household_id, name, id_number, phone, birth_year, flags, note, removed) ",
            );
            q.push_values(chunk, |mut b, p: &&$crate::roster::Resident| {
                b.push_bind(p.id)
                    .push_bind(p.household_id)
                    .push_bind(&p.name)
                    .push_bind(p.id_number.expose())
                    .push_bind(p.phone.as_ref().map($crate::roster::Phone::expose))
                    .push_bind(p.birth_year)
                    .push_bind(p.flags.bits())
                    .push_bind(&p.note)
                    .push_bind($removed.contains(&p.id));
            });
            q.push($tail).build().execute(&mut *$tx).await?;
        }
    };
    ($db:ty, $max:expr, $tx:ident, delete $sql:literal, $ids:expr) => {
        for chunk in $ids.chunks($max) {
            let mut q = sqlx::QueryBuilder::<$db>::new($sql);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")").build().execute(&mut *$tx).await?;
        }
    };
}
pub(crate) use write_rows;

pub const UPSERT_STAFF: &str = " ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
     role = excluded.role, point_id = excluded.point_id, retired = excluded.retired";
pub const UPSERT_POINTS: &str =
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, place = excluded.place, retired = excluded.retired";
pub const UPSERT_NODES: &str = " ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, level = excluded.level, \
     name = excluded.name, staff_id = excluded.staff_id";
pub const UPSERT_HOUSEHOLDS: &str =
    " ON CONFLICT (id) DO UPDATE SET number = excluded.number, address = excluded.address, node_id = excluded.node_id";
pub const UPSERT_RESIDENTS: &str = " ON CONFLICT (id) DO UPDATE SET household_id = excluded.household_id, \
     name = excluded.name, id_number = excluded.id_number, phone = excluded.phone, birth_year = excluded.birth_year, \
     flags = excluded.flags, note = excluded.note, removed = excluded.removed";

/// Inserts a whole roster into an empty database. `$tx` is an open transaction, `$max`
/// the backend's bound-value limit.
macro_rules! insert_roster {
    ($db:ty, $max:expr, $tx:ident, $r:ident) => {{
        use $crate::store::rows::write_rows;
        let staff: Vec<&$crate::roster::Staff> = $r.staff.iter().collect();
        write_rows!($db, $max, $tx, staff, staff, "");
        write_rows!($db, $max, $tx, nodes, $crate::store::parents_first(&$r.nodes), "");
        let staff_nodes: Vec<(i64, i64)> = $r.staff.iter().flat_map(|s| s.nodes.iter().map(|n| (s.id, *n))).collect();
        let point_nodes: Vec<(i64, i64)> = $r.points.iter().flat_map(|p| p.nodes.iter().map(|n| (p.id, *n))).collect();
        write_rows!($db, $max, $tx, pairs "INSERT INTO staff_nodes (staff_id, node_id) ", staff_nodes);
        let households: Vec<&$crate::roster::Household> = $r.households.iter().collect();
        write_rows!($db, $max, $tx, households, households, "");
        let residents: Vec<&$crate::roster::Resident> = $r.residents.iter().collect();
        write_rows!($db, $max, $tx, residents, residents, $r.removed, "");
        let points: Vec<&$crate::roster::SamplingPoint> = $r.points.iter().collect();
        write_rows!($db, $max, $tx, points, points, "");
        write_rows!($db, $max, $tx, pairs "INSERT INTO point_nodes (point_id, node_id) ", point_nodes);
    }};
}
pub(crate) use insert_roster;

/// Writes an import's changes (`$c`, a `RosterChanges`) to reach roster `$r`, in an
/// order the foreign keys accept: staff, points and areas first, residents deleted before
/// their households, staff and points deleted once nothing of the roster refers to them,
/// areas deleted last and children first.
macro_rules! update_roster {
    ($db:ty, $max:expr, $tx:ident, $r:ident, $c:ident) => {{
        use $crate::store::rows::{
            UPSERT_HOUSEHOLDS, UPSERT_NODES, UPSERT_POINTS, UPSERT_RESIDENTS, UPSERT_STAFF, write_rows,
        };
        use std::collections::HashMap;
        fn pick<'a, T>(rows: &'a [T], ids: &[i64], id: impl Fn(&T) -> i64) -> Vec<&'a T> {
            let by_id: HashMap<i64, &T> = rows.iter().map(|r| (id(r), r)).collect();
            ids.iter().filter_map(|i| by_id.get(i).copied()).collect()
        }
        let staff = pick(&$r.staff, &$c.staff, |s| s.id);
        write_rows!($db, $max, $tx, staff, staff, UPSERT_STAFF);
        write_rows!($db, $max, $tx, nodes, pick(&$r.nodes, &$c.nodes, |n| n.id), UPSERT_NODES);
        let points = pick(&$r.points, &$c.points, |p| p.id);
        write_rows!($db, $max, $tx, points, points, UPSERT_POINTS);
        write_rows!($db, $max, $tx, households, pick(&$r.households, &$c.households, |h| h.id), UPSERT_HOUSEHOLDS);
        write_rows!($db, $max, $tx, delete "DELETE FROM residents WHERE id IN (", $c.deleted_residents);
        let residents = pick(&$r.residents, &$c.residents, |p| p.id);
        write_rows!($db, $max, $tx, residents, residents, $r.removed, UPSERT_RESIDENTS);
        write_rows!($db, $max, $tx, delete "DELETE FROM households WHERE id IN (", $c.deleted_households);
        write_rows!($db, $max, $tx, delete "DELETE FROM staff_nodes WHERE staff_id IN (", $c.staff);
        write_rows!($db, $max, $tx, delete "DELETE FROM staff_nodes WHERE node_id IN (", $c.deleted_nodes);
        let pairs: Vec<(i64, i64)> = staff.iter().flat_map(|s| s.nodes.iter().map(|n| (s.id, *n))).collect();
        write_rows!($db, $max, $tx, pairs "INSERT INTO staff_nodes (staff_id, node_id) ", pairs);
        write_rows!($db, $max, $tx, delete "DELETE FROM point_nodes WHERE point_id IN (", $c.points);
        write_rows!($db, $max, $tx, delete "DELETE FROM point_nodes WHERE point_id IN (", $c.deleted_points);
        write_rows!($db, $max, $tx, delete "DELETE FROM point_nodes WHERE node_id IN (", $c.deleted_nodes);
        let pairs: Vec<(i64, i64)> = points.iter().flat_map(|p| p.nodes.iter().map(|n| (p.id, *n))).collect();
        write_rows!($db, $max, $tx, pairs "INSERT INTO point_nodes (point_id, node_id) ", pairs);
        write_rows!($db, $max, $tx, delete "DELETE FROM sampling_points WHERE id IN (", $c.deleted_points);
        write_rows!($db, $max, $tx, delete "DELETE FROM staff_nodes WHERE staff_id IN (", $c.deleted_staff);
        write_rows!($db, $max, $tx, delete "DELETE FROM staff WHERE id IN (", $c.deleted_staff);
        for id in &$c.deleted_nodes {
            write_rows!($db, $max, $tx, delete "DELETE FROM area_nodes WHERE id IN (", [*id]);
        }
    }};
}
pub(crate) use update_roster;

/// Inserts events with their positions, chunked under `$max` bound values; `$err` maps a
/// database error (e.g. a unique violation) to a `StoreError`.
macro_rules! insert_events {
    ($db:ty, $max:expr, $tx:ident, $events:ident, $seqs:ident, $err:expr) => {{
        let mut seqs = $seqs.as_slice();
        for chunk in $crate::store::pow2_chunks($events, $max / 7) {
            let (these, rest) = seqs.split_at(chunk.len());
            seqs = rest;
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO events (action_id, seq, client_id, actor_id, device_time, server_time, body) ",
            );
            q.push_values(chunk.iter().zip(these), |mut b, (e, seq)| {
                b.push_bind(e.action_id)
                    .push_bind(*seq)
                    .push_bind(e.client_id)
                    .push_bind(e.actor)
                    .push_bind($crate::store::to_micros(e.device_time))
                    .push_bind($crate::store::to_micros(e.server_time))
                    .push_bind($crate::store::rows::body_json(&e.body));
            });
            q.build().execute(&mut *$tx).await.map_err($err)?;
        }
    }};
}
pub(crate) use insert_events;
