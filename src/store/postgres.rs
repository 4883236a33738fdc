//! The PostgreSQL backend: a town, a district or a city, and several `muster` nodes on
//! one database. Appends lock the action's counter row, so positions are gap-free and in
//! commit order across nodes; each append NOTIFYs its action so the other nodes' writers
//! catch up from their last position (see [`Store::follow`]).

use super::cards::{CardCode, Owner};
use super::rows::{self, ActionRow, EventRow};
use super::{NamedResidents, Recorded, Store, StoreError, Wake, to_micros};
use crate::action::{Action, ActionId, Event, NewAction, NewEvent, Seq};
use crate::roster::import::RosterChanges;
use crate::roster::{HouseholdId, RosterParts};
use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

/// PostgreSQL allows 65,535 bound values per statement.
const MAX_BINDS: usize = 65_535;
/// The channel appends notify on; the payload is the action id, or [`ROSTER`] and the
/// node's id for a roster change.
const CHANNEL: &str = "muster_events";
const ROSTER: &str = "roster:";
/// How often a node catches up even without a notification (they are lost while its
/// listening connection is down).
const SWEEP: Duration = Duration::from_secs(2);
/// How long a request waits for a connection before it is answered `503
/// storage_unavailable` (a retry with the same ids is safe). With the database down or
/// unreachable every connection attempt fails or hangs: a point's operator should see
/// "try again" within about a second, not stare at a spinner. A healthy pool hands out a
/// connection in microseconds, and opening one here takes milliseconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// The card codes' statements (see `super::cards`).
mod cards_sql {
    super::super::cards::card_code_sql!(sqlx::Postgres);
}

pub struct PgStore {
    pool: PgPool,
    /// This process among the nodes, so that it does not read its own roster change again.
    node: Uuid,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(8).acquire_timeout(ACQUIRE_TIMEOUT).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool, node: Uuid::new_v4() })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn load_roster(&self) -> Result<RosterParts, StoreError> {
        rows::load_roster!(&self.pool)
    }

    async fn insert_roster(&self, r: &RosterParts) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        super::rows::insert_roster!(Postgres, MAX_BINDS, tx, r);
        tx.commit().await?;
        Ok(())
    }

    async fn update_roster(&self, next: &RosterParts, changes: &RosterChanges) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        rows::update_roster!(Postgres, MAX_BINDS, tx, next, changes);
        tx.commit().await?;
        Ok(())
    }

    async fn named_residents(&self) -> Result<NamedResidents, StoreError> {
        // The log's bodies are JSON; a resident appears as `resident_id` (samples and
        // exemptions). Corrections name a sample's position, whose event names the resident.
        let sql = "SELECT DISTINCT action_id, (body::jsonb ->> 'resident_id')::bigint FROM events \
                   WHERE body::jsonb ->> 'resident_id' IS NOT NULL";
        Ok(super::group_named(sqlx::query_as(sql).fetch_all(&self.pool).await?))
    }

    async fn create_action(&self, a: &NewAction, now: OffsetDateTime) -> Result<Action, StoreError> {
        let sql = "INSERT INTO actions (kind, name, scope, points, planned_open, planned_close, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) \
                   RETURNING id, kind, name, scope, points, planned_open, planned_close, created_at";
        let row: ActionRow = sqlx::query_as(sql)
            .bind(a.kind.as_str())
            .bind(&a.name)
            .bind(rows::ids_json(&a.scope))
            .bind(rows::ids_json(&a.points))
            .bind(a.planned_open.map(to_micros))
            .bind(a.planned_close.map(to_micros))
            .bind(to_micros(now))
            .fetch_one(&self.pool)
            .await?;
        let action = Action::try_from(row)?;
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(action.id.to_string()).execute(&self.pool).await?;
        Ok(action)
    }

    async fn actions(&self) -> Result<Vec<Action>, StoreError> {
        let rows: Vec<ActionRow> = sqlx::query_as(rows::SELECT_ACTIONS).fetch_all(&self.pool).await?;
        rows.into_iter().map(Action::try_from).collect()
    }

    async fn find_recorded(&self, client_ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError> {
        let sql = "SELECT client_id, action_id, seq, device_time, server_time, body FROM events \
                   WHERE client_id = ANY($1)";
        let rows: Vec<(Uuid, i64, i64, i64, i64, String)> =
            sqlx::query_as(sql).bind(client_ids).fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(client_id, action_id, seq, device, server, body)| {
                Recorded::from_row(client_id, action_id, seq, (device, server), &body)
            })
            .collect()
    }

    async fn append(&self, events: &[NewEvent], expected: &HashMap<ActionId, Seq>) -> Result<Vec<Seq>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut next = super::counts_by_action(events.iter().map(|e| e.action_id));
        // Lock each action's counter row in id order (no deadlock between two nodes'
        // batches), and give up if another writer appended since our state was folded.
        let mut actions: Vec<ActionId> = next.keys().copied().collect();
        actions.sort_unstable();
        for action in actions {
            let n = next[&action];
            let last: Seq =
                sqlx::query_scalar("UPDATE actions SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq")
                    .bind(n)
                    .bind(action)
                    .fetch_one(&mut *tx)
                    .await?;
            if last - n != expected.get(&action).copied().unwrap_or(0) {
                return Err(StoreError::Behind(action));
            }
            next.insert(action, last - n + 1);
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(action.to_string()).execute(&mut *tx).await?;
        }
        let seqs = super::assign_seqs(events.iter().map(|e| e.action_id), &mut next);
        super::rows::insert_events!(Postgres, MAX_BINDS, tx, events, seqs, super::duplicate_or);
        tx.commit().await.map_err(super::duplicate_or)?;
        Ok(seqs)
    }

    async fn card_codes(&self, household: Option<HouseholdId>) -> Result<Vec<CardCode>, StoreError> {
        cards_sql::current(&self.pool, household).await
    }

    async fn find_card_code(&self, code: &str) -> Result<Option<CardCode>, StoreError> {
        cards_sql::find(&self.pool, code).await
    }

    async fn add_card_codes(&self, codes: &[CardCode]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        cards_sql::add(&mut tx, codes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_card_codes(&self, replaced: &[Owner], new: &[CardCode], at: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = cards_sql::replace(&mut tx, replaced, new, at).await?;
        tx.commit().await?;
        Ok(n)
    }

    fn accounts(&self) -> super::accounts::DbPool {
        super::accounts::DbPool::Postgres(self.pool.clone())
    }

    async fn read_events(&self, action: ActionId, after: Seq, limit: i64) -> Result<Vec<Event>, StoreError> {
        let sql = "SELECT action_id, seq, client_id, actor_id, device_time, server_time, body FROM events \
                   WHERE action_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
        let rows: Vec<EventRow> =
            sqlx::query_as(sql).bind(action).bind(after).bind(limit).fetch_all(&self.pool).await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn roster_changed(&self) -> Result<(), StoreError> {
        let payload = format!("{ROSTER}{}", self.node);
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&self.pool).await?;
        Ok(())
    }

    async fn follow(&self, wake: mpsc::Sender<Wake>) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        let mut sweep = tokio::time::interval(SWEEP);
        let own_roster_change = format!("{ROSTER}{}", self.node);
        loop {
            let woke: &[Wake] = tokio::select! {
                n = listener.try_recv() => match n {
                    Ok(Some(n)) if n.payload() == own_roster_change => &[],
                    Ok(Some(n)) if n.payload().starts_with(ROSTER) => &[Wake::Roster],
                    Ok(Some(n)) => &[Wake::Action(n.payload().parse().unwrap_or_default())],
                    // The connection dropped; the listener reconnects on the next call and
                    // whatever was notified meanwhile is lost: read everything again.
                    Ok(None) => &[Wake::Roster, Wake::All],
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the notification connection; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        &[Wake::Roster, Wake::All]
                    }
                },
                _ = sweep.tick() => &[Wake::All],
            };
            for w in woke {
                if wake.send(*w).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}
