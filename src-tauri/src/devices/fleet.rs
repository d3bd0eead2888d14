//! The venue's devices with their drivers, and what the app last heard from each (device health).
//! Every driver call goes through here: it runs on the blocking pool, and its outcome updates the
//! device's health, so the health screen shows what operators actually ran into.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::hik_isapi::{IsapiController, IsapiSettings};
use super::lockboard::{LockBoardDriver, LockBoardSettings, LockPolarity};
use super::modbus_di::{ModbusInputs, ModbusSettings};
use super::{DigitalInputs, DoorController, LockBoard};
use crate::checkin::views::{DeviceHealthView, DeviceState};
use crate::clock::{Clock, venue_local_seconds};
use crate::config::Device;
use crate::domain::venue::DeviceKind;
use crate::error::{Error, ErrorKind, Result};
use crate::vault::Vault;

/// Door controllers and lock boards answer within this; a slower device counts as offline.
pub const DEVICE_TIMEOUT_MS: u64 = 3000;

/// The keyring entry holding a device's password.
pub fn password_entry(device_id: &str) -> String {
    format!("device-password:{device_id}")
}

#[derive(Debug, Clone)]
struct Health {
    state: DeviceState,
    last_contact_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    detail: Option<String>,
}

/// A device moved between online, offline and fault.
#[derive(Debug, Clone)]
pub struct HealthChange {
    pub device_id: String,
    pub device_name: String,
    pub from: DeviceState,
    pub to: DeviceState,
    pub error: Option<String>,
}

pub struct Fleet {
    devices: Vec<Device>,
    vault: Vault,
    clock: Arc<dyn Clock>,
    doors: RwLock<HashMap<String, Arc<dyn DoorController>>>,
    boards: HashMap<String, Arc<dyn LockBoard>>,
    inputs: HashMap<String, Arc<dyn DigitalInputs>>,
    health: Mutex<HashMap<String, Health>>,
    changes: broadcast::Sender<HealthChange>,
}

impl Fleet {
    pub fn new(devices: &[Device], vault: Vault, clock: Arc<dyn Clock>) -> Fleet {
        let mut boards: HashMap<String, Arc<dyn LockBoard>> = HashMap::new();
        let mut inputs: HashMap<String, Arc<dyn DigitalInputs>> = HashMap::new();
        let mut health = HashMap::new();
        for d in devices {
            let supported =
                matches!(d.kind, DeviceKind::DoorController | DeviceKind::LockBoard | DeviceKind::IoModule);
            let state = if supported { DeviceState::Unknown } else { DeviceState::Unsupported };
            health.insert(
                d.id.clone(),
                Health { state, last_contact_at: None, last_error: None, detail: None },
            );
            if d.kind == DeviceKind::LockBoard {
                let mut settings = LockBoardSettings::new(d.board_address, d.channels.unwrap_or(24) as u8);
                settings.polarity = if d.unlocked_when_set {
                    LockPolarity::UnlockedWhenSet
                } else {
                    LockPolarity::LockedWhenSet
                };
                let driver = if d.driver == "lockboard_serial" {
                    LockBoardDriver::serial(&d.address, d.baud, settings)
                } else {
                    LockBoardDriver::tcp(&d.address, settings)
                };
                boards.insert(d.id.clone(), Arc::new(driver));
            }
            if d.kind == DeviceKind::IoModule {
                let mut settings = ModbusSettings::new(d.address.clone(), d.unit_id.unwrap_or(1));
                // A poll that waits longer than a few periods is a module that is gone.
                settings.timeout_ms = (u64::from(d.poll_ms) * 10).clamp(200, 1000);
                inputs.insert(d.id.clone(), Arc::new(ModbusInputs::new(settings)));
            }
        }
        let fleet = Fleet {
            devices: devices.to_vec(),
            vault,
            clock,
            doors: RwLock::new(HashMap::new()),
            boards,
            inputs,
            health: Mutex::new(health),
            changes: broadcast::channel(64).0,
        };
        for d in devices.iter().filter(|d| d.kind == DeviceKind::DoorController) {
            fleet.rebuild_door(d);
        }
        fleet
    }

    pub fn isapi_settings(&self, d: &Device) -> IsapiSettings {
        let password = self.vault.get_text(&password_entry(&d.id)).ok().flatten().unwrap_or_default();
        let base_url = if d.address.starts_with("http://") || d.address.starts_with("https://") {
            d.address.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", d.address)
        };
        IsapiSettings {
            base_url,
            username: d.username.clone().unwrap_or_else(|| "admin".into()),
            password,
            basic_auth: d.basic_auth,
            timeout_ms: DEVICE_TIMEOUT_MS,
        }
    }

    fn rebuild_door(&self, d: &Device) {
        let driver: Arc<dyn DoorController> = Arc::new(IsapiController::new(self.isapi_settings(d)));
        self.doors.write().unwrap().insert(d.id.clone(), driver);
    }

    /// Stores a device's password in the keyring and reconnects with it.
    pub fn set_password(&self, device_id: &str, password: &str) -> Result<()> {
        let d = self.device(device_id)?.clone();
        self.vault.set(&password_entry(device_id), password.as_bytes())?;
        if d.kind == DeviceKind::DoorController {
            self.rebuild_door(&d);
        }
        Ok(())
    }

    pub fn device(&self, id: &str) -> Result<&Device> {
        self.devices.iter().find(|d| d.id == id).ok_or_else(|| {
            Error::not_found(
                format!("场所配置中没有设备 “{id}”。"),
                format!("The venue file has no device \"{id}\"."),
            )
        })
    }

    pub fn name_of(&self, id: &str) -> String {
        self.devices.iter().find(|d| d.id == id).map_or_else(|| id.to_string(), |d| d.name.clone())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HealthChange> {
        self.changes.subscribe()
    }

    /// Runs `f` against a door controller on the blocking pool and records the outcome.
    pub async fn door<T: Send + 'static>(
        &self,
        id: &str,
        f: impl FnOnce(&dyn DoorController) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let driver = self.doors.read().unwrap().get(id).cloned().ok_or_else(|| no_driver(id))?;
        let result = tokio::task::spawn_blocking(move || f(driver.as_ref()))
            .await
            .map_err(|e| Error::internal(format!("door controller task failed: {e}")))?;
        self.observe(id, &result);
        result
    }

    pub async fn board<T: Send + 'static>(
        &self,
        id: &str,
        f: impl FnOnce(&dyn LockBoard) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let driver = self.boards.get(id).cloned().ok_or_else(|| no_driver(id))?;
        let result = tokio::task::spawn_blocking(move || f(driver.as_ref()))
            .await
            .map_err(|e| Error::internal(format!("lock board task failed: {e}")))?;
        self.observe(id, &result);
        result
    }

    pub async fn inputs<T: Send + 'static>(
        &self,
        id: &str,
        f: impl FnOnce(&dyn DigitalInputs) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let driver = self.inputs.get(id).cloned().ok_or_else(|| no_driver(id))?;
        let result = tokio::task::spawn_blocking(move || f(driver.as_ref()))
            .await
            .map_err(|e| Error::internal(format!("input module task failed: {e}")))?;
        self.observe(id, &result);
        result
    }

    /// Notes what a driver call (or an event stream) showed about a device.
    pub fn observe<T>(&self, id: &str, result: &Result<T>) {
        let now = self.clock.now();
        let (state, error) = match result {
            Ok(_) => (DeviceState::Online, None),
            // Unavailable means no (sensible) answer; anything else came from a device that answered.
            Err(e) if e.kind == ErrorKind::Unavailable => {
                (DeviceState::Offline, Some(e.message().to_string()))
            }
            Err(e) if e.kind == ErrorKind::FailedPrecondition => {
                (DeviceState::Fault, Some(e.message().to_string()))
            }
            // Refused before anything was sent (a malformed card number): nothing learned about the device.
            Err(e) if e.kind == ErrorKind::InvalidArgument => return,
            Err(e) => (DeviceState::Online, Some(e.message().to_string())),
        };
        self.set_state(id, state, error, now);
    }

    pub fn mark_offline(&self, id: &str, reason: String) {
        let now = self.clock.now();
        self.set_state(id, DeviceState::Offline, Some(reason), now);
    }

    pub fn mark_online(&self, id: &str) {
        let now = self.clock.now();
        self.set_state(id, DeviceState::Online, None, now);
    }

    pub fn set_detail(&self, id: &str, detail: String) {
        if let Some(h) = self.health.lock().unwrap().get_mut(id) {
            h.detail = Some(detail);
        }
    }

    fn set_state(&self, id: &str, state: DeviceState, error: Option<String>, now: DateTime<Utc>) {
        let change = {
            let mut all = self.health.lock().unwrap();
            let Some(h) = all.get_mut(id) else { return };
            let from = h.state;
            if state != DeviceState::Offline {
                h.last_contact_at = Some(now);
            }
            if error.is_some() || state == DeviceState::Online {
                h.last_error = error.clone().or(h.last_error.take().filter(|_| state != DeviceState::Online));
            }
            h.state = state;
            (from != state).then(|| HealthChange {
                device_id: id.to_string(),
                device_name: self.name_of(id),
                from,
                to: state,
                error,
            })
        };
        if let Some(c) = change {
            let _ = self.changes.send(c);
        }
    }

    pub fn is_online(&self, id: &str) -> bool {
        self.health.lock().unwrap().get(id).is_some_and(|h| h.state != DeviceState::Offline)
    }

    pub fn last_error(&self, id: &str) -> Option<String> {
        self.health.lock().unwrap().get(id).and_then(|h| h.last_error.clone())
    }

    pub fn health(&self, tz: chrono_tz::Tz) -> Vec<DeviceHealthView> {
        let all = self.health.lock().unwrap();
        self.devices
            .iter()
            .map(|d| {
                let h = all.get(&d.id);
                DeviceHealthView {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    kind: d.kind.as_str().to_string(),
                    driver: d.driver.clone(),
                    address: d.address.clone(),
                    state: h.map_or(DeviceState::Unknown, |h| h.state),
                    last_contact_at: h
                        .and_then(|h| h.last_contact_at)
                        .map(|t| venue_local_seconds(t.timestamp_millis(), tz)),
                    last_error: h.and_then(|h| h.last_error.clone()),
                    detail: h.and_then(|h| h.detail.clone()),
                }
            })
            .collect()
    }
}

fn no_driver(id: &str) -> Error {
    Error::new(
        ErrorKind::FailedPrecondition,
        format!("设备 “{id}” 没有可用的驱动（类型或驱动不匹配）。请检查场所配置文件。"),
        format!("Device \"{id}\" has no usable driver (kind or driver mismatch). Check the venue file."),
    )
}
