//! 不良交易行为 / 异常情况: the rules of recording an incident (category required, a recording at
//! that time, experts only masked, not in the future, supervisors and administrators only), what it
//! leaves (a legal hold ±10 min on the room, a bookmark, a journal record going upward), the list
//! with its filters, and bookmarks.

use venue_desk::domain::operator::Role;
use venue_desk::error::ErrorKind;
use venue_desk::media::Recordings;
use venue_desk::media::capture::{Live, RecState};
use venue_desk::media::chain::ClosedSegment;
use venue_desk::media::holds::HoldScope;
use venue_desk::media::incidents::{
    BookmarkInput, HOLD_AROUND_MS, IncidentCategory, IncidentFilter, IncidentInput, PersonInput, PersonRole,
};
use venue_desk::media::recorder::CameraRecording;
use venue_desk_tests::fixture::{Venue, caller};

/// The fixture's clock: 2026-11-23T01:00:00Z.
const NOW_MS: i64 = 1_795_395_600_000;

fn input(category: Option<IncidentCategory>, at_ms: i64, people: Vec<PersonInput>) -> IncidentInput {
    IncidentInput {
        category,
        description: "评标专家在评标期间使用手机".into(),
        room_id: "pb-1".into(),
        at_ms,
        people,
    }
}

fn expert(identity: &str) -> PersonInput {
    PersonInput { role: PersonRole::Expert, name: String::new(), identity: identity.into() }
}

/// A venue with one indexed minute of cam-pb1-a (room pb-1) from 30 minutes ago.
async fn venue() -> (Venue, Recordings, i64) {
    let v = Venue::open().await;
    assert_eq!(v.services.clock.now().timestamp_millis(), NOW_MS);
    let rec = Recordings::from_services(&v.services);
    let start = NOW_MS - 30 * 60_000;
    std::fs::create_dir_all(rec.recordings_dir().join("cam-pb1-a")).unwrap();
    std::fs::write(rec.recordings_dir().join("cam-pb1-a/0.mkv"), vec![7u8; 1000]).unwrap();
    rec.index_segment(&ClosedSegment {
        camera_id: "cam-pb1-a".into(),
        path: "cam-pb1-a/0.mkv".into(),
        start_ms: start,
        end_ms: start + 60_000,
        recovered: false,
    })
    .await
    .unwrap();
    (v, rec, start)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_holds_the_recordings_around_it_bookmarks_it_and_is_journaled() {
    let (v, rec, start) = venue().await;
    let at = start + 20_000;
    let people = vec![
        PersonInput {
            role: PersonRole::Bidder,
            name: " 某建设有限公司 王五 ".into(),
            identity: String::new(),
        },
        expert("11010519700307123X"),
        // Already masked (picked from the roll call).
        expert("110105********002x"),
    ];
    let incident = rec
        .record_incident(
            &caller(Role::Supervisor),
            &input(Some(IncidentCategory::DisciplineBreach), at, people),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(incident.category, IncidentCategory::DisciplineBreach);
    assert_eq!(incident.room_name, "第一评标室");
    assert_eq!(incident.at_ms, at);
    assert!(incident.hold_active);
    assert_eq!(incident.people[0].name.as_deref(), Some("某建设有限公司 王五"));
    assert_eq!(incident.people[1].identity_masked.as_deref(), Some("110105********123X"));
    assert_eq!(incident.people[1].name, None);
    assert_eq!(incident.people[2].identity_masked.as_deref(), Some("110105********002X"));

    // The hold: the room, 10 minutes either side.
    let holds = rec.holds(true).await.unwrap();
    let hold = holds.iter().find(|h| h.id == incident.hold_id).expect("the incident's hold");
    assert_eq!(
        hold.scope,
        HoldScope::Range {
            room_id: Some("pb-1".into()),
            from_ms: at - HOLD_AROUND_MS,
            to_ms: at + HOLD_AROUND_MS
        }
    );
    assert!(hold.reason.contains("违反评标纪律"), "{}", hold.reason);

    // The bookmark at that moment, on the room's timeline.
    let marks = rec.bookmarks(&caller(Role::Supervisor), "pb-1", at - 1, at + 1).await.unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].incident_id, Some(incident.id));
    assert_eq!(Some(marks[0].id), incident.bookmark_id);

    // The journal: one incident record whose detail names no expert, and the hold's own record.
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT kind, detail FROM journal ORDER BY seq")
        .fetch_all(v.services.store.pool())
        .await
        .unwrap();
    let recorded: Vec<&(String, String)> = rows.iter().filter(|(k, _)| k == "incident.recorded").collect();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].1.contains("110105********123X") && !recorded[0].1.contains("11010519700307123X"));
    assert!(rows.iter().any(|(k, _)| k == "legal_hold.placed"));
    assert_eq!(
        venue_desk::journal::EventKind::IncidentRecorded.upward_type(),
        Some("INCIDENT_RECORDED"),
        "incidents go upward"
    );

    // The list and its filters.
    let all = rec.incidents(&caller(Role::Administrator), &IncidentFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    let by = |room: Option<&str>, category: Option<IncidentCategory>| IncidentFilter {
        room_id: room.map(str::to_string),
        category,
        ..Default::default()
    };
    assert_eq!(rec.incidents(&caller(Role::Supervisor), &by(Some("kb-1"), None)).await.unwrap().len(), 0);
    assert_eq!(rec.incidents(&caller(Role::Supervisor), &by(Some("pb-1"), None)).await.unwrap().len(), 1);
    assert_eq!(
        rec.incidents(&caller(Role::Supervisor), &by(None, Some(IncidentCategory::Bribery)))
            .await
            .unwrap()
            .len(),
        0
    );
    let window = IncidentFilter { from_ms: Some(at + 1), to_ms: None, ..Default::default() };
    assert_eq!(rec.incidents(&caller(Role::Supervisor), &window).await.unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_without_category_outside_any_recording_or_in_the_future_is_refused() {
    let (v, rec, start) = venue().await;
    let sup = caller(Role::Supervisor);
    let no_category = rec.record_incident(&sup, &input(None, start + 1000, vec![]), &[]).await.unwrap_err();
    assert_eq!(no_category.kind, ErrorKind::InvalidArgument);
    assert!(no_category.message_in(venue_desk::error::Locale::ZhCn).contains("事件类别"));

    // Before the recorded minute, and in a room with no recording at all.
    let outside = rec
        .record_incident(&sup, &input(Some(IncidentCategory::Other), start - 1000, vec![]), &[])
        .await
        .unwrap_err();
    assert_eq!(outside.kind, ErrorKind::FailedPrecondition);
    assert!(outside.message_in(venue_desk::error::Locale::ZhCn).contains("没有录像"), "{outside}");
    let mut other_room = input(Some(IncidentCategory::Other), start + 1000, vec![]);
    other_room.room_id = "kb-1".into();
    assert_eq!(
        rec.record_incident(&sup, &other_room, &[]).await.unwrap_err().kind,
        ErrorKind::FailedPrecondition
    );

    let future = rec
        .record_incident(&sup, &input(Some(IncidentCategory::Other), NOW_MS + 60_000, vec![]), &[])
        .await
        .unwrap_err();
    assert_eq!(future.kind, ErrorKind::InvalidArgument);

    // An expert by name is refused; a bad ID number too.
    let named = PersonInput { role: PersonRole::Expert, name: "张三".into(), identity: String::new() };
    let e = rec
        .record_incident(&sup, &input(Some(IncidentCategory::Other), start + 1000, vec![named]), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let e = rec
        .record_incident(
            &sup,
            &input(Some(IncidentCategory::Other), start + 1000, vec![expert("110105197003071230")]),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);

    // The front desk may not; an unknown room is named.
    let e = rec
        .record_incident(
            &caller(Role::FrontDesk),
            &input(Some(IncidentCategory::Other), start + 1000, vec![]),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    let mut nowhere = input(Some(IncidentCategory::Other), start + 1000, vec![]);
    nowhere.room_id = "nope".into();
    assert_eq!(rec.record_incident(&sup, &nowhere, &[]).await.unwrap_err().kind, ErrorKind::NotFound);

    // Nothing of the refusals was held.
    assert!(rec.holds(true).await.unwrap().is_empty());
    assert!(rec.incidents(&sup, &IncidentFilter::default()).await.unwrap().is_empty());
    drop(v);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_now_is_covered_by_the_file_the_recorder_is_writing() {
    let (_v, rec, _) = venue().await;
    let writing = |state: RecState, since_ms: i64| CameraRecording {
        camera_id: "cam-pb1-b".into(),
        name: "第一评标室 B".into(),
        kind: "camera".into(),
        room_id: Some("pb-1".into()),
        room_name: Some("第一评标室".into()),
        continuous: false,
        why: None,
        live: Live {
            state,
            bitrate_kbps: Some(800),
            last_data_ms: Some(NOW_MS),
            segment: Some("cam-pb1-b/x.mkv".into()),
            segment_start_ms: Some(since_ms),
            problem: None,
            streams: vec!["video".into()],
        },
        last_data_at: None,
        manual: None,
        manual_at: None,
    };
    let now = input(Some(IncidentCategory::Disorder), NOW_MS - 5_000, vec![]);
    // The open file started 20 s ago: covered. A camera that lost its stream: not.
    assert!(
        rec.record_incident(&caller(Role::Supervisor), &now, &[writing(RecState::Lost, NOW_MS - 20_000)])
            .await
            .is_err()
    );
    let i = rec
        .record_incident(&caller(Role::Supervisor), &now, &[writing(RecState::Recording, NOW_MS - 20_000)])
        .await
        .unwrap();
    assert_eq!(i.at_ms, NOW_MS - 5_000);
    // Before the open file began: not covered.
    let earlier = input(Some(IncidentCategory::Disorder), NOW_MS - 25_000, vec![]);
    let e = rec
        .record_incident(
            &caller(Role::Supervisor),
            &earlier,
            &[writing(RecState::Recording, NOW_MS - 20_000)],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_need_a_note_and_belong_to_the_cameras_room() {
    let (_v, rec, start) = venue().await;
    let sup = caller(Role::Supervisor);
    let mark = |note: &str, room: Option<&str>, camera: Option<&str>| BookmarkInput {
        room_id: room.map(str::to_string),
        camera_id: camera.map(str::to_string),
        at_ms: start,
        note: note.into(),
    };
    let b = rec.add_bookmark(&sup, &mark("专家离席", None, Some("cam-pb1-b"))).await.unwrap();
    assert_eq!(b.room_id.as_deref(), Some("pb-1"));
    assert_eq!(rec.bookmarks(&sup, "pb-1", start, start + 1).await.unwrap().len(), 1);
    assert_eq!(
        rec.add_bookmark(&sup, &mark("  ", Some("pb-1"), None)).await.unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        rec.add_bookmark(&sup, &mark("x", None, None)).await.unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        rec.add_bookmark(&sup, &mark("x", Some("nope"), None)).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        rec.add_bookmark(&caller(Role::FrontDesk), &mark("x", Some("pb-1"), None)).await.unwrap_err().kind,
        ErrorKind::PermissionDenied
    );
}
