//! A long event log written straight into a SQLite file, for the start-up (rebuild)
//! benchmark: 10 million scans through the API would take longer than the figure is
//! worth. Rows match `migrations/sqlite/0001_init.sql`'s `events` table; bodies are the
//! library's own `EventBody` serialised, so the server reads them as it reads its own.
//! The action's `last_seq` counter is set to the last position, as an append would.

use anyhow::Context;
use muster::action::EventBody;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use std::time::Instant;
use uuid::Uuid;

/// Rows per multi-row INSERT (7 bound values each, under SQLite's 32,766).
const ROWS: usize = 4_000;
/// Rows per transaction.
const TRANSACTION: usize = 500_000;

/// Appends `action_opened` then `events - 1` scans, spread over three hours before now,
/// over residents in roster order (wrapping round: later rounds are re-samples), at
/// points round robin. Returns the seconds it took.
pub async fn write(
    path: &str,
    action: i64,
    events: u64,
    resident_ids: &[i64],
    points: &[i64],
    actor: i64,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
    let mut db = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open {path} to write the log"))?;
    let now_us = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64;
    let span_us: i64 = 3 * 3600 * 1_000_000;
    let first_us = now_us - span_us;
    let body_of = |seq: u64| -> String {
        let body = if seq == 1 {
            EventBody::ActionOpened
        } else {
            let k = (seq - 2) as usize;
            EventBody::ResidentSampled {
                resident_id: resident_ids[k % resident_ids.len()],
                point_id: points[k % points.len()],
                at_home: k.is_multiple_of(50),
                tube: None,
            }
        };
        serde_json::to_string(&body).expect("event bodies serialise")
    };
    let mut seq: u64 = 1;
    while seq <= events {
        let mut tx = db.begin().await?;
        let end = (seq + TRANSACTION as u64 - 1).min(events);
        while seq <= end {
            let last = (seq + ROWS as u64 - 1).min(end);
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (action_id, seq, client_id, actor_id, device_time, server_time, body) ",
            );
            q.push_values(seq..=last, |mut b, s| {
                let at = first_us + (s as i64 * span_us / events as i64);
                b.push_bind(action)
                    .push_bind(s as i64)
                    .push_bind(Uuid::now_v7().as_bytes().to_vec())
                    .push_bind(actor)
                    .push_bind(at)
                    .push_bind(at)
                    .push_bind(body_of(s));
            });
            q.build().execute(&mut *tx).await?;
            seq = last + 1;
        }
        sqlx::query("UPDATE actions SET last_seq = ? WHERE id = ?")
            .bind(end as i64)
            .bind(action)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        eprintln!("  log: {end} of {events} events written");
    }
    db.close().await?;
    Ok(started.elapsed().as_secs_f64())
}
