//! 录像回放: the loopback media server over real HTTP (token, byte ranges, nothing outside the
//! recordings directory, purged segments) and the playback timeline of a session, on real Matroska
//! segments made with GStreamer and indexed as the recorder indexes them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use chrono::TimeZone;
use chrono_tz::Asia::Shanghai;
use venue_desk::bookings::views::{BookingInput, ProjectInput};
use venue_desk::domain::booking::Purpose;
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk::error::ErrorKind;
use venue_desk::media::Recordings;
use venue_desk::media::chain::{ClosedSegment, SegmentView};
use venue_desk::media::export_jobs::{ExportJobs, ExportState, ExportUpdate};
use venue_desk::media::playback::{TimelineQuery, TrackKind};
use venue_desk::media::serve::MediaServer;
use venue_desk::store::recordings as db;
use venue_desk_tests::fixture::{Venue, caller};
use venue_desk_tests::media::write_segment;

const PROJECT: &str = "E3101000001202611088";

/// Venue local time on 2026-11-24 as UTC epoch ms.
fn at(h: u32, m: u32, s: u32) -> i64 {
    Shanghai.with_ymd_and_hms(2026, 11, 24, h, m, s).unwrap().timestamp_millis()
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request written byte for byte (no client library normalising `..` away), read to the end.
fn get(base: &str, target: &str, extra: &[(&str, &str)]) -> Answer {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in extra {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    Answer { status, headers, body: raw[split + 4..].to_vec() }
}

struct Scene {
    v: Venue,
    rec: Recordings,
    booking_id: i64,
    /// cam-pb1-a's two segments, then cam-pb1-b's.
    segs: Vec<SegmentView>,
}

/// Room pb-1 booked for the project 09:00–10:00 (10 min set-up and clean-up); each of its two
/// cameras recorded two real 4-second segments from 09:00:00, and cam-pb1-b lost 09:00:08–09:00:20.
async fn scene() -> Scene {
    // A venue code of its own: the keyring holding the export signing key is shared between test
    // processes.
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let code = format!("P-{n:x}{:x}", std::process::id());
    let v = Venue::open_with(move |c| c.code = code, "2026-11-23T01:00:00Z").await;
    let rec = Recordings::from_services(&v.services);
    let manager = caller(Role::VenueManager);
    let b = &v.services.bookings;
    let p = b
        .save_project(
            &manager,
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: PROJECT.into(),
                name: "示范市体育馆维修工程".into(),
                category: TradingCategory::Construction,
                bid_section_codes: vec!["001".into()],
                tenderer_name: "示范市体育局".into(),
                tenderer_credit_code: "91350100M000100Y43".into(),
                agency_name: None,
                agency_credit_code: None,
                responsible_staff: "王芳".into(),
            },
        )
        .await
        .unwrap();
    let booking = b
        .create(
            &manager,
            &BookingInput {
                room_id: "pb-1".into(),
                project_id: p.id,
                bid_section_codes: vec!["001".into()],
                purpose: Purpose::Evaluation,
                start: "2026-11-24T09:00".into(),
                end: "2026-11-24T10:00".into(),
                setup_min: 10,
                cleanup_min: 10,
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
    let mut segs = Vec::new();
    for (cam, pattern) in [("cam-pb1-a", "ball"), ("cam-pb1-b", "smpte")] {
        for i in 0..2 {
            let start_ms = at(9, 0, 4 * i);
            let rel = format!("{cam}/20261124/{start_ms}.mkv");
            write_segment(&rec.recordings_dir().join(&rel), 4, cam, pattern);
            segs.push(
                rec.index_segment(&ClosedSegment {
                    camera_id: cam.into(),
                    path: PathBuf::from(&rel),
                    start_ms,
                    end_ms: start_ms + 4000,
                    recovered: i == 1,
                })
                .await
                .unwrap(),
            );
        }
    }
    rec.record_gap("cam-pb1-b", at(9, 0, 8), at(9, 0, 20), "video_loss").await.unwrap();
    Scene { v, rec, booking_id: booking[0].id, segs }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_media_server_serves_segments_by_id_with_ranges_and_a_token() {
    let sc = scene().await;
    let server = MediaServer::start(&sc.rec).unwrap();
    let ep = server.endpoint().clone();
    assert!(ep.base_url.starts_with("http://127.0.0.1:"), "{}", ep.base_url);
    assert!(ep.token.len() >= 32, "a long random token");
    let seg = &sc.segs[0];
    let file = std::fs::read(sc.rec.recordings_dir().join(&seg.path)).unwrap();
    let len = file.len();
    let target = |id: i64| format!("/segment/{id}?t={}", ep.token);

    // No token, a wrong one, or one of the wrong length: 403, and not a byte of video.
    for t in [
        format!("/segment/{}", seg.id),
        format!("/segment/{}?t=0000", seg.id),
        format!("/segment/{}?t={}", seg.id, "f".repeat(ep.token.len())),
    ] {
        let a = tokio::task::spawn_blocking({
            let base = ep.base_url.clone();
            move || get(&base, &t, &[])
        })
        .await
        .unwrap();
        assert_eq!(a.status, 403, "{}", a.text());
        assert!(a.text().contains("令牌") && a.text().contains("token"), "{}", a.text());
    }

    let base = ep.base_url.clone();
    let (whole, part, suffix, open, beyond, malformed) = tokio::task::spawn_blocking({
        let t = target(seg.id);
        move || {
            (
                get(&base, &t, &[]),
                get(&base, &t, &[("Range", "bytes=100-1099")]),
                get(&base, &t, &[("Range", "bytes=-500")]),
                get(&base, &t, &[("Range", &format!("bytes={}-", len - 10))]),
                get(&base, &t, &[("Range", &format!("bytes={len}-"))]),
                get(&base, &t, &[("Range", "bytes=x-y")]),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("Content-Type"), Some("video/x-matroska"));
    assert_eq!(whole.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(whole.header("Content-Length"), Some(len.to_string().as_str()));
    assert!(whole.body == file, "the whole file, byte for byte");

    assert_eq!(part.status, 206);
    assert_eq!(part.header("Content-Range"), Some(format!("bytes 100-1099/{len}").as_str()));
    assert_eq!(part.header("Content-Type"), Some("video/x-matroska"));
    assert!(part.body == file[100..1100], "bytes 100–1099");
    assert_eq!(suffix.status, 206);
    assert!(suffix.body == file[len - 500..], "the last 500 bytes");
    assert_eq!(open.status, 206);
    assert!(open.body == file[len - 10..], "the last 10 bytes");
    assert_eq!(beyond.status, 416, "{}", beyond.text());
    assert_eq!(beyond.header("Content-Range"), Some(format!("bytes */{len}").as_str()));
    assert_eq!(malformed.status, 416);

    // Unknown id: 404 saying so.
    let base = ep.base_url.clone();
    let t = target(999_999);
    let a = tokio::task::spawn_blocking(move || get(&base, &t, &[])).await.unwrap();
    assert_eq!(a.status, 404);
    assert!(a.text().contains("999999"), "{}", a.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_recordings_directory_is_served() {
    let sc = scene().await;
    let server = MediaServer::start(&sc.rec).unwrap();
    let ep = server.endpoint().clone();
    // A secret beside the recordings directory.
    let secret = sc.v.data_dir().join("secret.txt");
    std::fs::write(&secret, b"TOP-SECRET-NOT-A-RECORDING").unwrap();
    let rec_dir = sc.rec.recordings_dir().clone();
    let rel_to_secret = pathdiff(&secret, &rec_dir);

    let base = ep.base_url.clone();
    let tok = ep.token.clone();
    let answers = tokio::task::spawn_blocking(move || {
        [
            format!("/segment/../{rel_to_secret}?t={tok}"),
            format!("/segment/..%2F..%2Fsecret.txt?t={tok}"),
            format!("/../{rel_to_secret}?t={tok}"),
            format!("/{rel_to_secret}?t={tok}"),
            format!("/segment/1/../../../secret.txt?t={tok}"),
            format!("/segment/%2e%2e/secret.txt?t={tok}"),
        ]
        .map(|t| (t.clone(), get(&base, &t, &[])))
    })
    .await
    .unwrap();
    for (t, a) in answers {
        assert_eq!(a.status, 404, "{t}: {}", a.text());
        assert!(!a.text().contains("TOP-SECRET"), "{t} leaked the file");
    }

    // An indexed segment whose file was replaced by a symlink leading out of the directory: the
    // index still names it, the server still refuses.
    let seg = &sc.segs[1];
    let path = rec_dir.join(&seg.path);
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret, &path).unwrap();
    let (base, t) = (ep.base_url.clone(), format!("/segment/{}?t={}", seg.id, ep.token));
    let a = tokio::task::spawn_blocking(move || get(&base, &t, &[])).await.unwrap();
    assert_eq!(a.status, 404, "{}", a.text());
    assert!(!a.text().contains("TOP-SECRET"));
    assert!(a.text().contains("recordings directory"), "{}", a.text());
}

/// `target` relative to `base`, as `../..`-style text (both under the same temp directory).
fn pathdiff(target: &std::path::Path, base: &std::path::Path) -> String {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let ups = std::iter::repeat_n("..".to_string(), b.len() - common);
    let downs = t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned());
    ups.chain(downs).collect::<Vec<_>>().join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_segment_answers_410_and_the_timeline_says_so() {
    let sc = scene().await;
    let server = MediaServer::start(&sc.rec).unwrap();
    let ep = server.endpoint().clone();
    let seg = &sc.segs[0];
    // What retention does: the file goes, the row stays with the time it went.
    std::fs::remove_file(sc.rec.recordings_dir().join(&seg.path)).unwrap();
    let mut w = sc.v.services.store.begin_write().await.unwrap();
    assert!(db::mark_purged(&mut w, seg.id, at(12, 0, 0)).await.unwrap());
    w.commit().await.unwrap();

    let (base, t) = (ep.base_url.clone(), format!("/segment/{}?t={}", seg.id, ep.token));
    let a = tokio::task::spawn_blocking(move || get(&base, &t, &[])).await.unwrap();
    assert_eq!(a.status, 410, "{}", a.text());
    assert!(a.text().contains("保留期限") && a.text().contains("retention"), "{}", a.text());
    assert!(a.text().contains("2026-11-24 12:00"), "names when: {}", a.text());

    let t = sc
        .rec
        .timeline(&caller(Role::Supervisor), &TimelineQuery::Session { booking_id: sc.booking_id }, &ep)
        .await
        .unwrap();
    let a_track = t.tracks.iter().find(|t| t.device_id == "cam-pb1-a").unwrap();
    assert!(a_track.segments[0].purged);
    assert_eq!(a_track.segments[0].url, None, "no URL for a removed file");
    assert!(!a_track.segments[1].purged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_of_a_session_holds_its_cameras_segments_gaps_and_session() {
    let sc = scene().await;
    let server = MediaServer::start(&sc.rec).unwrap();
    let ep = server.endpoint().clone();
    sc.v.sign_in(Role::Supervisor).await;
    let t = sc
        .rec
        .timeline(&caller(Role::Supervisor), &TimelineQuery::Session { booking_id: sc.booking_id }, &ep)
        .await
        .unwrap();
    assert_eq!(t.room_id, "pb-1");
    assert_eq!(t.room_name, "第一评标室");
    // The span is the booking's hold on the room: set-up and clean-up included.
    assert_eq!((t.from_ms, t.to_ms), (at(8, 50, 0), at(10, 10, 0)));
    let s = t.session.as_ref().unwrap();
    assert_eq!(s.booking_id, sc.booking_id);
    assert_eq!(s.tender_project_code, PROJECT);
    assert_eq!(s.project_name, "示范市体育馆维修工程");
    assert_eq!(s.bid_section_codes, vec!["001"]);
    assert_eq!((s.start_ms, s.end_ms), (at(9, 0, 0), at(10, 0, 0)));
    assert_eq!(t.sessions.len(), 1);

    // The room's cameras, then its microphone, as the venue file lists them.
    let ids: Vec<_> = t.tracks.iter().map(|t| (t.device_id.as_str(), t.kind)).collect();
    assert_eq!(
        ids,
        vec![
            ("cam-pb1-a", TrackKind::Camera),
            ("cam-pb1-b", TrackKind::Camera),
            ("mic-pb1", TrackKind::Microphone)
        ]
    );
    for (i, cam) in ["cam-pb1-a", "cam-pb1-b"].into_iter().enumerate() {
        let track = &t.tracks[i];
        let got: Vec<_> = track.segments.iter().map(|s| (s.id, s.start_ms, s.end_ms, s.recovered)).collect();
        let want: Vec<_> = sc.segs[i * 2..i * 2 + 2]
            .iter()
            .enumerate()
            .map(|(j, s)| (s.id, s.start_ms, s.end_ms, j == 1))
            .collect();
        assert_eq!(got, want, "{cam}");
        for s in &track.segments {
            assert_eq!(s.url.as_deref(), Some(ep.segment_url(s.id).as_str()));
        }
    }
    assert!(t.tracks[0].gaps.is_empty());
    let gaps: Vec<_> = t.tracks[1].gaps.iter().map(|g| (g.from_ms, g.to_ms, g.reason.as_str())).collect();
    assert_eq!(gaps, vec![(at(9, 0, 8), Some(at(9, 0, 20)), "video_loss")]);
    assert!(t.tracks[2].segments.is_empty());

    // Every URL the timeline hands out is served.
    let urls: Vec<String> =
        t.tracks.iter().flat_map(|t| t.segments.iter().filter_map(|s| s.url.clone())).collect();
    let statuses = tokio::task::spawn_blocking(move || {
        urls.iter()
            .map(|u| {
                let (base, rest) = u.split_at(u.find("/segment/").unwrap());
                get(base, rest, &[("Range", "bytes=0-3")]).status
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(statuses, vec![206; 4]);

    // The same room by day holds the same segments.
    let day = sc
        .rec
        .timeline(
            &caller(Role::Administrator),
            &TimelineQuery::Day { room_id: "pb-1".into(), date: "2026-11-24".into() },
            &ep,
        )
        .await
        .unwrap();
    assert_eq!((day.from_ms, day.to_ms), (at(0, 0, 0), at(0, 0, 0) + 86_400_000));
    assert_eq!(day.tracks.iter().map(|t| t.segments.len()).sum::<usize>(), 4);
    assert!(day.session.is_none());
    assert_eq!(day.sessions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_refuses_other_roles_and_bad_queries_clearly() {
    let sc = scene().await;
    let server = MediaServer::start(&sc.rec).unwrap();
    let ep = server.endpoint().clone();
    let q = TimelineQuery::Session { booking_id: sc.booking_id };
    for role in [Role::FrontDesk, Role::VenueManager] {
        let e = sc.rec.timeline(&caller(role), &q, &ep).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::PermissionDenied, "{role:?}");
    }
    let sup = caller(Role::Supervisor);
    let cases = [
        (TimelineQuery::Session { booking_id: 999 }, ErrorKind::NotFound),
        (
            TimelineQuery::Day { room_id: "pb-1".into(), date: "24.11.2026".into() },
            ErrorKind::InvalidArgument,
        ),
        (TimelineQuery::Day { room_id: "nope".into(), date: "2026-11-24".into() }, ErrorKind::NotFound),
        (
            TimelineQuery::Range { room_id: "pb-1".into(), from_ms: at(10, 0, 0), to_ms: at(9, 0, 0) },
            ErrorKind::InvalidArgument,
        ),
        (
            TimelineQuery::Range {
                room_id: "pb-1".into(),
                from_ms: at(0, 0, 0),
                to_ms: at(0, 0, 0) + 49 * 3_600_000,
            },
            ErrorKind::InvalidArgument,
        ),
    ];
    for (q, kind) in cases {
        let e = sc.rec.timeline(&sup, &q, &ep).await.unwrap_err();
        assert_eq!(e.kind, kind, "{q:?}: {e}");
    }
}

/// Runs an export through the jobs and collects its updates until the last.
async fn export_updates(
    jobs: &ExportJobs,
    sc: &Scene,
    parent: Option<PathBuf>,
) -> Result<(i64, Vec<ExportUpdate>), venue_desk::error::Error> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = jobs
        .start(
            Recordings::from_services(&sc.v.services),
            caller(Role::Supervisor),
            PROJECT,
            parent,
            move |u| {
                let _ = tx.send(u);
            },
        )
        .await?;
    let mut updates = Vec::new();
    while let Some(u) = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await.unwrap() {
        let last = u.state != ExportState::Running;
        updates.push(u);
        if last {
            break;
        }
    }
    Ok((started.job_id, updates))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_reports_progress_then_its_report_and_refuses_a_bad_location_clearly() {
    let sc = scene().await;
    let jobs = ExportJobs::default();
    let parent = sc.v.data_dir().join("usb");
    std::fs::create_dir_all(&parent).unwrap();
    let (_, updates) = export_updates(&jobs, &sc, Some(parent.clone())).await.unwrap();
    let last = updates.last().unwrap();
    assert_eq!(last.state, ExportState::Done, "{last:?}");
    let report = last.report.as_ref().unwrap();
    assert_eq!(report.segments, 4);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(std::path::Path::new(&last.dir).starts_with(&parent), "{} inside {}", last.dir, parent.display());
    assert!(updates.len() >= 2, "progress before the end: {updates:?}");
    let done: Vec<u64> = updates.iter().map(|u| u.progress.bytes_done).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {done:?}");
    assert_eq!(last.progress.bytes_done, last.progress.bytes_total);
    let verified = venue_desk::media::verify::verify_export(std::path::Path::new(&last.dir), None).unwrap();
    assert!(verified.ok, "{:?}", verified.first_problem);

    // A location that is a file, or does not exist: refused at once, in words, nothing written.
    let file = sc.v.data_dir().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    for (bad, says) in [(file.clone(), "not a directory"), (sc.v.data_dir().join("nope"), "does not exist")] {
        let e = export_updates(&jobs, &sc, Some(bad.clone())).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
        assert!(e.message_in(venue_desk::error::Locale::En).contains(says), "{e}");
        assert!(e.message_in(venue_desk::error::Locale::ZhCn).contains("导出位置"), "{e}");
    }
    // A directory nobody can write in (not even root): the export fails with the reason, and
    // leaves nothing behind.
    let (_, updates) = export_updates(&jobs, &sc, Some(PathBuf::from("/proc"))).await.unwrap();
    let last = updates.last().unwrap();
    assert_eq!(last.state, ExportState::Failed, "{last:?}");
    assert!(last.error.as_deref().is_some_and(|e| !e.is_empty()), "{last:?}");
    assert!(!std::path::Path::new(&last.dir).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_can_be_cancelled_and_one_project_exports_once_at_a_time() {
    let sc = scene().await;
    let jobs = std::sync::Arc::new(ExportJobs::default());
    let parent = sc.v.data_dir().join("usb");
    std::fs::create_dir_all(&parent).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Cancelled at its first progress report, before the first file is copied, as an operator's
    // click would.
    let started = jobs
        .start(
            Recordings::from_services(&sc.v.services),
            caller(Role::Supervisor),
            PROJECT,
            Some(parent.clone()),
            {
                let jobs = jobs.clone();
                move |u: ExportUpdate| {
                    if u.state == ExportState::Running && u.progress.files_done == 0 {
                        assert!(jobs.cancel(u.job_id), "running, so it can be cancelled");
                    }
                    let _ = tx.send(u);
                }
            },
        )
        .await
        .unwrap();
    let second = jobs
        .start(
            Recordings::from_services(&sc.v.services),
            caller(Role::Supervisor),
            PROJECT,
            Some(parent.clone()),
            |_| {},
        )
        .await;
    let mut last = None;
    while let Some(u) = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await.unwrap() {
        if u.state != ExportState::Running {
            last = Some(u);
            break;
        }
    }
    let last = last.unwrap();
    assert_eq!(last.state, ExportState::Cancelled, "{last:?}");
    assert!(!std::path::Path::new(&last.dir).exists(), "the partial export is removed");
    // The second start either found the first still running (refused as a conflict) or came after it.
    if let Err(e) = second {
        assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    }
    assert!(!jobs.cancel(started.job_id), "finished: nothing to cancel");
    // Front desk: refused before anything starts.
    let e = jobs
        .start(Recordings::from_services(&sc.v.services), caller(Role::FrontDesk), PROJECT, None, |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
}
