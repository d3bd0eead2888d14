//! 通讯检测门联动 in the real app against the simulators: a phone at the gate holds the entrance and
//! puts a banner on the front desk's screen; the desk answers it; the gate goes quiet and the door
//! returns to card control; the fire input releases every door of the area. Screenshots in
//! test-artifacts/e2e/gate/.

use std::sync::Arc;
use std::time::{Duration, Instant};

use venue_desk::clock::SystemClock;
use venue_desk::devices::DoorCommand;
use venue_desk::domain::operator::Role;
use venue_desk::sim::isapi::{IsapiSim, IsapiSimConfig, IsapiSimHandle};
use venue_desk::sim::lockboard::{LockBoardSim, SimBoardConfig};
use venue_desk::sim::modbus::ModbusSim;
use venue_desk_tests::e2e::{RunningApp, Workstation, seed_operators};
use venue_desk_tests::webdriver::ENTER;

const T: Duration = Duration::from_secs(20);
const DESK: &str = "qiantai02";
const PASSWORD: &str = "Qiantai-2026-b";

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

fn last_command(h: &IsapiSimHandle) -> Option<DoorCommand> {
    h.door_commands_received().last().map(|c| c.1)
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + T;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_phone_at_the_gate_is_seen_answered_and_released() {
    let doors =
        [controller("door-entrance"), controller("door-pb1"), controller("door-pb2"), controller("door-gy1")];
    let lockers =
        LockBoardSim::start_tcp("127.0.0.1:0".parse().unwrap(), vec![SimBoardConfig::new(1, 24)]).unwrap();
    let io = ModbusSim::start("127.0.0.1:0".parse().unwrap(), 1, 16).unwrap();

    let ws = Workstation::new();
    let venue_file = ws.demo_venue_file(
        &[
            ("127.0.0.1:18081", doors[0].addr()),
            ("127.0.0.1:18082", doors[1].addr()),
            ("127.0.0.1:18083", doors[2].addr()),
            ("127.0.0.1:18084", doors[3].addr()),
            ("127.0.0.1:18485", lockers.addr().unwrap()),
            ("127.0.0.1:18502", io.addr()),
        ],
        "\n[gate]\nrelease_debounce_ms = 100\nclear_after_quiet_seconds = 1\n",
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let config = venue_desk::config::load(&venue_file, &ws.data_dir()).unwrap();
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        seed_operators(&s, &[(DESK, "前台李明", Role::FrontDesk, PASSWORD)]).await;
        s.store.close().await;
    });

    let app = RunningApp::launch(&ws, "gate");
    let s = &app.session;
    s.wait("[data-testid=login-username]", Duration::from_secs(60)).unwrap();
    s.fill("[data-testid=login-username]", DESK).unwrap();
    s.fill("[data-testid=login-password]", &format!("{PASSWORD}{ENTER}")).unwrap();
    s.wait("[data-testid=home-front_desk]", T).unwrap();
    wait_for("entrance on card control", || last_command(&doors[0]) == Some(DoorCommand::Normal));
    s.click("[data-testid=nav-alarms]").unwrap();
    s.wait("[data-testid=gate-card-gate-entrance][data-phase=normal]", T).unwrap();
    app.shot("01-gate-quiet");

    // A phone at the gate: the door is held and the desk sees (and would hear) it.
    io.set_input(0, true);
    wait_for("hold-closed command", || last_command(&doors[0]) == Some(DoorCommand::AlwaysClose));
    s.wait("[data-testid=alarm-banner]", T).unwrap();
    s.wait("[data-testid=gate-card-gate-entrance][data-phase=alarm]", T).unwrap();
    s.wait("[data-testid=gate-door-mode-gate-entrance][data-mode=heldClosed]", T).unwrap();
    app.shot("02-phone-detected");

    // The desk answers it with a note.
    s.execute("document.querySelector('[data-testid^=alarm-ack-]').click()").unwrap();
    s.wait("[data-testid=alarm-ack-note]", T).unwrap();
    s.fill("[data-testid=alarm-ack-note] input, input[data-testid=alarm-ack-note], [data-testid=alarm-ack-note] textarea", "已引导专家将手机存入储物柜")
        .or_else(|_| s.fill("[data-testid=alarm-ack-note]", "已引导专家将手机存入储物柜"))
        .unwrap();
    s.click("[data-testid=alarm-ack-submit]").unwrap();
    let gone = Instant::now() + T;
    while s.find("[data-testid=alarm-banner]").is_ok() {
        assert!(Instant::now() < gone, "banner still shown after the answer");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The person leaves the phone and walks through again: quiet, then back to card control.
    io.set_input(0, false);
    wait_for("door back to normal", || last_command(&doors[0]) == Some(DoorCommand::Normal));
    s.wait("[data-testid=gate-card-gate-entrance][data-phase=normal]", T).unwrap();
    app.shot("03-answered-and-normal");

    // Fire: every door of the evaluation area is released and the emergency is on screen.
    io.set_input(1, true);
    wait_for("every area door released", || {
        doors.iter().all(|d| last_command(d) == Some(DoorCommand::AlwaysOpen))
    });
    s.wait("[data-testid=emergency-banner]", T).unwrap();
    s.wait("[data-testid=alarm-banner]", T).unwrap();
    app.shot("04-fire-release");
}
