//! 保存期限 — what retention may free, and when. Each camera's segments are kept for its purpose's
//! period (`recording.session_retention_days`, or `continuous_retention_days` for public areas);
//! a segment under a legal hold is kept whatever its age. When the recordings disk falls below
//! `recording.min_free_mib`, continuous recordings go first, oldest first, down to one day's worth;
//! session recordings within their period are never removed to make room. If that is not enough, a
//! storage alarm is raised and recording carries on until the disk is really full — never silently.
//!
//! A purged segment's file is deleted and its index row marked (the row stays as the evidence that
//! it existed); one journal record per camera and run says which segments went and why.

use std::path::Path;

use serde_json::json;

use super::Recordings;
use crate::alerts::Alarms;
use crate::alerts::views::AlarmKind;
use crate::error::Result;
use crate::journal::{Actor, Entry, EventKind, Outcome};
use crate::store::recorder as rdb;
use crate::store::recordings::{self as db, SegmentRow};

const DAY_MS: i64 = 86_400_000;
/// Continuous recordings younger than this are not freed for space (the last day is what security
/// staff look at first).
const KEEP_CONTINUOUS_MS: i64 = DAY_MS;
const BATCH: i64 = 200;

/// Free and total bytes of the disk holding `dir` (or its nearest existing parent).
pub fn disk_space(dir: &Path) -> Option<(u64, u64)> {
    let mut p = dir;
    while !p.exists() {
        p = p.parent()?;
    }
    Some((fs2::available_space(p).ok()?, fs2::total_space(p).ok()?))
}

/// What a retention run freed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Freed {
    pub segments: usize,
    pub bytes: i64,
    /// Segments past their period kept because a legal hold covers them.
    pub held: usize,
}

impl Recordings {
    /// One retention run at the clock's now: expired segments first, then space (see the module
    /// documentation). Raises or clears the storage alarm.
    pub async fn apply_retention(&self, alarms: &Alarms) -> Result<Freed> {
        let now_ms = self.clock.now().timestamp_millis();
        let r = &self.config.recording;
        let mut freed = Freed::default();
        let recorded: Vec<(String, bool)> = self.recorded_devices().map(|d| (d.id.clone(), d.continuous)).collect();
        for (camera, continuous) in &recorded {
            let days = if *continuous { r.continuous_retention_days } else { r.session_retention_days };
            let cutoff = now_ms - i64::from(days) * DAY_MS;
            self.purge_before(camera, cutoff, None, "retention_period_over", &mut freed).await?;
        }
        let min_free = r.min_free_mib * 1024 * 1024;
        let low = |dir: &Path| disk_space(dir).is_some_and(|(free, _)| free < min_free);
        if low(&self.config.recordings_dir) {
            for (camera, _) in recorded.iter().filter(|(_, c)| *c) {
                let until = Some(min_free);
                self.purge_before(camera, now_ms - KEEP_CONTINUOUS_MS, until, "low_disk_space", &mut freed)
                    .await?;
            }
        }
        if low(&self.config.recordings_dir) {
            let (free, _) = disk_space(&self.config.recordings_dir).unwrap_or_default();
            alarms
                .raise(
                    AlarmKind::StorageLow,
                    "recordings",
                    None,
                    json!({"freeBytes": free, "minFreeBytes": min_free, "dir": self.config.recordings_dir.display().to_string()}),
                )
                .await?;
        } else {
            alarms.cause_gone(AlarmKind::StorageLow, "recordings").await?;
        }
        Ok(freed)
    }

    /// Purges the camera's unheld segments that ended before `before_ms`, oldest first; with
    /// `until_free`, only until the disk has that much free.
    async fn purge_before(
        &self,
        camera: &str,
        before_ms: i64,
        until_free: Option<u64>,
        reason: &str,
        freed: &mut Freed,
    ) -> Result<()> {
        let mut after_ms = i64::MIN;
        loop {
            let batch: Vec<SegmentRow> = rdb::oldest_on_disk(self.store.pool(), camera, before_ms, BATCH)
                .await?
                .into_iter()
                .filter(|s| s.start_ms >= after_ms)
                .collect();
            if batch.is_empty() {
                return Ok(());
            }
            let mut gone = Vec::new();
            let mut held_in_batch = 0;
            for seg in &batch {
                after_ms = after_ms.max(seg.start_ms);
                if let Some(min) = until_free
                    && disk_space(&self.config.recordings_dir).is_some_and(|(free, _)| free >= min)
                {
                    break;
                }
                if self.is_held(seg).await? {
                    held_in_batch += 1;
                    continue;
                }
                let path = self.config.recordings_dir.join(&seg.path);
                match std::fs::remove_file(&path) {
                    Ok(()) => gone.push(seg),
                    // Already gone (removed by hand): the index still has to say so.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => gone.push(seg),
                    Err(e) => {
                        tracing::error!(file = %path.display(), error = %e, "retention could not remove a segment");
                    }
                }
            }
            freed.held += held_in_batch;
            if !gone.is_empty() {
                self.mark_purged(camera, &gone, reason).await?;
                freed.segments += gone.len();
                freed.bytes += gone.iter().map(|s| s.bytes).sum::<i64>();
            }
            // Only held (or unremovable) segments left in this batch: the next batch starts after them.
            if gone.len() + held_in_batch < batch.len() || (batch.len() as i64) < BATCH {
                return Ok(());
            }
            after_ms += 1;
        }
    }

    async fn mark_purged(&self, camera: &str, gone: &[&SegmentRow], reason: &str) -> Result<()> {
        let now_ms = self.clock.now().timestamp_millis();
        let mut w = self.store.begin_write().await?;
        for s in gone {
            db::mark_purged(&mut w, s.id, now_ms).await?;
        }
        let detail = json!({
            "camera": camera,
            "reason": reason,
            "segments": gone.len(),
            "firstSegmentId": gone.first().map(|s| s.id),
            "lastSegmentId": gone.last().map(|s| s.id),
            "from": self.venue_rfc3339(gone.iter().map(|s| s.start_ms).min().unwrap_or_default()),
            "to": self.venue_rfc3339(gone.iter().map(|s| s.end_ms).max().unwrap_or_default()),
            "bytes": gone.iter().map(|s| s.bytes).sum::<i64>(),
        });
        let entry =
            Entry::new(Actor::system(), EventKind::RecordingsPurged, format!("camera:{camera}"), Outcome::Ok)
                .with_detail(detail);
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        Ok(())
    }
}
