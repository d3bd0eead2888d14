//! `make bench`: measures the quality targets of ../shared/design/quality.md that exist so far
//! and prints them as a table. Each comparison is measured in the same run as its baseline.
//!
//!   P2  device events into journal + outbox (group commit) vs plain batched inserts
//!   P7  start to interactive window, and resident memory of the app and its webview processes
//!   B1  booking conflict check against 100,000 existing bookings (issue: rooms and bookings)
//!   P1  check-in end to end against the simulators vs the device round trips alone
//!   P3  detector gate input active -> entrance door hold command received, with the poll period
//!   P6  a backlog of 100,000 events drained to the reference receiver vs one request per event
//!   P4  recording CPU per 1080p30 stream vs a bare gst-launch splitmuxsink of the same stream, and
//!       16 streams recorded at once: frames kept
//!   P5  live wall of 9 sub-streams in the real app window: glass-to-glass latency on loopback, and
//!       the app's CPU and memory while showing it

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use venue_desk::clock::SystemClock;
use venue_desk::journal::{Actor, Entry, EventKind, Journal, Outcome};
use venue_desk::store::Store;
use venue_desk::store::journal::{JournalRow, baseline_insert};

struct Row {
    id: &'static str,
    what: String,
    figure: String,
    target: &'static str,
    baseline: String,
}

/// `bench` measures everything; `bench P1 B1` only those.
fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |id: &str| only.is_empty() || only.iter().any(|o| o == id);
    let mut rows = Vec::new();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if wanted("P2") {
        rows.push(rt.block_on(p2_journal_throughput(50_000)));
    }
    if wanted("B1") {
        rows.push(rt.block_on(b1_conflict_check(100_000, 2_000)));
    }
    if wanted("P1") {
        rows.extend(rt.block_on(p1_check_in(60)));
    }
    if wanted("P3") {
        rows.push(rt.block_on(p3_gate_to_door(100)));
    }
    if wanted("P6") {
        rows.push(rt.block_on(p6_sync_drain(100_000, 3_000)));
    }
    if wanted("P4") {
        match p4_recording(30, 16) {
            Ok(r) => rows.extend(r),
            Err(e) => rows.push(Row {
                id: "P4",
                what: "recording CPU per 1080p30 stream".into(),
                figure: format!("not measured: {e}"),
                target: "≤ 1.2× bare gst-launch",
                baseline: "-".into(),
            }),
        }
    }
    if wanted("P5") {
        match p5_live_wall(20) {
            Ok(r) => rows.extend(r),
            Err(e) => rows.push(Row {
                id: "P5",
                what: "live wall, 9 feeds, glass-to-glass".into(),
                figure: format!("not measured: {e}"),
                target: "< 1 s on loopback",
                baseline: "-".into(),
            }),
        }
    }
    if wanted("P7") {
        match p7_startup(5) {
            Ok(r) => rows.extend(r),
            Err(e) => rows.push(Row {
                id: "P7",
                what: "start to interactive".into(),
                figure: format!("not measured: {e}"),
                target: "< 2 s",
                baseline: "-".into(),
            }),
        }
    }
    println!("| id | what | measured | target | baseline (same run) |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} | {} | {} |", r.id, r.what, r.figure, r.target, r.baseline);
    }
}

fn device_event(i: usize) -> Entry {
    Entry::new(Actor::device("door-entrance"), EventKind::DeviceHealth, "door-entrance", Outcome::Ok)
        .with_detail(serde_json::json!({"state": if i.is_multiple_of(2) { "online" } else { "offline" }, "serialNo": i}))
}

async fn p2_journal_throughput(n: usize) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap());
    let journal =
        Journal::start(store.clone(), Arc::new(SystemClock), chrono_tz::Asia::Shanghai, "BENCH".into());

    // Journal + outbox: events arrive from devices one at a time; the writer commits in groups.
    let t = Instant::now();
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        pending.push(journal.submit(device_event(i)).await.unwrap());
    }
    for p in pending {
        p.await.unwrap().unwrap();
    }
    let journal_secs = t.elapsed().as_secs_f64();
    assert!(journal.verify().await.unwrap().ok);

    // Baseline: the same rows, already built, inserted in batches of the same size into a plain
    // table of the same database.
    let template = JournalRow {
        seq: 0,
        recorded_at: "2026-11-23T08:30:00+08:00".into(),
        recorded_at_ms: 0,
        actor: "device:door-entrance".into(),
        actor_role: None,
        kind: "device.health".into(),
        subject: "door-entrance".into(),
        outcome: "ok".into(),
        detail: "{\"serialNo\":0,\"state\":\"online\"}".into(),
        prev_hash: "0".repeat(64),
        hash: "0".repeat(64),
    };
    let plain: Vec<JournalRow> =
        (0..n).map(|i| JournalRow { seq: i as i64 + 1, ..template.clone() }).collect();
    let t = Instant::now();
    for chunk in plain.chunks(1024) {
        let mut w = store.begin_write().await.unwrap();
        baseline_insert(&mut w, chunk).await.unwrap();
        w.commit().await.unwrap();
    }
    let plain_secs = t.elapsed().as_secs_f64();

    let journal_rate = n as f64 / journal_secs;
    let plain_rate = n as f64 / plain_secs;
    Row {
        id: "P2",
        what: format!("{n} device events → journal + outbox (SHA-256 chain, synchronous=FULL)"),
        figure: format!("{journal_rate:.0} events/s"),
        target: "≥ 5,000 events/s",
        baseline: format!(
            "plain batched inserts {plain_rate:.0} rows/s (journal at {:.0}% of it)",
            100.0 * journal_rate / plain_rate
        ),
    }
}

async fn b1_conflict_check(existing: usize, samples: usize) -> Row {
    use venue_desk::auth::Caller;
    use venue_desk::bookings::views::ProjectInput;
    use venue_desk::domain::operator::Role;
    use venue_desk::store::bookings::{NewBooking, insert_booking};

    let dir = tempfile::tempdir().unwrap();
    let services = venue_desk::Services::open(venue_desk::config::demo(dir.path()), Arc::new(SystemClock))
        .await
        .unwrap();
    let caller = Caller { operator_id: 1, username: "bench".into(), role: Role::VenueManager };
    let project = services
        .bookings
        .save_project(
            &caller,
            &ProjectInput {
                id: None,
                version: None,
                tender_project_code: "E3101000001202611099".into(),
                name: "bench".into(),
                category: venue_desk::domain::project::TradingCategory::Construction,
                bid_section_codes: vec![],
                tenderer_name: "bench".into(),
                tenderer_credit_code: "91350100M000100Y43".into(),
                agency_name: None,
                agency_credit_code: None,
                responsible_staff: "bench".into(),
            },
        )
        .await
        .unwrap();
    let rooms: Vec<String> = services.config.rooms.iter().map(|r| r.id.clone()).collect();
    // Two-hour bookings with 30-minute buffers every five hours in each room: about eight years
    // of a busy venue.
    let epoch_ms = 1_577_836_800_000i64; // 2020-01-01T00:00Z
    let stride_ms = 5 * 3_600_000i64;
    let per_room = existing.div_ceil(rooms.len());
    let mut inserted = 0;
    while inserted < existing {
        let mut w = services.store.begin_write().await.unwrap();
        for _ in 0..5_000.min(existing - inserted) {
            let room = &rooms[inserted % rooms.len()];
            let start = epoch_ms + (inserted / rooms.len()) as i64 * stride_ms;
            let end = start + 2 * 3_600_000;
            let b = NewBooking {
                room_id: room,
                project_id: project.id,
                purpose: "bid_opening",
                start_ms: start,
                end_ms: end,
                setup_min: 30,
                cleanup_min: 30,
                occupied: (start - 1_800_000, end + 1_800_000),
                expected_participants: 1,
                expected_experts: 0,
                overnight: false,
                state: "confirmed",
                series_id: None,
                notes: "",
                created_by: "bench",
                sections: &[],
            };
            insert_booking(&mut w, &b, chrono::Utc::now()).await.unwrap();
            inserted += 1;
        }
        w.commit().await.unwrap();
    }
    let span_ms = per_room as i64 * stride_ms;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut times_us = Vec::with_capacity(samples);
    let mut conflicts = 0;
    for _ in 0..samples {
        let room = &rooms[(next() % rooms.len() as u64) as usize];
        let start_ms = epoch_ms + (next() % span_ms as u64) as i64 / 900_000 * 900_000;
        let start = services.bookings.format_local(start_ms);
        let end = services.bookings.format_local(start_ms + 3_600_000);
        let t = Instant::now();
        if services.bookings.check_slot(room, &start, &end, 15, 15, None).await.is_err() {
            conflicts += 1;
        }
        times_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times_us.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| times_us[((times_us.len() as f64 * p) as usize).min(times_us.len() - 1)] / 1000.0;
    Row {
        id: "B1",
        what: format!(
            "booking conflict check, {existing} existing bookings, {samples} random slots ({conflicts} in conflict)"
        ),
        figure: format!("p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms", pct(0.50), pct(0.95), pct(0.99)),
        target: "p95 < 5 ms",
        baseline: "-".into(),
    }
}

/// P1: ID entered -> roster match -> locker opened and confirmed -> credential on both controllers
/// -> journal + outbox committed, through the services against the simulators on loopback. The
/// simulated expert shuts the locker 300 ms after it opens; that wait is a person's, not the
/// system's, so it is measured apart and left out of the figure.
async fn p1_check_in(n: u32) -> Vec<Row> {
    use venue_desk_tests::sims::{self, SimVenue};
    let sims = SimVenue::start();
    sims.lockers.set_auto_close_ms(Some(300));
    let v = venue_desk_tests::fixture::Venue::open_with(|c| sims.patch(c), "2026-11-23T01:00:00Z").await;
    sims.enrol_passwords(&v.services);
    let s = &v.services;
    let booking =
        sims::evaluation_with_roster(s, "E3101000001202611099", "2026-11-23T08:30", "2026-11-23T18:00").await;
    let report = s
        .checkins
        .import_roster(
            &sims::supervisor(),
            booking,
            venue_desk::checkin::views::RosterFormat::Csv,
            &sims::generated_roster(n),
        )
        .await
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let desk = sims::front_desk();
    let mut end_to_end = Vec::new();
    for i in 0..n {
        let id = sims::generated_id(i);
        let t = Instant::now();
        let found = s.checkins.find(&desk, &id).await.unwrap();
        s.checkins.begin(&desk, found.entry_id).await.unwrap();
        let opened = t.elapsed();
        // The person's part: depositing and shutting the door.
        s.checkins.await_deposit(found.entry_id).await.unwrap();
        let t = Instant::now();
        let record = s.checkins.complete(&desk, found.entry_id, None).await.unwrap();
        end_to_end.push(opened + t.elapsed());
        // Not timed: free the locker for the next expert.
        s.checkins.checkout_begin(&desk, record.check_in_id).await.unwrap();
        s.checkins.checkout_finish(&desk, record.check_in_id).await.unwrap();
    }
    // The same device work alone: open, one state query, person + card on both controllers.
    let mut devices = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        s.fleet.board(sims::BANK, |b| b.open(1)).await.unwrap();
        let opened = t.elapsed();
        tokio::time::sleep(Duration::from_millis(350)).await;
        let t = Instant::now();
        s.fleet.board(sims::BANK, |b| b.state(1)).await.unwrap();
        for door in [sims::ENTRANCE, sims::ROOM_DOOR] {
            let person = venue_desk::devices::AccessPerson {
                employee_no: format!("bench-{i}"),
                name: "bench".into(),
                valid_from: "2026-11-23T08:00:00".parse().unwrap(),
                valid_until: "2026-11-23T19:00:00".parse().unwrap(),
                door_nos: vec![1],
            };
            s.fleet
                .door(door, move |d| {
                    d.upsert_person(&person)?;
                    d.add_card(&person.employee_no, &format!("B{i}"))
                })
                .await
                .unwrap();
        }
        devices.push(opened + t.elapsed());
    }
    let pct = |v: &mut Vec<Duration>, p: f64| -> f64 {
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    };
    let (e50, e95) = (pct(&mut end_to_end, 0.5), pct(&mut end_to_end, 0.95));
    let (d50, d95) = (pct(&mut devices, 0.5), pct(&mut devices, 0.95));
    vec![Row {
        id: "P1",
        what: format!("check-in end to end, {n} experts, simulators on loopback"),
        figure: format!("p50 {e50:.1} ms, p95 {e95:.1} ms"),
        target: "p95 < 300 ms",
        baseline: format!("device round trips alone: p50 {d50:.1} ms, p95 {d95:.1} ms"),
    }]
}

/// P3: the gate's input goes active on the simulated Modbus module -> the simulated entrance
/// controller has received the hold-closed command. Includes the poll wait (uniform over one
/// period), the input read and the door command over HTTP with Digest auth.
async fn p3_gate_to_door(n: usize) -> Row {
    use venue_desk::alerts::views::{AlarmFilter, AlarmState};
    use venue_desk::devices::DoorCommand;
    use venue_desk::sim::modbus::ModbusSim;
    use venue_desk_tests::sims::{self, SimVenue};
    let sims = SimVenue::start();
    let io = ModbusSim::start("127.0.0.1:0".parse().unwrap(), 1, 16).unwrap();
    let addr = io.addr().to_string();
    let mut poll_ms = 0;
    let v = venue_desk_tests::fixture::Venue::open_with(
        |c| {
            sims.patch(c);
            for d in c.devices.iter_mut().filter(|d| d.id == "gate-entrance" || d.id == "fire-panel") {
                d.address = addr.clone();
                poll_ms = d.poll_ms;
            }
            c.gate.release_debounce_ms = 0;
            c.gate.clear_after_quiet_seconds = 0;
        },
        "2026-11-23T01:00:00Z",
    )
    .await;
    sims.enrol_passwords(&v.services);
    let s = v.services.clone();
    s.start_background().await;
    let last = |h: &venue_desk::sim::isapi::IsapiSimHandle| h.door_commands_received().last().map(|c| c.1);
    let wait_for = |want: DoorCommand| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while last(&sims.entrance) != Some(want) {
            assert!(Instant::now() < deadline, "door never got {want:?}");
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    wait_for(DoorCommand::Normal);
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        // Random phase against the poll period, as a person arrives whenever they arrive.
        tokio::time::sleep(Duration::from_millis(20 + rand_ms(u64::from(poll_ms)))).await;
        let t = Instant::now();
        io.set_input(0, true);
        tokio::task::block_in_place(|| wait_for(DoorCommand::AlwaysClose));
        latencies.push(t.elapsed());
        // Answer the alarm and let the gate go quiet, back to normal (not timed).
        // The alarm record follows the door command; answer it once it is there.
        let alarm = loop {
            let open = s.alarms.list(&AlarmFilter { open_only: true, limit: None }).await.unwrap();
            match open.into_iter().find(|a| a.state == AlarmState::Raised) {
                Some(a) => break a,
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        s.gates.acknowledge_alarm(&sims::front_desk(), alarm.id, "bench").await.unwrap();
        io.set_input(0, false);
        tokio::task::block_in_place(|| wait_for(DoorCommand::Normal));
    }
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    Row {
        id: "P3",
        what: format!(
            "gate input active -> entrance hold command received, {n} detections, Modbus poll {poll_ms} ms"
        ),
        figure: format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", at(0.5), at(0.99), at(1.0)),
        target: "p99 < 100 ms",
        baseline: format!("poll period {poll_ms} ms (the wait for the next read is up to one period)"),
    }
}

/// A venue with `n` pending events whose sender sends `batch_size` per request to `receiver_port`.
async fn p6_venue(
    dir: &Path,
    tag: &str,
    receiver_port: u16,
    batch_size: u32,
    n: usize,
) -> venue_desk::Services {
    use venue_desk::auth::Caller;
    use venue_desk::domain::operator::Role;
    let mut cfg = venue_desk::config::demo(dir);
    cfg.code = format!("BENCH-{tag}-{}", std::process::id());
    cfg.service.base_url = format!("http://127.0.0.1:{receiver_port}");
    cfg.service.batch_size = batch_size;
    let s = venue_desk::Services::open(cfg, Arc::new(SystemClock)).await.unwrap();
    let admin = Caller { operator_id: 1, username: "bench".into(), role: Role::Administrator };
    s.uplink.set_credentials(&admin, "bench-app", "bench-secret-0123456789").await.unwrap();
    for start in (0..n).step_by(5000) {
        let entries: Vec<Entry> = (start..(start + 5000).min(n)).map(device_event).collect();
        let mut w = s.store.begin_write().await.unwrap();
        s.journal.append_in(&mut w, &entries).await.unwrap();
        w.commit().await.unwrap();
    }
    s
}

/// Sends until empty; returns the events delivered and the seconds taken.
async fn p6_drain(s: &venue_desk::Services) -> (usize, f64) {
    use venue_desk::sync::Step;
    let t = Instant::now();
    let mut delivered = 0;
    loop {
        match s.uplink.step().await.unwrap() {
            Step::Sent { taken, .. } => delivered += taken,
            Step::Empty => break,
            other => panic!("the drain stalled: {other:?} {:?}", s.uplink.status().await.unwrap().problem),
        }
    }
    (delivered, t.elapsed().as_secs_f64())
}

async fn p6_sync_drain(n: usize, baseline_n: usize) -> Row {
    use venue_desk::sim::receiver::{Receiver, ReceiverConfig};
    let dir = tempfile::tempdir().unwrap();
    // The receiver's port must be known before the venue is opened; the venue code after.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let batched = p6_venue(&dir.path().join("batched"), "P6", port, 1000, n).await;
    let receiver = Receiver::start(
        &format!("127.0.0.1:{port}"),
        ReceiverConfig::new(&batched.config.code, "bench-app", b"bench-secret-0123456789"),
    )
    .unwrap();
    let (sent, secs) = p6_drain(&batched).await;
    assert_eq!(receiver.stats().accepted as usize, sent);
    let posts = receiver.stats().event_posts;
    drop(receiver);

    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port1 = probe.local_addr().unwrap().port();
    drop(probe);
    let single = p6_venue(&dir.path().join("single"), "P6B", port1, 1, baseline_n).await;
    let receiver1 = Receiver::start(
        &format!("127.0.0.1:{port1}"),
        ReceiverConfig::new(&single.config.code, "bench-app", b"bench-secret-0123456789"),
    )
    .unwrap();
    let (sent1, secs1) = p6_drain(&single).await;
    assert_eq!(receiver1.stats().accepted as usize, sent1);
    let rate = sent as f64 / secs;
    let rate1 = sent1 as f64 / secs1;
    Row {
        id: "P6",
        what: format!(
            "backlog of {sent} events drained to the reference receiver (signed HTTP, batches of 1,000, {posts} requests)"
        ),
        figure: format!("{secs:.1} s ({rate:.0} events/s)"),
        target: "< 20 s and ≥ 10× one request per event",
        baseline: format!(
            "one request per event: {rate1:.0} events/s over {sent1} events ({:.0}× faster batched)",
            rate / rate1
        ),
    }
}

fn rand_ms(max: u64) -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    u64::from(nanos) % max.max(1)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Resident memory (kB) of `pid` and, separately, of its descendants.
fn rss_tree_kb(pid: u32) -> (u64, u64, Vec<String>) {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let after = &stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..];
        let ppid: u32 = after.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        parent_of.push((p, ppid));
    }
    let rss = |p: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    };
    let mut children = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (c, pp) in &parent_of {
            if *pp == p {
                children.push(*c);
                frontier.push(*c);
            }
        }
    }
    let names = children
        .iter()
        .filter_map(|c| std::fs::read_to_string(format!("/proc/{c}/comm")).ok().map(|s| s.trim().to_string()))
        .collect();
    (rss(pid), children.iter().map(|c| rss(*c)).sum(), names)
}

fn p7_startup(runs: usize) -> Result<Vec<Row>, String> {
    let app = std::env::var_os("VENUE_DESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/release/venue-desk"));
    if !app.is_file() {
        return Err(format!("{} is missing (make bench builds it)", app.display()));
    }
    if std::env::var_os("DISPLAY").is_none() {
        return Err("no DISPLAY (make bench runs under Xvfb)".into());
    }
    let mut times_ms = Vec::new();
    let mut mem = (0, 0, Vec::new());
    for run in 0..runs {
        // Run 0 starts on an empty data directory (first run: creates and migrates the
        // database); later runs reuse it, as a workstation does every morning.
        let scratch = workspace().join("target/bench-startup");
        if run == 0 {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        let ready = scratch.join("ready");
        let _ = std::fs::remove_file(&ready);
        let t = Instant::now();
        let mut child = Command::new(&app)
            .env("VENUE_DESK_DATA_DIR", scratch.join("data"))
            .env("XDG_CONFIG_HOME", scratch.join("config"))
            .env("XDG_DATA_HOME", scratch.join("xdg-data"))
            .env("XDG_CACHE_HOME", scratch.join("cache"))
            .env("VENUE_DESK_READY_FILE", &ready)
            .env_remove("VENUE_DESK_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        while !ready.exists() {
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                return Err("the window did not become interactive within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        times_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if run == runs - 1 {
            std::thread::sleep(Duration::from_secs(2));
            mem = rss_tree_kb(child.id());
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let first = times_ms[0];
    let mut warm = times_ms[1..].to_vec();
    warm.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = warm[warm.len() / 2];
    let max = warm.last().copied().unwrap_or(first);
    let (app_kb, web_kb, names) = mem;
    Ok(vec![
        Row {
            id: "P7",
            what: format!("process start → first screen interactive ({} runs, release build, Xvfb)", runs),
            figure: format!("median {median:.0} ms, max {max:.0} ms; first run (new database) {first:.0} ms"),
            target: "< 2 s",
            baseline: "-".into(),
        },
        Row {
            id: "P7",
            what: "resident memory 2 s after start".into(),
            figure: format!(
                "app {} MiB + webview processes {} MiB ({})",
                app_kb / 1024,
                web_kb / 1024,
                names.join(", ")
            ),
            target: "reported",
            baseline: "-".into(),
        },
    ])
}

/// CPU seconds (user + system) used so far by `pid` and its descendants.
fn cpu_seconds(pid: u32) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    let mut stack = vec![pid];
    let mut all = Vec::new();
    while let Some(p) = stack.pop() {
        all.push(p);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat"))
                && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
                && rest.split_whitespace().nth(1).and_then(|pp| pp.parse::<u32>().ok()) == Some(p)
            {
                stack.push(child);
            }
        }
    }
    for p in all {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
        {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
            total += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            total += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total as f64 / ticks
}

/// The demo venue with its RTSP port moved to `port`, recording on, `cameras` extra continuous
/// cameras of public areas all reading `url` (one encoder in the simulator serves them all: the
/// recorder's work per stream is the same whatever the source).
fn p4_venue(port: u16, url: &str, cameras: usize, code: &str) -> String {
    let mut toml =
        venue_desk::config::DEMO_VENUE_TOML.replace("127.0.0.1:18554", &format!("127.0.0.1:{port}"));
    toml = toml.replace("code = \"DEMO-01\"", &format!("code = \"{code}\""));
    for i in 0..cameras {
        toml.push_str(&format!(
            "\n[[devices]]\nid = \"cam-bench-{i}\"\nkind = \"camera\"\ndriver = \"rtsp\"\naddress = \"{url}\"\ncontinuous = true\n"
        ));
    }
    toml
}

struct Spawned(std::process::Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// P4: the recorder (`venue-desk record`, one continuous camera) and a bare gst-launch pipeline
/// record the same simulated 1080p30 stream side by side for `secs`; then `streams` cameras at once,
/// with the frames each kept.
fn p4_recording(secs: u64, streams: usize) -> Result<Vec<Row>, String> {
    let bin_dir = std::env::current_exe().map_err(|e| e.to_string())?.parent().unwrap().to_path_buf();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = venue_desk_tests::e2e::free_port();
    let url = format!("rtsp://127.0.0.1:{port}/kb-1/front/main");
    let sim_file = dir.path().join("sim.toml");
    std::fs::write(&sim_file, p4_venue(port, &url, 0, "BENCH-SIM")).map_err(|e| e.to_string())?;
    let control = format!("127.0.0.1:{}", venue_desk_tests::e2e::free_port());
    let _sim = Spawned(
        Command::new(bin_dir.join("venue-sim"))
            .args(["--config", sim_file.to_str().unwrap(), "--control", &control])
            .env("VENUE_DESK_DATA_DIR", dir.path().join("sim"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("venue-sim: {e}"))?,
    );
    std::thread::sleep(Duration::from_secs(2));

    let record = |name: &str, cameras: usize| -> Result<(Spawned, PathBuf), String> {
        let data = dir.path().join(name);
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let file = data.join("venue.toml");
        std::fs::write(&file, p4_venue(port, &url, cameras, &format!("BENCH-{}", std::process::id())))
            .map_err(|e| e.to_string())?;
        let child = Command::new(bin_dir.join("venue-desk"))
            .args(["--config", file.to_str().unwrap(), "record"])
            .env("VENUE_DESK_DATA_DIR", &data)
            .env("XDG_CONFIG_HOME", data.join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("venue-desk record: {e}"))?;
        Ok((Spawned(child), data.join("recordings")))
    };

    // One stream: ours and the bare pipeline, side by side on the same stream.
    let base_dir = dir.path().join("baseline");
    std::fs::create_dir_all(&base_dir).map_err(|e| e.to_string())?;
    let baseline = Spawned(
        Command::new("gst-launch-1.0")
            .args([
                "-q",
                "rtspsrc",
                &format!("location={url}"),
                "protocols=tcp",
                "!",
                "rtph264depay",
                "!",
                "h264parse",
                "!",
            ])
            .args(["splitmuxsink", "muxer-factory=matroskamux", "max-size-time=60000000000"])
            .arg(format!("location={}/seg%05d.mkv", base_dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("gst-launch-1.0: {e}"))?,
    );
    // The same with the audio branch our recorder also writes.
    let with_audio = Spawned(
        Command::new("gst-launch-1.0")
            .args(["-q", "rtspsrc", "name=s", &format!("location={url}"), "protocols=tcp"])
            .args([
                "s.",
                "!",
                "application/x-rtp,media=video",
                "!",
                "rtph264depay",
                "!",
                "h264parse",
                "!",
                "m.video",
            ])
            .args([
                "s.",
                "!",
                "application/x-rtp,media=audio",
                "!",
                "rtpmp4gdepay",
                "!",
                "aacparse",
                "!",
                "m.audio_0",
            ])
            .args(["splitmuxsink", "name=m", "muxer-factory=matroskamux", "max-size-time=60000000000"])
            .arg(format!("location={}/av%05d.mkv", base_dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("gst-launch-1.0: {e}"))?,
    );
    let (ours, _) = record("one", 1)?;
    std::thread::sleep(Duration::from_secs(8));
    let pids = [baseline.0.id(), with_audio.0.id(), ours.0.id()];
    let c0: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p)).collect();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let wall = t0.elapsed().as_secs_f64();
    let pct: Vec<f64> = pids.iter().zip(&c0).map(|(p, c)| (cpu_seconds(*p) - c) / wall * 100.0).collect();
    drop(ours);
    drop(with_audio);
    drop(baseline);
    let (base_pct, av_pct, ours_pct) = (pct[0], pct[1], pct[2]);

    // Many streams at once, then every file counted.
    let (many, rec_dir) = record("many", streams)?;
    std::thread::sleep(Duration::from_secs(8));
    let m0 = cpu_seconds(many.0.id());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let wall_many = t0.elapsed().as_secs_f64();
    let m1 = cpu_seconds(many.0.id());
    let _ = Command::new("kill").arg(many.0.id().to_string()).status();
    std::thread::sleep(Duration::from_secs(6));
    drop(many);
    let mut frames = 0u64;
    let mut duration_ms = 0i64;
    let mut files = 0;
    for i in 0..streams {
        for day in std::fs::read_dir(rec_dir.join(format!("cam-bench-{i}"))).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(day.path()).into_iter().flatten().flatten() {
                if f.path().extension().is_some_and(|e| e == "mkv") {
                    let p = venue_desk::media::recovery::probe_file(&f.path())?;
                    frames += p.video_frames;
                    duration_ms += p.duration_ms;
                    files += 1;
                }
            }
        }
    }
    let expected = duration_ms as f64 / 1000.0 * 30.0;
    let kept = frames as f64 / expected.max(1.0) * 100.0;
    let per_stream = (m1 - m0) / wall_many * 100.0 / streams as f64;
    let ratio = |x: f64| x / base_pct.max(0.01);
    Ok(vec![
        Row {
            id: "P4",
            what: "recording CPU, one 1080p30 H.264+AAC stream (venue-desk record: capture, SHA-256, index)"
                .into(),
            figure: format!(
                "{ours_pct:.1}% of a core ({:.2}× the bare pipeline, {:.2}× it with audio)",
                ratio(ours_pct),
                ours_pct / av_pct.max(0.01)
            ),
            target: "≤ 1.2× bare gst-launch",
            baseline: format!(
                "gst-launch-1.0 rtspsrc ! rtph264depay ! h264parse ! splitmuxsink, same stream: {base_pct:.1}% of a core video only, {av_pct:.1}% with the AAC branch"
            ),
        },
        Row {
            id: "P4",
            what: format!("{streams} 1080p30 streams recorded at once for {secs} s"),
            figure: format!(
                "{per_stream:.2}% of a core per stream ({:.2}× the bare pipeline's one stream); {frames} frames kept of {expected:.0} expected at 30 fps ({kept:.1}%) in {files} files",
                ratio(per_stream)
            ),
            target: "16 streams on 2 cores without frame loss",
            baseline: "-".into(),
        },
    ])
}

/// CPU ticks (user + system) of `pid` and all its descendants, from /proc.
fn cpu_ticks_tree(pid: u32) -> u64 {
    let mut stats = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let after: Vec<String> = stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let ppid: u32 = after.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let ticks: u64 = after.get(11).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
            + after.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        stats.push((p, ppid, ticks));
    }
    let mut total = 0;
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (c, pp, t) in &stats {
            if *c == p {
                total += t;
            }
            if *pp == p {
                frontier.push(*c);
            }
        }
    }
    total
}

/// The newest process named `venue-desk` (the app the WebDriver session started).
fn app_pid() -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "venue-desk")
        })
        .max()
}

/// P5: nine simulated cameras (sub-streams 640x360@30, H.264 + AAC, encoded in this process) on the
/// wall of the real app (WebKitGTK under Xvfb), as a supervisor opens it.
///
/// Glass-to-glass: each simulated camera is a live `videotestsrc` that starts encoding when the
/// app connects; its frame n is made at (first frame's wall time + n / fps) — that is also the clock
/// it burns into the picture. The first frame's wall time is read here by polling the simulator's
/// frame counter every 2 ms. The page timestamps (Date.now(), the same system clock) every frame it
/// presents (`requestVideoFrameCallback`'s mediaTime, or `currentTime` sampled each animation frame
/// where that API is missing); the stream's media time starts at the first frame (mp4mux's timeline
/// begins at its first buffer). Latency = presentation wall time − (first frame wall time + media
/// time). It includes encoding, RTSP, remux, HTTP, MSE, decode and compositing; not the display's own
/// scan-out (Xvfb has none). The first-frame poll can be up to 2 ms late, which makes the figure up to
/// 2 ms too low.
fn p5_live_wall(measure_s: u64) -> Result<Vec<Row>, String> {
    use venue_desk::sim::rtsp::{CameraConfig, RtspSim, VideoFormat};
    use venue_desk_tests::e2e::{RunningApp, Workstation, free_port};
    if std::env::var_os("DISPLAY").is_none() {
        return Err("no DISPLAY (make bench runs under Xvfb)".into());
    }
    const CAMERAS: [(&str, &str); 9] = [
        ("cam-kb1-front", "/kb-1/front"),
        ("cam-kb1-rear", "/kb-1/rear"),
        ("cam-kb2-front", "/kb-2/front"),
        ("cam-pb1-a", "/pb-1/a"),
        ("cam-pb1-b", "/pb-1/b"),
        ("cam-pb2-a", "/pb-2/a"),
        ("cam-gy1-a", "/gy-1/a"),
        ("cam-tp1-a", "/tp-1/a"),
        ("cam-pm1-a", "/pm-1/a"),
    ];
    let sim =
        RtspSim::start(format!("127.0.0.1:{}", free_port()).parse().unwrap()).map_err(|e| e.to_string())?;
    for (id, path) in CAMERAS {
        sim.add_camera(CameraConfig::camera(
            id,
            id,
            id,
            &format!("{path}/main"),
            VideoFormat { width: 320, height: 180, fps: 30 },
            Some((&format!("{path}/sub"), VideoFormat::SUB)),
        ))
        .map_err(|e| e.to_string())?;
    }
    let ws = Workstation::new();
    let venue_file = ws.demo_venue_file(&[("127.0.0.1:18554", sim.addr())], "");
    // The demo's cameras have no sub-stream entry for some rooms: give each its simulated one.
    let mut toml = std::fs::read_to_string(&venue_file).map_err(|e| e.to_string())?;
    for (id, path) in CAMERAS {
        let main = format!("address = \"rtsp://{}{path}/main\"", sim.addr());
        let with_sub = format!("{main}\nsub_stream = \"rtsp://{}{path}/sub\"", sim.addr());
        if toml.contains(&main) && !toml.contains(&format!("rtsp://{}{path}/sub", sim.addr())) {
            toml = toml.replace(&main, &with_sub);
        }
        let _ = id;
    }
    std::fs::write(&venue_file, toml).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = venue_desk::config::load(&venue_file, &ws.data_dir()).unwrap();
        let s = venue_desk::Services::open(config, Arc::new(SystemClock)).await.unwrap();
        venue_desk_tests::e2e::seed_operators(
            &s,
            &[("jiandu01", "监督员赵强", venue_desk::domain::operator::Role::Supervisor, "Jiandu-2026-a")],
        )
        .await;
        s.store.close().await;
    });
    let app = RunningApp::launch(&ws, "bench-p5");
    let s = &app.session;
    let t = Duration::from_secs(30);
    s.wait("[data-testid=login-username]", Duration::from_secs(60))?;
    s.fill("[data-testid=login-username]", "jiandu01")?;
    s.fill("[data-testid=login-password]", &format!("Jiandu-2026-a{}", venue_desk_tests::webdriver::ENTER))?;
    s.wait("[data-testid=enrol-qr]", t)?;
    let secret = s.text_of("[data-testid=enrol-secret]")?;
    s.fill("[data-testid=enrol-code]", &venue_desk_tests::e2e::current_totp(&secret))?;
    s.click("[data-testid=enrol-submit]")?;
    s.wait("[data-testid=home-supervisor]", t)?;

    // Watch the simulator's frame counters from before the wall opens.
    let sub_frames = |id: &str| -> u64 {
        sim.status(id)
            .and_then(|c| c.streams.into_iter().find(|x| x.path.ends_with("/sub")).map(|x| x.frames))
            .unwrap_or(0)
    };
    let ids: Vec<String> = CAMERAS.iter().map(|(id, _)| id.to_string()).collect();
    let before: Vec<u64> = ids.iter().map(|id| sub_frames(id)).collect();
    let ids_for_thread = ids.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let sim = Arc::new(sim);
    let sim2 = sim.clone();
    std::thread::spawn(move || {
        let mut first: Vec<Option<i64>> = vec![None; ids_for_thread.len()];
        let started = Instant::now();
        while first.iter().any(Option::is_none) && started.elapsed() < Duration::from_secs(30) {
            for (i, id) in ids_for_thread.iter().enumerate() {
                if first[i].is_none() {
                    let n = sim2
                        .status(id)
                        .and_then(|c| {
                            c.streams.into_iter().find(|x| x.path.ends_with("/sub")).map(|x| x.frames)
                        })
                        .unwrap_or(0);
                    if n > before[i] {
                        first[i] = Some(chrono::Utc::now().timestamp_millis());
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = tx.send(first);
    });
    s.execute(&format!("location.hash = '#/live?cameras={}&grid=9'", ids.join(",")))?;
    s.wait("[data-testid=live-wall]", t)?;
    for id in &ids {
        s.wait(&format!("[data-testid=live-video-box-{id}][data-state=playing]"), t)?;
    }
    let first = rx.recv().map_err(|e| e.to_string())?;
    s.execute(
        "window.__p5 = {}; for (const v of document.querySelectorAll('[data-testid^=live-video-cam-]')) { \
           const id = v.dataset.testid.slice('live-video-'.length); const out = window.__p5[id] = []; \
           if (v.requestVideoFrameCallback) { \
             const cb = (now, m) => { out.push([m.mediaTime, performance.timeOrigin + now]); v.requestVideoFrameCallback(cb) }; \
             v.requestVideoFrameCallback(cb); \
           } else { \
             let last = -1; const f = () => { if (v.currentTime !== last) { last = v.currentTime; out.push([v.currentTime, Date.now()]) } requestAnimationFrame(f) }; \
             requestAnimationFrame(f); \
           } } \
         window.__p5api = !!HTMLVideoElement.prototype.requestVideoFrameCallback; return true",
    )?;
    // CPU over the measurement window, memory at its end.
    let pid = app_pid().ok_or("the app's process was not found")?;
    let hz = 100.0; // USER_HZ on Linux
    let (c0, t0) = (cpu_ticks_tree(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(measure_s));
    let (c1, wall_s) = (cpu_ticks_tree(pid), t0.elapsed().as_secs_f64());
    let cpu_pct = (c1 - c0) as f64 / hz / wall_s * 100.0;
    let (rss_app, rss_children, _) = rss_tree_kb(pid);
    let api = s.execute("return window.__p5api")?;
    let samples = s.execute("return window.__p5")?;
    app.shot("wall-9");
    let mut lat = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let Some(f) = first[i] else { return Err(format!("{id}: its first frame was not seen")) };
        for pair in samples[id.as_str()].as_array().cloned().unwrap_or_default() {
            let media_s = pair[0].as_f64().unwrap_or(0.0);
            let shown_ms = pair[1].as_f64().unwrap_or(0.0);
            lat.push(shown_ms - (f as f64 + media_s * 1000.0));
        }
    }
    if lat.len() < 100 {
        return Err(format!("too few presented frames sampled ({})", lat.len()));
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    let frames_per_s = lat.len() as f64 / measure_s as f64 / ids.len() as f64;
    Ok(vec![
        Row {
            id: "P5",
            what: format!(
                "live wall, 9 sub-streams 640x360@30 (H.264, video only), glass-to-glass on loopback ({} frames, {})",
                lat.len(),
                if api == true { "requestVideoFrameCallback" } else { "currentTime per animation frame" }
            ),
            figure: format!(
                "median {:.0} ms, p95 {:.0} ms, max {:.0} ms; {:.1} frames/s shown per tile",
                q(0.5),
                q(0.95),
                lat[lat.len() - 1],
                frames_per_s
            ),
            target: "< 1 s on loopback",
            baseline: "-".into(),
        },
        Row {
            id: "P5",
            what: "the app (venue-desk + its WebKit processes) while showing the 9-tile wall".into(),
            figure: format!(
                "CPU {:.0} % of one core over {measure_s} s; resident memory {} MiB (app {} MiB + webview {} MiB)",
                cpu_pct,
                (rss_app + rss_children) / 1024,
                rss_app / 1024,
                rss_children / 1024
            ),
            target: "reported",
            baseline: "-".into(),
        },
    ])
}
