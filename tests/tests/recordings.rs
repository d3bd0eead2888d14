//! 录音录像 as evidence, without GStreamer: synthetic segment files (random bytes) indexed through the
//! service on a scratch venue, chained per camera, exported for a project (一项一档) with a signed
//! manifest, and checked by the verifier — intact, then with a segment edited or removed, the
//! manifest edited, the index's chain tampered with. Also: cancelling and refusing exports, legal
//! holds and their rules, gaps, the database refusing to rewrite the index, and `verify-export` as
//! the real binary runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::TimeZone;
use chrono_tz::Asia::Shanghai;
use sha2::{Digest, Sha256};
use venue_desk::bookings::views::{BookingInput, ProjectInput};
use venue_desk::domain::booking::Purpose;
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk::error::{ErrorKind, Locale};
use venue_desk::media::Recordings;
use venue_desk::media::chain::{ClosedSegment, GENESIS_CHAIN, SegmentView, segment_chain};
use venue_desk::media::export::{ExportOutcome, ExportProgress, ExportReport, Manifest};
use venue_desk::media::holds::HoldScope;
use venue_desk::media::verify::{VerifyReport, verify_export};
use venue_desk::store::journal::JournalQuery;
use venue_desk::store::recordings as db;
use venue_desk_tests::fixture::{Venue, caller, username};

const PROJECT: &str = "E3101000001202611077";

/// A venue code of its own: the keyring (which holds the signing key) is shared between test processes.
fn unique_venue_code() -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("R-{n:x}{:x}", std::process::id())
}

/// Venue local time on 2026-11-24 as UTC epoch ms.
fn at(h: u32, m: u32) -> i64 {
    Shanghai.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap().timestamp_millis()
}

/// Deterministic noise standing in for video.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

struct Scene {
    v: Venue,
    rec: Recordings,
    /// cam-pb1-a's segments of the morning session, in order.
    morning_a: Vec<SegmentView>,
}

impl Scene {
    /// Room pb-1 (cameras cam-pb1-a and cam-pb1-b) booked for the project 09:00–12:00 and 15:00–16:00
    /// (30 min set-up and clean-up each), with four one-minute segments per camera from 09:00, one
    /// segment of cam-pb1-a at 14:00 that belongs to no session, and two at 15:00.
    async fn new() -> Scene {
        let code = unique_venue_code();
        let v = Venue::open_with(move |c| c.code = code, "2026-11-23T01:00:00Z").await;
        let rec = Recordings::from_services(&v.services);
        std::fs::create_dir_all(rec.recordings_dir()).unwrap();
        let manager = caller(Role::VenueManager);
        let b = &v.services.bookings;
        let p = b
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
        for (start, end) in
            [("2026-11-24T09:00", "2026-11-24T12:00"), ("2026-11-24T15:00", "2026-11-24T16:00")]
        {
            b.create(
                &manager,
                &BookingInput {
                    room_id: "pb-1".into(),
                    project_id: p.id,
                    bid_section_codes: vec!["001".into()],
                    purpose: Purpose::Evaluation,
                    start: start.into(),
                    end: end.into(),
                    setup_min: 30,
                    cleanup_min: 30,
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
        let mut scene = Scene { v, rec, morning_a: Vec::new() };
        for i in 0..4 {
            for cam in ["cam-pb1-a", "cam-pb1-b"] {
                let s = scene.segment(cam, at(9, i), at(9, i + 1), 40_000 + i as usize * 1000).await;
                if cam == "cam-pb1-a" {
                    scene.morning_a.push(s);
                }
            }
        }
        scene.segment("cam-pb1-a", at(14, 0), at(14, 1), 30_000).await;
        scene.segment("cam-pb1-a", at(15, 0), at(15, 1), 30_000).await;
        scene.segment("cam-pb1-a", at(15, 1), at(15, 2), 30_000).await;
        scene
    }

    /// Writes a segment file of random bytes and indexes it, as the recorder does on close.
    async fn segment(&self, camera: &str, start_ms: i64, end_ms: i64, len: usize) -> SegmentView {
        let rel = format!("{camera}/20261124/{start_ms}.mkv");
        let path = self.rec.recordings_dir().join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            noise(start_ms as u64 ^ (camera.bytes().map(u64::from).sum::<u64>() << 40), len),
        )
        .unwrap();
        self.rec
            .index_segment(&ClosedSegment {
                camera_id: camera.into(),
                path: PathBuf::from(&rel),
                start_ms,
                end_ms,
                recovered: false,
            })
            .await
            .unwrap()
    }

    async fn export(&self, dest: &Path) -> ExportReport {
        match self
            .rec
            .export_project(
                &caller(Role::Supervisor),
                PROJECT,
                dest,
                |_| {},
                Arc::new(AtomicBool::new(false)),
            )
            .await
            .unwrap()
        {
            ExportOutcome::Done(r) => r,
            ExportOutcome::Cancelled { .. } => panic!("not cancelled"),
        }
    }

    fn out(&self, name: &str) -> PathBuf {
        self.v.data_dir().join("out").join(name)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn broken(r: &VerifyReport) -> (&str, &str) {
    assert!(!r.ok, "expected a problem, got OK");
    (r.problem_at.as_deref().unwrap(), r.first_problem.as_deref().unwrap())
}

fn manifest(dir: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn segments_chain_per_camera_and_are_journaled_with_their_project() {
    let s = Scene::new().await;
    let a = &s.morning_a;
    assert_eq!(a[0].prev_chain, GENESIS_CHAIN);
    for w in a.windows(2) {
        assert_eq!(w[1].prev_chain, w[0].chain, "each segment links to the camera's previous one");
    }
    for seg in a {
        let bytes = std::fs::read(s.rec.recordings_dir().join(&seg.path)).unwrap();
        assert_eq!(seg.sha256, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(seg.bytes as usize, bytes.len());
        assert_eq!(
            seg.chain,
            segment_chain(
                &seg.prev_chain,
                &seg.sha256,
                "cam-pb1-a",
                seg.start_ms,
                seg.end_ms,
                seg.bytes as u64
            )
        );
        assert_eq!(seg.room_id.as_deref(), Some("pb-1"));
    }
    assert_eq!(s.rec.last_chain("cam-pb1-c").await.unwrap(), GENESIS_CHAIN);
    assert!(s.rec.is_indexed(&a[0].path).await.unwrap());

    // The journal record carries the project of the session that covers the segment, and goes upward.
    let (rows, _) =
        s.v.services
            .journal
            .query(&JournalQuery {
                kind: Some("recording.segment_closed".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
    assert_eq!(rows.len(), 11);
    let first: serde_json::Value = serde_json::from_str(
        &rows.iter().find(|r| r.detail.contains(&format!("\"chain\":\"{}\"", a[0].chain))).unwrap().detail,
    )
    .unwrap();
    assert_eq!(first["TENDER_PROJECT_CODE"], PROJECT);
    assert_eq!(first["BID_SECTION_CODE"], serde_json::json!(["001"]));
    assert_eq!(first["start"], "2026-11-24T09:00:00+08:00");
    assert_eq!(first["prevChain"], GENESIS_CHAIN);
    let at_14: serde_json::Value = serde_json::from_str(
        &rows.iter().find(|r| r.detail.contains("\"start\":\"2026-11-24T14:00:00+08:00\"")).unwrap().detail,
    )
    .unwrap();
    assert!(at_14.get("TENDER_PROJECT_CODE").is_none(), "no session covers 14:00: {at_14}");
    let (upward,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = 'RECORDING_SEGMENT_CLOSED'")
            .fetch_one(s.v.services.store.pool())
            .await
            .unwrap();
    assert_eq!(upward, 11);

    // The same file twice, a file outside the recordings directory, an impossible time: refused.
    let again = s
        .rec
        .index_segment(&ClosedSegment {
            camera_id: "cam-pb1-a".into(),
            path: a[0].path.clone().into(),
            start_ms: at(9, 0),
            end_ms: at(9, 1),
            recovered: false,
        })
        .await
        .unwrap_err();
    assert_eq!(again.kind, ErrorKind::AlreadyExists, "{again}");
    let outside = s.v.data_dir().join("elsewhere.mkv");
    std::fs::write(&outside, b"x").unwrap();
    let e = s
        .rec
        .index_segment(&ClosedSegment {
            camera_id: "cam-pb1-a".into(),
            path: outside,
            start_ms: at(10, 0),
            end_ms: at(10, 1),
            recovered: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message_in(Locale::En).contains("not inside the recordings directory"), "{e}");
    let e = s
        .rec
        .index_segment(&ClosedSegment {
            camera_id: "cam-pb1-a".into(),
            path: "cam-pb1-a/absent.mkv".into(),
            start_ms: at(10, 0),
            end_ms: at(10, 1),
            recovered: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    // Nothing of the refused ones reached the chain.
    assert_eq!(s.rec.last_chain("cam-pb1-a").await.unwrap().len(), 64);
}

#[tokio::test]
async fn the_database_refuses_to_rewrite_the_index() {
    let s = Scene::new().await;
    let pool = s.v.services.store.pool();
    let id = s.morning_a[1].id;
    for sql in [
        "UPDATE recording_segments SET sha256 = prev_chain WHERE id = $1",
        "UPDATE recording_segments SET chain = prev_chain WHERE id = $1",
        "UPDATE recording_segments SET end_ms = end_ms + 1 WHERE id = $1",
        "DELETE FROM recording_segments WHERE id = $1",
    ] {
        let e = venue_desk::error::Error::from(sqlx::query(sql).bind(id).execute(pool).await.unwrap_err());
        assert_eq!(e.kind, ErrorKind::PermissionDenied, "{sql}: {e}");
    }
    // Retention marks a removed file once; the row stays.
    sqlx::query("UPDATE recording_segments SET purged_at_ms = 1 WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    assert!(
        sqlx::query("UPDATE recording_segments SET purged_at_ms = 2 WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .is_err()
    );
    // A camera's chain cannot fork: a second successor of the same link is refused.
    let dup = sqlx::query(
        "INSERT INTO recording_segments (camera_id, room_id, path, start_ms, end_ms, bytes, sha256, prev_chain, chain, \
         indexed_at) SELECT camera_id, room_id, 'fork.mkv', start_ms, end_ms, bytes, sha256, prev_chain, chain, indexed_at \
         FROM recording_segments WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await;
    assert!(dup.is_err(), "a fork in the chain was accepted");
}

#[tokio::test]
async fn an_export_verifies_and_the_verifier_names_what_was_tampered_with() {
    let s = Scene::new().await;
    // A camera went silent for a while during the session, and is silent again now.
    let gap = s.rec.open_gap("cam-pb1-b", at(10, 0), "RTSP stream stalled").await.unwrap();
    assert_eq!(
        s.rec.open_gap("cam-pb1-b", at(10, 0), "again").await.unwrap().id,
        gap.id,
        "one open gap per camera"
    );
    let closed = s.rec.close_gap("cam-pb1-b", at(10, 2)).await.unwrap().unwrap();
    assert_eq!(closed.to.as_deref(), Some("2026-11-24T10:02:00+08:00"));
    assert!(s.rec.close_gap("cam-pb1-b", at(10, 3)).await.unwrap().is_none());
    s.rec.record_gap("cam-pb1-a", at(11, 0), at(11, 5), "application stopped unexpectedly").await.unwrap();
    s.rec.record_gap("cam-kb1-front", at(11, 0), at(11, 5), "another room").await.unwrap();

    let dir = s.out("export");
    let mut seen = Vec::new();
    let seen_progress = Arc::new(std::sync::Mutex::new(Vec::<ExportProgress>::new()));
    let sink = seen_progress.clone();
    let outcome = s
        .rec
        .export_project(
            &caller(Role::Supervisor),
            PROJECT,
            &dir,
            move |p| sink.lock().unwrap().push(p.clone()),
            Arc::new(AtomicBool::new(false)),
        )
        .await
        .unwrap();
    let ExportOutcome::Done(report) = outcome else { panic!("cancelled") };
    seen.extend(seen_progress.lock().unwrap().iter().cloned());
    assert_eq!((report.sessions, report.segments), (2, 10), "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let last = seen.last().unwrap();
    assert_eq!(last.files_done, last.files_total);
    assert_eq!(last.files_total, 10 + 6);
    assert_eq!(last.bytes_done, last.bytes_total);
    assert!(
        seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done && w[0].files_done <= w[1].files_done)
    );
    assert_eq!(report.public_key, s.rec.public_key_hex().unwrap(), "signed with the venue's keyring key");

    let m = manifest(&dir);
    assert_eq!(m.project.tender_project_code, PROJECT);
    assert_eq!(m.venue.code, s.v.services.config.code);
    assert_eq!(m.sessions[0].cameras, ["cam-pb1-a", "cam-pb1-b"]);
    assert_eq!(m.sessions[0].recorded_from, "2026-11-24T08:30:00+08:00");
    // The 14:00 segment belongs to no session of the project: the one at 15:00 starts a new run.
    let a: Vec<_> = m.segments.iter().filter(|x| x.camera == "cam-pb1-a").collect();
    assert_eq!(a.len(), 6);
    assert_eq!(
        a.iter().map(|x| x.links_to_previous).collect::<Vec<_>>(),
        [false, true, true, true, false, true]
    );
    assert_eq!(a[0].file.as_deref(), Some(format!("segments/cam-pb1-a/{}.mkv", at(9, 0)).as_str()));
    assert_eq!(m.gaps.len(), 2, "the gaps of pb-1 in the sessions, not those of other rooms: {:?}", m.gaps);
    assert!(m.journal.iter().any(|r| r.kind == "recording.segment_closed"));
    assert!(m.journal.iter().any(|r| r.kind == "booking.created"));
    assert!(m.journal.iter().any(|r| r.kind == "recording.gap"));
    assert!(m.journal.iter().all(|r| r.detail.contains(PROJECT)));
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(
        readme.contains("如何核验")
            && readme.contains("How to verify")
            && readme.contains(&report.public_key)
    );

    let ok = verify_export(&dir, None).unwrap();
    assert!(ok.ok, "{:?}", ok.first_problem);
    assert_eq!(ok.segments, 10);
    assert_eq!(ok.checked_files, 10 + 4, "the segments, manifest, both keys and the README");
    let key: [u8; 32] = hex::decode(&report.public_key).unwrap().try_into().unwrap();
    assert!(verify_export(&dir, Some(&key)).unwrap().ok);

    // Without Venue Desk: the commands docs/recording-integrity.md and README.txt give.
    let sums = Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&dir).output();
    if let Ok(out) = sums {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
    if Command::new("openssl").arg("version").output().is_ok() {
        let sig = s.out("manifest.sig.bin");
        let decode = Command::new("openssl")
            .args(["base64", "-d", "-A", "-in", "manifest.sig", "-out"])
            .arg(&sig)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(decode.status.success());
        let check = Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "public_key.pem",
                "-rawin",
                "-in",
                "manifest.json",
                "-sigfile",
            ])
            .arg(&sig)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&check.stdout).contains("Signature Verified Successfully"),
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }

    let file = a[2].file.clone().unwrap();
    let tamper = |name: &str, f: &dyn Fn(&Path)| -> VerifyReport {
        let copy = s.out(name);
        copy_dir(&dir, &copy);
        f(&copy);
        verify_export(&copy, None).unwrap()
    };

    // One byte of one segment.
    let r = tamper("edited-segment", &|d| {
        let p = d.join(&file);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[1234] ^= 0x01;
        std::fs::write(&p, bytes).unwrap();
    });
    let (at_, msg) = broken(&r);
    assert_eq!(at_, file);
    assert!(msg.contains(&file), "{msg}");

    // A segment removed.
    let r = tamper("removed-segment", &|d| std::fs::remove_file(d.join(&file)).unwrap());
    assert_eq!(broken(&r).0, file);

    // The manifest edited (a time moved by a minute): the signature fails.
    let r = tamper("edited-manifest", &|d| {
        let p = d.join("manifest.json");
        let text = std::fs::read_to_string(&p).unwrap().replacen("09:01:00+08:00", "09:02:00+08:00", 1);
        std::fs::write(&p, text).unwrap();
    });
    let (at_, msg) = broken(&r);
    assert_eq!(at_, "manifest.json");
    assert!(msg.contains("signature") || msg.contains("签名"), "{msg}");

    // A segment and SHA256SUMS changed together: the signed manifest still catches it.
    let r = tamper("edited-segment-and-sums", &|d| {
        let p = d.join(&file);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[0] ^= 0xff;
        std::fs::write(&p, &bytes).unwrap();
        let sums = std::fs::read_to_string(d.join("SHA256SUMS")).unwrap().replace(
            &format!("{}  {file}", a[2].sha256),
            &format!("{}  {file}", hex::encode(Sha256::digest(&bytes))),
        );
        std::fs::write(d.join("SHA256SUMS"), sums).unwrap();
    });
    assert_eq!(broken(&r).0, file);

    // A file slipped in.
    let r = tamper("added-file", &|d| std::fs::write(d.join("segments/cam-pb1-a/extra.mkv"), b"x").unwrap());
    assert_eq!(broken(&r).0, "segments/cam-pb1-a/extra.mkv");

    // Re-signed by someone else with their own key: fine on its own terms, refused against the venue's key.
    let other = verify_export(&dir, Some(&[7u8; 32])).unwrap();
    assert_eq!(broken(&other).0, "public_key.pem");
}

#[tokio::test]
async fn a_chain_tampered_with_in_the_index_is_named_by_the_verifier() {
    let s = Scene::new().await;
    let pool = s.v.services.store.pool();
    let (one, two) = (&s.morning_a[1], &s.morning_a[2]);
    // Someone with the database file drops the guard and swaps two segments' chain hashes.
    sqlx::query("DROP TRIGGER recording_segments_no_update").execute(pool).await.unwrap();
    sqlx::query(
        "UPDATE recording_segments SET chain = CASE id WHEN $1 THEN $2 ELSE $3 END WHERE id IN ($1, $4)",
    )
    .bind(one.id)
    .bind(&two.chain)
    .bind(&one.chain)
    .bind(two.id)
    .execute(pool)
    .await
    .unwrap();
    let dir = s.out("export");
    let report = s.export(&dir).await;
    assert!(report.problems.is_empty());
    let r = verify_export(&dir, None).unwrap();
    let (at_, msg) = broken(&r);
    let file = format!("segments/cam-pb1-a/{}.mkv", one.start_ms);
    assert!(at_.contains(&file), "{at_}");
    assert!(msg.contains("chain"), "{msg}");

    // A prevChain rewritten consistently (chain recomputed) still breaks the link to the one before.
    let s = Scene::new().await;
    let pool = s.v.services.store.pool();
    sqlx::query("DROP TRIGGER recording_segments_no_update").execute(pool).await.unwrap();
    sqlx::query("DROP INDEX recording_segments_link").execute(pool).await.unwrap();
    let seg = &s.morning_a[3];
    let forged_prev = "1".repeat(64);
    let forged_chain =
        segment_chain(&forged_prev, &seg.sha256, "cam-pb1-a", seg.start_ms, seg.end_ms, seg.bytes as u64);
    sqlx::query("UPDATE recording_segments SET prev_chain = $1, chain = $2 WHERE id = $3")
        .bind(&forged_prev)
        .bind(&forged_chain)
        .bind(seg.id)
        .execute(pool)
        .await
        .unwrap();
    let dir = s.out("export");
    s.export(&dir).await;
    let r = verify_export(&dir, None).unwrap();
    let (at_, _) = broken(&r);
    assert_eq!(
        at_,
        format!(
            "segments/cam-pb1-a/{}.mkv -> segments/cam-pb1-a/{}.mkv",
            s.morning_a[2].start_ms, seg.start_ms
        )
    );
}

#[tokio::test]
async fn a_file_changed_on_disk_after_recording_is_reported_by_the_export_and_the_verifier() {
    let s = Scene::new().await;
    let seg = &s.morning_a[1];
    let on_disk = s.rec.recordings_dir().join(&seg.path);
    let mut bytes = std::fs::read(&on_disk).unwrap();
    bytes[10] ^= 0x40;
    std::fs::write(&on_disk, bytes).unwrap();
    std::fs::remove_file(s.rec.recordings_dir().join(&s.morning_a[3].path)).unwrap();
    let dir = s.out("export");
    let report = s.export(&dir).await;
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(report.problems[0].contains("no longer matches the index"), "{:?}", report.problems);
    assert!(report.problems[1].contains("is missing"), "{:?}", report.problems);
    let (rows, _) =
        s.v.services
            .journal
            .query(&JournalQuery { kind: Some("recording.exported".into()), limit: 5, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].detail.contains("no longer matches the index"), "the problems are journaled");
    let r = verify_export(&dir, None).unwrap();
    assert_eq!(broken(&r).0, format!("segments/cam-pb1-a/{}.mkv", seg.start_ms));
}

#[tokio::test]
async fn a_cancelled_export_removes_what_it_wrote() {
    let s = Scene::new().await;
    for (name, pre_existing) in [("new", false), ("empty", true)] {
        let dir = s.out(name);
        if pre_existing {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let outcome = s
            .rec
            .export_project(
                &caller(Role::Administrator),
                PROJECT,
                &dir,
                // Cancel once the second segment is written, mid-export.
                move |p| {
                    if p.files_done >= 2 {
                        flag.store(true, Ordering::Relaxed);
                    }
                },
                cancel,
            )
            .await
            .unwrap();
        assert!(matches!(outcome, ExportOutcome::Cancelled { .. }), "{outcome:?}");
        if pre_existing {
            assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "the directory chosen is left empty");
        } else {
            assert!(!dir.exists(), "no partial export directory is left");
        }
    }
    let (rows, _) =
        s.v.services
            .journal
            .query(&JournalQuery { kind: Some("recording.exported".into()), limit: 5, ..Default::default() })
            .await
            .unwrap();
    assert!(rows.is_empty(), "a cancelled export is not recorded as exported");
}

#[tokio::test]
async fn an_export_directory_that_cannot_be_used_is_a_clear_error() {
    let s = Scene::new().await;
    let export = |dest: PathBuf, role: Role| {
        let rec = &s.rec;
        async move {
            rec.export_project(&caller(role), PROJECT, &dest, |_| {}, Arc::new(AtomicBool::new(false))).await
        }
    };
    // Under a regular file: nobody can create it, root included.
    let file = s.out("a-file");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"x").unwrap();
    let e = export(file.join("export"), Role::Supervisor).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    let en = e.message_in(Locale::En);
    assert!(
        en.contains("Cannot write to the export directory") && en.contains("Choose another directory"),
        "{en}"
    );
    assert!(e.message_in(Locale::ZhCn).contains("无法写入导出目录"));

    // Already used: nothing is overwritten.
    let used = s.out("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("notes.txt"), b"keep me").unwrap();
    let e = export(used.clone(), Role::Supervisor).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists);
    assert!(e.message_in(Locale::En).contains("exists and is not empty"), "{e}");
    assert_eq!(std::fs::read(used.join("notes.txt")).unwrap(), b"keep me");

    // Read-only (meaningful only when not running as root, which ignores permissions).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = s.out("read-only");
        std::fs::create_dir_all(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        if std::fs::write(ro.join("probe"), b"").is_err() {
            let e = export(ro.join("export"), Role::Supervisor).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::Unavailable);
            assert!(e.message_in(Locale::En).contains("no permission"), "{e}");
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // The front desk may not export evidence.
    let e = export(s.out("desk"), Role::FrontDesk).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    // An unknown project.
    let e = s
        .rec
        .export_project(
            &caller(Role::Supervisor),
            "E-NONE",
            &s.out("none"),
            |_| {},
            Arc::new(AtomicBool::new(false)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn legal_holds_keep_segments_and_only_an_administrator_releases_them_with_a_reason() {
    let s = Scene::new().await;
    let pool = s.v.services.store.pool();
    let row = |id: i64| async move { db::segment(pool, id).await.unwrap().unwrap() };
    let in_session = row(s.morning_a[1].id).await;
    let at_14 = db::segments_of_camera(pool, "cam-pb1-a", at(14, 0), at(14, 1)).await.unwrap().remove(0);
    assert!(!s.rec.is_held(&in_session).await.unwrap());

    // The front desk and venue managers cannot place holds; the refusal is journaled.
    for role in [Role::FrontDesk, Role::VenueManager] {
        let e = s
            .rec
            .place_hold(
                &caller(role),
                &HoldScope::Project { tender_project_code: PROJECT.into() },
                "纪检调查",
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::PermissionDenied, "{role:?}");
    }
    let (denied, _) = s
        .v
        .services
        .journal
        .query(&JournalQuery { kind: Some("operator.access_denied".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(denied.len(), 2);

    let supervisor = caller(Role::Supervisor);
    let e = s
        .rec
        .place_hold(&supervisor, &HoldScope::Project { tender_project_code: PROJECT.into() }, " ")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "a reason is required");
    let e = s
        .rec
        .place_hold(&supervisor, &HoldScope::Project { tender_project_code: "E-NONE".into() }, "纪检调查")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);

    let project_hold = s
        .rec
        .place_hold(&supervisor, &HoldScope::Project { tender_project_code: PROJECT.into() }, "纪检监察调查")
        .await
        .unwrap();
    assert!(project_hold.active);
    assert_eq!(s.rec.holds_on(&in_session).await.unwrap(), [project_hold.id]);
    assert!(!s.rec.is_held(&at_14).await.unwrap(), "14:00 is in no session of the project");

    // A range of every camera around 14:00, by an administrator.
    let admin = caller(Role::Administrator);
    let range = s
        .rec
        .place_hold(
            &admin,
            &HoldScope::Range { room_id: None, from_ms: at(13, 55), to_ms: at(14, 5) },
            "投诉处理",
        )
        .await
        .unwrap();
    assert!(s.rec.is_held(&at_14).await.unwrap());
    let e = s
        .rec
        .place_hold(
            &admin,
            &HoldScope::Range { room_id: Some("no-room".into()), from_ms: 1, to_ms: 2 },
            "投诉处理",
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let booking_id = db::bookings_holding_room(pool, "pb-1", at(9, 0), at(9, 1)).await.unwrap()[0].id;
    let booking_hold =
        s.rec.place_hold(&supervisor, &HoldScope::Booking { booking_id }, "专家异议").await.unwrap();
    assert_eq!(s.rec.holds_on(&in_session).await.unwrap().len(), 2);

    // Releasing: administrators only, with a reason, once.
    let e = s.rec.release_hold(&supervisor, project_hold.id, "调查结束").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    assert_eq!(e.message_in(Locale::En), "Only administrators may release a legal hold.");
    assert_eq!(e.message_in(Locale::ZhCn), "只有系统管理员可以解除证据保全。");
    let e = s.rec.release_hold(&admin, project_hold.id, "").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let released = s.rec.release_hold(&admin, project_hold.id, "调查结束，监察室函告").await.unwrap();
    assert!(!released.active);
    assert_eq!(released.released_by.as_deref(), Some(username(Role::Administrator).as_str()));
    assert_eq!(released.release_reason.as_deref(), Some("调查结束，监察室函告"));
    let e = s.rec.release_hold(&admin, project_hold.id, "再次解除").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition);
    assert_eq!(
        s.rec.holds_on(&in_session).await.unwrap(),
        [booking_hold.id],
        "the session's own hold remains"
    );
    s.rec.release_hold(&admin, booking_hold.id, "异议已处理").await.unwrap();
    assert!(!s.rec.is_held(&in_session).await.unwrap());
    assert!(s.rec.is_held(&at_14).await.unwrap(), "the range hold is still in force");
    assert_eq!(s.rec.holds(true).await.unwrap().iter().map(|h| h.id).collect::<Vec<_>>(), [range.id]);
    assert_eq!(s.rec.holds(false).await.unwrap().len(), 3);

    // Journaled with the project, and queued upward.
    let (placed, _) =
        s.v.services
            .journal
            .query(&JournalQuery { kind: Some("legal_hold.placed".into()), limit: 10, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(placed.len(), 3);
    let first: serde_json::Value = serde_json::from_str(&placed.last().unwrap().detail).unwrap();
    assert_eq!(first["TENDER_PROJECT_CODE"], PROJECT);
    assert_eq!(first["reason"], "纪检监察调查");
    assert_eq!(placed.last().unwrap().actor, username(Role::Supervisor));
    let (rel, _) = s
        .v
        .services
        .journal
        .query(&JournalQuery { kind: Some("legal_hold.released".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(rel.len(), 2);
    assert!(rel.iter().all(|r| r.actor_role.as_deref() == Some("administrator")));
    let (upward,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE event_type IN ('LEGAL_HOLD_PLACED', 'LEGAL_HOLD_RELEASED')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(upward, 5);

    // The database keeps holds: no deleting, no un-releasing.
    for sql in [
        "DELETE FROM legal_holds",
        "UPDATE legal_holds SET released_at_ms = NULL, released_by = NULL WHERE released_at_ms IS NOT NULL",
        "UPDATE legal_holds SET reason = 'x'",
    ] {
        assert!(sqlx::query(sql).execute(pool).await.is_err(), "{sql}");
    }
}

fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(venue_desk_tests::e2e::app_binary())
        .args(args)
        .env("LANG", "en_US.UTF-8")
        .env_remove("VENUE_DESK_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn verify_export_on_the_command_line_says_ok_or_names_the_first_problem() {
    let s = Scene::new().await;
    let dir = s.out("export");
    let report = s.export(&dir).await;
    let d = dir.to_str().unwrap();

    let (code, out, err) = run_cli(&["verify-export", d]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("OK: ") && out.contains(PROJECT) && out.contains(&report.public_key), "{out}");
    let (code, out, _) = run_cli(&["verify-export", d, "--key", &report.public_key]);
    assert_eq!(code, 0, "{out}");
    let pem = dir.join("public_key.pem");
    let (code, out, _) = run_cli(&["verify-export", "--key", pem.to_str().unwrap(), d]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run_cli(&["verify-export", d, "--key", &"ab".repeat(32)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("BROKEN: public_key.pem"), "{out}");

    let file = format!("segments/cam-pb1-b/{}.mkv", at(9, 3));
    let p = dir.join(&file);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[99] ^= 0x10;
    std::fs::write(&p, bytes).unwrap();
    let (code, out, _) = run_cli(&["verify-export", d]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with(&format!("BROKEN: {file}:")), "{out}");

    // In Chinese by default.
    let out = Command::new(venue_desk_tests::e2e::app_binary())
        .args(["verify-export", d])
        .env("LANG", "zh_CN.UTF-8")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("BROKEN：") && text.contains(&file) && text.contains("被修改"), "{text}");

    let (code, _, err) = run_cli(&["verify-export", s.out("nowhere").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");
    let (code, _, err) = run_cli(&["verify-export", d, "--key", "not-a-key"]);
    assert_eq!(code, 2);
    assert!(err.contains("64 hex digits"), "{err}");
}
