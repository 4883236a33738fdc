//! Persistence of staff accounts: sessions, pairing codes, password hashes and the audit
//! log. Low-volume SQL written once for both backends: [`on_pool!`] runs the same
//! statement (with `$n` placeholders, which SQLite reads too) on whichever pool this is.
//! What the rows mean (hashing, expiry, rate limits) is `crate::auth`'s business.

use super::StoreError;
use super::sqlite::log::{LogWriter, NewAuditEntry};
use sqlx::{PgPool, SqlitePool};

/// A handle to the database for account data; cheap to clone.
#[derive(Clone)]
pub enum DbPool {
    /// SQLite, and the log's writing thread, which writes the audit rows (see
    /// [`LogWriter::audit`]).
    Sqlite(SqlitePool, LogWriter),
    Postgres(PgPool),
}

/// Evaluates `$body` with `$p` bound to the concrete pool, once per backend.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            DbPool::Sqlite($p, _) => $body,
            DbPool::Postgres($p) => $body,
        }
    };
}

/// Within a transaction `$tx`: staff member `$id` answers for `$nodes` and is the
/// responsible person of `$responsible` (and of no other node). The same statements for
/// both backends, whichever transaction type `$tx` is.
macro_rules! set_staff_nodes {
    ($tx:ident, $id:expr, $nodes:expr, $responsible:expr) => {
        sqlx::query("DELETE FROM staff_nodes WHERE staff_id = $1").bind($id).execute(&mut *$tx).await?;
        for n in $nodes {
            sqlx::query("INSERT INTO staff_nodes (staff_id, node_id) VALUES ($1, $2)")
                .bind($id)
                .bind(n)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query("UPDATE area_nodes SET staff_id = NULL WHERE staff_id = $1").bind($id).execute(&mut *$tx).await?;
        for n in $responsible {
            sqlx::query("UPDATE area_nodes SET staff_id = $1 WHERE id = $2")
                .bind($id)
                .bind(n)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Within a transaction `$tx`: sampling point `$id` serves `$nodes` (and no other node).
macro_rules! set_point_nodes {
    ($tx:ident, $id:expr, $nodes:expr) => {
        sqlx::query("DELETE FROM point_nodes WHERE point_id = $1").bind($id).execute(&mut *$tx).await?;
        for n in $nodes {
            sqlx::query("INSERT INTO point_nodes (point_id, node_id) VALUES ($1, $2)")
                .bind($id)
                .bind(n)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// A staff row to add or write (see [`DbPool::insert_staff`]); the phone as stored (digits).
#[derive(Debug, Clone, Copy)]
pub struct NewStaff<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub role: &'a str,
    pub point_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub secret_hash: Vec<u8>,
    pub staff_id: i64,
    pub device: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub staff_id: i64,
    pub what: String,
    pub detail: String,
}

const SESSION_COLUMNS: &str = "id, secret_hash, staff_id, device, created_at, expires_at, revoked_at";

impl DbPool {
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO sessions (id, secret_hash, staff_id, device, created_at, expires_at, revoked_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(&s.id)
            .bind(&s.secret_hash)
            .bind(s.staff_id)
            .bind(&s.device)
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(s.revoked_at)
            .execute(p)
            .await
            .map(|_| ())?);
        Ok(())
    }

    pub async fn find_session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"));
        Ok(on_pool!(self, |p| sqlx::query_as(sql).bind(id).fetch_optional(p).await?))
    }

    /// Every live session (not revoked, not expired), oldest first: one query, where one
    /// per staff member took a query each for a city's thousands of staff. There is one
    /// row per signed-in device, so the whole set is small.
    pub async fn live_sessions(&self, now: i64) -> Result<Vec<SessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE revoked_at IS NULL AND expires_at > $1 ORDER BY created_at"
        ));
        Ok(on_pool!(self, |p| sqlx::query_as(sql).bind(now).fetch_all(p).await?))
    }

    /// Revokes one session; whether it was live.
    pub async fn revoke_session(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        let n = on_pool!(self, |p| sqlx::query(sql).bind(at).bind(id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Sessions revoked at or after `since` (for nodes to drop them from their caches).
    pub async fn revoked_since(&self, since: i64) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT id FROM sessions WHERE revoked_at >= $1";
        Ok(on_pool!(self, |p| sqlx::query_scalar(sql).bind(since).fetch_all(p).await?))
    }

    pub async fn insert_pairing(
        &self,
        code_hash: &[u8],
        staff_id: i64,
        by: i64,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO pairing_codes (code_hash, staff_id, created_by, created_at, expires_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(code_hash)
            .bind(staff_id)
            .bind(by)
            .bind(at)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Uses a pairing code: the staff member it was made for, if it is unused and not
    /// expired. One statement, so two phones racing with one code cannot both win.
    pub async fn redeem_pairing(&self, code_hash: &[u8], now: i64) -> Result<Option<i64>, StoreError> {
        let sql = "UPDATE pairing_codes SET used_at = $1 \
                   WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING staff_id";
        Ok(on_pool!(self, |p| sqlx::query_scalar(sql).bind(now).bind(code_hash).fetch_optional(p).await?))
    }

    pub async fn set_password_hash(&self, staff_id: i64, hash: &str) -> Result<(), StoreError> {
        let sql = "UPDATE staff SET password_hash = $1 WHERE id = $2";
        on_pool!(self, |p| sqlx::query(sql).bind(hash).bind(staff_id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Whether any staff member on duty is an admin: one row at most, where loading the
    /// roster to ask would read every resident (a second time, at a city's start-up).
    pub async fn has_admin(&self) -> Result<bool, StoreError> {
        let sql = "SELECT id FROM staff WHERE role = $1 AND retired = $2 LIMIT 1";
        let found: Option<i64> = on_pool!(self, |p| sqlx::query_scalar(sql)
            .bind(crate::roster::Role::Admin.as_str())
            .bind(false)
            .fetch_optional(p)
            .await?);
        Ok(found.is_some())
    }

    pub async fn password_hash(&self, staff_id: i64) -> Result<Option<String>, StoreError> {
        let sql = "SELECT password_hash FROM staff WHERE id = $1";
        let found: Option<Option<String>> =
            on_pool!(self, |p| sqlx::query_scalar(sql).bind(staff_id).fetch_optional(p).await?);
        Ok(found.flatten())
    }

    /// Sets a staff member's role, point and area nodes in one transaction, and makes them the responsible
    /// person (`area_nodes.staff_id`) of exactly `responsible_for`: nodes of theirs not in
    /// it are released to nobody (their residents go to the next person up the tree).
    /// Changes a staff member's record, areas and the nodes they are the responsible
    /// person of, in one transaction.
    pub async fn update_staff(
        &self,
        id: i64,
        staff: &NewStaff<'_>,
        nodes: &[i64],
        responsible_for: &[i64],
    ) -> Result<(), StoreError> {
        on_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE staff SET name = $1, phone = $2, role = $3, point_id = $4 WHERE id = $5")
                .bind(staff.name)
                .bind(staff.phone)
                .bind(staff.role)
                .bind(staff.point_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            set_staff_nodes!(tx, id, nodes, responsible_for);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Takes a staff member off duty: the row stays (sessions, the audit log and the event
    /// log name them) but they answer for no area and no point, the nodes they were
    /// responsible for pass to the next person up the tree, and pairing codes made for
    /// them (a card still in a drawer) are spent.
    pub async fn retire_staff(&self, id: i64, now: i64) -> Result<(), StoreError> {
        on_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE staff SET retired = $1, point_id = NULL WHERE id = $2")
                .bind(true)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE pairing_codes SET used_at = $1 WHERE staff_id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            set_staff_nodes!(tx, id, &[] as &[i64], &[] as &[i64]);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds a sampling point (the next free id) serving `nodes`; its id.
    pub async fn insert_point(&self, name: &str, place: &str, nodes: &[i64]) -> Result<i64, StoreError> {
        let sql = "INSERT INTO sampling_points (id, name, place, retired) \
                   SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3 FROM sampling_points RETURNING id";
        let id = on_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let id: i64 = sqlx::query_scalar(sql).bind(name).bind(place).bind(false).fetch_one(&mut *tx).await?;
            set_point_nodes!(tx, id, nodes);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn update_point(&self, id: i64, name: &str, place: &str, nodes: &[i64]) -> Result<(), StoreError> {
        on_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE sampling_points SET name = $1, place = $2 WHERE id = $3")
                .bind(name)
                .bind(place)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            set_point_nodes!(tx, id, nodes);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Closes a sampling point: the row stays (actions and the log name it), it serves no
    /// area, and its operators are bound to no point until given another.
    pub async fn retire_point(&self, id: i64) -> Result<(), StoreError> {
        on_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE sampling_points SET retired = $1 WHERE id = $2")
                .bind(true)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            set_point_nodes!(tx, id, &[] as &[i64]);
            sqlx::query("UPDATE staff SET point_id = NULL WHERE point_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds a staff member (the next free id), with their areas and the nodes they are
    /// now the responsible person of, in one transaction; their id.
    pub async fn insert_staff(
        &self,
        new: &NewStaff<'_>,
        nodes: &[i64],
        responsible_for: &[i64],
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO staff (id, name, phone, role, point_id) \
                   SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4 FROM staff RETURNING id";
        let id = on_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let id: i64 = sqlx::query_scalar(sql)
                .bind(new.name)
                .bind(new.phone)
                .bind(new.role)
                .bind(new.point_id)
                .fetch_one(&mut *tx)
                .await?;
            set_staff_nodes!(tx, id, nodes, responsible_for);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn audit(&self, at: i64, staff_id: i64, what: &str, detail: &str) -> Result<(), StoreError> {
        match self {
            DbPool::Sqlite(_, log) => {
                log.audit(NewAuditEntry { at, staff_id, what: what.to_owned(), detail: detail.to_owned() }).await
            }
            DbPool::Postgres(p) => {
                let sql = "INSERT INTO audit_log (at, staff_id, what, detail) VALUES ($1, $2, $3, $4)";
                sqlx::query(sql).bind(at).bind(staff_id).bind(what).bind(detail).execute(p).await?;
                Ok(())
            }
        }
    }

    /// Staff that a session, a pairing code (for them or by them), the audit log or the
    /// event log (as the actor) refers to: a roster import retires them rather than
    /// deleting them. The events' scan is the cost of an import, not of a request.
    pub async fn referenced_staff(&self) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT staff_id FROM sessions UNION SELECT staff_id FROM pairing_codes \
                   UNION SELECT created_by FROM pairing_codes UNION SELECT staff_id FROM audit_log \
                   UNION SELECT actor_id FROM events";
        Ok(on_pool!(self, |p| sqlx::query_scalar(sql).fetch_all(p).await?))
    }

    /// Newest first, before the entry `before` (exclusive) when given.
    pub async fn audit_page(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let sql = "SELECT id, at, staff_id, what, detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2";
        let before = before.unwrap_or(i64::MAX);
        Ok(on_pool!(self, |p| sqlx::query_as(sql).bind(before).bind(limit).fetch_all(p).await?))
    }
}
