//! Storage: one [`Store`] trait, one implementation per database, and the group-commit
//! [`writer`] that is the only way events reach the log. SQL lives in the backend
//! modules and nowhere else; nothing here knows about HTTP or about the fold's rules.

pub mod sqlite;
pub mod writer;

use crate::action::{Action, ActionId, Event, NewAction, NewEvent, Seq};
use crate::roster::RosterParts;
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("unsupported database address {0:?}: use sqlite://FILE or a file path")]
    UnsupportedUrl(String),
}

/// An event already in the log, found by its client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub client_id: Uuid,
    pub action_id: ActionId,
    pub seq: Seq,
}

/// Everything Muster keeps. Implementations must make `append` atomic and durable
/// before it returns, and must hand out sequence numbers without gaps per action.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn load_roster(&self) -> Result<RosterParts, StoreError>;
    /// Writes a whole roster into an empty database.
    async fn insert_roster(&self, roster: &RosterParts) -> Result<(), StoreError>;
    async fn create_action(&self, action: &NewAction, now: OffsetDateTime) -> Result<Action, StoreError>;
    async fn actions(&self) -> Result<Vec<Action>, StoreError>;
    /// Which of these client ids are already in the log, and where.
    async fn find_recorded(&self, client_ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError>;
    /// Appends events in one transaction and returns their sequence numbers, in order.
    async fn append(&self, events: &[NewEvent]) -> Result<Vec<Seq>, StoreError>;
    /// Events of one action after `after`, in order, at most `limit`.
    async fn read_events(&self, action: ActionId, after: Seq, limit: i64) -> Result<Vec<Event>, StoreError>;
}

/// Opens the database a `--db` address names and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.contains("://") {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
}

pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}
