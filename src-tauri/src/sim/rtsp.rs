//! Simulated RTSP cameras and microphones (ONVIF Profile S style streams): H.264 video of a GStreamer
//! test pattern with the room name and the wall clock (to the millisecond, so a screenshot of a
//! recording or of the live wall shows its latency) burnt in, and AAC audio of a sine tone. One
//! [`RtspSimHandle`] is one RTSP server on one port; every camera mounted on it has a main stream and
//! optionally a sub-stream, each on its own path and with its own encoder, as real cameras do.
//!
//! Media are shared: a recorder and a live view reading the same URL read one encoder, and nothing
//! is encoded while nobody is connected (a venue of ten 1080p cameras costs nothing until played).
//!
//! Faults: [`RtspSimHandle::drop_camera`] takes a camera off the network in one of two ways.
//! - [`DropMode::Disconnect`] (the default of venue-sim's control route): every session on the
//!   camera's streams is torn down and its RTSP connection closed, so clients see the end of the
//!   stream at once (EOS or a read error); new DESCRIBE/SETUP/PLAY requests for the camera get
//!   `503 Service Unavailable` until it is restored. This is what a camera that reboots or loses its
//!   encoder looks like, and what a reconnecting recorder meets while the camera is away.
//! - [`DropMode::Stall`]: connections stay open but no more media data is sent (valves in the
//!   pipeline drop everything after the encoders) and new requests get 503: a camera whose cable was
//!   pulled, where only the client's own stall timeout can notice. Restoring opens the valves; the
//!   next key frame (one a second) lets decoders pick up again.
//!
//! The GLib main loop of the server runs in a thread of its own; dropping the handle closes every
//! client, stops every pipeline, frees the port and joins that thread.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer_rtsp_server as rtsp_server;
use rtsp_server::gio;
use rtsp_server::glib;
use rtsp_server::prelude::*;
use rtsp_server::{RTSPFilterResult, RTSPMedia, RTSPMediaFactory, RTSPMediaStatus, RTSPServer};
use serde::Serialize;

/// The GStreamer bindings this module uses, for clients in tests and tools that have no direct
/// dependency on them.
pub use gstreamer as gst;

/// Resolution and frame rate of a simulated video stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl VideoFormat {
    /// A camera's main (recording) stream: 1920x1080 at 30 frames a second.
    pub const MAIN: VideoFormat = VideoFormat { width: 1920, height: 1080, fps: 30 };
    /// A camera's sub-stream (live wall): 640x360 at 30 frames a second.
    pub const SUB: VideoFormat = VideoFormat { width: 640, height: 360, fps: 30 };

    /// The x264 bitrate in kbit/s: about 0.07 bit per pixel, like a camera's default.
    fn bitrate_kbps(self) -> u32 {
        ((u64::from(self.width) * u64::from(self.height) * u64::from(self.fps.max(1)) / 15_000) as u32)
            .max(128)
    }
}

/// One stream of a simulated device: its path on the server and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamConfig {
    /// The URL path, e.g. `/kb-1/front/main`.
    pub path: String,
    /// H.264 video of the test pattern, or none (a microphone).
    pub video: Option<VideoFormat>,
    /// AAC audio of the device's tone.
    pub audio: bool,
}

/// A simulated camera (or microphone: streams without video).
#[derive(Clone, Debug, PartialEq)]
pub struct CameraConfig {
    /// The device id of the venue file; control calls name the camera by it.
    pub id: String,
    /// The first line of the overlay: the room the camera is in.
    pub room: String,
    /// The second line of the overlay: the camera's own name.
    pub label: String,
    /// The frequency of the audio tone, Hz (give cameras different tones to tell them apart).
    pub tone_hz: f64,
    /// The main stream first, then the sub-stream if any.
    pub streams: Vec<StreamConfig>,
}

impl CameraConfig {
    /// A camera with video and audio on `main_path`, and a sub-stream on `sub` if given.
    pub fn camera(
        id: &str,
        room: &str,
        label: &str,
        main_path: &str,
        main: VideoFormat,
        sub: Option<(&str, VideoFormat)>,
    ) -> CameraConfig {
        let mut streams = vec![StreamConfig { path: main_path.into(), video: Some(main), audio: true }];
        if let Some((path, format)) = sub {
            streams.push(StreamConfig { path: path.into(), video: Some(format), audio: true });
        }
        CameraConfig { id: id.into(), room: room.into(), label: label.into(), tone_hz: 440.0, streams }
    }

    /// A microphone: AAC audio only, on `path`.
    pub fn microphone(id: &str, room: &str, label: &str, path: &str) -> CameraConfig {
        CameraConfig {
            id: id.into(),
            room: room.into(),
            label: label.into(),
            tone_hz: 440.0,
            streams: vec![StreamConfig { path: path.into(), video: None, audio: true }],
        }
    }
}

/// Whether a simulated camera is on the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    Live,
    /// Dropped with [`DropMode::Disconnect`]: sessions torn down, new requests refused.
    Dropped,
    /// Dropped with [`DropMode::Stall`]: connections open, no data, new requests refused.
    Stalled,
}

/// How [`RtspSimHandle::drop_camera`] takes a camera away (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DropMode {
    #[default]
    Disconnect,
    Stall,
}

/// What a simulated camera is doing, as venue-sim's `GET /camera/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CameraStatus {
    pub id: String,
    pub state: CameraState,
    pub streams: Vec<StreamStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamStatus {
    pub path: String,
    pub url: String,
    pub video: Option<VideoFormat>,
    pub audio: bool,
    /// RTSP sessions playing or set up on this stream.
    pub sessions: usize,
    /// Whether the stream's pipeline is running (it runs only while somebody is connected).
    pub encoding: bool,
    /// Video frames produced since the simulator started (all runs of the pipeline together).
    pub frames: u64,
}

/// Starts simulated RTSP servers.
pub struct RtspSim;

struct Stream {
    config: StreamConfig,
    frames: Arc<AtomicU64>,
    /// The pipelines made for this stream (one at a time, as media are shared), to open or close
    /// their valves and to tell whether they run.
    media: Vec<glib::WeakRef<RTSPMedia>>,
}

struct Camera {
    config: CameraConfig,
    state: CameraState,
    streams: Vec<Stream>,
}

#[derive(Default)]
struct Inner {
    cameras: Vec<Camera>,
}

impl Inner {
    /// The camera a request path (possibly with a control suffix such as `/stream=0`) belongs to.
    fn camera_for_path(&self, path: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| {
            c.streams.iter().any(|s| {
                let p = s.config.path.trim_end_matches('/');
                path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
            })
        })
    }

    fn camera_mut(&mut self, id: &str) -> Option<&mut Camera> {
        self.cameras.iter_mut().find(|c| c.config.id == id)
    }
}

/// A running simulated RTSP server with its cameras. Dropping it stops everything.
pub struct RtspSimHandle {
    addr: SocketAddr,
    server: RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    source: glib::Source,
    thread: Mutex<Option<JoinHandle<()>>>,
    inner: Arc<Mutex<Inner>>,
    aac_encoder: Option<&'static str>,
    overlay: bool,
    warnings: Vec<String>,
    stopped: AtomicBool,
}

impl RtspSim {
    /// Serves RTSP on `bind` (port 0: any free port; see [`RtspSimHandle::addr`]). Fails when
    /// GStreamer cannot start or the address cannot be bound.
    pub fn start(bind: SocketAddr) -> io::Result<RtspSimHandle> {
        gst::init().map_err(|e| io::Error::other(format!("GStreamer: {e}")))?;
        for needed in ["videotestsrc", "x264enc", "rtph264pay", "audiotestsrc", "rtpmp4gpay", "valve"] {
            if gst::ElementFactory::find(needed).is_none() {
                return Err(io::Error::other(format!(
                    "the GStreamer element {needed} is missing (install gstreamer1.0-plugins-base, -good, -ugly and -bad)"
                )));
            }
        }
        let mut warnings = Vec::new();
        let aac_encoder =
            ["voaacenc", "avenc_aac"].into_iter().find(|e| gst::ElementFactory::find(e).is_some());
        if aac_encoder.is_none() {
            warnings
                .push("no AAC encoder (voaacenc, avenc_aac): simulated cameras have no audio".to_string());
        }
        let overlay = gst::ElementFactory::find("textoverlay").is_some();
        if !overlay {
            warnings.push(
                "the GStreamer element textoverlay is missing (Debian: gstreamer1.0-x): simulated cameras show \
                 no room name or clock"
                    .to_string(),
            );
        }
        for w in &warnings {
            tracing::warn!("{w}");
        }

        let server = RTSPServer::new();
        server.set_address(&bind.ip().to_string());
        server.set_service(&bind.port().to_string());
        let context = glib::MainContext::new();
        let source = server
            .create_source(None::<&gio::Cancellable>)
            .map_err(|e| io::Error::new(io::ErrorKind::AddrInUse, format!("RTSP on {bind}: {e}")))?;
        source.attach(Some(&context));
        let port = u16::try_from(server.bound_port()).unwrap_or(bind.port());
        let addr = SocketAddr::new(bind.ip(), port);

        let inner = Arc::new(Mutex::new(Inner::default()));
        // Requests for a camera that is away are refused, whatever the client has done before.
        let refuse = {
            let inner = inner.clone();
            move |ctx: &rtsp_server::RTSPContext| {
                let path = ctx.uri().map(|u| url_path(&u.request_uri())).unwrap_or_default();
                let away = inner
                    .lock()
                    .unwrap()
                    .camera_for_path(&path)
                    .is_some_and(|c| c.state != CameraState::Live);
                if away {
                    rtsp_server::gst_rtsp::RTSPStatusCode::ServiceUnavailable
                } else {
                    rtsp_server::gst_rtsp::RTSPStatusCode::Ok
                }
            }
        };
        server.connect_client_connected(move |_, client| {
            let r = refuse.clone();
            client.connect_pre_describe_request(move |_, ctx| r(ctx));
            let r = refuse.clone();
            client.connect_pre_setup_request(move |_, ctx| r(ctx));
            let r = refuse.clone();
            client.connect_pre_play_request(move |_, ctx| r(ctx));
        });

        let main_loop = glib::MainLoop::new(Some(&context), false);
        let thread = {
            let (context, main_loop) = (context.clone(), main_loop.clone());
            std::thread::Builder::new().name(format!("rtsp-sim-{port}")).spawn(move || {
                let _ = context.with_thread_default(|| main_loop.run());
            })?
        };
        Ok(RtspSimHandle {
            addr,
            server,
            context,
            main_loop,
            source,
            thread: Mutex::new(Some(thread)),
            inner,
            aac_encoder,
            overlay,
            warnings,
            stopped: AtomicBool::new(false),
        })
    }
}

/// The path of an RTSP URL: `rtsp://host:port/a/b` -> `/a/b`.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("/").trim_end_matches('/').to_string()
}

impl RtspSimHandle {
    /// The address served, with the port actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the simulated cameras lack on this machine (missing GStreamer elements), for the user.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Mounts a camera's streams. Fails if its id or one of its paths is taken, or it has no stream.
    pub fn add_camera(&self, config: CameraConfig) -> io::Result<()> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        if config.streams.is_empty() {
            return Err(invalid(format!("camera {} has no stream", config.id)));
        }
        let mut inner = self.inner.lock().unwrap();
        if inner.cameras.iter().any(|c| c.config.id == config.id) {
            return Err(invalid(format!("camera {} is already simulated", config.id)));
        }
        for s in &config.streams {
            let path = format!("/{}", s.path.trim_matches('/'));
            if path == "/" || inner.camera_for_path(&path).is_some() {
                return Err(invalid(format!("path {} of camera {} is taken or empty", s.path, config.id)));
            }
            if s.video.is_none() && (!s.audio || self.aac_encoder.is_none()) {
                return Err(invalid(format!(
                    "stream {} of camera {} would carry nothing",
                    s.path, config.id
                )));
            }
        }
        let mounts =
            self.server.mount_points().ok_or_else(|| io::Error::other("RTSP server without mount points"))?;
        let mut streams = Vec::new();
        for (index, s) in config.streams.iter().enumerate() {
            let mut s = s.clone();
            s.path = format!("/{}", s.path.trim_matches('/'));
            let frames = Arc::new(AtomicU64::new(0));
            let factory = RTSPMediaFactory::new();
            factory.set_launch(&self.launch_line(&config, &s));
            factory.set_shared(true);
            factory.set_eos_shutdown(false);
            let (inner_ref, id, frames_ref) =
                (Arc::downgrade(&self.inner), config.id.clone(), frames.clone());
            let text_head = format!("{}\n{}  {}", config.room, config.label, config.id);
            factory.connect_media_configure(move |_, media| {
                let Some(inner) = inner_ref.upgrade() else { return };
                let bin = media.element();
                let mut guard = inner.lock().unwrap();
                let Some(camera) = guard.camera_mut(&id) else { return };
                let stalled = camera.state == CameraState::Stalled;
                set_valves(&bin, stalled);
                if let Some(stream) = camera.streams.get_mut(index) {
                    stream.media.retain(|m| m.upgrade().is_some());
                    stream.media.push(media.downgrade());
                }
                drop(guard);
                attach_clock(&bin, text_head.clone(), frames_ref.clone());
            });
            mounts.add_factory(&s.path, factory);
            streams.push(Stream { config: s, frames, media: Vec::new() });
        }
        inner.cameras.push(Camera { config, state: CameraState::Live, streams });
        Ok(())
    }

    /// The ids of the cameras served, in the order they were added.
    pub fn cameras(&self) -> Vec<String> {
        self.inner.lock().unwrap().cameras.iter().map(|c| c.config.id.clone()).collect()
    }

    /// What camera `id` is doing; `None` if there is no such camera.
    pub fn status(&self, id: &str) -> Option<CameraStatus> {
        let paths = self.paths(id)?;
        let sessions = self
            .on_loop(move |server| paths.iter().map(|p| sessions_on(server, p).len()).collect::<Vec<_>>());
        let inner = self.inner.lock().unwrap();
        let camera = inner.cameras.iter().find(|c| c.config.id == id)?;
        Some(CameraStatus {
            id: camera.config.id.clone(),
            state: camera.state,
            streams: camera
                .streams
                .iter()
                .enumerate()
                .map(|(i, s)| StreamStatus {
                    path: s.config.path.clone(),
                    url: self.url(&s.config.path),
                    video: s.config.video,
                    audio: s.config.audio && self.aac_encoder.is_some(),
                    sessions: sessions.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(0),
                    encoding: s.media.iter().filter_map(|m| m.upgrade()).any(|m| {
                        matches!(m.status(), RTSPMediaStatus::Preparing | RTSPMediaStatus::Prepared)
                    }),
                    frames: s.frames.load(Ordering::Relaxed),
                })
                .collect(),
        })
    }

    /// Takes camera `id` off the network (see [`DropMode`]); `None` if there is no such camera.
    /// Dropping a camera that is already away changes only the way it is away.
    pub fn drop_camera(&self, id: &str, mode: DropMode) -> Option<CameraStatus> {
        let paths = self.paths(id)?;
        let medias = {
            let mut inner = self.inner.lock().unwrap();
            let camera = inner.camera_mut(id)?;
            camera.state = match mode {
                DropMode::Disconnect => CameraState::Dropped,
                DropMode::Stall => CameraState::Stalled,
            };
            live_media(camera)
        };
        match mode {
            DropMode::Stall => {
                for m in &medias {
                    set_valves(&m.element(), true);
                }
            }
            DropMode::Disconnect => {
                // Valves shut first, so nothing more leaves even before the sessions are gone.
                for m in &medias {
                    set_valves(&m.element(), true);
                }
                self.on_loop(move |server| {
                    close_sessions(server, &paths);
                    // What no client holds any more (e.g. a session still in its timeout) stops too.
                    for m in &medias {
                        if m.status() != RTSPMediaStatus::Unprepared {
                            let _ = m.unprepare();
                        }
                    }
                });
            }
        }
        self.status(id)
    }

    /// Puts camera `id` back on the network: new clients can play it, stalled sessions get data
    /// again. `None` if there is no such camera.
    pub fn restore_camera(&self, id: &str) -> Option<CameraStatus> {
        let medias = {
            let mut inner = self.inner.lock().unwrap();
            let camera = inner.camera_mut(id)?;
            camera.state = CameraState::Live;
            live_media(camera)
        };
        for m in &medias {
            set_valves(&m.element(), false);
        }
        self.status(id)
    }

    /// Closes every client and stops every pipeline, frees the port and ends the server's thread.
    /// Dropping the handle does the same.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let medias: Vec<RTSPMedia> = self.inner.lock().unwrap().cameras.iter().flat_map(live_media).collect();
        self.on_loop(move |server| {
            server.client_filter(Some(&mut |_, _| RTSPFilterResult::Remove));
            if let Some(pool) = server.session_pool() {
                pool.filter(Some(&mut |_, _| RTSPFilterResult::Remove));
            }
            for m in &medias {
                if m.status() != RTSPMediaStatus::Unprepared {
                    let _ = m.unprepare();
                }
            }
        });
        self.source.destroy();
        self.main_loop.quit();
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
        if let Some(mounts) = self.server.mount_points() {
            for c in &self.inner.lock().unwrap().cameras {
                for s in &c.streams {
                    mounts.remove_factory(&s.config.path);
                }
            }
        }
    }

    fn paths(&self, id: &str) -> Option<Vec<String>> {
        let inner = self.inner.lock().unwrap();
        let camera = inner.cameras.iter().find(|c| c.config.id == id)?;
        Some(camera.streams.iter().map(|s| s.config.path.clone()).collect())
    }

    /// Runs `f` in the server's thread (where its clients live) and waits for the result.
    fn on_loop<T: Send + 'static>(&self, f: impl FnOnce(&RTSPServer) -> T + Send + 'static) -> Option<T> {
        if self.stopped.load(Ordering::SeqCst) && self.thread.lock().unwrap().is_none() {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        let server = self.server.clone();
        self.context.invoke(move || {
            let _ = tx.send(f(&server));
        });
        rx.recv_timeout(Duration::from_secs(10)).ok()
    }

    /// The `gst-launch` description of one stream's pipeline (payloaders named pay0, pay1 as
    /// gst-rtsp-server wants them).
    fn launch_line(&self, camera: &CameraConfig, s: &StreamConfig) -> String {
        let mut parts = Vec::new();
        let mut pay = 0;
        if let Some(v) = s.video {
            let overlay = if self.overlay {
                // Sizes are for 640 pixels of width; textoverlay scales them with the picture.
                "textoverlay name=overlay font-desc=\"Sans Bold 15\" valignment=top halignment=left \
                 line-alignment=left shaded-background=true ! "
            } else {
                ""
            };
            parts.push(format!(
                "videotestsrc name=vsrc is-live=true pattern=smpte ! \
                 video/x-raw,format=I420,width={w},height={h},framerate={fps}/1,pixel-aspect-ratio=1/1 ! \
                 {overlay}x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} bitrate={kbps} ! \
                 valve name=vvalve ! rtph264pay name=pay{pay} pt=96 config-interval=1",
                w = v.width,
                h = v.height,
                fps = v.fps.max(1),
                kbps = v.bitrate_kbps(),
            ));
            pay += 1;
        }
        if let (true, Some(encoder)) = (s.audio, self.aac_encoder) {
            parts.push(format!(
                "audiotestsrc is-live=true wave=sine freq={hz} volume=0.2 samplesperbuffer=1024 ! \
                 audio/x-raw,rate=48000,channels=1 ! audioconvert ! {encoder} bitrate=64000 ! \
                 valve name=avalve ! rtpmp4gpay name=pay{pay} pt=97",
                hz = camera.tone_hz,
            ));
        }
        format!("( {} )", parts.join("  "))
    }
}

impl Drop for RtspSimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pipelines of a camera that exist now.
fn live_media(camera: &Camera) -> Vec<RTSPMedia> {
    camera.streams.iter().flat_map(|s| s.media.iter().filter_map(|m| m.upgrade())).collect()
}

/// Shuts (drop) or opens the valves after the encoders of a stream's pipeline.
fn set_valves(bin: &gst::Element, drop: bool) {
    let Some(bin) = bin.downcast_ref::<gst::Bin>() else { return };
    for name in ["vvalve", "avalve"] {
        if let Some(valve) = bin.by_name(name) {
            valve.set_property("drop", drop);
        }
    }
}

/// Counts the frames of the test pattern and writes the room, the camera and the wall clock (to
/// the millisecond, at the moment the frame is made) onto each.
fn attach_clock(bin: &gst::Element, head: String, frames: Arc<AtomicU64>) {
    let Some(bin) = bin.downcast_ref::<gst::Bin>() else { return };
    let Some(pad) = bin.by_name("vsrc").and_then(|src| src.static_pad("src")) else { return };
    let overlay = bin.by_name("overlay").map(|o| o.downgrade());
    let head = glib::markup_escape_text(&head).to_string();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let n = frames.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(overlay) = overlay.as_ref().and_then(|o| o.upgrade()) {
            let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
            overlay.set_property("text", format!("{head}\n{now}  #{n}"));
        }
        gst::PadProbeReturn::Ok
    });
}

/// The sessions with a stream on `path` (the exact mount path).
fn sessions_on(server: &RTSPServer, path: &str) -> Vec<rtsp_server::RTSPSession> {
    let Some(pool) = server.session_pool() else { return Vec::new() };
    let mut found = Vec::new();
    pool.filter(Some(&mut |_, session| {
        if session_has(session, std::slice::from_ref(&path.to_string())) {
            found.push(session.clone());
        }
        RTSPFilterResult::Keep
    }));
    found
}

fn session_has(session: &rtsp_server::RTSPSession, paths: &[String]) -> bool {
    let mut has = false;
    session.filter(Some(&mut |_, media| {
        has |= paths.iter().any(|p| media.matches(p) == Some(p.len() as i32));
        RTSPFilterResult::Keep
    }));
    has
}

/// Tears down every session on `paths` and closes the connections of the clients that had them.
fn close_sessions(server: &RTSPServer, paths: &[String]) {
    server.client_filter(Some(&mut |_, client| {
        let mut theirs = false;
        client.session_filter(Some(&mut |_, session| {
            theirs |= session_has(session, paths);
            RTSPFilterResult::Keep
        }));
        if theirs { RTSPFilterResult::Remove } else { RTSPFilterResult::Keep }
    }));
    if let Some(pool) = server.session_pool() {
        pool.filter(Some(&mut |_, session| {
            if session_has(session, paths) { RTSPFilterResult::Remove } else { RTSPFilterResult::Keep }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths() {
        assert_eq!(url_path("rtsp://127.0.0.1:8554/kb-1/front/main"), "/kb-1/front/main");
        assert_eq!(url_path("rtsp://127.0.0.1:8554/kb-1/front/main/stream=0"), "/kb-1/front/main/stream=0");
        assert_eq!(url_path("rtsp://127.0.0.1:8554/a/"), "/a");
        assert_eq!(url_path("rtsp://h"), "");
        let mut inner = Inner::default();
        let config = CameraConfig::camera(
            "c",
            "r",
            "l",
            "/a/main",
            VideoFormat::SUB,
            Some(("/a/sub", VideoFormat::SUB)),
        );
        let streams = config
            .streams
            .iter()
            .map(|s| Stream { config: s.clone(), frames: Arc::default(), media: Vec::new() })
            .collect();
        inner.cameras.push(Camera { config, state: CameraState::Live, streams });
        assert!(inner.camera_for_path("/a/main/stream=1").is_some());
        assert!(inner.camera_for_path("/a/sub").is_some());
        assert!(inner.camera_for_path("/a/mainx").is_none());
        assert!(inner.camera_for_path("/a").is_none());
    }

    #[test]
    fn bitrates() {
        assert_eq!(VideoFormat::MAIN.bitrate_kbps(), 4147);
        assert_eq!(VideoFormat::SUB.bitrate_kbps(), 460);
    }
}
