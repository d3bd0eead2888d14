//! Work that runs by itself while the window is open. Each loop survives its own failures (logged,
//! shown through device health) so one unreachable device never stops the others.

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use serde_json::json;

use crate::Services;
use crate::devices::hik_isapi::{self, WatchEvent, WatchOptions};
use crate::domain::venue::DeviceKind;
use crate::journal::{Actor, Entry, EventKind, Outcome};
use crate::store::checkin as db;

const LOCKER_POLL: Duration = Duration::from_millis(1000);
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// ISAPI controllers send heartbeats well within this; silence longer means the stream is dead.
const SILENCE_TIMEOUT_MS: u64 = 40_000;

pub async fn start(s: &Arc<Services>) {
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

    let svc = s.clone();
    let mut health = s.fleet.subscribe();
    tokio::spawn(async move {
        while let Ok(change) = health.recv().await {
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
                        if let Err(e) = svc.checkins.reconcile().await {
                            tracing::warn!(error = %e, "reconciliation after reconnect failed");
                        }
                    }
                    WatchEvent::Disconnected { reason } => svc.fleet.mark_offline(&id, reason),
                    WatchEvent::Access(a) => {
                        if let Err(e) = svc.checkins.take_door_event(&id, &a).await {
                            tracing::warn!(device = %id, error = %e, "door event not stored");
                        }
                    }
                    WatchEvent::AlarmInput { .. } => {}
                }
            }
        });
    }
}
