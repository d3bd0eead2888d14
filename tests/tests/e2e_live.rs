//! 监督墙 in the real app: the live path (RTSP → fragmented MP4 over loopback HTTP → MSE in
//! WebKitGTK) plays in the app window; a supervisor watches the session in progress on the wall
//! (moving video, overlay, recording indicator), listens to one room, records an incident that
//! appears in the list with its legal hold; the front desk cannot open the wall. Screenshots in
//! test-artifacts/e2e/live*/.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use venue_desk::clock::SystemClock;
use venue_desk::domain::operator::Role;
use venue_desk::sim::rtsp::{CameraConfig, DropMode, RtspSim, RtspSimHandle, VideoFormat};
use venue_desk_tests::e2e::{RunningApp, Workstation, free_port, seed_operators, sign_in_enrolling};
use venue_desk_tests::webdriver::{ENTER, Session};

const T: Duration = Duration::from_secs(20);
const SUPERVISOR: &str = "jiandu01";
const PASSWORD: &str = "Jiandu-2026-a";
const SMALL: VideoFormat = VideoFormat { width: 320, height: 180, fps: 15 };

/// The room pb-1's cameras (main and sub-stream, both small) on an in-process RTSP simulator.
fn pb1_cameras() -> RtspSimHandle {
    let sim = RtspSim::start(format!("127.0.0.1:{}", free_port()).parse().unwrap()).unwrap();
    for (id, p) in [("cam-pb1-a", "a"), ("cam-pb1-b", "b")] {
        sim.add_camera(CameraConfig::camera(
            id,
            "第一评标室",
            id,
            &format!("/pb-1/{p}/main"),
            SMALL,
            Some((&format!("/pb-1/{p}/sub"), SMALL)),
        ))
        .unwrap();
    }
    sim.add_camera(CameraConfig::microphone("mic-pb1", "第一评标室", "拾音器", "/pb-1/mic")).unwrap();
    sim
}

/// A workstation whose venue reaches the simulated cameras, with a supervisor, a front-desk
/// operator and today's demo session in progress.
fn workstation(sim: &RtspSimHandle, recording: bool) -> Workstation {
    let ws = Workstation::new();
    let venue_file = ws.demo_venue_file(&[("127.0.0.1:18554", sim.addr())], "");
    if recording {
        // The room's cameras record (the e2e default is off): an incident needs a recording.
        let text = std::fs::read_to_string(&venue_file)
            .unwrap()
            .replace("[recording]\nenabled = false\n", "[recording]\n");
        std::fs::write(&venue_file, text).unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let config = venue_desk::config::load(&venue_file, &ws.data_dir()).unwrap();
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        seed_operators(
            &s,
            &[
                (SUPERVISOR, "监督员赵强", Role::Supervisor, PASSWORD),
                ("qiantai01", "前台李娜", Role::FrontDesk, "Qiantai-2026-a"),
            ],
        )
        .await;
        venue_desk::demo::seed_today(&s).await.unwrap();
        s.store.close().await;
    });
    ws
}

/// Polls a page value until `done` holds for it, or fails with the last value.
fn poll(s: &Session, script: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let v = s.execute(script).unwrap();
        if done(&v) {
            return v;
        }
        assert!(started.elapsed() < T, "{what}: {v}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The evidence behind the live-video decision: in the app's own window (origin tauri://localhost,
/// the app's CSP) a `fetch` of `/live/{camera}` streamed into a MediaSource plays: the codecs of the
/// Content-Type are supported, frames arrive (`videoWidth` is the camera's), the clock advances.
#[test]
fn mse_plays_the_live_route_in_the_app_window() {
    let sim = pb1_cameras();
    let ws = workstation(&sim, false);
    let app = RunningApp::launch(&ws, "live-mse");
    let s = &app.session;
    sign_in_enrolling(s, SUPERVISOR, PASSWORD, "home-supervisor");
    s.execute(
        "window.__mse = { log: [] }; const R = window.__mse; \
         (async () => { try { \
           const ep = await window.__TAURI_INTERNALS__.invoke('media_endpoint'); \
           const r = await fetch(`${ep.baseUrl}/live/cam-pb1-a?t=${ep.token}&stream=sub`); \
           R.status = r.status; R.type = r.headers.get('content-type'); \
           R.supported = MediaSource.isTypeSupported(R.type); \
           const v = document.createElement('video'); v.muted = true; v.autoplay = true; \
           v.style = 'position:fixed;right:0;bottom:0;width:320px;z-index:9999'; \
           document.body.appendChild(v); R.v = v; \
           const ms = new MediaSource(); v.src = URL.createObjectURL(ms); \
           await new Promise(ok => ms.addEventListener('sourceopen', ok, { once: true })); \
           const sb = ms.addSourceBuffer(R.type); sb.mode = 'segments'; \
           const q = []; const pump = () => { if (!sb.updating && q.length) sb.appendBuffer(q.shift()); }; \
           sb.addEventListener('updateend', () => { \
             if (sb.buffered.length && v.currentTime < sb.buffered.start(0) - 0.5) v.currentTime = sb.buffered.start(0); \
             if (v.paused) v.play().catch(e => R.log.push('play: ' + e)); \
             R.ranges = []; for (let i = 0; i < sb.buffered.length; i++) R.ranges.push([sb.buffered.start(i), sb.buffered.end(i)]); \
             pump(); }); \
           sb.addEventListener('error', () => R.log.push('sourcebuffer error')); \
           const rd = r.body.getReader(); \
           for (;;) { const { value, done } = await rd.read(); if (done) break; R.bytes = (R.bytes || 0) + value.length; q.push(value); pump(); } \
         } catch (e) { R.log.push(String(e)); } })(); return true",
    )
    .unwrap();
    let state = "const R = window.__mse, v = R.v; return { status: R.status, type: R.type, \
                 supported: R.supported, bytes: R.bytes, log: R.log, t: v ? v.currentTime : null, \
                 w: v ? v.videoWidth : null, paused: v ? v.paused : null, ranges: R.ranges, ready: v ? v.readyState : null, err: v && v.error ? v.error.code : null }";
    let first = poll(s, state, "the live stream did not start playing", |v| {
        assert!(v["log"].as_array().is_none_or(|l| l.is_empty()), "page error: {v}");
        v["w"].as_i64() == Some(i64::from(SMALL.width)) && v["t"].as_f64() > Some(0.0)
    });
    assert_eq!(first["status"], 200, "{first}");
    assert!(first["type"].as_str().unwrap().starts_with("video/mp4; codecs=\"avc1."), "{first}");
    assert_eq!(first["supported"], true, "{first}");
    std::thread::sleep(Duration::from_millis(1500));
    let later = s.execute(state).unwrap();
    assert!(
        later["t"].as_f64().unwrap() > first["t"].as_f64().unwrap() + 0.8,
        "the clock advances: {first} → {later}"
    );
    assert!(later["err"].is_null(), "{later}");
    app.shot("01-mse-playing");
    eprintln!("MSE in the app window: {first} → {later}");
}

/// The page rectangle of an element (CSS pixels; the window's device pixel ratio is 1 under Xvfb).
fn rect(s: &Session, css: &str) -> (u32, u32, u32, u32) {
    let r = s
        .execute(&format!(
            "const r = document.querySelector('{css}').getBoundingClientRect(); \
             return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)]"
        ))
        .unwrap();
    let n = |i: usize| r[i].as_u64().unwrap() as u32;
    (n(0), n(1), n(2), n(3))
}

/// The RGB pixels of a screenshot inside `(x, y, w, h)`.
fn crop(png_file: &std::path::Path, (x, y, w, h): (u32, u32, u32, u32)) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png_file).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bpp = info.color_type.samples();
    let mut out = Vec::new();
    for row in y..(y + h).min(info.height) {
        for col in x..(x + w).min(info.width) {
            let at = (row * info.width + col) as usize * bpp;
            out.extend_from_slice(&buf[at..at + 3]);
        }
    }
    out
}

#[test]
fn a_supervisor_watches_the_wall_listens_and_records_an_incident() {
    let sim = pb1_cameras();
    let ws = workstation(&sim, true);
    let app = RunningApp::launch(&ws, "live");
    let s = &app.session;
    sign_in_enrolling(s, SUPERVISOR, PASSWORD, "home-supervisor");

    // The wall is the supervisor's first shortcut.
    s.click("[data-testid=shortcut-live]").unwrap();
    s.wait("[data-testid=live-wall]", T).unwrap();
    for cam in ["cam-pb1-a", "cam-pb1-b"] {
        s.wait(&format!("[data-testid=live-video-box-{cam}][data-state=playing]"), T).unwrap();
    }
    let info = s.text_of("[data-testid=live-info-cam-pb1-a]").unwrap();
    assert!(info.contains("评标") && info.contains("已进行") && info.contains("在场"), "overlay: {info}");
    // The recorder records the session: the indicator says so (the wall reads it every 15 s).
    let started = Instant::now();
    while !s.text_of("[data-testid=live-rec-cam-pb1-a]").unwrap().contains("录像中") {
        assert!(started.elapsed() < Duration::from_secs(40), "the recording indicator never showed 录像中");
        std::thread::sleep(Duration::from_millis(500));
    }

    // Moving video: the tile's picture (between the overlay bars) differs a second later.
    let tile = rect(s, "[data-testid=live-tile-cam-pb1-a]");
    let picture = (tile.0 + 4, tile.1 + 26, tile.2 / 2, tile.3 / 2);
    let dir = venue_desk_tests::e2e::workspace().join("test-artifacts/e2e/live");
    let (a, b) = (dir.join("02-wall-a.png"), dir.join("03-wall-b.png"));
    s.screenshot(&a).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    s.screenshot(&b).unwrap();
    let (pa, pb) = (crop(&a, picture), crop(&b, picture));
    assert!(!pa.is_empty() && pa.len() == pb.len(), "cropped {picture:?} of {tile:?}");
    let changed = pa.chunks(3).zip(pb.chunks(3)).filter(|(x, y)| x != y).count();
    assert!(
        changed > 20,
        "the tile's picture did not change in a second ({changed} pixels of {})",
        pa.len() / 3
    );
    let frames = s.execute("return document.querySelector('[data-testid=live-video-cam-pb1-a]').getVideoPlaybackQuality().totalVideoFrames").unwrap();
    eprintln!("tile picture: {changed} of {} pixels changed in 1 s; {frames} frames decoded", pa.len() / 3);

    // Camera B drops off the network: its tile says 信号中断 clearly, the recorder's video-loss
    // alarm lights the room's tiles, and the tile plays again by itself once the camera is back.
    sim.drop_camera("cam-pb1-b", DropMode::Disconnect).unwrap();
    s.wait_text("[data-testid=live-state-cam-pb1-b]", "信号中断", T).unwrap();
    poll(
        s,
        "return document.querySelector('[data-testid=live-tile-cam-pb1-a]').classList.contains('alarm')",
        "the alarm of the room did not highlight its tiles",
        |v| v == true,
    );
    app.shot("03a-signal-lost");
    sim.restore_camera("cam-pb1-b").unwrap();
    s.wait("[data-testid=live-video-box-cam-pb1-b][data-state=playing]", Duration::from_secs(30)).unwrap();

    // Enlarged: the main stream plays in the dialog, and closing it stops it.
    s.click("[data-testid=live-enlarge-cam-pb1-b]").unwrap();
    s.wait("[data-testid=live-video-box-cam-pb1-b-main][data-state=playing]", T).unwrap();
    let main_url = s
        .execute("return document.querySelector('[data-testid=live-video-cam-pb1-b-main]') !== null")
        .unwrap();
    assert_eq!(main_url, true);
    app.shot("03b-enlarged");
    s.execute("document.querySelector('[data-testid=live-enlarged] .el-dialog__headerbtn').click()").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.find("[data-testid=live-video-box-cam-pb1-b-main]").is_err(), "the enlarged view closed");

    // Listen to room A's tile: the indicator names it, the other tile stays silent.
    s.click("[data-testid=live-listen-cam-pb1-a]").unwrap();
    s.wait_text("[data-testid=live-audible]", "第一评标室", T).unwrap();
    let muted = s
        .execute("return [...document.querySelectorAll('[data-testid^=live-video-cam-pb1]')].map(v => [v.dataset.testid, v.muted])")
        .unwrap();
    assert_eq!(
        muted,
        serde_json::json!([["live-video-cam-pb1-a", false], ["live-video-cam-pb1-b", true]]),
        "{muted}"
    );
    // The listened tile plays again with its sound, or, on a machine without an audio device (CI),
    // without it and says so; it never stays black.
    let heard = poll(
        s,
        "const b = document.querySelector('[data-testid=live-video-box-cam-pb1-a]'); \
         const v = document.querySelector('[data-testid=live-video-cam-pb1-a]'); \
         const n = document.querySelector('[data-testid=live-no-sound-cam-pb1-a]'); \
         return { state: b.dataset.state, audio: v.dataset.audio, noSound: n ? n.textContent : null }",
        "the listened tile did not play again",
        |v| v["state"] == "playing" && (v["audio"] == "1" || v["noSound"].is_string()),
    );
    let t = |s: &Session| {
        s.execute("const v = document.querySelector('[data-testid=live-video-cam-pb1-a]'); return [v.currentTime, v.muted, v.error ? v.error.code : null]")
            .unwrap()
    };
    let t1 = t(s);
    std::thread::sleep(Duration::from_millis(1000));
    let t2 = t(s);
    assert!(t2[0].as_f64() > t1[0].as_f64(), "the listened tile plays on: {t1} → {t2}");
    eprintln!("listening: {heard}; {t1} → {t2}");
    app.shot("04-listening");
    s.click("[data-testid=live-stop-listening]").unwrap();
    s.wait_text("[data-testid=live-audible]", "未监听", T).unwrap();

    // An incident from the tile: refused without a category, recorded with one.
    s.click("[data-testid=live-incident-cam-pb1-a]").unwrap();
    s.wait("[data-testid=incident-dialog]", T).unwrap();
    // The dialog slides in: clicks before it settles can land beside its buttons.
    std::thread::sleep(Duration::from_millis(500));
    s.fill("[data-testid=incident-description]", "投标人代表在评标区外与评标专家交谈").unwrap();
    s.click("[data-testid=incident-submit]").unwrap();
    poll(
        s,
        "const e = document.querySelector('[data-testid=incident-error]'); return e ? e.textContent : ''",
        "the missing category is not reported",
        |v| v.as_str().is_some_and(|t| t.contains("请选择事件类别")),
    );
    s.click("[data-testid=incident-category]").unwrap();
    s.click("[data-testid=incident-category-private_contact]").unwrap();
    s.click("[data-testid=incident-add-person]").unwrap();
    s.click("[data-testid=incident-add-person]").unwrap();
    s.fill("[data-testid=incident-person-name-0]", "某建设有限公司 王五").unwrap();
    s.click("[data-testid=incident-person-role-1]").unwrap();
    s.execute("[...document.querySelectorAll('.el-select-dropdown__item')].filter(e => e.offsetParent && e.textContent.includes('评标专家')).forEach(e => e.click())").unwrap();
    s.fill("[data-testid=incident-person-identity-1]", "11010519700307123X").unwrap();
    app.shot("05-incident-dialog");
    s.click("[data-testid=incident-submit]").unwrap();
    let started = Instant::now();
    while s.execute("return !!document.querySelector('[data-testid=incident-dialog]') && document.querySelector('[data-testid=incident-dialog]').offsetParent !== null").unwrap() == true {
        if let Ok(e) = s.text_of("[data-testid=incident-error]") {
            panic!("the incident was refused: {e}");
        }
        assert!(started.elapsed() < T, "the incident dialog did not close");
        std::thread::sleep(Duration::from_millis(200));
    }
    app.shot("06-wall-after-incident");

    s.click("[data-testid=nav-incidents]").unwrap();
    s.wait("[data-testid=incidents-view]", T).unwrap();
    s.wait_text("[data-testid=incident-row-category-1]", "私下接触", T).unwrap();
    let hold = s.text_of("[data-testid=incident-row-hold-1]").unwrap();
    assert!(hold.contains("保全中"), "{hold}");
    app.shot("07-incidents");
    let row = s
        .execute("return document.querySelector('[data-testid=incidents-table] .el-table__body').textContent")
        .unwrap();
    let row = row.as_str().unwrap().to_string();
    assert!(
        row.contains("110105********123X") && !row.contains("11010519700307123X"),
        "expert masked: {row}"
    );
    assert!(row.contains("王五") && row.contains("第一评标室"), "{row}");
    // The incident opens the playback at its moment, in its room.
    s.click("[data-testid=incident-row-play-1]").unwrap();
    s.wait("[data-testid=playback-view]", T).unwrap();
    // Its bookmark is on the room's timeline.
    s.wait("[data-testid=playback-bookmark-1]", T).unwrap();
    app.shot("08-playback-at-incident");

    // The front desk cannot open the wall: no menu entry, and the address leads home.
    s.click("[data-testid=logout]").unwrap();
    s.wait("[data-testid=login-username]", T).unwrap();
    s.fill("[data-testid=login-username]", "qiantai01").unwrap();
    s.fill("[data-testid=login-password]", &format!("Qiantai-2026-a{ENTER}")).unwrap();
    s.wait("[data-testid=home-front_desk]", T).unwrap();
    assert!(s.find("[data-testid=nav-live]").is_err(), "the front desk has no wall in its menu");
    s.execute("location.hash = '#/live'").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(s.find("[data-testid=live-wall]").is_err(), "the front desk was let onto the wall");
    s.wait("[data-testid=home-front_desk]", T).unwrap();
}
