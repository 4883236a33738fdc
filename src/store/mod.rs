//! Storage: one [`Store`] trait and one implementation per database. It stores and
//! pushes nothing: every event reaches it through [`crate::writer`], the one door. SQL
//! lives in the backend modules and nowhere else; nothing here knows about HTTP, live
//! state or the fold's rules.

pub mod accounts;
pub mod cards;
pub mod channels;
pub mod import;
pub mod postgres;
mod rows;
pub(crate) mod seen;
pub mod sqlite;

use crate::action::{Action, ActionId, Event, NewAction, NewEvent, Seq};
use crate::roster::import::RosterChanges;
use crate::roster::{AreaNode, HouseholdId, ResidentId, RosterParts};
use async_trait::async_trait;
use cards::{CardCode, Owner};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite backend's bulk reads, which bypass sqlx (see `sqlite::read_events`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Met when the command opens its database, so in the command's language.
    #[error("{}", crate::messages::cli::unsupported_db(.0, crate::messages::Lang::current()))]
    UnsupportedUrl(String),
    /// Another writer appended to this action after our live state was folded: catch up
    /// and check again. Nothing was written.
    #[error("action {0} moved on under this writer")]
    Behind(ActionId),
    /// An event id was recorded by another writer at the same moment (or was not known to
    /// be recorded when the batch was checked). Nothing was written.
    #[error("an event id was recorded concurrently by another node")]
    Conflict,
}

/// Residents named in each action's log.
pub type NamedResidents = HashMap<ActionId, HashSet<ResidentId>>;

/// What a follower tells the writer: some action's log may have grown elsewhere, or the
/// roster changed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wake {
    Action(ActionId),
    /// Anything in the log may have changed (a lost connection, a periodic sweep, a new action).
    All,
    /// Another node imported a roster or changed a staff member: read the roster again.
    Roster,
}

/// An event already in the log, found by its client id, with what a resend must repeat
/// to be answered as this event again (see `crate::writer::is_resend`).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub client_id: Uuid,
    pub action_id: ActionId,
    pub seq: Seq,
    pub device_time: OffsetDateTime,
    pub server_time: OffsetDateTime,
    pub body: crate::action::EventBody,
}

impl Recorded {
    /// From a row of the log: times in unix microseconds, the body as the log's JSON.
    fn from_row(
        client_id: Uuid,
        action_id: ActionId,
        seq: Seq,
        times: (i64, i64),
        body: &str,
    ) -> Result<Self, StoreError> {
        let body = crate::action::EventBody::from_log_json(body)
            .map_err(|e| StoreError::Corrupt(format!("event {action_id}/{seq}: {e}")))?;
        Ok(Recorded {
            client_id,
            action_id,
            seq,
            device_time: from_micros(times.0)?,
            server_time: from_micros(times.1)?,
            body,
        })
    }
}

/// Everything Muster keeps. Implementations must make `append` atomic and durable
/// before it returns, and must hand out sequence numbers without gaps per action.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn load_roster(&self) -> Result<RosterParts, StoreError>;
    /// Writes a whole roster into an empty database.
    async fn insert_roster(&self, roster: &RosterParts) -> Result<(), StoreError>;
    /// Writes an import's changes in one transaction, so that the stored roster becomes
    /// `next` (see `roster::import::plan`).
    async fn update_roster(&self, next: &RosterParts, changes: &RosterChanges) -> Result<(), StoreError>;
    /// The residents each action's log names (by a sample or an exemption), by action:
    /// an import keeps them, and the fold keeps counting them after they are removed.
    async fn named_residents(&self) -> Result<NamedResidents, StoreError>;
    async fn create_action(&self, action: &NewAction, now: OffsetDateTime) -> Result<Action, StoreError>;
    async fn actions(&self) -> Result<Vec<Action>, StoreError>;
    /// Which of these client ids are already in the log, and where.
    async fn find_recorded(&self, client_ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError>;
    /// Appends events in one transaction and returns their sequence numbers, in order.
    /// `expected` is each action's last position as the caller knows it; if the log has
    /// moved past it, nothing is written and the answer is [`StoreError::Behind`].
    async fn append(&self, events: &[NewEvent], expected: &HashMap<ActionId, Seq>) -> Result<Vec<Seq>, StoreError>;
    /// Events of one action after `after`, in order, at most `limit`.
    async fn read_events(&self, action: ActionId, after: Seq, limit: i64) -> Result<Vec<Event>, StoreError>;
    /// The household card codes in use (see `crate::cards`): all of them, or those on one
    /// household's card (its own and its residents').
    async fn card_codes(&self, household: Option<HouseholdId>) -> Result<Vec<CardCode>, StoreError>;
    /// One code, in use or replaced, by its canonical text.
    async fn find_card_code(&self, code: &str) -> Result<Option<CardCode>, StoreError>;
    /// Adds codes, in one transaction, for owners that have none in use; an owner that got
    /// one meanwhile (two printings at once) keeps that one.
    async fn add_card_codes(&self, codes: &[CardCode]) -> Result<(), StoreError>;
    /// A reissue, in one transaction: the codes in use of `replaced` are marked replaced
    /// at `at` (unix microseconds) and `new` are added. How many were replaced.
    async fn replace_card_codes(&self, replaced: &[Owner], new: &[CardCode], at: i64) -> Result<u64, StoreError>;
    /// The database handle for staff accounts (sessions, pairing codes, audit log).
    fn accounts(&self) -> accounts::DbPool;
    /// Tells the other nodes sharing the database that this one changed the roster, so
    /// that they read it again ([`Wake::Roster`]). A database only this process writes
    /// has nobody to tell.
    async fn roster_changed(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Runs for as long as the database is shared, telling `wake` when another node may
    /// have appended or changed the roster. A database only this process writes returns
    /// at once.
    async fn follow(&self, wake: tokio::sync::mpsc::Sender<Wake>) -> Result<(), StoreError> {
        let _ = wake;
        Ok(())
    }
}

/// Opens the database a `--db` address names and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::open(url).await?));
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.contains("://") {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
}

pub fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

fn group_named(rows: Vec<(ActionId, ResidentId)>) -> NamedResidents {
    let mut named = NamedResidents::new();
    for (action, resident) in rows {
        named.entry(action).or_default().insert(resident);
    }
    named
}

/// A unique violation while appending: an event id (or, on SQLite, a position) recorded
/// by another writer meanwhile. Nothing was written; the writer looks again and retries.
fn duplicate_or(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(e),
    }
}

/// How many events each action gets in a batch.
fn counts_by_action(actions: impl IntoIterator<Item = ActionId>) -> HashMap<ActionId, Seq> {
    let mut n = HashMap::new();
    for a in actions {
        *n.entry(a).or_insert(0) += 1;
    }
    n
}

/// Hands out positions in batch order (each event's action given in turn), from each
/// action's first reserved one.
fn assign_seqs(actions: impl IntoIterator<Item = ActionId>, next: &mut HashMap<ActionId, Seq>) -> Vec<Seq> {
    actions
        .into_iter()
        .map(|a| {
            let n = next.get_mut(&a).expect("every action of the batch was reserved");
            *n += 1;
            *n - 1
        })
        .collect()
}

/// Splits `items` into chunks of power-of-two lengths, each at most `max` long. A
/// multi-row statement's SQL depends on its row count; with these lengths a batch of any
/// size uses one of a dozen statements, which stay prepared in the connection's cache
/// instead of being parsed again for every batch size.
fn pow2_chunks<T>(mut items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let cap = if max.is_power_of_two() { max } else { max.next_power_of_two() / 2 };
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = cap.min(1 << items.len().ilog2());
        let (chunk, rest) = items.split_at(n);
        items = rest;
        Some(chunk)
    })
}

/// Area nodes ordered so that every parent comes before its children.
fn parents_first(nodes: &[AreaNode]) -> Vec<&AreaNode> {
    let parent: HashMap<i64, Option<i64>> = nodes.iter().map(|n| (n.id, n.parent)).collect();
    let depth = |n: &AreaNode| {
        let mut d = 0;
        let mut cur = n.parent;
        while let Some(p) = cur {
            d += 1;
            cur = parent.get(&p).copied().flatten();
            if d > nodes.len() {
                break;
            }
        }
        d
    };
    let mut sorted: Vec<&AreaNode> = nodes.iter().collect();
    sorted.sort_by_cached_key(|n| depth(n));
    sorted
}

#[cfg(test)]
mod tests {
    use super::pow2_chunks;

    #[test]
    fn chunks_have_power_of_two_lengths_under_the_cap_and_cover_everything() {
        for n in 0..300 {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = pow2_chunks(&items, 100).collect();
            assert!(chunks.iter().all(|c| c.len().is_power_of_two() && c.len() <= 64), "n = {n}");
            assert_eq!(chunks.concat(), items);
        }
    }
}
