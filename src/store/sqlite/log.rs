//! The connection that appends to the SQLite log, on an OS thread of its own.
//!
//! Through sqlx, every statement is a hand-off to sqlx's worker thread and back to a
//! runtime task; a batch took five (look-up, `BEGIN`, counter, `INSERT`, `COMMIT`), and
//! on a machine whose two cores were busy serving HTTP each one waited ~1–2 ms to be
//! scheduled: deciding and committing a batch of 90 scans took 9 ms, of which the fsync
//! was a fraction. Here the writer task sends one message per batch and this thread runs
//! the whole transaction with prepared statements: one hand-off there, one back.
//!
//! Appends and look-ups go through this one thread in the order they are sent, so a
//! look-up sees every append before it.

use crate::action::{ActionId, NewEvent, Seq};
use crate::store::{Recorded, StoreError, rows, to_micros};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;
use uuid::Uuid;

/// An event as it is written: the body already serialised (on the caller's task).
struct Row {
    action_id: ActionId,
    client_id: Uuid,
    actor: i64,
    device_time: i64,
    server_time: i64,
    body: String,
}

enum Job {
    Append { rows: Vec<Row>, expected: HashMap<ActionId, Seq>, reply: oneshot::Sender<Result<Vec<Seq>, StoreError>> },
    Find { ids: Vec<Uuid>, reply: oneshot::Sender<Result<Vec<Recorded>, StoreError>> },
    Audit { row: NewAuditEntry, reply: oneshot::Sender<Result<(), StoreError>> },
}

/// An audit log entry to write (see `store::accounts`).
pub struct NewAuditEntry {
    pub at: i64,
    pub staff_id: i64,
    pub what: String,
    pub detail: String,
}

/// A handle to the log's writing thread. The thread ends when every handle is dropped.
#[derive(Clone)]
pub struct LogWriter {
    jobs: mpsc::Sender<Job>,
}

impl LogWriter {
    /// Opens the database file (created and migrated already) for writing, with the same
    /// settings as the other connections: WAL, `synchronous=FULL` (a commit is on disk
    /// when it returns), foreign keys, and the WAL size at which a commit checkpoints.
    pub fn open(path: &std::path::Path, autocheckpoint_pages: &str) -> Result<Self, StoreError> {
        let db =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        db.busy_handler(Some(wait_briefly))?;
        db.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = {autocheckpoint_pages};"
        ))?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("muster-sqlite-log".into())
            .spawn(move || serve(db, queue))
            .map_err(|e| StoreError::Corrupt(format!("could not start the log's writing thread: {e}")))?;
        Ok(Self { jobs })
    }

    pub async fn append(&self, events: &[NewEvent], expected: &HashMap<ActionId, Seq>) -> Result<Vec<Seq>, StoreError> {
        let rows = events
            .iter()
            .map(|e| Row {
                action_id: e.action_id,
                client_id: e.client_id,
                actor: e.actor,
                device_time: to_micros(e.device_time),
                server_time: to_micros(e.server_time),
                body: rows::body_json(&e.body),
            })
            .collect();
        let (reply, answer) = oneshot::channel();
        self.send(Job::Append { rows, expected: expected.clone(), reply })?;
        answer.await.map_err(|_| gone())?
    }

    pub async fn find_recorded(&self, ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Find { ids: ids.to_vec(), reply })?;
        answer.await.map_err(|_| gone())?
    }

    /// Writes an audit entry, durably, on this thread's connection. Through the other
    /// writing connection it waited for SQLite's write lock between the log's commits, on
    /// SQLite's backing-off retries: under load the missing list a grid member reads (one
    /// entry per page with phone numbers) took 50–140 ms at p99 instead of ~20.
    pub async fn audit(&self, row: NewAuditEntry) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Audit { row, reply })?;
        answer.await.map_err(|_| gone())?
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs.send(job).map_err(|_| gone())
    }
}

/// How the log thread waits for another connection's write (a sign-in, a roster change):
/// retry every quarter of a millisecond, for up to 10 s. SQLite's own handler
/// (`busy_timeout`) backs off 1, 2, 5, 10, 15, 20, 25 … 100 ms between tries, and every
/// scan of the batch waits with it.
fn wait_briefly(tries: i32) -> bool {
    const TRIES: i32 = 40_000;
    std::thread::sleep(Duration::from_micros(250));
    tries < TRIES
}

fn gone() -> StoreError {
    StoreError::Corrupt("the log's writing thread stopped".into())
}

fn serve(mut db: Connection, queue: mpsc::Receiver<Job>) {
    // A full statement cache would prepare again; these are the only statements run here.
    db.set_prepared_statement_cache_capacity(8);
    for job in queue {
        match job {
            Job::Append { rows, expected, reply } => {
                let _ = reply.send(append(&mut db, &rows, &expected));
            }
            Job::Find { ids, reply } => {
                let _ = reply.send(find(&db, &ids));
            }
            Job::Audit { row, reply } => {
                let sql = "INSERT INTO audit_log (at, staff_id, what, detail) VALUES (?1, ?2, ?3, ?4)";
                let written =
                    db.prepare_cached(sql).and_then(|mut s| s.execute((row.at, row.staff_id, &row.what, &row.detail)));
                let _ = reply.send(written.map(|_| ()).map_err(StoreError::from));
            }
        }
    }
}

/// One transaction: reserve each action's positions on its counter row (refusing if the
/// log moved on since `expected`, i.e. another process writes the file), insert the rows,
/// commit. Dropping the transaction on an error rolls it back: nothing is written.
fn append(db: &mut Connection, rows: &[Row], expected: &HashMap<ActionId, Seq>) -> Result<Vec<Seq>, StoreError> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut next = crate::store::counts_by_action(rows.iter().map(|r| r.action_id));
    {
        let mut reserve =
            tx.prepare_cached("UPDATE actions SET last_seq = last_seq + ?1 WHERE id = ?2 RETURNING last_seq")?;
        for (action, n) in next.iter_mut() {
            let last: Seq = reserve.query_row((*n, *action), |r| r.get(0))?;
            if last - *n != expected.get(action).copied().unwrap_or(0) {
                return Err(StoreError::Behind(*action));
            }
            *n = last - *n + 1;
        }
    }
    let seqs = crate::store::assign_seqs(rows.iter().map(|r| r.action_id), &mut next);
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (action_id, seq, client_id, actor_id, device_time, server_time, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (r, seq) in rows.iter().zip(&seqs) {
            insert
                .execute((
                    r.action_id,
                    seq,
                    r.client_id.as_bytes().as_slice(),
                    r.actor,
                    r.device_time,
                    r.server_time,
                    &r.body,
                ))
                .map_err(duplicate_or)?;
        }
    }
    tx.commit()?;
    Ok(seqs)
}

fn find(db: &Connection, ids: &[Uuid]) -> Result<Vec<Recorded>, StoreError> {
    let mut look =
        db.prepare_cached("SELECT action_id, seq, device_time, server_time, body FROM events WHERE client_id = ?1")?;
    let mut found = Vec::new();
    for id in ids {
        let mut rows = look.query([id.as_bytes().as_slice()])?;
        if let Some(row) = rows.next()? {
            let body: String = row.get(4)?;
            found.push(Recorded::from_row(*id, row.get(0)?, row.get(1)?, (row.get(2)?, row.get(3)?), &body)?);
        }
    }
    Ok(found)
}

/// A unique violation (the client id, or a position another process took): a conflict the
/// writer resolves by looking again, as with sqlx's errors in `store::duplicate_or`.
fn duplicate_or(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    match e.sqlite_error().map(|f| f.extended_code) {
        Some(SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY) => StoreError::Conflict,
        _ => StoreError::Sqlite(e),
    }
}
