//! 录音录像 — the segment index with its hash chain, gaps in recording, legal holds, and the reads
//! the export needs (a project's sessions, its journal excerpt). Rows arrive already hashed and
//! chained by `crate::media`; this module only stores and reads them.

use sqlx::{FromRow, SqlitePool};

use super::WriteTx;
use crate::domain::booking::MAX_OCCUPIED_MS;
use crate::error::Result;
use crate::store::journal::JournalRow;

// ---- segments ---------------------------------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct SegmentRow {
    pub id: i64,
    pub camera_id: String,
    pub room_id: Option<String>,
    /// Relative to the recordings directory, '/'-separated.
    pub path: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub bytes: i64,
    pub sha256: String,
    pub prev_chain: String,
    pub chain: String,
    pub indexed_at: String,
    pub recovered: bool,
    pub purged_at_ms: Option<i64>,
}

pub(crate) const SEGMENT_COLUMNS: &str = "id, camera_id, room_id, path, start_ms, end_ms, bytes, sha256, prev_chain, chain, \
     indexed_at, recovered, purged_at_ms";

pub struct NewSegment<'a> {
    pub camera_id: &'a str,
    pub room_id: Option<&'a str>,
    pub path: &'a str,
    pub start_ms: i64,
    pub end_ms: i64,
    pub bytes: i64,
    pub sha256: &'a str,
    pub prev_chain: &'a str,
    pub chain: &'a str,
    pub indexed_at: &'a str,
    pub recovered: bool,
}

pub async fn insert_segment(w: &mut WriteTx<'_>, s: &NewSegment<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO recording_segments (camera_id, room_id, path, start_ms, end_ms, bytes, sha256, prev_chain, \
         chain, indexed_at, recovered) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(s.camera_id)
    .bind(s.room_id)
    .bind(s.path)
    .bind(s.start_ms)
    .bind(s.end_ms)
    .bind(s.bytes)
    .bind(s.sha256)
    .bind(s.prev_chain)
    .bind(s.chain)
    .bind(s.indexed_at)
    .bind(s.recovered)
    .fetch_one(&mut *w.tx)
    .await?;
    Ok(id)
}

/// The chain hash of the camera's newest segment: where its next segment links on. Segments of a
/// camera are indexed one after another, each linking to the one before, so the newest row is the
/// head of the chain.
pub async fn last_chain_in(w: &mut WriteTx<'_>, camera_id: &str) -> Result<Option<String>> {
    let r: Option<(String,)> =
        sqlx::query_as("SELECT chain FROM recording_segments WHERE camera_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(camera_id)
            .fetch_optional(&mut *w.tx)
            .await?;
    Ok(r.map(|r| r.0))
}

pub async fn last_chain(pool: &SqlitePool, camera_id: &str) -> Result<Option<String>> {
    let r: Option<(String,)> =
        sqlx::query_as("SELECT chain FROM recording_segments WHERE camera_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(camera_id)
            .fetch_optional(pool)
            .await?;
    Ok(r.map(|r| r.0))
}

pub async fn segment(pool: &SqlitePool, id: i64) -> Result<Option<SegmentRow>> {
    Ok(sqlx::query_as(&format!("SELECT {SEGMENT_COLUMNS} FROM recording_segments WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// The segment indexed from this file (relative path), if any: recovery after a crash asks which
/// files on disk are not indexed yet.
pub async fn segment_by_path(pool: &SqlitePool, path: &str) -> Result<Option<SegmentRow>> {
    Ok(sqlx::query_as(&format!("SELECT {SEGMENT_COLUMNS} FROM recording_segments WHERE path = $1"))
        .bind(path)
        .fetch_optional(pool)
        .await?)
}

/// Segments of the room that meet `[from_ms, to_ms)`, per camera in chain order.
pub async fn segments_in_room(
    pool: &SqlitePool,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SegmentRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM recording_segments WHERE room_id = $1 AND start_ms < $2 AND end_ms > $3 \
         ORDER BY camera_id, id"
    ))
    .bind(room_id)
    .bind(to_ms)
    .bind(from_ms)
    .fetch_all(pool)
    .await?)
}

/// Segments of one camera that meet `[from_ms, to_ms)`, in chain order.
pub async fn segments_of_camera(
    pool: &SqlitePool,
    camera_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SegmentRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM recording_segments WHERE camera_id = $1 AND start_ms < $2 AND end_ms > $3 \
         ORDER BY id"
    ))
    .bind(camera_id)
    .bind(to_ms)
    .bind(from_ms)
    .fetch_all(pool)
    .await?)
}

/// Records that retention removed the segment's file (once; the row stays). False when it was
/// already marked.
pub async fn mark_purged(w: &mut WriteTx<'_>, id: i64, at_ms: i64) -> Result<bool> {
    let r =
        sqlx::query("UPDATE recording_segments SET purged_at_ms = $1 WHERE id = $2 AND purged_at_ms IS NULL")
            .bind(at_ms)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// The camera's segment indexed just before `id` (for telling whether an export's segment follows
/// on from the one before it in the export).
pub async fn previous_segment_id(pool: &SqlitePool, camera_id: &str, id: i64) -> Result<Option<i64>> {
    let r: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM recording_segments WHERE camera_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(camera_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(r.map(|r| r.0))
}

// ---- gaps -------------------------------------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct GapRow {
    pub id: i64,
    pub camera_id: String,
    pub room_id: Option<String>,
    pub from_ms: i64,
    pub to_ms: Option<i64>,
    pub reason: String,
}

const GAP_COLUMNS: &str = "id, camera_id, room_id, from_ms, to_ms, reason";

pub async fn open_gap_in(w: &mut WriteTx<'_>, camera_id: &str) -> Result<Option<GapRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {GAP_COLUMNS} FROM recording_gaps WHERE camera_id = $1 AND to_ms IS NULL"
    ))
    .bind(camera_id)
    .fetch_optional(&mut *w.tx)
    .await?)
}

pub struct NewGap<'a> {
    pub camera_id: &'a str,
    pub room_id: Option<&'a str>,
    pub from_ms: i64,
    /// `None` while the camera is still silent.
    pub to_ms: Option<i64>,
    pub reason: &'a str,
}

pub async fn insert_gap(w: &mut WriteTx<'_>, g: &NewGap<'_>) -> Result<GapRow> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO recording_gaps (camera_id, room_id, from_ms, to_ms, reason) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {GAP_COLUMNS}"
    ))
    .bind(g.camera_id)
    .bind(g.room_id)
    .bind(g.from_ms)
    .bind(g.to_ms)
    .bind(g.reason)
    .fetch_one(&mut *w.tx)
    .await?)
}

/// Closes an open gap; `None` when it was not open (closed meanwhile).
pub async fn close_gap(w: &mut WriteTx<'_>, id: i64, to_ms: i64) -> Result<Option<GapRow>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE recording_gaps SET to_ms = $1 WHERE id = $2 AND to_ms IS NULL RETURNING {GAP_COLUMNS}"
    ))
    .bind(to_ms)
    .bind(id)
    .fetch_optional(&mut *w.tx)
    .await?)
}

/// Gaps of the room that meet `[from_ms, to_ms)` (an open gap lasts until now), by camera and time.
pub async fn gaps_in_room(pool: &SqlitePool, room_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<GapRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {GAP_COLUMNS} FROM recording_gaps WHERE room_id = $1 AND from_ms < $2 \
         AND (to_ms IS NULL OR to_ms > $3) ORDER BY camera_id, from_ms"
    ))
    .bind(room_id)
    .bind(to_ms)
    .bind(from_ms)
    .fetch_all(pool)
    .await?)
}

pub async fn open_gaps(pool: &SqlitePool) -> Result<Vec<GapRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {GAP_COLUMNS} FROM recording_gaps WHERE to_ms IS NULL ORDER BY camera_id"
    ))
    .fetch_all(pool)
    .await?)
}

// ---- legal holds ------------------------------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct HoldRow {
    pub id: i64,
    /// project | booking | range
    pub scope: String,
    pub project_code: Option<String>,
    pub booking_id: Option<i64>,
    pub room_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
    pub created_at_ms: i64,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub released_at_ms: Option<i64>,
    pub release_reason: Option<String>,
}

const HOLD_COLUMNS: &str = "id, scope, project_code, booking_id, room_id, from_ms, to_ms, reason, created_by, \
     created_at, created_at_ms, released_by, released_at, released_at_ms, release_reason";

pub struct NewHold<'a> {
    pub scope: &'a str,
    pub project_code: Option<&'a str>,
    pub booking_id: Option<i64>,
    pub room_id: Option<&'a str>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub reason: &'a str,
    pub created_by: &'a str,
    pub created_at: &'a str,
    pub created_at_ms: i64,
}

pub async fn insert_hold(w: &mut WriteTx<'_>, h: &NewHold<'_>) -> Result<HoldRow> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO legal_holds (scope, project_code, booking_id, room_id, from_ms, to_ms, reason, created_by, \
         created_at, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {HOLD_COLUMNS}"
    ))
    .bind(h.scope)
    .bind(h.project_code)
    .bind(h.booking_id)
    .bind(h.room_id)
    .bind(h.from_ms)
    .bind(h.to_ms)
    .bind(h.reason)
    .bind(h.created_by)
    .bind(h.created_at)
    .bind(h.created_at_ms)
    .fetch_one(&mut *w.tx)
    .await?)
}

pub async fn hold_in(w: &mut WriteTx<'_>, id: i64) -> Result<Option<HoldRow>> {
    Ok(sqlx::query_as(&format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?)
}

/// Releases an active hold; `None` when it was already released.
pub async fn release_hold(
    w: &mut WriteTx<'_>,
    id: i64,
    by: &str,
    at: &str,
    at_ms: i64,
    reason: &str,
) -> Result<Option<HoldRow>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE legal_holds SET released_by = $1, released_at = $2, released_at_ms = $3, release_reason = $4 \
         WHERE id = $5 AND released_at_ms IS NULL RETURNING {HOLD_COLUMNS}"
    ))
    .bind(by)
    .bind(at)
    .bind(at_ms)
    .bind(reason)
    .bind(id)
    .fetch_optional(&mut *w.tx)
    .await?)
}

/// Holds, newest first; only those not released when `active_only`.
pub async fn holds(pool: &SqlitePool, active_only: bool) -> Result<Vec<HoldRow>> {
    let filter = if active_only { "WHERE released_at_ms IS NULL" } else { "" };
    Ok(sqlx::query_as(&format!("SELECT {HOLD_COLUMNS} FROM legal_holds {filter} ORDER BY id DESC"))
        .fetch_all(pool)
        .await?)
}

// ---- what the holds and the export read of projects and bookings -----------------------------

#[derive(Debug, Clone, FromRow)]
pub struct ProjectBrief {
    pub id: i64,
    pub tender_project_code: String,
    pub name: String,
    /// Joined by U+001F.
    pub sections: Option<String>,
}

pub async fn project_by_code(pool: &SqlitePool, code: &str) -> Result<Option<ProjectBrief>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.tender_project_code, p.name, \
         (SELECT GROUP_CONCAT(bid_section_code, char(31)) FROM project_sections s WHERE s.project_id = p.id) \
         AS sections FROM projects p WHERE p.tender_project_code = $1",
    )
    .bind(code)
    .fetch_optional(pool)
    .await?)
}

/// A booking as recording sees it: its room and the span it holds the room (buffers included).
#[derive(Debug, Clone, FromRow)]
pub struct BookingSpan {
    pub id: i64,
    pub room_id: String,
    pub purpose: String,
    pub state: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub occupied_start_ms: i64,
    pub occupied_end_ms: i64,
    pub tender_project_code: String,
    /// Joined by U+001F.
    pub sections: Option<String>,
}

pub(crate) const SPAN_SELECT: &str = "SELECT b.id, b.room_id, b.purpose, b.state, b.start_ms, b.end_ms, b.occupied_start_ms, \
     b.occupied_end_ms, p.tender_project_code, \
     (SELECT GROUP_CONCAT(bid_section_code, char(31)) FROM booking_sections s WHERE s.booking_id = b.id) AS sections \
     FROM bookings b JOIN projects p ON p.id = b.project_id";

/// The project's bookings that took place or will (confirmed, under way, completed), by start.
pub async fn project_bookings(pool: &SqlitePool, project_id: i64) -> Result<Vec<BookingSpan>> {
    Ok(sqlx::query_as(&format!(
        "{SPAN_SELECT} WHERE b.project_id = $1 AND b.state IN ('confirmed', 'in_progress', 'completed') \
         ORDER BY b.start_ms, b.room_id"
    ))
    .bind(project_id)
    .fetch_all(pool)
    .await?)
}

pub async fn booking_span(pool: &SqlitePool, id: i64) -> Result<Option<BookingSpan>> {
    Ok(sqlx::query_as(&format!("{SPAN_SELECT} WHERE b.id = $1")).bind(id).fetch_optional(pool).await?)
}

/// Bookings (confirmed, under way or completed) holding `room_id` somewhere in `[from_ms, to_ms)`,
/// by start. The scan of the (room, occupied start) index is bounded by `MAX_OCCUPIED_MS`.
pub async fn bookings_holding_room_in(
    w: &mut WriteTx<'_>,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<BookingSpan>> {
    holding_room(&mut *w.tx, room_id, from_ms, to_ms).await
}

/// The same, outside a write transaction.
pub async fn bookings_holding_room(
    pool: &SqlitePool,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<BookingSpan>> {
    holding_room(pool, room_id, from_ms, to_ms).await
}

async fn holding_room<'e>(
    ex: impl sqlx::SqliteExecutor<'e>,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<BookingSpan>> {
    Ok(sqlx::query_as(&format!(
        "{SPAN_SELECT} WHERE b.room_id = $1 AND b.occupied_start_ms > $2 AND b.occupied_start_ms < $3 \
         AND b.occupied_end_ms > $4 AND b.state IN ('confirmed', 'in_progress', 'completed') \
         ORDER BY b.occupied_start_ms"
    ))
    .bind(room_id)
    .bind(from_ms - MAX_OCCUPIED_MS)
    .bind(to_ms)
    .bind(from_ms)
    .fetch_all(ex)
    .await?)
}

/// Journal records whose detail contains `text` (a candidate list: the caller checks for an exact
/// value), in sequence order.
pub async fn journal_mentioning(pool: &SqlitePool, text: &str) -> Result<Vec<JournalRow>> {
    let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    Ok(sqlx::query_as(
        "SELECT seq, recorded_at, recorded_at_ms, actor, actor_role, kind, subject, outcome, detail, prev_hash, hash \
         FROM journal WHERE detail LIKE $1 ESCAPE '\\' ORDER BY seq",
    )
    .bind(pattern)
    .fetch_all(pool)
    .await?)
}

// ---- what playback reads ----------------------------------------------------------------------

/// A session as the playback timeline shows it: the booking, its hold on the room and its project.
#[derive(Debug, Clone, FromRow)]
pub struct PlaybackSessionRow {
    pub id: i64,
    pub room_id: String,
    pub purpose: String,
    pub state: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub occupied_start_ms: i64,
    pub occupied_end_ms: i64,
    pub tender_project_code: String,
    pub project_name: String,
    /// Joined by U+001F.
    pub sections: Option<String>,
}

const PLAYBACK_SESSION_SELECT: &str = "SELECT b.id, b.room_id, b.purpose, b.state, b.start_ms, b.end_ms, \
     b.occupied_start_ms, b.occupied_end_ms, p.tender_project_code, p.name AS project_name, \
     (SELECT GROUP_CONCAT(bid_section_code, char(31)) FROM booking_sections s WHERE s.booking_id = b.id) AS sections \
     FROM bookings b JOIN projects p ON p.id = b.project_id";

pub async fn playback_session(pool: &SqlitePool, booking_id: i64) -> Result<Option<PlaybackSessionRow>> {
    Ok(sqlx::query_as(&format!("{PLAYBACK_SESSION_SELECT} WHERE b.id = $1"))
        .bind(booking_id)
        .fetch_optional(pool)
        .await?)
}

/// Sessions (confirmed, under way or completed) holding the room somewhere in `[from_ms, to_ms)`,
/// by start; the index scan is bounded by `MAX_OCCUPIED_MS` as in `bookings_holding_room`.
pub async fn playback_sessions_in_room(
    pool: &SqlitePool,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<PlaybackSessionRow>> {
    Ok(sqlx::query_as(&format!(
        "{PLAYBACK_SESSION_SELECT} WHERE b.room_id = $1 AND b.occupied_start_ms > $2 AND b.occupied_start_ms < $3 \
         AND b.occupied_end_ms > $4 AND b.state IN ('confirmed', 'in_progress', 'completed') \
         ORDER BY b.occupied_start_ms"
    ))
    .bind(room_id)
    .bind(from_ms - MAX_OCCUPIED_MS)
    .bind(to_ms)
    .bind(from_ms)
    .fetch_all(pool)
    .await?)
}
