//! The SQLite backend: a file, nothing to install. One connection writes (so there is
//! never a lock to wait for), a small pool reads. WAL with `synchronous=FULL` makes every
//! commit durable; the writer's batching makes that one fsync per batch, not per event.

use super::{from_micros, to_micros, Recorded, Store, StoreError};
use crate::action::{Action, ActionId, ActionKind, Event, EventBody, NewAction, NewEvent, Seq};
use crate::roster::{
    AreaNode, Flags, Household, IdNumber, Phone, Resident, Role, RosterParts, SamplingPoint, Staff, Token,
};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// SQLite allows 32,766 bound values per statement; rows are chunked below that.
const MAX_BINDS: usize = 32_766;

pub struct SqliteStore {
    /// The one connection that writes: appends never wait on a lock held by another.
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteStore {
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("migrations/sqlite").run(&writer).await?;
        let readers = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        Ok(Self { writer, readers })
    }
}

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {id}: {e}"))
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("a list of integers serialises")
}

fn action_from_row(row: &SqliteRow) -> Result<Action, StoreError> {
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let list = |col: &str| -> Result<Vec<i64>, StoreError> {
        let s: String = row.try_get(col)?;
        serde_json::from_str(&s).map_err(|e| corrupt("action", id, e))
    };
    let time = |col: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.try_get::<Option<i64>, _>(col)?.map(from_micros).transpose()
    };
    Ok(Action {
        id,
        kind: ActionKind::parse(&kind).ok_or_else(|| corrupt("action", id, format!("kind {kind}")))?,
        name: row.try_get("name")?,
        scope: list("scope")?,
        points: list("points")?,
        planned_open: time("planned_open")?,
        planned_close: time("planned_close")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn load_roster(&self) -> Result<RosterParts, StoreError> {
        let db = &self.readers;
        let mut staff_nodes: HashMap<i64, Vec<i64>> = HashMap::new();
        for row in sqlx::query("SELECT staff_id, node_id FROM staff_nodes ORDER BY staff_id, node_id").fetch_all(db).await? {
            staff_nodes.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
        }
        let mut point_nodes: HashMap<i64, Vec<i64>> = HashMap::new();
        for row in sqlx::query("SELECT point_id, node_id FROM point_nodes ORDER BY point_id, node_id").fetch_all(db).await? {
            point_nodes.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
        }
        let phone = |id: i64, s: Option<String>| {
            s.map(|p| Phone::parse(&p).map_err(|e| corrupt("phone of", id, e))).transpose()
        };
        let mut staff = Vec::new();
        for row in sqlx::query("SELECT id, name, phone, role, point_id, token FROM staff ORDER BY id").fetch_all(db).await? {
            let id: i64 = row.try_get("id")?;
            let role: String = row.try_get("role")?;
            staff.push(Staff {
                id,
                name: row.try_get("name")?,
                phone: phone(id, row.try_get("phone")?)?,
                role: Role::parse(&role).ok_or_else(|| corrupt("staff", id, format!("role {role}")))?,
                nodes: staff_nodes.remove(&id).unwrap_or_default(),
                point_id: row.try_get("point_id")?,
                token: Token(row.try_get("token")?),
            });
        }
        let mut nodes = Vec::new();
        for row in sqlx::query("SELECT id, parent_id, level, name, staff_id FROM area_nodes ORDER BY id").fetch_all(db).await? {
            nodes.push(AreaNode {
                id: row.try_get("id")?,
                parent: row.try_get("parent_id")?,
                level: row.try_get("level")?,
                name: row.try_get("name")?,
                staff_id: row.try_get("staff_id")?,
            });
        }
        let mut households = Vec::new();
        for row in sqlx::query("SELECT id, number, address, node_id FROM households ORDER BY id").fetch_all(db).await? {
            households.push(Household {
                id: row.try_get("id")?,
                number: row.try_get("number")?,
                address: row.try_get("address")?,
                node_id: row.try_get("node_id")?,
            });
        }
        let mut residents = Vec::new();
        let sql = "SELECT id, household_id, name, id_number, phone, birth_year, flags, note FROM residents ORDER BY id";
        for row in sqlx::query(sql).fetch_all(db).await? {
            let id: i64 = row.try_get("id")?;
            let id_number: String = row.try_get("id_number")?;
            residents.push(Resident {
                id,
                household_id: row.try_get("household_id")?,
                name: row.try_get("name")?,
                id_number: IdNumber::parse(&id_number).map_err(|e| corrupt("ID number of resident", id, e))?,
                phone: phone(id, row.try_get("phone")?)?,
                birth_year: row.try_get("birth_year")?,
                flags: Flags::from_bits(row.try_get("flags")?),
                note: row.try_get("note")?,
            });
        }
        let mut points = Vec::new();
        for row in sqlx::query("SELECT id, name, place FROM sampling_points ORDER BY id").fetch_all(db).await? {
            let id: i64 = row.try_get("id")?;
            points.push(SamplingPoint {
                id,
                name: row.try_get("name")?,
                place: row.try_get("place")?,
                nodes: point_nodes.remove(&id).unwrap_or_default(),
            });
        }
        Ok(RosterParts { nodes, households, residents, staff, points })
    }

    async fn insert_roster(&self, r: &RosterParts) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Staff first without their nodes (nodes refer to staff), then the tree.
        for chunk in r.staff.chunks(MAX_BINDS / 6) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO staff (id, name, phone, role, point_id, token) ");
            q.push_values(chunk, |mut b, s| {
                b.push_bind(s.id)
                    .push_bind(&s.name)
                    .push_bind(s.phone.as_ref().map(Phone::expose))
                    .push_bind(s.role.as_str())
                    .push_bind(s.point_id)
                    .push_bind(&s.token.0);
            });
            q.build().execute(&mut *tx).await?;
        }
        // Parents before children, whatever order the ids are in.
        let mut nodes: Vec<&AreaNode> = r.nodes.iter().collect();
        let depth = |n: &AreaNode| {
            let mut d = 0;
            let mut cur = n.parent;
            while let Some(p) = cur {
                d += 1;
                cur = r.nodes.iter().find(|x| x.id == p).and_then(|x| x.parent);
            }
            d
        };
        nodes.sort_by_cached_key(|n| depth(n));
        for chunk in nodes.chunks(MAX_BINDS / 5) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO area_nodes (id, parent_id, level, name, staff_id) ");
            q.push_values(chunk, |mut b, n| {
                b.push_bind(n.id).push_bind(n.parent).push_bind(&n.level).push_bind(&n.name).push_bind(n.staff_id);
            });
            q.build().execute(&mut *tx).await?;
        }
        let staff_nodes: Vec<(i64, i64)> = r.staff.iter().flat_map(|s| s.nodes.iter().map(|n| (s.id, *n))).collect();
        for chunk in staff_nodes.chunks(MAX_BINDS / 2) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO staff_nodes (staff_id, node_id) ");
            q.push_values(chunk, |mut b, (s, n)| {
                b.push_bind(*s).push_bind(*n);
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in r.households.chunks(MAX_BINDS / 4) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO households (id, number, address, node_id) ");
            q.push_values(chunk, |mut b, h| {
                b.push_bind(h.id).push_bind(&h.number).push_bind(&h.address).push_bind(h.node_id);
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in r.residents.chunks(MAX_BINDS / 8) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO residents (id, household_id, name, id_number, phone, birth_year, flags, note) ",
            );
            q.push_values(chunk, |mut b, p| {
                b.push_bind(p.id)
                    .push_bind(p.household_id)
                    .push_bind(&p.name)
                    .push_bind(p.id_number.expose())
                    .push_bind(p.phone.as_ref().map(Phone::expose))
                    .push_bind(p.birth_year)
                    .push_bind(p.flags.bits())
                    .push_bind(&p.note);
            });
            q.build().execute(&mut *tx).await?;
        }
        for p in &r.points {
            sqlx::query("INSERT INTO sampling_points (id, name, place) VALUES (?, ?, ?)")
                .bind(p.id)
                .bind(&p.name)
                .bind(&p.place)
                .execute(&mut *tx)
                .await?;
            for n in &p.nodes {
                sqlx::query("INSERT INTO point_nodes (point_id, node_id) VALUES (?, ?)")
                    .bind(p.id)
                    .bind(n)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_action(&self, a: &NewAction, now: OffsetDateTime) -> Result<Action, StoreError> {
        let sql = "INSERT INTO actions (kind, name, scope, points, planned_open, planned_close, created_at) \
                   VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *";
        let row = sqlx::query(sql)
            .bind(a.kind.as_str())
            .bind(&a.name)
            .bind(ids_json(&a.scope))
            .bind(ids_json(&a.points))
            .bind(a.planned_open.map(to_micros))
            .bind(a.planned_close.map(to_micros))
            .bind(to_micros(now))
            .fetch_one(&self.writer)
            .await?;
        action_from_row(&row)
    }

    async fn actions(&self) -> Result<Vec<Action>, StoreError> {
        let rows = sqlx::query("SELECT * FROM actions ORDER BY id").fetch_all(&self.readers).await?;
        rows.iter().map(action_from_row).collect()
    }

    async fn find_recorded(&self, client_ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError> {
        let mut found = Vec::new();
        for chunk in client_ids.chunks(MAX_BINDS) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT client_id, action_id, seq FROM events WHERE client_id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(&self.writer).await? {
                found.push(Recorded {
                    client_id: row.try_get(0)?,
                    action_id: row.try_get(1)?,
                    seq: row.try_get(2)?,
                });
            }
        }
        Ok(found)
    }

    async fn append(&self, events: &[NewEvent]) -> Result<Vec<Seq>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Reserve each action's block of sequence numbers on its counter row.
        let mut next: HashMap<ActionId, Seq> = HashMap::new();
        for e in events {
            *next.entry(e.action_id).or_insert(0) += 1;
        }
        for (action, n) in next.iter_mut() {
            let last: Seq = sqlx::query_scalar("UPDATE actions SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq")
                .bind(*n)
                .bind(*action)
                .fetch_one(&mut *tx)
                .await?;
            *n = last - *n + 1;
        }
        let seqs: Vec<Seq> = events
            .iter()
            .map(|e| {
                let n = next.get_mut(&e.action_id).expect("reserved above");
                *n += 1;
                *n - 1
            })
            .collect();
        for (chunk, seqs) in events.chunks(MAX_BINDS / 7).zip(seqs.chunks(MAX_BINDS / 7)) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (action_id, seq, client_id, actor_id, device_time, server_time, body) ",
            );
            q.push_values(chunk.iter().zip(seqs), |mut b, (e, seq)| {
                b.push_bind(e.action_id)
                    .push_bind(*seq)
                    .push_bind(e.client_id)
                    .push_bind(e.actor)
                    .push_bind(to_micros(e.device_time))
                    .push_bind(to_micros(e.server_time))
                    .push_bind(serde_json::to_string(&e.body).expect("event bodies serialise"));
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(seqs)
    }

    async fn read_events(&self, action: ActionId, after: Seq, limit: i64) -> Result<Vec<Event>, StoreError> {
        let sql = "SELECT seq, client_id, actor_id, device_time, server_time, body FROM events \
                   WHERE action_id = ? AND seq > ? ORDER BY seq LIMIT ?";
        let rows = sqlx::query(sql).bind(action).bind(after).bind(limit).fetch_all(&self.readers).await?;
        rows.iter()
            .map(|row| {
                let seq: Seq = row.try_get("seq")?;
                let body: String = row.try_get("body")?;
                let body: EventBody = serde_json::from_str(&body).map_err(|e| corrupt("event", seq, e))?;
                Ok(Event {
                    seq,
                    new: NewEvent {
                        action_id: action,
                        client_id: row.try_get("client_id")?,
                        actor: row.try_get("actor_id")?,
                        device_time: from_micros(row.try_get("device_time")?)?,
                        server_time: from_micros(row.try_get("server_time")?)?,
                        body,
                    },
                })
            })
            .collect()
    }
}
