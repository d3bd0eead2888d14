//! The Modbus/TCP digital-input driver against the simulated module over real TCP on loopback:
//! inputs and their bit order, a person passing the gate, the beacon coil, every fault the
//! simulator can put on (each must fail with the right kind, within the timeout, and the same
//! driver must recover by itself), configuration mistakes, and arbitrary bytes from a module that
//! is not a module at all.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use venue_desk::devices::DigitalInputs;
use venue_desk::devices::modbus_di::{ModbusInputs, ModbusSettings};
use venue_desk::error::{ErrorKind, Locale, Result};
use venue_desk::sim::modbus::{ModbusFault, ModbusSim, ModbusSimHandle};

const UNIT: u8 = 1;
const TIMEOUT_MS: u64 = 200;

/// A failure must arrive within one connect and one request timeout, plus scheduling slack on a
/// loaded CI machine. This bounds hangs; it is not a performance assertion.
fn limit() -> Duration {
    Duration::from_millis(2 * TIMEOUT_MS + 1000)
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn driver_for(addr: SocketAddr, unit_id: u8) -> ModbusInputs {
    ModbusInputs::new(ModbusSettings { address: addr.to_string(), unit_id, timeout_ms: TIMEOUT_MS })
}

fn rig(inputs: u16) -> (ModbusSimHandle, ModbusInputs) {
    let sim = ModbusSim::start(local(), UNIT, inputs).expect("simulator starts");
    let driver = driver_for(sim.addr(), UNIT);
    (sim, driver)
}

/// Runs `f`, checks it finished within [`limit`], and returns its result and duration.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took <= limit(), "{what} took {took:?}, more than {:?}", limit());
    (out, took)
}

/// The error of `r`, checked to be of `kind`, with its English message.
fn failure<T: std::fmt::Debug>(r: Result<T>, kind: ErrorKind, ctx: &str) -> String {
    let e = r.expect_err(ctx);
    assert_eq!(e.kind, kind, "{ctx}: {e}");
    assert!(!e.message_in(Locale::ZhCn).is_empty(), "{ctx}: a Chinese message");
    e.message_in(Locale::En).to_owned()
}

fn assert_recovers(sim: &ModbusSimHandle, driver: &ModbusInputs, ctx: &str) {
    sim.set_fault(ModbusFault::None);
    sim.set_input(2, true);
    let (r, took) = timed(ctx, || driver.read_inputs(0, 4));
    assert_eq!(
        r.unwrap_or_else(|e| panic!("{ctx}: no recovery: {e}")),
        vec![false, false, true, false],
        "{ctx}"
    );
    println!("{ctx}: first read after the fault cleared took {took:?}");
    sim.set_input(2, false);
}

#[test]
fn reads_inputs_in_modbus_bit_order_across_bytes() {
    let (sim, driver) = rig(24);
    assert_eq!(driver.read_inputs(0, 24).unwrap(), vec![false; 24]);
    let on = [0u16, 7, 8, 15, 17, 23];
    for a in on {
        sim.set_input(a, true);
    }
    let want: Vec<bool> = (0..24).map(|a| on.contains(&a)).collect();
    assert_eq!(driver.read_inputs(0, 24).unwrap(), want);
    // Not starting on a byte boundary, and not a whole number of bytes.
    assert_eq!(driver.read_inputs(5, 12).unwrap(), want[5..17].to_vec());
    assert_eq!(driver.read_inputs(17, 1).unwrap(), vec![true]);
    assert_eq!(driver.read_inputs(16, 1).unwrap(), vec![false]);
    assert_eq!(sim.reads_received(), 5, "one request per read, no retries");
    assert!(driver.is_connected(), "the connection is kept between polls");
}

#[test]
fn a_person_passing_the_gate_is_seen_by_polling() {
    let (sim, driver) = rig(8);
    let gate = 3;
    sim.pulse(gate, 200);
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(2) {
        let level = driver.read_inputs(gate, 1).unwrap()[0];
        samples.push((start.elapsed(), level));
        if !level {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let on: Vec<_> = samples.iter().filter(|(_, l)| *l).collect();
    assert!(!on.is_empty(), "the pulse was seen: {samples:?}");
    assert_eq!(samples.last().map(|s| s.1), Some(false), "and it ended: {samples:?}");
    assert!(!sim.input(gate));
    println!(
        "pulse of 200 ms seen in {} polls, off after {:?}",
        on.len(),
        samples.last().map(|s| s.0).unwrap_or_default()
    );
}

#[test]
fn write_coil_drives_the_beacon() {
    let (sim, driver) = rig(8);
    driver.write_coil(4, true).unwrap();
    assert!(sim.coil(4));
    assert!(!sim.coil(5));
    driver.write_coil(4, true).unwrap();
    assert!(sim.coil(4), "idempotent");
    driver.write_coil(4, false).unwrap();
    assert!(!sim.coil(4));
    let msg = failure(driver.write_coil(99, true), ErrorKind::FailedPrecondition, "coil 99");
    assert!(msg.contains("coil 99") && msg.contains("exception 02"), "{msg}");
}

#[test]
fn exceptions_fail_the_precondition_and_keep_the_connection() {
    let (sim, driver) = rig(8);
    for (code, needle) in [
        (0x01, "illegal function"),
        (0x02, "input_address"),
        (0x03, "illegal data value"),
        (0x04, "device failure"),
        (0x06, "busy"),
        (0x0B, "unit_id"),
    ] {
        sim.set_fault(ModbusFault::Exception(code));
        let ctx = format!("exception {code:02X}");
        let (r, _) = timed(&ctx, || driver.read_inputs(0, 4));
        let msg = failure(r, ErrorKind::FailedPrecondition, &ctx);
        assert!(msg.contains(&ctx) && msg.contains(needle), "{msg}");
        assert!(driver.is_connected(), "{ctx}: an exception is a valid Modbus answer");
        assert_recovers(&sim, &driver, &ctx);
    }
    sim.set_fault(ModbusFault::Exception(0x04));
    let msg = failure(driver.write_coil(1, true), ErrorKind::FailedPrecondition, "write under 04");
    assert!(msg.contains("exception 04") && msg.contains("setting coil 1 on"), "{msg}");
    assert!(!sim.coil(1));
}

#[test]
fn a_silent_module_is_unavailable_within_the_timeout_then_recovers() {
    let (sim, driver) = rig(8);
    driver.read_inputs(0, 1).unwrap();
    sim.set_fault(ModbusFault::Silent);
    let before = sim.reads_received();
    let (r, took) = timed("silent read", || driver.read_inputs(0, 4));
    let msg = failure(r, ErrorKind::Unavailable, "silent");
    assert!(msg.contains("does not respond") && msg.contains(&format!("{TIMEOUT_MS} ms")), "{msg}");
    assert_eq!(sim.reads_received(), before + 1, "the request was sent, once");
    println!("silent module reported after {took:?} (timeout {TIMEOUT_MS} ms)");
    let (r, _) = timed("silent write", || driver.write_coil(0, true));
    failure(r, ErrorKind::Unavailable, "silent write");
    assert_recovers(&sim, &driver, "silent");
}

#[test]
fn malformed_answers_are_reported_as_not_modbus_then_recover() {
    let (sim, driver) = rig(16);
    sim.set_input(9, true);
    sim.set_fault(ModbusFault::Malformed);
    // Four reads meet each kind of garbage the simulator cycles through.
    for i in 0..4 {
        let ctx = format!("malformed answer {i}");
        let (r, took) = timed(&ctx, || driver.read_inputs(0, 16));
        let msg = failure(r, ErrorKind::Unavailable, &ctx);
        assert!(msg.contains("not Modbus/TCP"), "{ctx}: {msg}");
        println!("{ctx} reported after {took:?}: {msg}");
    }
    let (r, _) = timed("malformed write", || driver.write_coil(3, true));
    let msg = failure(r, ErrorKind::Unavailable, "malformed write");
    assert!(msg.contains("not Modbus/TCP"), "{msg}");
    sim.set_fault(ModbusFault::None);
    let got = driver.read_inputs(0, 16).unwrap();
    assert_eq!(got.iter().filter(|b| **b).count(), 1);
    assert!(got[9]);
    assert_recovers(&sim, &driver, "malformed");
}

#[test]
fn an_answer_to_another_transaction_is_refused_then_recovers() {
    let (sim, driver) = rig(8);
    driver.read_inputs(0, 1).unwrap();
    sim.set_fault(ModbusFault::WrongTransaction);
    for i in 0..2 {
        let (r, _) = timed("wrong transaction", || driver.read_inputs(0, 4));
        let msg = failure(r, ErrorKind::Unavailable, "wrong transaction");
        assert!(msg.contains("not Modbus/TCP") && msg.contains("transaction id"), "{i}: {msg}");
    }
    let (r, _) = timed("wrong transaction write", || driver.write_coil(2, true));
    failure(r, ErrorKind::Unavailable, "wrong transaction write");
    assert_recovers(&sim, &driver, "wrong transaction");
}

#[test]
fn an_offline_module_is_unavailable_then_comes_back_on_the_same_port() {
    let (sim, driver) = rig(8);
    let addr = sim.addr();
    driver.read_inputs(0, 1).unwrap();
    assert!(driver.is_connected());
    sim.set_fault(ModbusFault::Offline);
    for i in 0..2 {
        let ctx = format!("offline read {i}");
        let (r, took) = timed(&ctx, || driver.read_inputs(0, 4));
        let msg = failure(r, ErrorKind::Unavailable, &ctx);
        assert!(msg.contains(&addr.to_string()) && msg.contains("power and network cable"), "{msg}");
        println!("{ctx} reported after {took:?}: {msg}");
    }
    assert!(!driver.is_connected());
    assert_recovers(&sim, &driver, "offline");
    assert_eq!(sim.addr(), addr);
}

#[test]
fn an_address_the_module_lacks_points_at_input_address() {
    let (sim, driver) = rig(16);
    let msg = failure(driver.read_inputs(10, 8), ErrorKind::FailedPrecondition, "inputs 10–17 of 16");
    assert!(msg.contains("input_address") && msg.contains("10–17"), "{msg}");
    let e = driver.read_inputs(16, 1).unwrap_err();
    assert!(e.message_in(Locale::ZhCn).contains("input_address"), "{e}");
    assert_eq!(sim.reads_received(), 2);
    assert_eq!(driver.read_inputs(8, 8).unwrap(), vec![false; 8], "the last inputs exist");
}

#[test]
fn counts_outside_1_to_2000_are_refused_before_sending() {
    let (sim, driver) = rig(16);
    for count in [0, 2001] {
        failure(driver.read_inputs(0, count), ErrorKind::InvalidArgument, &format!("count {count}"));
    }
    assert_eq!(sim.reads_received(), 0, "nothing was sent");
    assert!(!driver.is_connected());
    // The protocol's maximum is accepted by the driver; this module is smaller and says so.
    failure(driver.read_inputs(0, 2000), ErrorKind::FailedPrecondition, "2000 of 16");
}

#[test]
fn a_wrong_unit_id_points_at_unit_id() {
    let (sim, _) = rig(8);
    let driver = driver_for(sim.addr(), 7);
    let msg = failure(driver.read_inputs(0, 1), ErrorKind::FailedPrecondition, "unit 7");
    assert!(msg.contains("unit_id") && msg.contains("exception 0B") && msg.contains("unit 7"), "{msg}");
    assert_eq!(sim.reads_received(), 1);
}

#[test]
fn several_clients_poll_at_once() {
    let (sim, _) = rig(8);
    sim.set_input(6, true);
    let addr = sim.addr();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let driver = driver_for(addr, UNIT);
                for _ in 0..50 {
                    assert_eq!(driver.read_inputs(6, 1).unwrap(), vec![true]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a client failed");
    }
    assert_eq!(sim.reads_received(), 200);
}

#[test]
fn one_driver_shared_between_threads_serialises_requests() {
    let (sim, driver) = rig(8);
    let driver = std::sync::Arc::new(driver);
    let workers: Vec<_> = (0..4u16)
        .map(|i| {
            let d = driver.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    d.write_coil(i, true).unwrap();
                    assert_eq!(d.read_inputs(0, 8).unwrap(), vec![false; 8]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a thread failed");
    }
    assert!((0..4).all(|c| sim.coil(c)));
    assert_eq!(sim.reads_received(), 100);
}

#[test]
fn stopping_the_simulator_frees_its_port() {
    let (sim, driver) = rig(8);
    let addr = sim.addr();
    driver.read_inputs(0, 1).unwrap();
    drop(sim);
    let (r, _) = timed("read after stop", || driver.read_inputs(0, 1));
    failure(r, ErrorKind::Unavailable, "stopped");
    TcpListener::bind(addr).expect("the port is free again");
}

#[test]
fn prints_poll_round_trip_times() {
    let (_sim, driver) = rig(16);
    driver.read_inputs(0, 16).unwrap();
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            driver.read_inputs(0, 16).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    println!("200 polls over loopback: median {:?}, p99 {:?}, max {:?}", times[100], times[197], times[199]);
}

/// A "module" that answers the first request on one connection with `reply`, then closes the
/// connection or keeps it open doing nothing.
fn scripted(reply: Vec<u8>, close: bool) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind(local()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else { return };
        let mut request = [0u8; 12];
        if s.read_exact(&mut request).is_err() {
            return;
        }
        let _ = s.write_all(&reply);
        if !close {
            // Until the driver gives up and disconnects.
            let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
            let _ = s.read(&mut [0u8; 16]);
        }
    });
    (addr, server)
}

/// A reply to transaction 0 (the first on a connection) from `unit`.
fn mbap(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = transaction.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

#[test]
fn an_answer_from_another_unit_or_of_the_wrong_length_is_not_modbus() {
    for (what, reply, needle) in [
        ("another unit", mbap(0, 9, &[0x02, 1, 0xFF]), "unit id"),
        (
            "too few data bytes",
            mbap(0, UNIT, &[0x02, 1, 0xFF]),
            "1 bytes of input states for 16 inputs, 2 expected",
        ),
        ("another function", mbap(0, UNIT, &[0x01, 2, 0, 0]), "another function"),
    ] {
        let (addr, server) = scripted(reply, false);
        let driver = driver_for(addr, UNIT);
        let (r, _) = timed(what, || driver.read_inputs(0, 16));
        let msg = failure(r, ErrorKind::Unavailable, what);
        assert!(msg.contains("not Modbus/TCP") && msg.contains(needle), "{what}: {msg}");
        drop(driver);
        server.join().unwrap();
    }
    // A coil answer that does not echo the request.
    let (addr, server) = scripted(mbap(0, UNIT, &[0x05, 0, 4, 0, 0]), false);
    let driver = driver_for(addr, UNIT);
    let msg = failure(driver.write_coil(4, true), ErrorKind::Unavailable, "wrong echo");
    assert!(msg.contains("not Modbus/TCP"), "{msg}");
    drop(driver);
    server.join().unwrap();
}

#[test]
fn a_connection_the_module_closed_while_idle_is_reopened_without_an_error() {
    // Many modules drop a connection after some idle time; the next poll must not fail for it.
    let listener = TcpListener::bind(local()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for session in 0..2u8 {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = [0u8; 12];
            s.read_exact(&mut request).unwrap();
            s.write_all(&mbap(0, UNIT, &[0x02, 1, session])).unwrap();
        }
    });
    let driver = driver_for(addr, UNIT);
    assert_eq!(driver.read_inputs(0, 1).unwrap(), vec![false]);
    std::thread::sleep(Duration::from_millis(50));
    let (r, _) = timed("read on a closed connection", || driver.read_inputs(0, 1));
    assert_eq!(r.unwrap(), vec![true], "answered on a second connection");
    server.join().unwrap();
}

/// Replies that are either any bytes at all, or a header that matches the request around any PDU
/// (which reaches deeper into decoding).
fn replies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        (prop_oneof![Just(0x02u8), Just(0x82u8), any::<u8>()], proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(function, rest)| {
                let mut pdu = vec![function];
                pdu.extend(rest);
                mbap(0, UNIT, &pdu)
            }),
    ]
}

fn check_any_reply(reply: Vec<u8>, close: bool, count: u16) -> std::result::Result<(), TestCaseError> {
    let (addr, server) = scripted(reply, close);
    let driver = driver_for(addr, UNIT);
    let start = Instant::now();
    let r = driver.read_inputs(0, count);
    prop_assert!(start.elapsed() <= limit(), "took {:?}", start.elapsed());
    match r {
        Ok(bits) => prop_assert_eq!(bits.len(), usize::from(count)),
        Err(e) => prop_assert!(
            matches!(e.kind, ErrorKind::Unavailable | ErrorKind::FailedPrecondition),
            "{:?}: {}",
            e.kind,
            e
        ),
    }
    drop(driver);
    let _ = server.join();
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // This crate has no lib.rs for proptest's default to find; keep regressions beside the file.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Any bytes followed by a closed connection: an answer, a Modbus exception or Unavailable,
    /// never a panic.
    #[test]
    fn any_reply_then_close_never_panics(reply in replies(), count in 1u16..=20) {
        check_any_reply(reply, true, count)?;
    }
}

proptest! {
    #![proptest_config(config(10))]

    /// Any bytes on a connection that stays open: the timeout ends the wait.
    #[test]
    fn any_reply_on_an_open_connection_never_hangs(reply in replies(), count in 1u16..=20) {
        check_any_reply(reply, false, count)?;
    }
}
