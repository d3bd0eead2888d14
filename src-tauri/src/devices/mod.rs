//! Hardware behind small traits. Each trait has one real driver speaking the device's own protocol
//! (docs: ../shared/design/devices.md); the simulators in `sim/` speak the same protocols, and tests
//! run the real drivers against them over real sockets and ptys.
//!
//! Drivers are blocking (HTTP through ureq, serial ports): services call them from
//! `tokio::task::spawn_blocking`, which keeps the traits plain and the drivers easy to test.

pub mod fleet;
pub mod hik_isapi;
pub mod lockboard;
pub mod modbus_di;

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use crate::error::Result;

/// What a device says about itself (ISAPI `deviceInfo`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub name: String,
    pub model: String,
    pub serial_number: String,
    pub firmware_version: String,
}

/// A remote door command. Controllers advertise which ones they accept; never assume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum DoorCommand {
    /// Unlock once; the lock re-latches after the controller's open time.
    Open,
    Close,
    /// Held unlocked (emergency release). Some firmware calls this `remainOpen`.
    AlwaysOpen,
    /// Held locked (interlock).
    AlwaysClose,
    /// Back to card-controlled operation.
    Normal,
}

/// A person record on a door controller: who may pass which doors, and when (local venue time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPerson {
    /// The controller's person key. Venue Desk writes `vd-…` keys only and never touches others.
    pub employee_no: String,
    /// Shown on the controller's own screen; never the expert's real name (roster is confidential).
    pub name: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub door_nos: Vec<u32>,
}

/// One access-control event (ISAPI major/minor codes, devices.md "Event codes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// Per-controller increasing number; the de-duplication key.
    pub serial_no: u64,
    pub time: DateTime<FixedOffset>,
    pub major: u32,
    pub minor: u32,
    pub card_no: Option<String>,
    pub employee_no: Option<String>,
    pub door_no: Option<u32>,
    /// Which reader of the door: 1 is the entry side, 2 the exit side on Hikvision controllers.
    pub card_reader_no: Option<u32>,
}

/// 门禁控制器 — a door controller holding time-windowed person records and cards.
pub trait DoorController: Send + Sync {
    fn device_info(&self) -> Result<DeviceInfo>;
    /// The door commands the controller accepts (from its capabilities).
    fn door_commands(&self) -> Result<Vec<DoorCommand>>;
    fn control_door(&self, door_no: u32, command: DoorCommand) -> Result<()>;
    /// Creates the person or, when it exists, replaces its record (idempotent).
    fn upsert_person(&self, person: &AccessPerson) -> Result<()>;
    /// Removes the person and its cards; a person already gone is success.
    fn delete_person(&self, employee_no: &str) -> Result<()>;
    /// Every person on the controller (all pages).
    fn list_persons(&self) -> Result<Vec<AccessPerson>>;
    /// Binds a card to a person; the same card already bound to that person is success.
    fn add_card(&self, employee_no: &str, card_no: &str) -> Result<()>;
    fn delete_card(&self, card_no: &str) -> Result<()>;
    /// Event history in a time range, sorted by serial number without duplicates (catch-up).
    fn events_between(
        &self,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Result<Vec<AccessEvent>>;
}

/// The state a lock reports, after the board's polarity has been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum LockState {
    Locked,
    Unlocked,
}

/// 储物柜锁控板 — one RS-485 lock board (one board address on a bus).
pub trait LockBoard: Send + Sync {
    /// Pulses lock `lock` (1-based channel) open.
    fn open(&self, lock: u8) -> Result<()>;
    fn state(&self, lock: u8) -> Result<LockState>;
    /// Every channel's state, index 0 is channel 1.
    fn states(&self) -> Result<Vec<LockState>>;
}

/// 数字量输入模块 — a digital-input module: the detector gate's alarm relay, the fire-alarm contact.
pub trait DigitalInputs: Send + Sync {
    /// Reads `count` discrete inputs starting at `address` (Modbus function 0x02), raw levels.
    fn read_inputs(&self, address: u16, count: u16) -> Result<Vec<bool>>;
    /// Drives one coil (function 0x05), e.g. a beacon on the gate.
    fn write_coil(&self, address: u16, on: bool) -> Result<()>;
}
