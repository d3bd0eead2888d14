//! Alarms.

use sqlx::{FromRow, SqlitePool};

use super::WriteTx;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct AlarmRow {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub source: String,
    pub room_id: Option<String>,
    pub raised_at_ms: i64,
    pub active: bool,
    pub state: String,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at_ms: Option<i64>,
    pub note: Option<String>,
    pub cleared_at_ms: Option<i64>,
    pub detail: String,
}

const COLUMNS: &str = "id, kind, severity, source, room_id, raised_at_ms, active, state, acknowledged_by, \
     acknowledged_at_ms, note, cleared_at_ms, detail";

/// The alarm of this kind from this source that is not cleared yet, if any.
pub async fn open_alarm_in(w: &mut WriteTx<'_>, kind: &str, source: &str) -> Result<Option<AlarmRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE kind = $1 AND source = $2 AND state <> 'cleared' ORDER BY id DESC LIMIT 1"
    ))
    .bind(kind)
    .bind(source)
    .fetch_optional(&mut *w.tx)
    .await?)
}

pub async fn alarm_in(w: &mut WriteTx<'_>, id: i64) -> Result<Option<AlarmRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM alarms WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?)
}

pub async fn alarm(pool: &SqlitePool, id: i64) -> Result<Option<AlarmRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM alarms WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub struct NewAlarm<'a> {
    pub kind: &'a str,
    pub severity: &'a str,
    pub source: &'a str,
    pub room_id: Option<&'a str>,
    pub raised_at_ms: i64,
    pub detail: &'a str,
}

pub async fn insert_alarm(w: &mut WriteTx<'_>, a: &NewAlarm<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO alarms (kind, severity, source, room_id, raised_at_ms, active, state, detail) \
         VALUES ($1, $2, $3, $4, $5, 1, 'raised', $6) RETURNING id",
    )
    .bind(a.kind)
    .bind(a.severity)
    .bind(a.source)
    .bind(a.room_id)
    .bind(a.raised_at_ms)
    .bind(a.detail)
    .fetch_one(&mut *w.tx)
    .await?;
    Ok(id)
}

pub async fn set_active(w: &mut WriteTx<'_>, id: i64, active: bool) -> Result<()> {
    sqlx::query("UPDATE alarms SET active = $1 WHERE id = $2")
        .bind(active)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

/// raised -> acknowledged; false when it was not raised (answered by someone else meanwhile).
pub async fn acknowledge(w: &mut WriteTx<'_>, id: i64, by: &str, at_ms: i64, note: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE alarms SET state = 'acknowledged', acknowledged_by = $1, acknowledged_at_ms = $2, note = $3 \
         WHERE id = $4 AND state = 'raised'",
    )
    .bind(by)
    .bind(at_ms)
    .bind(note)
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn clear(w: &mut WriteTx<'_>, id: i64, at_ms: i64) -> Result<()> {
    sqlx::query("UPDATE alarms SET state = 'cleared', active = 0, cleared_at_ms = $1 WHERE id = $2 AND state <> 'cleared'")
        .bind(at_ms)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

pub async fn alarms(pool: &SqlitePool, open_only: bool, limit: i64) -> Result<Vec<AlarmRow>> {
    let filter = if open_only { "WHERE state <> 'cleared'" } else { "" };
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM alarms {filter} ORDER BY id DESC LIMIT $1"))
        .bind(limit)
        .fetch_all(pool)
        .await?)
}
