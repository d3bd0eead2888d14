//! 录像机 — keeps one capture thread (`capture`) running for every camera and microphone the
//! schedule wants recorded, and turns what the threads report into evidence: closed segments are
//! indexed (hash chain, journal, outbox), a camera that goes silent opens a gap and raises a
//! video-loss alarm, its return closes both. Supervisors start and stop rooms by hand, with a reason
//! that is journaled.
//!
//! At start, files a crash left unindexed are recovered first (`recovery`), so the chain continues
//! from them; retention (`retention`) runs beside.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::Recordings;
use super::capture::{Live, RecState, Report, Running, Settings, Source};
use super::schedule::{self, Camera, Override, Why};
use crate::alerts::Alarms;
use crate::alerts::views::AlarmKind;
use crate::auth::Caller;
use crate::checkin::views::{DeviceHealthView, DeviceState};
use crate::clock::{Clock, venue_local_seconds};
use crate::config::VenueConfig;
use crate::domain::operator::Role;
use crate::error::{Error, Locale, Result, locale};
use crate::journal::{Entry, EventKind, Outcome};
use crate::store::Store;
use crate::store::recorder as db;
use crate::vault::Vault;

/// Who may start and stop recording by hand.
pub const CONTROL_ROLES: &[Role] = &[Role::Supervisor, Role::Administrator];

/// How often the schedule is compared with what is running.
const TICK: Duration = Duration::from_secs(2);

pub struct Recorder {
    recordings: Arc<Recordings>,
    alarms: Arc<Alarms>,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    config: Arc<VenueConfig>,
    vault: Vault,
    running: Mutex<HashMap<String, Running>>,
    overrides: Mutex<HashMap<String, Override>>,
    saving_overrides: tokio::sync::Mutex<()>,
    reports_tx: mpsc::UnboundedSender<Report>,
    reports_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Report>>,
    /// Set by `shutdown`: no more threads are started.
    closing: std::sync::atomic::AtomicBool,
    /// Whether `run` is running, and its word that it has indexed the last reports and ended.
    looping: std::sync::atomic::AtomicBool,
    finished: tokio::sync::Notify,
}

/// One camera or microphone on the status screen.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CameraRecording {
    pub camera_id: String,
    pub name: String,
    /// "camera" or "microphone".
    pub kind: String,
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    pub continuous: bool,
    /// Why it records now; `None` when it does not.
    pub why: Option<Why>,
    pub live: Live,
    /// `live.last_data_ms` in venue time (RFC 3339).
    pub last_data_at: Option<String>,
    /// A supervisor's manual start or stop in force, and when it was made (venue time).
    pub manual: Option<Override>,
    pub manual_at: Option<String>,
}

/// The recordings directory's disk.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct StorageView {
    pub path: String,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// Below this, continuous recordings are freed and an alarm is raised.
    pub min_free_bytes: u64,
    pub recorded_bytes: i64,
    pub enabled: bool,
}

impl Recorder {
    pub fn new(
        recordings: Arc<Recordings>,
        alarms: Arc<Alarms>,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        config: Arc<VenueConfig>,
        vault: Vault,
    ) -> Recorder {
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        Recorder {
            recordings,
            alarms,
            store,
            clock,
            config,
            vault,
            running: Mutex::new(HashMap::new()),
            overrides: Mutex::new(HashMap::new()),
            saving_overrides: tokio::sync::Mutex::new(()),
            reports_tx,
            reports_rx: tokio::sync::Mutex::new(reports_rx),
            closing: std::sync::atomic::AtomicBool::new(false),
            looping: std::sync::atomic::AtomicBool::new(false),
            finished: tokio::sync::Notify::new(),
        }
    }

    pub fn recordings(&self) -> &Arc<Recordings> {
        &self.recordings
    }

    /// Recovers what a crash left, then follows the schedule until `shutdown`.
    pub async fn run(self: Arc<Self>) {
        self.looping.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = self.recordings.recover(self.clock.now().timestamp_millis()).await {
            tracing::error!(error = %e, "recovery of unindexed recordings failed");
        }
        if let Err(e) = self.restore_overrides().await {
            tracing::error!(error = %e, "the supervisors' manual starts and stops could not be read back");
        }
        let mut rx = self.reports_rx.lock().await;
        let mut tick = tokio::time::interval(TICK);
        let mut retention = tokio::time::interval(Duration::from_secs(600));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    if let Err(e) = self.reconcile().await {
                        tracing::warn!(error = %e, "recording schedule not applied");
                    }
                }
                _ = retention.tick() => {
                    if let Err(e) = self.recordings.apply_retention(&self.alarms).await {
                        tracing::warn!(error = %e, "retention did not run");
                    }
                }
                Some(report) = rx.recv() => self.handle(report).await,
            }
        }
        // Reports of the threads stopped by `shutdown` (their last files) still get indexed.
        while let Ok(Some(report)) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            self.handle(report).await;
        }
        self.looping.store(false, std::sync::atomic::Ordering::SeqCst);
        self.finished.notify_one();
    }

    /// Reads back the manual starts and stops in force before a restart. One made since this
    /// process started wins; one for a device no longer in the venue file is dropped.
    pub async fn restore_overrides(&self) -> Result<()> {
        let stored = db::overrides(self.store.pool()).await?;
        let mut overrides = self.overrides.lock().unwrap();
        for (camera_id, json) in stored {
            if !self.recorded_devices().any(|d| d.id == camera_id) {
                continue;
            }
            match serde_json::from_str::<Override>(&json) {
                Ok(o) => {
                    overrides.entry(camera_id).or_insert(o);
                }
                Err(e) => tracing::warn!(camera = %camera_id, error = %e, "stored manual override ignored"),
            }
        }
        Ok(())
    }

    /// Stores the overrides as they are now, so a restart keeps them. The copy is taken under the
    /// saving lock, so of two saves at once the later one writes the newer set.
    async fn save_overrides(&self) -> Result<()> {
        let _saving = self.saving_overrides.lock().await;
        let rows: Vec<(String, String)> = self
            .overrides
            .lock()
            .unwrap()
            .iter()
            .map(|(id, o)| (id.clone(), serde_json::to_string(o).expect("an override serialises")))
            .collect();
        db::save_overrides(&self.store, &rows).await
    }

    /// Compares the schedule with the running threads: starts what should record, stops what should
    /// not.
    pub async fn reconcile(&self) -> Result<()> {
        let r = &self.config.recording;
        let sessions = if r.enabled { self.sessions_now().await? } else { Vec::new() };
        let closing = self.closing.load(std::sync::atomic::Ordering::SeqCst);
        let mut stopping = Vec::new();
        let mut forgotten = false;
        {
            let mut overrides = self.overrides.lock().unwrap();
            let mut running = self.running.lock().unwrap();
            for dev in self.recorded_devices() {
                let cam = Camera {
                    id: &dev.id,
                    room_id: self.recordings.room_of(&dev.id),
                    continuous: dev.continuous,
                };
                let sched = schedule::scheduled(cam, &sessions);
                if overrides.get(&dev.id).is_some_and(|o| schedule::expired(&sched, o)) {
                    overrides.remove(&dev.id);
                    forgotten = true;
                }
                let want = if r.enabled && !closing {
                    schedule::wanted(sched, overrides.get(&dev.id))
                } else {
                    None
                };
                if running.get(&dev.id).is_some_and(Running::is_finished) {
                    running.remove(&dev.id);
                }
                match (running.get_mut(&dev.id), want) {
                    (None, Some(why)) => match self.start(dev, why) {
                        Ok(t) => {
                            running.insert(dev.id.clone(), t);
                        }
                        Err(e) => {
                            tracing::error!(camera = %dev.id, error = %e, "recording thread not started")
                        }
                    },
                    (Some(_), None) => stopping.extend(running.remove(&dev.id)),
                    (Some(t), Some(why)) => t.why = why,
                    (None, None) => {}
                }
            }
        }
        if forgotten {
            self.save_overrides().await?;
        }
        for t in &stopping {
            t.request_stop();
        }
        if !stopping.is_empty() {
            // Each thread finishes its file (a few seconds at most) before it ends.
            let _ = tokio::task::spawn_blocking(move || stopping.into_iter().for_each(Running::join)).await;
        }
        Ok(())
    }

    /// The sessions that want their rooms recorded now, pre- and post-roll included.
    async fn sessions_now(&self) -> Result<Vec<crate::store::recordings::BookingSpan>> {
        let r = &self.config.recording;
        db::sessions_to_record(
            self.store.pool(),
            self.clock.now().timestamp_millis(),
            i64::from(r.pre_roll_minutes) * 60_000,
            i64::from(r.post_roll_minutes) * 60_000,
        )
        .await
    }

    fn recorded_devices(&self) -> impl Iterator<Item = &crate::config::Device> {
        self.recordings.recorded_devices()
    }

    fn start(&self, dev: &crate::config::Device, why: Why) -> std::io::Result<Running> {
        // Set under 设备状态 by an administrator; a camera with a password and no user name in the
        // venue file gets "admin", as the ISAPI controllers do.
        let password = self.vault.get_text(&crate::devices::fleet::password_entry(&dev.id)).ok().flatten();
        let username = dev.username.clone().or_else(|| password.as_ref().map(|_| "admin".to_string()));
        let source = Source { camera_id: dev.id.clone(), url: dev.address.clone(), username, password };
        let settings = Settings {
            dir: self.config.recordings_dir.clone(),
            time_zone: self.config.time_zone,
            segment: Duration::from_secs(u64::from(self.config.recording.segment_seconds)),
            stall: Duration::from_secs(u64::from(self.config.recording.stall_timeout_seconds)),
        };
        std::fs::create_dir_all(&settings.dir)?;
        tracing::info!(camera = %dev.id, ?why, "recording starts");
        Running::start(source, settings, why, self.clock.clone(), self.reports_tx.clone())
    }

    async fn handle(&self, report: Report) {
        let result = match &report {
            Report::Closed(seg) => match self.recordings.index_segment(seg).await {
                Ok(_) => Ok(()),
                // Left on disk: the next start's recovery indexes it.
                Err(e) => Err(e),
            },
            Report::Lost { camera_id, since_ms, reason } => self.lost(camera_id, *since_ms, reason).await,
            Report::Back { camera_id, at_ms } | Report::Ended { camera_id, at_ms } => {
                self.back(camera_id, *at_ms).await
            }
        };
        if let Err(e) = result {
            tracing::error!(?report, error = %e, "recording report not recorded");
        }
    }

    async fn lost(&self, camera_id: &str, since_ms: i64, reason: &str) -> Result<()> {
        self.recordings.open_gap(camera_id, since_ms, reason).await?;
        let room = self.recordings.room_of(camera_id);
        self.alarms
            .raise(AlarmKind::VideoLoss, camera_id, room, json!({"reason": reason, "sinceMs": since_ms}))
            .await?;
        Ok(())
    }

    async fn back(&self, camera_id: &str, at_ms: i64) -> Result<()> {
        if self.recordings.close_gap(camera_id, at_ms).await?.is_some() {
            self.alarms.cause_gone(AlarmKind::VideoLoss, camera_id).await?;
        }
        Ok(())
    }

    /// Every camera and microphone with what it is doing.
    pub fn status(&self) -> Vec<CameraRecording> {
        let running = self.running.lock().unwrap();
        let overrides = self.overrides.lock().unwrap();
        self.recorded_devices()
            .map(|d| {
                let room_id = self.recordings.room_of(&d.id).map(str::to_string);
                let room_name = room_id
                    .as_ref()
                    .and_then(|id| self.config.rooms.iter().find(|r| &r.id == id))
                    .map(|r| r.name.clone());
                let t = running.get(&d.id);
                let live = t.map(Running::live).unwrap_or_else(idle_live);
                let manual = overrides.get(&d.id).cloned();
                let manual_at = manual.as_ref().map(|o| match o {
                    Override::Start { at_ms, .. } | Override::Stop { at_ms, .. } => {
                        self.recordings.venue_rfc3339(*at_ms)
                    }
                });
                CameraRecording {
                    last_data_at: live.last_data_ms.map(|ms| self.recordings.venue_rfc3339(ms)),
                    manual_at,
                    camera_id: d.id.clone(),
                    name: d.name.clone(),
                    kind: d.kind.as_str().to_string(),
                    room_id,
                    room_name,
                    continuous: d.continuous,
                    why: t.map(|t| t.why.clone()),
                    live,
                    manual,
                }
            })
            .collect()
    }

    /// The recordings disk, for the status screen.
    pub async fn storage(&self) -> Result<StorageView> {
        let dir = self.config.recordings_dir.clone();
        let space = super::retention::disk_space(&dir);
        let recorded_bytes = db::bytes_on_disk(self.store.pool()).await?.iter().map(|(_, b)| b).sum();
        Ok(StorageView {
            path: dir.display().to_string(),
            free_bytes: space.map(|s| s.0),
            total_bytes: space.map(|s| s.1),
            min_free_bytes: self.config.recording.min_free_mib * 1024 * 1024,
            recorded_bytes,
            enabled: self.config.recording.enabled,
        })
    }

    /// A supervisor starts (`start`) or stops recording of a room's cameras, or of one camera.
    pub async fn control(
        &self,
        caller: &Caller,
        target: &ControlTarget,
        start: bool,
        reason: &str,
    ) -> Result<Vec<CameraRecording>> {
        let what = if start {
            ("手动开始录像", "start recording by hand")
        } else {
            ("手动停止录像", "stop recording by hand")
        };
        self.recordings.require_role(caller, CONTROL_ROLES, what.0, what.1).await?;
        let reason = super::require_reason(reason)?;
        if !self.config.recording.enabled {
            return Err(Error::precondition(
                "本工作站已关闭录像（场所配置 recording.enabled = false）。",
                "Recording is switched off on this workstation (recording.enabled = false in the venue file).",
            ));
        }
        let cameras = self.targets(target)?;
        let now_ms = self.clock.now().timestamp_millis();
        let sessions = self.sessions_now().await?;
        {
            let mut overrides = self.overrides.lock().unwrap();
            for id in &cameras {
                let dev = self.config.devices.iter().find(|d| &d.id == id).expect("targets are devices");
                let cam = Camera { id, room_id: self.recordings.room_of(id), continuous: dev.continuous };
                let scheduled = schedule::scheduled(cam, &sessions);
                let by = caller.username.clone();
                let reason = reason.to_string();
                match (start, scheduled) {
                    (true, _) => overrides.insert(id.clone(), Override::Start { by, reason, at_ms: now_ms }),
                    // Nothing scheduled: stopping ends the manual recording and leaves no override.
                    (false, None) => overrides.remove(id),
                    (false, scheduled) => {
                        overrides.insert(id.clone(), Override::Stop { by, reason, at_ms: now_ms, scheduled })
                    }
                };
            }
        }
        self.save_overrides().await?;
        let (target_name, room) = match target {
            ControlTarget::Room { room_id } => (format!("room:{room_id}"), Some(room_id.clone())),
            ControlTarget::Camera { camera_id } => {
                (format!("camera:{camera_id}"), self.recordings.room_of(camera_id).map(str::to_string))
            }
        };
        let entry = Entry::new(caller.actor(), EventKind::RecordingControlled, target_name, Outcome::Ok).with_detail(
            json!({"action": if start { "start" } else { "stop" }, "room": room, "cameras": cameras, "reason": reason}),
        );
        self.recordings.journal.record(entry).await?;
        self.reconcile().await?;
        Ok(self.status())
    }

    fn targets(&self, target: &ControlTarget) -> Result<Vec<String>> {
        match target {
            ControlTarget::Room { room_id } => {
                if !self.config.rooms.iter().any(|r| &r.id == room_id) {
                    return Err(Error::not_found(
                        format!("场所配置中没有房间 {room_id}。"),
                        format!("The venue file has no room {room_id}."),
                    ));
                }
                let ids: Vec<String> = self
                    .recorded_devices()
                    .filter(|d| self.recordings.room_of(&d.id) == Some(room_id.as_str()))
                    .map(|d| d.id.clone())
                    .collect();
                if ids.is_empty() {
                    return Err(Error::precondition(
                        format!("房间 {room_id} 没有配置摄像机或拾音器。"),
                        format!("Room {room_id} has no camera or microphone in the venue file."),
                    ));
                }
                Ok(ids)
            }
            ControlTarget::Camera { camera_id } => {
                if self.recorded_devices().any(|d| &d.id == camera_id) {
                    Ok(vec![camera_id.clone()])
                } else {
                    Err(Error::not_found(
                        format!("场所配置中没有摄像机或拾音器 {camera_id}。"),
                        format!("The venue file has no camera or microphone {camera_id}."),
                    ))
                }
            }
        }
    }

    /// Stops every thread, letting each finish its file, and waits (up to 15 s) until `run` has
    /// indexed their last files: a window closed normally leaves nothing for recovery.
    pub async fn shutdown(&self) {
        self.closing.store(true, std::sync::atomic::Ordering::SeqCst);
        let all: Vec<Running> = self.running.lock().unwrap().drain().map(|(_, t)| t).collect();
        for t in &all {
            t.request_stop();
        }
        let _ = tokio::task::spawn_blocking(move || all.into_iter().for_each(Running::join)).await;
        if self.looping.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = tokio::time::timeout(Duration::from_secs(15), self.finished.notified()).await;
        }
    }
}

/// Cameras and microphones have no driver of their own under 设备状态: the recorder is what talks
/// to them, so their health there is what it last saw.
pub fn fold_health(views: &mut [DeviceHealthView], cameras: &[CameraRecording], tz: chrono_tz::Tz) {
    for c in cameras {
        let Some(v) = views.iter_mut().find(|v| v.id == c.camera_id) else { continue };
        v.state = match c.live.state {
            RecState::Recording => DeviceState::Online,
            RecState::Lost => DeviceState::Offline,
            RecState::Connecting | RecState::Idle => DeviceState::Unknown,
        };
        v.last_contact_at = c.live.last_data_ms.map(|ms| venue_local_seconds(ms, tz));
        v.last_error = c.live.problem.clone();
        let rate = c.live.bitrate_kbps.map(|kbps| format!("{:.1} Mbit/s", f64::from(kbps) / 1000.0));
        let (zh, en) = match c.live.state {
            RecState::Recording => ("录像中", "recording"),
            RecState::Connecting => ("正在连接", "connecting"),
            RecState::Lost => ("信号中断，正在重连", "signal lost, reconnecting"),
            // Not contacted while nothing is to be recorded: its state is not known.
            RecState::Idle => ("空闲：当前无需录像", "idle: nothing to record now"),
        };
        let words = if locale() == Locale::ZhCn { zh } else { en };
        v.detail = Some(match (c.live.state, rate) {
            (RecState::Recording, Some(rate)) => format!("{words}, {rate}"),
            _ => words.to_string(),
        });
    }
}

fn idle_live() -> Live {
    Live {
        state: RecState::Idle,
        bitrate_kbps: None,
        last_data_ms: None,
        segment: None,
        segment_start_ms: None,
        problem: None,
        streams: Vec::new(),
    }
}

/// What a manual start or stop applies to.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ControlTarget {
    #[serde(rename_all = "camelCase")]
    Room { room_id: String },
    #[serde(rename_all = "camelCase")]
    Camera { camera_id: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> DeviceHealthView {
        DeviceHealthView {
            id: id.into(),
            name: id.into(),
            kind: "camera".into(),
            driver: "rtsp".into(),
            address: "rtsp://127.0.0.1/x".into(),
            state: DeviceState::Unsupported,
            last_contact_at: None,
            last_error: None,
            detail: None,
        }
    }

    fn camera(
        id: &str,
        state: RecState,
        last_data_ms: Option<i64>,
        problem: Option<&str>,
    ) -> CameraRecording {
        let mut live = idle_live();
        live.state = state;
        live.last_data_ms = last_data_ms;
        live.bitrate_kbps = last_data_ms.map(|_| 2100);
        live.problem = problem.map(str::to_string);
        CameraRecording {
            camera_id: id.into(),
            name: id.into(),
            kind: "camera".into(),
            room_id: None,
            room_name: None,
            continuous: false,
            why: None,
            live,
            last_data_at: None,
            manual: None,
            manual_at: None,
        }
    }

    #[test]
    fn device_health_shows_what_the_recorder_last_saw_of_each_camera() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut views = vec![view("rec"), view("lost"), view("idle"), view("door")];
        views[3].kind = "door_controller".into();
        views[3].state = DeviceState::Online;
        let t = 1_796_570_274_933; // 2026-12-06T23:17:54.933+08:00
        let cameras = [
            camera("rec", RecState::Recording, Some(t), None),
            camera("lost", RecState::Lost, Some(t - 5_000), Some("5 秒没有收到数据")),
            camera("idle", RecState::Idle, None, None),
        ];
        fold_health(&mut views, &cameras, tz);

        assert_eq!(views[0].state, DeviceState::Online);
        assert_eq!(views[0].last_contact_at.as_deref(), Some(venue_local_seconds(t, tz).as_str()));
        assert!(views[0].detail.as_deref().unwrap().contains("2.1 Mbit/s"));
        assert_eq!(views[1].state, DeviceState::Offline);
        assert_eq!(views[1].last_error.as_deref(), Some("5 秒没有收到数据"));
        assert_eq!(views[2].state, DeviceState::Unknown, "an idle camera was not contacted: not known");
        assert_eq!(views[2].last_contact_at, None);
        assert_eq!(views[3].state, DeviceState::Online, "other devices keep the fleet's health");
        assert_eq!(views[3].detail, None);
    }
}
