//! 实时视频 — live streams for the supervision wall (监督墙).
//!
//! A camera's RTSP stream is remuxed, never transcoded, into fragmented MP4 that the page feeds to
//! Media Source Extensions (design brief: WebRTC is off in WebKitGTK, custom URI schemes are
//! unreliable for media, MSE decodes through GStreamer):
//!
//! `rtspsrc (TCP) → rtph264depay → h264parse ┐`
//! `            → rtpmp4gdepay → aacparse  ─┴→ mp4mux fragment-duration=100 → fakesink (probe)`
//!
//! Audio is muxed only when asked (`audio`): the wall's tiles are silent and only the tile being
//! listened to needs sound (one AAC decoder in the page instead of sixteen).
//!
//! One pipeline per (camera, stream, audio) is shared by every viewer ([`Feed`]); it starts with the first
//! viewer and stops when the last one leaves. The muxer's output is cut into top-level boxes: the
//! init segment (`ftyp` + `moov`) is kept and given to every viewer first, then each `moof` + `mdat`
//! fragment is handed to the viewers as it completes. A viewer that joins late starts at the next
//! fragment; MSE drops video until the next key frame (its "need random access point" rule), which
//! the simulated and real cameras send at least every second or two.
//!
//! A feed ends when the camera fails, closes the stream, or sends nothing for [`STALL`]: its viewers'
//! HTTP bodies end, the page shows 信号中断 and asks again, which starts a fresh pipeline.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::config::VenueConfig;
use crate::domain::venue::DeviceKind;
use crate::error::{Error, ErrorKind, Result};
use crate::vault::Vault;

/// Which of a camera's streams a viewer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// The low-resolution sub-stream: wall tiles.
    Sub,
    /// The recording stream: an enlarged tile.
    Main,
}

impl StreamKind {
    pub fn parse(s: &str) -> Option<StreamKind> {
        match s {
            "sub" => Some(StreamKind::Sub),
            "main" => Some(StreamKind::Main),
            _ => None,
        }
    }
}

/// At most this many main streams play at once: a 1080p stream costs the workstation a decoder and
/// ~4 Mbit/s, and a wall that opens sixteen of them freezes the window. More are refused.
pub const MAX_MAIN_STREAMS: usize = 4;
/// Muxer fragment length: a fragment reaches the page at most this late.
const FRAGMENT_MS: u32 = 100;
/// No data for this long ends the feed (a camera whose cable is pulled keeps its TCP connection).
const STALL: Duration = Duration::from_secs(5);
/// How long a viewer waits for the camera's first data before it is told the camera does not answer.
pub const FIRST_DATA_TIMEOUT: Duration = Duration::from_secs(10);
/// Fragments kept for viewers that read slowly; one further behind skips to the newest.
const KEPT_FRAGMENTS: usize = 100;

/// Where a feed reads from.
#[derive(Debug, Clone)]
struct Source {
    camera_id: String,
    url: String,
    /// Whether the camera's audio is muxed too (only for the tile being listened to).
    audio: bool,
    username: Option<String>,
    password: Option<String>,
}

/// What a feed has produced so far.
#[derive(Default)]
struct FeedState {
    /// `ftyp` + `moov`, once the muxer wrote them.
    init: Option<Arc<Vec<u8>>>,
    /// The RFC 6381 codecs of the init segment, e.g. `avc1.42c01e,mp4a.40.2`.
    codecs: Option<String>,
    /// The newest fragments, numbered from `first_seq`, each with whether a viewer can start
    /// there (it opens with a video key frame, or the stream has no video).
    fragments: VecDeque<(Arc<Vec<u8>>, bool)>,
    first_seq: u64,
    /// Set when the pipeline ended: why, for the log and the viewers.
    ended: Option<String>,
}

impl FeedState {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.fragments.len() as u64
    }
}

/// One running pipeline and its viewers.
struct Feed {
    camera_id: String,
    kind: StreamKind,
    audio: bool,
    state: Mutex<FeedState>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Feed {
    fn end(&self, reason: String) {
        let mut s = self.state.lock().unwrap();
        if s.ended.is_none() {
            tracing::info!(camera = %self.camera_id, kind = ?self.kind, %reason, "live feed ended");
            s.ended = Some(reason);
        }
        drop(s);
        self.changed.notify_all();
    }

    fn is_over(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.state.lock().unwrap().ended.is_some()
    }
}

type FeedKey = (String, StreamKind, bool);
/// A still picture (JPEG) and when it was taken.
type Still = (std::time::Instant, Arc<Vec<u8>>);

/// The live feeds of the venue's cameras.
pub struct LiveHub {
    config: Arc<VenueConfig>,
    vault: Vault,
    /// Running feeds by (camera, stream, with audio), with their viewer counts.
    feeds: Mutex<HashMap<FeedKey, (Arc<Feed>, usize)>>,
    /// The last still picture of each (camera, stream), with when it was taken.
    stills: Mutex<HashMap<(String, StreamKind), Still>>,
}

/// A viewer of a feed: reads the init segment, then fragments as they come. Dropping it leaves the
/// feed (the last viewer stops the pipeline).
pub struct Viewer {
    hub: Weak<LiveHub>,
    feed: Arc<Feed>,
    next_seq: Option<u64>,
    /// A key frame has been sent: every fragment after it is.
    joined: bool,
}

/// What a viewer reads next.
pub enum Chunk {
    Data(Arc<Vec<u8>>),
    /// Nothing new within the wait: the caller may check its connection and wait again.
    Idle,
    /// The feed ended: the camera dropped or stalled. The reason, in words.
    Ended(String),
}

impl LiveHub {
    pub fn new(config: Arc<VenueConfig>, vault: Vault) -> Arc<LiveHub> {
        Arc::new(LiveHub {
            config,
            vault,
            feeds: Mutex::new(HashMap::new()),
            stills: Mutex::new(HashMap::new()),
        })
    }

    fn source(&self, camera_id: &str, kind: StreamKind, audio: bool) -> Result<Source> {
        let dev = self
            .config
            .devices
            .iter()
            .find(|d| d.id == camera_id && matches!(d.kind, DeviceKind::Camera | DeviceKind::Microphone))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("场所配置中没有摄像机或拾音器“{camera_id}”。请刷新监督墙。"),
                    format!("The venue file has no camera or microphone \"{camera_id}\". Refresh the wall."),
                )
            })?;
        // A camera without a sub-stream in the venue file is shown from its main stream.
        let url = match kind {
            StreamKind::Sub => dev.sub_stream.clone().unwrap_or_else(|| dev.address.clone()),
            StreamKind::Main => dev.address.clone(),
        };
        // Set under 设备状态 by an administrator, as for recording.
        let password = self.vault.get_text(&crate::devices::fleet::password_entry(&dev.id)).ok().flatten();
        let username = dev.username.clone().or_else(|| password.as_ref().map(|_| "admin".to_string()));
        Ok(Source { camera_id: dev.id.clone(), url, audio, username, password })
    }

    /// One JPEG picture of the camera's stream, for a tile that cannot play it live; reused for
    /// `still::REUSE` (see `still.rs`).
    pub fn still(&self, camera_id: &str, kind: StreamKind) -> Result<Arc<Vec<u8>>> {
        let source = self.source(camera_id, kind, false)?;
        let key = (source.camera_id.clone(), kind);
        if let Some((at, jpeg)) = self.stills.lock().unwrap().get(&key)
            && at.elapsed() < super::still::REUSE
        {
            return Ok(jpeg.clone());
        }
        let jpeg = super::still::grab_jpeg(
            &source.url,
            source.username.as_deref(),
            source.password.as_deref(),
            FIRST_DATA_TIMEOUT,
        )
        .map(Arc::new)
        .map_err(|why| {
            Error::new(
                ErrorKind::Unavailable,
                format!("无法从摄像机“{camera_id}”取得画面：{why}。请检查摄像机和网络。"),
                format!("No picture from camera \"{camera_id}\": {why}. Check the camera and its network."),
            )
        })?;
        self.stills.lock().unwrap().insert(key, (std::time::Instant::now(), jpeg.clone()));
        Ok(jpeg)
    }

    /// Joins the feed of the camera's stream (with its audio when `audio`), starting its pipeline
    /// if nobody watches it yet.
    pub fn watch(self: &Arc<Self>, camera_id: &str, kind: StreamKind, audio: bool) -> Result<Viewer> {
        let source = self.source(camera_id, kind, audio)?;
        let mut feeds = self.feeds.lock().unwrap();
        let key = (source.camera_id.clone(), kind, audio);
        if let Some((feed, viewers)) = feeds.get_mut(&key)
            && !feed.is_over()
        {
            *viewers += 1;
            return Ok(Viewer {
                hub: Arc::downgrade(self),
                feed: feed.clone(),
                next_seq: None,
                joined: false,
            });
        }
        if kind == StreamKind::Main {
            // Cameras, not feeds: a camera's main stream with and without audio is one stream to decode.
            let running: std::collections::HashSet<&String> = feeds
                .iter()
                .filter(|((c, k, _), (f, _))| *k == StreamKind::Main && *c != key.0 && !f.is_over())
                .map(|((c, _, _), _)| c)
                .collect();
            let running = running.len();
            if running >= MAX_MAIN_STREAMS {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    format!("同时最多播放 {MAX_MAIN_STREAMS} 路主码流。请先关闭一个放大的画面。"),
                    format!(
                        "At most {MAX_MAIN_STREAMS} main streams play at once. Close an enlarged view first."
                    ),
                ));
            }
        }
        let feed = Arc::new(Feed {
            camera_id: source.camera_id.clone(),
            kind,
            audio,
            state: Mutex::new(FeedState::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        {
            let feed = feed.clone();
            std::thread::Builder::new()
                .name(format!("live-{}", source.camera_id))
                .spawn(move || run(&source, &feed))
                .map_err(Error::internal)?;
        }
        feeds.insert(key, (feed.clone(), 1));
        Ok(Viewer { hub: Arc::downgrade(self), feed, next_seq: None, joined: false })
    }

    /// The feeds running now: (camera, stream, with audio, viewers).
    pub fn running(&self) -> Vec<(String, StreamKind, bool, usize)> {
        let feeds = self.feeds.lock().unwrap();
        let mut v: Vec<_> = feeds
            .iter()
            .filter(|(_, (f, _))| !f.is_over())
            .map(|((c, k, a), (_, n))| (c.clone(), *k, *a, *n))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn leave(&self, feed: &Arc<Feed>) {
        let mut feeds = self.feeds.lock().unwrap();
        let key = (feed.camera_id.clone(), feed.kind, feed.audio);
        if let Some((f, viewers)) = feeds.get_mut(&key)
            && Arc::ptr_eq(f, feed)
        {
            *viewers -= 1;
            if *viewers == 0 {
                feed.stop.store(true, Ordering::SeqCst);
                feeds.remove(&key);
            }
        }
    }
}

impl Drop for LiveHub {
    fn drop(&mut self) {
        for (feed, _) in self.feeds.lock().unwrap().values() {
            feed.stop.store(true, Ordering::SeqCst);
        }
    }
}

impl Viewer {
    /// Waits up to `timeout` for the init segment; returns it with its codecs string.
    pub fn init(&mut self, timeout: Duration) -> std::result::Result<(Arc<Vec<u8>>, String), String> {
        let deadline = Instant::now() + timeout;
        let mut s = self.feed.state.lock().unwrap();
        loop {
            if let (Some(init), Some(codecs)) = (&s.init, &s.codecs) {
                // Start at the newest fragment a decoder can start from (a video key frame): a page
                // given P-frames first shows nothing, and WebKit fails the element when asked to seek
                // and play into them. Fragments before it belong to a time the page never saw.
                let start = s.fragments.iter().rposition(|(_, key)| *key).map(|i| s.first_seq + i as u64);
                self.next_seq = Some(start.unwrap_or_else(|| s.next_seq()));
                self.joined = start.is_some();
                return Ok((init.clone(), codecs.clone()));
            }
            if let Some(reason) = &s.ended {
                return Err(reason.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "摄像机 {} 在 {} 秒内没有送来视频 / camera {} sent no video within {} s",
                    self.feed.camera_id,
                    timeout.as_secs(),
                    self.feed.camera_id,
                    timeout.as_secs()
                ));
            }
            s = self.feed.changed.wait_timeout(s, left).unwrap().0;
        }
    }

    /// The next fragment, waiting up to `wait` for it.
    pub fn next(&mut self, wait: Duration) -> Chunk {
        let mut s = self.feed.state.lock().unwrap();
        let deadline = Instant::now() + wait;
        loop {
            let want = self.next_seq.unwrap_or_else(|| s.next_seq());
            // Fell behind what is kept (a slow reader): skip to the newest.
            let want = want.max(s.first_seq);
            if want < s.next_seq() {
                let (f, key) = s.fragments[(want - s.first_seq) as usize].clone();
                self.next_seq = Some(want + 1);
                // Until the first key frame nothing is sent (a late joiner between key frames).
                if !self.joined && !key {
                    continue;
                }
                self.joined = true;
                return Chunk::Data(f);
            }
            self.next_seq = Some(want);
            if let Some(reason) = &s.ended {
                return Chunk::Ended(reason.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Chunk::Idle;
            }
            s = self.feed.changed.wait_timeout(s, left).unwrap().0;
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.leave(&self.feed);
        } else {
            self.feed.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// Splits the muxer's byte stream into top-level boxes and publishes init and fragments.
#[derive(Default)]
struct Boxes {
    pending: Vec<u8>,
    init: Vec<u8>,
    fragment: Vec<u8>,
    init_done: bool,
    /// Track ids of the video tracks, from the `moov`.
    video_tracks: Vec<u32>,
}

impl Boxes {
    fn push(&mut self, bytes: &[u8], feed: &Feed) {
        self.pending.extend_from_slice(bytes);
        loop {
            if self.pending.len() < 8 {
                return;
            }
            let size = u32::from_be_bytes(self.pending[0..4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = self.pending[4..8].try_into().unwrap();
            let size = if size == 1 && self.pending.len() >= 16 {
                u64::from_be_bytes(self.pending[8..16].try_into().unwrap()) as usize
            } else {
                size
            };
            if size < 8 {
                feed.end("混流器输出无效 / the muxer wrote an invalid box".into());
                self.pending.clear();
                return;
            }
            if self.pending.len() < size {
                return;
            }
            let b: Vec<u8> = self.pending.drain(..size).collect();
            match &kind {
                b"ftyp" => self.init = b,
                b"moov" => {
                    self.init.extend_from_slice(&b);
                    let codecs = codecs_of(&b);
                    self.video_tracks = video_tracks(&b);
                    let mut s = feed.state.lock().unwrap();
                    s.init = Some(Arc::new(std::mem::take(&mut self.init)));
                    s.codecs = Some(codecs);
                    drop(s);
                    self.init_done = true;
                    feed.changed.notify_all();
                }
                b"moof" => self.fragment = b,
                b"mdat" if self.init_done => {
                    self.fragment.extend_from_slice(&b);
                    let key = self.video_tracks.is_empty()
                        || starts_with_key_frame(&self.fragment, &self.video_tracks);
                    let f = Arc::new(std::mem::take(&mut self.fragment));
                    let mut s = feed.state.lock().unwrap();
                    s.fragments.push_back((f, key));
                    while s.fragments.len() > KEPT_FRAGMENTS {
                        s.fragments.pop_front();
                        s.first_seq += 1;
                    }
                    drop(s);
                    feed.changed.notify_all();
                }
                // `mfra` and friends at the end of a stream, or anything before the init: not needed.
                _ => {}
            }
        }
    }
}

/// The children of an ISO BMFF container's payload: (type, payload).
fn children(payload: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= payload.len() {
        let size = u32::from_be_bytes(payload[i..i + 4].try_into().unwrap()) as usize;
        if size < 8 || i + size > payload.len() {
            break;
        }
        out.push((payload[i + 4..i + 8].try_into().unwrap(), &payload[i + 8..i + size]));
        i += size;
    }
    out
}

/// The track ids of the `moov`'s video tracks (handler `vide`).
pub fn video_tracks(moov_box: &[u8]) -> Vec<u32> {
    let Some(moov) = moov_box.get(8..) else { return Vec::new() };
    children(moov)
        .into_iter()
        .filter(|(t, _)| t == b"trak")
        .filter_map(|(_, trak)| {
            let kids = children(trak);
            let tkhd = kids.iter().find(|(t, _)| t == b"tkhd")?.1;
            // Full box: version 1 has 64-bit times before the id.
            let id_at = if tkhd.first() == Some(&1) { 20 } else { 12 };
            let id = u32::from_be_bytes(tkhd.get(id_at..id_at + 4)?.try_into().ok()?);
            let mdia = children(kids.iter().find(|(t, _)| t == b"mdia")?.1);
            let hdlr = mdia.iter().find(|(t, _)| t == b"hdlr")?.1;
            (hdlr.get(8..12)? == b"vide").then_some(id)
        })
        .collect()
}

/// Whether a `moof` carries a video track whose first sample is a sync sample (ISO 14496-12
/// sample flags: bit 16 is `sample_is_non_sync_sample`). Defaults from `trex` are not consulted:
/// mp4mux writes the flags in every fragment.
pub fn starts_with_key_frame(moof_box: &[u8], video: &[u32]) -> bool {
    const NON_SYNC: u32 = 0x0001_0000;
    let Some(moof) = moof_box.get(8..) else { return false };
    children(moof).into_iter().filter(|(t, _)| t == b"traf").any(|(_, traf)| {
        let kids = children(traf);
        let Some(tfhd) = kids.iter().find(|(t, _)| t == b"tfhd").map(|x| x.1) else { return false };
        let be32 = |b: &[u8], at: usize| b.get(at..at + 4).map(|x| u32::from_be_bytes(x.try_into().unwrap()));
        let (Some(tf_flags), Some(track)) = (be32(tfhd, 0), be32(tfhd, 4)) else { return false };
        if !video.contains(&track) {
            return false;
        }
        // tfhd optional fields after track_ID, in order: base offset (8), description index (4),
        // default duration (4), default size (4), default flags (4).
        let mut at = 8;
        for (bit, len) in [(0x1, 8), (0x2, 4), (0x8, 4), (0x10, 4)] {
            if tf_flags & 0x00ff_ffff & bit != 0 {
                at += len;
            }
        }
        let default_flags = if tf_flags & 0x20 != 0 { be32(tfhd, at) } else { None };
        let Some(trun) = kids.iter().find(|(t, _)| t == b"trun").map(|x| x.1) else { return false };
        let Some(tr_flags) = be32(trun, 0) else { return false };
        // version+flags (4), sample count (4), then data offset (0x1), first sample flags (0x4).
        let mut at = 8;
        if tr_flags & 0x1 != 0 {
            at += 4;
        }
        let flags = if tr_flags & 0x4 != 0 {
            be32(trun, at)
        } else if tr_flags & 0x400 != 0 {
            // Per-sample fields: duration (0x100), size (0x200), then flags.
            let skip = [(0x100, 4), (0x200, 4)]
                .iter()
                .filter(|(b, _)| tr_flags & b != 0)
                .map(|(_, l)| l)
                .sum::<usize>();
            be32(trun, at + skip)
        } else {
            default_flags
        };
        flags.is_some_and(|f| f & NON_SYNC == 0)
    })
}

/// The RFC 6381 codecs of an init segment's `moov`, as MSE's `addSourceBuffer` wants them.
pub fn codecs_of(moov: &[u8]) -> String {
    let mut codecs = Vec::new();
    let find = |tag: &[u8]| moov.windows(4).position(|w| w == tag);
    if let Some(i) = find(b"avcC") {
        // avcC: version, profile, compatibility, level.
        if let Some(p) = moov.get(i + 5..i + 8) {
            codecs.push(format!("avc1.{:02x}{:02x}{:02x}", p[0], p[1], p[2]));
        }
    } else if find(b"hvcC").is_some() {
        // Main profile, level 4.1: the common camera case; the webview says whether it decodes it.
        codecs.push("hvc1.1.6.L123.B0".to_string());
    }
    if let Some(i) = find(b"esds") {
        codecs.push(format!("mp4a.40.{}", aac_object_type(&moov[i + 4..]).unwrap_or(2)));
    }
    codecs.join(",")
}

/// The AAC object type (2 = AAC-LC) of an `esds` box's body (ISO 14496-1 descriptors):
/// version and flags, ES_Descriptor (0x03), DecoderConfigDescriptor (0x04, 13 fixed bytes), then
/// DecoderSpecificInfo (0x05) whose first five bits are the object type.
fn aac_object_type(esds: &[u8]) -> Option<u8> {
    // A descriptor length takes 1 to 4 bytes, the high bit marking "more follows".
    fn skip_len(b: &[u8], mut i: usize) -> Option<usize> {
        for _ in 0..4 {
            let more = b.get(i)? & 0x80 != 0;
            i += 1;
            if !more {
                return Some(i);
            }
        }
        Some(i)
    }
    let mut i = 4;
    if *esds.get(i)? != 0x03 {
        return None;
    }
    i = skip_len(esds, i + 1)?;
    let flags = *esds.get(i + 2)?;
    i += 3;
    if flags & 0x80 != 0 {
        i += 2;
    }
    if flags & 0x40 != 0 {
        i += 1 + *esds.get(i)? as usize;
    }
    if flags & 0x20 != 0 {
        i += 2;
    }
    if *esds.get(i)? != 0x04 {
        return None;
    }
    i = skip_len(esds, i + 1)? + 13;
    if *esds.get(i)? != 0x05 {
        return None;
    }
    i = skip_len(esds, i + 1)?;
    esds.get(i).map(|b| b >> 3).filter(|a| *a > 0)
}

/// Builds and runs the pipeline until the feed is stopped or fails.
fn run(source: &Source, feed: &Arc<Feed>) {
    if let Err(e) = gst::init() {
        feed.end(format!("GStreamer 无法初始化 / GStreamer could not start: {e}"));
        return;
    }
    let (pipeline, last_data) = match build(source, feed) {
        Ok(p) => p,
        Err(e) => {
            feed.end(e);
            return;
        }
    };
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        feed.end(format!("无法播放 / cannot play: {e}"));
        let _ = pipeline.set_state(gst::State::Null);
        return;
    }
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let started = Instant::now();
    loop {
        if feed.stop.load(Ordering::SeqCst) {
            feed.end("没有观看者 / nobody watches".into());
            break;
        }
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) {
            use gst::MessageView;
            match msg.view() {
                MessageView::Eos(_) => {
                    feed.end("摄像机结束了视频流 / the camera ended the stream".into());
                    break;
                }
                MessageView::Error(err) => {
                    tracing::debug!(camera = %source.camera_id, details = ?err.debug(), "live pipeline error");
                    feed.end(format!("信号中断 / signal lost: {}", err.error()));
                    break;
                }
                _ => {}
            }
        }
        let since = last_data.lock().unwrap().unwrap_or(started);
        if since.elapsed() > STALL {
            feed.end(format!(
                "信号中断：{} 秒没有收到数据 / signal lost: no data for {} s",
                STALL.as_secs(),
                STALL.as_secs()
            ));
            break;
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
}

/// The pipeline, and the instant its muxer last wrote (for the stall timer).
type Built = (gst::Pipeline, Arc<Mutex<Option<Instant>>>);

fn build(source: &Source, feed: &Arc<Feed>) -> std::result::Result<Built, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("无法创建 {what} / cannot create {what}: {e}");
    let pipeline = gst::Pipeline::with_name(&format!("live-{}", source.camera_id));
    let src = gst::ElementFactory::make("rtspsrc")
        .property("location", &source.url)
        .property_from_str("protocols", "tcp")
        // A short jitter buffer: over TCP on a LAN packets arrive in order, and every ms here is
        // glass-to-glass latency on the wall.
        .property("latency", 100u32)
        .property("tcp-timeout", 10_000_000u64)
        .build()
        .map_err(|e| fail("rtspsrc", &e))?;
    if let Some(user) = &source.username {
        src.set_property("user-id", user);
    }
    if let Some(pw) = &source.password {
        src.set_property("user-pw", pw);
    }
    let mux = gst::ElementFactory::make("mp4mux")
        .property("fragment-duration", FRAGMENT_MS)
        .property("streamable", true)
        .build()
        .map_err(|e| fail("mp4mux", &e))?;
    let sink = gst::ElementFactory::make("fakesink")
        .name("sink")
        .property("sync", false)
        .property("async", false)
        .build()
        .map_err(|e| fail("fakesink", &e))?;
    pipeline.add_many([&src, &mux, &sink]).map_err(|e| fail("pipeline", &e))?;
    mux.link(&sink).map_err(|e| fail("mp4mux → sink", &e))?;

    let last_data: Arc<Mutex<Option<Instant>>> = Arc::default();
    {
        let last_data = last_data.clone();
        let feed = feed.clone();
        let boxes = Mutex::new(Boxes::default());
        let pad = sink.static_pad("sink").expect("fakesink has a sink pad");
        pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| {
            let mut boxes = boxes.lock().unwrap();
            let mut take = |b: &gst::BufferRef| {
                if let Ok(map) = b.map_readable() {
                    boxes.push(map.as_slice(), &feed);
                }
            };
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => take(b),
                Some(gst::PadProbeData::BufferList(l)) => l.iter().for_each(take),
                _ => {}
            }
            *last_data.lock().unwrap() = Some(Instant::now());
            gst::PadProbeReturn::Ok
        });
    }
    // rtspsrc adds a pad per stream as each stream's first packets arrive; the muxer writes its
    // `moov` as soon as data reaches it, and takes no stream after that (tried: the first viewer got
    // video without audio). So every pad is held by a blocking probe until rtspsrc says all pads
    // are there, as the recorder does.
    let held: Arc<Mutex<Vec<(gst::Pad, gst::PadProbeId)>>> = Arc::default();
    {
        let pipeline_weak = pipeline.downgrade();
        let mux = mux.clone();
        let camera = source.camera_id.clone();
        let held = held.clone();
        let audio = source.audio;
        src.connect_pad_added(move |_, pad| {
            let Some(pipeline) = pipeline_weak.upgrade() else { return };
            if let Some(id) =
                pad.add_probe(gst::PadProbeType::BLOCK_DOWNSTREAM, |_, _| gst::PadProbeReturn::Ok)
            {
                held.lock().unwrap().push((pad.clone(), id));
            }
            if let Err(e) = attach(&pipeline, pad, &mux, audio) {
                tracing::info!(%camera, error = %e, "live: stream not shown");
            }
        });
    }
    src.connect_no_more_pads(move |_| {
        for (pad, id) in held.lock().unwrap().drain(..) {
            pad.remove_probe(id);
        }
    });
    Ok((pipeline, last_data))
}

/// Gives an rtspsrc pad its depayloader and parser into the muxer, or a fakesink for a stream MSE
/// cannot take (G.711 audio, metadata).
fn attach(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    mux: &gst::Element,
    audio: bool,
) -> std::result::Result<(), String> {
    let caps = pad.current_caps().ok_or("no caps")?;
    let s = caps.structure(0).ok_or("empty caps")?;
    let encoding = s.get::<&str>("encoding-name").unwrap_or("").to_ascii_uppercase();
    let media = s.get::<&str>("media").unwrap_or("");
    let (chain, mux_pad): (&[&str], &str) = match (media, encoding.as_str()) {
        ("video", "H264") => (&["rtph264depay", "h264parse"], "video_%u"),
        ("video", "H265") => (&["rtph265depay", "h265parse"], "video_%u"),
        ("audio", "MPEG4-GENERIC") if audio => (&["rtpmp4gdepay", "aacparse"], "audio_%u"),
        ("audio", "MP4A-LATM") if audio => (&["rtpmp4adepay", "aacparse"], "audio_%u"),
        _ => {
            let sink = gst::ElementFactory::make("fakesink").build().map_err(|e| e.to_string())?;
            pipeline.add(&sink).map_err(|e| e.to_string())?;
            sink.sync_state_with_parent().map_err(|e| e.to_string())?;
            pad.link(&sink.static_pad("sink").unwrap()).map_err(|e| e.to_string())?;
            return Err(format!("{media}/{encoding} is not shown live"));
        }
    };
    let mut elements = Vec::new();
    for name in chain.iter().chain(["queue"].iter()) {
        elements.push(gst::ElementFactory::make(name).build().map_err(|e| format!("{name}: {e}"))?);
    }
    pipeline.add_many(&elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
    let target = mux.request_pad_simple(mux_pad).ok_or("the muxer refused another stream")?;
    elements.last().unwrap().static_pad("src").unwrap().link(&target).map_err(|e| e.to_string())?;
    for e in &elements {
        e.sync_state_with_parent().map_err(|e| e.to_string())?;
    }
    pad.link(&elements[0].static_pad("sink").unwrap()).map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_read_from_the_init_segment() {
        // avcC with profile 0x42, compatibility 0xc0, level 0x1e; esds with AAC-LC (0x12 0x08).
        let mut moov = b"....moov....avcC".to_vec();
        moov.extend_from_slice(&[1, 0x42, 0xc0, 0x1e, 0xff]);
        moov.extend_from_slice(b"....esds");
        moov.extend_from_slice(&[0, 0, 0, 0, 0x03, 0x19, 0, 1, 0, 0x04, 0x11, 0x40, 0x15, 0, 0, 0]);
        moov.extend_from_slice(&[0, 0x05, 0, 0, 0, 0x05, 0, 0, 0x05, 0x02, 0x12, 0x08]);
        assert_eq!(codecs_of(&moov), "avc1.42c01e,mp4a.40.2");
        assert_eq!(codecs_of(b"....moov....avcC\x01\x64\x00\x28"), "avc1.640028");
    }

    #[test]
    fn stream_kinds_parse() {
        assert_eq!(StreamKind::parse("sub"), Some(StreamKind::Sub));
        assert_eq!(StreamKind::parse("main"), Some(StreamKind::Main));
        assert_eq!(StreamKind::parse("MAIN"), None);
    }
}
