//! The sender and the pulls against the reference receiver over a real socket: draining a backlog
//! in order, exactly once across a kill -9, back-pressure, parked events, refused credentials,
//! garbled replies, and booking/session/roster pulls.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use venue_desk::Services;
use venue_desk::journal::{Actor, Entry, EventKind, Outcome};
use venue_desk::sim::receiver::{Mode, Receiver, ReceiverConfig};
use venue_desk::sync::Step;
use venue_desk::sync::views::LinkState;
use venue_desk::sync::wire::{
    PlatformAction, PlatformBooking, PlatformExpert, PlatformProject, PlatformSession,
};
use venue_desk_tests::e2e::{Workstation, app_binary};
use venue_desk_tests::fixture::Venue;
use venue_desk_tests::process::{output_within, wait_within};
use venue_desk_tests::uplink::{
    admin, assert_exactly_once_in_order, drain, outbox_ids, unique_venue_code, write_door_events,
};

const SECRET: &str = "a-test-secret-of-enough-length";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The demo venue under its own code, sending to `port`, on a clock that starts at the real time
/// (the receiver checks timestamps against its own clock).
async fn venue(code: &str, port: u16, batch_size: u32) -> Venue {
    venue_at(code, port, batch_size, chrono::Utc::now()).await
}

async fn venue_at(code: &str, port: u16, batch_size: u32, now: chrono::DateTime<chrono::Utc>) -> Venue {
    let code = code.to_string();
    let v = Venue::open_with(
        move |c| {
            c.code = code;
            c.service.base_url = format!("http://127.0.0.1:{port}");
            c.service.batch_size = batch_size;
        },
        &now.to_rfc3339(),
    )
    .await;
    v.services.uplink.set_credentials(&admin(), "venue-app", SECRET).await.unwrap();
    v
}

fn receiver_on(port: u16, code: &str) -> Receiver {
    Receiver::start(&format!("127.0.0.1:{port}"), ReceiverConfig::new(code, "venue-app", SECRET.as_bytes()))
        .unwrap()
}

async fn pending(s: &Services) -> i64 {
    s.uplink.status().await.unwrap().backlog
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_for_ten_thousand_events_then_drains_in_order_with_nothing_missing() {
    let code = unique_venue_code("OFF");
    let port = free_port();
    let v = venue(&code, port, 500).await;
    let s = &v.services;
    write_door_events(s, 10_000).await;

    // Nobody listens yet: the sender keeps everything and says the link is down.
    match s.uplink.step().await.unwrap() {
        Step::Wait(_) => {}
        other => panic!("expected a wait while offline, got {other:?}"),
    }
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::Unreachable);
    assert!(st.backlog >= 10_000);
    assert!(st.retry_in_s.is_some());

    let r = receiver_on(port, &code);
    s.uplink.retry_now();
    drain(s).await;
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.backlog, 0);
    assert!(st.last_success_at.is_some());
    assert_eq!(st.state, LinkState::UpToDate);
    // Batches, not one request per event.
    assert!(r.stats().event_posts <= 25, "{} posts", r.stats().event_posts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_on_429_is_honoured_without_extra_requests() {
    let code = unique_venue_code("429");
    let port = free_port();
    let v = venue(&code, port, 100).await;
    let s = &v.services;
    write_door_events(s, 50).await;
    let r = receiver_on(port, &code);
    r.set_mode(Mode::RateLimited { retry_after_s: 7, times: 1 });
    match s.uplink.step().await.unwrap() {
        Step::Wait(d) => assert_eq!(d, Duration::from_secs(7)),
        other => panic!("expected the receiver's wait, got {other:?}"),
    }
    assert_eq!(s.uplink.status().await.unwrap().state, LinkState::Throttled);
    // Before the time is up nothing is sent.
    v.clock.advance(chrono::Duration::seconds(5));
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Wait(d) if d <= Duration::from_secs(2)));
    assert_eq!(r.stats().event_posts, 1);
    v.clock.advance(chrono::Duration::seconds(3));
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Sent { .. }));
    assert_eq!(r.stats().event_posts, 2);
    drain(s).await;
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_invalid_event_does_not_block_the_rest_and_can_be_retried() {
    let code = unique_venue_code("PRK");
    let port = free_port();
    let v = venue(&code, port, 1000).await;
    let s = &v.services;
    write_door_events(s, 20).await;
    s.journal
        .record(
            Entry::new(Actor::system(), EventKind::LockerFault, "lockers-a/3", Outcome::Failed)
                .with_detail(serde_json::json!({"locker": 3})),
        )
        .await
        .unwrap();
    write_door_events(s, 20).await;
    let r = receiver_on(port, &code);
    r.reject_types(&["LOCKER_FAULT"]);
    drain(s).await;

    let parked = s.uplink.parked(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event_type, "LOCKER_FAULT");
    assert_eq!(parked[0].code, "invalid_payload");
    assert!(!parked[0].reason.is_empty());
    let all = outbox_ids(s).await;
    let without: Vec<String> = all.iter().filter(|id| **id != parked[0].event_id).cloned().collect();
    let got: Vec<String> = r.accepted().into_iter().map(|e| e.event_id).collect();
    assert_eq!(got, without, "everything behind the parked event went through, in order");
    assert_eq!(s.uplink.status().await.unwrap().parked, 1);

    // Fixed at the receiver: the administrator sends it again.
    r.reject_types(&[]);
    s.uplink.retry_parked(&admin(), parked[0].seq).await.unwrap();
    drain(s).await;
    assert!(s.uplink.parked(10).await.unwrap().is_empty());
    let got: Vec<String> = r.accepted().into_iter().map(|e| e.event_id).collect();
    assert!(got.contains(&parked[0].event_id));
    let again = s.uplink.retry_parked(&admin(), parked[0].seq).await.unwrap_err();
    assert_eq!(again.code(), "NOT_FOUND");
    let kinds: Vec<(String,)> =
        sqlx::query_as("SELECT kind FROM journal WHERE kind LIKE 'sync.%' ORDER BY seq")
            .fetch_all(s.store.pool())
            .await
            .unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|k| k.0.as_str()).collect();
    assert!(kinds.contains(&"sync.event_parked") && kinds.contains(&"sync.event_requeued"), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_credentials_rejected_and_not_retried_in_a_tight_loop() {
    let code = unique_venue_code("401");
    let port = free_port();
    let v = venue(&code, port, 100).await;
    let s = &v.services;
    write_door_events(s, 10).await;
    let r = receiver_on(port, &code);
    r.set_secret(b"the-platform-rotated-this-secret");
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Stopped(_)));
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::CredentialsRejected);
    assert_eq!(st.problem.as_ref().unwrap().code, "bad_signature");
    for _ in 0..20 {
        assert!(matches!(s.uplink.step().await.unwrap(), Step::Wait(_)));
    }
    assert_eq!(
        r.stats().event_posts + r.stats().auth_failures.values().sum::<u64>(),
        1,
        "one attempt, not a loop"
    );

    // The administrator enters the new secret: sending resumes at once.
    s.uplink.set_credentials(&admin(), "venue-app", "the-platform-rotated-this-secret").await.unwrap();
    drain(s).await;
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
    let audit: (String,) = sqlx::query_as(
        "SELECT detail FROM journal WHERE kind = 'sync.credentials_changed' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(s.store.pool())
    .await
    .unwrap();
    assert!(!audit.0.contains("rotated-this-secret"), "the secret never reaches the journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_is_named_as_such() {
    let code = unique_venue_code("SKW");
    let port = free_port();
    let v = venue(&code, port, 100).await;
    let s = &v.services;
    write_door_events(s, 3).await;
    let r = receiver_on(port, &code);
    r.set_clock_offset_s(900);
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Stopped(_)));
    let st = s.uplink.status().await.unwrap();
    assert_eq!(st.state, LinkState::ClockSkew);
    assert_eq!(st.problem.unwrap().code, "clock_skew");
    r.set_clock_offset_s(0);
    drain(s).await;
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_and_cut_off_replies_back_off_and_nothing_is_lost_or_doubled() {
    let code = unique_venue_code("BAD");
    let port = free_port();
    let v = venue(&code, port, 100).await;
    let s = &v.services;
    write_door_events(s, 250).await;
    let before = pending(s).await;
    let r = receiver_on(port, &code);

    r.set_mode(Mode::Malformed);
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Wait(_)));
    let st = s.uplink.status().await.unwrap();
    assert_eq!((st.state, st.problem.unwrap().code.as_str()), (LinkState::Retrying, "bad_reply"));
    assert_eq!(pending(s).await, before, "an unreadable answer confirms nothing");

    r.set_mode(Mode::CloseMidResponse);
    s.uplink.retry_now();
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Wait(_)));
    assert_eq!(pending(s).await, before);
    let second = s.uplink.status().await.unwrap().retry_in_s.unwrap();
    assert!(second >= 1, "backs off after repeated failures");

    r.set_mode(Mode::Fail { status: 500 });
    s.uplink.retry_now();
    assert!(matches!(s.uplink.step().await.unwrap(), Step::Wait(_)));
    assert_eq!(s.uplink.status().await.unwrap().state, LinkState::Retrying);
    assert_eq!(pending(s).await, before);

    r.set_mode(Mode::Normal);
    drain(s).await;
    // The garbled and cut-off batches were stored by the receiver before it answered badly: the
    // resend comes back as duplicates, and each event is held once.
    assert_exactly_once_in_order(&r, &outbox_ids(s).await);
    assert!(r.stats().duplicates >= 100, "{:?}", r.stats());
}

/// kill -9 of the sender in the middle of a batch, then a restart: the receiver holds every event
/// exactly once. The sender is `venue-desk sync drain`, a process of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_then_restart_delivers_every_event_exactly_once() {
    let code = unique_venue_code("K9");
    let port = free_port();
    let ws = Workstation::new();
    let toml = venue_desk::config::DEMO_VENUE_TOML
        .replace("code = \"DEMO-01\"", &format!("code = \"{code}\""))
        .replace("http://127.0.0.1:18600", &format!("http://127.0.0.1:{port}"))
        .replace("allow_plain_http = true", "allow_plain_http = true\nbatch_size = 200");
    let file = ws.config_dir().join("venue.toml");
    std::fs::create_dir_all(ws.config_dir()).unwrap();
    std::fs::write(&file, toml).unwrap();
    {
        let cfg = venue_desk::config::load(&file, &ws.data_dir()).unwrap();
        let s = Services::open(cfg, Arc::new(venue_desk::clock::SystemClock)).await.unwrap();
        s.uplink.set_credentials(&admin(), "venue-app", SECRET).await.unwrap();
        write_door_events(&s, 3000).await;
        s.store.close().await;
    }
    let r = receiver_on(port, &code);
    r.set_mode(Mode::Stall { ms: 400 });
    let drain_cmd = || {
        let mut cmd = Command::new(app_binary());
        cmd.args(["--config", file.to_str().unwrap(), "sync", "drain"])
            .env("VENUE_DESK_DATA_DIR", ws.data_dir());
        cmd
    };
    let mut child = drain_cmd().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Wait until a few batches went through and the next one is on the wire, then kill.
    let deadline = Instant::now() + Duration::from_secs(60);
    while r.stats().event_posts < 3 {
        assert!(Instant::now() < deadline, "the sender never got going: {:?}", r.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(150));
    Command::new("kill").args(["-9", &child.id().to_string()]).status().unwrap();
    wait_within(&mut child, Duration::from_secs(10), "the killed drain");
    // The receiver finishes the stalled batch the dead sender will never hear about.
    std::thread::sleep(Duration::from_millis(600));
    let before_restart = r.stats().accepted;
    assert!(before_restart > 0 && before_restart < 3000, "killed mid-drain: {before_restart} accepted");

    r.set_mode(Mode::Normal);
    let out = output_within(&mut drain_cmd(), Duration::from_secs(120), "sync drain after the restart");
    assert!(out.status.success(), "drain failed: {}", String::from_utf8_lossy(&out.stderr));
    let cfg = venue_desk::config::load(&file, &ws.data_dir()).unwrap();
    let s = Services::open(cfg, Arc::new(venue_desk::clock::SystemClock)).await.unwrap();
    assert_exactly_once_in_order(&r, &outbox_ids(&s).await);
    assert!(r.stats().duplicates >= 1, "the batch in flight at the kill was sent again: {:?}", r.stats());
    assert_eq!(pending(&s).await, 0);
}

fn project(code: &str) -> PlatformProject {
    PlatformProject {
        tender_project_code: code.into(),
        name: "市第一人民医院医疗设备采购项目".into(),
        category: "government_procurement".into(),
        tenderer_name: "市第一人民医院".into(),
        tenderer_credit_code: "91350100M000100Y43".into(),
        agency_name: None,
        agency_credit_code: None,
        responsible_staff: "张敏".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_place_requests_refuse_what_cannot_be_placed_and_bring_todays_roster() {
    let code = unique_venue_code("PUL");
    let port = free_port();
    // 08:00 today at the venue, whatever time the test runs: the receiver's clock is set to match.
    let tz = chrono_tz::Asia::Shanghai;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let eight =
        today.and_hms_opt(8, 0, 0).unwrap().and_local_timezone(tz).unwrap().with_timezone(&chrono::Utc);
    let v = venue_at(&code, port, 100, eight).await;
    let s = &v.services;
    let r = receiver_on(port, &code);
    r.set_clock_offset_s((eight - chrono::Utc::now()).num_seconds());
    let at = |day: chrono::NaiveDate, hm: &str| format!("{}T{hm}:00+08:00", day.format("%Y-%m-%d"));
    let tomorrow = today + chrono::Days::new(1);
    let request =
        |id: &str, room: &str, start: String, end: String, action: PlatformAction| PlatformBooking {
            platform_booking_id: id.into(),
            action,
            project: project("3301002026000777"),
            bid_section_codes: vec!["001".into()],
            room_id: room.into(),
            purpose: "bid_opening".into(),
            start,
            end,
            expected_participants: 20,
            expected_experts: 0,
            notes: String::new(),
        };
    r.add_bookings(vec![
        request("PB-1", "kb-2", at(tomorrow, "09:00"), at(tomorrow, "11:00"), PlatformAction::Request),
        // The same room and hours: cannot be placed, and the platform is told why.
        request("PB-2", "kb-2", at(tomorrow, "10:00"), at(tomorrow, "12:00"), PlatformAction::Request),
        request(
            "PB-3",
            "no-such-room",
            at(tomorrow, "14:00"),
            at(tomorrow, "15:00"),
            PlatformAction::Request,
        ),
        request("PB-4", "kb-1", at(tomorrow, "14:00"), at(tomorrow, "15:00"), PlatformAction::Request),
        request("PB-4", "kb-1", at(tomorrow, "14:00"), at(tomorrow, "15:00"), PlatformAction::Cancel),
    ]);
    // Today's evaluation, on the platform with its drawn experts.
    let mut ev = request("PB-5", "pb-2", at(today, "14:00"), at(today, "17:00"), PlatformAction::Request);
    ev.purpose = "evaluation".into();
    ev.expected_experts = 2;
    ev.expected_participants = 2;
    r.add_bookings(vec![ev]);
    r.add_session(
        PlatformSession {
            session_id: "S-100".into(),
            platform_booking_id: Some("PB-5".into()),
            tender_project_code: "3301002026000777".into(),
            bid_section_codes: vec!["001".into()],
            room_id: "pb-2".into(),
            purpose: "evaluation".into(),
            start: at(today, "14:00"),
            end: at(today, "17:00"),
            has_roster: true,
        },
        Some(vec![
            PlatformExpert {
                name: "李建国".into(),
                id_number: venue_desk_tests::sims::generated_id(11),
                expert_type: "技术".into(),
                is_chair: true,
            },
            PlatformExpert {
                name: "王秀英".into(),
                id_number: venue_desk_tests::sims::generated_id(12),
                expert_type: "经济".into(),
                is_chair: false,
            },
        ]),
    );

    let report = venue_desk::sync::pulls::pull_all(s).await.unwrap();
    assert_eq!(report.booking_requests, 3, "{report:?}");
    assert_eq!(report.refused, 2, "{report:?}");
    assert_eq!(report.booking_cancellations, 1, "{report:?}");
    assert_eq!(report.rosters_imported, 1, "{report:?}");

    let inbox = s.uplink.platform_inbox().await.unwrap();
    let state_of =
        |id: &str| inbox.bookings.iter().find(|b| b.platform_booking_id == id).map(|b| b.state.clone());
    assert_eq!(state_of("PB-1").as_deref(), Some("imported"));
    assert_eq!(state_of("PB-2").as_deref(), Some("refused"));
    assert_eq!(state_of("PB-3").as_deref(), Some("refused"));
    assert_eq!(state_of("PB-4").as_deref(), Some("cancelled"));
    let pb1 = inbox.bookings.iter().find(|b| b.platform_booking_id == "PB-1").unwrap().booking_id.unwrap();
    let booked = s.bookings.booking(pb1).await.unwrap();
    assert_eq!(
        booked.state,
        venue_desk::domain::booking::BookingState::Requested,
        "waits for the venue manager"
    );
    assert_eq!(booked.created_by, "platform");
    let refusals: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = 'PLATFORM_DATA_REFUSED'")
            .fetch_one(s.store.pool())
            .await
            .unwrap();
    assert_eq!(refusals.0, 2);
    let session = inbox.sessions.iter().find(|x| x.session_id == "S-100").unwrap();
    assert_eq!(session.roster_state, "imported");
    assert_eq!(s.checkins.roster_size(session.booking_id.unwrap()).await.unwrap(), 2);
    // Sealed: no name of the roster is in the database file in the clear.
    let plain: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM roster_entries WHERE CAST(sealed AS TEXT) LIKE '%李建国%'")
            .fetch_one(s.store.pool())
            .await
            .unwrap();
    assert_eq!(plain.0, 0);

    // Pulling again changes nothing: the cursor and the links survive.
    let requests_before = r.stats().requests;
    let again = venue_desk::sync::pulls::pull_all(s).await.unwrap();
    assert_eq!((again.booking_requests, again.refused, again.rosters_imported), (0, 0, 0), "{again:?}");
    assert!(r.stats().requests > requests_before);
    assert!(s.uplink.status().await.unwrap().last_pull_at.is_some());
}

/// Caps how far the database may grow, on every pooled connection (the limit is per connection):
/// the closest thing to a full disk that a test can make without mounting one.
async fn cap_database_pages(s: &Services, max_pages: Option<i64>) {
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(s.store.pool().acquire().await.unwrap());
    }
    for c in conns.iter_mut() {
        let n = match max_pages {
            Some(n) => n,
            None => 1_073_741_823,
        };
        sqlx::query(&format!("PRAGMA max_page_count = {n}")).execute(&mut **c).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_while_pulling_is_reported_and_the_next_pull_takes_everything_once() {
    let code = unique_venue_code("FUL");
    let port = free_port();
    let v = venue(&code, port, 100).await;
    let s = &v.services;
    let r = receiver_on(port, &code);
    let tomorrow =
        chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive() + chrono::Days::new(2);
    let at = |hm: &str| format!("{}T{hm}:00+08:00", tomorrow.format("%Y-%m-%d"));
    let items: Vec<PlatformBooking> = (0..40)
        .map(|i| PlatformBooking {
            platform_booking_id: format!("FULL-{i}"),
            action: PlatformAction::Request,
            project: project(&format!("33010020260008{i:02}")),
            bid_section_codes: vec!["001".into()],
            room_id: ["kb-1", "kb-2"][i % 2].into(),
            purpose: "bid_opening".into(),
            // Twenty half-hour slots per room from 07:00.
            start: at(&format!("{:02}:{:02}", 7 + i / 4, i / 2 % 2 * 30)),
            end: at(&format!("{:02}:{:02}", 7 + i / 4, i / 2 % 2 * 30 + 25)),
            expected_participants: 10,
            expected_experts: 0,
            notes: "x".repeat(400),
        })
        .collect();
    r.add_bookings(items);

    let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count").fetch_one(s.store.pool()).await.unwrap();
    cap_database_pages(s, Some(pages)).await;
    let outcome = venue_desk::sync::pulls::pull_all(s).await;
    s.uplink.note_pull(&outcome);
    let e = outcome.expect_err("the pull must fail when nothing more can be written");
    assert_eq!(e.code(), "UNAVAILABLE", "{e:?}");
    assert!(e.message().contains("磁盘已满") || e.message().contains("disk is full"), "{}", e.message());
    assert!(s.uplink.status().await.unwrap().pull_problem.is_some());

    cap_database_pages(s, None).await;
    let report = venue_desk::sync::pulls::pull_all(s).await.unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    let (placed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bookings WHERE created_by = 'platform'")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    let (linked,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM platform_bookings WHERE state = 'imported'")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_eq!((placed, linked), (40, 40), "every request placed exactly once across the failure");
}
