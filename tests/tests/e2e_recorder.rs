//! 录像状态 in the real app, recording for real: today's demo session in 第一评标室 makes the app record
//! the room's two cameras and its microphone from simulated RTSP cameras. A supervisor sees them
//! recording with a bitrate, stops the room by hand with a reason (journaled) and starts it again,
//! and sees a camera cut off turn to 视频丢失 with the alarm banner; 设备状态 then shows the cameras
//! as the recorder sees them. Screenshots in
//! test-artifacts/e2e/recorder/.

use std::sync::Arc;
use std::time::{Duration, Instant};

use venue_desk::clock::SystemClock;
use venue_desk::domain::operator::Role;
use venue_desk::sim::rtsp::{CameraConfig, DropMode, RtspSim, VideoFormat};
use venue_desk_tests::e2e::{RunningApp, Workstation, free_port, seed_operators, sign_in_enrolling};
use venue_desk_tests::webdriver::Session;

const T: Duration = Duration::from_secs(20);
const SUPERVISOR: &str = "jiandu02";
const PASSWORD: &str = "Jiandu-2026-b";
const FORMAT: VideoFormat = VideoFormat { width: 320, height: 180, fps: 15 };

fn state(s: &Session, camera: &str) -> String {
    s.execute(&format!(
        "const e = document.querySelector('[data-testid=recorder-state-{camera}]'); return e ? e.dataset.state : null"
    ))
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_string()
}

fn wait_state(s: &Session, camera: &str, want: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let now = state(s, camera);
        if now == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{camera}: {now}, not {want} within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_supervisor_watches_the_session_record_stops_and_starts_it_and_sees_a_camera_lost() {
    let sim = RtspSim::start(format!("127.0.0.1:{}", free_port()).parse().unwrap()).unwrap();
    for (id, path) in [("cam-pb1-a", "/pb-1/a/main"), ("cam-pb1-b", "/pb-1/b/main")] {
        sim.add_camera(CameraConfig::camera(id, "第一评标室", id, path, FORMAT, None)).unwrap();
    }
    sim.add_camera(CameraConfig::microphone("mic-pb1", "第一评标室", "拾音器", "/pb-1/mic")).unwrap();

    let ws = Workstation::new();
    let file = ws.demo_venue_file(&[("127.0.0.1:18554", sim.addr())], "");
    // The workstation records (the e2e default is off) in four-second segments.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("[recording]\nenabled = false\n", "[recording]\n")
        .replace("segment_seconds = 60", "segment_seconds = 4");
    std::fs::write(&file, text).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let config = venue_desk::config::load(&file, &ws.data_dir()).unwrap();
        assert!(config.recording.enabled);
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        seed_operators(&s, &[(SUPERVISOR, "监督员钱敏", Role::Supervisor, PASSWORD)]).await;
        venue_desk::demo::seed_today(&s).await.unwrap();
        s.store.close().await;
    });

    let app = RunningApp::launch(&ws, "recorder");
    let s = &app.session;
    sign_in_enrolling(s, SUPERVISOR, PASSWORD, "home-supervisor");

    s.click("[data-testid=nav-recording]").unwrap();
    s.wait("[data-testid=recorder-room-pb-1]", T).unwrap();
    for cam in ["cam-pb1-a", "cam-pb1-b", "mic-pb1"] {
        wait_state(s, cam, "recording", T);
    }
    let start = Instant::now();
    let room = loop {
        let text = s
            .execute("return document.querySelector('[data-testid=recorder-room-pb-1]').textContent")
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string();
        if text.contains("kbps") || start.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(room.contains("kbps") && room.contains("场次") && room.contains("视频 + 音频"), "{room}");
    assert_eq!(state(s, "cam-kb1-front"), "idle", "rooms without a session do not record");
    s.wait_text("[data-testid=recorder-storage]", "可用", T).unwrap();
    app.shot("01-recording");

    // Stopped by hand for a recess, with the reason; started again.
    s.click("[data-testid=recorder-stop-pb-1]").unwrap();
    s.fill("[data-testid=recorder-reason]", "休会十分钟").unwrap();
    app.shot("02-stop-dialog");
    s.click("[data-testid=recorder-confirm]").unwrap();
    wait_state(s, "cam-pb1-a", "idle", T);
    s.wait_text("[data-testid=recorder-room-pb-1]", "手动停止：休会十分钟", T).unwrap();
    app.shot("03-stopped");
    s.click("[data-testid=recorder-start-pb-1]").unwrap();
    s.fill("[data-testid=recorder-reason]", "复会").unwrap();
    s.click("[data-testid=recorder-confirm]").unwrap();
    wait_state(s, "cam-pb1-a", "recording", T);

    // A camera cut off: 视频丢失 on the status screen within the stall timeout, and the alarm.
    sim.drop_camera("cam-pb1-b", DropMode::Disconnect).unwrap();
    let after = wait_state(s, "cam-pb1-b", "lost", Duration::from_secs(8));
    println!("cam-pb1-b shown lost after {after:?}");
    s.wait_text("body", "视频丢失", T).unwrap();
    assert_eq!(state(s, "cam-pb1-a"), "recording", "the other camera records on");
    app.shot("04-camera-lost");
    sim.restore_camera("cam-pb1-b").unwrap();
    wait_state(s, "cam-pb1-b", "recording", Duration::from_secs(20));
    app.shot("05-camera-back");

    // 设备状态 shows cameras and microphones as the recorder last saw them.
    s.click("[data-testid=nav-devices]").unwrap();
    s.wait("[data-testid=device-cam-pb1-a]", T).unwrap();
    // The state tag's value and the row's text, by the device's id.
    let device = |id: &str| {
        let js = format!(
            "const r = document.querySelector('[data-testid=device-{id}]').closest('tr'); \
             return r.querySelector('[data-state]').dataset.state + ' ' + r.textContent"
        );
        s.execute(&js).unwrap().as_str().unwrap_or_default().to_string()
    };
    let a = device("cam-pb1-a");
    assert!(a.starts_with("online ") && a.contains("录像中"), "a recording camera is online: {a}");
    assert!(device("mic-pb1").starts_with("online "));
    let idle = device("cam-kb1-front");
    assert!(
        idle.starts_with("unknown ") && idle.contains("空闲"),
        "nothing to record, not contacted: {idle}"
    );
    app.shot("06-devices");
}
