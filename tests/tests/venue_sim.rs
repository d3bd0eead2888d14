//! `venue-sim` as a user runs it: it serves the venue file's controllers and lock boards on their
//! addresses, the real drivers talk to them, and faults are injected over its control interface.

use venue_desk::devices::hik_isapi::{IsapiController, IsapiSettings};
use venue_desk::devices::lockboard::{LockBoardDriver, LockBoardSettings};
use venue_desk::devices::{DoorController, LockBoard, LockState};
use venue_desk::error::ErrorKind;
use venue_desk_tests::e2e::{VenueSimProcess, free_port};

fn post(url: &str) -> serde_json::Value {
    ureq::post(url).send_empty().unwrap().body_mut().read_json().unwrap()
}

#[test]
fn venue_sim_serves_the_venue_file_and_takes_faults_on_command() {
    let (door, lockers) = (free_port(), free_port());
    let toml = venue_desk::config::DEMO_VENUE_TOML
        .replace("127.0.0.1:18081", &format!("127.0.0.1:{door}"))
        .replace("127.0.0.1:18485", &format!("127.0.0.1:{lockers}"))
        // The other controllers on ports of their own too, so nothing fixed is bound.
        .replace("127.0.0.1:18082", &format!("127.0.0.1:{}", free_port()))
        .replace("127.0.0.1:18083", &format!("127.0.0.1:{}", free_port()))
        .replace("127.0.0.1:18084", &format!("127.0.0.1:{}", free_port()));
    let (sim, devices) = VenueSimProcess::start(&toml, &["--auto-close-ms", "0"]);
    let base = sim.control.clone();
    let listed: Vec<&str> = devices.as_array().unwrap().iter().filter_map(|d| d["device"].as_str()).collect();
    assert!(listed.contains(&"door-entrance") && listed.contains(&"lockers-a"), "{devices}");

    // The real drivers against it, with the demo password.
    let controller = IsapiController::new(IsapiSettings {
        base_url: format!("http://127.0.0.1:{door}"),
        username: "admin".into(),
        password: venue_desk::DEMO_DEVICE_PASSWORD.into(),
        basic_auth: false,
        timeout_ms: 2000,
    });
    assert_eq!(controller.device_info().unwrap().name, "评标区入口门禁");
    let board = LockBoardDriver::tcp(&format!("127.0.0.1:{lockers}"), LockBoardSettings::new(1, 24));
    board.open(3).unwrap();
    assert_eq!(board.state(3).unwrap(), LockState::Unlocked);
    post(&format!("{base}/close/lockers-a/3"));
    assert_eq!(board.state(3).unwrap(), LockState::Locked);

    // Faults on command: an offline controller, a jammed locker; and back.
    post(&format!("{base}/fault/door-entrance/offline"));
    assert_eq!(controller.device_info().unwrap_err().kind, ErrorKind::Unavailable);
    post(&format!("{base}/fault/door-entrance/none"));
    assert!(controller.device_info().is_ok());
    post(&format!("{base}/fault/lockers-a/jam-5"));
    assert_eq!(board.open(5).unwrap_err().kind, ErrorKind::FailedPrecondition);
    // An access event pushed through the control interface lands in the controller's history.
    let reply = post(&format!("{base}/event/door-entrance?minor=1&employee=vd-7&reader=2"));
    assert!(reply["serialNo"].as_u64().unwrap() > 0);
    let bad = ureq::post(&format!("{base}/fault/door-entrance/melt")).send_empty();
    assert!(bad.is_err(), "an unknown fault is refused");
}
