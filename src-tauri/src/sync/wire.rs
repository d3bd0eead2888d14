//! 接口报文 — the bodies exchanged with the comprehensive service system, as
//! docs/api/service-system.yaml describes them. The client (`sync::client`) and the reference
//! receiver (`sim::receiver`) both use these types, so the two can only disagree with the
//! document, which the contract test checks.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/venues/{venueCode}/events`: at most `MAX_EVENTS_PER_BATCH` events, in `seq` order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventBatch {
    pub events: Vec<WireEvent>,
}

pub const MAX_EVENTS_PER_BATCH: usize = 1000;
/// The receiver refuses bodies over this with 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// One event. `record` is the journal record verbatim, so the receiver can recompute `hash` as
/// SHA-256 of the canonical form (docs/api/service-system.yaml, "Journal chain") and check that
/// the venue's history was not edited.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    /// UUID v4, stable across resends: the receiver de-duplicates on it.
    pub event_id: String,
    /// The venue's event sequence: 1, 2, 3, ... without reuse (parked events leave gaps).
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Venue local time with its offset, RFC 3339.
    pub occurred_at: String,
    pub prev_hash: String,
    pub hash: String,
    pub record: JournalRecord,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JournalRecord {
    pub seq: i64,
    pub recorded_at: String,
    pub recorded_at_ms: i64,
    pub actor: String,
    pub actor_role: Option<String>,
    pub kind: String,
    pub subject: String,
    pub outcome: String,
    /// The record's detail as the exact JSON text that was hashed.
    pub detail: String,
}

/// 200 reply to an event batch. Every event of the batch is in exactly one list; an event in none
/// was not processed and is sent again.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EventsReply {
    pub accepted: Vec<String>,
    pub duplicates: Vec<String>,
    pub rejected: Vec<RejectedEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RejectedEvent {
    pub event_id: String,
    /// Machine-readable: `invalid_payload`, `unknown_type`, `hash_mismatch`, ...
    pub code: String,
    /// For the administrator who sees the parked event.
    pub reason: String,
}

/// Any non-2xx reply's body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReply {
    /// `bad_signature`, `unknown_app_key`, `clock_skew`, `replayed_nonce`, `malformed_request`,
    /// `batch_too_large`, `venue_mismatch`, `rate_limited`, `unavailable`, `not_found`.
    pub code: String,
    pub message: String,
}

/// `GET /api/v1/venues/{venueCode}/bookings?since={cursor}&limit={n}`: booking requests made on the
/// platform and their cancellations, oldest first. An empty `since` starts at the beginning.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BookingPage {
    pub items: Vec<PlatformBooking>,
    /// Where the next pull starts; unchanged when there was nothing new.
    pub next: String,
    /// More items are waiting after `next`.
    #[serde(default)]
    pub more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformBooking {
    /// The platform's id of the request; the same id may come again with `action: cancel`.
    pub platform_booking_id: String,
    pub action: PlatformAction,
    pub project: PlatformProject,
    #[serde(rename = "BID_SECTION_CODE")]
    pub bid_section_codes: Vec<String>,
    pub room_id: String,
    /// `bid_opening`, `evaluation`, `negotiation`, `consultation`, `clarification`, `bidding`, `auction`, ...
    pub purpose: String,
    /// RFC 3339 with offset.
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub expected_participants: u32,
    #[serde(default)]
    pub expected_experts: u32,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PlatformAction {
    Request,
    Cancel,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformProject {
    #[serde(rename = "TENDER_PROJECT_CODE")]
    pub tender_project_code: String,
    #[serde(rename = "TENDER_PROJECT_NAME")]
    pub name: String,
    /// `construction`, `government_procurement`, `land_use_rights`, `mining_rights`,
    /// `state_owned_property`, `other`.
    pub category: String,
    #[serde(rename = "TENDERER_NAME")]
    pub tenderer_name: String,
    #[serde(rename = "TENDERER_CODE")]
    pub tenderer_credit_code: String,
    #[serde(rename = "TENDER_AGENCY_NAME", default)]
    pub agency_name: Option<String>,
    #[serde(rename = "TENDER_AGENCY_CODE", default)]
    pub agency_credit_code: Option<String>,
    #[serde(default)]
    pub responsible_staff: String,
}

/// `GET /api/v1/venues/{venueCode}/sessions?date=YYYY-MM-DD`: the day's bid openings and evaluations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionList {
    pub items: Vec<PlatformSession>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSession {
    pub session_id: String,
    /// The platform booking this session was requested with, if any.
    #[serde(default)]
    pub platform_booking_id: Option<String>,
    #[serde(rename = "TENDER_PROJECT_CODE")]
    pub tender_project_code: String,
    #[serde(rename = "BID_SECTION_CODE")]
    pub bid_section_codes: Vec<String>,
    pub room_id: String,
    pub purpose: String,
    pub start: String,
    pub end: String,
    /// Whether the platform has an expert roster for it (evaluations).
    #[serde(default)]
    pub has_roster: bool,
}

/// `GET /api/v1/sessions/{sessionId}/roster`: confidential, served only on the session's day.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RosterReply {
    pub session_id: String,
    pub experts: Vec<PlatformExpert>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformExpert {
    #[serde(rename = "EXPERT_NAME")]
    pub name: String,
    #[serde(rename = "EXPERT_ID_CARD")]
    pub id_number: String,
    /// 专家类别 as drawn, e.g. 经济 / 技术.
    pub expert_type: String,
    #[serde(default)]
    pub is_chair: bool,
}
