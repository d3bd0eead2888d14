//! 场地安排 through the service, on a scratch database: rooms from the venue file, projects,
//! bookings and their conflicts, changes with history, cancellations, sessions, statistics.

use venue_desk::auth::Caller;
use venue_desk::bookings::views::*;
use venue_desk::domain::booking::{BookingState, Purpose};
use venue_desk::domain::operator::Role;
use venue_desk::domain::project::TradingCategory;
use venue_desk::domain::venue::RoomKind;
use venue_desk::error::{ErrorKind, Locale};
use venue_desk::store::journal::JournalQuery;
use venue_desk_tests::fixture::{Venue, username};

fn manager() -> Caller {
    Caller { operator_id: 4, username: username(Role::VenueManager), role: Role::VenueManager }
}

fn project(code: &str) -> ProjectInput {
    ProjectInput {
        id: None,
        version: None,
        tender_project_code: code.into(),
        name: "示范市第一中学教学楼改造工程".into(),
        category: TradingCategory::Construction,
        bid_section_codes: vec!["001".into(), "002".into()],
        tenderer_name: "示范市第一中学".into(),
        tenderer_credit_code: "91350100M000100Y43".into(),
        agency_name: None,
        agency_credit_code: None,
        responsible_staff: "李娜".into(),
    }
}

fn booking(room: &str, project_id: i64, purpose: Purpose, start: &str, end: &str) -> BookingInput {
    BookingInput {
        room_id: room.into(),
        project_id,
        bid_section_codes: vec!["001".into()],
        purpose,
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
    }
}

#[tokio::test]
async fn a_conflicting_booking_is_refused_naming_the_booking_in_the_way_and_when_the_room_is_free() {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let p = b.save_project(&manager(), &project("E3101000001202611001")).await.unwrap();
    assert!(!p.code_unusual);
    let first = b
        .create(
            &manager(),
            &booking("pb-1", p.id, Purpose::Evaluation, "2026-11-24T09:00", "2026-11-24T12:00"),
        )
        .await
        .unwrap();
    assert_eq!(first[0].state, BookingState::Confirmed);

    // Starts when the first ends, but both buffers overlap: refused.
    let e = b
        .create(
            &manager(),
            &booking("pb-1", p.id, Purpose::Evaluation, "2026-11-24T12:00", "2026-11-24T14:00"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    let en = e.message_in(Locale::En);
    assert!(en.contains(&format!("booking #{}", first[0].id)) && en.contains("E3101000001202611001"), "{en}");
    assert!(en.contains("next free for the same length of time from 2026-11-24 13:00"), "{en}");
    // Another room is free.
    b.create(&manager(), &booking("pb-2", p.id, Purpose::Evaluation, "2026-11-24T12:00", "2026-11-24T14:00"))
        .await
        .unwrap();
    // And the first room is free from 13:00 (12:30 end of clean-up + 30 min set-up).
    b.create(&manager(), &booking("pb-1", p.id, Purpose::Evaluation, "2026-11-24T13:00", "2026-11-24T15:00"))
        .await
        .unwrap();
}

#[tokio::test]
async fn unsuitable_retired_or_too_small_rooms_are_refused() {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let p = b.save_project(&manager(), &project("E3101000001202611002")).await.unwrap();
    let e = b
        .create(
            &manager(),
            &booking("pm-1", p.id, Purpose::Evaluation, "2026-11-24T09:00", "2026-11-24T10:00"),
        )
        .await
        .unwrap_err();
    assert!(e.message_in(Locale::En).contains("evaluation zone"), "{e}");
    let mut big = booking("pb-2", p.id, Purpose::Evaluation, "2026-11-24T09:00", "2026-11-24T10:00");
    big.expected_participants = 30;
    assert!(
        b.create(&manager(), &big).await.unwrap_err().message_in(Locale::En).contains("exceed the capacity")
    );

    let rooms = b.rooms().await.unwrap();
    let pb2 = rooms.iter().find(|r| r.id == "pb-2").unwrap();
    let edit = RoomEdit {
        id: pb2.id.clone(),
        version: pb2.version,
        name: pb2.name.clone(),
        capacity: pb2.capacity,
        floor: pb2.floor.clone(),
        notes: "空调维修".into(),
        active: false,
    };
    b.edit_room(&manager(), &edit).await.unwrap();
    // The same edit again is on a stale copy.
    assert_eq!(b.edit_room(&manager(), &edit).await.unwrap_err().kind, ErrorKind::Conflict);
    let e = b
        .create(
            &manager(),
            &booking("pb-2", p.id, Purpose::Evaluation, "2026-11-25T09:00", "2026-11-25T10:00"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition);
}

#[tokio::test]
async fn projects_check_credit_codes_and_flag_unusual_codes() {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let mut bad = project("E3101000001202611003");
    bad.tenderer_credit_code = "91350100M000100Y44".into();
    let e = b.save_project(&manager(), &bad).await.unwrap_err();
    assert!(
        e.message_in(Locale::En).contains("tenderer credit code")
            && e.message_in(Locale::En).contains("check character"),
        "{e}"
    );
    let odd = b.save_project(&manager(), &project("ZB-7")).await.unwrap();
    assert!(odd.code_unusual);
    // Found by code, name or tenderer.
    for term in ["ZB-", "教学楼", "第一中学"] {
        assert_eq!(b.projects(Some(term)).await.unwrap().len(), 1, "{term}");
    }
    assert_eq!(
        b.save_project(&manager(), &project("ZB-7")).await.unwrap_err().kind,
        ErrorKind::AlreadyExists
    );
    // Edited on a stale copy: refused.
    let mut edit = project("ZB-7");
    edit.id = Some(odd.id);
    edit.version = Some(odd.version);
    edit.name = "新名称".into();
    b.save_project(&manager(), &edit).await.unwrap();
    assert_eq!(b.save_project(&manager(), &edit).await.unwrap_err().kind, ErrorKind::Conflict);
}

#[tokio::test]
async fn changes_need_a_reason_and_keep_the_history_and_go_upward() {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let p = b.save_project(&manager(), &project("E3101000001202611004")).await.unwrap();
    let made = b
        .create(
            &manager(),
            &booking("kb-1", p.id, Purpose::BidOpening, "2026-11-24T09:00", "2026-11-24T10:00"),
        )
        .await
        .unwrap()
        .remove(0);
    let change = BookingChangeInput {
        id: made.id,
        version: made.version,
        room_id: "kb-2".into(),
        start: "2026-11-24T10:00".into(),
        end: "2026-11-24T11:00".into(),
        reason: String::new(),
    };
    assert_eq!(b.change(&manager(), &change).await.unwrap_err().kind, ErrorKind::InvalidArgument);
    let moved = b
        .change(&manager(), &BookingChangeInput { reason: "第一开标室设备检修".into(), ..change.clone() })
        .await
        .unwrap();
    assert_eq!((moved.room_id.as_str(), moved.start.as_str()), ("kb-2", "2026-11-24T10:00"));
    // The old version is stale now.
    assert_eq!(
        b.change(&manager(), &BookingChangeInput { reason: "again".into(), ..change })
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Conflict
    );
    let cancelled =
        b.set_state(&manager(), moved.id, moved.version, BookingState::Cancelled, "项目暂停").await.unwrap();
    assert_eq!(cancelled.state, BookingState::Cancelled);
    assert_eq!(
        b.set_state(&manager(), moved.id, cancelled.version, BookingState::Confirmed, "")
            .await
            .unwrap_err()
            .kind,
        ErrorKind::FailedPrecondition
    );

    let history = b.history(made.id).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|h| h.change.as_str()).collect();
    assert_eq!(kinds, ["created", "room_changed", "cancelled"]);
    assert_eq!(history[1].reason, "第一开标室设备检修");

    let (rows, _) = v
        .services
        .journal
        .query(&JournalQuery { kind: Some("booking.created".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert!(
        rows[0].detail.contains("\"TENDER_PROJECT_CODE\":\"E3101000001202611004\""),
        "{}",
        rows[0].detail
    );
    let (types,): (String,) = sqlx::query_as("SELECT GROUP_CONCAT(event_type, ',') FROM (SELECT event_type FROM outbox WHERE event_type LIKE 'BOOKING%' ORDER BY seq)")
        .fetch_one(v.services.store.pool())
        .await
        .unwrap();
    assert_eq!(types, "BOOKING_CREATED,BOOKING_CHANGED,BOOKING_CANCELLED");
    // The slot is free again once cancelled.
    b.create(&manager(), &booking("kb-2", p.id, Purpose::BidOpening, "2026-11-24T10:00", "2026-11-24T11:00"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_multi_day_evaluation_is_booked_whole_or_not_at_all() {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let p = b.save_project(&manager(), &project("E3101000001202611005")).await.unwrap();
    b.create(&manager(), &booking("pb-1", p.id, Purpose::Evaluation, "2026-11-26T09:00", "2026-11-26T10:00"))
        .await
        .unwrap();
    let mut three = booking("pb-1", p.id, Purpose::Evaluation, "2026-11-24T08:30", "2026-11-24T17:30");
    three.days = 3;
    assert_eq!(b.create(&manager(), &three).await.unwrap_err().kind, ErrorKind::Conflict);
    let filter = BookingFilter { room_id: Some("pb-1".into()), ..Default::default() };
    assert_eq!(b.list(&filter).await.unwrap().len(), 1, "nothing of the refused series was kept");
    three.days = 2;
    let made = b.create(&manager(), &three).await.unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[1].start, "2026-11-25T08:30");
    assert!(made[0].series_id.is_some() && made[0].series_id == made[1].series_id);
}

#[tokio::test]
async fn sessions_and_statistics() {
    let v = Venue::open().await;
    let b = &v.services.bookings;
    let p = b.save_project(&manager(), &project("E3101000001202611006")).await.unwrap();
    b.create(&manager(), &booking("kb-1", p.id, Purpose::BidOpening, "2026-11-24T09:00", "2026-11-24T10:00"))
        .await
        .unwrap();
    b.create(&manager(), &booking("pb-1", p.id, Purpose::Evaluation, "2026-11-24T10:30", "2026-11-24T16:30"))
        .await
        .unwrap();
    // Held 20:00–23:30 with its buffers: only the time until closing at 22:00 counts.
    let late = BookingInput {
        expected_participants: 6,
        expected_experts: 5,
        ..booking("gy-1", p.id, Purpose::Evaluation, "2026-11-24T20:30", "2026-11-24T23:00")
    };
    b.create(&manager(), &late).await.unwrap();
    let mut requested = booking("tp-1", p.id, Purpose::Negotiation, "2026-11-24T09:00", "2026-11-24T11:00");
    requested.confirm = false;
    b.create(&manager(), &requested).await.unwrap();

    let sessions = b.sessions("2026-11-24", "2026-11-24").await.unwrap();
    assert_eq!(sessions.iter().map(|s| s.room_id.as_str()).collect::<Vec<_>>(), ["kb-1", "pb-1", "gy-1"]);

    let stats = b.statistics("2026-11-23", "2026-11-29", Granularity::Week).await.unwrap();
    let kb1 = stats.occupancy.iter().find(|o| o.room_id == "kb-1").unwrap();
    assert_eq!((kb1.period.as_str(), kb1.occupied_minutes, kb1.open_minutes), ("2026-11-23", 120, 7 * 900));
    let pb1 = stats.occupancy.iter().find(|o| o.room_id == "pb-1").unwrap();
    assert_eq!(pb1.occupied_minutes, 420);
    assert_eq!(stats.occupancy.iter().find(|o| o.room_id == "gy-1").unwrap().occupied_minutes, 120);
    assert_eq!(stats.by_purpose_and_category.iter().map(|c| c.sessions).sum::<u32>(), 4);
    // Both bid-opening rooms together: kb-1's 120 minutes over two rooms' opening hours.
    let openings = stats.occupancy_by_kind.iter().find(|k| k.room_kind == RoomKind::BidOpening).unwrap();
    assert_eq!((openings.rooms, openings.occupied_minutes, openings.open_minutes), (2, 120, 2 * 7 * 900));

    let path =
        b.export_statistics_csv(&manager(), "2026-11-23", "2026-11-29", Granularity::Day).await.unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.starts_with("\u{feff}period 时段"), "{csv}");
    assert!(csv.contains("2026-11-24,kb-1,第一开标室,bid_opening,120,900,0.1333"), "{csv}");
    assert!(path.starts_with(v.data_dir().to_str().unwrap()));
}
