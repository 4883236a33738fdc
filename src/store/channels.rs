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
    pub finished_at: Option<i64>,
}

#[cfg(test)]
const CHANNEL_COLUMNS: &str = "id, node_id, kind, name, url, secret, created_at, retired_at";
#[cfg(test)]
const DELIVERY_COLUMNS: &str =
    "id, channel_id, message_id, parts, attempts, outcome, errcode, errmsg, queued_at, finished_at";

pub(super) const INSERT_CHANNEL: &str = "INSERT INTO channels (node_id, kind, name, url, secret, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
pub(super) const SELECT_CHANNELS: &str = "SELECT id, node_id, kind, name, url, secret, created_at, retired_at FROM channels WHERE retired_at IS NULL ORDER BY id";
pub(super) const SELECT_CHANNEL: &str =
    "SELECT id, node_id, kind, name, url, secret, created_at, retired_at FROM channels WHERE id = $1";
pub(super) const RETIRE_CHANNEL: &str = "UPDATE channels SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL";
pub(super) const INSERT_DELIVERY: &str = "INSERT INTO deliveries \
     (channel_id, message_id, parts, attempts, outcome, queued_at) VALUES ($1, $2, $3, 0, 'sending', $4) RETURNING id";
pub(super) const FINISH_DELIVERY: &str = "UPDATE deliveries SET attempts = $1, outcome = $2, errcode = $3, errmsg = $4, \
     finished_at = $5 WHERE id = $6";
pub(super) const SELECT_DELIVERIES: &str = "SELECT id, channel_id, message_id, parts, attempts, outcome, errcode, errmsg, \
     queued_at, finished_at FROM deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT $2";

#[cfg(test)]
#[test]
fn every_select_reads_the_columns_of_a_row() {
    for sql in [SELECT_CHANNELS, SELECT_CHANNEL] {
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
                .fetch_one(pool)
                .await?)
        }

        pub async fn all(pool: &sqlx::Pool<$db>) -> Result<Vec<ChannelRow>, StoreError> {
            Ok(sqlx::query_as(SELECT_CHANNELS).fetch_all(pool).await?)
        }

        pub async fn one(pool: &sqlx::Pool<$db>, id: i64) -> Result<Option<ChannelRow>, StoreError> {
            Ok(sqlx::query_as(SELECT_CHANNEL).bind(id).fetch_optional(pool).await?)
        }

        pub async fn retire(pool: &sqlx::Pool<$db>, id: i64, at: i64) -> Result<bool, StoreError> {
            Ok(sqlx::query(RETIRE_CHANNEL).bind(at).bind(id).execute(pool).await?.rows_affected() == 1)
        }

        pub async fn start_delivery(
            pool: &sqlx::Pool<$db>,
            channel: i64,
            message_id: &str,
            parts: i64,
            at: i64,
        ) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar(INSERT_DELIVERY)
                .bind(channel)
                .bind(message_id)
                .bind(parts)
                .bind(at)
                .fetch_one(pool)
                .await?)
        }

        pub async fn finish_delivery(pool: &sqlx::Pool<$db>, id: i64, end: &DeliveryEnd<'_>) -> Result<(), StoreError> {
            sqlx::query(FINISH_DELIVERY)
                .bind(end.attempts)
                .bind(end.outcome)
                .bind(end.errcode)
                .bind(end.errmsg)
                .bind(end.at)
                .bind(id)
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

/// How a delivery ended (see [`DbPool::finish_delivery`]).
pub struct DeliveryEnd<'a> {
    pub attempts: i64,
    pub outcome: &'a str,
    pub errcode: Option<i64>,
    pub errmsg: Option<&'a str>,
    pub at: i64,
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

    /// One channel, in use or retired.
    pub async fn channel(&self, id: i64) -> Result<Option<ChannelRow>, StoreError> {
        on_backend!(self, one(id))
    }

    /// Retires a channel in use at `at`; whether it was in use.
    pub async fn retire_channel(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        on_backend!(self, retire(id, at))
    }

    /// Records that a message is being handed to a channel; the delivery's id.
    pub async fn start_delivery(&self, channel: i64, message_id: &str, parts: i64, at: i64) -> Result<i64, StoreError> {
        on_backend!(self, start_delivery(channel, message_id, parts, at))
    }

    pub async fn finish_delivery(&self, id: i64, end: &DeliveryEnd<'_>) -> Result<(), StoreError> {
        on_backend!(self, finish_delivery(id, end))
    }

    /// A channel's deliveries, newest first, at most `limit`.
    pub async fn deliveries(&self, channel: i64, limit: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        on_backend!(self, deliveries(channel, limit))
    }
}
