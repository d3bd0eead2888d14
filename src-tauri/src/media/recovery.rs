//! 断电恢复 — after a crash or power cut, the segment files the recorder was writing are not in the
//! index. Matroska keeps what reached the disk playable, so at the next start each such file is
//! checked (demuxed to its end), indexed as recovered with its real duration, and the span the
//! camera was not recorded is written down as a gap. A file that does not play is kept, renamed
//! `*.mkv.damaged`, and named in the log: nothing recorded is deleted.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::Recordings;
use super::chain::ClosedSegment;
use crate::error::{Error, Result};

/// What recovery found.
#[derive(Debug, Default, Clone)]
pub struct Recovered {
    /// Indexed segments, by camera in time order.
    pub indexed: Vec<(String, PathBuf)>,
    /// Files kept aside because they do not play.
    pub damaged: Vec<PathBuf>,
}

/// A media file as a demuxer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub duration_ms: i64,
    /// Video frames in the file (0 for a microphone's).
    pub video_frames: u64,
    pub video: bool,
    pub audio: bool,
}

impl Recordings {
    /// Indexes the segment files the index does not know (see the module documentation), and
    /// records for each camera that had such files the gap from its last recorded frame to `now_ms`.
    pub async fn recover(&self, now_ms: i64) -> Result<Recovered> {
        let dir = self.config.recordings_dir.clone();
        let cameras: Vec<String> = self.recorded_devices().map(|d| d.id.clone()).collect();
        let found = tokio::task::spawn_blocking(move || unindexed_candidates(&dir, &cameras))
            .await
            .map_err(Error::internal)?;
        let mut out = Recovered::default();
        for (camera, files) in found {
            // Set when the camera has a file the index does not know: it was recording when the
            // app stopped, and the time from its last recorded frame to now is a gap.
            let mut crashed = false;
            for (path, start_ms) in files {
                let rel = path.strip_prefix(&self.config.recordings_dir).unwrap_or(&path);
                if self.is_indexed(&rel.to_string_lossy().replace('\\', "/")).await? {
                    continue;
                }
                crashed = true;
                // Opened and killed before anything reached the disk: there is nothing to keep.
                if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
                let p = path.clone();
                let probe =
                    tokio::task::spawn_blocking(move || probe_file(&p)).await.map_err(Error::internal)?;
                match probe {
                    Ok(probe) => {
                        let seg = ClosedSegment {
                            camera_id: camera.clone(),
                            path: path.clone(),
                            start_ms,
                            end_ms: start_ms + probe.duration_ms,
                            recovered: true,
                        };
                        self.index_segment(&seg).await?;
                        tracing::warn!(%camera, file = %path.display(), "unindexed segment recovered");
                        out.indexed.push((camera.clone(), path));
                    }
                    Err(why) => {
                        let aside = path.with_extension("mkv.damaged");
                        tracing::error!(%camera, file = %path.display(), %why, kept_as = %aside.display(), "segment does not play");
                        std::fs::rename(&path, &aside).map_err(|e| {
                            Error::internal(format!("cannot set aside {}: {e}", path.display()))
                        })?;
                        out.damaged.push(aside);
                    }
                }
            }
            let last_end = match crashed {
                true => crate::store::recorder::last_segment(self.store.pool(), &camera).await?.map(|s| s.end_ms),
                false => None,
            };
            if let Some(from_ms) = last_end
                && from_ms < now_ms
            {
                self.record_gap(&camera, from_ms, now_ms, "应用异常退出，重启后恢复录像 / the app stopped unexpectedly; recording resumed at restart")
                    .await?;
            }
        }
        Ok(out)
    }
}

/// Segment files (`{camera}/{day}/{start_ms}.mkv`) of the venue's cameras, per camera by start.
/// Whether each is indexed is checked by the caller.
fn unindexed_candidates(dir: &Path, cameras: &[String]) -> Vec<(String, Vec<(PathBuf, i64)>)> {
    let mut out = Vec::new();
    for camera in cameras {
        let mut files = Vec::new();
        let Ok(days) = std::fs::read_dir(dir.join(camera)) else { continue };
        for day in days.flatten() {
            let Ok(entries) = std::fs::read_dir(day.path()) else { continue };
            for f in entries.flatten() {
                let p = f.path();
                if p.extension().and_then(|e| e.to_str()) != Some("mkv") {
                    continue;
                }
                // `{start_ms}.mkv`, or `{start_ms}-{n}.mkv` when a name was taken.
                let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                if let Ok(start_ms) = stem.split('-').next().unwrap_or_default().parse::<i64>() {
                    files.push((p, start_ms));
                }
            }
        }
        files.sort_by_key(|(_, s)| *s);
        if !files.is_empty() {
            out.push((camera.clone(), files));
        }
    }
    out
}

/// Demuxes a Matroska file to its end, as fast as it reads: its duration (the end of its last
/// frame) and which kinds of stream it holds. An error says why it does not play.
pub fn probe_file(path: &Path) -> std::result::Result<Probe, String> {
    gst::init().map_err(|e| e.to_string())?;
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", path.to_string_lossy().to_string())
        .build()
        .map_err(|e| e.to_string())?;
    let demux = gst::ElementFactory::make("matroskademux").build().map_err(|e| e.to_string())?;
    pipeline.add_many([&src, &demux]).map_err(|e| e.to_string())?;
    src.link(&demux).map_err(|e| e.to_string())?;
    #[derive(Default)]
    struct Seen {
        first_ns: Option<u64>,
        end_ns: u64,
        video_frames: u64,
        video: bool,
        audio: bool,
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    {
        let seen = seen.clone();
        let pipeline_weak = pipeline.downgrade();
        demux.connect_pad_added(move |_, pad| {
            let Some(pipeline) = pipeline_weak.upgrade() else { return };
            let Ok(sink) = gst::ElementFactory::make("fakesink").property("sync", false).build() else {
                return;
            };
            let _ = pipeline.add(&sink);
            let _ = sink.sync_state_with_parent();
            let name = pad
                .current_caps()
                .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
                .unwrap_or_default();
            {
                let mut s = seen.lock().unwrap();
                s.video |= name.starts_with("video/");
                s.audio |= name.starts_with("audio/");
            }
            let seen = seen.clone();
            let is_video = name.starts_with("video/");
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(gst::PadProbeData::Buffer(b)) = &info.data
                    && let Some(pts) = b.pts()
                {
                    let mut s = seen.lock().unwrap();
                    s.video_frames += u64::from(is_video);
                    let start = pts.nseconds();
                    let end = start + b.duration().map_or(0, |d| d.nseconds());
                    s.first_ns = Some(s.first_ns.map_or(start, |f| f.min(start)));
                    s.end_ns = s.end_ns.max(end);
                }
                gst::PadProbeReturn::Ok
            });
            if let Some(sinkpad) = sink.static_pad("sink") {
                let _ = pad.link(&sinkpad);
            }
        });
    }
    pipeline.set_state(gst::State::Playing).map_err(|e| format!("cannot read: {e}"))?;
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let result = match bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(60),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(m) => match m.view() {
            gst::MessageView::Error(e) => Err(e.error().to_string()),
            _ => Ok(()),
        },
        None => Err("reading it took longer than 60 s".to_string()),
    };
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    let s = seen.lock().unwrap();
    let Some(first) = s.first_ns else { return Err("it holds no audio or video".into()) };
    Ok(Probe {
        duration_ms: ((s.end_ns.saturating_sub(first)) / 1_000_000) as i64,
        video_frames: s.video_frames,
        video: s.video,
        audio: s.audio,
    })
}
