//! The simulated RTSP cameras, played as a recorder plays a real camera: a GStreamer client over RTSP
//! on TCP receives H.264 video and AAC audio; a camera dropped on command stops (the client sees the
//! end, no more data arrives) and refuses new clients; a stalled one keeps the connection but sends
//! nothing; restored, it plays again. And venue-sim serving the venue file's cameras this way.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use venue_desk::sim::rtsp::gst;
use venue_desk::sim::rtsp::gst::prelude::*;
use venue_desk::sim::rtsp::{CameraConfig, CameraState, DropMode, RtspSim, VideoFormat};
use venue_desk_tests::e2e::{VenueSimProcess, free_port};

const MAIN: VideoFormat = VideoFormat { width: 320, height: 180, fps: 15 };
const SUB: VideoFormat = VideoFormat { width: 160, height: 96, fps: 15 };

#[derive(Default)]
struct Seen {
    video: u64,
    audio: u64,
    video_caps: Option<gst::Caps>,
    audio_caps: Option<gst::Caps>,
}

/// A client pipeline: rtspsrc over TCP, depayloaded and parsed, into counting fakesinks.
struct Client {
    pipeline: gst::Element,
    seen: Arc<Mutex<Seen>>,
}

impl Client {
    fn play(url: &str, video: bool, audio: bool) -> Client {
        gst::init().unwrap();
        let mut desc = format!("rtspsrc name=src location={url} protocols=tcp latency=100");
        if video {
            desc += " src. ! application/x-rtp,media=video ! rtph264depay ! h264parse ! fakesink name=v sync=false";
        }
        if audio {
            desc += " src. ! application/x-rtp,media=audio ! rtpmp4gdepay ! aacparse ! fakesink name=a sync=false";
        }
        let pipeline = gst::parse::launch(&desc).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let bin = pipeline.downcast_ref::<gst::Bin>().unwrap();
        for name in ["v", "a"] {
            let Some(sink) = bin.by_name(name) else { continue };
            let pad = sink.static_pad("sink").unwrap();
            let seen = seen.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
                // Never a panic here, on GStreamer's thread: a failed assertion elsewhere may have
                // poisoned the lock.
                let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                if name == "v" {
                    s.video += 1;
                    s.video_caps = pad.current_caps();
                } else {
                    s.audio += 1;
                    s.audio_caps = pad.current_caps();
                }
                gst::PadProbeReturn::Ok
            });
        }
        pipeline.set_state(gst::State::Playing).unwrap();
        Client { pipeline, seen }
    }

    /// What has arrived so far (a copy: assertions never hold the lock the streaming threads take).
    fn snapshot(&self) -> Seen {
        let s = self.seen.lock().unwrap();
        Seen {
            video: s.video,
            audio: s.audio,
            video_caps: s.video_caps.clone(),
            audio_caps: s.audio_caps.clone(),
        }
    }

    fn counts(&self) -> (u64, u64) {
        let s = self.seen.lock().unwrap();
        (s.video, s.audio)
    }

    /// Waits until `done` holds of what has arrived, or the client ends, or `timeout` passes.
    fn wait_for(&self, timeout: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if done(&self.seen.lock().unwrap()) {
                return true;
            }
            if let Some(end) = self.ended(Duration::from_millis(50)) {
                panic!("the client ended before it had what it waited for: {end}");
            }
        }
        false
    }

    /// The first end of stream or error the client reports within `timeout`.
    fn ended(&self, timeout: Duration) -> Option<String> {
        let bus = self.pipeline.bus().unwrap();
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )?;
        Some(match msg.view() {
            gst::MessageView::Error(e) => format!("error: {}", e.error()),
            _ => "end of stream".to_string(),
        })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn caps_name(caps: &Option<gst::Caps>) -> String {
    caps.as_ref().and_then(|c| c.structure(0)).map(|s| s.name().to_string()).unwrap_or_default()
}

fn caps_int(caps: &Option<gst::Caps>, field: &str) -> Option<i32> {
    caps.as_ref().and_then(|c| c.structure(0)).and_then(|s| s.get::<i32>(field).ok())
}

/// Plays `client` until it has video (and audio if `audio`), then checks the formats.
fn assert_plays(client: &Client, format: VideoFormat, audio: bool) {
    let ok = client.wait_for(Duration::from_secs(30), |s| s.video >= 10 && (!audio || s.audio >= 5));
    let s = client.snapshot();
    assert!(ok, "no media within 30 s: {} video, {} audio buffers", s.video, s.audio);
    assert_eq!(caps_name(&s.video_caps), "video/x-h264", "{:?}", s.video_caps);
    assert_eq!(caps_int(&s.video_caps, "width"), Some(format.width as i32), "{:?}", s.video_caps);
    assert_eq!(caps_int(&s.video_caps, "height"), Some(format.height as i32), "{:?}", s.video_caps);
    if audio {
        assert_eq!(caps_name(&s.audio_caps), "audio/mpeg", "{:?}", s.audio_caps);
        assert_eq!(caps_int(&s.audio_caps, "mpegversion"), Some(4), "AAC: {:?}", s.audio_caps);
    }
}

/// No more buffers of either kind for two seconds (after `settle` for what was in flight).
fn assert_silent(client: &Client, settle: Duration) {
    std::thread::sleep(settle);
    let before = client.counts();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(client.counts(), before, "data kept arriving after the camera was dropped");
}

/// A new client of a camera that is away is refused.
fn assert_refused(url: &str) {
    let client = Client::play(url, true, true);
    match client.ended(Duration::from_secs(15)) {
        Some(end) => assert!(end.starts_with("error"), "a new client of a dropped camera: {end}"),
        None => panic!("a new client of a dropped camera neither failed nor ended within 15 s"),
    }
    assert_eq!(client.counts(), (0, 0));
}

#[test]
fn a_simulated_camera_plays_drops_stalls_and_comes_back() {
    let sim = RtspSim::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = sim.addr();
    assert_ne!(addr.port(), 0);
    let config = CameraConfig::camera(
        "cam-t",
        "第一开标室",
        "前",
        "/kb-1/front/main",
        MAIN,
        Some(("/kb-1/front/sub", SUB)),
    );
    sim.add_camera(config.clone()).unwrap();
    assert!(sim.add_camera(config).is_err(), "the same camera twice");
    let (main, sub) = (sim.url("/kb-1/front/main"), sim.url("/kb-1/front/sub"));
    assert_eq!(main, format!("rtsp://{addr}/kb-1/front/main"));

    // Nothing is encoded until somebody plays.
    let status = sim.status("cam-t").unwrap();
    assert_eq!(status.state, CameraState::Live);
    assert!(status.streams.iter().all(|s| !s.encoding && s.sessions == 0), "{status:?}");
    assert!(sim.status("nope").is_none());

    // A recorder on the main stream, a live view on the sub-stream, a second reader of the main.
    let recorder = Client::play(&main, true, true);
    assert_plays(&recorder, MAIN, true);
    let live = Client::play(&sub, true, true);
    assert_plays(&live, SUB, true);
    let second = Client::play(&main, true, true);
    assert_plays(&second, MAIN, true);
    let status = sim.status("cam-t").unwrap();
    assert_eq!(status.streams[0].sessions, 2, "{status:?}");
    assert_eq!(status.streams[1].sessions, 1, "{status:?}");
    assert!(status.streams.iter().all(|s| s.encoding && s.frames > 0), "{status:?}");
    drop(second);

    // Stalled: the connection stays, nothing arrives, nothing ends; new clients are refused.
    let status = sim.drop_camera("cam-t", DropMode::Stall).unwrap();
    assert_eq!(status.state, CameraState::Stalled);
    assert_silent(&recorder, Duration::from_millis(500));
    assert_eq!(recorder.ended(Duration::ZERO), None, "a stalled camera keeps the connection");
    assert_refused(&main);
    // Back: the same client gets data again.
    assert_eq!(sim.restore_camera("cam-t").unwrap().state, CameraState::Live);
    let (video, audio) = recorder.counts();
    assert!(
        recorder.wait_for(Duration::from_secs(10), |s| s.video > video + 5 && s.audio > audio + 5),
        "no data after the stall ended"
    );

    // Dropped: the clients see the end at once, nothing more arrives, new clients are refused and
    // the encoders stop.
    let status = sim.drop_camera("cam-t", DropMode::Disconnect).unwrap();
    assert_eq!(status.state, CameraState::Dropped);
    for client in [&recorder, &live] {
        let end = client.ended(Duration::from_secs(5));
        assert!(end.is_some(), "a client of a dropped camera saw neither an end nor an error");
    }
    assert_silent(&recorder, Duration::ZERO);
    assert_refused(&main);
    assert_refused(&sub);
    let status = sim.status("cam-t").unwrap();
    assert!(status.streams.iter().all(|s| !s.encoding && s.sessions == 0), "{status:?}");

    // Restored: a reconnecting recorder plays again.
    assert_eq!(sim.restore_camera("cam-t").unwrap().state, CameraState::Live);
    let again = Client::play(&main, true, true);
    assert_plays(&again, MAIN, true);
    drop((again, recorder, live));

    // Stopping frees the port.
    drop(sim);
    std::net::TcpListener::bind(addr).expect("the RTSP port is free again after the simulator stops");
}

#[test]
fn a_simulated_microphone_is_audio_only() {
    let sim = RtspSim::start("127.0.0.1:0".parse().unwrap()).unwrap();
    sim.add_camera(CameraConfig::microphone("mic-t", "第一开标室", "拾音器", "/kb-1/mic")).unwrap();
    let client = Client::play(&sim.url("/kb-1/mic"), false, true);
    assert!(client.wait_for(Duration::from_secs(30), |s| s.audio >= 5), "no audio");
    let s = client.snapshot();
    assert_eq!(caps_name(&s.audio_caps), "audio/mpeg");
    assert_eq!(s.video, 0);
}

#[test]
fn a_port_in_use_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = RtspSim::start(taken.local_addr().unwrap()).err().expect("the port is taken");
    assert!(err.to_string().contains(&taken.local_addr().unwrap().to_string()), "{err}");
}

#[test]
fn venue_sim_serves_the_venue_files_cameras_and_drops_them_on_command() {
    let rtsp = free_port();
    let mut toml =
        venue_desk::config::DEMO_VENUE_TOML.replace("127.0.0.1:18554", &format!("127.0.0.1:{rtsp}"));
    // Everything else on ports of its own too, so nothing fixed is bound.
    for fixed in ["18081", "18082", "18083", "18084", "18485", "18502", "18600"] {
        toml = toml.replace(&format!("127.0.0.1:{fixed}"), &format!("127.0.0.1:{}", free_port()));
    }
    let (sim, devices) = VenueSimProcess::start(&toml, &["--camera-format", "320x180@15"]);
    let base = sim.control.clone();
    let main = format!("rtsp://127.0.0.1:{rtsp}/kb-1/front/main");
    let sub = format!("rtsp://127.0.0.1:{rtsp}/kb-1/front/sub");
    let listed = devices.as_array().unwrap().iter().find(|d| d["device"] == "cam-kb1-front").cloned();
    assert_eq!(
        listed,
        Some(
            serde_json::json!({"device": "cam-kb1-front", "protocol": "rtsp", "address": main, "sub_stream": sub})
        ),
        "{devices}"
    );
    let get = |path: &str| {
        ureq::get(&format!("{base}{path}"))
            .call()
            .map(|mut r| r.body_mut().read_json::<serde_json::Value>().unwrap())
    };
    let post = |path: &str| {
        ureq::post(&format!("{base}{path}"))
            .send_empty()
            .unwrap()
            .body_mut()
            .read_json::<serde_json::Value>()
            .unwrap()
    };
    let status = get("/camera/cam-kb1-front").unwrap();
    assert_eq!(status["state"], "live", "{status}");
    assert_eq!(status["streams"][0]["video"], serde_json::json!({"width": 320, "height": 180, "fps": 15}));
    assert_eq!(status["streams"][1]["video"], serde_json::json!({"width": 640, "height": 360, "fps": 30}));
    assert!(get("/camera/nope").is_err(), "an unknown camera is a 404");

    // The main stream plays; the microphone is served too.
    let recorder = Client::play(&main, true, true);
    assert_plays(&recorder, MAIN, true);
    let mic = Client::play(&format!("rtsp://127.0.0.1:{rtsp}/kb-1/mic"), false, true);
    assert!(mic.wait_for(Duration::from_secs(30), |s| s.audio >= 5), "no audio from the microphone");

    let status = post("/camera/cam-kb1-front/drop");
    assert_eq!(status["state"], "dropped", "{status}");
    assert!(recorder.ended(Duration::from_secs(5)).is_some(), "the recorder did not see the drop");
    assert_silent(&recorder, Duration::ZERO);
    assert_refused(&main);
    assert!(mic.counts().1 > 0 && mic.ended(Duration::ZERO).is_none(), "the other devices play on");
    assert!(ureq::post(&format!("{base}/camera/cam-kb1-front/drop?mode=melt")).send_empty().is_err());

    assert_eq!(post("/camera/cam-kb1-front/restore")["state"], "live");
    let again = Client::play(&main, true, true);
    assert_plays(&again, MAIN, true);
}
