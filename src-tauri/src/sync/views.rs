//! What the sync screen shows.

use serde::Serialize;

use crate::store::sync::ParkedRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// No app key and secret in the keyring yet.
    NotConfigured,
    /// Started; nothing tried yet.
    Connecting,
    /// Nothing waiting; the last attempt worked.
    UpToDate,
    /// Sending the backlog.
    Sending,
    /// The receiver asked us to wait (429/503).
    Throttled,
    /// No answer; trying again with backoff.
    Unreachable,
    /// An answer that was not usable (5xx, garbled); trying again with backoff.
    Retrying,
    /// 401/403: the app key or secret was refused. Needs an administrator.
    CredentialsRejected,
    /// The receiver says this workstation's clock is wrong.
    ClockSkew,
    /// The configuration cannot work (e.g. an unreadable CA file).
    Misconfigured,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LinkProblem {
    /// The receiver's error code or a local one (`unreachable`, `bad_reply`, `configuration`, ...).
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub state: LinkState,
    pub problem: Option<LinkProblem>,
    pub base_url: String,
    pub plain_http: bool,
    /// The app key in use (never the secret).
    pub app_key: Option<String>,
    pub app_key_hint: Option<String>,
    pub keyring: String,
    pub backlog: i64,
    pub oldest_pending_age_s: Option<i64>,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub retry_in_s: Option<i64>,
    pub send_rate_per_s: f64,
    /// While draining: the backlog when the drain began, and how much of it has gone.
    pub drain_total: i64,
    pub drain_done: i64,
    pub parked: i64,
    pub last_pull_at: Option<String>,
    pub pull_problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformInbox {
    pub bookings: Vec<PlatformBookingView>,
    pub sessions: Vec<PlatformSessionView>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformBookingView {
    pub platform_booking_id: String,
    pub booking_id: Option<i64>,
    /// `imported` (waiting for approval in the bookings screen), `refused`, `cancelled`.
    pub state: String,
    pub reason: Option<String>,
    pub received_at: String,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSessionView {
    pub session_id: String,
    pub booking_id: Option<i64>,
    pub session_date: String,
    pub has_roster: bool,
    /// `none`, `pending`, `imported`, `failed`.
    pub roster_state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ParkedEvent {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: String,
    pub subject: String,
    pub code: String,
    pub reason: String,
    pub parked_at: Option<String>,
    pub attempts: i64,
}

impl From<ParkedRow> for ParkedEvent {
    fn from(r: ParkedRow) -> Self {
        ParkedEvent {
            seq: r.seq,
            event_id: r.event_id,
            event_type: r.event_type,
            occurred_at: r.occurred_at,
            subject: r.subject,
            code: r.reject_code.unwrap_or_default(),
            reason: r.last_error.unwrap_or_default(),
            parked_at: r.parked_at,
            attempts: r.attempts,
        }
    }
}
