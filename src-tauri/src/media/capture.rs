//! 录像采集 — one GStreamer pipeline per camera (or microphone) while the schedule wants it:
//!
//! ```text
//! rtspsrc (TCP) ─┬─ rtph264depay ! h264parse ──┐
//!                └─ rtpmp4gdepay ! aacparse ───┴─ splitmuxsink (matroskamux, ~1 min per file)
//! ```
//!
//! Nothing is transcoded. Matroska stays playable when the process dies mid-file (a default MP4 does
//! not), so a crash loses at most what was not yet written. The camera's streams are known only once
//! rtspsrc has read its SDP: each stream's pad is held (blocking probe) until rtspsrc says there are
//! no more, then the splitmuxsink is made with exactly those inputs — a splitmuxsink input that never
//! receives data would hold every file open forever.
//!
//! A thread per camera owns its pipeline and reads its bus. It reports closed segments, loss of data
//! (no buffer for `stall_timeout_seconds`, an error, or the end of the stream) and the return of
//! data to the recorder (`super::recorder`), which indexes, records gaps and raises alarms on the async side. After a
//! loss the thread reconnects with a backoff of 1 s doubling to 10 s; each connection writes new
//! files, so what was recorded is never reopened.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gstreamer as gst;
use gstreamer::prelude::*;
use serde::Serialize;
use tokio::sync::mpsc;

use super::chain::ClosedSegment;
use super::schedule::Why;
use crate::clock::Clock;

/// What a camera thread needs to know about its camera.
#[derive(Debug, Clone)]
pub struct Source {
    pub camera_id: String,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// How a camera thread records.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The venue's recordings directory; files go to `{camera}/{YYYYMMDD}/{start_ms}.mkv`.
    pub dir: PathBuf,
    pub time_zone: Tz,
    pub segment: Duration,
    pub stall: Duration,
}

/// What camera threads tell the recorder.
#[derive(Debug, Clone)]
pub enum Report {
    /// A file was finished (or, after a loss, abandoned with what it holds); to be indexed.
    Closed(ClosedSegment),
    /// The camera stopped delivering at `since_ms`.
    Lost { camera_id: String, since_ms: i64, reason: String },
    /// Data came again at `at_ms`.
    Back { camera_id: String, at_ms: i64 },
    /// The thread ended because recording is no longer wanted, at `at_ms`.
    Ended { camera_id: String, at_ms: i64 },
}

/// The state of one camera's recording, as the status screen shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RecState {
    /// Not wanted by the schedule.
    Idle,
    /// Opening the stream (first time, or again after a loss).
    Connecting,
    Recording,
    /// No data: a gap is open and the thread is reconnecting.
    Lost,
}

/// Live figures of a camera thread, read by the status screen.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Live {
    pub state: RecState,
    pub bitrate_kbps: Option<u32>,
    /// UTC epoch ms of the last buffer received.
    pub last_data_ms: Option<i64>,
    /// The file being written, relative to the recordings directory.
    pub segment: Option<String>,
    pub segment_start_ms: Option<i64>,
    /// The last problem, in words, while it lasts.
    pub problem: Option<String>,
    /// Video, audio or both, as the camera's SDP offered them.
    pub streams: Vec<String>,
}

impl Live {
    fn idle() -> Live {
        Live {
            state: RecState::Connecting,
            bitrate_kbps: None,
            last_data_ms: None,
            segment: None,
            segment_start_ms: None,
            problem: None,
            streams: Vec::new(),
        }
    }
}

/// A running camera thread.
pub struct Running {
    pub why: Why,
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<Live>>,
    join: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts recording `source`; reports go to `reports`.
    pub fn start(
        source: Source,
        settings: Settings,
        why: Why,
        clock: Arc<dyn Clock>,
        reports: mpsc::UnboundedSender<Report>,
    ) -> std::io::Result<Running> {
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(Live::idle()));
        let worker = Worker { source, settings, clock, reports, stop: stop.clone(), live: live.clone() };
        let join = std::thread::Builder::new()
            .name(format!("rec-{}", worker.source.camera_id))
            .spawn(move || worker.run())?;
        Ok(Running { why, stop, live, join: Some(join) })
    }

    pub fn live(&self) -> Live {
        self.live.lock().unwrap().clone()
    }

    /// Asks the thread to finish its file and end; `join` waits for it.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn is_finished(&self) -> bool {
        self.join.as_ref().is_none_or(|j| j.is_finished())
    }

    pub fn join(mut self) {
        self.request_stop();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct Worker {
    source: Source,
    settings: Settings,
    clock: Arc<dyn Clock>,
    reports: mpsc::UnboundedSender<Report>,
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<Live>>,
}

/// How one connection ended.
enum Outcome {
    /// Recording is no longer wanted; the file was finished.
    Stopped,
    /// The stream failed; `had_data` says whether it delivered anything first.
    Failed { reason: String, had_data: bool },
}

const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How often a camera thread looks at its bus and its stall timer: the alarm comes at most this
/// late, and the thread costs next to nothing between.
const POLL_MS: u64 = 200;
/// How long a finishing pipeline may take to write its last file before it is cut off.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

impl Worker {
    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn report(&self, r: Report) {
        // The receiver ends only when the recorder is dropped, and then nobody needs the report.
        let _ = self.reports.send(r);
    }

    fn set_live(&self, f: impl FnOnce(&mut Live)) {
        f(&mut self.live.lock().unwrap());
    }

    fn run(self) {
        if let Err(e) = gst::init() {
            self.report(Report::Lost {
                camera_id: self.source.camera_id.clone(),
                since_ms: self.now_ms(),
                reason: format!("GStreamer 无法初始化 / GStreamer could not start: {e}"),
            });
            return;
        }
        let mut backoff = BACKOFF_FIRST;
        // Set while a gap is open: reported once, closed when data comes back.
        let mut lost = false;
        while !self.stop.load(Ordering::SeqCst) {
            self.set_live(|l| l.state = if lost { RecState::Lost } else { RecState::Connecting });
            match self.connect(&mut lost) {
                Outcome::Stopped => break,
                Outcome::Failed { reason, had_data } => {
                    tracing::warn!(camera = %self.source.camera_id, %reason, "recording interrupted");
                    if !lost {
                        lost = true;
                        let since_ms =
                            self.live.lock().unwrap().last_data_ms.unwrap_or_else(|| self.now_ms());
                        self.report(Report::Lost {
                            camera_id: self.source.camera_id.clone(),
                            since_ms,
                            reason: reason.clone(),
                        });
                    }
                    self.set_live(|l| {
                        l.state = RecState::Lost;
                        l.problem = Some(reason);
                        l.bitrate_kbps = None;
                        l.segment = None;
                        l.segment_start_ms = None;
                    });
                    if had_data {
                        backoff = BACKOFF_FIRST;
                    }
                    self.sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        self.set_live(|l| {
            l.state = RecState::Idle;
            l.bitrate_kbps = None;
            l.segment = None;
            l.segment_start_ms = None;
        });
        self.report(Report::Ended { camera_id: self.source.camera_id.clone(), at_ms: self.now_ms() });
    }

    /// Sleeps, waking early when asked to stop.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One connection: build, play, record until the stream fails or recording is no longer wanted.
    fn connect(&self, lost: &mut bool) -> Outcome {
        let files = Arc::new(Files::default());
        let flow = Arc::new(Flow::new(self.now_ms()));
        let pipeline = match self.build(&files, &flow) {
            Ok(p) => p,
            Err(reason) => return Outcome::Failed { reason, had_data: false },
        };
        let outcome = self.watch(&pipeline, &files, &flow, lost);
        let _ = pipeline.set_state(gst::State::Null);
        // A file the muxer could not finish (the stream failed, or finishing took too long) is still
        // a playable Matroska file up to its last cluster: index it with the time of its last data.
        for (location, start_ms) in files.take_open() {
            let end_ms = flow.last_data_ms().unwrap_or(start_ms).max(start_ms);
            self.closed(&location, start_ms, end_ms);
        }
        outcome
    }

    fn closed(&self, location: &Path, start_ms: i64, end_ms: i64) {
        match std::fs::metadata(location) {
            Ok(m) if m.len() > 0 => self.report(Report::Closed(ClosedSegment {
                camera_id: self.source.camera_id.clone(),
                path: location.to_path_buf(),
                start_ms,
                end_ms,
                recovered: false,
            })),
            // Opened but nothing written (the stream failed at once): nothing to keep.
            _ => {
                let _ = std::fs::remove_file(location);
            }
        }
    }

    fn build(&self, files: &Arc<Files>, flow: &Arc<Flow>) -> Result<gst::Pipeline, String> {
        let fail =
            |what: &str, e: &dyn std::fmt::Display| format!("无法创建 {what} / cannot create {what}: {e}");
        let pipeline = gst::Pipeline::with_name(&format!("rec-{}", self.source.camera_id));
        let src = gst::ElementFactory::make("rtspsrc")
            .property("location", &self.source.url)
            .property_from_str("protocols", "tcp")
            .property("latency", 500u32)
            // A camera that accepts the connection and then says nothing is caught by our own stall
            // timer; this only bounds how long an RTSP request may take.
            .property("tcp-timeout", 10_000_000u64)
            .build()
            .map_err(|e| fail("rtspsrc", &e))?;
        if let Some(user) = &self.source.username {
            src.set_property("user-id", user);
        }
        if let Some(pw) = &self.source.password {
            src.set_property("user-pw", pw);
        }
        pipeline.add(&src).map_err(|e| fail("rtspsrc", &e))?;

        let branches: Arc<Mutex<Vec<Branch>>> = Arc::new(Mutex::new(Vec::new()));
        {
            let branches = branches.clone();
            let flow = flow.clone();
            let pipeline_weak = pipeline.downgrade();
            let camera = self.source.camera_id.clone();
            src.connect_pad_added(move |_, pad| {
                let Some(pipeline) = pipeline_weak.upgrade() else { return };
                match Branch::attach(&pipeline, pad, &flow) {
                    Ok(Some(b)) => branches.lock().unwrap().push(b),
                    Ok(None) => tracing::info!(%camera, caps = ?pad.current_caps(), "stream not recorded: unsupported"),
                    Err(e) => tracing::warn!(%camera, error = %e, "stream could not be attached"),
                }
            });
        }
        {
            let branches = branches.clone();
            let files = files.clone();
            let pipeline_weak = pipeline.downgrade();
            let settings = self.settings.clone();
            let clock = self.clock.clone();
            let camera = self.source.camera_id.clone();
            let live = self.live.clone();
            src.connect_no_more_pads(move |src| {
                let Some(pipeline) = pipeline_weak.upgrade() else { return };
                let mut branches = branches.lock().unwrap();
                let kinds: Vec<String> = branches.iter().map(|b| b.kind.to_string()).collect();
                live.lock().unwrap().streams = kinds;
                if let Err(e) = mux(&pipeline, &mut branches, &files, &settings, &clock, &camera) {
                    gst::element_error!(src, gst::StreamError::Format, ("{}", e));
                }
            });
        }
        Ok(pipeline)
    }

    /// Plays the pipeline and reads its bus until it fails or recording is no longer wanted.
    fn watch(
        &self,
        pipeline: &gst::Pipeline,
        files: &Arc<Files>,
        flow: &Arc<Flow>,
        lost: &mut bool,
    ) -> Outcome {
        let bus = pipeline.bus().expect("a pipeline has a bus");
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            return Outcome::Failed { reason: format!("无法播放 / cannot play: {e}"), had_data: false };
        }
        let started = Instant::now();
        let mut finishing: Option<Instant> = None;
        let mut rate = Rate::new();
        loop {
            if finishing.is_none() && self.stop.load(Ordering::SeqCst) {
                // EOS makes splitmuxsink finish the open file (cues, duration) before it ends.
                pipeline.send_event(gst::event::Eos::new());
                finishing = Some(Instant::now());
            }
            if let Some(at) = finishing
                && at.elapsed() > FINISH_TIMEOUT
            {
                return Outcome::Stopped;
            }
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(POLL_MS)) {
                use gst::MessageView;
                match msg.view() {
                    MessageView::Element(e) => {
                        if let Some(s) = e.structure() {
                            self.fragment_message(s, files);
                        }
                    }
                    MessageView::Eos(_) if finishing.is_some() => return Outcome::Stopped,
                    MessageView::Eos(_) => {
                        return Outcome::Failed {
                            reason: "摄像机结束了视频流 / the camera ended the stream".into(),
                            had_data: flow.had_data(),
                        };
                    }
                    MessageView::Error(err) => {
                        if finishing.is_some() {
                            return Outcome::Stopped;
                        }
                        let details = err.debug().map(|d| d.to_string()).unwrap_or_default();
                        tracing::debug!(camera = %self.source.camera_id, %details, "pipeline error");
                        let error = err.error();
                        return Outcome::Failed {
                            reason: format!("{} / {}", describe(&error), error),
                            had_data: flow.had_data(),
                        };
                    }
                    _ => {}
                }
            }
            let now_ms = self.now_ms();
            if flow.had_data() && *lost {
                *lost = false;
                let at_ms = flow.first_data_ms().unwrap_or(now_ms);
                self.report(Report::Back { camera_id: self.source.camera_id.clone(), at_ms });
            }
            let silent_for = flow.silent_for(started);
            if finishing.is_none() && silent_for > self.settings.stall {
                return Outcome::Failed {
                    reason: format!(
                        "{} 秒没有收到数据 / no data for {} s",
                        silent_for.as_secs(),
                        silent_for.as_secs()
                    ),
                    had_data: flow.had_data(),
                };
            }
            let kbps = rate.sample(flow.bytes());
            let (segment, segment_start_ms) = files.current(&self.settings.dir);
            self.set_live(|l| {
                if flow.had_data() {
                    l.state = RecState::Recording;
                    l.problem = None;
                }
                if kbps.is_some() {
                    l.bitrate_kbps = kbps;
                }
                l.last_data_ms = flow.last_data_ms().or(l.last_data_ms);
                l.segment = segment;
                l.segment_start_ms = segment_start_ms;
            });
        }
    }

    fn fragment_message(&self, s: &gst::StructureRef, files: &Files) {
        let location = s.get::<String>("location").ok().map(PathBuf::from);
        let running_ns = s.get::<u64>("running-time").ok();
        match (s.name().as_str(), location) {
            ("splitmuxsink-fragment-opened", Some(loc)) => files.opened(&loc, running_ns),
            ("splitmuxsink-fragment-closed", Some(loc)) => {
                if let Some((start_ms, end_ms)) = files.closed(&loc, running_ns, self.now_ms()) {
                    self.closed(&loc, start_ms, end_ms);
                }
            }
            _ => {}
        }
    }
}

/// What went wrong, in the operator's words.
fn describe(e: &gst::glib::Error) -> &'static str {
    if e.matches(gst::ResourceError::NotFound)
        || e.matches(gst::ResourceError::OpenRead)
        || e.matches(gst::ResourceError::OpenReadWrite)
    {
        "无法连接摄像机，请检查地址和网络"
    } else if e.matches(gst::ResourceError::NotAuthorized) {
        "摄像机拒绝了用户名或密码"
    } else if e.matches(gst::ResourceError::NoSpaceLeft) {
        "磁盘已满，录像无法写入"
    } else if e.matches(gst::ResourceError::Write) || e.matches(gst::ResourceError::OpenWrite) {
        "录像目录无法写入，请检查磁盘和权限"
    } else if e.matches(gst::StreamError::Format)
        || e.matches(gst::StreamError::Decode)
        || e.matches(gst::StreamError::Demux)
        || e.matches(gst::CoreError::Negotiation)
    {
        "摄像机发送的数据无法识别（格式或分辨率改变）"
    } else {
        "录像中断"
    }
}

/// One stream of the camera: depayloader and parser, held at the source until the muxer exists.
struct Branch {
    kind: &'static str,
    /// The parser's output, to be linked to splitmuxsink.
    out: gst::Pad,
    /// The rtspsrc pad and its blocking probe.
    held: Option<(gst::Pad, gst::PadProbeId)>,
}

impl Branch {
    /// Builds the branch for a new rtspsrc pad; `None` for a stream this recorder does not keep.
    fn attach(pipeline: &gst::Pipeline, pad: &gst::Pad, flow: &Arc<Flow>) -> Result<Option<Branch>, String> {
        let caps = pad.current_caps().ok_or("no caps")?;
        let s = caps.structure(0).ok_or("empty caps")?;
        let media = s.get::<&str>("media").unwrap_or("");
        let encoding = s.get::<&str>("encoding-name").unwrap_or("").to_ascii_uppercase();
        let (kind, chain): (&str, &[&str]) = match (media, encoding.as_str()) {
            ("video", "H264") => ("video", &["rtph264depay", "h264parse"]),
            ("video", "H265") => ("video", &["rtph265depay", "h265parse"]),
            ("audio", "MPEG4-GENERIC") => ("audio", &["rtpmp4gdepay", "aacparse"]),
            ("audio", "MP4A-LATM") => ("audio", &["rtpmp4adepay", "aacparse"]),
            ("audio", "PCMA") => ("audio", &["rtppcmadepay"]),
            ("audio", "PCMU") => ("audio", &["rtppcmudepay"]),
            _ => {
                // Unrecorded streams still have to go somewhere, or rtspsrc stops on not-linked.
                let sink = gst::ElementFactory::make("fakesink")
                    .property("sync", false)
                    .build()
                    .map_err(|e| e.to_string())?;
                pipeline.add(&sink).map_err(|e| e.to_string())?;
                sink.sync_state_with_parent().map_err(|e| e.to_string())?;
                pad.link(&sink.static_pad("sink").ok_or("fakesink pad")?).map_err(|e| e.to_string())?;
                return Ok(None);
            }
        };
        let mut elements = Vec::with_capacity(chain.len() + 1);
        for name in chain {
            elements.push(gst::ElementFactory::make(name).build().map_err(|e| format!("{name}: {e}"))?);
        }
        // A queue decouples the camera's streams inside the muxer's input.
        elements.push(gst::ElementFactory::make("queue").build().map_err(|e| e.to_string())?);
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
        for e in &elements {
            e.sync_state_with_parent().map_err(|e| e.to_string())?;
        }
        let first_sink = elements[0].static_pad("sink").ok_or("depayloader pad")?;
        let held = pad
            .add_probe(gst::PadProbeType::BLOCK_DOWNSTREAM, |_, _| gst::PadProbeReturn::Ok)
            .map(|id| (pad.clone(), id));
        pad.link(&first_sink).map_err(|e| e.to_string())?;
        let out = elements.last().unwrap().static_pad("src").ok_or("queue pad")?;
        // The video stream is the one whose silence means video loss; audio counts when it is alone.
        let watched = kind == "video" || !flow.watching_video();
        if kind == "video" {
            flow.watch_video();
        }
        let flow = flow.clone();
        out.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                flow.data(b.size() as u64, watched || !flow.watching_video());
            }
            gst::PadProbeReturn::Ok
        });
        Ok(Some(Branch { kind, out, held }))
    }
}

/// Makes the splitmuxsink for the streams found, links them and lets data flow.
fn mux(
    pipeline: &gst::Pipeline,
    branches: &mut [Branch],
    files: &Arc<Files>,
    settings: &Settings,
    clock: &Arc<dyn Clock>,
    camera: &str,
) -> Result<(), String> {
    if branches.is_empty() {
        return Err("摄像机没有可录制的音视频流（支持 H.264/H.265 视频和 AAC/G.711 音频）".into());
    }
    // Unbuffered: what the muxer wrote is on its way to the disk at once, so a killed process loses
    // only the muxer's current cluster, not a 64 KiB write buffer (seconds of a low-rate stream).
    let file = gst::ElementFactory::make("filesink")
        .property_from_str("buffer-mode", "unbuffered")
        .build()
        .map_err(|e| format!("filesink: {e}"))?;
    let sink = gst::ElementFactory::make("splitmuxsink")
        .property("max-size-time", settings.segment.as_nanos() as u64)
        .property_from_str("muxer-factory", "matroskamux")
        .property("sink", &file)
        .build()
        .map_err(|e| format!("splitmuxsink: {e}"))?;
    {
        let files = files.clone();
        let settings = settings.clone();
        let clock = clock.clone();
        let camera = camera.to_string();
        sink.connect("format-location-full", false, move |args| {
            // splitmuxsink holds a whole GOP before it opens a file, so "now" is up to a GOP late:
            // the file starts at its first frame, `now` minus how long ago that frame's running
            // time was.
            let now_ms = clock.now().timestamp_millis();
            let behind_ms = args.first().and_then(|a| a.get::<gst::Element>().ok()).and_then(|sink| {
                let sample = args.get(2)?.get::<gst::Sample>().ok()?;
                let pts = sample.buffer()?.pts()?;
                let first = sample.segment()?.downcast_ref::<gst::ClockTime>()?.to_running_time(pts)?;
                let current = sink.current_running_time()?;
                Some(current.saturating_sub(first).mseconds() as i64)
            });
            let start_ms = now_ms - behind_ms.unwrap_or(0);
            let mut path = segment_path(&settings.dir, &camera, settings.time_zone, start_ms);
            // The clock stepped back (or two files opened in one millisecond): never overwrite.
            let mut n = 1;
            while path.exists() {
                path.set_file_name(format!("{start_ms}-{n}.mkv"));
                n += 1;
            }
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            files.naming(&path, start_ms);
            Some(path.to_string_lossy().to_value())
        });
    }
    pipeline.add(&sink).map_err(|e| e.to_string())?;
    let mut audio = 0;
    for b in branches.iter() {
        let name = if b.kind == "video" {
            "video".to_string()
        } else {
            audio += 1;
            format!("audio_{}", audio - 1)
        };
        let pad = sink.request_pad_simple(&name).ok_or_else(|| format!("splitmuxsink {name}"))?;
        b.out.link(&pad).map_err(|e| e.to_string())?;
    }
    sink.sync_state_with_parent().map_err(|e| e.to_string())?;
    for b in branches.iter_mut() {
        if let Some((pad, id)) = b.held.take() {
            pad.remove_probe(id);
        }
    }
    Ok(())
}

/// Where a segment starting at `start_ms` is written: `{camera}/{YYYYMMDD}/{start_ms}.mkv`, the day
/// in venue time (so a day's files are together as staff think of the day).
pub fn segment_path(dir: &Path, camera: &str, tz: Tz, start_ms: i64) -> PathBuf {
    let day = DateTime::<Utc>::from_timestamp_millis(start_ms)
        .map(|t| t.with_timezone(&tz).format("%Y%m%d").to_string())
        .unwrap_or_else(|| "00000000".into());
    dir.join(camera).join(day).join(format!("{start_ms}.mkv"))
}

/// The files of one connection: the start time given when each was named, the running time at which
/// it opened, and which are still open.
#[derive(Default)]
struct Files {
    inner: Mutex<FilesInner>,
}

#[derive(Default)]
struct FilesInner {
    /// location → (start_ms, running time at opening)
    open: HashMap<PathBuf, (i64, Option<u64>)>,
    current: Option<PathBuf>,
}

impl Files {
    fn naming(&self, path: &Path, start_ms: i64) {
        let mut f = self.inner.lock().unwrap();
        f.open.insert(path.to_path_buf(), (start_ms, None));
        f.current = Some(path.to_path_buf());
    }

    fn opened(&self, path: &Path, running_ns: Option<u64>) {
        if let Some(e) = self.inner.lock().unwrap().open.get_mut(path) {
            e.1 = running_ns;
        }
    }

    /// The closed file's start and end: the end is its start plus the running time it covered.
    fn closed(&self, path: &Path, running_ns: Option<u64>, now_ms: i64) -> Option<(i64, i64)> {
        let mut f = self.inner.lock().unwrap();
        let (start_ms, opened_ns) = f.open.remove(path)?;
        if f.current.as_deref() == Some(path) {
            f.current = None;
        }
        let end_ms = match (opened_ns, running_ns) {
            (Some(a), Some(b)) if b >= a => start_ms + ((b - a) / 1_000_000) as i64,
            _ => now_ms,
        };
        Some((start_ms, end_ms.max(start_ms)))
    }

    fn take_open(&self) -> Vec<(PathBuf, i64)> {
        let mut f = self.inner.lock().unwrap();
        f.current = None;
        let mut v: Vec<_> = f.open.drain().map(|(p, (s, _))| (p, s)).collect();
        v.sort_by_key(|(_, s)| *s);
        v
    }

    fn current(&self, dir: &Path) -> (Option<String>, Option<i64>) {
        let f = self.inner.lock().unwrap();
        match &f.current {
            Some(p) => (
                Some(p.strip_prefix(dir).unwrap_or(p).to_string_lossy().replace('\\', "/")),
                f.open.get(p).map(|e| e.0),
            ),
            None => (None, None),
        }
    }
}

/// Data seen on a connection, written by pad probes in streaming threads.
struct Flow {
    origin: Instant,
    origin_ms: i64,
    /// ms since `origin` + 1 of the first and last watched buffer (0: none yet).
    first: AtomicU64,
    last: AtomicU64,
    bytes: AtomicU64,
    video: AtomicBool,
}

impl Flow {
    fn new(origin_ms: i64) -> Flow {
        Flow {
            origin: Instant::now(),
            origin_ms,
            first: AtomicU64::new(0),
            last: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            video: AtomicBool::new(false),
        }
    }

    fn watch_video(&self) {
        self.video.store(true, Ordering::SeqCst);
    }

    fn watching_video(&self) -> bool {
        self.video.load(Ordering::SeqCst)
    }

    fn data(&self, bytes: u64, watched: bool) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if watched {
            let t = self.origin.elapsed().as_millis() as u64 + 1;
            let _ = self.first.compare_exchange(0, t, Ordering::SeqCst, Ordering::SeqCst);
            self.last.store(t, Ordering::SeqCst);
        }
    }

    fn had_data(&self) -> bool {
        self.first.load(Ordering::SeqCst) > 0
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn wall(&self, t: u64) -> Option<i64> {
        (t > 0).then(|| self.origin_ms + t as i64 - 1)
    }

    fn first_data_ms(&self) -> Option<i64> {
        self.wall(self.first.load(Ordering::SeqCst))
    }

    fn last_data_ms(&self) -> Option<i64> {
        self.wall(self.last.load(Ordering::SeqCst))
    }

    /// Time since the last watched buffer, or since `started` when none came yet.
    fn silent_for(&self, started: Instant) -> Duration {
        match self.last.load(Ordering::SeqCst) {
            0 => started.elapsed(),
            t => self.origin.elapsed().saturating_sub(Duration::from_millis(t - 1)),
        }
    }
}

/// The bitrate over the last two seconds or so.
struct Rate {
    at: Instant,
    bytes: u64,
}

impl Rate {
    fn new() -> Rate {
        Rate { at: Instant::now(), bytes: 0 }
    }

    fn sample(&mut self, bytes: u64) -> Option<u32> {
        let dt = self.at.elapsed();
        if dt < Duration::from_secs(2) {
            return None;
        }
        let kbps = (bytes.saturating_sub(self.bytes) as f64 * 8.0 / dt.as_secs_f64() / 1000.0) as u32;
        self.at = Instant::now();
        self.bytes = bytes;
        Some(kbps)
    }
}
