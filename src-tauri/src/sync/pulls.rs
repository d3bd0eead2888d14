//! 数据拉取 — what the venue takes from the service system: booking requests made on the platform
//! (for the venue manager's approval), the day's sessions matched to local bookings, and on a
//! session's day its expert roster (imported sealed, like a file, and purged by the same policy).
//!
//! Every item is applied idempotently and the cursor moves only after its page is applied, so a
//! crash or a full disk mid-pull repeats work but never skips or doubles it.

use std::sync::Arc;

use chrono::{DateTime, Days, FixedOffset, NaiveDate};
use serde::Serialize;

use super::client::{Credentials, Link, LinkError};
use super::wire::{BookingPage, PlatformAction, PlatformBooking, PlatformSession, RosterReply, SessionList};
use crate::Services;
use crate::bookings::views::{BookingFilter, BookingInput, BookingView, ProjectInput};
use crate::checkin::views::{RosterExpertInput, RosterFormat};
use crate::clock::venue_time;
use crate::domain::booking::{BookingState, Purpose};
use crate::domain::project::TradingCategory;
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Actor, Entry, EventKind, Outcome};
use crate::store::sync::{self as rows, PlatformBookingRow, PlatformSessionRow};

const STATE_BOOKINGS_CURSOR: &str = "pull.bookings.cursor";
pub const STATE_LAST_PULL: &str = "pull.last_success";
const PAGE: u32 = 100;

#[derive(Debug, Clone, Default, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    pub booking_requests: u32,
    pub booking_cancellations: u32,
    pub refused: u32,
    pub sessions: u32,
    pub rosters_imported: u32,
    /// One line per item that could not be applied (also journaled and reported upward).
    pub problems: Vec<String>,
}

/// Pulls everything due now: new booking requests, today's and tomorrow's sessions, today's rosters.
pub async fn pull_all(s: &Services) -> Result<PullReport> {
    let creds = s.uplink.credentials()?.ok_or_else(|| {
        Error::precondition(
            "尚未设置综合服务系统的应用标识和密钥，请在“数据同步”页面填写。",
            "No service-system app key and secret are set; enter them on the Sync screen.",
        )
    })?;
    let link = s.uplink.link()?;
    let mut report = PullReport::default();
    pull_bookings(s, &link, &creds, &mut report).await?;
    let today = venue_time(s.clock.now(), s.config.time_zone).date_naive();
    for day in [today, today + Days::new(1)] {
        pull_sessions(s, &link, &creds, day, &mut report).await?;
    }
    pull_rosters(s, &link, &creds, today, &mut report).await?;
    let at = venue_time(s.clock.now(), s.config.time_zone).to_rfc3339();
    let mut w = s.store.begin_write().await?;
    rows::state_set(&mut w, STATE_LAST_PULL, &at, &at).await?;
    w.commit().await?;
    Ok(report)
}

async fn get<T: serde::de::DeserializeOwned + Send + 'static>(
    s: &Services,
    link: &Arc<Link>,
    creds: &Credentials,
    path: String,
) -> Result<T> {
    let (link, creds) = (link.clone(), creds.clone());
    let now_s = s.clock.now().timestamp();
    let got = tokio::task::spawn_blocking(move || link.get::<T>(&creds, now_s, &path)).await.map_err(Error::internal)?;
    got.map_err(|e| {
        // The same key and secret serve the sender: a refusal here stops it too, and the sync
        // screen shows it whichever found it first.
        if matches!(e, LinkError::Refused { .. }) {
            s.uplink.take_failure(e.clone());
        }
        link_error(e)
    })
}

fn link_error(e: LinkError) -> Error {
    let kind = match e {
        LinkError::Refused { .. } => ErrorKind::PermissionDenied,
        _ => ErrorKind::Unavailable,
    };
    Error::new(kind, format!("综合服务系统：{e}"), format!("Service system: {e}"))
}

async fn pull_bookings(s: &Services, link: &Arc<Link>, creds: &Credentials, report: &mut PullReport) -> Result<()> {
    let code = &s.config.code;
    loop {
        let cursor = rows::state_get(s.store.pool(), STATE_BOOKINGS_CURSOR).await?.unwrap_or_default();
        let path = format!("/api/v1/venues/{code}/bookings?since={}&limit={PAGE}", encode_query(&cursor));
        let page: BookingPage = get(s, link, creds, path).await?;
        for item in &page.items {
            apply_booking(s, item, report).await?;
        }
        let at = venue_time(s.clock.now(), s.config.time_zone).to_rfc3339();
        let mut w = s.store.begin_write().await?;
        rows::state_set(&mut w, STATE_BOOKINGS_CURSOR, &page.next, &at).await?;
        w.commit().await?;
        if !page.more || page.items.is_empty() {
            return Ok(());
        }
    }
}

/// Percent-encodes a cursor for a query string (cursors are opaque and may hold anything).
fn encode_query(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn apply_booking(s: &Services, item: &PlatformBooking, report: &mut PullReport) -> Result<()> {
    let known = rows::platform_booking(s.store.pool(), &item.platform_booking_id).await?;
    match item.action {
        PlatformAction::Request => {
            if known.is_some() {
                return Ok(());
            }
            match place_request(s, item).await {
                Ok(_) => report.booking_requests += 1,
                Err(e) if is_refusal(&e) => {
                    report.refused += 1;
                    refuse_booking(s, item, &e, report).await?;
                }
                Err(e) => return Err(e),
            }
        }
        PlatformAction::Cancel => {
            let Some(known) = known else {
                // Cancelled before we ever saw it: remember, so a late request is not placed.
                return remember_booking(s, &item.platform_booking_id, None, "cancelled", None).await;
            };
            if known.state == "cancelled" {
                return Ok(());
            }
            if let Some(id) = known.booking_id
                && let Some(b) = booking_view(s, id).await?
                && b.state.can_become(BookingState::Cancelled)
            {
                s.bookings
                    .set_state_as(Actor::platform(), id, b.version, BookingState::Cancelled, "综合服务系统撤销了该场地申请")
                    .await?;
            }
            report.booking_cancellations += 1;
            remember_booking(s, &item.platform_booking_id, known.booking_id, "cancelled", known.reason).await?;
        }
    }
    Ok(())
}

/// Errors that are about the item (the venue cannot take it), not about the workstation.
fn is_refusal(e: &Error) -> bool {
    matches!(
        e.kind,
        ErrorKind::InvalidArgument | ErrorKind::Conflict | ErrorKind::NotFound | ErrorKind::AlreadyExists | ErrorKind::FailedPrecondition
    )
}

async fn place_request(s: &Services, item: &PlatformBooking) -> Result<Vec<BookingView>> {
    let project_id = ensure_project(s, item).await?;
    let purpose = Purpose::parse(&item.purpose).ok_or_else(|| {
        Error::invalid(format!("用途 “{}” 无法识别。", item.purpose), format!("Unknown purpose \"{}\".", item.purpose))
    })?;
    let input = BookingInput {
        room_id: item.room_id.clone(),
        project_id,
        bid_section_codes: item.bid_section_codes.clone(),
        purpose,
        start: local_minutes(s, &item.start, "start")?,
        end: local_minutes(s, &item.end, "end")?,
        setup_min: 0,
        cleanup_min: 0,
        expected_participants: item.expected_participants,
        expected_experts: item.expected_experts,
        overnight: false,
        days: 1,
        notes: format!("综合服务系统申请 {}{}", item.platform_booking_id, if item.notes.is_empty() { String::new() } else { format!("：{}", item.notes) }),
        confirm: false,
    };
    s.bookings.create_as(Actor::platform(), &input, Some(&item.platform_booking_id)).await
}

async fn ensure_project(s: &Services, item: &PlatformBooking) -> Result<i64> {
    let p = &item.project;
    let code = p.tender_project_code.trim();
    if let Some(found) = s.bookings.projects(Some(code)).await?.into_iter().find(|x| x.tender_project_code == code) {
        return Ok(found.id);
    }
    let category = TradingCategory::parse(&p.category).unwrap_or(TradingCategory::Other);
    let input = ProjectInput {
        id: None,
        version: None,
        tender_project_code: code.to_string(),
        name: p.name.clone(),
        category,
        bid_section_codes: item.bid_section_codes.clone(),
        tenderer_name: p.tenderer_name.clone(),
        tenderer_credit_code: p.tenderer_credit_code.clone(),
        agency_name: p.agency_name.clone(),
        agency_credit_code: p.agency_credit_code.clone(),
        responsible_staff: if p.responsible_staff.trim().is_empty() { "综合服务系统".into() } else { p.responsible_staff.clone() },
    };
    Ok(s.bookings.save_project_as(Actor::platform(), &input).await?.id)
}

/// `2026-11-24T09:00:00+08:00` → the venue's local `2026-11-24T09:00`.
fn local_minutes(s: &Services, rfc3339: &str, field: &str) -> Result<String> {
    let t: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(rfc3339.trim()).map_err(|_| {
        Error::invalid(
            format!("{field}：“{rfc3339}” 不是带时区的 RFC 3339 时间。"),
            format!("{field}: \"{rfc3339}\" is not an RFC 3339 time with an offset."),
        )
    })?;
    Ok(t.with_timezone(&s.config.time_zone).format("%Y-%m-%dT%H:%M").to_string())
}

async fn refuse_booking(s: &Services, item: &PlatformBooking, e: &Error, report: &mut PullReport) -> Result<()> {
    let reason = e.message_in(crate::error::Locale::ZhCn).to_string();
    report.problems.push(format!("booking request {}: {}", item.platform_booking_id, e.message()));
    let entry = Entry::new(Actor::platform(), EventKind::PlatformDataRefused, &item.platform_booking_id, Outcome::Denied)
        .with_detail(serde_json::json!({
            "what": "booking_request",
            "platformBookingId": item.platform_booking_id,
            "TENDER_PROJECT_CODE": item.project.tender_project_code,
            "BID_SECTION_CODE": item.bid_section_codes,
            "roomId": item.room_id,
            "code": e.code(),
            "reason": reason,
        }));
    let at = venue_time(s.clock.now(), s.config.time_zone).to_rfc3339();
    let mut w = s.store.begin_write().await?;
    let row = PlatformBookingRow {
        platform_booking_id: item.platform_booking_id.clone(),
        booking_id: None,
        state: "refused".into(),
        reason: Some(reason),
        received_at: at,
    };
    rows::put_platform_booking(&mut w, &row).await?;
    s.journal.append_in(&mut w, &[entry]).await?;
    w.commit().await
}

async fn remember_booking(s: &Services, id: &str, booking_id: Option<i64>, state: &str, reason: Option<String>) -> Result<()> {
    let at = venue_time(s.clock.now(), s.config.time_zone).to_rfc3339();
    let mut w = s.store.begin_write().await?;
    let row = PlatformBookingRow { platform_booking_id: id.to_string(), booking_id, state: state.into(), reason, received_at: at };
    rows::put_platform_booking(&mut w, &row).await?;
    w.commit().await
}

/// The booking, or `None` when it no longer exists; any other failure is the workstation's.
async fn booking_view(s: &Services, id: i64) -> Result<Option<BookingView>> {
    match s.bookings.booking(id).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

// ---- sessions and rosters ----------------------------------------------------------------------

async fn pull_sessions(s: &Services, link: &Arc<Link>, creds: &Credentials, day: NaiveDate, report: &mut PullReport) -> Result<()> {
    let date = day.format("%Y-%m-%d").to_string();
    let path = format!("/api/v1/venues/{}/sessions?date={date}", s.config.code);
    let list: SessionList = get(s, link, creds, path).await?;
    let known = rows::platform_sessions_on(s.store.pool(), &date).await?;
    for item in &list.items {
        report.sessions += 1;
        if known.iter().any(|k| k.session_id == item.session_id && k.booking_id.is_some()) {
            continue;
        }
        let (booking_id, reason) = match match_session(s, item).await {
            Ok(id) => (Some(id), None),
            Err(e) if is_refusal(&e) => {
                report.problems.push(format!("session {}: {}", item.session_id, e.message()));
                let entry = Entry::new(Actor::platform(), EventKind::PlatformDataRefused, &item.session_id, Outcome::Denied)
                    .with_detail(serde_json::json!({
                        "what": "session",
                        "sessionId": item.session_id,
                        "TENDER_PROJECT_CODE": item.tender_project_code,
                        "BID_SECTION_CODE": item.bid_section_codes,
                        "roomId": item.room_id,
                        "code": e.code(),
                        "reason": e.message_in(crate::error::Locale::ZhCn),
                    }));
                s.journal.record(entry).await?;
                (None, Some(e.message_in(crate::error::Locale::ZhCn).to_string()))
            }
            Err(e) => return Err(e),
        };
        let roster_state = if item.has_roster && booking_id.is_some() { "pending" } else { "none" };
        let at = venue_time(s.clock.now(), s.config.time_zone).to_rfc3339();
        let row = PlatformSessionRow {
            session_id: item.session_id.clone(),
            booking_id,
            session_date: date.clone(),
            has_roster: item.has_roster,
            roster_state: roster_state.into(),
            reason,
            updated_at: at,
        };
        let mut w = s.store.begin_write().await?;
        rows::put_platform_session(&mut w, &row).await?;
        w.commit().await?;
    }
    Ok(())
}

/// The local booking a platform session is held in: the booking its request became, else a
/// booking of the same project in the same room overlapping it, else a new confirmed booking.
async fn match_session(s: &Services, item: &PlatformSession) -> Result<i64> {
    if let Some(pid) = &item.platform_booking_id
        && let Some(row) = rows::platform_booking(s.store.pool(), pid).await?
        && let Some(id) = row.booking_id
    {
        return Ok(id);
    }
    let start = local_minutes(s, &item.start, "start")?;
    let end = local_minutes(s, &item.end, "end")?;
    let filter = BookingFilter {
        from_date: Some(start[..10].to_string()),
        to_date: Some(end[..10].to_string()),
        room_id: Some(item.room_id.clone()),
        project_code: Some(item.tender_project_code.clone()),
        state: None,
    };
    let found = s.bookings.list(&filter).await?.into_iter().find(|b| {
        b.state != BookingState::Cancelled && b.start < end && start < b.end
    });
    if let Some(b) = found {
        return Ok(b.id);
    }
    let code = item.tender_project_code.trim();
    let project = s.bookings.projects(Some(code)).await?.into_iter().find(|p| p.tender_project_code == code).ok_or_else(|| {
        Error::not_found(
            format!("项目 {code} 未在本场所登记，且综合服务系统未发来其场地申请，无法安排该场次。"),
            format!("Project {code} is not registered here and no booking request came for it; the session cannot be placed."),
        )
    })?;
    let purpose = Purpose::parse(&item.purpose).ok_or_else(|| {
        Error::invalid(format!("用途 “{}” 无法识别。", item.purpose), format!("Unknown purpose \"{}\".", item.purpose))
    })?;
    let input = BookingInput {
        room_id: item.room_id.clone(),
        project_id: project.id,
        bid_section_codes: item.bid_section_codes.clone(),
        purpose,
        start,
        end,
        setup_min: 0,
        cleanup_min: 0,
        expected_participants: 0,
        expected_experts: 0,
        overnight: false,
        days: 1,
        notes: format!("综合服务系统场次 {}", item.session_id),
        confirm: true,
    };
    let made = s.bookings.create_as(Actor::platform(), &input, None).await?;
    Ok(made.first().map(|b| b.id).expect("one day booked"))
}

/// Today's rosters that are due and not yet here. A roster the venue already has (imported from a
/// file) is left as it is.
async fn pull_rosters(s: &Services, link: &Arc<Link>, creds: &Credentials, today: NaiveDate, report: &mut PullReport) -> Result<()> {
    let date = today.format("%Y-%m-%d").to_string();
    for row in rows::platform_sessions_on(s.store.pool(), &date).await? {
        let Some(booking_id) = row.booking_id else { continue };
        if !row.has_roster || row.roster_state == "imported" {
            continue;
        }
        let (state, reason) = if s.checkins.roster_size(booking_id).await? > 0 {
            ("imported", Some("本场次已有名单（从文件导入），未覆盖。".to_string()))
        } else {
            let path = format!("/api/v1/sessions/{}/roster", encode_query(&row.session_id));
            let roster: RosterReply = get(s, link, creds, path).await?;
            let experts: Vec<RosterExpertInput> = roster
                .experts
                .into_iter()
                .map(|e| RosterExpertInput { name: e.name, id_number: e.id_number, expert_type: e.expert_type, is_chair: e.is_chair, photo_data_url: None })
                .collect();
            let content = serde_json::to_string(&experts).map_err(Error::internal)?;
            let r = s.checkins.import_roster_as(Actor::platform(), "platform", booking_id, RosterFormat::Json, &content).await?;
            if r.errors.is_empty() {
                report.rosters_imported += 1;
                ("imported", None)
            } else {
                let why = r.errors.iter().take(5).map(|e| format!("第 {} 行 {}：{}", e.row, e.field, e.message)).collect::<Vec<_>>().join("；");
                report.problems.push(format!("roster of session {}: {why}", row.session_id));
                let entry = Entry::new(Actor::platform(), EventKind::PlatformDataRefused, &row.session_id, Outcome::Denied)
                    .with_detail(serde_json::json!({"what": "roster", "sessionId": row.session_id, "bookingId": booking_id,
                        "code": "INVALID_ARGUMENT", "reason": why}));
                s.journal.record(entry).await?;
                ("failed", Some(why))
            }
        };
        let at = venue_time(s.clock.now(), s.config.time_zone).to_rfc3339();
        let mut w = s.store.begin_write().await?;
        rows::put_platform_session(&mut w, &PlatformSessionRow { roster_state: state.into(), reason, updated_at: at, ..row }).await?;
        w.commit().await?;
    }
    Ok(())
}
