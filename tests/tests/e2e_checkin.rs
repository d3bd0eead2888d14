//! 专家签到 in the real app against the simulated devices: the front desk scans an expert's ID
//! (without clicking into a field), a locker opens and is closed by the simulated expert, the
//! credential appears on both simulated controllers with the session's window, and check-out
//! removes it and opens the locker again. Screenshots in test-artifacts/e2e/checkin/.

use std::sync::Arc;
use std::time::Duration;

use venue_desk::clock::SystemClock;
use venue_desk::devices::LockState;
use venue_desk::domain::operator::Role;
use venue_desk::sim::isapi::{IsapiSim, IsapiSimConfig, IsapiSimHandle};
use venue_desk::sim::lockboard::{LockBoardSim, SimBoardConfig};
use venue_desk::sim::modbus::ModbusSim;
use venue_desk_tests::e2e::{RunningApp, Workstation, seed_operators, sign_in_enrolling};
use venue_desk_tests::webdriver::ENTER;

const T: Duration = Duration::from_secs(20);
const DESK: &str = "qiantai01";
const PASSWORD: &str = "Qiantai-2026-a";
const EXPERT_ID: &str = "11010519700307123X";
const SUPERVISOR: &str = "jiandu01";

fn controller(name: &str) -> IsapiSimHandle {
    IsapiSim::start(
        "127.0.0.1:0".parse().unwrap(),
        IsapiSimConfig {
            username: "admin".into(),
            password: venue_desk::DEMO_DEVICE_PASSWORD.into(),
            device_name: name.into(),
            serial_number: format!("E2E-{name}"),
            doors: 1,
            heartbeat_ms: 1000,
        },
    )
    .unwrap()
}

#[test]
fn the_front_desk_checks_an_expert_in_and_out() {
    let entrance = controller("door-entrance");
    let room = controller("door-pb1");
    let others = [controller("door-pb2"), controller("door-gy1")];
    let lockers =
        LockBoardSim::start_tcp("127.0.0.1:0".parse().unwrap(), vec![SimBoardConfig::new(1, 24)]).unwrap();
    lockers.set_auto_close_ms(Some(2500));
    // The gate and fire inputs, quiet, so the desk sees no device alarms.
    let io = ModbusSim::start("127.0.0.1:0".parse().unwrap(), 1, 16).unwrap();

    // The demo venue with its devices on the simulators' ports, as the workstation's venue file.
    let ws = Workstation::new();
    let venue_file = ws.demo_venue_file(
        &[
            ("127.0.0.1:18081", entrance.addr()),
            ("127.0.0.1:18082", room.addr()),
            ("127.0.0.1:18083", others[0].addr()),
            ("127.0.0.1:18084", others[1].addr()),
            ("127.0.0.1:18485", lockers.addr().unwrap()),
            ("127.0.0.1:18502", io.addr()),
        ],
        "",
    );

    // Operators and today's demo session with its roster, written before the app starts.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (session_end, booking_id) = rt.block_on(async {
        let config = venue_desk::config::load(&venue_file, &ws.data_dir()).unwrap();
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        seed_operators(
            &s,
            &[
                (DESK, "前台王丽", Role::FrontDesk, PASSWORD),
                (SUPERVISOR, "监督员赵强", Role::Supervisor, PASSWORD),
            ],
        )
        .await;
        let booking_id = venue_desk::demo::seed_today(&s).await.unwrap();
        let b = venue_desk::store::bookings::booking(s.store.pool(), booking_id).await.unwrap().unwrap();
        s.store.close().await;
        (b.end_ms, booking_id)
    });
    assert!(booking_id > 0);

    let app = RunningApp::launch(&ws, "checkin");
    let s = &app.session;
    s.wait("[data-testid=login-username]", Duration::from_secs(60)).unwrap();
    s.fill("[data-testid=login-username]", DESK).unwrap();
    s.fill("[data-testid=login-password]", &format!("{PASSWORD}{ENTER}")).unwrap();
    s.wait("[data-testid=home-front_desk]", T).unwrap();
    app.shot("01-front-desk-home");

    s.click("[data-testid=nav-checkin]").unwrap();
    s.wait("[data-testid=checkin-id-input]", T).unwrap();
    // A keyboard-wedge reader types into the page without anyone clicking into the field first.
    s.execute("document.activeElement && document.activeElement.blur()").unwrap();
    s.execute(&format!(
        "const id = {EXPERT_ID:?}; \
         for (const ch of id) document.dispatchEvent(new KeyboardEvent('keydown', {{key: ch, bubbles: true}})); \
         document.dispatchEvent(new KeyboardEvent('keydown', {{key: 'Enter', bubbles: true}}));"
    ))
    .unwrap();
    let card = s.wait_text("[data-testid=checkin-candidate]", "王建国", T).unwrap();
    assert!(card.contains("110105********123X"), "{card}");
    assert!(!card.contains(EXPERT_ID), "the full ID number is never shown: {card}");
    app.shot("02-expert-found");

    s.click("[data-testid=checkin-confirm-identity]").unwrap();
    let locker = s.wait_text("[data-testid=checkin-locker]", "01", T).unwrap();
    assert!(!locker.is_empty());
    assert_eq!(lockers.state(1, 1), LockState::Unlocked, "locker 1 opened on the board");
    app.shot("03-locker-open");

    // The simulated expert closes the locker; the card step follows by itself.
    s.wait("[data-testid=checkin-complete]", T).unwrap();
    assert_eq!(lockers.state(1, 1), LockState::Locked);
    s.click("[data-testid=checkin-complete]").unwrap();
    s.wait("[data-testid=checkin-done]", T).unwrap();
    app.shot("04-checked-in");

    // The credential is on both controllers on the way to the room, valid until the session's end
    // plus the 30-minute grace, keyed by the ID card.
    let until = chrono::DateTime::from_timestamp_millis(session_end + 30 * 60_000)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .naive_local();
    for door in [&entrance, &room] {
        let persons = door.persons();
        assert_eq!(persons.len(), 1, "{persons:?}");
        assert_eq!(persons[0].valid_until, until);
        assert_eq!(persons[0].cards, vec![EXPERT_ID.to_string()]);
        assert!(persons[0].employee_no.starts_with("vd-"));
    }
    assert!(others.iter().all(|o| o.persons().is_empty()));

    // Lockers and the roll call show it.
    s.click("[data-testid=nav-lockers]").unwrap();
    let tile = s.wait("[data-testid=locker-lockers-a-1][data-status=occupied]", T);
    assert!(tile.is_ok(), "locker 1 shown occupied");
    app.shot("05-lockers");
    s.click("[data-testid=nav-roll-call]").unwrap();
    s.wait_text("[data-testid=rollcall-inside-count]", "1", T).unwrap();
    app.shot("06-roll-call");

    // Check-out: the same scan, then the credential goes and the locker opens for the devices.
    s.click("[data-testid=nav-checkin]").unwrap();
    s.wait("[data-testid=checkin-id-input]", T).unwrap();
    s.fill("[data-testid=checkin-id-input]", &format!("{EXPERT_ID}{ENTER}")).unwrap();
    s.wait("[data-testid=checkout-begin]", T).unwrap();
    s.click("[data-testid=checkout-begin]").unwrap();
    s.wait("[data-testid=checkout-done]", T).unwrap();
    app.shot("07-checked-out");
    assert!(entrance.persons().is_empty() && room.persons().is_empty(), "credential revoked");
    assert_eq!(lockers.opens_received().iter().filter(|o| **o == (1, 1)).count(), 2);

    // The supervisor sees the session's attendance: one checked in and out, four late.
    s.click("[data-testid=logout]").unwrap();
    sign_in_enrolling(s, SUPERVISOR, PASSWORD, "home-supervisor");
    s.click("[data-testid=nav-attendance]").unwrap();
    let session =
        s.wait_text(&format!("[data-testid=attendance-session-{booking_id}]"), "王建国", T).unwrap();
    assert!(session.contains("110105********123X") && session.contains("周明"), "{session}");
    app.shot("08-supervisor-attendance");
}
