//! Work that runs by itself while the window is open. Each loop survives its own failures (logged,
//! shown through device health) so one unreachable device never stops the others.

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use serde_json::json;

use crate::Services;
use crate::alerts::views::AlarmKind;
use crate::checkin::views::DeviceState;
use crate::devices::AccessEvent;
use crate::devices::hik_isapi::{self, WatchEvent, WatchOptions};
use crate::domain::venue::DeviceKind;
use crate::journal::{Actor, Entry, EventKind, Outcome};
use crate::store::checkin as db;

const LOCKER_POLL: Duration = Duration::from_millis(1000);
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// ISAPI controllers send heartbeats well within this; silence longer means the stream is dead.
const SILENCE_TIMEOUT_MS: u64 = 40_000;

pub async fn start(s: &Arc<Services>) {
    tokio::spawn(s.uplink.clone().run());
    tokio::spawn(s.recorder.clone().run());
    let svc = s.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs(u64::from(svc.config.service.pull_interval_minutes) * 60);
        loop {
            if matches!(svc.uplink.credentials(), Ok(Some(_))) {
                let outcome = crate::sync::pulls::pull_all(&svc).await;
                if let Err(e) = &outcome {
                    tracing::warn!(error = %e, "pull from the service system failed");
                }
                svc.uplink.note_pull(&outcome);
            }
            tokio::time::sleep(every).await;
        }
    });

    let svc = s.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs(u64::from(svc.config.checkin.reconcile_interval_minutes) * 60);
        loop {
            if let Err(e) = svc.checkins.reconcile().await {
                tracing::warn!(error = %e, "credential reconciliation failed");
            }
            tokio::time::sleep(every).await;
        }
    });

    let svc = s.clone();
    tokio::spawn(async move {
        loop {
            svc.checkins.poll_lockers().await;
            tokio::time::sleep(LOCKER_POLL).await;
        }
    });

    let svc = s.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = svc.checkins.purge_rosters().await {
                tracing::warn!(error = %e, "roster purge failed");
            }
            tokio::time::sleep(PURGE_EVERY).await;
        }
    });

    for device in s.gates.polled_inputs() {
        let svc = s.clone();
        tokio::spawn(async move {
            let period = Duration::from_millis(u64::from(device.poll_ms));
            let mut next = tokio::time::Instant::now();
            loop {
                if let Err(e) = svc.gates.poll(&device).await {
                    tracing::debug!(device = %device.id, error = %e, "input read failed");
                    // A module that does not answer is not polled in a tight loop.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                next += period;
                tokio::time::sleep_until(next.max(tokio::time::Instant::now())).await;
            }
        });
    }
    if !s.gates.is_empty() {
        let svc = s.clone();
        tokio::spawn(async move {
            loop {
                // Also retries any door whose mode the controller has not confirmed yet.
                svc.gates.tick().await;
                tokio::time::sleep(crate::alerts::gate::TICK).await;
            }
        });
    }

    let svc = s.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(crate::alerts::REPEAT_SOUND_MS as u64)).await;
            if let Err(e) = svc.alarms.repeat_sound().await {
                tracing::warn!(error = %e, "alarm sound not repeated");
            }
        }
    });

    let svc = s.clone();
    let mut health = s.fleet.subscribe();
    tokio::spawn(async move {
        while let Ok(change) = health.recv().await {
            let alarm = if change.to == DeviceState::Offline {
                svc.alarms
                    .raise(AlarmKind::DeviceOffline, &change.device_id, None, json!({"error": change.error}))
                    .await
                    .map(|_| ())
            } else if change.from == DeviceState::Offline {
                svc.alarms.cause_gone(AlarmKind::DeviceOffline, &change.device_id).await
            } else {
                Ok(())
            };
            if let Err(e) = alarm {
                tracing::warn!(error = %e, "device alarm not recorded");
            }
            let outcome = if change.to == crate::checkin::views::DeviceState::Online {
                Outcome::Ok
            } else {
                Outcome::Failed
            };
            let entry = Entry::new(
                Actor::device(&change.device_id),
                EventKind::DeviceHealth,
                change.device_id.clone(),
                outcome,
            )
            .with_detail(json!({
                "device": change.device_id, "name": change.device_name,
                "from": change.from, "to": change.to, "error": change.error,
            }));
            if let Err(e) = svc.journal.record(entry).await {
                tracing::warn!(error = %e, "device health not journaled");
            }
        }
    });

    for d in
        s.config.devices.iter().filter(|d| d.kind == DeviceKind::DoorController && d.driver == "hik_isapi")
    {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let svc = s.clone();
        let id = d.id.clone();
        let settings = s.fleet.isapi_settings(d);
        // Resume catch-up where the last stored event left off.
        let since = db::last_door_event_at(s.store.pool(), &id)
            .await
            .ok()
            .flatten()
            .and_then(DateTime::from_timestamp_millis)
            .map(|t| t.with_timezone(&s.config.time_zone).fixed_offset());
        let handle = hik_isapi::watch(
            settings,
            WatchOptions { silence_timeout_ms: SILENCE_TIMEOUT_MS, reconnect_backoff_ms: 2000 },
            since,
            tx,
        );
        s.watches.lock().unwrap().push(handle);
        tokio::spawn(async move {
            // The first connection is covered by the reconciliation at start; only a return counts.
            let mut was_lost = false;
            while let Some(ev) = rx.recv().await {
                match ev {
                    WatchEvent::Connected => {
                        svc.fleet.mark_online(&id);
                        if let Ok(info) = svc.fleet.door(&id, |d| d.device_info()).await {
                            let detail = format!(
                                "{} · {} · {}",
                                info.model, info.firmware_version, info.serial_number
                            );
                            svc.fleet.set_detail(&id, detail);
                        }
                        // A controller that comes back may hold credentials revoked while it was away.
                        if std::mem::take(&mut was_lost)
                            && let Err(e) = svc.checkins.reconcile().await
                        {
                            tracing::warn!(error = %e, "reconciliation after reconnect failed");
                        }
                    }
                    WatchEvent::Disconnected { reason } => {
                        was_lost = true;
                        svc.fleet.mark_offline(&id, reason);
                    }
                    WatchEvent::Access(a) => {
                        if let Err(e) = door_alarm(&svc, &id, &a).await {
                            tracing::warn!(device = %id, error = %e, "door alarm not recorded");
                        }
                        if let Err(e) = svc.checkins.take_door_event(&id, &a).await {
                            tracing::warn!(device = %id, error = %e, "door event not stored");
                        }
                    }
                    WatchEvent::AlarmInput { input_no, active, .. } => {
                        svc.gates.alarm_input(&id, input_no, active).await
                    }
                }
            }
        });
    }
}

/// ISAPI minor codes (major 5): 0x1b door forced open, 0x1c held open too long, 0x1a door closed.
async fn door_alarm(s: &Services, door: &str, e: &AccessEvent) -> crate::error::Result<()> {
    if e.major != 5 {
        return Ok(());
    }
    let room = s.config.rooms.iter().find(|r| r.devices.iter().any(|d| d == door)).map(|r| r.id.clone());
    let detail = json!({"serialNo": e.serial_no, "time": e.time.to_rfc3339(), "doorNo": e.door_no});
    match e.minor {
        0x1b => s.alarms.raise(AlarmKind::DoorForced, door, room.as_deref(), detail).await.map(|_| ()),
        0x1c => s.alarms.raise(AlarmKind::DoorHeldOpen, door, room.as_deref(), detail).await.map(|_| ()),
        0x1a => {
            s.alarms.cause_gone(AlarmKind::DoorForced, door).await?;
            s.alarms.cause_gone(AlarmKind::DoorHeldOpen, door).await
        }
        _ => Ok(()),
    }
}
