//! 保存期限: segments past their purpose's period are removed (files deleted, index rows kept and
//! marked, one journal record per camera), except those under a legal hold; when the disk runs low,
//! continuous recordings go first, oldest first, never the last day of them and never a session's
//! recording within its period, and a storage alarm says when that is not enough.

use chrono::Duration;
use venue_desk::alerts::views::{AlarmFilter, AlarmKind};
use venue_desk::auth::Caller;
use venue_desk::config::VenueConfig;
use venue_desk::domain::operator::Role;
use venue_desk::media::Recordings;
use venue_desk::media::chain::ClosedSegment;
use venue_desk::media::holds::HoldScope;
use venue_desk::store::journal::JournalQuery;
use venue_desk::store::recordings as db;
use venue_desk_tests::fixture::{Venue, username};

const DAY: i64 = 86_400_000;

fn patch(min_free_mib: u64) -> impl FnOnce(&mut VenueConfig) {
    move |c| {
        c.code = venue_desk_tests::uplink::unique_venue_code(&format!("RET{min_free_mib}"));
        c.devices.iter_mut().find(|d| d.id == "cam-tp1-a").unwrap().continuous = true;
        c.recording.session_retention_days = 10;
        c.recording.continuous_retention_days = 3;
        c.recording.min_free_mib = min_free_mib;
    }
}

async fn segment(rec: &Recordings, camera: &str, start_ms: i64) -> String {
    let rel = format!("{camera}/{start_ms}.mkv");
    std::fs::create_dir_all(rec.recordings_dir().join(camera)).unwrap();
    std::fs::write(rec.recordings_dir().join(&rel), vec![7u8; 4096]).unwrap();
    rec.index_segment(&ClosedSegment {
        camera_id: camera.into(),
        path: rel.clone().into(),
        start_ms,
        end_ms: start_ms + 60_000,
        recovered: false,
    })
    .await
    .unwrap();
    rel
}

async fn purged(v: &Venue, rel: &str) -> bool {
    let row = db::segment_by_path(v.services.store.pool(), rel).await.unwrap().unwrap();
    let gone = !Recordings::from_services(&v.services).recordings_dir().join(rel).exists();
    assert_eq!(row.purged_at_ms.is_some(), gone, "{rel}: index and disk agree");
    gone
}

#[tokio::test]
async fn expired_segments_go_unless_held_and_the_row_stays() {
    let v = Venue::open_with(patch(0), "2026-11-01T00:00:00Z").await;
    let rec = Recordings::from_services(&v.services);
    let t0 = v.services.clock.now().timestamp_millis();
    let session_old = segment(&rec, "cam-pb1-a", t0).await;
    let session_held = segment(&rec, "cam-pb1-a", t0 + 60_000).await;
    let session_new = segment(&rec, "cam-pb1-a", t0 + 5 * DAY).await;
    let lobby: Vec<String> = segments_at(&rec, "cam-tp1-a", &[t0, t0 + 3 * DAY / 2, t0 + 10 * DAY]).await;
    let admin = Caller { operator_id: 1, username: username(Role::Administrator), role: Role::Administrator };
    rec.place_hold(
        &admin,
        &HoldScope::Range { room_id: Some("pb-1".into()), from_ms: t0 + 60_000, to_ms: t0 + 120_000 },
        "投诉调查",
    )
    .await
    .unwrap();

    v.clock.advance(Duration::days(11));
    let freed = rec.apply_retention(&v.services.alarms).await.unwrap();
    assert_eq!((freed.segments, freed.held), (3, 1), "{freed:?}");
    assert!(purged(&v, &session_old).await, "a session segment past 10 days goes");
    assert!(!purged(&v, &session_held).await, "a held one stays");
    assert!(!purged(&v, &session_new).await, "a younger one stays");
    assert!(purged(&v, &lobby[0]).await && purged(&v, &lobby[1]).await, "continuous past 3 days go");
    assert!(!purged(&v, &lobby[2]).await);
    let (rows, _) = v
        .services
        .journal
        .query(&JournalQuery {
            from_ms: None,
            to_ms: None,
            actor: None,
            kind: Some("recording.purged".into()),
            before_seq: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one record per camera");
    // A second run finds nothing more.
    let again = rec.apply_retention(&v.services.alarms).await.unwrap();
    assert_eq!(again.segments, 0);
    let alarms = v.services.alarms.list(&AlarmFilter { open_only: true, limit: None }).await.unwrap();
    assert!(alarms.iter().all(|a| a.kind != AlarmKind::StorageLow), "plenty of space: no alarm");
}

async fn segments_at(rec: &Recordings, camera: &str, starts: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    for s in starts {
        out.push(segment(rec, camera, *s).await);
    }
    out
}

#[tokio::test]
async fn low_disk_frees_continuous_recordings_first_and_alarms_when_that_is_not_enough() {
    // A minimum free space no disk has: always "low".
    let v = Venue::open_with(patch(1 << 30), "2026-11-01T00:00:00Z").await;
    let rec = Recordings::from_services(&v.services);
    let t0 = v.services.clock.now().timestamp_millis();
    let session = segment(&rec, "cam-pb1-a", t0).await;
    let lobby = segments_at(&rec, "cam-tp1-a", &[t0, t0 + DAY + DAY / 2]).await;
    v.clock.advance(Duration::days(2));
    let freed = rec.apply_retention(&v.services.alarms).await.unwrap();
    assert_eq!(freed.segments, 1, "{freed:?}");
    assert!(purged(&v, &lobby[0]).await, "the oldest continuous recording goes for space");
    assert!(!purged(&v, &lobby[1]).await, "the last day of continuous recording stays");
    assert!(!purged(&v, &session).await, "a session's recording within its period is never freed for space");
    let alarms = v.services.alarms.list(&AlarmFilter { open_only: true, limit: None }).await.unwrap();
    let a = alarms.iter().find(|a| a.kind == AlarmKind::StorageLow).expect("a storage alarm");
    assert!(a.message.contains("录像仍在继续") || a.message.contains("Recording continues"), "{}", a.message);
}
