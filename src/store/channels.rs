//! The rows of outbound channels and their deliveries (see `crate::notify`, which says
//! what they mean, signs and sends). Plain SQL with `$n` placeholders, which SQLite and
//! PostgreSQL read alike, expanded once per backend by [`channel_sql!`] so the two cannot
//! drift apart; [`DbPool`] picks the expansion for its pool. A secret is a column like
//! any other here: keeping it out of answers and logs is `notify::Secret`'s job.

use super::StoreError;
use super::accounts::DbPool;

/// A channel as stored. `kind` is `notify::Kind`'s text; times are unix microseconds.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub node_id: i64,
    pub kind: String,
    pub name: String,
    pub url: String,
    pub secret: Option<String>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// Whether the group wants the hourly progress summary.
    pub summary: bool,
}

/// Never the URL (it may carry the robot's key) nor the secret.
impl std::fmt::Debug for ChannelRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRow")
            .field("id", &self.id)
            .field("node_id", &self.node_id)
            .field("kind", &self.kind)
            .finish()
    }
}

/// A new channel to store.
pub struct NewChannel<'a> {
    pub node_id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub secret: Option<&'a str>,
    pub created_at: i64,
    pub summary: bool,
}

/// One delivery as stored: a message (perhaps several coalesced) handed to a channel.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub channel_id: i64,
    pub message_id: String,
    /// How many queued messages it carried.
    pub parts: i64,
    pub attempts: i64,
    /// `notify::Outcome`'s text.
    pub outcome: String,
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
    pub queued_at: i64,
    pub finished_at: i64,
    /// What the messages were (`notify::MessageKind`'s text), comma-separated.
    pub kinds: String,
}

#[cfg(test)]
const CHANNEL_COLUMNS: &str = "id, node_id, kind, name, url, secret, created_at, retired_at, summary";
#[cfg(test)]
const DELIVERY_COLUMNS: &str =
    "id, channel_id, message_id, parts, attempts, outcome, errcode, errmsg, queued_at, finished_at, kinds";

pub(super) const INSERT_CHANNEL: &str = "INSERT INTO channels (node_id, kind, name, url, secret, created_at, summary) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
pub(super) const SELECT_CHANNELS: &str = "SELECT id, node_id, kind, name, url, secret, created_at, retired_at, summary \
     FROM channels WHERE retired_at IS NULL ORDER BY id";
pub(super) const SELECT_EVERY_CHANNEL: &str =
    "SELECT id, node_id, kind, name, url, secret, created_at, retired_at, summary FROM channels ORDER BY id";
pub(super) const SELECT_CHANNEL: &str = "SELECT id, node_id, kind, name, url, secret, created_at, retired_at, summary \
     FROM channels WHERE id = $1";
pub(super) const RETIRE_CHANNEL: &str = "UPDATE channels SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL";
pub(super) const SET_SUMMARY: &str = "UPDATE channels SET summary = $1 WHERE id = $2 AND retired_at IS NULL";
/// The claim of one summary: the insert that makes the row wins, every other one (another
/// node, a restart within the hour) finds it there and posts nothing.
pub(super) const CLAIM_SUMMARY: &str =
    "INSERT INTO summaries (action_id, slot, claimed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// A delivery that ended, in one statement: a reader never sees one half written.
pub(super) const INSERT_DELIVERY: &str = "INSERT INTO deliveries \
     (channel_id, message_id, parts, attempts, outcome, errcode, errmsg, queued_at, finished_at, kinds) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub(super) const SELECT_DELIVERIES: &str = "SELECT id, channel_id, message_id, parts, attempts, outcome, errcode, errmsg, \
     queued_at, finished_at, kinds FROM deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT $2";

#[cfg(test)]
#[test]
fn every_select_reads_the_columns_of_a_row() {
    for sql in [SELECT_CHANNELS, SELECT_EVERY_CHANNEL, SELECT_CHANNEL] {
        assert!(sql.starts_with(&format!("SELECT {CHANNEL_COLUMNS} FROM channels")), "{sql}");
    }
    assert!(SELECT_DELIVERIES.starts_with(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries")));
}

/// The channel functions for one backend's database type `$db`: the same statements on
/// both (a macro, as in `super::cards`, because sqlx's bind bounds per database make
/// generic functions unreadable).
macro_rules! channel_sql {
    ($db:ty) => {
        use $crate::store::StoreError;
        use $crate::store::channels::*;

        pub async fn insert(pool: &sqlx::Pool<$db>, c: &NewChannel<'_>) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar(INSERT_CHANNEL)
                .bind(c.node_id)
                .bind(c.kind)
                .bind(c.name)
                .bind(c.url)
                .bind(c.secret)
                .bind(c.created_at)
                .bind(c.summary)
                .fetch_one(pool)
                .await?)
        }

        pub async fn all(pool: &sqlx::Pool<$db>) -> Result<Vec<ChannelRow>, StoreError> {
            Ok(sqlx::query_as(SELECT_CHANNELS).fetch_all(pool).await?)
        }

        pub async fn every(pool: &sqlx::Pool<$db>) -> Result<Vec<ChannelRow>, StoreError> {
            Ok(sqlx::query_as(SELECT_EVERY_CHANNEL).fetch_all(pool).await?)
        }

        pub async fn one(pool: &sqlx::Pool<$db>, id: i64) -> Result<Option<ChannelRow>, StoreError> {
            Ok(sqlx::query_as(SELECT_CHANNEL).bind(id).fetch_optional(pool).await?)
        }

        pub async fn retire(pool: &sqlx::Pool<$db>, id: i64, at: i64) -> Result<bool, StoreError> {
            Ok(sqlx::query(RETIRE_CHANNEL).bind(at).bind(id).execute(pool).await?.rows_affected() == 1)
        }

        pub async fn set_summary(pool: &sqlx::Pool<$db>, id: i64, on: bool) -> Result<bool, StoreError> {
            Ok(sqlx::query(SET_SUMMARY).bind(on).bind(id).execute(pool).await?.rows_affected() == 1)
        }

        pub async fn claim_summary(
            pool: &sqlx::Pool<$db>,
            action: i64,
            slot: i64,
            at: i64,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(CLAIM_SUMMARY).bind(action).bind(slot).bind(at).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        }

        pub async fn record_delivery(pool: &sqlx::Pool<$db>, d: &NewDelivery<'_>) -> Result<(), StoreError> {
            sqlx::query(INSERT_DELIVERY)
                .bind(d.channel_id)
                .bind(d.message_id)
                .bind(d.parts)
                .bind(d.attempts)
                .bind(d.outcome)
                .bind(d.errcode)
                .bind(d.errmsg)
                .bind(d.queued_at)
                .bind(d.finished_at)
                .bind(d.kinds)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub async fn deliveries(
            pool: &sqlx::Pool<$db>,
            channel: i64,
            limit: i64,
        ) -> Result<Vec<DeliveryRow>, StoreError> {
            Ok(sqlx::query_as(SELECT_DELIVERIES).bind(channel).bind(limit).fetch_all(pool).await?)
        }
    };
}

mod sqlite_sql {
    channel_sql!(sqlx::Sqlite);
}

mod postgres_sql {
    channel_sql!(sqlx::Postgres);
}

/// A delivery that ended (see [`DbPool::record_delivery`]).
pub struct NewDelivery<'a> {
    pub channel_id: i64,
    /// The ids of the messages it carried, comma-separated.
    pub message_id: &'a str,
    pub parts: i64,
    pub attempts: i64,
    pub outcome: &'a str,
    pub errcode: Option<i64>,
    pub errmsg: Option<&'a str>,
    pub queued_at: i64,
    pub finished_at: i64,
    /// What the messages were, comma-separated.
    pub kinds: &'a str,
}

/// Runs `$f` of the expansion for this pool's backend.
macro_rules! on_backend {
    ($pool:expr, $f:ident($($arg:expr),*)) => {
        match $pool {
            DbPool::Sqlite(p, _) => sqlite_sql::$f(p, $($arg),*).await,
            DbPool::Postgres(p) => postgres_sql::$f(p, $($arg),*).await,
        }
    };
}

impl DbPool {
    /// Stores a new channel; its id.
    pub async fn insert_channel(&self, c: &NewChannel<'_>) -> Result<i64, StoreError> {
        on_backend!(self, insert(c))
    }

    /// Every channel in use, oldest first.
    pub async fn channels(&self) -> Result<Vec<ChannelRow>, StoreError> {
        on_backend!(self, all())
    }

    /// Every channel, retired ones too, oldest first.
    pub async fn every_channel(&self) -> Result<Vec<ChannelRow>, StoreError> {
        on_backend!(self, every())
    }

    /// One channel, in use or retired.
    pub async fn channel(&self, id: i64) -> Result<Option<ChannelRow>, StoreError> {
        on_backend!(self, one(id))
    }

    /// Retires a channel in use at `at`; whether it was in use.
    pub async fn retire_channel(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        on_backend!(self, retire(id, at))
    }

    /// Whether a channel in use posts the hourly summary; whether it was in use.
    pub async fn set_channel_summary(&self, id: i64, on: bool) -> Result<bool, StoreError> {
        on_backend!(self, set_summary(id, on))
    }

    /// Claims the summary of `action` for `slot` (see [`CLAIM_SUMMARY`]) at `at` (unix
    /// microseconds): `true` for the one caller that is to post it.
    pub async fn claim_summary(&self, action: i64, slot: i64, at: i64) -> Result<bool, StoreError> {
        on_backend!(self, claim_summary(action, slot, at))
    }

    /// Records how a delivery ended.
    pub async fn record_delivery(&self, d: &NewDelivery<'_>) -> Result<(), StoreError> {
        on_backend!(self, record_delivery(d))
    }

    /// A channel's deliveries, newest first, at most `limit`.
    pub async fn deliveries(&self, channel: i64, limit: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        on_backend!(self, deliveries(channel, limit))
    }
}
