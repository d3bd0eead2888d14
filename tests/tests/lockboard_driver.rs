//! The lock-board driver against the simulated "8A/80" boards, over a real TCP socket (serial
//! device server) and a real pty (USB–RS-485 adapter): opening and sensing with both polarities,
//! jammed and dead boards, line noise, echoing adapters, chatty boards and reconnects.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use venue_desk::devices::lockboard::{LockBoardDriver, LockBoardSettings, LockBus, LockPolarity};
use venue_desk::devices::{LockBoard, LockState};
use venue_desk::error::{ErrorKind, Locale};
use venue_desk::sim::lockboard::{LockBoardFault, LockBoardSim, LockBoardSimHandle, SimBoardConfig};

const BOARD: u8 = 3;
const TIMEOUT_MS: u64 = 200;
const RETRIES: u32 = 2;

#[derive(Clone, Copy, Debug)]
enum Via {
    Tcp,
    Pty,
}

const BOTH: [Via; 2] = [Via::Tcp, Via::Pty];
const POLARITIES: [LockPolarity; 2] = [LockPolarity::UnlockedWhenSet, LockPolarity::LockedWhenSet];

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn settings(channels: u8, polarity: LockPolarity) -> LockBoardSettings {
    let mut s = LockBoardSettings::new(BOARD, channels);
    s.polarity = polarity;
    s.reply_timeout_ms = TIMEOUT_MS;
    s.retries = RETRIES;
    s
}

fn start(via: Via, boards: Vec<SimBoardConfig>) -> LockBoardSimHandle {
    match via {
        Via::Tcp => LockBoardSim::start_tcp(local(), boards).expect("simulator starts on TCP"),
        Via::Pty => LockBoardSim::start_pty(boards).expect("simulator starts on a pty"),
    }
}

fn driver_for(via: Via, sim: &LockBoardSimHandle, settings: LockBoardSettings) -> LockBoardDriver {
    match via {
        Via::Tcp => LockBoardDriver::tcp(&sim.addr().expect("tcp sim has an address").to_string(), settings),
        Via::Pty => LockBoardDriver::serial(&sim.pty_path().expect("pty sim has a path"), 9600, settings),
    }
}

/// A simulator with one board and a driver for it.
fn rig(via: Via, channels: u8, polarity: LockPolarity) -> (LockBoardSimHandle, LockBoardDriver) {
    let sim = start(via, vec![SimBoardConfig { address: BOARD, channels, polarity }]);
    let driver = driver_for(via, &sim, settings(channels, polarity));
    (sim, driver)
}

fn kind<T: std::fmt::Debug>(r: venue_desk::error::Result<T>) -> ErrorKind {
    r.expect_err("the driver refuses").kind
}

#[test]
fn open_then_unlocked_and_closing_then_locked_over_both_transports_and_polarities() {
    for via in BOTH {
        for polarity in POLARITIES {
            let ctx = format!("{via:?} {polarity:?}");
            let (sim, driver) = rig(via, 12, polarity);
            assert_eq!(driver.state(5).unwrap(), LockState::Locked, "{ctx}: locks start locked");
            driver.open(5).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(sim.state(BOARD, 5), LockState::Unlocked, "{ctx}");
            assert_eq!(driver.state(5).unwrap(), LockState::Unlocked, "{ctx}");
            assert_eq!(driver.state(6).unwrap(), LockState::Locked, "{ctx}: only lock 5 opened");
            sim.close(BOARD, 5);
            assert_eq!(driver.state(5).unwrap(), LockState::Locked, "{ctx}");
            assert_eq!(sim.opens_received(), vec![(BOARD, 5)], "{ctx}: one open, no spurious repeats");
        }
    }
}

#[test]
fn states_reports_every_channel_in_order() {
    for via in BOTH {
        for polarity in POLARITIES {
            let ctx = format!("{via:?} {polarity:?}");
            let (sim, driver) = rig(via, 24, polarity);
            assert_eq!(driver.states().unwrap(), vec![LockState::Locked; 24], "{ctx}");
            let opened = [1u8, 8, 9, 16, 17, 24];
            for lock in opened {
                driver.open(lock).unwrap_or_else(|e| panic!("{ctx} lock {lock}: {e}"));
            }
            let want: Vec<LockState> = (1..=24u8)
                .map(|l| if opened.contains(&l) { LockState::Unlocked } else { LockState::Locked })
                .collect();
            assert_eq!(driver.states().unwrap(), want, "{ctx}");
            sim.close(BOARD, 9);
            let mut want = want;
            want[8] = LockState::Locked;
            assert_eq!(driver.states().unwrap(), want, "{ctx}");
        }
    }
}

#[test]
fn states_of_boards_whose_bitmap_is_not_a_whole_number_of_bytes() {
    // 12 channels: two bitmap bytes, the upper four bits unused; 5 and 8 channels: one byte, whose
    // all-clear answer is byte for byte the request.
    for (channels, polarity) in [
        (12, LockPolarity::UnlockedWhenSet),
        (5, LockPolarity::UnlockedWhenSet),
        (8, LockPolarity::LockedWhenSet),
    ] {
        let ctx = format!("{channels} channels, {polarity:?}");
        let (sim, driver) = rig(Via::Tcp, channels, polarity);
        assert_eq!(driver.states().unwrap(), vec![LockState::Locked; usize::from(channels)], "{ctx}");
        driver.open(channels).unwrap();
        let mut want = vec![LockState::Locked; usize::from(channels)];
        want[usize::from(channels) - 1] = LockState::Unlocked;
        assert_eq!(driver.states().unwrap(), want, "{ctx}");
        // The same with an echoing adapter in front.
        sim.set_fault(BOARD, LockBoardFault::Echo(true));
        assert_eq!(driver.states().unwrap(), want, "{ctx}, echo");
        sim.close(BOARD, channels);
        assert_eq!(driver.states().unwrap(), vec![LockState::Locked; usize::from(channels)], "{ctx}, echo");
    }
}

#[test]
fn a_jammed_lock_is_reported_as_not_opened() {
    for via in BOTH {
        for polarity in POLARITIES {
            let ctx = format!("{via:?} {polarity:?}");
            let (sim, driver) = rig(via, 12, polarity);
            sim.set_fault(BOARD, LockBoardFault::Jammed { lock: 4 });
            let err = driver.open(4).expect_err(&ctx);
            assert_eq!(err.kind, ErrorKind::FailedPrecondition, "{ctx}: {err}");
            let en = err.message_in(Locale::En);
            assert!(en.contains("Locker 4 did not open") && en.contains("choose another"), "{ctx}: {en}");
            assert!(err.message_in(Locale::ZhCn).contains("4 号柜门未能打开"), "{ctx}");
            assert_eq!(sim.state(BOARD, 4), LockState::Locked, "{ctx}");
            assert_eq!(driver.state(4).unwrap(), LockState::Locked, "{ctx}");
            // Its neighbours still work.
            driver.open(5).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(sim.state(BOARD, 5), LockState::Unlocked, "{ctx}");
        }
    }
}

/// The driver gave up within the retries' time budget, and not before it had waited them out.
fn assert_gave_up_in_time(started: Instant, ctx: &str) {
    let elapsed = started.elapsed();
    let budget = Duration::from_millis(TIMEOUT_MS * u64::from(RETRIES + 1));
    assert!(elapsed >= budget - Duration::from_millis(20), "{ctx}: gave up too early, after {elapsed:?}");
    assert!(elapsed <= budget + Duration::from_millis(400), "{ctx}: took {elapsed:?}");
}

fn dead_board_is_unavailable_within_the_timeout_budget(via: Via) {
    let (sim, driver) = rig(via, 12, LockPolarity::UnlockedWhenSet);
    sim.set_fault(BOARD, LockBoardFault::Dead);
    let t = Instant::now();
    let err = driver.open(1).expect_err("a silent board is never a success");
    assert_eq!(err.kind, ErrorKind::Unavailable, "{via:?}: {err}");
    assert_gave_up_in_time(t, &format!("{via:?} open"));
    let zh = err.message_in(Locale::ZhCn);
    assert!(zh.contains("锁控板") && zh.contains(&format!("板号 {BOARD} 无应答")), "{zh}");
    let en = err.message_in(Locale::En);
    assert!(en.contains(&format!("Lock board {BOARD}")) && en.contains("did not answer"), "{en}");

    let t = Instant::now();
    assert_eq!(kind(driver.state(1)), ErrorKind::Unavailable, "{via:?}");
    assert_gave_up_in_time(t, &format!("{via:?} state"));
    let t = Instant::now();
    assert_eq!(kind(driver.states()), ErrorKind::Unavailable, "{via:?}");
    assert_gave_up_in_time(t, &format!("{via:?} states"));
    assert!(sim.opens_received().is_empty());

    // Revived, it answers again on the same connection.
    sim.set_fault(BOARD, LockBoardFault::None);
    assert_eq!(driver.state(1).unwrap(), LockState::Locked, "{via:?}");
}

#[test]
fn a_dead_board_is_unavailable_within_the_timeout_budget_over_tcp() {
    dead_board_is_unavailable_within_the_timeout_budget(Via::Tcp);
}

#[test]
fn a_dead_board_is_unavailable_within_the_timeout_budget_over_a_pty() {
    dead_board_is_unavailable_within_the_timeout_budget(Via::Pty);
}

#[test]
fn an_echoing_adapter_in_front_of_a_dead_board_is_not_mistaken_for_an_answer() {
    // The echo of "open" is identical to a successful open's answer (and, on a one-byte board, the
    // echo of "query all" to an all-clear answer): only the board's silence to a follow-up query
    // tells them apart.
    for polarity in POLARITIES {
        let (sim, driver) = rig(Via::Tcp, 12, polarity);
        sim.set_fault(BOARD, LockBoardFault::Dead);
        sim.set_fault(BOARD, LockBoardFault::Echo(true));
        let t = Instant::now();
        assert_eq!(kind(driver.open(2)), ErrorKind::Unavailable, "{polarity:?}");
        assert!(t.elapsed() < Duration::from_millis(1500), "{polarity:?}: {:?}", t.elapsed());
    }
    let (sim, driver) = rig(Via::Tcp, 8, LockPolarity::UnlockedWhenSet);
    sim.set_fault(BOARD, LockBoardFault::Dead);
    sim.set_fault(BOARD, LockBoardFault::Echo(true));
    assert_eq!(kind(driver.states()), ErrorKind::Unavailable);
    assert_eq!(kind(driver.state(8)), ErrorKind::Unavailable);
}

#[test]
fn one_damaged_reply_is_retried_and_succeeds() {
    for via in BOTH {
        let (sim, driver) = rig(via, 12, LockPolarity::UnlockedWhenSet);
        sim.set_fault(BOARD, LockBoardFault::BadChecksum { count: 1 });
        assert_eq!(driver.state(3).unwrap(), LockState::Locked, "{via:?}");

        sim.set_fault(BOARD, LockBoardFault::BadChecksum { count: 1 });
        let t = Instant::now();
        driver.open(3).unwrap_or_else(|e| panic!("{via:?}: {e}"));
        // The damaged answer is noticed at the line's next gap, not after the whole timeout.
        assert!(t.elapsed() < Duration::from_millis(TIMEOUT_MS), "{via:?}: {:?}", t.elapsed());
        assert_eq!(sim.state(BOARD, 3), LockState::Unlocked);
        // The board opened on both requests; opening an open lock is harmless.
        assert_eq!(sim.opens_received(), vec![(BOARD, 3), (BOARD, 3)], "{via:?}");

        sim.set_fault(BOARD, LockBoardFault::BadChecksum { count: RETRIES });
        let mut want = vec![LockState::Locked; 12];
        want[2] = LockState::Unlocked;
        assert_eq!(driver.states().unwrap(), want, "{via:?}: the last retry gets through");
    }
}

#[test]
fn replies_that_always_fail_their_checksum_make_the_board_unavailable() {
    for via in BOTH {
        let (sim, driver) = rig(via, 12, LockPolarity::UnlockedWhenSet);
        sim.set_fault(BOARD, LockBoardFault::BadChecksum { count: u32::MAX });
        let err = driver.state(1).expect_err("damaged answers are never believed");
        assert_eq!(err.kind, ErrorKind::Unavailable, "{via:?}");
        assert!(err.message_in(Locale::En).contains("damaged"), "{err}");
        assert_eq!(kind(driver.open(1)), ErrorKind::Unavailable, "{via:?}");
        assert_eq!(kind(driver.states()), ErrorKind::Unavailable, "{via:?}");
        assert_eq!(sim.opens_received().len(), usize::try_from(RETRIES + 1).unwrap());
    }
}

fn echoes_and_unsolicited_status_frames_are_tolerated(via: Via) {
    let faults = [
        vec![LockBoardFault::Echo(true)],
        vec![LockBoardFault::Unsolicited(true)],
        vec![LockBoardFault::Echo(true), LockBoardFault::Unsolicited(true)],
    ];
    for polarity in POLARITIES {
        for fault in &faults {
            let ctx = format!("{via:?} {polarity:?} {fault:?}");
            let (sim, driver) = rig(via, 16, polarity);
            for f in fault {
                sim.set_fault(BOARD, *f);
            }
            for lock in [1u8, 9, 16] {
                assert_eq!(driver.state(lock).unwrap(), LockState::Locked, "{ctx}");
                driver.open(lock).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert_eq!(driver.state(lock).unwrap(), LockState::Unlocked, "{ctx}");
                let states = driver.states().unwrap();
                assert_eq!(states.iter().filter(|s| **s == LockState::Unlocked).count(), 1, "{ctx}");
                assert_eq!(states[usize::from(lock) - 1], LockState::Unlocked, "{ctx}");
                sim.close(BOARD, lock);
                // A board's own report sent just before the close may still be on its way through
                // the pty; it is as stale as the driver can ever be told, so let it arrive first.
                std::thread::sleep(Duration::from_millis(10));
                assert_eq!(driver.state(lock).unwrap(), LockState::Locked, "{ctx}");
            }
            assert_eq!(sim.opens_received(), vec![(BOARD, 1), (BOARD, 9), (BOARD, 16)], "{ctx}");
        }
    }
}

#[test]
fn echoes_and_unsolicited_status_frames_are_tolerated_over_tcp() {
    echoes_and_unsolicited_status_frames_are_tolerated(Via::Tcp);
}

#[test]
fn echoes_and_unsolicited_status_frames_are_tolerated_over_a_pty() {
    echoes_and_unsolicited_status_frames_are_tolerated(Via::Pty);
}

#[test]
fn the_driver_reconnects_to_a_restarted_device_server() {
    let boards =
        vec![SimBoardConfig { address: BOARD, channels: 12, polarity: LockPolarity::UnlockedWhenSet }];
    let sim = LockBoardSim::start_tcp(local(), boards.clone()).unwrap();
    let addr = sim.addr().unwrap();
    let driver = LockBoardDriver::tcp(&addr.to_string(), settings(12, LockPolarity::UnlockedWhenSet));
    driver.open(2).unwrap();
    assert_eq!(driver.state(2).unwrap(), LockState::Unlocked);

    sim.stop();
    drop(sim);
    let err = driver.state(2).expect_err("nobody is listening");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.message_in(Locale::En).contains(&addr.to_string()), "{err}");

    let sim = LockBoardSim::start_tcp(addr, boards.clone()).expect("the port is free again");
    assert_eq!(driver.state(2).unwrap(), LockState::Locked, "a fresh board, all locked");
    driver.open(7).unwrap();
    assert_eq!(sim.opens_received(), vec![(BOARD, 7)]);

    // Restarted under the driver's feet, without a failed call in between.
    drop(sim);
    let sim = LockBoardSim::start_tcp(addr, boards).unwrap();
    assert_eq!(driver.state(7).unwrap(), LockState::Locked);
    drop(sim);
}

#[test]
fn lock_numbers_out_of_range_are_refused_before_anything_is_sent() {
    for via in BOTH {
        let (sim, driver) = rig(via, 24, LockPolarity::UnlockedWhenSet);
        for lock in [0u8, 25, 255] {
            let err = driver.open(lock).expect_err("no such lock");
            assert_eq!(err.kind, ErrorKind::InvalidArgument, "{via:?} {lock}");
            assert!(err.message_in(Locale::En).contains("locks 1–24"), "{err}");
            assert_eq!(kind(driver.state(lock)), ErrorKind::InvalidArgument, "{via:?} {lock}");
        }
        assert!(sim.opens_received().is_empty());
        driver.open(24).unwrap();
        assert_eq!(sim.opens_received(), vec![(BOARD, 24)]);
    }
    // A board address outside the DIP range is a configuration mistake, caught the same way.
    let (sim, _) = rig(Via::Tcp, 12, LockPolarity::UnlockedWhenSet);
    let driver = LockBoardDriver::tcp(&sim.addr().unwrap().to_string(), LockBoardSettings::new(0, 12));
    assert_eq!(kind(driver.states()), ErrorKind::InvalidArgument);
    let driver = LockBoardDriver::tcp(&sim.addr().unwrap().to_string(), LockBoardSettings::new(BOARD, 49));
    assert_eq!(kind(driver.open(1)), ErrorKind::InvalidArgument);
}

#[test]
fn boards_sharing_one_bus_are_addressed_separately() {
    let sim = LockBoardSim::start_tcp(
        local(),
        vec![
            SimBoardConfig { address: 1, channels: 12, polarity: LockPolarity::UnlockedWhenSet },
            SimBoardConfig { address: 2, channels: 24, polarity: LockPolarity::LockedWhenSet },
        ],
    )
    .unwrap();
    let address = sim.addr().unwrap().to_string();
    let bus = LockBus::tcp(&address);
    let mut s1 = LockBoardSettings::new(1, 12);
    s1.reply_timeout_ms = TIMEOUT_MS;
    let mut s2 = LockBoardSettings::new(2, 24);
    s2.polarity = LockPolarity::LockedWhenSet;
    s2.reply_timeout_ms = TIMEOUT_MS;
    let one = LockBoardDriver::on_bus(bus.clone(), s1);
    let two = LockBoardDriver::tcp(&address, s2);
    assert!(std::sync::Arc::ptr_eq(one.bus(), two.bus()), "same server, same bus");

    // Concurrent use is serialised on the bus.
    std::thread::scope(|s| {
        s.spawn(|| {
            for lock in 1..=12 {
                one.open(lock).unwrap();
            }
        });
        s.spawn(|| {
            for lock in (2..=24).step_by(2) {
                two.open(lock).unwrap();
            }
        });
    });
    assert_eq!(one.states().unwrap(), vec![LockState::Unlocked; 12]);
    let two_states = two.states().unwrap();
    for (i, s) in two_states.iter().enumerate() {
        let want = if (i + 1) % 2 == 0 { LockState::Unlocked } else { LockState::Locked };
        assert_eq!(*s, want, "board 2 lock {}", i + 1);
    }

    // A board address nobody answers to.
    let mut s9 = LockBoardSettings::new(9, 12);
    s9.reply_timeout_ms = 100;
    s9.retries = 0;
    let nine = LockBoardDriver::on_bus(bus, s9);
    let err = nine.state(1).expect_err("no board 9");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.message_in(Locale::ZhCn).contains(&format!("锁控板 {address} 板号 9 无应答")), "{err}");
}

#[test]
fn doors_close_by_themselves_when_auto_close_is_on_unless_stuck_open() {
    let (sim, driver) = rig(Via::Tcp, 12, LockPolarity::UnlockedWhenSet);
    sim.set_auto_close_ms(Some(400));
    sim.set_fault(BOARD, LockBoardFault::StuckOpen { lock: 2 });
    driver.open(1).unwrap();
    driver.open(2).unwrap();
    assert_eq!(driver.state(1).unwrap(), LockState::Unlocked);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(driver.state(1).unwrap(), LockState::Locked);
    assert_eq!(driver.state(2).unwrap(), LockState::Unlocked, "stuck open");
    sim.close(BOARD, 2);
    assert_eq!(sim.state(BOARD, 2), LockState::Unlocked, "the person cannot shut it either");
    sim.set_auto_close_ms(None);
    driver.open(3).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(driver.state(3).unwrap(), LockState::Unlocked);
}

#[test]
fn a_missing_serial_port_is_unavailable_with_a_way_forward() {
    let driver =
        LockBoardDriver::serial("/dev/ttyUSB-venue-desk-missing", 9600, LockBoardSettings::new(1, 12));
    let err = driver.state(1).expect_err("no such port");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.message_in(Locale::En).contains("USB–RS-485 adapter"), "{err}");
    assert!(err.message_in(Locale::ZhCn).contains("/dev/ttyUSB-venue-desk-missing"), "{err}");
}
