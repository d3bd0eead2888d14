//! The sender's and the pulls' tables: outbox delivery state, `sync_state` values, and the
//! platform's bookings and sessions linked to local rows.

use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use super::WriteTx;
use super::journal::JournalRow;
use crate::error::Result;

/// An outbox row with the journal record it reports, ready to go on the wire.
#[derive(Debug, Clone, FromRow)]
pub struct PendingEvent {
    pub outbox_seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: String,
    pub payload: String,
    #[sqlx(flatten)]
    pub record: JournalRow,
}

/// The oldest `limit` pending events, in sequence order.
pub async fn pending(pool: &SqlitePool, limit: i64) -> Result<Vec<PendingEvent>> {
    Ok(sqlx::query_as(
        "SELECT o.seq AS outbox_seq, o.event_id, o.event_type, o.occurred_at, o.payload, \
                j.seq, j.recorded_at, j.recorded_at_ms, j.actor, j.actor_role, j.kind, j.subject, j.outcome, \
                j.detail, j.prev_hash, j.hash \
         FROM outbox o JOIN journal j ON j.seq = o.journal_seq \
         WHERE o.state = 'pending' ORDER BY o.seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub async fn mark_sent(w: &mut WriteTx<'_>, seqs: &[i64], at_ms: i64) -> Result<()> {
    for chunk in seqs.chunks(2000) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE outbox SET state = 'sent', sent_at_ms = ");
        q.push_bind(at_ms).push(", attempts = attempts + 1 WHERE state = 'pending' AND seq IN (");
        let mut list = q.separated(", ");
        for s in chunk {
            list.push_bind(*s);
        }
        q.push(")");
        q.build().execute(&mut *w.tx).await?;
    }
    Ok(())
}

/// Sets an event aside after the receiver refused it as invalid; the rest carry on past it.
pub async fn park(w: &mut WriteTx<'_>, seq: i64, code: &str, reason: &str, at: &str) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'parked', reject_code = $1, last_error = $2, parked_at = $3, \
         attempts = attempts + 1 WHERE seq = $4",
    )
    .bind(code)
    .bind(reason)
    .bind(at)
    .bind(seq)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// Puts a parked event back in line. False when it was not parked.
pub async fn unpark(w: &mut WriteTx<'_>, seq: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE outbox SET state = 'pending' WHERE seq = $1 AND state = 'parked'")
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many events wait, and when the oldest of them happened (UTC ms).
pub async fn backlog(pool: &SqlitePool) -> Result<(i64, Option<i64>)> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), MIN(j.recorded_at_ms) FROM outbox o JOIN journal j ON j.seq = o.journal_seq \
         WHERE o.state = 'pending'",
    )
    .fetch_one(pool)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct ParkedRow {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: String,
    pub subject: String,
    pub reject_code: Option<String>,
    pub last_error: Option<String>,
    pub parked_at: Option<String>,
    pub attempts: i64,
}

pub async fn parked(pool: &SqlitePool, limit: i64) -> Result<(Vec<ParkedRow>, i64)> {
    let rows = sqlx::query_as(
        "SELECT o.seq, o.event_id, o.event_type, o.occurred_at, j.subject, o.reject_code, o.last_error, \
                o.parked_at, o.attempts \
         FROM outbox o JOIN journal j ON j.seq = o.journal_seq WHERE o.state = 'parked' \
         ORDER BY o.seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE state = 'parked'").fetch_one(pool).await?;
    Ok((rows, n))
}

pub async fn state_get(pool: &SqlitePool, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT value FROM sync_state WHERE key = $1").bind(key).fetch_optional(pool).await?;
    Ok(row.map(|r| r.0))
}

pub async fn state_set(w: &mut WriteTx<'_>, key: &str, value: &str, at: &str) -> Result<()> {
    // Portable upsert: delete then insert inside the caller's transaction.
    sqlx::query("DELETE FROM sync_state WHERE key = $1").bind(key).execute(&mut *w.tx).await?;
    sqlx::query("INSERT INTO sync_state (key, value, updated_at) VALUES ($1, $2, $3)")
        .bind(key)
        .bind(value)
        .bind(at)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

// ---- the platform's bookings and sessions ------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct PlatformBookingRow {
    pub platform_booking_id: String,
    pub booking_id: Option<i64>,
    pub state: String,
    pub reason: Option<String>,
    pub received_at: String,
}

pub async fn platform_booking(pool: &SqlitePool, id: &str) -> Result<Option<PlatformBookingRow>> {
    Ok(sqlx::query_as(
        "SELECT platform_booking_id, booking_id, state, reason, received_at FROM platform_bookings \
         WHERE platform_booking_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub async fn platform_bookings(pool: &SqlitePool, limit: i64) -> Result<Vec<PlatformBookingRow>> {
    Ok(sqlx::query_as(
        "SELECT platform_booking_id, booking_id, state, reason, received_at FROM platform_bookings \
         ORDER BY received_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub async fn put_platform_booking(w: &mut WriteTx<'_>, r: &PlatformBookingRow) -> Result<()> {
    sqlx::query("DELETE FROM platform_bookings WHERE platform_booking_id = $1")
        .bind(&r.platform_booking_id)
        .execute(&mut *w.tx)
        .await?;
    sqlx::query(
        "INSERT INTO platform_bookings (platform_booking_id, booking_id, state, reason, received_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&r.platform_booking_id)
    .bind(r.booking_id)
    .bind(&r.state)
    .bind(&r.reason)
    .bind(&r.received_at)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct PlatformSessionRow {
    pub session_id: String,
    pub booking_id: Option<i64>,
    pub session_date: String,
    pub has_roster: bool,
    pub roster_state: String,
    pub reason: Option<String>,
    pub updated_at: String,
}

pub async fn platform_sessions_on(pool: &SqlitePool, date: &str) -> Result<Vec<PlatformSessionRow>> {
    Ok(sqlx::query_as(
        "SELECT session_id, booking_id, session_date, has_roster, roster_state, reason, updated_at \
         FROM platform_sessions WHERE session_date = $1 ORDER BY session_id",
    )
    .bind(date)
    .fetch_all(pool)
    .await?)
}

pub async fn put_platform_session(w: &mut WriteTx<'_>, r: &PlatformSessionRow) -> Result<()> {
    sqlx::query("DELETE FROM platform_sessions WHERE session_id = $1")
        .bind(&r.session_id)
        .execute(&mut *w.tx)
        .await?;
    sqlx::query(
        "INSERT INTO platform_sessions (session_id, booking_id, session_date, has_roster, roster_state, \
         reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.session_id)
    .bind(r.booking_id)
    .bind(&r.session_date)
    .bind(r.has_roster)
    .bind(&r.roster_state)
    .bind(&r.reason)
    .bind(&r.updated_at)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}
