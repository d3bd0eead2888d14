//! The Hikvision ISAPI driver against the ISAPI simulator, over real sockets on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use tokio::sync::mpsc::UnboundedReceiver;
use venue_desk::devices::hik_isapi::{
    IsapiController, IsapiSettings, WatchEvent, WatchHandle, WatchOptions, watch,
};
use venue_desk::devices::{AccessPerson, DoorCommand, DoorController};
use venue_desk::error::{ErrorKind, Locale};
use venue_desk::sim::isapi::{IsapiFault, IsapiSim, IsapiSimConfig, IsapiSimHandle};

const PASSWORD: &str = "Sim-Passw0rd";

fn sim_with(heartbeat_ms: u64) -> IsapiSimHandle {
    IsapiSim::start(
        "127.0.0.1:0".parse().unwrap(),
        IsapiSimConfig {
            username: "admin".into(),
            password: PASSWORD.into(),
            device_name: "Hall A & B entrance".into(),
            serial_number: "DS-K2604T0123456789".into(),
            doors: 4,
            heartbeat_ms,
        },
    )
    .unwrap()
}

fn sim() -> IsapiSimHandle {
    sim_with(500)
}

fn settings(sim: &IsapiSimHandle, password: &str, timeout_ms: u64) -> IsapiSettings {
    IsapiSettings {
        base_url: format!("http://{}", sim.addr()),
        username: "admin".into(),
        password: password.into(),
        basic_auth: false,
        timeout_ms,
    }
}

fn driver(sim: &IsapiSimHandle) -> IsapiController {
    IsapiController::new(settings(sim, PASSWORD, 3_000))
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn person(no: &str, from: &str, until: &str, doors: &[u32]) -> AccessPerson {
    AccessPerson {
        employee_no: no.into(),
        name: format!("评标室 {no}"),
        valid_from: at(from),
        valid_until: at(until),
        door_nos: doors.to_vec(),
    }
}

fn en(e: &venue_desk::error::Error) -> String {
    e.message_in(Locale::En).to_string()
}

fn cst_now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn device_info_is_read_from_xml() {
    let sim = sim();
    let info = driver(&sim).device_info().unwrap();
    assert_eq!(info.name, "Hall A & B entrance");
    assert_eq!(info.serial_number, "DS-K2604T0123456789");
    assert_eq!(info.model, "DS-K2604T");
    assert_eq!(info.firmware_version, "V2.2.0");
}

#[test]
fn basic_auth_works_when_configured() {
    let sim = sim();
    let mut s = settings(&sim, PASSWORD, 3_000);
    s.basic_auth = true;
    assert_eq!(IsapiController::new(s).device_info().unwrap().model, "DS-K2604T");
}

#[test]
fn door_commands_come_from_the_capabilities() {
    let sim = sim();
    // The simulator advertises `remainOpen` (older firmware) and an unrelated intercom command.
    let cmds = driver(&sim).door_commands().unwrap();
    assert_eq!(
        cmds,
        vec![
            DoorCommand::Open,
            DoorCommand::Close,
            DoorCommand::AlwaysOpen,
            DoorCommand::AlwaysClose,
            DoorCommand::Normal
        ]
    );
}

#[test]
fn door_control_reaches_the_controller() {
    let sim = sim();
    let d = driver(&sim);
    d.control_door(1, DoorCommand::Open).unwrap();
    d.control_door(2, DoorCommand::AlwaysOpen).unwrap();
    d.control_door(2, DoorCommand::Normal).unwrap();
    let e = d.control_door(9, DoorCommand::Open).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{}", en(&e));
    let e = d.control_door(0, DoorCommand::Open).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert_eq!(
        sim.door_commands_received(),
        vec![(1, DoorCommand::Open), (2, DoorCommand::AlwaysOpen), (2, DoorCommand::Normal)]
    );
    assert_eq!(sim.door_state(2), Some(DoorCommand::Normal));
}

#[test]
fn upsert_twice_leaves_one_person_with_the_new_window() {
    let sim = sim();
    let d = driver(&sim);
    d.upsert_person(&person("vd-1", "2026-03-01T08:30:00", "2026-03-01T18:00:00", &[1])).unwrap();
    let changed = person("vd-1", "2026-03-02T07:45:00", "2026-03-02T12:15:30", &[2, 1]);
    d.upsert_person(&changed).unwrap();

    let stored = sim.persons();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].employee_no, "vd-1");
    assert_eq!(stored[0].name, "评标室 vd-1");
    assert_eq!(stored[0].valid_from, at("2026-03-02T07:45:00"));
    assert_eq!(stored[0].valid_until, at("2026-03-02T12:15:30"));
    assert_eq!(stored[0].door_nos, vec![1, 2]);

    let listed = d.list_persons().unwrap();
    assert_eq!(listed, vec![AccessPerson { door_nos: vec![1, 2], ..changed }]);
}

#[test]
fn upsert_refuses_bad_persons_before_sending() {
    let sim = sim();
    let d = driver(&sim);
    let backwards = person("vd-2", "2026-03-02T12:00:00", "2026-03-02T08:00:00", &[1]);
    assert_eq!(d.upsert_person(&backwards).unwrap_err().kind, ErrorKind::InvalidArgument);
    let blank = person("", "2026-03-02T08:00:00", "2026-03-02T12:00:00", &[1]);
    assert_eq!(d.upsert_person(&blank).unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(sim.requests_received(), 0);
}

#[test]
fn delete_is_idempotent() {
    let sim = sim();
    let d = driver(&sim);
    d.upsert_person(&person("vd-7", "2026-03-01T08:30:00", "2026-03-01T18:00:00", &[1])).unwrap();
    d.upsert_person(&person("vd-8", "2026-03-01T08:30:00", "2026-03-01T18:00:00", &[1])).unwrap();
    d.delete_person("vd-7").unwrap();
    d.delete_person("vd-7").unwrap();
    d.delete_person("vd-never-existed").unwrap();
    let left: Vec<String> = sim.persons().into_iter().map(|p| p.employee_no).collect();
    assert_eq!(left, vec!["vd-8".to_string()]);
}

#[test]
fn listing_pages_through_more_than_thirty_persons() {
    let sim = sim();
    let d = driver(&sim);
    for i in 0..67 {
        let doors: &[u32] = if i % 2 == 0 { &[1] } else { &[1, 3] };
        d.upsert_person(&person(&format!("vd-{i:03}"), "2026-03-01T08:00:00", "2026-03-01T20:00:00", doors))
            .unwrap();
    }
    let mut listed = d.list_persons().unwrap();
    assert_eq!(listed.len(), 67);
    listed.sort_by(|a, b| a.employee_no.cmp(&b.employee_no));
    for (i, p) in listed.iter().enumerate() {
        assert_eq!(p.employee_no, format!("vd-{i:03}"));
        assert_eq!(p.door_nos, if i % 2 == 0 { vec![1] } else { vec![1, 3] });
        assert_eq!(p.valid_until, at("2026-03-01T20:00:00"));
    }
    // And an empty controller lists nothing.
    assert!(driver(&sim_with(500)).list_persons().unwrap().is_empty());
}

#[test]
fn cards_bind_once_and_bad_numbers_never_leave_the_driver() {
    let sim = sim();
    let d = driver(&sim);
    d.upsert_person(&person("vd-1", "2026-03-01T08:00:00", "2026-03-01T20:00:00", &[1])).unwrap();
    d.upsert_person(&person("vd-2", "2026-03-01T08:00:00", "2026-03-01T20:00:00", &[1])).unwrap();
    d.add_card("vd-1", "A-1001").unwrap();
    d.add_card("vd-1", "A-1001").unwrap();
    d.add_card("vd-1", "12345678901234567890").unwrap();
    let e = d.add_card("vd-2", "A-1001").unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{}", en(&e));
    assert!(en(&e).contains("vd-1"), "{}", en(&e));

    let cards = |no: &str| sim.persons().into_iter().find(|p| p.employee_no == no).unwrap().cards;
    assert_eq!(cards("vd-1"), vec!["A-1001".to_string(), "12345678901234567890".to_string()]);
    assert!(cards("vd-2").is_empty());

    // Validation happens before any request: against a dead port the answer is still
    // INVALID_ARGUMENT, not UNAVAILABLE.
    let nowhere = IsapiController::new(IsapiSettings {
        base_url: format!("http://127.0.0.1:{}", dead_port()),
        username: "admin".into(),
        password: PASSWORD.into(),
        basic_auth: false,
        timeout_ms: 500,
    });
    for bad in ["123456789012345678901", "12 34", "", "卡号1", "A_1"] {
        let e = nowhere.add_card("vd-1", bad).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad}: {}", en(&e));
        assert_eq!(nowhere.delete_card(bad).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
    let before = sim.requests_received();
    assert_eq!(d.add_card("vd-1", "123456789012345678901").unwrap_err().kind, ErrorKind::InvalidArgument);
    assert_eq!(sim.requests_received(), before);

    d.delete_card("A-1001").unwrap();
    d.delete_card("A-1001").unwrap();
    assert_eq!(cards("vd-1"), vec!["12345678901234567890".to_string()]);
    // Deleting the person removes its cards with it.
    d.delete_person("vd-1").unwrap();
    d.add_card("vd-2", "12345678901234567890").unwrap();
    assert_eq!(cards("vd-2"), vec!["12345678901234567890".to_string()]);
}

#[test]
fn wrong_password_fails_fast_without_retrying() {
    let sim = sim();
    let d = IsapiController::new(settings(&sim, "not-the-password", 3_000));
    let started = Instant::now();
    let e = d.device_info().unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition, "{}", en(&e));
    assert!(en(&e).contains("rejected the credentials"), "{}", en(&e));
    assert!(en(&e).contains(&sim.addr().to_string()), "{}", en(&e));
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    // One request for the challenge, one answer to it: no loop.
    assert_eq!(sim.requests_received(), 2);
    let _ = d.list_persons().unwrap_err();
    assert!(sim.requests_received() <= 5, "{}", sim.requests_received());
}

#[test]
fn digest_challenge_is_reused_across_requests() {
    let sim = sim();
    let d = driver(&sim);
    d.device_info().unwrap();
    assert_eq!(sim.requests_received(), 2);
    d.device_info().unwrap();
    d.door_commands().unwrap();
    // The cached nonce with an increasing nc saves the 401 round trip.
    assert_eq!(sim.requests_received(), 4);
}

#[test]
fn a_stale_nonce_is_answered_once_more_without_an_error() {
    let sim = sim();
    let d = driver(&sim);
    d.device_info().unwrap();
    sim.expire_nonces();
    assert_eq!(d.device_info().unwrap().model, "DS-K2604T");
    // 2 for the first call; then the stale answer and its retry.
    assert_eq!(sim.requests_received(), 4);
}

#[test]
fn offline_controller_is_unavailable_within_the_timeout_and_comes_back() {
    let sim = sim();
    let d = IsapiController::new(settings(&sim, PASSWORD, 1_500));
    d.device_info().unwrap();
    sim.set_fault(IsapiFault::Offline);
    let started = Instant::now();
    let e = d.device_info().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{}", en(&e));
    assert!(started.elapsed() < Duration::from_millis(1_700), "took {:?}", started.elapsed());
    let addr = sim.addr().to_string();
    assert!(
        e.message_in(Locale::ZhCn).contains(&format!("门禁控制器 {addr} 无响应")),
        "{}",
        e.message_in(Locale::ZhCn)
    );
    assert!(en(&e).contains(&addr));

    sim.set_fault(IsapiFault::None);
    assert_eq!(d.device_info().unwrap().model, "DS-K2604T");
}

#[test]
fn slow_controller_beyond_the_timeout_is_unavailable() {
    let sim = sim();
    sim.set_fault(IsapiFault::SlowMs(2_000));
    let d = IsapiController::new(settings(&sim, PASSWORD, 400));
    let started = Instant::now();
    let e = d.device_info().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{}", en(&e));
    assert!(started.elapsed() < Duration::from_millis(1_000), "took {:?}", started.elapsed());

    sim.set_fault(IsapiFault::SlowMs(50));
    let patient = IsapiController::new(settings(&sim, PASSWORD, 3_000));
    assert_eq!(patient.device_info().unwrap().model, "DS-K2604T");
}

#[test]
fn rejected_records_name_the_sub_status() {
    let sim = sim();
    let d = driver(&sim);
    d.upsert_person(&person("vd-1", "2026-03-01T08:00:00", "2026-03-01T20:00:00", &[1])).unwrap();
    sim.set_fault(IsapiFault::RejectRecords { sub_status_code: "deviceMemoryFull".into() });
    let e = d.upsert_person(&person("vd-2", "2026-03-01T08:00:00", "2026-03-01T20:00:00", &[1])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition, "{}", en(&e));
    assert!(en(&e).contains("deviceMemoryFull"), "{}", en(&e));
    assert!(e.message_in(Locale::ZhCn).contains("deviceMemoryFull"));
    let e = d.add_card("vd-1", "C-1").unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition);
    assert!(en(&e).contains("deviceMemoryFull"), "{}", en(&e));
    assert_eq!(sim.persons().len(), 1);
}

#[test]
fn unreachable_address_is_unavailable() {
    let d = IsapiController::new(IsapiSettings {
        base_url: format!("http://127.0.0.1:{}", dead_port()),
        username: "admin".into(),
        password: "x".into(),
        basic_auth: false,
        timeout_ms: 1_000,
    });
    let e = d.device_info().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    let bad = IsapiController::new(IsapiSettings {
        base_url: "https://10.0.0.1".into(),
        username: "admin".into(),
        password: "x".into(),
        basic_auth: false,
        timeout_ms: 1_000,
    });
    assert_eq!(bad.device_info().unwrap_err().kind, ErrorKind::InvalidArgument);
}

#[test]
fn event_history_is_sorted_and_deduplicated_across_pages() {
    let sim = sim();
    let d = driver(&sim);
    d.upsert_person(&person("vd-1", "2026-03-01T08:00:00", "2026-03-01T20:00:00", &[1])).unwrap();
    d.add_card("vd-1", "A-77").unwrap();
    let mut pushed = Vec::new();
    for i in 0..70u32 {
        let minor = [0x01, 0x06, 0x1b, 0x4b][i as usize % 4];
        let who = if i % 3 == 0 { Some("vd-1") } else { None };
        pushed.push(sim.push_access_event(minor, who, 1 + i % 2));
    }
    let now = cst_now();
    let got = d.events_between(now - chrono::Duration::hours(1), now + chrono::Duration::hours(1)).unwrap();
    let serials: Vec<u64> = got.iter().map(|e| e.serial_no).collect();
    assert_eq!(serials, pushed);
    assert!(serials.windows(2).all(|w| w[0] < w[1]));
    let first = &got[0];
    assert_eq!((first.major, first.minor), (5, 0x01));
    assert_eq!(first.employee_no.as_deref(), Some("vd-1"));
    assert_eq!(first.card_no.as_deref(), Some("A-77"));
    assert_eq!(first.door_no, Some(1));
    assert_eq!(first.card_reader_no, Some(1));
    assert_eq!(got[1].employee_no, None);
    assert_eq!(got[1].card_reader_no, Some(2));
    assert_eq!(got[2].minor, 0x1b);

    // Outside the window: nothing. A window in another offset covering the same instants: all.
    let later = d.events_between(now + chrono::Duration::hours(1), now + chrono::Duration::hours(2)).unwrap();
    assert!(later.is_empty());
    let utc = FixedOffset::east_opt(0).unwrap();
    let same = d
        .events_between(
            (now - chrono::Duration::hours(1)).with_timezone(&utc),
            (now + chrono::Duration::hours(1)).with_timezone(&utc),
        )
        .unwrap();
    assert_eq!(same.len(), 70);
    assert_eq!(
        d.events_between(now, now - chrono::Duration::hours(1)).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
}

/// A one-answer-fits-all HTTP server, for replies the simulator never gives.
fn raw_server(reply: &'static [u8]) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in l.incoming().take(8) {
            let Ok(mut c) = conn else { return };
            let mut head = Vec::new();
            let mut b = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&b[..n]),
                }
            }
            let _ = c.write_all(reply);
        }
    });
    addr
}

fn raw_driver(addr: SocketAddr) -> IsapiController {
    IsapiController::new(IsapiSettings {
        base_url: format!("http://{addr}"),
        username: "admin".into(),
        password: "x".into(),
        basic_auth: false,
        timeout_ms: 1_000,
    })
}

#[test]
fn answers_that_are_not_isapi_are_reported_as_such() {
    for reply in [
        &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"a\":1}  ",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n\x00\xff\xfe<<<",
    ] {
        let e = raw_driver(raw_server(reply)).device_info().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{}", en(&e));
        assert!(en(&e).contains("not ISAPI"), "{}", en(&e));
    }
    // A connection closed without an answer is a controller that does not respond.
    let e = raw_driver(raw_server(b"")).device_info().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(en(&e).contains("does not respond"), "{}", en(&e));
    // Errors in XML ResponseStatus, with the sub status named.
    let e = raw_driver(raw_server(
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n\
          <ResponseStatus><statusCode>4</statusCode><statusString>Invalid Operation</statusString>\
          <subStatusCode>notSupport</subStatusCode></ResponseStatus>",
    ))
    .control_door(1, DoorCommand::Open)
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FailedPrecondition, "{}", en(&e));
    assert!(en(&e).contains("notSupport"), "{}", en(&e));
}

#[test]
fn chunked_answers_are_read() {
    let info = raw_driver(raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n\
          10\r\n<DeviceInfo><dev\r\n\
          29\r\niceName>Gate</deviceName><model>M</model>\r\n\
          F\r\n</DeviceInfo>\r\n\r\n\
          0\r\n\r\n",
    ))
    .device_info()
    .unwrap();
    assert_eq!((info.name.as_str(), info.model.as_str()), ("Gate", "M"));
}

fn next_event(rx: &mut UnboundedReceiver<WatchEvent>, within: Duration) -> Option<WatchEvent> {
    let until = Instant::now() + within;
    loop {
        match rx.try_recv() {
            Ok(ev) => return Some(ev),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return None,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                if Instant::now() >= until {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn expect_connected(rx: &mut UnboundedReceiver<WatchEvent>, within: Duration) {
    match next_event(rx, within) {
        Some(WatchEvent::Connected) => {}
        other => panic!("expected Connected, got {other:?}"),
    }
}

fn start_watch(
    sim: &IsapiSimHandle,
    silence_timeout_ms: u64,
    since: Option<DateTime<FixedOffset>>,
) -> (WatchHandle, UnboundedReceiver<WatchEvent>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let h = watch(
        settings(sim, PASSWORD, 2_000),
        WatchOptions { silence_timeout_ms, reconnect_backoff_ms: 100 },
        since,
        tx,
    );
    (h, rx)
}

/// Access serials received until `last` arrives, then a quiet period to catch duplicates.
fn access_until(
    rx: &mut UnboundedReceiver<WatchEvent>,
    last: u64,
    within: Duration,
) -> (Vec<u64>, Vec<WatchEvent>) {
    let until = Instant::now() + within;
    let mut serials = Vec::new();
    let mut others = Vec::new();
    while let Some(ev) = next_event(rx, until.saturating_duration_since(Instant::now())) {
        match ev {
            WatchEvent::Access(a) => {
                let done = a.serial_no == last;
                serials.push(a.serial_no);
                if done {
                    break;
                }
            }
            other => others.push(other),
        }
    }
    while let Some(ev) = next_event(rx, Duration::from_millis(700)) {
        match ev {
            WatchEvent::Access(a) => serials.push(a.serial_no),
            other => others.push(other),
        }
    }
    (serials, others)
}

#[test]
fn watch_delivers_live_events_once_and_alarm_inputs() {
    let sim = sim();
    let (mut h, mut rx) = start_watch(&sim, 1_500, None);
    expect_connected(&mut rx, Duration::from_secs(3));
    let a = sim.push_access_event(0x01, None, 1);
    let b = sim.push_access_event(0x1b, None, 1);
    sim.push_alarm_input(2, true);
    let c = sim.push_access_event(0x1c, None, 2);
    let mut alarms = Vec::new();
    let mut access = Vec::new();
    let until = Instant::now() + Duration::from_secs(3);
    while access.len() < 3 && Instant::now() < until {
        match next_event(&mut rx, Duration::from_millis(100)) {
            Some(WatchEvent::Access(e)) => access.push(e),
            Some(WatchEvent::AlarmInput { input_no, active, .. }) => alarms.push((input_no, active)),
            Some(other) => panic!("unexpected {other:?}"),
            None => {}
        }
    }
    assert_eq!(access.iter().map(|e| e.serial_no).collect::<Vec<_>>(), vec![a, b, c]);
    assert_eq!(access[1].minor, 0x1b);
    assert_eq!(access[2].card_reader_no, Some(2));
    assert_eq!(alarms, vec![(2, true)]);
    // Heartbeats (every 500 ms here) keep the stream alive and produce nothing.
    assert_eq!(next_event(&mut rx, Duration::from_millis(2_000)), None);

    let started = Instant::now();
    h.stop();
    assert!(started.elapsed() < Duration::from_millis(1_200), "stop took {:?}", started.elapsed());
    assert!(h.is_finished());
    // The thread is gone: the channel closes.
    assert_eq!(next_event(&mut rx, Duration::from_millis(500)), None);
    assert!(rx.is_closed());
}

#[test]
fn watch_catches_up_exactly_once_after_going_offline() {
    let sim = sim();
    let (_h, mut rx) = start_watch(&sim, 1_500, None);
    expect_connected(&mut rx, Duration::from_secs(3));
    let a = sim.push_access_event(0x01, None, 1);
    let (serials, _) = access_until(&mut rx, a, Duration::from_secs(3));
    assert_eq!(serials, vec![a]);

    sim.set_fault(IsapiFault::Offline);
    match next_event(&mut rx, Duration::from_secs(3)) {
        Some(WatchEvent::Disconnected { reason }) => assert!(!reason.is_empty()),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let b = sim.push_access_event(0x06, None, 1);
    let c = sim.push_access_event(0x1b, None, 1);
    std::thread::sleep(Duration::from_millis(300));
    sim.set_fault(IsapiFault::None);
    expect_connected(&mut rx, Duration::from_secs(4));
    let d = sim.push_access_event(0x01, None, 2);
    let (serials, others) = access_until(&mut rx, d, Duration::from_secs(4));
    assert_eq!(serials, vec![b, c, d], "others: {others:?}");
    assert!(others.is_empty(), "{others:?}");
}

#[test]
fn watch_reconnects_after_a_dropped_stream() {
    let sim = sim();
    let (_h, mut rx) = start_watch(&sim, 1_500, None);
    expect_connected(&mut rx, Duration::from_secs(3));
    let a = sim.push_access_event(0x01, None, 1);
    sim.set_fault(IsapiFault::DropAlertStreams);
    let mut seen = Vec::new();
    let mut order = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until && !order.contains(&"connected") {
        match next_event(&mut rx, Duration::from_millis(100)) {
            Some(WatchEvent::Access(e)) => seen.push(e.serial_no),
            Some(WatchEvent::Disconnected { .. }) => order.push("disconnected"),
            Some(WatchEvent::Connected) => order.push("connected"),
            _ => {}
        }
    }
    assert_eq!(order, vec!["disconnected", "connected"]);
    let b = sim.push_access_event(0x01, None, 1);
    let (more, _) = access_until(&mut rx, b, Duration::from_secs(3));
    seen.extend(more);
    assert_eq!(seen, vec![a, b]);
}

#[test]
fn watch_reconnects_when_the_stream_goes_silent() {
    // Heartbeats far apart: the watcher must give up on the silent stream and reconnect.
    let sim = sim_with(60_000);
    let (_h, mut rx) = start_watch(&sim, 700, None);
    expect_connected(&mut rx, Duration::from_secs(3));
    let started = Instant::now();
    match next_event(&mut rx, Duration::from_secs(3)) {
        Some(WatchEvent::Disconnected { reason }) => assert!(!reason.is_empty()),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(600), "{:?}", started.elapsed());
    expect_connected(&mut rx, Duration::from_secs(3));
}

#[test]
fn watch_catches_up_from_since_on_first_connection() {
    let sim = sim();
    let earlier = sim.push_access_event(0x01, None, 1);
    let since = cst_now() - chrono::Duration::minutes(5);
    let (_h, mut rx) = start_watch(&sim, 1_500, Some(since));
    expect_connected(&mut rx, Duration::from_secs(3));
    let live = sim.push_access_event(0x01, None, 1);
    let (serials, _) = access_until(&mut rx, live, Duration::from_secs(3));
    assert_eq!(serials, vec![earlier, live]);
}

#[test]
fn watch_with_wrong_password_reports_disconnected_once() {
    let sim = sim();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut h = watch(
        settings(&sim, "wrong", 2_000),
        WatchOptions { silence_timeout_ms: 1_500, reconnect_backoff_ms: 100 },
        None,
        tx,
    );
    match next_event(&mut rx, Duration::from_secs(3)) {
        Some(WatchEvent::Disconnected { reason }) => assert!(!reason.is_empty()),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(next_event(&mut rx, Duration::from_millis(800)), None);
    // Credentials that will not fix themselves are not hammered.
    assert!(sim.requests_received() <= 4, "{}", sim.requests_received());
    h.stop();
}
