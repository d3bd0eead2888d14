//! `venue-sim`: the venue's devices, simulated on the addresses the venue file gives them, speaking
//! the same protocols as the real ones, for demos, training and tests; and the comprehensive
//! service system (综合服务系统), when the venue file points it at this machine, with two booking
//! requests waiting. Faults are injected over a small HTTP control interface (see `--help`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use venue_desk::config::VenueConfig;
use venue_desk::domain::venue::DeviceKind;
use venue_desk::sim::isapi::{IsapiFault, IsapiSim, IsapiSimConfig, IsapiSimHandle};
use venue_desk::sim::lockboard::{LockBoardFault, LockBoardSim, LockBoardSimHandle, SimBoardConfig};
use venue_desk::sim::modbus::{ModbusFault, ModbusSim, ModbusSimHandle};
use venue_desk::sim::receiver::{DEMO_APP_SECRET, Mode, Receiver, ReceiverConfig};
use venue_desk::sim::rtsp::{CameraConfig, DropMode, RtspSim, RtspSimHandle, VideoFormat};

const USAGE: &str = "\
Usage: venue-sim [--config VENUE.toml] [--control HOST:PORT] [--password PASSWORD] [--auto-close-ms MS]
                 [--camera-format WxH@FPS]

Serves every door controller (ISAPI, Digest auth) and lock board (TCP; serial boards on a pty) of the
venue file (default: the built-in demo venue) on the addresses it names. Opened lockers close by
themselves after --auto-close-ms (default 4000; 0 = only on command), like an expert shutting the door.
Cameras and microphones whose address is rtsp://127.0.0.1:PORT/PATH are served there over RTSP: H.264
test pattern with the room, the camera and the wall clock (ms), AAC tone; main stream 1920x1080@30
(--camera-format to change it), sub_stream 640x360@30. Encoders run only while somebody is playing.

Control (default 127.0.0.1:18599), e.g. with curl -X POST:
  GET  /devices                              what is simulated, and where
  GET  /persons/DEVICE                       the person records on a controller
  POST /fault/DEVICE/none|offline|slow|reject|drop-streams       controller faults
  POST /fault/DEVICE/none|dead|bad-checksum|echo|unsolicited|jam-L|stuck-L   lock board faults
  POST /event/DEVICE?minor=1&employee=vd-1&reader=2              an access event (reader 2 = exit)
  POST /close/DEVICE/L                       close locker L (board address 1)
  POST /input/DEVICE/on|off|pulse            a gate or fire input (pulse: on for 1.5 s, a person walking through)
  POST /fault/DEVICE/none|offline|silent|malformed|exception-N   input module faults
  GET  /camera/DEVICE                        a camera's (or microphone's) state, streams, sessions, frames
  POST /camera/DEVICE/drop                   off the network: sessions torn down, new clients get 503
  POST /camera/DEVICE/drop?mode=stall        off the network, cable pulled: connections stay, no data
  POST /camera/DEVICE/restore                back: new clients play again, stalled ones get data

The service system is served on service_system.base_url when that is http://127.0.0.1:PORT, with the
file's app key and the demo secret (the demo seed puts the same secret in the app's keyring):
  GET  /receiver/stats                       requests, accepted / duplicate / rejected events, gaps, chain breaks
  GET  /receiver/events                      the last 100 accepted events
  POST /receiver/mode  {\"mode\":\"normal\"}     how the events endpoint behaves; other bodies:
       {\"mode\":\"fail\",\"status\":500}  {\"mode\":\"rate_limited\",\"retry_after_s\":30,\"times\":3}
       {\"mode\":\"unavailable\",\"retry_after_s\":30,\"times\":3}  {\"mode\":\"stall\",\"ms\":60000}
       {\"mode\":\"malformed\"}  {\"mode\":\"close_mid_response\"}";

struct Sims {
    controllers: HashMap<String, IsapiSimHandle>,
    /// device id -> (bus, board address)
    boards: HashMap<String, (std::sync::Arc<LockBoardSimHandle>, u8)>,
    /// device id -> (module, input address)
    inputs: HashMap<String, (std::sync::Arc<ModbusSimHandle>, u16)>,
    listing: Vec<serde_json::Value>,
    receiver: Option<Receiver>,
    /// device id -> the RTSP server of its port
    cameras: HashMap<String, std::sync::Arc<RtspSimHandle>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = None;
    let mut control: SocketAddr = "127.0.0.1:18599".parse().unwrap();
    let mut password = venue_desk::DEMO_DEVICE_PASSWORD.to_string();
    let mut auto_close_ms = 4000u64;
    let mut camera_format = VideoFormat::MAIN;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| fail(&format!("{a} needs a value")));
        match a.as_str() {
            "--config" => config = Some(PathBuf::from(value())),
            "--control" => control = value().parse().unwrap_or_else(|_| fail("--control needs HOST:PORT")),
            "--password" => password = value(),
            "--auto-close-ms" => {
                auto_close_ms = value().parse().unwrap_or_else(|_| fail("--auto-close-ms needs a number"))
            }
            "--camera-format" => {
                camera_format =
                    parse_format(&value()).unwrap_or_else(|| fail("--camera-format needs WxH@FPS"))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let venue = venue_desk::cli::load_config(config).unwrap_or_else(|e| fail(e.message()));
    let mut sims = start(&venue, &password, auto_close_ms);
    start_cameras(&venue, camera_format, &mut sims);
    for line in &sims.listing {
        println!("{line}");
    }
    sims.receiver = start_receiver(&venue);
    let server =
        tiny_http::Server::http(control).unwrap_or_else(|e| fail(&format!("control {control}: {e}")));
    println!(
        "venue-sim: {} devices simulated for {}; control on http://{control}",
        sims.listing.len(),
        venue.code
    );
    for mut request in server.incoming_requests() {
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let (status, reply) = handle(&sims, request.method().as_str(), request.url(), &body);
        let response = tiny_http::Response::from_string(reply.to_string())
            .with_status_code(status)
            .with_header("Content-Type: application/json".parse::<tiny_http::Header>().unwrap());
        let _ = request.respond(response);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("venue-sim: {message}\n\n{USAGE}");
    std::process::exit(2);
}

/// `1280x720@25` -> 1280x720 at 25 frames a second.
fn parse_format(s: &str) -> Option<VideoFormat> {
    let (size, fps) = s.split_once('@')?;
    let (w, h) = size.split_once('x')?;
    let f = VideoFormat { width: w.parse().ok()?, height: h.parse().ok()?, fps: fps.parse().ok()? };
    (f.width >= 16 && f.height >= 16 && (1..=120).contains(&f.fps)).then_some(f)
}

/// `rtsp://127.0.0.1:18554/kb-1/front/main` -> (127.0.0.1:18554, /kb-1/front/main), loopback only:
/// any other address is a real camera to leave alone.
fn rtsp_address(url: &str) -> Option<(SocketAddr, String)> {
    let rest = url.strip_prefix("rtsp://")?;
    let (host, path) = rest.split_once('/')?;
    let addr = host.parse::<SocketAddr>().ok().filter(|a| a.ip().is_loopback())?;
    (!path.trim_matches('/').is_empty()).then(|| (addr, format!("/{}", path.trim_matches('/'))))
}

/// Serves every camera and microphone of the venue file with a loopback RTSP address, one RTSP
/// server per port.
fn start_cameras(venue: &VenueConfig, main: VideoFormat, sims: &mut Sims) {
    let mut servers: Vec<(SocketAddr, Vec<CameraConfig>)> = Vec::new();
    let mut not_here = Vec::new();
    for (i, d) in venue.devices.iter().enumerate() {
        if !matches!(d.kind, DeviceKind::Camera | DeviceKind::Microphone) || d.driver != "rtsp" {
            continue;
        }
        let Some((addr, path)) = rtsp_address(&d.address) else {
            not_here.push(serde_json::json!({"device": d.id, "protocol": "rtsp", "simulated": false,
                "why": "not rtsp://127.0.0.1:PORT/PATH"}));
            continue;
        };
        let room = venue.rooms.iter().find(|r| r.devices.contains(&d.id)).map_or("", |r| r.name.as_str());
        let mut config = if d.kind == DeviceKind::Microphone {
            CameraConfig::microphone(&d.id, room, &d.name, &path)
        } else {
            let sub = d.sub_stream.as_deref().and_then(|s| match rtsp_address(s) {
                Some((a, p)) if a == addr => Some(p),
                _ => {
                    eprintln!("venue-sim: {}: sub_stream {s} is not on {addr}, not simulated", d.id);
                    None
                }
            });
            CameraConfig::camera(
                &d.id,
                room,
                &d.name,
                &path,
                main,
                sub.as_deref().map(|p| (p, VideoFormat::SUB)),
            )
        };
        // A tone of its own for each device, to tell their sound apart in a playback.
        config.tone_hz = 330.0 + 110.0 * (i % 8) as f64;
        match servers.iter_mut().find(|(a, _)| *a == addr) {
            Some((_, configs)) => configs.push(config),
            None => servers.push((addr, vec![config])),
        }
    }
    sims.listing.extend(not_here);
    for (addr, configs) in servers {
        let server = match RtspSim::start(addr) {
            Ok(s) => std::sync::Arc::new(s),
            Err(e) => {
                eprintln!("venue-sim: cameras on {addr}: {e}");
                continue;
            }
        };
        for w in server.warnings() {
            eprintln!("venue-sim: cameras on {addr}: {w}");
        }
        for config in configs {
            let id = config.id.clone();
            let urls: Vec<String> = config.streams.iter().map(|s| server.url(&s.path)).collect();
            match server.add_camera(config) {
                Ok(()) => {
                    let mut line = serde_json::json!({"device": id, "protocol": "rtsp", "address": urls[0]});
                    if let Some(sub) = urls.get(1) {
                        line["sub_stream"] = sub.clone().into();
                    }
                    sims.listing.push(line);
                    sims.cameras.insert(id, server.clone());
                }
                Err(e) => eprintln!("venue-sim: {id}: {e}"),
            }
        }
    }
}

fn host_port(address: &str) -> Option<SocketAddr> {
    let a = address.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
    a.parse().ok()
}

/// Serves the service system on its loopback address; anything else is a real platform to leave alone.
fn start_receiver(venue: &VenueConfig) -> Option<Receiver> {
    let url = &venue.service.base_url;
    let addr = url
        .strip_prefix("http://")
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .filter(|a| a.ip().is_loopback());
    let Some(addr) = addr else {
        println!("venue-sim: service system {url} is not http://127.0.0.1:PORT, not simulated");
        return None;
    };
    let Some(app_key) = venue.service.app_key_hint.clone() else {
        eprintln!("venue-sim: service_system.app_key is not set, the service system is not simulated");
        return None;
    };
    let config = ReceiverConfig {
        venue_code: venue.code.clone(),
        app_key,
        app_secret: DEMO_APP_SECRET.as_bytes().to_vec(),
        time_zone: venue.time_zone,
    };
    let receiver = match Receiver::start(&addr.to_string(), config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("venue-sim: service system: cannot listen on {addr}: {e}");
            return None;
        }
    };
    // The demo requests name the demo venue's rooms; another venue starts with none.
    let has_room = |id: &str| venue.rooms.iter().any(|r| r.id == id);
    if has_room("kb-2") && has_room("pb-2") {
        let today = chrono::Utc::now().with_timezone(&venue.time_zone).date_naive();
        receiver.add_bookings(venue_desk::sim::receiver::demo_bookings(today, venue.time_zone));
    }
    println!(
        "{}",
        serde_json::json!({"device": "service-system", "protocol": "venue-api", "address": addr.to_string()})
    );
    Some(receiver)
}

fn start(venue: &VenueConfig, password: &str, auto_close_ms: u64) -> Sims {
    let mut sims = Sims {
        controllers: HashMap::new(),
        boards: HashMap::new(),
        inputs: HashMap::new(),
        listing: Vec::new(),
        receiver: None,
        cameras: HashMap::new(),
    };
    let mut buses: HashMap<String, Vec<(String, SimBoardConfig)>> = HashMap::new();
    let mut modules: HashMap<String, Vec<(String, u8, u16)>> = HashMap::new();
    for d in &venue.devices {
        match (d.kind, d.driver.as_str()) {
            (DeviceKind::DoorController, "hik_isapi") => {
                let Some(addr) = host_port(&d.address) else {
                    eprintln!("venue-sim: {}: {} is not host:port, skipped", d.id, d.address);
                    continue;
                };
                let config = IsapiSimConfig {
                    username: d.username.clone().unwrap_or_else(|| "admin".into()),
                    password: password.into(),
                    device_name: d.name.clone(),
                    serial_number: format!("VSIM-{}", d.id),
                    doors: d.door_no.unwrap_or(1).max(1),
                    heartbeat_ms: 10_000,
                };
                match IsapiSim::start(addr, config) {
                    Ok(h) => {
                        sims.listing.push(serde_json::json!({"device": d.id, "protocol": "isapi", "address": addr.to_string()}));
                        sims.controllers.insert(d.id.clone(), h);
                    }
                    Err(e) => eprintln!("venue-sim: {}: cannot listen on {addr}: {e}", d.id),
                }
            }
            (DeviceKind::IoModule, "modbus_tcp") => {
                modules.entry(d.address.clone()).or_default().push((
                    d.id.clone(),
                    d.unit_id.unwrap_or(1),
                    d.input_address.unwrap_or(0),
                ));
            }
            (DeviceKind::LockBoard, _) => {
                let mut board = SimBoardConfig::new(d.board_address, d.channels.unwrap_or(24) as u8);
                if !d.unlocked_when_set {
                    board.polarity = venue_desk::devices::lockboard::LockPolarity::LockedWhenSet;
                }
                let bus = if d.driver == "lockboard_tcp" {
                    d.address.clone()
                } else {
                    format!("pty:{}", d.address)
                };
                buses.entry(bus).or_default().push((d.id.clone(), board));
            }
            // Served by start_cameras.
            (DeviceKind::Camera | DeviceKind::Microphone, "rtsp") => {}
            _ => sims
                .listing
                .push(serde_json::json!({"device": d.id, "protocol": d.driver, "simulated": false})),
        }
    }
    for (address, inputs) in modules {
        let Ok(addr) = address.parse::<SocketAddr>() else {
            eprintln!("venue-sim: input module {address} is not host:port, skipped");
            continue;
        };
        let unit = inputs[0].1;
        match ModbusSim::start(addr, unit, 16) {
            Ok(h) => {
                let h = std::sync::Arc::new(h);
                for (id, _, input) in inputs {
                    sims.listing.push(serde_json::json!({"device": id, "protocol": "modbus_tcp", "address": address, "input": input}));
                    sims.inputs.insert(id, (h.clone(), input));
                }
            }
            Err(e) => eprintln!("venue-sim: input module {address}: {e}"),
        }
    }
    for (bus, boards) in buses {
        let configs = boards.iter().map(|(_, b)| *b).collect();
        let started = match bus.strip_prefix("pty:") {
            Some(_) => LockBoardSim::start_pty(configs),
            None => match bus.parse() {
                Ok(addr) => LockBoardSim::start_tcp(addr, configs),
                Err(_) => {
                    eprintln!("venue-sim: lock board bus {bus} is not host:port, skipped");
                    continue;
                }
            },
        };
        match started {
            Ok(h) => {
                h.set_auto_close_ms((auto_close_ms > 0).then_some(auto_close_ms));
                let h = std::sync::Arc::new(h);
                let where_ = h.addr().map(|a| a.to_string()).or_else(|| h.pty_path()).unwrap_or_default();
                for (id, b) in boards {
                    // A serial board's venue path cannot be created here; the pty stands in for it.
                    sims.listing.push(serde_json::json!({"device": id, "protocol": "lockboard", "address": where_, "board": b.address}));
                    sims.boards.insert(id, (h.clone(), b.address));
                }
            }
            Err(e) => eprintln!("venue-sim: lock board bus {bus}: {e}"),
        }
    }
    sims
}

fn handle(sims: &Sims, method: &str, url: &str, body: &str) -> (u16, serde_json::Value) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: HashMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let bad = |m: String| (400, serde_json::json!({"error": m}));
    match (method, parts.as_slice()) {
        ("GET", ["devices"]) => (200, serde_json::Value::Array(sims.listing.clone())),
        (_, ["receiver", ..]) if sims.receiver.is_none() => {
            bad("the service system is not simulated here; venue-sim said why when it started".into())
        }
        ("GET", ["receiver", "stats"]) => {
            let stats = sims.receiver.as_ref().map(Receiver::stats).unwrap_or_default();
            (200, serde_json::to_value(stats).unwrap_or_default())
        }
        ("GET", ["receiver", "events"]) => {
            let events = sims.receiver.as_ref().map(Receiver::accepted).unwrap_or_default();
            let last: Vec<_> = events.iter().rev().take(100).rev().collect();
            (200, serde_json::to_value(last).unwrap_or_default())
        }
        ("POST", ["receiver", "mode"]) => {
            let mode = match serde_json::from_str::<Mode>(body) {
                Ok(Mode::Fail { status }) if !(400..=599).contains(&status) => {
                    return bad(format!("fail status {status} is not an error status (400–599)"));
                }
                Ok(m) => m,
                Err(e) => return bad(format!("mode body: {e}; see venue-sim --help")),
            };
            if let Some(r) = &sims.receiver {
                r.set_mode(mode.clone());
            }
            (200, serde_json::to_value(mode).unwrap_or_default())
        }
        ("GET", ["persons", device]) => match sims.controllers.get(*device) {
            Some(h) => (
                200,
                h.persons()
                    .into_iter()
                    .map(|p| {
                        serde_json::json!({"employeeNo": p.employee_no, "name": p.name,
                            "validFrom": p.valid_from.to_string(), "validUntil": p.valid_until.to_string(),
                            "doors": p.door_nos, "cards": p.cards})
                    })
                    .collect(),
            ),
            None => bad(format!("no simulated controller {device}")),
        },
        ("POST", ["fault", device, fault]) => {
            if let Some(h) = sims.controllers.get(*device) {
                let f = match *fault {
                    "none" => IsapiFault::None,
                    "offline" => IsapiFault::Offline,
                    "slow" => {
                        IsapiFault::SlowMs(params.get("ms").and_then(|m| m.parse().ok()).unwrap_or(5000))
                    }
                    "reject" => {
                        IsapiFault::RejectRecords { sub_status_code: "deviceUserAlreadyExistFace".into() }
                    }
                    "drop-streams" => IsapiFault::DropAlertStreams,
                    other => return bad(format!("unknown controller fault {other}")),
                };
                h.set_fault(f);
                return (200, serde_json::json!({"device": device, "fault": fault}));
            }
            if let Some((h, _)) = sims.inputs.get(*device) {
                let f = match fault.split_once('-') {
                    _ if *fault == "none" => ModbusFault::None,
                    _ if *fault == "offline" => ModbusFault::Offline,
                    _ if *fault == "silent" => ModbusFault::Silent,
                    _ if *fault == "malformed" => ModbusFault::Malformed,
                    Some(("exception", n)) if n.parse::<u8>().is_ok() => {
                        ModbusFault::Exception(n.parse().unwrap_or(4))
                    }
                    _ => return bad(format!("unknown input module fault {fault}")),
                };
                h.set_fault(f);
                return (200, serde_json::json!({"device": device, "fault": fault}));
            }
            if let Some((h, board)) = sims.boards.get(*device) {
                let lock = |s: &str| s.parse::<u8>().ok();
                let f = match fault.split_once('-') {
                    _ if *fault == "none" => LockBoardFault::None,
                    _ if *fault == "dead" => LockBoardFault::Dead,
                    _ if *fault == "bad-checksum" => LockBoardFault::BadChecksum { count: 3 },
                    _ if *fault == "echo" => LockBoardFault::Echo(true),
                    _ if *fault == "unsolicited" => LockBoardFault::Unsolicited(true),
                    Some(("jam", l)) if lock(l).is_some() => {
                        LockBoardFault::Jammed { lock: lock(l).unwrap() }
                    }
                    Some(("stuck", l)) if lock(l).is_some() => {
                        LockBoardFault::StuckOpen { lock: lock(l).unwrap() }
                    }
                    _ => return bad(format!("unknown lock board fault {fault}")),
                };
                h.set_fault(*board, f);
                return (200, serde_json::json!({"device": device, "fault": fault}));
            }
            bad(format!("no simulated device {device}"))
        }
        ("POST", ["event", device]) => match sims.controllers.get(*device) {
            Some(h) => {
                let minor = params.get("minor").and_then(|m| m.parse().ok()).unwrap_or(1);
                let reader = params.get("reader").and_then(|m| m.parse().ok()).unwrap_or(1);
                let serial = h.push_access_event(minor, params.get("employee").copied(), reader);
                (200, serde_json::json!({"device": device, "serialNo": serial}))
            }
            None => bad(format!("no simulated controller {device}")),
        },
        ("POST", ["input", device, level]) => match sims.inputs.get(*device) {
            Some((h, input)) => {
                match *level {
                    "on" => h.set_input(*input, true),
                    "off" => h.set_input(*input, false),
                    "pulse" => h.pulse(*input, 1500),
                    other => return bad(format!("unknown input level {other}: on, off or pulse")),
                }
                (200, serde_json::json!({"device": device, "input": input, "level": level}))
            }
            None => bad(format!("no simulated input {device}")),
        },
        ("POST", ["close", device, lock]) => match (sims.boards.get(*device), lock.parse::<u8>()) {
            (Some((h, board)), Ok(l)) => {
                h.close(*board, l);
                (200, serde_json::json!({"device": device, "closed": l}))
            }
            _ => bad(format!("no simulated lock board {device} or bad lock {lock}")),
        },
        (_, ["camera", device, ..]) if !sims.cameras.contains_key(*device) => {
            (404, serde_json::json!({"error": format!("no simulated camera {device}")}))
        }
        ("GET", ["camera", device]) => {
            let status = sims.cameras.get(*device).and_then(|c| c.status(device));
            (200, serde_json::to_value(status).unwrap_or_default())
        }
        ("POST", ["camera", device, "drop"]) => {
            let mode = match params.get("mode").copied() {
                None | Some("disconnect") => DropMode::Disconnect,
                Some("stall") => DropMode::Stall,
                Some(other) => return bad(format!("unknown drop mode {other}: disconnect or stall")),
            };
            let status = sims.cameras.get(*device).and_then(|c| c.drop_camera(device, mode));
            (200, serde_json::to_value(status).unwrap_or_default())
        }
        ("POST", ["camera", device, "restore"]) => {
            let status = sims.cameras.get(*device).and_then(|c| c.restore_camera(device));
            (200, serde_json::to_value(status).unwrap_or_default())
        }
        _ => (404, serde_json::json!({"error": "unknown request; see venue-sim --help"})),
    }
}
