//! 不良交易行为 / 异常情况 and bookmarks: rows as `crate::media::incidents` writes and reads them.

use sqlx::{FromRow, SqlitePool};

use super::WriteTx;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub category: String,
    pub description: String,
    pub room_id: String,
    pub booking_id: Option<i64>,
    pub tender_project_code: Option<String>,
    pub at_ms: i64,
    /// JSON array.
    pub people: String,
    pub hold_id: i64,
    pub recorded_by: String,
    pub recorded_at: String,
    pub recorded_at_ms: i64,
    /// Joined: the incident's bookmark, and whether its hold is still in force.
    pub bookmark_id: Option<i64>,
    pub hold_active: bool,
}

const INCIDENT_SELECT: &str = "SELECT i.id, i.category, i.description, i.room_id, i.booking_id, i.tender_project_code, \
     i.at_ms, i.people, i.hold_id, i.recorded_by, i.recorded_at, i.recorded_at_ms, \
     (SELECT MIN(k.id) FROM bookmarks k WHERE k.incident_id = i.id) AS bookmark_id, \
     (h.released_at_ms IS NULL) AS hold_active \
     FROM incidents i JOIN legal_holds h ON h.id = i.hold_id";

pub struct NewIncident<'a> {
    pub category: &'a str,
    pub description: &'a str,
    pub room_id: &'a str,
    pub booking_id: Option<i64>,
    pub tender_project_code: Option<&'a str>,
    pub at_ms: i64,
    pub people: &'a str,
    pub hold_id: i64,
    pub recorded_by: &'a str,
    pub recorded_at: &'a str,
    pub recorded_at_ms: i64,
}

pub async fn insert_incident(w: &mut WriteTx<'_>, i: &NewIncident<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO incidents (category, description, room_id, booking_id, tender_project_code, at_ms, people, \
         hold_id, recorded_by, recorded_at, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING id",
    )
    .bind(i.category)
    .bind(i.description)
    .bind(i.room_id)
    .bind(i.booking_id)
    .bind(i.tender_project_code)
    .bind(i.at_ms)
    .bind(i.people)
    .bind(i.hold_id)
    .bind(i.recorded_by)
    .bind(i.recorded_at)
    .bind(i.recorded_at_ms)
    .fetch_one(&mut *w.tx)
    .await?)
}

pub async fn incident(pool: &SqlitePool, id: i64) -> Result<Option<IncidentRow>> {
    Ok(sqlx::query_as(&format!("{INCIDENT_SELECT} WHERE i.id = $1")).bind(id).fetch_optional(pool).await?)
}

/// Incidents in `[from_ms, to_ms)`, optionally of one room and one category, newest first.
pub async fn incidents(
    pool: &SqlitePool,
    from_ms: i64,
    to_ms: i64,
    room_id: Option<&str>,
    category: Option<&str>,
    limit: i64,
) -> Result<Vec<IncidentRow>> {
    Ok(sqlx::query_as(&format!(
        "{INCIDENT_SELECT} WHERE i.at_ms >= $1 AND i.at_ms < $2 AND ($3 IS NULL OR i.room_id = $3) \
         AND ($4 IS NULL OR i.category = $4) ORDER BY i.at_ms DESC, i.id DESC LIMIT $5"
    ))
    .bind(from_ms)
    .bind(to_ms)
    .bind(room_id)
    .bind(category)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Whether an indexed segment (file still on disk) of a camera of the room covers `at_ms`.
pub async fn recorded_at(pool: &SqlitePool, room_id: &str, at_ms: i64) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM recording_segments WHERE room_id = $1 AND start_ms <= $2 AND end_ms > $2 \
         AND purged_at_ms IS NULL",
    )
    .bind(room_id)
    .bind(at_ms)
    .fetch_one(pool)
    .await?
        > 0)
}

#[derive(Debug, Clone, FromRow)]
pub struct BookmarkRow {
    pub id: i64,
    pub room_id: Option<String>,
    pub camera_id: Option<String>,
    pub at_ms: i64,
    pub note: String,
    pub incident_id: Option<i64>,
    pub created_by: String,
    pub created_at: String,
}

const BOOKMARK_COLUMNS: &str = "id, room_id, camera_id, at_ms, note, incident_id, created_by, created_at";

pub struct NewBookmark<'a> {
    pub room_id: Option<&'a str>,
    pub camera_id: Option<&'a str>,
    pub at_ms: i64,
    pub note: &'a str,
    pub incident_id: Option<i64>,
    pub created_by: &'a str,
    pub created_at: &'a str,
    pub created_at_ms: i64,
}

pub async fn insert_bookmark(w: &mut WriteTx<'_>, b: &NewBookmark<'_>) -> Result<BookmarkRow> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO bookmarks (room_id, camera_id, at_ms, note, incident_id, created_by, created_at, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {BOOKMARK_COLUMNS}"
    ))
    .bind(b.room_id)
    .bind(b.camera_id)
    .bind(b.at_ms)
    .bind(b.note)
    .bind(b.incident_id)
    .bind(b.created_by)
    .bind(b.created_at)
    .bind(b.created_at_ms)
    .fetch_one(&mut *w.tx)
    .await?)
}

/// The room's bookmarks in `[from_ms, to_ms)`, oldest first.
pub async fn bookmarks(
    pool: &SqlitePool,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<BookmarkRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {BOOKMARK_COLUMNS} FROM bookmarks WHERE room_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms, id"
    ))
    .bind(room_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(pool)
    .await?)
}
