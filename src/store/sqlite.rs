//! The SQLite backend: a file, nothing to install. The log is appended by one connection
//! on a thread of its own ([`log`]); another writes the roster, actions and accounts (rare,
//! short transactions); a small pool reads, and bulk reads (the log and roster at start-up)
//! go through rusqlite on blocking threads. WAL with `synchronous=FULL` makes every commit
//! durable; the writer's batching makes that one fsync per batch, not per event.

pub(crate) mod log;

/// The card codes' statements (see `super::cards`).
mod cards_sql {
    super::super::cards::card_code_sql!(sqlx::Sqlite);
}

use super::cards::{CardCode, Owner};
use super::rows::{self, ActionRow, EventRow};
use super::{NamedResidents, Recorded, Store, StoreError, to_micros};
use crate::action::{Action, ActionId, Event, NewAction, NewEvent, Seq};
use crate::roster::import::RosterChanges;
use crate::roster::{HouseholdId, RosterParts};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// SQLite allows 32,766 bound values per statement; rows are chunked below that.
const MAX_BINDS: usize = 32_766;

/// How often the WAL is copied back into the database file, off the writer's path.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// WAL pages after which a commit checkpoints by itself: only if the checkpointer task
/// falls far behind (64 MiB at 4 KiB pages), so the WAL cannot grow without bound.
const AUTOCHECKPOINT_PAGES: &str = "16384";

pub struct SqliteStore {
    /// Appends to the log, looks event ids up and writes audit rows, on a thread of its
    /// own (see `log`).
    log: log::LogWriter,
    /// Writes everything else (roster, actions, accounts). SQLite takes one writer at a
    /// time: the two wait for each other's transactions (`busy_timeout`), and the log
    /// writer's are short.
    writer: SqlitePool,
    readers: SqlitePool,
    /// Keeps the checkpointer task running; it stops once the store is dropped.
    _alive: std::sync::Arc<()>,
}

impl SqliteStore {
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("migrations/sqlite").run(&writer).await?;
        let log = log::LogWriter::open(std::path::Path::new(path), AUTOCHECKPOINT_PAGES)?;
        let checkpointer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let readers = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        let alive = std::sync::Arc::new(());
        tokio::spawn(checkpoint(checkpointer, std::sync::Arc::downgrade(&alive)));
        Ok(Self { log, writer, readers, _alive: alive })
    }
}

/// Copies committed pages from the WAL back into the database file, every second, on a
/// connection of its own. Left to SQLite, the commit that crosses the WAL's size limit
/// does this itself, inside the writer's cycle: every request of that batch (and the
/// batch queued behind it) waited for a few hundred random page writes and an fsync of
/// the database file. A passive checkpoint never blocks the writer or a reader; the WAL
/// is reused from its start once everything in it has been copied.
async fn checkpoint(pool: SqlitePool, alive: std::sync::Weak<()>) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if alive.strong_count() == 0 {
            pool.close().await;
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "could not checkpoint the WAL; will retry");
        }
    }
}

impl SqliteStore {
    /// Runs a bulk read through rusqlite on a blocking thread, on a read-only connection of
    /// its own (`open_read_only`). Not through sqlx: its worker thread hands rows over one
    /// at a time, every value copied into its own allocation, about 3 µs a row (half a
    /// minute of a ten-million-event start-up); rusqlite steps the same statement in under
    /// 1 µs a row.
    async fn bulk_read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&std::path::Path) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let path = self.readers.connect_options().get_filename().to_owned();
        tokio::task::spawn_blocking(move || read(&path))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn load_roster(&self) -> Result<RosterParts, StoreError> {
        // Through sqlx, a million residents' rows took seconds to hand over alone.
        self.bulk_read(load_roster).await
    }

    async fn insert_roster(&self, r: &RosterParts) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        rows::insert_roster!(Sqlite, MAX_BINDS, tx, r);
        tx.commit().await?;
        Ok(())
    }

    async fn update_roster(&self, next: &RosterParts, changes: &RosterChanges) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        rows::update_roster!(Sqlite, MAX_BINDS, tx, next, changes);
        tx.commit().await?;
        Ok(())
    }

    async fn named_residents(&self) -> Result<NamedResidents, StoreError> {
        // The log's bodies are JSON; a resident appears as `resident_id` (samples and
        // exemptions). Corrections name a sample's position, whose event names the resident.
        let sql = "SELECT DISTINCT action_id, json_extract(body, '$.resident_id') FROM events \
                   WHERE json_extract(body, '$.resident_id') IS NOT NULL";
        Ok(super::group_named(sqlx::query_as(sql).fetch_all(&self.readers).await?))
    }

    async fn create_action(&self, a: &NewAction, now: OffsetDateTime) -> Result<Action, StoreError> {
        let sql = "INSERT INTO actions (kind, name, scope, points, planned_open, planned_close, created_at) \
                   VALUES (?, ?, ?, ?, ?, ?, ?) \
                   RETURNING id, kind, name, scope, points, planned_open, planned_close, created_at";
        let row: ActionRow = sqlx::query_as(sql)
            .bind(a.kind.as_str())
            .bind(&a.name)
            .bind(rows::ids_json(&a.scope))
            .bind(rows::ids_json(&a.points))
            .bind(a.planned_open.map(to_micros))
            .bind(a.planned_close.map(to_micros))
            .bind(to_micros(now))
            .fetch_one(&self.writer)
            .await?;
        Action::try_from(row)
    }

    async fn actions(&self) -> Result<Vec<Action>, StoreError> {
        let rows: Vec<ActionRow> = sqlx::query_as(rows::SELECT_ACTIONS).fetch_all(&self.readers).await?;
        rows.into_iter().map(Action::try_from).collect()
    }

    async fn find_recorded(&self, client_ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError> {
        self.log.find_recorded(client_ids).await
    }

    async fn append(&self, events: &[NewEvent], expected: &HashMap<ActionId, Seq>) -> Result<Vec<Seq>, StoreError> {
        self.log.append(events, expected).await
    }

    async fn card_codes(&self, household: Option<HouseholdId>) -> Result<Vec<CardCode>, StoreError> {
        cards_sql::current(&self.readers, household).await
    }

    async fn find_card_code(&self, code: &str) -> Result<Option<CardCode>, StoreError> {
        cards_sql::find(&self.readers, code).await
    }

    async fn add_card_codes(&self, codes: &[CardCode]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        cards_sql::add(&mut tx, codes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_card_codes(&self, replaced: &[Owner], new: &[CardCode], at: i64) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = cards_sql::replace(&mut tx, replaced, new, at).await?;
        tx.commit().await?;
        Ok(n)
    }

    fn accounts(&self) -> super::accounts::DbPool {
        super::accounts::DbPool::Sqlite(self.writer.clone(), self.log.clone())
    }

    async fn read_events(&self, action: ActionId, after: Seq, limit: i64) -> Result<Vec<Event>, StoreError> {
        self.bulk_read(move |path| read_events(path, action, after, limit)).await
    }
}

/// A read-only connection for one bulk read, opened per call: opening costs well under a
/// millisecond, a page of the log or the roster tens of milliseconds and more.
fn open_read_only(path: &std::path::Path) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let db = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(Duration::from_secs(10))?;
    Ok(db)
}

/// `Store::load_roster` with the shared SELECTs and checks, in one read transaction so
/// that every table is read as of the same moment.
fn load_roster(path: &std::path::Path) -> Result<RosterParts, StoreError> {
    use rows::*;
    fn all<T>(
        db: &rusqlite::Connection,
        sql: &str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = db.prepare(sql)?;
        Ok(statement.query_map([], row)?.collect::<Result<_, _>>()?)
    }
    let db = open_read_only(path)?;
    db.execute_batch("BEGIN")?;
    let pair = |r: &rusqlite::Row<'_>| Ok(PairRow { a: r.get(0)?, b: r.get(1)? });
    RosterRows {
        staff_nodes: all(&db, SELECT_STAFF_NODES, pair)?,
        point_nodes: all(&db, SELECT_POINT_NODES, pair)?,
        staff: all(&db, SELECT_STAFF, |r| {
            Ok(StaffRow {
                id: r.get(0)?,
                name: r.get(1)?,
                phone: r.get(2)?,
                role: r.get(3)?,
                point_id: r.get(4)?,
                retired: r.get(5)?,
            })
        })?,
        nodes: all(&db, SELECT_NODES, |r| {
            Ok(NodeRow { id: r.get(0)?, parent_id: r.get(1)?, level: r.get(2)?, name: r.get(3)?, staff_id: r.get(4)? })
        })?,
        households: all(&db, SELECT_HOUSEHOLDS, |r| {
            Ok(HouseholdRow { id: r.get(0)?, number: r.get(1)?, address: r.get(2)?, node_id: r.get(3)? })
        })?,
        residents: all(&db, SELECT_RESIDENTS, |r| {
            Ok(ResidentRow {
                id: r.get(0)?,
                household_id: r.get(1)?,
                name: r.get(2)?,
                id_number: r.get(3)?,
                phone: r.get(4)?,
                birth_year: r.get(5)?,
                flags: r.get(6)?,
                note: r.get(7)?,
                removed: r.get(8)?,
            })
        })?,
        points: all(&db, SELECT_POINTS, |r| {
            Ok(PointRow { id: r.get(0)?, name: r.get(1)?, place: r.get(2)?, retired: r.get(3)? })
        })?,
    }
    .into_parts()
}

/// `Store::read_events` on a connection of its own (see [`open_read_only`]).
fn read_events(path: &std::path::Path, action: ActionId, after: Seq, limit: i64) -> Result<Vec<Event>, StoreError> {
    let db = open_read_only(path)?;
    let mut statement = db.prepare(
        "SELECT action_id, seq, client_id, actor_id, device_time, server_time, body FROM events \
         WHERE action_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    )?;
    let mut rows = statement.query((action, after, limit))?;
    let mut events = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(1 << 16));
    while let Some(row) = rows.next()? {
        let seq = row.get(1)?;
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("client id of event {seq}: {e}"));
        let client_id = row.get_ref(2)?.as_blob().map_err(|e| corrupt(&e))?;
        let client_id = Uuid::from_slice(client_id).map_err(|e| corrupt(&e))?;
        events.push(Event::try_from(EventRow {
            action_id: row.get(0)?,
            seq,
            client_id,
            actor_id: row.get(3)?,
            device_time: row.get(4)?,
            server_time: row.get(5)?,
            body: row.get(6)?,
        })?);
    }
    Ok(events)
}
