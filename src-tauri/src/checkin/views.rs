//! What the check-in, locker, roll-call and device screens send and receive. Times are venue local:
//! sessions `YYYY-MM-DDTHH:MM`, events `YYYY-MM-DDTHH:MM:SS`.

use serde::{Deserialize, Serialize};

pub use crate::bookings::views::BookingSession;
use crate::devices::LockState;

/// Where an expert stands on the session day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AttendanceStatus {
    /// Not checked in yet (late once the session has started, absent once it has ended).
    NotArrived,
    /// Locker assigned and opened; the check-in is not complete yet.
    Depositing,
    /// Checked in and inside the evaluation area.
    Inside,
    /// Went out through the entrance during the session; re-entry needs a supervisor.
    Left,
    /// A supervisor approved re-entry; the credential is written again.
    ReentryApproved,
    CheckedOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LockerRef {
    pub bank_id: String,
    pub bank_name: String,
    pub locker_no: u32,
}

/// The one roster entry the front desk found by ID number.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CheckInCandidate {
    pub entry_id: i64,
    pub name: String,
    /// e.g. 110105********002X
    pub id_masked: String,
    pub expert_type: String,
    pub is_chair: bool,
    /// 补抽 — drawn as a substitute.
    pub substitute: bool,
    /// `data:image/...;base64,...` when the roster carries a photo.
    pub photo_data_url: Option<String>,
    pub session: BookingSession,
    pub status: AttendanceStatus,
    pub check_in_id: Option<i64>,
    pub locker: Option<LockerRef>,
    /// Arrived (or still not arrived) after the session's start.
    pub late: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CheckInRecord {
    pub check_in_id: i64,
    pub entry_id: i64,
    pub name: String,
    pub id_masked: String,
    pub session: BookingSession,
    pub locker: LockerRef,
    pub card_no_masked: Option<String>,
    /// The person key written to the controllers (`vd-…`).
    pub employee_no: String,
    pub checked_in_at: String,
    /// End of the credential's validity window (session end plus the configured grace).
    pub valid_until: String,
    pub checked_out_at: Option<String>,
    pub status: AttendanceStatus,
    pub late: bool,
    /// Names of the door controllers holding the credential.
    pub controllers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutProgress {
    pub check_in_id: i64,
    pub locker: LockerRef,
    /// Controllers the credential was removed from.
    pub revoked: Vec<String>,
    /// Controllers that could not be reached: reconciliation removes the credential when they return.
    pub pending: Vec<String>,
}

/// An expert as a roster file or a supervisor gives it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RosterExpertInput {
    pub name: String,
    pub id_number: String,
    pub expert_type: String,
    #[serde(default)]
    pub is_chair: bool,
    #[serde(default)]
    pub photo_data_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RosterFormat {
    Json,
    Csv,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RosterRowError {
    /// 1-based data row (CSV: not counting the header line).
    pub row: u32,
    pub field: String,
    pub message: String,
}

/// All rows imported, or none and every bad row listed.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RosterImportReport {
    pub booking_id: i64,
    pub rows: u32,
    pub imported: u32,
    pub errors: Vec<RosterRowError>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceRow {
    pub entry_id: i64,
    /// Empty once the roster has been purged.
    pub name: String,
    pub id_masked: String,
    pub expert_type: String,
    pub is_chair: bool,
    pub substitute: bool,
    pub substitute_reason: Option<String>,
    pub status: AttendanceStatus,
    pub check_in_id: Option<i64>,
    pub checked_in_at: Option<String>,
    pub checked_out_at: Option<String>,
    pub late: bool,
    /// Session over and never checked in.
    pub absent: bool,
    pub locker: Option<LockerRef>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Attendance {
    pub session: BookingSession,
    pub rows: Vec<AttendanceRow>,
    pub expected: u32,
    pub checked_in: u32,
    pub late: u32,
    pub absent: u32,
    pub roster_purged: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RollCallRow {
    pub check_in_id: i64,
    pub name: String,
    pub id_masked: String,
    pub room_name: String,
    pub tender_project_code: String,
    pub checked_in_at: String,
    /// Last door event seen for this expert at the evaluation-area entrance.
    pub last_movement_at: Option<String>,
    pub status: AttendanceStatus,
}

/// 在场人员 — who is inside the evaluation area now (evacuation list).
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RollCall {
    pub at: String,
    pub inside: Vec<RollCallRow>,
    /// Checked in, but went out and have not come back.
    pub outside: Vec<RollCallRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum LockerStatus {
    Free,
    /// Given to an expert whose check-in is in progress.
    Assigned,
    /// Holds an expert's devices.
    Occupied,
    /// Opened at check-out; waiting for it to be closed empty.
    Retrieving,
    Fault,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LockerView {
    pub locker_no: u32,
    pub status: LockerStatus,
    /// Last state the board reported; null when the board has not answered.
    pub lock: Option<LockState>,
    pub occupant_masked: Option<String>,
    pub fault_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LockerBankView {
    pub bank_id: String,
    pub name: String,
    pub online: bool,
    pub last_error: Option<String>,
    pub lockers: Vec<LockerView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum DeviceState {
    /// Not contacted yet since start.
    Unknown,
    Online,
    Offline,
    /// Answers, but reports a fault (e.g. a jammed lock).
    Fault,
    /// The app has no driver for this device yet.
    Unsupported,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DeviceHealthView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub driver: String,
    pub address: String,
    pub state: DeviceState,
    pub last_contact_at: Option<String>,
    pub last_error: Option<String>,
    /// What the device says it is (model, firmware), when known.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileDeviceReport {
    pub device_id: String,
    pub device_name: String,
    /// Person keys removed because no active check-in justifies them.
    pub removed: Vec<String>,
    /// Person keys written again because they were missing or had the wrong window.
    pub rewritten: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    pub at: String,
    pub devices: Vec<ReconcileDeviceReport>,
}

/// Pushed to the UI whenever a locker or device changes, so the grids stay live without polling.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct FrontDeskChanged {
    pub lockers: bool,
    pub devices: bool,
    pub roll_call: bool,
}
