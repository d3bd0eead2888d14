//! Rosters, check-ins, lockers and door events.

use sqlx::{FromRow, SqlitePool};

use super::WriteTx;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct RosterEntryRow {
    pub id: i64,
    pub booking_id: i64,
    pub id_tag: String,
    pub id_masked: String,
    pub sealed: Option<Vec<u8>>,
    pub is_chair: bool,
    pub substitute: bool,
    pub substitute_reason: Option<String>,
    pub source: String,
    pub added_by: String,
    pub added_at_ms: i64,
    pub purged_at_ms: Option<i64>,
}

const ENTRY_COLUMNS: &str = "id, booking_id, id_tag, id_masked, sealed, is_chair, substitute, substitute_reason, \
     source, added_by, added_at_ms, purged_at_ms";

pub struct NewRosterEntry<'a> {
    pub booking_id: i64,
    pub id_tag: &'a str,
    pub id_masked: &'a str,
    pub sealed: &'a [u8],
    pub is_chair: bool,
    pub substitute: bool,
    pub substitute_reason: Option<&'a str>,
    pub source: &'a str,
    pub added_by: &'a str,
    pub added_at_ms: i64,
}

/// Sealed values are bound to their row by the caller-chosen context, which must not depend on
/// the row id (unknown until insert): the session and the ID tag serve.
pub async fn insert_roster_entry(w: &mut WriteTx<'_>, e: &NewRosterEntry<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO roster_entries (booking_id, id_tag, id_masked, sealed, is_chair, substitute, substitute_reason, \
         source, added_by, added_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(e.booking_id)
    .bind(e.id_tag)
    .bind(e.id_masked)
    .bind(e.sealed)
    .bind(e.is_chair)
    .bind(e.substitute)
    .bind(e.substitute_reason)
    .bind(e.source)
    .bind(e.added_by)
    .bind(e.added_at_ms)
    .fetch_one(&mut *w.tx)
    .await?;
    Ok(id)
}

pub async fn roster_tags_of_booking_in(w: &mut WriteTx<'_>, booking_id: i64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id_tag FROM roster_entries WHERE booking_id = $1")
        .bind(booking_id)
        .fetch_all(&mut *w.tx)
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn roster_entries_by_tag(pool: &SqlitePool, id_tag: &str) -> Result<Vec<RosterEntryRow>> {
    Ok(sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM roster_entries WHERE id_tag = $1 ORDER BY id"))
        .bind(id_tag)
        .fetch_all(pool)
        .await?)
}

pub async fn roster_entries_of_booking(pool: &SqlitePool, booking_id: i64) -> Result<Vec<RosterEntryRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM roster_entries WHERE booking_id = $1 ORDER BY substitute, id"
    ))
    .bind(booking_id)
    .fetch_all(pool)
    .await?)
}

pub async fn roster_entry(pool: &SqlitePool, id: i64) -> Result<Option<RosterEntryRow>> {
    Ok(sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM roster_entries WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Sessions with a roster among `booking_ids`.
pub async fn bookings_with_rosters(pool: &SqlitePool, from_ms: i64, to_ms: i64) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT r.booking_id FROM roster_entries r JOIN bookings b ON b.id = r.booking_id \
         WHERE b.end_ms > $1 AND b.start_ms < $2 ORDER BY r.booking_id",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Erases the sealed personal data of sessions that ended before `ended_before_ms`, except for
/// experts still checked in. Returns the sessions purged.
pub async fn purge_rosters(w: &mut WriteTx<'_>, ended_before_ms: i64, now_ms: i64) -> Result<Vec<i64>> {
    let sessions: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT r.booking_id FROM roster_entries r JOIN bookings b ON b.id = r.booking_id \
         WHERE r.sealed IS NOT NULL AND b.end_ms < $1 \
         AND NOT EXISTS (SELECT 1 FROM check_ins c WHERE c.booking_id = r.booking_id AND c.status <> 'checked_out')",
    )
    .bind(ended_before_ms)
    .fetch_all(&mut *w.tx)
    .await?;
    for (booking_id,) in &sessions {
        sqlx::query("UPDATE roster_entries SET sealed = NULL, purged_at_ms = $1 WHERE booking_id = $2 AND sealed IS NOT NULL")
            .bind(now_ms)
            .bind(booking_id)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("UPDATE check_ins SET card_no_sealed = NULL WHERE booking_id = $1")
            .bind(booking_id)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(sessions.into_iter().map(|s| s.0).collect())
}

#[derive(Debug, Clone, FromRow)]
pub struct CheckInRow {
    pub id: i64,
    pub entry_id: i64,
    pub booking_id: i64,
    pub employee_no: String,
    pub card_no_sealed: Option<Vec<u8>>,
    pub card_no_masked: Option<String>,
    pub bank_id: String,
    pub locker_no: i64,
    pub checked_in_at_ms: i64,
    pub checked_in_by: String,
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    pub status: String,
    pub late: bool,
    pub checked_out_at_ms: Option<i64>,
    pub checked_out_by: Option<String>,
    pub last_movement_at_ms: Option<i64>,
}

const CHECK_IN_COLUMNS: &str = "id, entry_id, booking_id, employee_no, card_no_sealed, card_no_masked, bank_id, \
     locker_no, checked_in_at_ms, checked_in_by, valid_from_ms, valid_until_ms, status, late, checked_out_at_ms, \
     checked_out_by, last_movement_at_ms";

pub async fn insert_check_in(w: &mut WriteTx<'_>, c: &CheckInRow) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO check_ins (entry_id, booking_id, employee_no, card_no_sealed, card_no_masked, bank_id, locker_no, \
         checked_in_at_ms, checked_in_by, valid_from_ms, valid_until_ms, status, late) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(c.entry_id)
    .bind(c.booking_id)
    .bind(&c.employee_no)
    .bind(&c.card_no_sealed)
    .bind(&c.card_no_masked)
    .bind(&c.bank_id)
    .bind(c.locker_no)
    .bind(c.checked_in_at_ms)
    .bind(&c.checked_in_by)
    .bind(c.valid_from_ms)
    .bind(c.valid_until_ms)
    .bind(&c.status)
    .bind(c.late)
    .fetch_one(&mut *w.tx)
    .await?;
    Ok(id)
}

pub async fn check_in(pool: &SqlitePool, id: i64) -> Result<Option<CheckInRow>> {
    Ok(sqlx::query_as(&format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

pub async fn check_in_of_entry(pool: &SqlitePool, entry_id: i64) -> Result<Option<CheckInRow>> {
    Ok(sqlx::query_as(&format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE entry_id = $1"))
        .bind(entry_id)
        .fetch_optional(pool)
        .await?)
}

pub async fn check_in_of_employee_in(w: &mut WriteTx<'_>, employee_no: &str) -> Result<Option<CheckInRow>> {
    Ok(sqlx::query_as(&format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE employee_no = $1"))
        .bind(employee_no)
        .fetch_optional(&mut *w.tx)
        .await?)
}

/// Everyone not checked out: the credentials that should exist on the controllers.
pub async fn active_check_ins(pool: &SqlitePool) -> Result<Vec<CheckInRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE status <> 'checked_out' ORDER BY checked_in_at_ms"
    ))
    .fetch_all(pool)
    .await?)
}

pub async fn check_ins_of_booking(pool: &SqlitePool, booking_id: i64) -> Result<Vec<CheckInRow>> {
    Ok(sqlx::query_as(&format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE booking_id = $1"))
        .bind(booking_id)
        .fetch_all(pool)
        .await?)
}

/// Moves a check-in from `from` to `to`; false when it was not in `from` (someone else moved it).
pub async fn set_check_in_status(
    w: &mut WriteTx<'_>,
    id: i64,
    from: &[&str],
    to: &str,
    movement_at_ms: Option<i64>,
) -> Result<bool> {
    let mut done = false;
    for f in from {
        let r = sqlx::query(
            "UPDATE check_ins SET status = $1, last_movement_at_ms = COALESCE($2, last_movement_at_ms) \
             WHERE id = $3 AND status = $4",
        )
        .bind(to)
        .bind(movement_at_ms)
        .bind(id)
        .bind(f)
        .execute(&mut *w.tx)
        .await?;
        done |= r.rows_affected() == 1;
    }
    Ok(done)
}

pub async fn record_movement(w: &mut WriteTx<'_>, id: i64, at_ms: i64) -> Result<()> {
    sqlx::query("UPDATE check_ins SET last_movement_at_ms = $1 WHERE id = $2")
        .bind(at_ms)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    Ok(())
}

pub async fn check_out(w: &mut WriteTx<'_>, id: i64, at_ms: i64, by: &str) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE check_ins SET status = 'checked_out', checked_out_at_ms = $1, checked_out_by = $2 \
         WHERE id = $3 AND status <> 'checked_out'",
    )
    .bind(at_ms)
    .bind(by)
    .bind(id)
    .execute(&mut *w.tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct LockerRow {
    pub bank_id: String,
    pub locker_no: i64,
    pub status: String,
    pub entry_id: Option<i64>,
    pub fault_reason: Option<String>,
    /// The masked ID number of whoever the locker is assigned to.
    pub occupant_masked: Option<String>,
}

const LOCKER_SELECT: &str = "SELECT l.bank_id, l.locker_no, l.status, l.entry_id, l.fault_reason, r.id_masked AS occupant_masked \
     FROM lockers l LEFT JOIN roster_entries r ON r.id = l.entry_id";

/// Creates the rows of a bank's lockers that do not exist yet (a bank may grow in the venue file).
pub async fn ensure_lockers(w: &mut WriteTx<'_>, bank_id: &str, channels: u32, now_ms: i64) -> Result<()> {
    for no in 1..=i64::from(channels) {
        sqlx::query(
            "INSERT INTO lockers (bank_id, locker_no, status, updated_at_ms) SELECT $1, $2, 'free', $3 \
             WHERE NOT EXISTS (SELECT 1 FROM lockers WHERE bank_id = $4 AND locker_no = $5)",
        )
        .bind(bank_id)
        .bind(no)
        .bind(now_ms)
        .bind(bank_id)
        .bind(no)
        .execute(&mut *w.tx)
        .await?;
    }
    Ok(())
}

pub async fn lockers(pool: &SqlitePool, bank_id: &str) -> Result<Vec<LockerRow>> {
    Ok(sqlx::query_as(&format!("{LOCKER_SELECT} WHERE l.bank_id = $1 ORDER BY l.locker_no"))
        .bind(bank_id)
        .fetch_all(pool)
        .await?)
}

pub async fn locker(pool: &SqlitePool, bank_id: &str, locker_no: i64) -> Result<Option<LockerRow>> {
    Ok(sqlx::query_as(&format!("{LOCKER_SELECT} WHERE l.bank_id = $1 AND l.locker_no = $2"))
        .bind(bank_id)
        .bind(locker_no)
        .fetch_optional(pool)
        .await?)
}

pub async fn locker_of_entry(pool: &SqlitePool, entry_id: i64) -> Result<Option<LockerRow>> {
    Ok(sqlx::query_as(&format!(
        "{LOCKER_SELECT} WHERE l.entry_id = $1 ORDER BY l.updated_at_ms DESC LIMIT 1"
    ))
    .bind(entry_id)
    .fetch_optional(pool)
    .await?)
}

pub async fn first_free_locker_in(w: &mut WriteTx<'_>, bank_id: &str) -> Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT locker_no FROM lockers WHERE bank_id = $1 AND status = 'free' ORDER BY locker_no LIMIT 1",
    )
    .bind(bank_id)
    .fetch_optional(&mut *w.tx)
    .await?;
    Ok(row.map(|r| r.0))
}

pub async fn set_locker(
    w: &mut WriteTx<'_>,
    bank_id: &str,
    locker_no: i64,
    status: &str,
    entry_id: Option<i64>,
    fault_reason: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE lockers SET status = $1, entry_id = $2, fault_reason = $3, updated_at_ms = $4 \
         WHERE bank_id = $5 AND locker_no = $6",
    )
    .bind(status)
    .bind(entry_id)
    .bind(fault_reason)
    .bind(now_ms)
    .bind(bank_id)
    .bind(locker_no)
    .execute(&mut *w.tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct DoorEventRow {
    pub device_id: String,
    pub serial_no: i64,
    pub at_ms: i64,
    pub major: i64,
    pub minor: i64,
    pub employee_no: Option<String>,
    pub card_no: Option<String>,
    pub door_no: Option<i64>,
    pub card_reader_no: Option<i64>,
}

/// Stores an event unless the controller's serial number was seen before; true when new.
pub async fn insert_door_event(w: &mut WriteTx<'_>, e: &DoorEventRow) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO door_events (device_id, serial_no, at_ms, major, minor, employee_no, card_no, door_no, card_reader_no) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
         WHERE NOT EXISTS (SELECT 1 FROM door_events WHERE device_id = $10 AND serial_no = $11)",
    )
    .bind(&e.device_id)
    .bind(e.serial_no)
    .bind(e.at_ms)
    .bind(e.major)
    .bind(e.minor)
    .bind(&e.employee_no)
    .bind(&e.card_no)
    .bind(e.door_no)
    .bind(e.card_reader_no)
    .bind(&e.device_id)
    .bind(e.serial_no)
    .execute(&mut *w.tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Where catch-up resumes after a restart.
pub async fn last_door_event_at(pool: &SqlitePool, device_id: &str) -> Result<Option<i64>> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT MAX(at_ms) FROM door_events WHERE device_id = $1")
            .bind(device_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|r| r.0))
}
