//! 报警中心 — one alarm centre for every source: the detector gate, doors forced or held open,
//! devices offline, the fire alarm, and later video loss. An alarm is raised once per cause (the
//! same cause again re-activates the open alarm instead of adding another), is answered by a
//! person with a note, and is cleared when it has been answered and its cause is gone. While any
//! alarm is unanswered the desk hears it, unless someone muted the sound for a while.

pub mod gate;
pub mod sound;
pub mod views;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use tokio::sync::broadcast;

use crate::auth::Caller;
use crate::clock::{Clock, venue_local_seconds};
use crate::error::{Error, Result};
use crate::journal::{Actor, Entry, EventKind, Journal, Outcome};
use crate::store::Store;
use crate::store::alerts::{self as db, AlarmRow};
use sound::{AlarmSound, Cue};
use views::*;

/// Unanswered alarms sound again this often, so a missed first tone is not the end of it.
pub const REPEAT_SOUND_MS: i64 = 8_000;
pub const MAX_MUTE_MINUTES: u32 = 30;

pub struct Alarms {
    store: Arc<Store>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    tz: Tz,
    sound: AlarmSound,
    /// Until when, and by whom.
    muted: Mutex<Option<(DateTime<Utc>, String)>>,
    names: Box<dyn Fn(&str) -> String + Send + Sync>,
    changes: broadcast::Sender<AlarmsChanged>,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GateDetection => "gate_detection",
            Self::DoorForced => "door_forced",
            Self::DoorHeldOpen => "door_held_open",
            Self::DeviceOffline => "device_offline",
            Self::FireAlarm => "fire_alarm",
            Self::VideoLoss => "video_loss",
            Self::StorageLow => "storage_low",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::GateDetection,
            Self::DoorForced,
            Self::DoorHeldOpen,
            Self::DeviceOffline,
            Self::FireAlarm,
            Self::VideoLoss,
            Self::StorageLow,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::FireAlarm => Severity::Critical,
            Self::GateDetection | Self::DoorForced | Self::VideoLoss | Self::StorageLow => Severity::Major,
            Self::DoorHeldOpen | Self::DeviceOffline => Severity::Minor,
        }
    }

    /// What happened and what to do.
    fn message(self, source: &str) -> (String, String) {
        match self {
            Self::GateDetection => (
                format!("{source}检测到通讯设备，入口门已锁闭。请引导人员将手机等通讯设备存入储物柜后重新通过。"),
                format!(
                    "{source} detected a communication device; the entrance is held closed. Have the person put phones \
                     and devices in a locker and walk through again."
                ),
            ),
            Self::DoorForced => (
                format!("{source}被强行打开。请立即到现场查看并记录情况。"),
                format!("{source} was forced open. Go and check at once and record what happened."),
            ),
            Self::DoorHeldOpen => (
                format!("{source}长时间未关闭。请到现场把门关好。"),
                format!("{source} has been held open too long. Go and close it."),
            ),
            Self::DeviceOffline => (
                format!("{source}离线。请检查设备电源和网络；恢复后报警自动解除（仍需确认）。"),
                format!("{source} is offline. Check its power and network; the alarm ends when it is back (after acknowledgement)."),
            ),
            Self::FireAlarm => (
                "火警联动：评标评审区所有门已释放。请按疏散预案组织人员撤离，火情排除后由系统管理员恢复。".to_string(),
                "Fire alarm: every door of the evaluation area is released. Evacuate by the plan; an administrator \
                 restores once the fire is out."
                    .to_string(),
            ),
            Self::VideoLoss => (
                format!("{source}视频丢失。录像出现中断，请检查摄像机和网络。"),
                format!("{source} lost video; the recording has a gap. Check the camera and its network."),
            ),
            Self::StorageLow => (
                "录像存储空间不足：已按保存策略清理仍不够。录像仍在继续，请尽快扩容或将已过保存期的录像归档。"
                    .to_string(),
                "Recording storage is low even after retention freed what it may. Recording continues; add space or \
                 archive recordings past their retention soon."
                    .to_string(),
            ),
        }
    }
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Major => "major",
            Self::Minor => "minor",
        }
    }
}

impl Alarms {
    pub fn new(
        store: Arc<Store>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
        tz: Tz,
        sound: AlarmSound,
        names: Box<dyn Fn(&str) -> String + Send + Sync>,
    ) -> Alarms {
        Alarms {
            store,
            journal,
            clock,
            tz,
            sound,
            muted: Mutex::new(None),
            names,
            changes: broadcast::channel(64).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AlarmsChanged> {
        self.changes.subscribe()
    }

    pub fn announce(&self, alarms: bool, gates: bool, sound: bool) {
        let _ = self.changes.send(AlarmsChanged { alarms, gates, sound });
    }

    fn local(&self, ms: i64) -> String {
        venue_local_seconds(ms, self.tz)
    }

    fn view(&self, r: AlarmRow) -> AlarmView {
        let kind = AlarmKind::parse(&r.kind).unwrap_or(AlarmKind::DeviceOffline);
        let source_name = (self.names)(&r.source);
        let (zh, en) = kind.message(&source_name);
        AlarmView {
            id: r.id,
            kind,
            severity: kind.severity(),
            source: r.source,
            source_name,
            room_id: r.room_id,
            raised_at: self.local(r.raised_at_ms),
            state: match r.state.as_str() {
                "raised" => AlarmState::Raised,
                "acknowledged" => AlarmState::Acknowledged,
                _ => AlarmState::Cleared,
            },
            active: r.active,
            acknowledged_by: r.acknowledged_by,
            acknowledged_at: r.acknowledged_at_ms.map(|t| self.local(t)),
            note: r.note,
            cleared_at: r.cleared_at_ms.map(|t| self.local(t)),
            message: match crate::error::locale() {
                crate::error::Locale::ZhCn => zh,
                crate::error::Locale::En => en,
            },
        }
    }

    /// Raises an alarm for a cause, or re-activates the open one for the same cause. Returns its id.
    pub async fn raise(
        &self,
        kind: AlarmKind,
        source: &str,
        room_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<i64> {
        let now = self.clock.now().timestamp_millis();
        let mut w = self.store.begin_write().await?;
        let id = match db::open_alarm_in(&mut w, kind.as_str(), source).await? {
            Some(open) => {
                db::set_active(&mut w, open.id, true).await?;
                w.commit().await?;
                self.announce(true, false, false);
                return Ok(open.id);
            }
            None => {
                let text = detail.to_string();
                db::insert_alarm(
                    &mut w,
                    &db::NewAlarm {
                        kind: kind.as_str(),
                        severity: kind.severity().as_str(),
                        source,
                        room_id,
                        raised_at_ms: now,
                        detail: &text,
                    },
                )
                .await?
            }
        };
        let entry = Entry::new(
            Actor::device(source),
            EventKind::AlarmRaised,
            format!("alarm:{id}"),
            Outcome::Ok,
        )
        .with_detail(json!({
            "alarmId": id, "kind": kind.as_str(), "severity": kind.severity().as_str(), "source": source,
            "roomId": room_id, "detail": detail,
        }));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        self.sound_for(kind);
        self.announce(true, false, false);
        Ok(id)
    }

    /// The cause of an alarm went away. It clears now if it was answered, else when it is.
    pub async fn cause_gone(&self, kind: AlarmKind, source: &str) -> Result<()> {
        let now = self.clock.now().timestamp_millis();
        let mut w = self.store.begin_write().await?;
        let Some(open) = db::open_alarm_in(&mut w, kind.as_str(), source).await? else { return Ok(()) };
        db::set_active(&mut w, open.id, false).await?;
        if open.state == "acknowledged" {
            self.clear_in(&mut w, &open, now).await?;
        }
        w.commit().await?;
        self.announce(true, false, false);
        Ok(())
    }

    async fn clear_in(&self, w: &mut crate::store::WriteTx<'_>, a: &AlarmRow, now: i64) -> Result<()> {
        db::clear(w, a.id, now).await?;
        let entry =
            Entry::new(Actor::system(), EventKind::AlarmCleared, format!("alarm:{}", a.id), Outcome::Ok)
                .with_detail(json!({"alarmId": a.id, "kind": a.kind, "source": a.source}));
        self.journal.append_in(w, &[entry]).await.map(|_| ())
    }

    pub async fn alarm(&self, id: i64) -> Result<AlarmView> {
        let row = db::alarm(self.store.pool(), id).await?.ok_or_else(|| {
            Error::not_found(format!("没有编号为 {id} 的报警。"), format!("There is no alarm {id}."))
        })?;
        Ok(self.view(row))
    }

    /// A person answers an alarm, with a note. Answering twice is refused, naming who answered.
    pub async fn acknowledge(&self, caller: &Caller, id: i64, note: &str) -> Result<AlarmView> {
        let note = note.trim();
        if note.chars().count() < 2 {
            return Err(Error::invalid(
                "请填写处理说明（至少两个字），例如“已引导存放手机”。",
                "Write what was done (at least two characters), e.g. “phone put in a locker”.",
            ));
        }
        let now = self.clock.now().timestamp_millis();
        let mut w = self.store.begin_write().await?;
        let a = db::alarm_in(&mut w, id).await?.ok_or_else(|| {
            Error::not_found(format!("没有编号为 {id} 的报警。"), format!("There is no alarm {id}."))
        })?;
        if !db::acknowledge(&mut w, id, &caller.username, now, note).await? {
            let who = a.acknowledged_by.clone().unwrap_or_default();
            return Err(Error::precondition(
                format!("该报警已由 {who} 确认，无需重复确认。"),
                format!("This alarm was already acknowledged by {who}."),
            ));
        }
        let entry =
            Entry::new(caller.actor(), EventKind::AlarmAcknowledged, format!("alarm:{id}"), Outcome::Ok)
                .with_detail(json!({"alarmId": id, "kind": a.kind, "source": a.source, "note": note}));
        self.journal.append_in(&mut w, &[entry]).await?;
        // The gate's alarm clears by the interlock's rules (quiet time), not here.
        if !a.active && a.kind != AlarmKind::GateDetection.as_str() {
            self.clear_in(&mut w, &a, now).await?;
        }
        w.commit().await?;
        if self.open_unanswered().await?.is_empty() {
            self.sound.stop();
        }
        self.announce(true, false, false);
        self.alarm(id).await
    }

    /// The gate alarm of `source`, cleared by the interlock once quiet and answered.
    pub async fn clear_gate_alarm(&self, source: &str) -> Result<()> {
        let now = self.clock.now().timestamp_millis();
        let mut w = self.store.begin_write().await?;
        if let Some(open) = db::open_alarm_in(&mut w, AlarmKind::GateDetection.as_str(), source).await? {
            self.clear_in(&mut w, &open, now).await?;
        }
        w.commit().await?;
        self.announce(true, false, false);
        Ok(())
    }

    pub async fn list(&self, f: &AlarmFilter) -> Result<Vec<AlarmView>> {
        let limit = i64::from(f.limit.unwrap_or(200).clamp(1, 1000));
        Ok(db::alarms(self.store.pool(), f.open_only, limit)
            .await?
            .into_iter()
            .map(|r| self.view(r))
            .collect())
    }

    async fn open_unanswered(&self) -> Result<Vec<AlarmRow>> {
        Ok(db::alarms(self.store.pool(), true, 1000)
            .await?
            .into_iter()
            .filter(|a| a.state == "raised")
            .collect())
    }

    fn is_muted(&self) -> bool {
        let now = self.clock.now();
        self.muted.lock().unwrap().as_ref().is_some_and(|(until, _)| *until > now)
    }

    fn sound_for(&self, kind: AlarmKind) {
        if self.is_muted() {
            return;
        }
        self.sound.play(if kind == AlarmKind::GateDetection {
            Cue::GatePrompt
        } else {
            Cue::Alarm(kind.severity())
        });
    }

    /// Plays the most severe unanswered alarm again (called every few seconds).
    pub async fn repeat_sound(&self) -> Result<()> {
        let open = self.open_unanswered().await?;
        let most = open.iter().filter_map(|a| AlarmKind::parse(&a.kind)).min_by_key(|k| k.severity());
        if let Some(kind) = most {
            self.sound_for(kind);
        }
        Ok(())
    }

    pub fn sound_status(&self) -> SoundStatus {
        let status = self.sound.status();
        let muted = self.muted.lock().unwrap().clone().filter(|(until, _)| *until > self.clock.now());
        SoundStatus {
            available: status.is_ok(),
            unavailable_reason: status.err(),
            muted_until: muted.as_ref().map(|(t, _)| self.local(t.timestamp_millis())),
            muted_by: muted.map(|(_, by)| by),
        }
    }

    /// Silences alarm sounds for a while; the banner stays. Always with a reason, always journaled.
    pub async fn mute(&self, caller: &Caller, minutes: u32, reason: &str) -> Result<SoundStatus> {
        if !(1..=MAX_MUTE_MINUTES).contains(&minutes) {
            return Err(Error::invalid(
                format!("静音时长须在 1 到 {MAX_MUTE_MINUTES} 分钟之间。"),
                format!("Muting lasts 1 to {MAX_MUTE_MINUTES} minutes."),
            ));
        }
        if reason.trim().chars().count() < 2 {
            return Err(Error::invalid(
                "请填写静音原因（至少两个字）。",
                "Give a reason for muting (at least two characters).",
            ));
        }
        let until = self.clock.now() + chrono::Duration::minutes(i64::from(minutes));
        *self.muted.lock().unwrap() = Some((until, caller.username.clone()));
        self.sound.stop();
        let entry = Entry::new(caller.actor(), EventKind::AlarmSoundMuted, "alarm sound", Outcome::Ok)
            .with_detail(json!({"minutes": minutes, "until": self.local(until.timestamp_millis()), "reason": reason.trim()}));
        self.journal.record(entry).await?;
        self.announce(false, false, true);
        Ok(self.sound_status())
    }

    pub async fn unmute(&self, caller: &Caller) -> Result<SoundStatus> {
        *self.muted.lock().unwrap() = None;
        let entry = Entry::new(caller.actor(), EventKind::AlarmSoundUnmuted, "alarm sound", Outcome::Ok);
        self.journal.record(entry).await?;
        self.announce(false, false, true);
        self.repeat_sound().await?;
        Ok(self.sound_status())
    }
}
