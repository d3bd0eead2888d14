//! Rooms, trading projects and bookings.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use super::WriteTx;
use crate::domain::booking::MAX_OCCUPIED_MS;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct RoomRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kind_name: Option<String>,
    pub zone: String,
    pub capacity: i64,
    pub floor: Option<String>,
    pub notes: String,
    pub active: bool,
    /// JSON list of device ids.
    pub devices: String,
    pub in_venue_file: bool,
    pub version: i64,
}

const ROOM_COLUMNS: &str =
    "id, name, kind, kind_name, zone, capacity, floor, notes, active, devices, in_venue_file, version";

pub async fn rooms(pool: &SqlitePool) -> Result<Vec<RoomRow>> {
    Ok(sqlx::query_as(&format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY id")).fetch_all(pool).await?)
}

pub async fn room_in(w: &mut WriteTx<'_>, id: &str) -> Result<Option<RoomRow>> {
    Ok(sqlx::query_as(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?)
}

/// A room the venue file has and the database does not: inserted as the file describes it.
pub async fn insert_room(w: &mut WriteTx<'_>, r: &RoomRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO rooms (id, name, kind, kind_name, zone, capacity, floor, notes, active, devices, in_venue_file, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12)",
    )
    .bind(&r.id)
    .bind(&r.name)
    .bind(&r.kind)
    .bind(&r.kind_name)
    .bind(&r.zone)
    .bind(r.capacity)
    .bind(&r.floor)
    .bind(&r.notes)
    .bind(r.active)
    .bind(&r.devices)
    .bind(r.in_venue_file)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// The attributes the venue file owns: kind, zone and linked devices.
pub async fn update_room_structure(w: &mut WriteTx<'_>, r: &RoomRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE rooms SET kind = $1, kind_name = $2, zone = $3, devices = $4, in_venue_file = $5, \
         version = version + 1, updated_at = $6 WHERE id = $7",
    )
    .bind(&r.kind)
    .bind(&r.kind_name)
    .bind(&r.zone)
    .bind(&r.devices)
    .bind(r.in_venue_file)
    .bind(now)
    .bind(&r.id)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

/// A room the venue file no longer lists: kept for its history, never bookable again.
pub async fn retire_room(w: &mut WriteTx<'_>, id: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE rooms SET in_venue_file = 0, active = 0, version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

/// The attributes the venue manager owns. Returns false when `version` is stale.
pub async fn update_room_details(w: &mut WriteTx<'_>, r: &RoomRow, now: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE rooms SET name = $1, capacity = $2, floor = $3, notes = $4, active = $5, version = version + 1, \
         updated_at = $6 WHERE id = $7 AND version = $8",
    )
    .bind(&r.name)
    .bind(r.capacity)
    .bind(&r.floor)
    .bind(&r.notes)
    .bind(r.active)
    .bind(now)
    .bind(&r.id)
    .bind(r.version)
    .execute(&mut *w.tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub id: i64,
    pub tender_project_code: String,
    pub code_unusual: bool,
    pub name: String,
    pub category: String,
    pub tenderer_name: String,
    pub tenderer_credit_code: String,
    pub agency_name: Option<String>,
    pub agency_credit_code: Option<String>,
    pub responsible_staff: String,
    pub version: i64,
    /// Comma-free list: the section codes joined by U+001F, split by the service.
    pub sections: Option<String>,
}

const PROJECT_SELECT: &str = "SELECT p.id, p.tender_project_code, p.code_unusual, p.name, p.category, p.tenderer_name, \
     p.tenderer_credit_code, p.agency_name, p.agency_credit_code, p.responsible_staff, p.version, \
     (SELECT GROUP_CONCAT(bid_section_code, char(31)) FROM project_sections s WHERE s.project_id = p.id) AS sections \
     FROM projects p";

pub async fn projects(pool: &SqlitePool, search: Option<&str>, limit: i64) -> Result<Vec<ProjectRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(PROJECT_SELECT);
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        let like = format!("%{}%", s.replace('%', "").replace('_', ""));
        q.push(" WHERE p.tender_project_code LIKE ")
            .push_bind(like.clone())
            .push(" OR p.name LIKE ")
            .push_bind(like.clone())
            .push(" OR p.tenderer_name LIKE ")
            .push_bind(like);
    }
    q.push(" ORDER BY p.id DESC LIMIT ").push_bind(limit);
    Ok(q.build_query_as().fetch_all(pool).await?)
}

pub async fn project_in(w: &mut WriteTx<'_>, id: i64) -> Result<Option<ProjectRow>> {
    Ok(sqlx::query_as(&format!("{PROJECT_SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?)
}

pub async fn project_id_by_code_in(w: &mut WriteTx<'_>, code: &str) -> Result<Option<i64>> {
    let r: Option<(i64,)> = sqlx::query_as("SELECT id FROM projects WHERE tender_project_code = $1")
        .bind(code)
        .fetch_optional(&mut *w.tx)
        .await?;
    Ok(r.map(|r| r.0))
}

pub async fn insert_project(
    w: &mut WriteTx<'_>,
    p: &ProjectRow,
    sections: &[String],
    now: DateTime<Utc>,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO projects (tender_project_code, code_unusual, name, category, tenderer_name, tenderer_credit_code, \
         agency_name, agency_credit_code, responsible_staff, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&p.tender_project_code)
    .bind(p.code_unusual)
    .bind(&p.name)
    .bind(&p.category)
    .bind(&p.tenderer_name)
    .bind(&p.tenderer_credit_code)
    .bind(&p.agency_name)
    .bind(&p.agency_credit_code)
    .bind(&p.responsible_staff)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *w.tx)
    .await?;
    replace_project_sections(w, id, sections).await?;
    Ok(id)
}

/// Returns false when `version` is stale.
pub async fn update_project(
    w: &mut WriteTx<'_>,
    p: &ProjectRow,
    sections: &[String],
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE projects SET name = $1, category = $2, tenderer_name = $3, tenderer_credit_code = $4, agency_name = $5, \
         agency_credit_code = $6, responsible_staff = $7, version = version + 1, updated_at = $8 \
         WHERE id = $9 AND version = $10",
    )
    .bind(&p.name)
    .bind(&p.category)
    .bind(&p.tenderer_name)
    .bind(&p.tenderer_credit_code)
    .bind(&p.agency_name)
    .bind(&p.agency_credit_code)
    .bind(&p.responsible_staff)
    .bind(now)
    .bind(p.id)
    .bind(p.version)
    .execute(&mut *w.tx)
    .await?;
    if done.rows_affected() == 1 {
        replace_project_sections(w, p.id, sections).await?;
    }
    Ok(done.rows_affected() == 1)
}

async fn replace_project_sections(w: &mut WriteTx<'_>, project_id: i64, sections: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM project_sections WHERE project_id = $1")
        .bind(project_id)
        .execute(&mut *w.tx)
        .await?;
    for s in sections {
        sqlx::query("INSERT INTO project_sections (project_id, bid_section_code) VALUES ($1, $2)")
            .bind(project_id)
            .bind(s)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct BookingRow {
    pub id: i64,
    pub room_id: String,
    pub project_id: i64,
    pub purpose: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub setup_min: i64,
    pub cleanup_min: i64,
    pub occupied_start_ms: i64,
    pub occupied_end_ms: i64,
    pub expected_participants: i64,
    pub expected_experts: i64,
    pub overnight: bool,
    pub state: String,
    pub series_id: Option<String>,
    pub notes: String,
    pub version: i64,
    pub created_by: String,
    /// Joined by U+001F.
    pub sections: Option<String>,
    pub tender_project_code: String,
    pub project_name: String,
    pub category: String,
}

const BOOKING_SELECT: &str = "SELECT b.id, b.room_id, b.project_id, b.purpose, b.start_ms, b.end_ms, b.setup_min, \
     b.cleanup_min, b.occupied_start_ms, b.occupied_end_ms, b.expected_participants, b.expected_experts, b.overnight, \
     b.state, b.series_id, b.notes, b.version, b.created_by, \
     (SELECT GROUP_CONCAT(bid_section_code, char(31)) FROM booking_sections s WHERE s.booking_id = b.id) AS sections, \
     p.tender_project_code, p.name AS project_name, p.category \
     FROM bookings b JOIN projects p ON p.id = b.project_id";

/// Bookings that hold `room_id` somewhere in `[from_ms, to_ms)` (buffers included), except
/// `except_id`. This is the conflict check: no booking holds a room longer than
/// `MAX_OCCUPIED_MS`, so the scan of the (room, occupied start) index starts that far back
/// instead of at the beginning of the room's history.
pub async fn holding_room_in(
    w: &mut WriteTx<'_>,
    room_id: &str,
    from_ms: i64,
    to_ms: i64,
    except_id: Option<i64>,
) -> Result<Vec<BookingRow>> {
    Ok(sqlx::query_as(&format!(
        "{BOOKING_SELECT} WHERE b.room_id = $1 AND b.occupied_start_ms > $2 AND b.occupied_start_ms < $3 \
         AND b.occupied_end_ms > $4 AND b.state <> 'cancelled' AND b.id <> $5 ORDER BY b.occupied_start_ms"
    ))
    .bind(room_id)
    .bind(from_ms - MAX_OCCUPIED_MS)
    .bind(to_ms)
    .bind(from_ms)
    .bind(except_id.unwrap_or(-1))
    .fetch_all(&mut *w.tx)
    .await?)
}

/// The occupied spans of `room_id` that end after `from_ms`, in order, at most `limit` (for
/// "next free"; the caller pages on from the last one).
pub async fn occupied_after_in(
    w: &mut WriteTx<'_>,
    room_id: &str,
    from_ms: i64,
    except_id: Option<i64>,
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT occupied_start_ms, occupied_end_ms FROM bookings WHERE room_id = $1 AND occupied_start_ms > $2 \
         AND occupied_end_ms > $3 AND state <> 'cancelled' AND id <> $4 ORDER BY occupied_start_ms LIMIT $5",
    )
    .bind(room_id)
    .bind(from_ms - MAX_OCCUPIED_MS)
    .bind(from_ms)
    .bind(except_id.unwrap_or(-1))
    .bind(limit)
    .fetch_all(&mut *w.tx)
    .await?)
}

pub async fn booking_in(w: &mut WriteTx<'_>, id: i64) -> Result<Option<BookingRow>> {
    Ok(sqlx::query_as(&format!("{BOOKING_SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?)
}

pub async fn booking(pool: &SqlitePool, id: i64) -> Result<Option<BookingRow>> {
    Ok(sqlx::query_as(&format!("{BOOKING_SELECT} WHERE b.id = $1")).bind(id).fetch_optional(pool).await?)
}

#[derive(Debug, Default, Clone)]
pub struct BookingQuery {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub room_id: Option<String>,
    pub project_code: Option<String>,
    pub state: Option<String>,
    pub purposes: Vec<String>,
    pub limit: i64,
}

/// Bookings whose time (without buffers) meets `[from, to)`, by start.
pub async fn bookings(pool: &SqlitePool, f: &BookingQuery) -> Result<Vec<BookingRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(BOOKING_SELECT);
    q.push(" WHERE 1 = 1");
    if let Some(v) = f.from_ms {
        q.push(" AND b.end_ms > ").push_bind(v);
    }
    if let Some(v) = f.to_ms {
        q.push(" AND b.start_ms < ").push_bind(v);
    }
    if let Some(v) = &f.room_id {
        q.push(" AND b.room_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.project_code {
        q.push(" AND p.tender_project_code LIKE ").push_bind(format!("%{}%", v.replace('%', "")));
    }
    if let Some(v) = &f.state {
        q.push(" AND b.state = ").push_bind(v.clone());
    }
    if !f.purposes.is_empty() {
        q.push(" AND b.purpose IN (");
        let mut sep = q.separated(", ");
        for p in &f.purposes {
            sep.push_bind(p.clone());
        }
        q.push(")");
    }
    q.push(" ORDER BY b.start_ms, b.room_id LIMIT ").push_bind(f.limit);
    Ok(q.build_query_as().fetch_all(pool).await?)
}

pub struct NewBooking<'a> {
    pub room_id: &'a str,
    pub project_id: i64,
    pub purpose: &'a str,
    pub start_ms: i64,
    pub end_ms: i64,
    pub setup_min: i64,
    pub cleanup_min: i64,
    pub occupied: (i64, i64),
    pub expected_participants: i64,
    pub expected_experts: i64,
    pub overnight: bool,
    pub state: &'a str,
    pub series_id: Option<&'a str>,
    pub notes: &'a str,
    pub created_by: &'a str,
    pub sections: &'a [String],
}

pub async fn insert_booking(w: &mut WriteTx<'_>, b: &NewBooking<'_>, now: DateTime<Utc>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO bookings (room_id, project_id, purpose, start_ms, end_ms, setup_min, cleanup_min, occupied_start_ms, \
         occupied_end_ms, expected_participants, expected_experts, overnight, state, series_id, notes, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         RETURNING id",
    )
    .bind(b.room_id)
    .bind(b.project_id)
    .bind(b.purpose)
    .bind(b.start_ms)
    .bind(b.end_ms)
    .bind(b.setup_min)
    .bind(b.cleanup_min)
    .bind(b.occupied.0)
    .bind(b.occupied.1)
    .bind(b.expected_participants)
    .bind(b.expected_experts)
    .bind(b.overnight)
    .bind(b.state)
    .bind(b.series_id)
    .bind(b.notes)
    .bind(b.created_by)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *w.tx)
    .await?;
    for s in b.sections {
        sqlx::query("INSERT INTO booking_sections (booking_id, bid_section_code) VALUES ($1, $2)")
            .bind(id)
            .bind(s)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(id)
}

/// Moves or resizes a booking, or gives it another room. Returns false when `version` is stale.
pub async fn update_booking_slot(
    w: &mut WriteTx<'_>,
    id: i64,
    version: i64,
    room_id: &str,
    start_ms: i64,
    end_ms: i64,
    occupied: (i64, i64),
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE bookings SET room_id = $1, start_ms = $2, end_ms = $3, occupied_start_ms = $4, occupied_end_ms = $5, \
         version = version + 1, updated_at = $6 WHERE id = $7 AND version = $8",
    )
    .bind(room_id)
    .bind(start_ms)
    .bind(end_ms)
    .bind(occupied.0)
    .bind(occupied.1)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *w.tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns false when `version` is stale.
pub async fn update_booking_state(
    w: &mut WriteTx<'_>,
    id: i64,
    version: i64,
    state: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query("UPDATE bookings SET state = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
        .bind(state)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct ChangeRow {
    pub id: i64,
    pub booking_id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub change: String,
    pub reason: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub struct NewChange<'a> {
    pub booking_id: i64,
    pub at_ms: i64,
    pub actor: &'a str,
    pub change: &'a str,
    pub reason: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub async fn insert_change(w: &mut WriteTx<'_>, c: &NewChange<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO booking_changes (booking_id, at_ms, actor, change, reason, before, after) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.booking_id)
    .bind(c.at_ms)
    .bind(c.actor)
    .bind(c.change)
    .bind(c.reason)
    .bind(&c.before)
    .bind(&c.after)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

pub async fn changes(pool: &SqlitePool, booking_id: i64) -> Result<Vec<ChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, booking_id, at_ms, actor, change, reason, before, after FROM booking_changes \
         WHERE booking_id = $1 ORDER BY id",
    )
    .bind(booking_id)
    .fetch_all(pool)
    .await?)
}
