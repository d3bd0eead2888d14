//! 录像回放 in the real app: a supervisor opens today's demo session in 录像回放 and both cameras of
//! the room play side by side from the loopback media server — real Matroska (H.264 + AAC) segments
//! indexed as the recorder indexes them — the clock advances, the players cross a segment boundary,
//! and the gap of one camera is drawn on the timeline. Screenshots in test-artifacts/e2e/playback/.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use venue_desk::clock::SystemClock;
use venue_desk::domain::operator::Role;
use venue_desk::media::Recordings;
use venue_desk::media::chain::ClosedSegment;
use venue_desk_tests::e2e::{RunningApp, Workstation, seed_operators, sign_in_enrolling};
use venue_desk_tests::media::write_segment;

const T: Duration = Duration::from_secs(20);
const SUPERVISOR: &str = "jiandu01";
const PASSWORD: &str = "Jiandu-2026-a";
/// Seconds per segment: short, so the test sees the players move on to the next one.
const SEG_S: i64 = 4;

/// The state of one camera's player, read in the page.
fn player(s: &venue_desk_tests::webdriver::Session, camera: &str) -> Value {
    s.execute(&format!(
        "const v = document.querySelector('[data-testid=playback-video-{camera}]'); \
         return v ? {{ t: v.currentTime, ready: v.readyState, paused: v.paused, muted: v.muted, \
         err: v.error ? v.error.code : null, src: v.currentSrc || v.src, w: v.videoWidth }} : null"
    ))
    .unwrap()
}

#[test]
fn a_supervisor_plays_back_a_recorded_session() {
    let ws = Workstation::new();
    let venue_file = ws.demo_venue_file(&[], "");

    // Operators, today's demo session (第一评标室, started an hour ago) and its recordings: two
    // segments of each of the room's cameras from the session's start, and a gap of cam-pb1-b
    // after its recordings.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (booking_id, segment_ids) = rt.block_on(async {
        let config = venue_desk::config::load(&venue_file, &ws.data_dir()).unwrap();
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        seed_operators(&s, &[(SUPERVISOR, "监督员赵强", Role::Supervisor, PASSWORD)]).await;
        let booking_id = venue_desk::demo::seed_today(&s).await.unwrap();
        let b = venue_desk::store::bookings::booking(s.store.pool(), booking_id).await.unwrap().unwrap();
        assert_eq!(b.room_id, "pb-1");
        let rec = Recordings::from_services(&s);
        let mut ids = Vec::new();
        for (cam, pattern) in [("cam-pb1-a", "ball"), ("cam-pb1-b", "smpte")] {
            for i in 0..2 {
                let start_ms = b.start_ms + i * SEG_S * 1000;
                let rel = format!("{cam}/e2e/{start_ms}.mkv");
                write_segment(&rec.recordings_dir().join(&rel), SEG_S as u32, cam, pattern);
                let seg = rec
                    .index_segment(&ClosedSegment {
                        camera_id: cam.into(),
                        path: PathBuf::from(&rel),
                        start_ms,
                        end_ms: start_ms + SEG_S * 1000,
                        recovered: false,
                    })
                    .await
                    .unwrap();
                ids.push(seg.id);
            }
        }
        let after = b.start_ms + 2 * SEG_S * 1000;
        rec.record_gap("cam-pb1-b", after, after + 10 * 60_000, "视频丢失 / video loss (e2e)").await.unwrap();
        s.store.close().await;
        (booking_id, ids)
    });

    let app = RunningApp::launch(&ws, "playback");
    let s = &app.session;
    sign_in_enrolling(s, SUPERVISOR, PASSWORD, "home-supervisor");

    s.click("[data-testid=nav-playback]").unwrap();
    s.wait("[data-testid=playback-view]", T).unwrap();
    // Today's sessions are listed and the first is chosen: the demo session.
    s.wait_text("[data-testid=playback-session]", "第一评标室", T).unwrap();
    s.click("[data-testid=playback-load]").unwrap();
    let line = s.wait_text("[data-testid=playback-session-line]", "示范市滨江路排水管网改造工程", T).unwrap();
    assert!(line.contains("评标"), "{line}");
    s.wait("[data-testid=playback-gap-1]", T).unwrap();
    for cam in ["cam-pb1-a", "cam-pb1-b"] {
        s.wait(&format!("[data-testid=playback-video-{cam}]"), T).unwrap();
    }
    // The first frames arrive before anything plays.
    let started = Instant::now();
    loop {
        let (a, b) = (player(s, "cam-pb1-a"), player(s, "cam-pb1-b"));
        if a["ready"].as_i64() >= Some(2) && b["ready"].as_i64() >= Some(2) {
            break;
        }
        assert!(a["err"].is_null() && b["err"].is_null(), "media error: {a} {b}");
        assert!(started.elapsed() < T, "the players did not load their first segment: {a} {b}");
        std::thread::sleep(Duration::from_millis(200));
    }
    app.shot("01-loaded");

    s.click("[data-testid=playback-play]").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (a1, b1) = (player(s, "cam-pb1-a"), player(s, "cam-pb1-b"));
    std::thread::sleep(Duration::from_millis(1500));
    let (a2, b2) = (player(s, "cam-pb1-a"), player(s, "cam-pb1-b"));
    app.shot("02-playing");
    for (x, y) in [(&a1, &a2), (&b1, &b2)] {
        assert!(y["err"].is_null(), "media error: {y}");
        assert_eq!(y["paused"], false, "playing: {y}");
        let (t1, t2) = (x["t"].as_f64().unwrap(), y["t"].as_f64().unwrap());
        assert!(t2 > t1 + 0.8, "currentTime advances: {t1} -> {t2}");
        assert_eq!(y["w"], 320, "the picture has the recorded width: {y}");
    }
    // Both cameras in step (the shared clock), and only the chosen one is heard.
    let skew = (a2["t"].as_f64().unwrap() - b2["t"].as_f64().unwrap()).abs();
    assert!(skew < 0.6, "the cameras play in sync: {a2} {b2}");
    assert_eq!(a2["muted"], false, "the first camera is heard: {a2}");
    assert_eq!(b2["muted"], true, "the other is muted: {b2}");
    assert!(a2["src"].as_str().unwrap().contains(&format!("/segment/{}?t=", segment_ids[0])), "{a2}");

    // Past the first segment's end the players are on the second segment.
    let started = Instant::now();
    loop {
        let a = player(s, "cam-pb1-a");
        if a["src"].as_str().unwrap_or_default().contains(&format!("/segment/{}?t=", segment_ids[1]))
            && a["t"].as_f64().unwrap_or(0.0) > 0.3
            && a["paused"] == false
        {
            break;
        }
        assert!(started.elapsed() < T, "cam-pb1-a did not move on to its second segment: {a}");
        std::thread::sleep(Duration::from_millis(200));
    }
    app.shot("03-second-segment");
    let clock = s.text_of("[data-testid=playback-clock]").unwrap();
    assert!(clock.len() == 8 && clock.contains(':'), "{clock}");

    // After both segments, cam-pb1-b shows its gap with the reason.
    let note = s.wait_text("[data-testid=playback-note-cam-pb1-b]", "录像缺口", T).unwrap();
    assert!(note.contains("视频丢失"), "{note}");
    app.shot("04-gap");
    assert!(booking_id > 0);

    // 证据保全与导出: a hold on the session's project, then the project's export with its progress,
    // which the verifier accepts.
    let code = venue_desk::demo::DEMO_PROJECT_CODE;
    s.click("[data-testid=nav-evidence]").unwrap();
    s.wait("[data-testid=evidence-view]", T).unwrap();
    let key = s.wait_text("[data-testid=export-public-key]", "", T).unwrap();
    let started = Instant::now();
    let key = loop {
        let k = s.text_of("[data-testid=export-public-key]").unwrap();
        if k.len() == 64 {
            break k;
        }
        assert!(started.elapsed() < T, "the public key is shown: {key:?} / {k:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    s.click("[data-testid=hold-place]").unwrap();
    s.wait("[data-testid=hold-reason]", T).unwrap();
    s.click("[data-testid=hold-project]").unwrap();
    s.click(&format!("[data-testid=hold-project-{code}]")).unwrap();
    s.fill("[data-testid=hold-reason]", "投诉处理需要保全本项目录像").unwrap();
    app.shot("05-hold-dialog");
    s.click("[data-testid=hold-submit]").unwrap();
    // The whole row as the page holds it (WebDriver's visible text leaves out cells the table clips).
    let started = Instant::now();
    loop {
        let holds =
            s.execute("return document.querySelector('[data-testid=holds-table]').textContent").unwrap();
        let holds = holds.as_str().unwrap_or_default();
        if holds.contains("投诉处理需要保全本项目录像") && holds.contains(code) && holds.contains(SUPERVISOR)
        {
            break;
        }
        assert!(started.elapsed() < T, "the hold is listed: {holds}");
        std::thread::sleep(Duration::from_millis(200));
    }

    s.click("[data-testid=export-project]").unwrap();
    s.click(&format!("[data-testid=export-project-{code}]")).unwrap();
    s.click("[data-testid=export-start]").unwrap();
    let done = s.wait_text("[data-testid=export-done]", "导出完成", Duration::from_secs(60)).unwrap();
    app.shot("06-evidence-exported");
    let dir = done.split('：').nth(1).and_then(|d| d.split('（').next()).unwrap().trim().to_string();
    assert!(done.contains("4 段录像"), "{done}");
    let out = ws.cli(&["verify-export", &dir, "--key", &key]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("OK"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same screen in English.
    s.click("[data-testid=lang-en]").unwrap();
    s.click("[data-testid=nav-playback]").unwrap();
    s.wait_text("[data-testid=playback-load]", "Show recordings", T).unwrap();
    s.click("[data-testid=playback-load]").unwrap();
    s.wait_text("[data-testid=playback-view]", "Removed by retention", T).unwrap();
    s.wait("[data-testid=playback-video-cam-pb1-a]", T).unwrap();
    app.shot("07-playback-en");
}
