//! What the booking screens send and receive.

use serde::{Deserialize, Serialize};

use crate::domain::booking::{BookingState, Purpose};
use crate::domain::project::TradingCategory;
use crate::domain::venue::{RoomKind, Zone};

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub id: String,
    pub name: String,
    pub kind: RoomKind,
    pub kind_name: Option<String>,
    pub zone: Zone,
    pub capacity: u32,
    pub floor: Option<String>,
    pub notes: String,
    pub active: bool,
    pub devices: Vec<String>,
    /// False for a room the venue file no longer lists (kept, retired, for its history).
    pub in_venue_file: bool,
    pub version: i64,
}

/// A venue manager's edit of a room; `version` is the one the edit was made on.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoomEdit {
    pub id: String,
    pub version: i64,
    pub name: String,
    pub capacity: u32,
    pub floor: Option<String>,
    pub notes: String,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: i64,
    pub tender_project_code: String,
    /// The code does not look like the usual pattern: accepted, shown for a person to check.
    pub code_unusual: bool,
    pub name: String,
    pub category: TradingCategory,
    pub bid_section_codes: Vec<String>,
    pub tenderer_name: String,
    pub tenderer_credit_code: String,
    pub agency_name: Option<String>,
    pub agency_credit_code: Option<String>,
    pub responsible_staff: String,
    pub version: i64,
}

/// A new project (`id` null) or an edit of one (with the `version` it was made on).
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProjectInput {
    pub id: Option<i64>,
    pub version: Option<i64>,
    pub tender_project_code: String,
    pub name: String,
    pub category: TradingCategory,
    pub bid_section_codes: Vec<String>,
    pub tenderer_name: String,
    pub tenderer_credit_code: String,
    pub agency_name: Option<String>,
    pub agency_credit_code: Option<String>,
    pub responsible_staff: String,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookingView {
    pub id: i64,
    pub room_id: String,
    pub room_name: String,
    pub project_id: i64,
    pub tender_project_code: String,
    pub project_name: String,
    pub category: TradingCategory,
    pub bid_section_codes: Vec<String>,
    pub purpose: Purpose,
    /// Venue local time, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    pub end: String,
    pub setup_min: u32,
    pub cleanup_min: u32,
    pub expected_participants: u32,
    pub expected_experts: u32,
    pub overnight: bool,
    pub state: BookingState,
    /// Bookings made together as one multi-day evaluation share this.
    pub series_id: Option<String>,
    pub notes: String,
    pub created_by: String,
    pub version: i64,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookingInput {
    pub room_id: String,
    pub project_id: i64,
    pub bid_section_codes: Vec<String>,
    pub purpose: Purpose,
    /// Venue local time, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    pub end: String,
    pub setup_min: u32,
    pub cleanup_min: u32,
    pub expected_participants: u32,
    pub expected_experts: u32,
    pub overnight: bool,
    /// 1 for one booking; more books the same hours on consecutive days in one step.
    pub days: u32,
    pub notes: String,
    /// Book as confirmed straight away (a request from the desk is `requested` until approved).
    pub confirm: bool,
}

/// A move, resize or change of room, made on `version`, with the reason (变更原因).
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookingChangeInput {
    pub id: i64,
    pub version: i64,
    pub room_id: String,
    pub start: String,
    pub end: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookingFilter {
    /// Venue local dates `YYYY-MM-DD`, `to` inclusive.
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub room_id: Option<String>,
    pub project_code: Option<String>,
    pub state: Option<BookingState>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookingChangeView {
    /// Venue local time with seconds.
    pub at: String,
    pub actor: String,
    pub change: String,
    pub reason: String,
    /// JSON text of the fields that changed, before and after.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// 场次 — a confirmed bid opening or evaluation: what check-in, recording and the wall follow.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookingSession {
    pub booking_id: i64,
    pub room_id: String,
    pub room_name: String,
    pub purpose: Purpose,
    pub tender_project_code: String,
    pub project_name: String,
    pub bid_section_codes: Vec<String>,
    pub start: String,
    pub end: String,
    pub state: BookingState,
    pub expected_experts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct OccupancyRow {
    /// First day of the period, `YYYY-MM-DD`.
    pub period: String,
    pub room_id: String,
    pub room_name: String,
    pub room_kind: RoomKind,
    pub occupied_minutes: u32,
    pub open_minutes: u32,
}

/// Occupancy of all rooms of one kind together.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct KindOccupancyRow {
    pub period: String,
    pub room_kind: RoomKind,
    pub rooms: u32,
    pub occupied_minutes: u32,
    pub open_minutes: u32,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CountRow {
    pub purpose: Purpose,
    pub category: TradingCategory,
    pub sessions: u32,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    pub occupancy: Vec<OccupancyRow>,
    pub occupancy_by_kind: Vec<KindOccupancyRow>,
    pub by_purpose_and_category: Vec<CountRow>,
    /// Minutes a room is open for bookings per day, the denominator of occupancy.
    pub open_minutes_per_day: u32,
}
