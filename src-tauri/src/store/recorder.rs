//! The recorder's reads: which sessions want their rooms recorded now, the last segment of a
//! camera (where a crash left its chain), and what retention may free, oldest first; and the
//! supervisors' manual overrides, kept across restarts.

use sqlx::SqlitePool;

use crate::error::Result;
use crate::store::Store;
use crate::store::recordings::{BookingSpan, SEGMENT_COLUMNS, SPAN_SELECT, SegmentRow};

/// Sessions that want their room recorded at `now_ms`: confirmed, under way or completed ones whose
/// scheduled span widened by the pre- and post-roll holds `now_ms`, and every session still under way
/// (one running late records until it is closed).
pub async fn sessions_to_record(
    pool: &SqlitePool,
    now_ms: i64,
    pre_roll_ms: i64,
    post_roll_ms: i64,
) -> Result<Vec<BookingSpan>> {
    Ok(sqlx::query_as(&format!(
        "{SPAN_SELECT} WHERE (b.state = 'in_progress' AND b.start_ms - $2 <= $1) \
            OR (b.state IN ('confirmed', 'completed') AND b.start_ms - $2 <= $1 AND b.end_ms + $3 > $1) \
         ORDER BY b.start_ms"
    ))
    .bind(now_ms)
    .bind(pre_roll_ms)
    .bind(post_roll_ms)
    .fetch_all(pool)
    .await?)
}

/// The camera's last indexed segment.
pub async fn last_segment(pool: &SqlitePool, camera_id: &str) -> Result<Option<SegmentRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM recording_segments WHERE camera_id = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(camera_id)
    .fetch_optional(pool)
    .await?)
}

/// Up to `limit` of the camera's segments whose files are still on disk and that ended before
/// `ended_before_ms`, oldest first.
pub async fn oldest_on_disk(
    pool: &SqlitePool,
    camera_id: &str,
    ended_before_ms: i64,
    limit: i64,
) -> Result<Vec<SegmentRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM recording_segments \
         WHERE camera_id = $1 AND purged_at_ms IS NULL AND end_ms < $2 ORDER BY start_ms LIMIT $3"
    ))
    .bind(camera_id)
    .bind(ended_before_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Bytes of recordings still on disk, per camera.
pub async fn bytes_on_disk(pool: &SqlitePool) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT camera_id, COALESCE(SUM(bytes), 0) FROM recording_segments WHERE purged_at_ms IS NULL \
         GROUP BY camera_id ORDER BY camera_id",
    )
    .fetch_all(pool)
    .await?)
}

/// The supervisors' overrides in force: (camera id, override as JSON).
pub async fn overrides(pool: &SqlitePool) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT camera_id, override FROM recording_overrides ORDER BY camera_id")
        .fetch_all(pool)
        .await?)
}

/// Replaces the stored overrides with `overrides` (camera id, JSON), in one transaction.
pub async fn save_overrides(store: &Store, overrides: &[(String, String)]) -> Result<()> {
    let mut w = store.begin_write().await?;
    sqlx::query("DELETE FROM recording_overrides").execute(&mut *w.tx).await?;
    for (camera_id, json) in overrides {
        sqlx::query("INSERT INTO recording_overrides (camera_id, override) VALUES ($1, $2)")
            .bind(camera_id)
            .bind(json)
            .execute(&mut *w.tx)
            .await?;
    }
    w.commit().await
}
