//! 录音录像 for real: the recorder pulls the simulated RTSP cameras (venue-sim's, in this process)
//! over TCP and writes Matroska segments. A session records and its files play (checked with
//! gst-discoverer-1.0) and verify in an export; a camera whose address is wrong raises an alarm while
//! the others record; a camera dropped for 30 s (cut off, or stalled with the connection open)
//! raises a video-loss alarm within the stall timeout, opens a gap and resumes by itself; kill -9 of
//! a recording process loses at most the open segment, which the next start recovers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::{DurationRound, TimeDelta, Utc};
use chrono_tz::Asia::Shanghai;
use venue_desk::Services;
use venue_desk::alerts::views::{AlarmFilter, AlarmKind, AlarmView};
use venue_desk::auth::{Caller, NewOperatorInput};
use venue_desk::bookings::views::{BookingInput, ProjectInput};
use venue_desk::clock::SystemClock;
use venue_desk::config::VenueConfig;
use venue_desk::domain::booking::Purpose;
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk::media::capture::RecState;
use venue_desk::media::recorder::ControlTarget;
use venue_desk::media::schedule::{Override, Why};
use venue_desk::media::verify::verify_export;
use venue_desk::sim::rtsp::{CameraConfig, DropMode, RtspSim, RtspSimHandle, VideoFormat};
use venue_desk::store::recordings::{self as db, SegmentRow};
use venue_desk_tests::e2e::{Workstation, app_binary, free_port};
use venue_desk_tests::process::{output_within, wait_within};
use venue_desk_tests::uplink::unique_venue_code;

/// Small pictures: the encoders of the simulator share two cores with everything else.
const FORMAT: VideoFormat = VideoFormat { width: 320, height: 180, fps: 15 };
const PROJECT: &str = "E3501000001000123001";

fn sim() -> RtspSimHandle {
    let sim = RtspSim::start(format!("127.0.0.1:{}", free_port()).parse().unwrap()).unwrap();
    for (id, path) in [("cam-pb1-a", "/pb-1/a/main"), ("cam-pb1-b", "/pb-1/b/main")] {
        sim.add_camera(CameraConfig::camera(id, "第一评标室", id, path, FORMAT, None)).unwrap();
    }
    sim.add_camera(CameraConfig::microphone("mic-pb1", "第一评标室", "拾音器", "/pb-1/mic")).unwrap();
    sim
}

/// The demo venue with room pb-1's devices on the simulator, two-second segments, and `patch`.
fn venue(dir: &Path, sim: &RtspSimHandle, patch: impl FnOnce(&mut VenueConfig)) -> VenueConfig {
    let mut c = venue_desk::config::demo(dir);
    c.code = unique_venue_code("REC");
    for d in &mut c.devices {
        match d.id.as_str() {
            "cam-pb1-a" => d.address = sim.url("/pb-1/a/main"),
            "cam-pb1-b" => d.address = sim.url("/pb-1/b/main"),
            "mic-pb1" => d.address = sim.url("/pb-1/mic"),
            _ => {}
        }
    }
    c.recording.segment_seconds = 2;
    c.recording.min_free_mib = 0;
    patch(&mut c);
    c
}

struct Live {
    services: Arc<Services>,
    runner: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Live {
    async fn open(sim: &RtspSimHandle, patch: impl FnOnce(&mut VenueConfig)) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let config = venue(dir.path(), sim, patch);
        let services = Arc::new(Services::open(config, Arc::new(SystemClock)).await.unwrap());
        let admin = NewOperatorInput {
            username: "admin".into(),
            display_name: "管理员".into(),
            role: Role::Administrator,
            password: "Venue-desk-2026".into(),
        };
        services.auth.create_first_administrator(&admin).await.unwrap();
        let runner = tokio::spawn(services.recorder.clone().run());
        Live { services, runner, _dir: dir }
    }

    /// Stops recording (open files are finished and indexed) and waits for the recorder to end.
    /// The services stay usable, and the data directory is kept while `Stopped` lives.
    async fn stop(self) -> Stopped {
        self.services.recorder.shutdown().await;
        tokio::time::timeout(Duration::from_secs(20), self.runner).await.unwrap().unwrap();
        Stopped { services: self.services, _dir: self._dir }
    }

    async fn alarms(&self) -> Vec<AlarmView> {
        self.services.alarms.list(&AlarmFilter { open_only: false, limit: Some(100) }).await.unwrap()
    }
}

struct Stopped {
    services: Arc<Services>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Stopped {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

fn admin() -> Caller {
    Caller { operator_id: 1, username: "admin".into(), role: Role::Administrator }
}

async fn segments(s: &Services, camera: &str) -> Vec<SegmentRow> {
    db::segments_of_camera(s.store.pool(), camera, 0, i64::MAX).await.unwrap()
}

/// `(duration in ms, has video, has audio)` as gst-discoverer-1.0 reports the file.
fn discover(path: &Path) -> (i64, bool, bool) {
    let out = Command::new("gst-discoverer-1.0").arg(path).output().expect("gst-discoverer-1.0 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !text.contains("error"), "{} does not play:\n{text}", path.display());
    let duration = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Duration: "))
        .and_then(|d| {
            let mut p = d.split(':');
            let (h, m, s) = (
                p.next()?.parse::<f64>().ok()?,
                p.next()?.parse::<f64>().ok()?,
                p.next()?.parse::<f64>().ok()?,
            );
            Some(((h * 3600.0 + m * 60.0 + s) * 1000.0) as i64)
        })
        .unwrap_or_else(|| panic!("no duration for {}:\n{text}", path.display()));
    (duration, text.contains("video #"), text.contains("audio #"))
}

async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A confirmed evaluation of room pb-1 starting within the pre-roll.
async fn book_now(s: &Services) {
    let manager_input = NewOperatorInput {
        username: "manager".into(),
        display_name: "场地管理员".into(),
        role: Role::VenueManager,
        password: "Venue-desk-2026".into(),
    };
    s.auth.create_operator(&admin(), &manager_input).await.unwrap();
    let manager = Caller { operator_id: 2, username: "manager".into(), role: Role::VenueManager };
    let p = s
        .bookings
        .save_project(
            &manager,
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: PROJECT.into(),
                name: "示范市第一中学教学楼改造工程".into(),
                category: TradingCategory::Construction,
                bid_section_codes: vec!["001".into()],
                tenderer_name: "示范市第一中学".into(),
                tenderer_credit_code: "91350100M000100Y43".into(),
                agency_name: None,
                agency_credit_code: None,
                responsible_staff: "李娜".into(),
            },
        )
        .await
        .unwrap();
    let start = (Utc::now() + TimeDelta::minutes(3))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
        .with_timezone(&Shanghai);
    let end = start + TimeDelta::hours(1);
    s.bookings
        .create(
            &manager,
            &BookingInput {
                room_id: "pb-1".into(),
                project_id: p.id,
                bid_section_codes: vec!["001".into()],
                purpose: Purpose::Evaluation,
                start: start.format("%Y-%m-%dT%H:%M").to_string(),
                end: end.format("%Y-%m-%dT%H:%M").to_string(),
                setup_min: 0,
                cleanup_min: 0,
                expected_participants: 8,
                expected_experts: 7,
                overnight: false,
                days: 1,
                notes: String::new(),
                confirm: true,
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_records_playable_segments_that_verify_and_a_wrong_address_alarms() {
    let sim = sim();
    let closed_port = free_port();
    let live = Live::open(&sim, |c| {
        let b = c.devices.iter_mut().find(|d| d.id == "cam-pb1-b").unwrap();
        b.address = format!("rtsp://127.0.0.1:{closed_port}/nothing-here");
    })
    .await;
    let s = live.services.clone();
    book_now(&s).await;

    wait_for("cam-pb1-a and mic-pb1 recording", Duration::from_secs(20), || {
        let status = s.recorder.status();
        async move {
            ["cam-pb1-a", "mic-pb1"]
                .iter()
                .all(|id| status.iter().any(|c| &c.camera_id == id && c.live.state == RecState::Recording))
        }
    })
    .await;
    wait_for("the wrong address alarms", Duration::from_secs(10), || async {
        live.alarms().await.iter().any(|a| a.kind == AlarmKind::VideoLoss && a.source == "cam-pb1-b")
    })
    .await;
    // Three segments' worth, then the status carries a bitrate.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let status = s.recorder.status();
    let a = status.iter().find(|c| c.camera_id == "cam-pb1-a").unwrap();
    assert!(a.live.bitrate_kbps.unwrap_or(0) > 0, "a bitrate is shown: {a:?}");
    assert_eq!(a.live.streams, ["video", "audio"]);
    assert!(matches!(a.why, Some(venue_desk::media::schedule::Why::Session { .. })), "{:?}", a.why);
    let b = status.iter().find(|c| c.camera_id == "cam-pb1-b").unwrap();
    assert_eq!(b.live.state, RecState::Lost);
    assert!(b.live.problem.as_deref().unwrap_or("").contains("无法连接"), "{:?}", b.live.problem);
    let gaps = db::open_gaps(s.store.pool()).await.unwrap();
    assert!(gaps.iter().any(|g| g.camera_id == "cam-pb1-b"), "the unreachable camera has an open gap");

    let s = live.stop().await;
    let dir = s.config.recordings_dir.clone();
    for (camera, video) in [("cam-pb1-a", true), ("mic-pb1", false)] {
        let segs = segments(&s, camera).await;
        assert!(segs.len() >= 3, "{camera}: {} segments", segs.len());
        for pair in segs.windows(2) {
            assert_eq!(pair[1].prev_chain, pair[0].chain, "{camera}: chained");
            assert!(
                (pair[1].start_ms - pair[0].end_ms).abs() < 1000,
                "{camera}: segments follow on: {pair:?}"
            );
        }
        for seg in &segs {
            let (duration_ms, has_video, has_audio) = discover(&dir.join(&seg.path));
            assert_eq!((has_video, has_audio), (video, true), "{camera}: {}", seg.path);
            let indexed = seg.end_ms - seg.start_ms;
            assert!(
                (duration_ms - indexed).abs() < 1200,
                "{}: plays {duration_ms} ms, indexed {indexed} ms",
                seg.path
            );
            assert!(!seg.recovered);
        }
        // Whole seconds of a stream with a key frame a second: about two seconds each but the last.
        let first = &segs[0];
        assert!((1500..=4500).contains(&(first.end_ms - first.start_ms)), "{first:?}");
    }
    assert!(segments(&s, "cam-pb1-b").await.is_empty(), "nothing indexed for the unreachable camera");

    // The session's recordings export and verify.
    let out = tempfile::tempdir().unwrap();
    let rec = venue_desk::media::Recordings::from_services(&s);
    rec.export_project(&admin(), PROJECT, out.path(), |_| {}, Arc::new(AtomicBool::new(false)))
        .await
        .unwrap();
    let report = verify_export(out.path(), None).unwrap();
    assert!(report.ok, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_camera_dropped_for_30_s_alarms_within_the_timeout_leaves_a_gap_and_resumes() {
    let sim = sim();
    // Continuous cameras: no session needed. cam-pb1-a is cut off, cam-pb1-b stalls.
    let live = Live::open(&sim, |c| {
        c.rooms.iter_mut().find(|r| r.id == "pb-1").unwrap().devices.retain(|d| d != "mic-pb1");
        for d in c.devices.iter_mut().filter(|d| d.id.starts_with("cam-pb1")) {
            d.continuous = true;
        }
    })
    .await;
    let s = live.services.clone();
    wait_for("both cameras recording", Duration::from_secs(20), || {
        let status = s.recorder.status();
        async move {
            status
                .iter()
                .filter(|c| c.camera_id.starts_with("cam-pb1") && c.live.state == RecState::Recording)
                .count()
                == 2
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let dropped = Instant::now();
    let dropped_ms = Utc::now().timestamp_millis();
    sim.drop_camera("cam-pb1-a", DropMode::Disconnect).unwrap();
    sim.drop_camera("cam-pb1-b", DropMode::Stall).unwrap();
    let mut seen_at = [None, None];
    while seen_at.iter().any(Option::is_none) {
        assert!(dropped.elapsed() < Duration::from_secs(10), "video-loss alarms: {seen_at:?}");
        let alarms = live.alarms().await;
        for (i, cam) in ["cam-pb1-a", "cam-pb1-b"].iter().enumerate() {
            if seen_at[i].is_none()
                && alarms.iter().any(|a| a.kind == AlarmKind::VideoLoss && &a.source == cam)
            {
                seen_at[i] = Some(dropped.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("video-loss alarm after: cut off {:?}, stalled {:?}", seen_at[0].unwrap(), seen_at[1].unwrap());
    assert!(seen_at[0].unwrap() <= Duration::from_secs(5), "a camera cut off alarms within 5 s");
    // The stall timeout is 5 s; the check runs every 100 ms and the alarm is one transaction.
    assert!(seen_at[1].unwrap() <= Duration::from_millis(6500), "a stalled camera alarms at the 5 s timeout");
    let open = db::open_gaps(s.store.pool()).await.unwrap();
    for cam in ["cam-pb1-a", "cam-pb1-b"] {
        let g = open.iter().find(|g| g.camera_id == cam).unwrap_or_else(|| panic!("{cam}: an open gap"));
        assert!((g.from_ms - dropped_ms).abs() < 1500, "{cam}: the gap starts at the last data: {g:?}");
    }
    assert!(
        s.recorder
            .status()
            .iter()
            .all(|c| !c.camera_id.starts_with("cam-pb1") || c.live.state == RecState::Lost)
    );

    tokio::time::sleep(Duration::from_secs(30).saturating_sub(dropped.elapsed())).await;
    let restored_ms = Utc::now().timestamp_millis();
    sim.restore_camera("cam-pb1-a").unwrap();
    sim.restore_camera("cam-pb1-b").unwrap();
    wait_for("both gaps closed", Duration::from_secs(25), || async {
        db::open_gaps(s.store.pool()).await.unwrap().iter().all(|g| !g.camera_id.starts_with("cam-pb1"))
    })
    .await;
    // New segments after the restore, chained on to those before the drop.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let s = live.stop().await;
    for cam in ["cam-pb1-a", "cam-pb1-b"] {
        let segs = segments(&s, cam).await;
        assert!(segs.iter().any(|x| x.end_ms <= dropped_ms + 1500), "{cam}: recorded before the drop");
        assert!(segs.iter().any(|x| x.start_ms >= restored_ms), "{cam}: recorded after the restore");
        for pair in segs.windows(2) {
            assert_eq!(pair[1].prev_chain, pair[0].chain);
        }
        for seg in &segs {
            discover(&s.config.recordings_dir.join(&seg.path));
        }
        let gaps = db::gaps_in_room(s.store.pool(), "pb-1", 0, i64::MAX).await.unwrap();
        let g = gaps.iter().find(|g| g.camera_id == cam).unwrap();
        let to = g.to_ms.unwrap();
        assert!(
            to >= restored_ms && to - restored_ms < 25_000,
            "{cam}: gap closed when data returned: {g:?}"
        );
        assert!(to - g.from_ms >= 29_000, "{cam}: the gap covers the drop: {g:?}");
    }
    let alarms = live_alarms_after(&s).await;
    assert!(
        alarms.iter().filter(|a| a.kind == AlarmKind::VideoLoss).all(|a| !a.active),
        "causes gone: {alarms:?}"
    );
}

async fn live_alarms_after(s: &Services) -> Vec<AlarmView> {
    s.alarms.list(&AlarmFilter { open_only: false, limit: Some(100) }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manual_start_and_stop_need_a_supervisor_and_a_reason_and_are_journaled() {
    let sim = sim();
    let live = Live::open(&sim, |c| {
        c.rooms
            .iter_mut()
            .find(|r| r.id == "pb-1")
            .unwrap()
            .devices
            .retain(|d| d != "mic-pb1" && d != "cam-pb1-b");
    })
    .await;
    let s = live.services.clone();
    let room = ControlTarget::Room { room_id: "pb-1".into() };
    let err = s.recorder.control(&admin(), &room, true, " ").await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err:?}");
    let front = Caller { operator_id: 9, username: "desk".into(), role: Role::FrontDesk };
    assert_eq!(
        s.recorder.control(&front, &room, true, "核查").await.unwrap_err().code(),
        "PERMISSION_DENIED"
    );
    let unknown = ControlTarget::Room { room_id: "no-such-room".into() };
    assert_eq!(s.recorder.control(&admin(), &unknown, true, "核查").await.unwrap_err().code(), "NOT_FOUND");

    // No session: a manual start records, a manual stop ends it.
    s.recorder.control(&admin(), &room, true, "现场核查需要录像").await.unwrap();
    wait_for("manual recording", Duration::from_secs(20), || {
        let st = s.recorder.status();
        async move { st.iter().any(|c| c.camera_id == "cam-pb1-a" && c.live.state == RecState::Recording) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A restart keeps the manual start: the next recorder on the same database records again.
    let config = s.config.as_ref().clone();
    let s = live.stop().await;
    let again = Services::open(config, Arc::new(SystemClock)).await.unwrap();
    again.recorder.restore_overrides().await.unwrap();
    let cam = again.recorder.status().into_iter().find(|c| c.camera_id == "cam-pb1-a").unwrap();
    assert!(
        matches!(&cam.manual, Some(Override::Start { reason, .. }) if reason == "现场核查需要录像"),
        "the manual start came back after the restart: {:?}",
        cam.manual
    );
    again.recorder.reconcile().await.unwrap();
    assert!(again.recorder.status().iter().any(|c| c.camera_id == "cam-pb1-a" && c.why == Some(Why::Manual)));
    again.recorder.control(&admin(), &room, false, "核查结束").await.unwrap();
    let cam = again.recorder.status().into_iter().find(|c| c.camera_id == "cam-pb1-a").unwrap();
    assert_eq!(cam.live.state, RecState::Idle);
    assert!(cam.manual.is_none(), "a stop with nothing scheduled ends at once: {:?}", cam.manual);
    again.recorder.shutdown().await;
    let third = Services::open(again.config.as_ref().clone(), Arc::new(SystemClock)).await.unwrap();
    third.recorder.restore_overrides().await.unwrap();
    assert!(third.recorder.status().iter().all(|c| c.manual.is_none()), "the stop was stored too");
    assert!(!segments(&s, "cam-pb1-a").await.is_empty(), "the manual recording was indexed");
    let (journal, _) = s
        .journal
        .query(&venue_desk::store::journal::JournalQuery {
            from_ms: None,
            to_ms: None,
            actor: None,
            kind: Some("recording.controlled".into()),
            before_seq: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(journal.len(), 2, "start and stop journaled with their reasons");
}

/// The venue file of the crash test: cam-pb1-a records around the clock from the simulator.
fn crash_venue(ws: &Workstation, sim: &RtspSimHandle) -> PathBuf {
    let file = ws.demo_venue_file(&[], "");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text
        .replace(
            "address = \"rtsp://127.0.0.1:18554/pb-1/a/main\"",
            &format!("address = \"{}\"\ncontinuous = true", sim.url("/pb-1/a/main")),
        )
        .replace("[recording]\nenabled = false\n", "[recording]\n")
        .replace("segment_seconds = 60", "segment_seconds = 2")
        .replace(
            "devices = [\"door-pb1\", \"cam-pb1-a\", \"cam-pb1-b\", \"mic-pb1\"]",
            "devices = [\"door-pb1\", \"cam-pb1-a\"]",
        )
        .replace("code = \"DEMO-01\"", &format!("code = \"{}\"", unique_venue_code("CRASH")));
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_while_recording_loses_at_most_the_open_segment_and_the_next_start_recovers_it() {
    let sim = sim();
    let ws = Workstation::new();
    let file = crash_venue(&ws, &sim);
    let db_url = {
        let c = venue_desk::config::load(&file, &ws.data_dir()).unwrap();
        assert!(
            c.devices.iter().any(|d| d.id == "cam-pb1-a" && d.continuous),
            "the venue file records cam-pb1-a"
        );
        (c.database_url.clone(), c.recordings_dir.clone())
    };
    let spawn = || {
        let mut cmd = Command::new(app_binary());
        cmd.args(["--config", file.to_str().unwrap(), "record"]).stdout(Stdio::null()).stderr(Stdio::null());
        ws.apply_env(&mut cmd);
        cmd.spawn().unwrap()
    };
    let mut child = spawn();
    let store = venue_desk::store::Store::open(&db_url.0).await.unwrap();
    // Some closed segments, and one open for a second or so.
    wait_for("three indexed segments", Duration::from_secs(40), || async {
        db::segments_of_camera(store.pool(), "cam-pb1-a", 0, i64::MAX).await.unwrap().len() >= 3
    })
    .await;
    // A second recorder on the same data directory refuses: both would record the same cameras.
    // (Asked only now that the first one records: started together, either could win the lock.)
    let mut cmd = Command::new(app_binary());
    cmd.args(["--config", file.to_str().unwrap(), "record"]);
    ws.apply_env(&mut cmd);
    let second = output_within(&mut cmd, Duration::from_secs(30), "the second recorder");
    assert_eq!(second.status.code(), Some(2), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(String::from_utf8_lossy(&second.stderr).contains("venue-desk record"));
    // The file being written has frames on the disk (a second or so of this small stream).
    let indexed = db::segments_of_camera(store.pool(), "cam-pb1-a", 0, i64::MAX).await.unwrap();
    wait_for("the open file growing", Duration::from_secs(10), || {
        let open = mkv_files(&db_url.1.join("cam-pb1-a"))
            .into_iter()
            .filter(|f| !indexed.iter().any(|s| db_url.1.join(&s.path) == *f))
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .max()
            .unwrap_or(0);
        async move { open >= 8 * 1024 }
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    wait_within(&mut child, Duration::from_secs(10), "the killed recorder");
    let killed_ms = Utc::now().timestamp_millis();
    let before = db::segments_of_camera(store.pool(), "cam-pb1-a", 0, i64::MAX).await.unwrap();
    let on_disk = mkv_files(&db_url.1.join("cam-pb1-a"));
    let unindexed: Vec<&PathBuf> =
        on_disk.iter().filter(|f| !before.iter().any(|s| db_url.1.join(&s.path) == **f)).collect();
    assert_eq!(unindexed.len(), 1, "exactly the open segment is not indexed: {unindexed:?}");
    for seg in &before {
        discover(&db_url.1.join(&seg.path));
    }

    // The next start indexes the open file as recovered, records the gap, and records on.
    let mut child = spawn();
    wait_for("the recovered segment", Duration::from_secs(30), || async {
        db::segments_of_camera(store.pool(), "cam-pb1-a", 0, i64::MAX)
            .await
            .unwrap()
            .iter()
            .any(|s| s.recovered)
    })
    .await;
    wait_for("recording again", Duration::from_secs(30), || async {
        db::segments_of_camera(store.pool(), "cam-pb1-a", 0, i64::MAX).await.unwrap().len()
            >= before.len() + 3
    })
    .await;
    // SIGTERM: a clean stop.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let stopped = wait_within(&mut child, Duration::from_secs(30), "the recorder after SIGTERM");
    assert!(stopped.success(), "SIGTERM stops the recorder cleanly: {stopped}");
    let after = db::segments_of_camera(store.pool(), "cam-pb1-a", 0, i64::MAX).await.unwrap();
    let recovered: Vec<_> = after.iter().filter(|s| s.recovered).collect();
    assert_eq!(recovered.len(), 1);
    assert_eq!(db_url.1.join(&recovered[0].path), *unindexed[0]);
    let (duration_ms, video, audio) = discover(unindexed[0]);
    assert!(video && audio && duration_ms > 0, "the open segment plays up to the kill");
    for pair in after.windows(2) {
        assert_eq!(pair[1].prev_chain, pair[0].chain, "the chain runs through the recovered segment");
    }
    let gaps = db::gaps_in_room(store.pool(), "pb-1", 0, i64::MAX).await.unwrap();
    let g = gaps.iter().find(|g| g.camera_id == "cam-pb1-a").unwrap_or_else(|| {
        panic!("the crash's gap is recorded: {gaps:?}, recovered {recovered:?}, killed at {killed_ms}")
    });
    assert_eq!(g.from_ms, recovered[0].end_ms);
    assert!(g.to_ms.unwrap() >= killed_ms);
    assert!(
        mkv_files(&db_url.1.join("cam-pb1-a")).len() == after.len(),
        "every file on disk is indexed after a clean stop"
    );
    store.close().await;
}

fn mkv_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(day.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "mkv") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_camera_that_answers_garbage_alarms_and_is_retried_while_the_others_record() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let sim = sim();
    // Something on the camera's port that is not an RTSP server.
    let garbage = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = garbage.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    {
        let connections = connections.clone();
        std::thread::spawn(move || {
            for mut c in garbage.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                let _ = c.write_all(b"\x00\xffHELLO NOT RTSP\r\n\r\n\x13\x37garbage garbage\r\n\r\n");
            }
        });
    }
    let live = Live::open(&sim, |c| {
        c.rooms.iter_mut().find(|r| r.id == "pb-1").unwrap().devices.retain(|d| d != "mic-pb1");
        for d in c.devices.iter_mut().filter(|d| d.id.starts_with("cam-pb1")) {
            d.continuous = true;
        }
        c.devices.iter_mut().find(|d| d.id == "cam-pb1-b").unwrap().address =
            format!("rtsp://127.0.0.1:{port}/main");
    })
    .await;
    let s = live.services.clone();
    wait_for("the garbage camera alarms", Duration::from_secs(15), || async {
        live.alarms().await.iter().any(|a| a.kind == AlarmKind::VideoLoss && a.source == "cam-pb1-b")
    })
    .await;
    wait_for("cam-pb1-a recording", Duration::from_secs(15), || {
        let st = s.recorder.status();
        async move { st.iter().any(|c| c.camera_id == "cam-pb1-a" && c.live.state == RecState::Recording) }
    })
    .await;
    wait_for("reconnection attempts", Duration::from_secs(15), || {
        let n = connections.load(Ordering::SeqCst);
        async move { n >= 3 }
    })
    .await;
    let b = s.recorder.status().into_iter().find(|c| c.camera_id == "cam-pb1-b").unwrap();
    assert_eq!(b.live.state, RecState::Lost);
    assert!(!b.live.problem.unwrap_or_default().is_empty(), "the problem is shown");
    let s = live.stop().await;
    assert!(segments(&s, "cam-pb1-b").await.is_empty());
    assert!(!segments(&s, "cam-pb1-a").await.is_empty(), "the other camera recorded");
    let gaps = db::gaps_in_room(s.store.pool(), "pb-1", 0, i64::MAX).await.unwrap();
    let g = gaps.iter().find(|g| g.camera_id == "cam-pb1-b").expect("a gap for the garbage camera");
    assert!(g.to_ms.is_some(), "closed when recording stopped");
}
