//! What the alarm centre, the banner and the gate panel send and receive. Times are venue local
//! `YYYY-MM-DDTHH:MM:SS`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Fire alarm, emergency release.
    Critical,
    /// Phone at the gate, door forced open.
    Major,
    /// Door held open, a device offline.
    Minor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AlarmKind {
    /// 通讯检测门报警 — a communication device detected at the gate.
    GateDetection,
    /// 门被强行打开 (ISAPI minor 0x1b)
    DoorForced,
    /// 门长时间未关 (ISAPI minor 0x1c)
    DoorHeldOpen,
    DeviceOffline,
    /// 火警联动 — fire alarm input: every evaluation-area door released.
    FireAlarm,
    /// 视频丢失 (recording issue)
    VideoLoss,
    /// 录像存储空间不足 — the recordings disk is below its minimum free space after retention.
    StorageLow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AlarmState {
    /// Active and not yet answered by anyone.
    Raised,
    /// Someone answered it; it stays until its cause is gone.
    Acknowledged,
    Cleared,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AlarmView {
    pub id: i64,
    pub kind: AlarmKind,
    pub severity: Severity,
    /// Device id (gate, door, board) the alarm comes from.
    pub source: String,
    pub source_name: String,
    /// The room or area it concerns, for the wall to highlight.
    pub room_id: Option<String>,
    pub raised_at: String,
    pub state: AlarmState,
    /// The cause is still present (input active, door open, device offline).
    pub active: bool,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    pub note: Option<String>,
    pub cleared_at: Option<String>,
    /// What happened and what to do, in the operator's language.
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AlarmFilter {
    /// Only alarms not yet cleared (raised or acknowledged).
    pub open_only: bool,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SoundStatus {
    /// False when this workstation has no audio output: alarms are shown, not heard.
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub muted_until: Option<String>,
    pub muted_by: Option<String>,
}

/// Where the interlock stands for one gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum GatePhase {
    /// Input quiet: entry by credential as usual.
    Normal,
    /// Something detected: the door is held closed and entry refused.
    Alarm,
    /// The input is quiet again but the alarm waits for the quiet time and/or an acknowledgement.
    Clearing,
    /// A front-desk "open once" override is in progress.
    OverrideOnce,
    /// Fire alarm: every door of the area released; only an administrator restores.
    Emergency,
}

/// What the app last commanded the entrance door, and whether the controller confirmed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum DoorMode {
    /// Card-controlled (ISAPI `normal`).
    Normal,
    /// Held locked (ISAPI `alwaysClose`).
    HeldClosed,
    /// Held unlocked (ISAPI `alwaysOpen`), the emergency release.
    Released,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GateView {
    pub gate_id: String,
    pub name: String,
    pub phase: GatePhase,
    /// The gate's input after debounce: true = detecting; null = not read yet or module offline.
    pub input_active: Option<bool>,
    pub door_id: String,
    pub door_name: String,
    /// Confirmed by the controller; null while a command is unconfirmed or failed.
    pub door_mode: Option<DoorMode>,
    pub door_error: Option<String>,
    pub alarm_id: Option<i64>,
    /// True when the quiet time has passed and only an acknowledgement is missing.
    pub awaiting_acknowledgement: bool,
}

/// Pushed whenever an alarm, the sound or a gate changes.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct AlarmsChanged {
    pub alarms: bool,
    pub gates: bool,
    pub sound: bool,
}
