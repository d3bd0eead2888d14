//! 专家签到 end to end through the services, with the real drivers talking to the simulators over
//! real sockets: find, locker, credential, check-out, reconciliation, leaving and re-entry, rosters.

use std::time::Duration;

use chrono::NaiveDateTime;
use venue_desk::checkin::views::*;
use venue_desk::devices::LockState;
use venue_desk::error::{ErrorKind, Locale};
use venue_desk::sim::isapi::IsapiFault;
use venue_desk::sim::lockboard::LockBoardFault;
use venue_desk::store::journal::JournalQuery;
use venue_desk_tests::fixture::Venue;
use venue_desk_tests::sims::*;

/// 09:00 in Shanghai.
const NOW: &str = "2026-11-23T01:00:00Z";

async fn venue(sims: &SimVenue) -> Venue {
    let v = Venue::open_with(|c| sims.patch(c), NOW).await;
    sims.enrol_passwords(&v.services);
    v
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

async fn check_in(v: &Venue, id_number: &str, card: Option<&str>) -> CheckInRecord {
    let c = &v.services.checkins;
    let found = c.find(&front_desk(), id_number).await.unwrap();
    c.begin(&front_desk(), found.entry_id).await.unwrap();
    c.await_deposit(found.entry_id).await.unwrap();
    c.complete(&front_desk(), found.entry_id, card).await.unwrap()
}

async fn journal_kinds(v: &Venue, kind: &str) -> Vec<serde_json::Value> {
    let (rows, _) = v
        .services
        .journal
        .query(&JournalQuery { kind: Some(kind.into()), limit: 100, ..Default::default() })
        .await
        .unwrap();
    rows.into_iter().map(|r| serde_json::from_str(&r.detail).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expert_checks_in_and_out_and_the_devices_follow() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    let booking =
        evaluation_with_roster(&v.services, "E3101000001202611001", "2026-11-23T08:30", "2026-11-23T12:00")
            .await;
    let c = &v.services.checkins;

    // Found by ID number alone, with a lower-case x as some readers send it.
    let found = c.find(&front_desk(), &EXPERTS[0].1.to_lowercase()).await.unwrap();
    assert_eq!(found.name, EXPERTS[0].0);
    assert_eq!(found.id_masked, "110105********123X");
    assert!(found.is_chair && found.late, "arrived at 09:00 for 08:30");
    assert_eq!(found.session.booking_id, booking);
    assert_eq!(found.status, AttendanceStatus::NotArrived);

    // The locker opens on the board and the check-in waits for it to close.
    let locker = c.begin(&front_desk(), found.entry_id).await.unwrap();
    assert_eq!((locker.bank_id.as_str(), locker.locker_no), (BANK, 1));
    assert_eq!(sims.lockers.state(1, 1), LockState::Unlocked);
    assert_eq!(c.find(&front_desk(), EXPERTS[0].1).await.unwrap().status, AttendanceStatus::Depositing);
    // The credential is not issued while the locker is open.
    let open = c.complete(&front_desk(), found.entry_id, None).await.unwrap_err();
    assert_eq!(open.kind, ErrorKind::FailedPrecondition);
    c.await_deposit(found.entry_id).await.unwrap();

    let record = c.complete(&front_desk(), found.entry_id, Some("a1b2-0001")).await.unwrap();
    assert_eq!(record.status, AttendanceStatus::Inside);
    assert_eq!(record.card_no_masked.as_deref(), Some("*****0001"));
    assert_eq!(record.controllers.len(), 2);

    // Both controllers on the way hold the person, valid from a minute ago to the end plus 30 minutes.
    for door in [&sims.entrance, &sims.room_door] {
        let persons = door.persons();
        assert_eq!(persons.len(), 1, "{persons:?}");
        let p = &persons[0];
        assert_eq!(p.employee_no, record.employee_no);
        assert!(!p.name.contains(EXPERTS[0].0), "the expert's name never goes to a controller");
        assert_eq!(p.valid_from, local("2026-11-23T08:59:00"));
        assert_eq!(p.valid_until, local("2026-11-23T12:30:00"));
        assert_eq!(p.cards, vec!["A1B2-0001".to_string()]);
    }
    // Other controllers were not touched.
    assert!(sims.others.iter().all(|(_, h)| h.persons().is_empty()));

    // Check-in time, locker and credential reached the journal and the outbox together.
    let detail = &journal_kinds(&v, "checkin.checked_in").await[0];
    assert_eq!(detail["TENDER_PROJECT_CODE"], "E3101000001202611001");
    assert_eq!(detail["EXPERT_CHECK_IN_TIME"], "2026-11-23T09:00:00+08:00");
    assert_eq!(detail["locker"], "lockers-a#1");
    let outbox: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = 'EXPERT_CHECK_IN'")
        .fetch_one(v.services.store.pool())
        .await
        .unwrap();
    assert_eq!(outbox.0, 1);

    // A second check-in of the same expert is refused; the roll call lists them inside.
    assert_eq!(c.begin(&front_desk(), found.entry_id).await.unwrap_err().kind, ErrorKind::AlreadyExists);
    let rc = c.roll_call().await.unwrap();
    assert_eq!(rc.inside.len(), 1);
    assert_eq!(rc.inside[0].name, EXPERTS[0].0);

    // Check-out: credential gone everywhere, locker opened for retrieval, then freed once closed.
    let progress = c.checkout_begin(&front_desk(), record.check_in_id).await.unwrap();
    assert!(progress.pending.is_empty());
    assert!(sims.entrance.persons().is_empty() && sims.room_door.persons().is_empty());
    assert_eq!(sims.lockers.state(1, 1), LockState::Unlocked);
    let done = c.checkout_finish(&front_desk(), record.check_in_id).await.unwrap();
    assert_eq!(done.status, AttendanceStatus::CheckedOut);
    assert!(done.checked_out_at.is_some());
    let banks = c.lockers().await.unwrap();
    assert_eq!(banks[0].lockers[0].status, LockerStatus::Free);
    assert!(c.roll_call().await.unwrap().inside.is_empty());
    assert_eq!(journal_kinds(&v, "checkin.checked_out").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_check_digits_and_strangers_are_refused_with_a_way_forward() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    evaluation_with_roster(&v.services, "E3101000001202611002", "2026-11-23T09:30", "2026-11-23T12:00").await;
    let c = &v.services.checkins;
    let e = c.find(&front_desk(), "110105197003071239").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message_in(Locale::En).contains("check character"), "{e}");
    let e = c.find(&front_desk(), OUTSIDER).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message_in(Locale::ZhCn).contains("110108********6781"), "{e}");
    assert!(e.message_in(Locale::En).contains("supervisor"));
    // The miss is journaled with the masked number only.
    let misses = v
        .services
        .journal
        .query(&JournalQuery { kind: Some("checkin.not_found".into()), limit: 10, ..Default::default() })
        .await
        .unwrap()
        .0;
    assert_eq!(misses[0].subject, "110108********6781");
    // On time: arriving at 09:00 for 09:30 is not late.
    assert!(!c.find(&front_desk(), EXPERTS[1].1).await.unwrap().late);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_that_rejects_the_record_leaves_nothing_half_done() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    evaluation_with_roster(&v.services, "E3101000001202611003", "2026-11-23T08:30", "2026-11-23T12:00").await;
    let c = &v.services.checkins;
    let found = c.find(&front_desk(), EXPERTS[1].1).await.unwrap();
    c.begin(&front_desk(), found.entry_id).await.unwrap();
    c.await_deposit(found.entry_id).await.unwrap();

    sims.room_door
        .set_fault(IsapiFault::RejectRecords { sub_status_code: "deviceUserAlreadyExistFace".into() });
    let e = c.complete(&front_desk(), found.entry_id, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition);
    assert!(e.message_in(Locale::En).contains("Retry"), "{e}");
    // The entrance's record was undone; nothing was committed; the locker still holds the devices.
    assert!(sims.entrance.persons().is_empty());
    assert!(journal_kinds(&v, "checkin.checked_in").await.is_empty());
    assert_eq!(c.find(&front_desk(), EXPERTS[1].1).await.unwrap().status, AttendanceStatus::Depositing);

    // Fixed: the retry goes through, with the ID card as the credential.
    sims.room_door.set_fault(IsapiFault::None);
    let record = c.complete(&front_desk(), found.entry_id, None).await.unwrap();
    assert_eq!(record.card_no_masked, None);
    assert_eq!(sims.room_door.persons()[0].cards, vec![EXPERTS[1].1.to_string()]);

    // An offline controller at check-in: a clear Unavailable, naming it.
    let other = c.find(&front_desk(), EXPERTS[2].1).await.unwrap();
    c.begin(&front_desk(), other.entry_id).await.unwrap();
    c.await_deposit(other.entry_id).await.unwrap();
    sims.entrance.set_fault(IsapiFault::Offline);
    let e = c.complete(&front_desk(), other.entry_id, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message_in(Locale::ZhCn).contains("评标区入口门禁"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_removes_access_a_controller_kept_while_it_was_offline() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    evaluation_with_roster(&v.services, "E3101000001202611004", "2026-11-23T08:30", "2026-11-23T12:00").await;
    let c = &v.services.checkins;
    let gone = check_in(&v, EXPERTS[0].1, None).await;
    let staying = check_in(&v, EXPERTS[1].1, None).await;

    // The room's controller is offline while the first expert checks out.
    sims.room_door.set_fault(IsapiFault::Offline);
    let progress = c.checkout_begin(&front_desk(), gone.check_in_id).await.unwrap();
    assert_eq!(progress.pending, vec!["第一评标室门禁".to_string()]);
    let report = c.reconcile().await.unwrap();
    assert!(report.devices.iter().any(|d| d.device_id == ROOM_DOOR && d.error.is_some()));

    // Back online it still holds the first expert, and lost the second (replaced controller).
    sims.room_door.set_fault(IsapiFault::None);
    assert_eq!(sims.room_door.persons().len(), 2);
    let driver_view = v.services.fleet.door(ROOM_DOOR, {
        let emp = staying.employee_no.clone();
        move |d| d.delete_person(&emp)
    });
    driver_view.await.unwrap();
    // Someone else's person (not written by Venue Desk) is left alone.
    let foreign = venue_desk::devices::AccessPerson {
        employee_no: "1001".into(),
        name: "保洁".into(),
        valid_from: local("2026-01-01T00:00:00"),
        valid_until: local("2026-12-31T23:59:59"),
        door_nos: vec![1],
    };
    v.services.fleet.door(ROOM_DOOR, move |d| d.upsert_person(&foreign)).await.unwrap();

    let report = c.reconcile().await.unwrap();
    let room = report.devices.iter().find(|d| d.device_id == ROOM_DOOR).unwrap();
    assert_eq!(room.removed, vec![gone.employee_no.clone()]);
    assert_eq!(room.rewritten, vec![staying.employee_no.clone()]);
    assert_eq!(room.error, None);
    let mut left: Vec<String> = sims.room_door.persons().into_iter().map(|p| p.employee_no).collect();
    left.sort();
    assert_eq!(left, vec!["1001".to_string(), staying.employee_no.clone()]);
    assert_eq!(journal_kinds(&v, "credentials.reconciled").await.len(), 2);
    // Nothing left to do: a second pass changes nothing.
    let again = c.reconcile().await.unwrap();
    assert!(again.devices.iter().all(|d| d.removed.is_empty() && d.rewritten.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockers_that_jam_or_stay_open_are_handled() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    evaluation_with_roster(&v.services, "E3101000001202611005", "2026-11-23T08:30", "2026-11-23T12:00").await;
    let c = &v.services.checkins;

    // Locker 1 jams: it is taken out of service and locker 2 opens instead.
    sims.lockers.set_fault(1, LockBoardFault::Jammed { lock: 1 });
    let found = c.find(&front_desk(), EXPERTS[0].1).await.unwrap();
    let locker = c.begin(&front_desk(), found.entry_id).await.unwrap();
    assert_eq!(locker.locker_no, 2);
    let banks = c.lockers().await.unwrap();
    assert_eq!(banks[0].lockers[0].status, LockerStatus::Fault);
    assert!(banks[0].lockers[0].fault_reason.is_some());
    sims.lockers.set_fault(1, LockBoardFault::None);

    // Nobody closes locker 2: the wait ends with a message saying what to do.
    sims.lockers.set_auto_close_ms(None);
    let started = std::time::Instant::now();
    let e = c.await_deposit(found.entry_id).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_secs(5) && started.elapsed() < Duration::from_secs(9));
    assert_eq!(e.kind, ErrorKind::FailedPrecondition);
    assert!(e.message_in(Locale::En).contains("Keep waiting"), "{e}");

    // Cancelling needs a reason, opens the locker for the devices to be taken back, and frees it.
    assert_eq!(
        c.cancel(&front_desk(), found.entry_id, " ").await.unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    c.cancel(&front_desk(), found.entry_id, "专家身体不适，改派").await.unwrap();
    sims.lockers.set_auto_close_ms(Some(AUTO_CLOSE_MS));
    let banks = c.lockers().await.unwrap();
    assert_eq!(banks[0].lockers[1].status, LockerStatus::Free);

    // Marking faulty needs a reason and is refused for a locker in use; back to service works.
    assert!(c.set_locker_fault(&front_desk(), BANK, 3, true, "").await.is_err());
    c.set_locker_fault(&front_desk(), BANK, 3, true, "门轴损坏").await.unwrap();
    c.set_locker_fault(&front_desk(), BANK, 3, false, "已修好").await.unwrap();
    c.set_locker_fault(&front_desk(), BANK, 1, false, "已修好").await.unwrap();
    // Manual open is journaled with its reason.
    c.open_locker(&front_desk(), BANK, 5, "专家遗落物品").await.unwrap();
    assert_eq!(sims.lockers.state(1, 5), LockState::Unlocked);
    let opened = journal_kinds(&v, "locker.opened").await;
    assert!(opened.iter().any(|d| d["reason"] == "专家遗落物品" && d["manual"] == true));

    // A dead board: the check-in is refused with Unavailable, the locker is not left assigned.
    sims.lockers.set_fault(1, LockBoardFault::Dead);
    c.poll_lockers().await;
    let other = c.find(&front_desk(), EXPERTS[1].1).await.unwrap();
    let e = c.begin(&front_desk(), other.entry_id).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unavailable | ErrorKind::FailedPrecondition), "{e}");
    let banks = c.lockers().await.unwrap();
    assert!(!banks[0].online);
    assert!(banks[0].lockers.iter().all(|l| l.status != LockerStatus::Assigned));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_the_area_suspends_access_until_a_supervisor_approves_re_entry() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    evaluation_with_roster(&v.services, "E3101000001202611006", "2026-11-23T08:30", "2026-11-23T12:00").await;
    v.services.start_background().await;
    let c = &v.services.checkins;
    let record = check_in(&v, EXPERTS[3].1, None).await;

    // The expert goes out through the entrance's exit reader (arrives on the alert stream).
    sims.entrance.push_access_event(0x01, Some(&record.employee_no), 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rc = c.roll_call().await.unwrap();
        if rc.outside.len() == 1 {
            assert!(rc.inside.is_empty());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "exit event not applied: {rc:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Suspended on every controller.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !(sims.entrance.persons().is_empty() && sims.room_door.persons().is_empty()) {
        assert!(std::time::Instant::now() < deadline, "credential not suspended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(journal_kinds(&v, "checkin.left_area").await.len(), 1);

    // Only a supervisor with a reason lets them back.
    assert!(c.approve_reentry(&supervisor(), record.check_in_id, "").await.is_err());
    let back = c.approve_reentry(&supervisor(), record.check_in_id, "去洗手间，已复检").await.unwrap();
    assert_eq!(back.status, AttendanceStatus::ReentryApproved);
    assert_eq!(sims.entrance.persons().len(), 1);
    sims.entrance.push_access_event(0x01, Some(&record.employee_no), 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.roll_call().await.unwrap().inside.len() != 1 {
        assert!(std::time::Instant::now() < deadline, "entry event not applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same event delivered again (catch-up after a reconnect) changes nothing.
    sims.entrance.set_fault(IsapiFault::DropAlertStreams);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM door_events").fetch_one(v.services.store.pool()).await.unwrap();
    assert_eq!(events.0, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosters_import_whole_or_not_at_all_and_are_purged_after_the_session() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    let booking =
        evaluation_with_roster(&v.services, "E3101000001202611007", "2026-11-23T08:30", "2026-11-23T12:00")
            .await;
    let c = &v.services.checkins;

    // A file with a bad row imports nothing and names the row.
    let bad = format!("name,id_number,expert_type\n张三,{OUTSIDER},技术\n李四,110105197003071239,技术\n");
    let report = c.import_roster(&supervisor(), booking, RosterFormat::Csv, &bad).await.unwrap();
    assert_eq!((report.imported, report.errors.len(), report.errors[0].row), (0, 1, 2));
    assert!(c.find(&front_desk(), OUTSIDER).await.is_err());
    // An expert already on the roster is reported, not duplicated.
    let dup = format!("[{{\"name\":\"王建国\",\"idNumber\":\"{}\",\"expertType\":\"技术\"}}]", EXPERTS[0].1);
    assert_eq!(
        c.import_roster(&supervisor(), booking, RosterFormat::Json, &dup).await.unwrap().errors.len(),
        1
    );

    // 补抽: a substitute needs a reason and is then found like anyone else.
    let sub = RosterExpertInput {
        name: "赵六".into(),
        id_number: OUTSIDER.into(),
        expert_type: "技术专家".into(),
        is_chair: false,
        photo_data_url: None,
    };
    assert!(c.add_substitute(&supervisor(), booking, &sub, "").await.is_err());
    let row = c.add_substitute(&supervisor(), booking, &sub, "原抽取专家因故缺席，补抽").await.unwrap();
    assert!(row.substitute);
    assert!(c.find(&front_desk(), OUTSIDER).await.unwrap().substitute);

    // The roster is sealed at rest: neither names nor ID numbers appear in the database file.
    v.services.store.close().await;
    let db = std::fs::read(v.data_dir().join("venue-desk.db")).unwrap();
    let wal = std::fs::read(v.data_dir().join("venue-desk.db-wal")).unwrap_or_default();
    for hay in [&db, &wal] {
        let text = String::from_utf8_lossy(hay);
        assert!(!text.contains("王建国") && !text.contains(EXPERTS[0].1), "plain roster data on disk");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendance_shows_late_and_absent_and_purging_erases_names() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    let booking =
        evaluation_with_roster(&v.services, "E3101000001202611008", "2026-11-23T08:30", "2026-11-23T12:00")
            .await;
    let c = &v.services.checkins;
    let record = check_in(&v, EXPERTS[0].1, None).await;

    let a = &c.attendance_today().await.unwrap()[0];
    assert_eq!(a.session.booking_id, booking);
    assert_eq!((a.expected, a.checked_in, a.absent), (5, 1, 0));
    assert_eq!(a.late, 5, "everyone is late at 09:00 for 08:30");

    // After the session the others are absent.
    v.clock.advance(chrono::Duration::hours(4));
    let a = &c.attendance_today().await.unwrap()[0];
    assert_eq!(a.absent, 4);

    // Retention (30 days by default) erases names but keeps the record, not while someone is inside.
    v.clock.advance(chrono::Duration::days(31));
    assert!(c.purge_rosters().await.unwrap().is_empty(), "an expert is still checked in");
    c.checkout_begin(&front_desk(), record.check_in_id).await.unwrap();
    assert_eq!(c.purge_rosters().await.unwrap(), vec![booking]);
    assert!(c.find(&front_desk(), EXPERTS[1].1).await.is_err());
    let rows = v.services.store.pool();
    let kept: (i64, i64) = sqlx::query_as("SELECT COUNT(*), SUM(sealed IS NULL) FROM roster_entries")
        .fetch_one(rows)
        .await
        .unwrap();
    assert_eq!(kept, (5, 5));
    assert_eq!(journal_kinds(&v, "roster.purged").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roll_call_exports_for_evacuation() {
    let sims = SimVenue::start();
    let v = venue(&sims).await;
    evaluation_with_roster(&v.services, "E3101000001202611009", "2026-11-23T08:30", "2026-11-23T12:00").await;
    check_in(&v, EXPERTS[0].1, None).await;
    check_in(&v, EXPERTS[4].1, None).await;
    let path = v.services.checkins.export_roll_call(&front_desk()).await.unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("王建国") && text.contains("周明") && text.contains("第一评标室"));
}
