//! 通讯检测门联动 through the services with the real drivers against the simulators: a phone at the
//! gate holds the entrance, staff answer the alarm, the door returns to normal; open once; the fire
//! alarm releases every door until an administrator restores; door and device alarms.

use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use venue_desk::alerts::views::*;
use venue_desk::devices::DoorCommand;
use venue_desk::error::ErrorKind;
use venue_desk::sim::isapi::IsapiFault;
use venue_desk::sim::modbus::{ModbusFault, ModbusSim, ModbusSimHandle};
use venue_desk::store::journal::JournalQuery;
use venue_desk_tests::fixture::Venue;
use venue_desk_tests::sims::*;

const NOW: &str = "2026-11-23T01:00:00Z";
const GATE: &str = "gate-entrance";
const FIRE: &str = "fire-panel";

struct GateVenue {
    sims: SimVenue,
    io: ModbusSimHandle,
    v: Venue,
}

async fn gate_venue() -> GateVenue {
    let sims = SimVenue::start();
    let io = ModbusSim::start("127.0.0.1:0".parse().unwrap(), 1, 16).unwrap();
    let addr = io.addr().to_string();
    let v = Venue::open_with(
        |c| {
            sims.patch(c);
            for d in c.devices.iter_mut().filter(|d| d.id == GATE || d.id == FIRE) {
                d.address = addr.clone();
            }
            c.gate.release_debounce_ms = 100;
            c.gate.clear_after_quiet_seconds = 5;
            c.gate.override_seconds = 3;
        },
        NOW,
    )
    .await;
    sims.enrol_passwords(&v.services);
    v.services.start_background().await;
    GateVenue { sims, io, v }
}

fn caller(role: venue_desk::domain::operator::Role) -> venue_desk::auth::Caller {
    use venue_desk::domain::operator::Role;
    match role {
        Role::Administrator => {
            venue_desk::auth::Caller { operator_id: 1, username: "op.administrator".into(), role }
        }
        Role::Supervisor => supervisor(),
        _ => front_desk(),
    }
}

/// Waits (real time) until `f` holds.
async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(8);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn commands(h: &venue_desk::sim::isapi::IsapiSimHandle) -> Vec<DoorCommand> {
    h.door_commands_received().into_iter().map(|(_, c)| c).collect()
}

async fn gate(g: &GateVenue) -> GateView {
    g.v.services.gates.status().await.unwrap().into_iter().find(|x| x.gate_id == GATE).unwrap()
}

async fn open_alarms(g: &GateVenue) -> Vec<AlarmView> {
    g.v.services.alarms.list(&AlarmFilter { open_only: true, limit: None }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_at_the_gate_holds_the_door_until_quiet_and_answered() {
    let g = gate_venue().await;
    let s = &g.v.services;
    // At start the entrance is put on card control and confirmed.
    until("door normal at start", async || commands(&g.sims.entrance).contains(&DoorCommand::Normal)).await;
    until("gate quiet", async || gate(&g).await.input_active == Some(false)).await;
    // The simulator has the command a moment before the app has its answer.
    until("normal confirmed", async || gate(&g).await.door_mode == Some(DoorMode::Normal)).await;

    g.io.set_input(0, true);
    until("door held closed", async || commands(&g.sims.entrance).contains(&DoorCommand::AlwaysClose)).await;
    until("alarm raised", async || !open_alarms(&g).await.is_empty()).await;
    let view = gate(&g).await;
    assert_eq!(
        (view.phase, view.door_mode, view.input_active),
        (GatePhase::Alarm, Some(DoorMode::HeldClosed), Some(true))
    );
    let alarm = &open_alarms(&g).await[0];
    assert_eq!(
        (alarm.kind, alarm.severity, alarm.state),
        (AlarmKind::GateDetection, Severity::Major, AlarmState::Raised)
    );
    assert_eq!(view.alarm_id, Some(alarm.id));
    assert!(alarm.message.contains("储物柜") || alarm.message.contains("locker"));

    // Answered (a note is required, and only once).
    assert_eq!(
        s.gates.acknowledge_alarm(&front_desk(), alarm.id, "").await.unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    let acked = s.gates.acknowledge_alarm(&front_desk(), alarm.id, "已引导存放手机").await.unwrap();
    assert_eq!(acked.state, AlarmState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("op.front-desk"));
    let twice = s.gates.acknowledge_alarm(&supervisor(), alarm.id, "再次确认").await.unwrap_err();
    assert_eq!(twice.kind, ErrorKind::FailedPrecondition);

    // Quiet: still held until the quiet time has passed (venue clock), then normal again.
    g.io.set_input(0, false);
    until("input read quiet", async || {
        g.v.clock.advance(ChronoDuration::milliseconds(50));
        gate(&g).await.phase == GatePhase::Clearing
    })
    .await;
    assert_eq!(gate(&g).await.door_mode, Some(DoorMode::HeldClosed));
    g.v.clock.advance(ChronoDuration::seconds(6));
    until("back to normal", async || gate(&g).await.phase == GatePhase::Normal).await;
    until("door normal again", async || {
        commands(&g.sims.entrance).last() == Some(&DoorCommand::Normal)
            && gate(&g).await.door_mode == Some(DoorMode::Normal)
    })
    .await;
    // The door goes first; the alarm's record follows.
    until("alarm cleared", async || s.alarms.alarm(alarm.id).await.unwrap().state == AlarmState::Cleared)
        .await;
    for kind in ["alarm.raised", "alarm.acknowledged", "alarm.cleared", "door.mode"] {
        let rows = s
            .journal
            .query(&JournalQuery { kind: Some(kind.into()), limit: 10, ..Default::default() })
            .await
            .unwrap()
            .0;
        assert!(!rows.is_empty(), "{kind} journaled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_once_lets_one_person_through_with_a_reason() {
    let g = gate_venue().await;
    let s = &g.v.services;
    until("gate quiet", async || gate(&g).await.input_active == Some(false)).await;
    assert!(
        s.gates.open_once(&front_desk(), GATE, "工作人员").await.is_err(),
        "no alarm, nothing to override"
    );
    g.io.set_input(0, true);
    until("alarm", async || gate(&g).await.phase == GatePhase::Alarm).await;
    assert_eq!(
        s.gates.open_once(&front_desk(), GATE, "").await.unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    let view = s.gates.open_once(&front_desk(), GATE, "工作人员携带对讲机进入维修").await.unwrap();
    assert_eq!(view.phase, GatePhase::OverrideOnce);
    until("door pulsed open", async || commands(&g.sims.entrance).contains(&DoorCommand::Open)).await;
    // The override ends by itself and the door is held again.
    g.v.clock.advance(ChronoDuration::seconds(4));
    until("held again", async || {
        let v = gate(&g).await;
        v.phase == GatePhase::Alarm && v.door_mode == Some(DoorMode::HeldClosed)
    })
    .await;
    let rows = s
        .journal
        .query(&JournalQuery { kind: Some("gate.open_once".into()), limit: 10, ..Default::default() })
        .await
        .unwrap()
        .0;
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fire_alarm_releases_every_door_until_an_administrator_restores() {
    use venue_desk::domain::operator::Role;
    let g = gate_venue().await;
    let s = &g.v.services;
    until("gate quiet", async || gate(&g).await.input_active == Some(false)).await;
    g.io.set_input(1, true);
    until("all area doors released", async || {
        [&g.sims.entrance, &g.sims.room_door, &g.sims.others[0].1, &g.sims.others[1].1]
            .iter()
            .all(|h| commands(h).contains(&DoorCommand::AlwaysOpen))
    })
    .await;
    until("emergency", async || gate(&g).await.phase == GatePhase::Emergency).await;
    // The doors go first; the alarm record follows.
    until("fire alarm raised", async || open_alarms(&g).await.iter().any(|a| a.kind == AlarmKind::FireAlarm))
        .await;
    let fire = open_alarms(&g).await.into_iter().find(|a| a.kind == AlarmKind::FireAlarm).unwrap();
    assert_eq!(fire.severity, Severity::Critical);
    // A phone at the gate does not lock anyone in.
    g.io.set_input(0, true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!commands(&g.sims.entrance).contains(&DoorCommand::AlwaysClose));

    // Not while the fire input is active; then only with a reason.
    assert_eq!(
        s.gates.restore(&caller(Role::Administrator), "火情已排除").await.unwrap_err().kind,
        ErrorKind::FailedPrecondition
    );
    g.io.set_input(1, false);
    g.io.set_input(0, false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gate(&g).await.phase, GatePhase::Emergency, "the input going quiet does not end it");
    assert!(s.gates.restore(&caller(Role::Administrator), "").await.is_err());
    g.v.clock.advance(ChronoDuration::seconds(1));
    until("input quiet again", async || {
        g.v.clock.advance(ChronoDuration::milliseconds(50));
        gate(&g).await.input_active == Some(false)
    })
    .await;
    s.gates.restore(&caller(Role::Administrator), "火情已排除，消防控制器已复位").await.unwrap();
    until("doors normal again", async || {
        [&g.sims.room_door, &g.sims.others[0].1]
            .iter()
            .all(|h| commands(h).last() == Some(&DoorCommand::Normal))
            && commands(&g.sims.entrance).last() == Some(&DoorCommand::Normal)
    })
    .await;
    for kind in ["emergency.release", "emergency.restored"] {
        let rows = s
            .journal
            .query(&JournalQuery { kind: Some(kind.into()), limit: 10, ..Default::default() })
            .await
            .unwrap()
            .0;
        assert_eq!(rows.len(), 1, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doors_forced_or_held_and_devices_offline_raise_alarms() {
    let g = gate_venue().await;
    let s = &g.v.services;
    until("gate quiet", async || gate(&g).await.input_active == Some(false)).await;
    // Forced open on the room's door, via its event stream.
    until("room door stream up", async || s.fleet.is_online(ROOM_DOOR)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    g.sims.room_door.push_access_event(0x1b, None, 1);
    until("forced alarm", async || open_alarms(&g).await.iter().any(|a| a.kind == AlarmKind::DoorForced))
        .await;
    let forced = open_alarms(&g).await.into_iter().find(|a| a.kind == AlarmKind::DoorForced).unwrap();
    assert_eq!(forced.room_id.as_deref(), Some("pb-1"));
    // Closed again, then answered: cleared.
    g.sims.room_door.push_access_event(0x1a, None, 1);
    until("cause gone", async || !s.alarms.alarm(forced.id).await.unwrap().active).await;
    let done = s.gates.acknowledge_alarm(&supervisor(), forced.id, "已到现场查看，门已关好").await.unwrap();
    assert_eq!(done.state, AlarmState::Cleared);

    // The I/O module drops off: a device alarm, and the door is not touched.
    let before = commands(&g.sims.entrance).len();
    g.io.set_fault(ModbusFault::Offline);
    until("offline alarm", async || {
        open_alarms(&g).await.iter().any(|a| a.kind == AlarmKind::DeviceOffline && a.source == GATE)
    })
    .await;
    assert_eq!(commands(&g.sims.entrance).len(), before);
    g.io.set_fault(ModbusFault::None);
    until("module back", async || s.fleet.is_online(GATE)).await;

    // A controller that refuses the hold: the state shown is unconfirmed, with the reason.
    g.sims.entrance.set_fault(IsapiFault::Offline);
    g.io.set_input(0, true);
    until("unconfirmed door", async || {
        let v = gate(&g).await;
        v.phase == GatePhase::Alarm && v.door_mode.is_none() && v.door_error.is_some()
    })
    .await;
    g.sims.entrance.set_fault(IsapiFault::None);
    until("retried and confirmed", async || gate(&g).await.door_mode == Some(DoorMode::HeldClosed)).await;

    // Sound: on a machine without audio the status says so instead of failing.
    let sound = s.alarms.sound_status();
    if !sound.available {
        assert!(sound.unavailable_reason.is_some_and(|r| !r.is_empty()));
    }
    assert!(s.alarms.mute(&front_desk(), 0, "午休").await.is_err());
    assert!(s.alarms.mute(&front_desk(), 10, "").await.is_err());
    let muted = s.alarms.mute(&front_desk(), 10, "现场已知晓").await.unwrap();
    assert!(muted.muted_until.is_some());
    assert!(s.alarms.unmute(&front_desk()).await.unwrap().muted_until.is_none());
}

/// The other wiring: the gate's relay on an alarm input of the entrance controller itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_wired_to_the_controllers_alarm_input_works_the_same() {
    let sims = SimVenue::start();
    let v = Venue::open_with(
        |c| {
            sims.patch(c);
            c.evaluation_area.gates = vec![ENTRANCE.into()];
            c.evaluation_area.fire_alarm = None;
            if let Some(d) = c.devices.iter_mut().find(|d| d.id == ENTRANCE) {
                d.input_address = Some(2);
            }
        },
        NOW,
    )
    .await;
    sims.enrol_passwords(&v.services);
    v.services.start_background().await;
    let s = &v.services;
    until("stream up", async || s.fleet.is_online(ENTRANCE)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Another input of the controller is not the gate.
    sims.entrance.push_alarm_input(1, true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.gates.status().await.unwrap()[0].phase, GatePhase::Normal);
    sims.entrance.push_alarm_input(2, true);
    until("held closed", async || commands(&sims.entrance).contains(&DoorCommand::AlwaysClose)).await;
    let view = s.gates.status().await.unwrap()[0].clone();
    assert_eq!((view.gate_id.as_str(), view.phase), (ENTRANCE, GatePhase::Alarm));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detection_that_lasts_keeps_the_door_held_without_flapping() {
    let g = gate_venue().await;
    until("door normal at start", async || commands(&g.sims.entrance).contains(&DoorCommand::Normal)).await;
    g.io.set_input(0, true);
    until("held", async || commands(&g.sims.entrance).contains(&DoorCommand::AlwaysClose)).await;
    // Real time passes with the input active and nobody answering: one hold, nothing else.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(commands(&g.sims.entrance), vec![DoorCommand::Normal, DoorCommand::AlwaysClose]);
}
