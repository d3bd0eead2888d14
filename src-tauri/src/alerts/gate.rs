//! The detector gates and the fire alarm at work: inputs are read (Modbus polling, or a door
//! controller's alarm input), fed to each gate's interlock, and the doors are kept in the mode the
//! interlock asks for until the controller confirms it. The door command goes out before anything
//! else is written, so the time from detection to a held door is one input read plus one command.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::Alarms;
use super::views::*;
use crate::auth::Caller;
use crate::clock::Clock;
use crate::config::{Device, VenueConfig};
use crate::devices::DoorCommand;
use crate::devices::fleet::Fleet;
use crate::domain::interlock::{Effect, Interlock, InterlockRules};
use crate::domain::venue::{DeviceKind, Zone};
use crate::error::{Error, Result};
use crate::journal::{Actor, Entry, EventKind, Journal, Outcome};

struct Unit {
    /// The gate's input device; None when the venue has a fire input but no gate.
    gate: Option<Device>,
    machine: Mutex<Interlock>,
}

#[derive(Debug, Clone, Default)]
struct DoorStatus {
    wanted: Option<DoorMode>,
    confirmed: Option<DoorMode>,
    error: Option<String>,
}

pub struct Gates {
    config: Arc<VenueConfig>,
    fleet: Arc<Fleet>,
    alarms: Arc<Alarms>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    units: Vec<Unit>,
    doors: Mutex<HashMap<String, DoorStatus>>,
    /// Serialises door commands so two loops never send rival modes to one controller.
    driving: tokio::sync::Mutex<()>,
}

fn command_for(mode: DoorMode) -> DoorCommand {
    match mode {
        DoorMode::Normal => DoorCommand::Normal,
        DoorMode::HeldClosed => DoorCommand::AlwaysClose,
        DoorMode::Released => DoorCommand::AlwaysOpen,
    }
}

impl Gates {
    pub fn new(
        config: Arc<VenueConfig>,
        fleet: Arc<Fleet>,
        alarms: Arc<Alarms>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
    ) -> Gates {
        let rules = InterlockRules {
            release_debounce_ms: i64::from(config.gate.release_debounce_ms),
            clear_after_quiet_ms: i64::from(config.gate.clear_after_quiet_seconds) * 1000,
            override_ms: i64::from(config.gate.override_seconds) * 1000,
        };
        let mut units: Vec<Unit> = config
            .evaluation_area
            .gates
            .iter()
            .filter_map(|g| config.devices.iter().find(|d| &d.id == g))
            .map(|d| Unit { gate: Some(d.clone()), machine: Mutex::new(Interlock::new(rules)) })
            .collect();
        if units.is_empty() && config.evaluation_area.fire_alarm.is_some() {
            units.push(Unit { gate: None, machine: Mutex::new(Interlock::new(rules)) });
        }
        let mut doors = HashMap::new();
        if !units.is_empty() {
            doors.insert(
                config.evaluation_area.entrance_door.clone(),
                DoorStatus { wanted: Some(DoorMode::Normal), ..Default::default() },
            );
        }
        Gates {
            config,
            fleet,
            alarms,
            journal,
            clock,
            units,
            doors: Mutex::new(doors),
            driving: tokio::sync::Mutex::new(()),
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn entrance(&self) -> &str {
        &self.config.evaluation_area.entrance_door
    }

    /// Every door controller of the evaluation area: the entrance and the evaluation rooms' doors.
    fn area_doors(&self) -> Vec<String> {
        let mut ids = vec![self.entrance().to_string()];
        for r in self.config.rooms.iter().filter(|r| r.zone == Zone::Evaluation) {
            for d in &r.devices {
                let is_door =
                    self.config.devices.iter().any(|x| &x.id == d && x.kind == DeviceKind::DoorController);
                if is_door && !ids.contains(d) {
                    ids.push(d.clone());
                }
            }
        }
        ids
    }

    /// The input devices to poll (Modbus), with what each one is.
    pub fn polled_inputs(&self) -> Vec<Device> {
        let mut out: Vec<Device> = self.units.iter().filter_map(|u| u.gate.clone()).collect();
        if let Some(fire) = self.fire_device() {
            out.push(fire);
        }
        out.retain(|d| d.kind == DeviceKind::IoModule);
        out
    }

    fn fire_device(&self) -> Option<Device> {
        let id = self.config.evaluation_area.fire_alarm.as_ref()?;
        self.config.devices.iter().find(|d| &d.id == id).cloned()
    }

    /// Reads one input device once and feeds the result in. Errors leave the state as it was (the
    /// device's health shows the fault and raises its own alarm).
    pub async fn poll(&self, device: &Device) -> Result<()> {
        let address = device.input_address.unwrap_or(0);
        let raw = self.fleet.inputs(&device.id, move |m| m.read_inputs(address, 1)).await?;
        let level = raw.first().copied().unwrap_or(false);
        self.input(&device.id, level == device.active_high).await;
        Ok(())
    }

    /// A door controller's alarm input changed (gates or fire contacts wired to a controller).
    pub async fn alarm_input(&self, controller: &str, input_no: u32, active: bool) {
        let matches = |d: &Device| d.id == controller && d.input_address.map_or(1, u32::from) == input_no;
        let gate =
            self.units.iter().filter_map(|u| u.gate.as_ref()).find(|d| matches(d)).map(|d| d.id.clone());
        if let Some(id) = gate {
            self.input(&id, active).await;
        }
        if self.fire_device().is_some_and(|d| matches(&d)) {
            let id = self.fire_device().map(|d| d.id).unwrap_or_default();
            self.input(&id, active).await;
        }
    }

    /// One debounced-or-not reading of an input, by device id.
    pub async fn input(&self, device_id: &str, active: bool) {
        let now = self.now_ms();
        let is_fire = self.config.evaluation_area.fire_alarm.as_deref() == Some(device_id);
        let mut effects = Vec::new();
        for (i, u) in self.units.iter().enumerate() {
            let mut m = u.machine.lock().unwrap();
            if is_fire {
                effects.extend(m.fire_sample(active).into_iter().map(|e| (i, e)));
            }
            if u.gate.as_ref().is_some_and(|g| g.id == device_id) {
                effects.extend(m.gate_sample(active, now).into_iter().map(|e| (i, e)));
            }
        }
        self.settle(effects).await;
    }

    /// Lets time act on the interlocks (quiet time, end of an override).
    pub async fn tick(&self) {
        let now = self.now_ms();
        let effects: Vec<(usize, Effect)> = self
            .units
            .iter()
            .enumerate()
            .flat_map(|(i, u)| u.machine.lock().unwrap().tick(now).into_iter().map(move |e| (i, e)))
            .collect();
        self.settle(effects).await;
    }

    /// Puts the doors where the interlocks want them first, then records what happened.
    async fn settle(&self, effects: Vec<(usize, Effect)>) {
        self.drive_doors().await;
        if effects.is_empty() {
            return;
        }
        for (i, e) in effects {
            if let Err(err) = self.apply(i, &e).await {
                tracing::warn!(error = %err, effect = ?e, "gate effect not recorded");
            }
        }
        self.alarms.announce(true, true, false);
    }

    fn update_wanted(&self) {
        let modes: Vec<DoorMode> = self.units.iter().map(|u| u.machine.lock().unwrap().door_mode()).collect();
        if modes.is_empty() {
            return;
        }
        let entrance = if modes.contains(&DoorMode::Released) {
            DoorMode::Released
        } else if modes.contains(&DoorMode::HeldClosed) {
            DoorMode::HeldClosed
        } else {
            DoorMode::Normal
        };
        let emergency = entrance == DoorMode::Released;
        let mut doors = self.doors.lock().unwrap();
        for id in self.area_doors() {
            let wanted = if id == self.entrance() {
                Some(entrance)
            } else if emergency {
                Some(DoorMode::Released)
            } else {
                // Room doors are only ever commanded back from a release.
                doors.get(&id).and_then(|d| d.wanted).map(|_| DoorMode::Normal)
            };
            if let Some(w) = wanted {
                doors.entry(id).or_default().wanted = Some(w);
            }
        }
    }

    /// Sends each door the mode it should be in until the controller confirms it. Safe to call
    /// from any loop; commands to one controller never overlap.
    pub async fn drive_doors(&self) {
        let _turn = self.driving.lock().await;
        // Read the interlocks only once it is this call's turn: a reading taken before waiting could
        // be older than the one the previous call just carried out, and would undo it.
        self.update_wanted();
        let pending: Vec<(String, DoorMode)> = self
            .doors
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(id, s)| s.wanted.filter(|w| s.confirmed != Some(*w)).map(|w| (id.clone(), w)))
            .collect();
        for (id, mode) in pending {
            let door_no =
                self.config.devices.iter().find(|d| d.id == id).and_then(|d| d.door_no).unwrap_or(1);
            let result = self.fleet.door(&id, move |c| c.control_door(door_no, command_for(mode))).await;
            let changed = {
                let mut doors = self.doors.lock().unwrap();
                let s = doors.entry(id.clone()).or_default();
                let error = result.as_ref().err().map(|e| e.message().to_string());
                let changed = result.is_ok() || s.error != error;
                s.confirmed = if result.is_ok() { Some(mode) } else { None };
                s.error = error;
                changed
            };
            if changed {
                let entry = Entry::new(
                    Actor::system(),
                    EventKind::DoorModeCommanded,
                    id.clone(),
                    if result.is_ok() { Outcome::Ok } else { Outcome::Failed },
                )
                .with_detail(json!({"door": id, "mode": mode, "error": result.as_ref().err().map(|e| e.message().to_string())}));
                if let Err(e) = self.journal.submit(entry).await {
                    tracing::warn!(error = %e, "door mode not journaled");
                }
                self.alarms.announce(false, true, false);
            }
        }
    }

    async fn apply(&self, unit: usize, effect: &Effect) -> Result<()> {
        let gate_id = self.units[unit].gate.as_ref().map(|g| g.id.clone()).unwrap_or_default();
        let fire_id = self.config.evaluation_area.fire_alarm.clone().unwrap_or_default();
        match effect {
            Effect::RaiseGateAlarm => {
                self.alarms
                    .raise(AlarmKind::GateDetection, &gate_id, None, json!({"door": self.entrance()}))
                    .await?;
            }
            Effect::ClearGateAlarm => self.alarms.clear_gate_alarm(&gate_id).await?,
            Effect::RaiseFireAlarm => {
                let first = self.alarms.list(&AlarmFilter { open_only: true, limit: Some(1000) }).await?;
                let already = first.iter().any(|a| a.kind == AlarmKind::FireAlarm && a.source == fire_id);
                self.alarms
                    .raise(AlarmKind::FireAlarm, &fire_id, None, json!({"doors": self.area_doors()}))
                    .await?;
                if !already {
                    let entry = Entry::new(
                        Actor::device(&fire_id),
                        EventKind::EmergencyRelease,
                        "evaluation area",
                        Outcome::Ok,
                    )
                    .with_detail(json!({"doors": self.area_doors()}));
                    self.journal.record(entry).await?;
                }
            }
            Effect::ClearFireAlarm => self.alarms.cause_gone(AlarmKind::FireAlarm, &fire_id).await?,
            Effect::PulseOpen => {
                let entrance = self.entrance().to_string();
                let door_no = self
                    .config
                    .devices
                    .iter()
                    .find(|d| d.id == entrance)
                    .and_then(|d| d.door_no)
                    .unwrap_or(1);
                self.fleet.door(&entrance, move |c| c.control_door(door_no, DoorCommand::Open)).await?;
            }
        }
        Ok(())
    }

    /// Answers an alarm. A gate alarm is answered to its interlock too, which clears it once the
    /// gate has been quiet long enough.
    pub async fn acknowledge_alarm(&self, caller: &Caller, id: i64, note: &str) -> Result<AlarmView> {
        // The record first: it checks the note and refuses a second answer.
        let view = self.alarms.acknowledge(caller, id, note).await?;
        if view.kind != AlarmKind::GateDetection {
            return Ok(view);
        }
        let Some(i) = self.units.iter().position(|u| u.gate.as_ref().is_some_and(|g| g.id == view.source))
        else {
            return Ok(view);
        };
        let effects = {
            let mut m = self.units[i].machine.lock().unwrap();
            // A machine in Normal means the app restarted since the alarm: nothing holds the door.
            if m.phase() == GatePhase::Normal {
                None
            } else {
                Some(m.acknowledge(self.now_ms()).unwrap_or_default())
            }
        };
        match effects {
            None => self.alarms.clear_gate_alarm(&view.source).await?,
            Some(effects) => self.settle(effects.into_iter().map(|e| (i, e)).collect()).await,
        }
        self.alarms.alarm(view.id).await
    }

    /// 单次放行 — lets one person through a gate in alarm, with a reason.
    pub async fn open_once(&self, caller: &Caller, gate_id: &str, reason: &str) -> Result<GateView> {
        let i = self.units.iter().position(|u| u.gate.as_ref().is_some_and(|g| g.id == gate_id)).ok_or_else(
            || {
                Error::not_found(
                    format!("没有编号为 “{gate_id}” 的检测门。"),
                    format!("There is no gate \"{gate_id}\"."),
                )
            },
        )?;
        let effects = self.units[i].machine.lock().unwrap().open_once(reason, self.now_ms())?;
        let entry = Entry::new(caller.actor(), EventKind::GateOpenedOnce, gate_id.to_string(), Outcome::Ok)
            .with_detail(json!({"gate": gate_id, "door": self.entrance(), "reason": reason.trim()}));
        self.journal.record(entry).await?;
        self.settle(effects.into_iter().map(|e| (i, e)).collect()).await;
        Ok(self.status().await?.swap_remove(i))
    }

    /// An administrator ends the fire alarm's release, with a reason.
    pub async fn restore(&self, caller: &Caller, reason: &str) -> Result<Vec<GateView>> {
        if reason.trim().chars().count() < 2 {
            return Err(Error::invalid(
                "请填写恢复原因（至少两个字）。",
                "Give the reason for restoring (at least two characters).",
            ));
        }
        let mut effects = Vec::new();
        for (i, u) in self.units.iter().enumerate() {
            effects.extend(u.machine.lock().unwrap().restore()?.into_iter().map(|e| (i, e)));
        }
        let entry = Entry::new(caller.actor(), EventKind::EmergencyRestored, "evaluation area", Outcome::Ok)
            .with_detail(json!({"reason": reason.trim(), "doors": self.area_doors()}));
        self.journal.record(entry).await?;
        self.settle(effects).await;
        self.status().await
    }

    fn view(&self, i: usize, open: &[AlarmView]) -> GateView {
        let u = &self.units[i];
        let m = u.machine.lock().unwrap();
        let doors = self.doors.lock().unwrap();
        let door = doors.get(self.entrance()).cloned().unwrap_or_default();
        let gate_id = u.gate.as_ref().map(|g| g.id.clone()).unwrap_or_default();
        let alarm_id =
            open.iter().find(|a| a.kind == AlarmKind::GateDetection && a.source == gate_id).map(|a| a.id);
        GateView {
            name: u.gate.as_ref().map_or_else(|| self.fleet.name_of(self.entrance()), |g| g.name.clone()),
            gate_id,
            phase: m.phase(),
            input_active: m.input(),
            door_id: self.entrance().to_string(),
            door_name: self.fleet.name_of(self.entrance()),
            door_mode: door.confirmed.filter(|c| Some(*c) == door.wanted),
            door_error: door.error,
            alarm_id,
            awaiting_acknowledgement: m.awaiting_acknowledgement(self.now_ms()),
        }
    }

    pub async fn status(&self) -> Result<Vec<GateView>> {
        let open = self.alarms.list(&AlarmFilter { open_only: true, limit: Some(1000) }).await?;
        Ok((0..self.units.len()).map(|i| self.view(i, &open)).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// How often the interlocks are ticked and unconfirmed doors retried when nothing else happens.
pub const TICK: Duration = Duration::from_millis(200);
