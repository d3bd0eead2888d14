//! Simulated Hikvision ISAPI door controller: the endpoints of devices.md over real HTTP with
//! Digest authentication, a person/card store, a door-command log, an event log with increasing
//! serial numbers and a live alert stream.
//!
//! It behaves like the real devices in the ways that break naive drivers: event searches come back
//! unordered within a page and repeat the previous page's last item, person searches page with
//! MORE at 30 per page, errors come with HTTP 400 and an ISAPI sub-status, deletes of absent
//! records are reported as errors (`…NotExist`), nonces expire. Faults can be injected at run time
//! (`set_fault`): a controller that is off the network, slow, refusing records, or dropping its
//! alert streams.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Timelike, Utc};
use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};

use crate::devices::DoorCommand;
use crate::devices::hik_isapi::{digest, events, xml};

/// What the simulated controller is and who may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsapiSimConfig {
    pub username: String,
    pub password: String,
    pub device_name: String,
    pub serial_number: String,
    pub doors: u32,
    /// Interval of `heartBeat` parts on open alert streams (real devices: about 10 s).
    pub heartbeat_ms: u64,
}

impl Default for IsapiSimConfig {
    fn default() -> Self {
        IsapiSimConfig {
            username: "admin".into(),
            password: "Sim12345".into(),
            device_name: "Simulated door controller".into(),
            serial_number: "DS-K2604T20260101V020200ENSIM0001".into(),
            doors: 4,
            heartbeat_ms: 10_000,
        }
    }
}

/// A person record as stored by the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPerson {
    pub employee_no: String,
    pub name: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub door_nos: Vec<u32>,
    pub cards: Vec<String>,
}

/// Injected misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsapiFault {
    None,
    /// Off the network: the port refuses connections and open alert streams are cut.
    Offline,
    /// Every answer is delayed by this many milliseconds.
    SlowMs(u64),
    /// Person and card records are refused with this sub-status (e.g. `deviceMemoryFull`).
    RejectRecords {
        sub_status_code: String,
    },
    /// Cuts every open alert stream once; reconnections are accepted.
    DropAlertStreams,
}

#[derive(Debug, Clone)]
struct SimEvent {
    serial_no: u64,
    time: DateTime<FixedOffset>,
    major: u32,
    minor: u32,
    employee_no: Option<String>,
    card_no: Option<String>,
    door_no: u32,
    card_reader_no: u32,
}

struct State {
    persons: BTreeMap<String, SimPerson>,
    door_log: Vec<(u32, DoorCommand)>,
    door_states: HashMap<u32, DoorCommand>,
    events: Vec<SimEvent>,
    next_serial: u64,
    streams: Vec<Sender<Vec<u8>>>,
    fault: IsapiFault,
    nonces: HashMap<String, Instant>,
}

struct Shared {
    config: IsapiSimConfig,
    addr: SocketAddr,
    stopped: AtomicBool,
    requests: std::sync::atomic::AtomicU64,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Listener {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Starts simulated controllers.
pub struct IsapiSim;

/// A running simulated controller. Dropping it stops the server and frees the port.
pub struct IsapiSimHandle {
    shared: Arc<Shared>,
    listener: Mutex<Option<Listener>>,
}

/// Nonces live this long, like the few minutes real firmware allows.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);
const BOUNDARY: &str = "MIME_boundary";
/// The simulated venue clock: China Standard Time.
fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC offset"))
}

fn now_cst() -> DateTime<FixedOffset> {
    let t = Utc::now().with_timezone(&cst());
    t.with_nanosecond(0).unwrap_or(t)
}

fn fmt_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn fmt_local(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn start_listener(shared: &Arc<Shared>, addr: SocketAddr) -> std::io::Result<Listener> {
    let server = Server::http(addr).map_err(std::io::Error::other)?;
    Ok(spawn_listener(shared, server))
}

fn spawn_listener(shared: &Arc<Shared>, server: Server) -> Listener {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let shared = shared.clone();
    let thread = std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match server.recv_timeout(Duration::from_millis(20)) {
                Ok(Some(req)) => {
                    let shared = shared.clone();
                    std::thread::spawn(move || handle(&shared, req));
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
        // Dropping the server closes the listening socket.
    });
    Listener { stop, thread }
}

impl IsapiSim {
    /// Binds `bind` (port 0 picks a free port) and starts serving.
    pub fn start(bind: SocketAddr, config: IsapiSimConfig) -> std::io::Result<IsapiSimHandle> {
        let server = Server::http(bind).map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the ISAPI simulator is not listening on an IP address"))?;
        let shared = Arc::new(Shared {
            config,
            addr,
            stopped: AtomicBool::new(false),
            requests: std::sync::atomic::AtomicU64::new(0),
            state: Mutex::new(State {
                persons: BTreeMap::new(),
                door_log: Vec::new(),
                door_states: HashMap::new(),
                events: Vec::new(),
                next_serial: 1,
                streams: Vec::new(),
                fault: IsapiFault::None,
                nonces: HashMap::new(),
            }),
        });
        let listener = spawn_listener(&shared, server);
        Ok(IsapiSimHandle { shared, listener: Mutex::new(Some(listener)) })
    }
}

impl IsapiSimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://addr`, ready for the driver's settings.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    pub fn persons(&self) -> Vec<SimPerson> {
        self.shared.state().persons.values().cloned().collect()
    }

    /// Records an access event (major 5) on door 1 and pushes it to every open alert stream.
    /// The card is the person's first card, if any. Returns the event's serial number.
    pub fn push_access_event(&self, minor: u32, employee_no: Option<&str>, card_reader_no: u32) -> u64 {
        let mut st = self.shared.state();
        let serial_no = st.next_serial;
        st.next_serial += 1;
        let card_no = employee_no.and_then(|e| st.persons.get(e)).and_then(|p| p.cards.first().cloned());
        let ev = SimEvent {
            serial_no,
            time: now_cst(),
            major: 5,
            minor,
            employee_no: employee_no.map(str::to_string),
            card_no,
            door_no: 1,
            card_reader_no,
        };
        let body = json!({
            "ipAddress": self.shared.addr.ip().to_string(),
            "portNo": self.shared.addr.port(),
            "protocol": "HTTP",
            "macAddress": "44:19:b6:00:00:01",
            "channelID": 1,
            "dateTime": fmt_time(&ev.time),
            "activePostCount": 1,
            "eventType": "AccessControllerEvent",
            "eventState": "active",
            "eventDescription": "Access Controller Event",
            "AccessControllerEvent": {
                "deviceName": self.shared.config.device_name,
                "majorEventType": ev.major,
                "subEventType": ev.minor,
                "cardNo": ev.card_no.clone().unwrap_or_default(),
                "cardType": 1,
                "cardReaderKind": 1,
                "cardReaderNo": ev.card_reader_no,
                "doorNo": ev.door_no,
                "employeeNoString": ev.employee_no.clone().unwrap_or_default(),
                "serialNo": ev.serial_no,
                "userType": "normal",
                "currentVerifyMode": "cardOrFace",
                "frontSerialNo": ev.serial_no.saturating_sub(1),
                "attendanceStatus": "undefined",
                "mask": "no"
            }
        });
        st.events.push(ev);
        broadcast(&mut st, &body);
        serial_no
    }

    /// Pushes an alarm-input change (`eventType` `IO`) to every open alert stream.
    pub fn push_alarm_input(&self, input_no: u32, active: bool) {
        let body = json!({
            "ipAddress": self.shared.addr.ip().to_string(),
            "portNo": self.shared.addr.port(),
            "protocol": "HTTP",
            "dateTime": fmt_time(&now_cst()),
            "activePostCount": 1,
            "eventType": "IO",
            "eventState": if active { "active" } else { "inactive" },
            "eventDescription": "IO alarm",
            "inputIOPortID": input_no
        });
        broadcast(&mut self.shared.state(), &body);
    }

    pub fn door_commands_received(&self) -> Vec<(u32, DoorCommand)> {
        self.shared.state().door_log.clone()
    }

    /// The last command applied to a door, if any.
    pub fn door_state(&self, door_no: u32) -> Option<DoorCommand> {
        self.shared.state().door_states.get(&door_no).copied()
    }

    /// HTTP requests that reached the simulator (answered or not), e.g. to prove a driver does
    /// not retry a rejected login in a loop.
    pub fn requests_received(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Forgets every issued nonce, as a controller does after its nonce lifetime or a reboot:
    /// the next digest is answered with `stale=TRUE`.
    pub fn expire_nonces(&self) {
        self.shared.state().nonces.clear();
    }

    /// Alert streams currently open.
    pub fn open_streams(&self) -> usize {
        self.shared.state().streams.len()
    }

    pub fn set_fault(&self, fault: IsapiFault) {
        let was_offline;
        {
            let mut st = self.shared.state();
            was_offline = st.fault == IsapiFault::Offline;
            match &fault {
                IsapiFault::Offline | IsapiFault::DropAlertStreams => st.streams.clear(),
                _ => {}
            }
            st.fault = if fault == IsapiFault::DropAlertStreams { IsapiFault::None } else { fault.clone() };
        }
        if fault == IsapiFault::Offline {
            self.stop_listener();
        } else if was_offline && !self.shared.stopped.load(Ordering::SeqCst) {
            // Back on the network, on the same port.
            let until = Instant::now() + Duration::from_secs(3);
            loop {
                match start_listener(&self.shared, self.shared.addr) {
                    Ok(l) => {
                        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(l);
                        break;
                    }
                    Err(e) if Instant::now() >= until => {
                        tracing::error!(addr = %self.shared.addr, error = %e, "ISAPI simulator could not listen again");
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }

    fn stop_listener(&self) {
        let l = self.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(l) = l {
            l.stop.store(true, Ordering::SeqCst);
            let _ = l.thread.join();
            // tiny_http closes its accept loop asynchronously; wait until the port refuses.
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                match TcpStream::connect_timeout(&self.shared.addr, Duration::from_millis(100)) {
                    Ok(_) => std::thread::sleep(Duration::from_millis(10)),
                    Err(_) => break,
                }
            }
        }
    }

    /// Stops serving: closes streams and the port. Idempotent.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.state().streams.clear();
        self.stop_listener();
    }
}

impl Drop for IsapiSimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

fn part_bytes(body: &Value) -> Vec<u8> {
    let text = body.to_string();
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Type: application/json; charset=\"UTF-8\"\r\nContent-Length: {}\r\n\r\n",
        text.len()
    )
    .into_bytes();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

fn broadcast(st: &mut State, body: &Value) {
    let bytes = part_bytes(body);
    st.streams.retain(|s| s.send(bytes.clone()).is_ok());
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(req: Request, status: u16, content_type: &str, body: String) {
    let mut r = Response::from_string(body).with_status_code(status);
    if let Some(h) = header("Content-Type", content_type) {
        r.add_header(h);
    }
    let _ = req.respond(r);
}

fn respond_json(req: Request, status: u16, body: Value) {
    respond(req, status, "application/json; charset=\"UTF-8\"", body.to_string());
}

fn ok_json() -> Value {
    json!({"statusCode": 1, "statusString": "OK", "subStatusCode": "ok"})
}

fn error_json(req: Request, code: i64, status_string: &str, sub: &str) {
    respond_json(
        req,
        400,
        json!({"statusCode": code, "statusString": status_string, "subStatusCode": sub,
               "errorCode": 0x6000_0000u32 + code as u32, "errorMsg": sub}),
    );
}

fn response_status_xml(url: &str, code: i64, status_string: &str, sub: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ResponseStatus version=\"2.0\" \
         xmlns=\"http://www.isapi.org/ver20/XMLSchema\"><requestURL>{}</requestURL><statusCode>{code}</statusCode>\
         <statusString>{status_string}</statusString><subStatusCode>{sub}</subStatusCode></ResponseStatus>",
        quick_xml::escape::escape(url)
    )
}

/// Closes the connection without an answer, as a controller that drops off the network does.
fn drop_connection(req: Request) {
    drop(req.into_writer());
}

fn sleep_unless_stopped(shared: &Shared, ms: u64) {
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until && !shared.stopped.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn request_header<'a>(req: &'a Request, name: &'static str) -> Option<&'a str> {
    req.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
}

enum AuthCheck {
    Ok,
    Challenge { stale: bool },
}

fn check_auth(shared: &Shared, req: &Request) -> AuthCheck {
    let cfg = &shared.config;
    let Some(h) = request_header(req, "Authorization") else { return AuthCheck::Challenge { stale: false } };
    if let Some(token) = digest::strip_scheme(h, "Basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok();
        let expected = format!("{}:{}", cfg.username, cfg.password);
        return if decoded.as_deref() == Some(expected.as_bytes()) {
            AuthCheck::Ok
        } else {
            AuthCheck::Challenge { stale: false }
        };
    }
    let Some(rest) = digest::strip_scheme(h, "Digest") else { return AuthCheck::Challenge { stale: false } };
    let params = digest::parse_params(rest);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    if get("username") != cfg.username || get("uri") != req.url() || get("realm") != realm(cfg) {
        return AuthCheck::Challenge { stale: false };
    }
    let qop = get("qop");
    let qop = if qop.is_empty() { None } else { Some(qop) };
    let algorithm = if get("algorithm").eq_ignore_ascii_case("MD5-sess") {
        digest::Algorithm::Md5Sess
    } else {
        digest::Algorithm::Md5
    };
    let expected = digest::compute_response(
        algorithm,
        &cfg.username,
        get("realm"),
        &cfg.password,
        get("nonce"),
        get("nc"),
        get("cnonce"),
        qop,
        req.method().as_str(),
        get("uri"),
    );
    if !expected.eq_ignore_ascii_case(get("response")) {
        return AuthCheck::Challenge { stale: false };
    }
    let st = shared.state();
    match st.nonces.get(get("nonce")) {
        Some(issued) if issued.elapsed() < NONCE_LIFETIME => AuthCheck::Ok,
        _ => AuthCheck::Challenge { stale: true },
    }
}

fn realm(cfg: &IsapiSimConfig) -> String {
    format!("DS-SIM({})", cfg.serial_number.chars().rev().take(9).collect::<String>())
}

fn challenge(shared: &Shared, req: Request, stale: bool) {
    let nonce = random_hex(16);
    {
        let mut st = shared.state();
        st.nonces.retain(|_, t| t.elapsed() < NONCE_LIFETIME);
        st.nonces.insert(nonce.clone(), Instant::now());
    }
    let value = format!(
        "Digest qop=\"auth\", realm=\"{}\", nonce=\"{nonce}\", opaque=\"{}\", algorithm=\"MD5\", stale=\"{}\"",
        realm(&shared.config),
        random_hex(8),
        if stale { "TRUE" } else { "FALSE" }
    );
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<userCheck><statusValue>401</statusValue>\
                <statusString>Unauthorized</statusString></userCheck>";
    let mut r = Response::from_string(body).with_status_code(401);
    for h in
        [header("WWW-Authenticate", &value), header("Content-Type", "application/xml")].into_iter().flatten()
    {
        r.add_header(h);
    }
    let _ = req.respond(r);
}

fn handle(shared: &Arc<Shared>, mut req: Request) {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let fault = shared.state().fault.clone();
    match fault {
        IsapiFault::Offline => return drop_connection(req),
        IsapiFault::SlowMs(ms) => sleep_unless_stopped(shared, ms),
        _ => {}
    }
    if shared.stopped.load(Ordering::SeqCst) || shared.state().fault == IsapiFault::Offline {
        return drop_connection(req);
    }
    if let AuthCheck::Challenge { stale } = check_auth(shared, &req) {
        return challenge(shared, req, stale);
    }
    let url = req.url().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let method = req.method().as_str().to_string();
    let mut body = Vec::new();
    let _ = req.as_reader().take(1 << 20).read_to_end(&mut body);
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reject = match &fault {
        IsapiFault::RejectRecords { sub_status_code } => Some(sub_status_code.clone()),
        _ => None,
    };
    let cfg = &shared.config;
    match (method.as_str(), path.as_str()) {
        ("GET", "/ISAPI/System/deviceInfo") => {
            let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
            let doc = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeviceInfo version=\"2.0\" \
                 xmlns=\"http://www.isapi.org/ver20/XMLSchema\"><deviceName>{}</deviceName>\
                 <deviceID>{}</deviceID><model>DS-K2604T</model><serialNumber>{}</serialNumber>\
                 <macAddress>44:19:b6:00:00:01</macAddress><firmwareVersion>V2.2.0</firmwareVersion>\
                 <firmwareReleasedDate>build 230101</firmwareReleasedDate><deviceType>ACS</deviceType></DeviceInfo>",
                esc(&cfg.device_name),
                uuid::Uuid::new_v4(),
                esc(&cfg.serial_number)
            );
            respond(req, 200, "application/xml", doc);
        }
        ("GET", "/ISAPI/AccessControl/RemoteControl/door/capabilities") => {
            let doc = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RemoteControlDoor version=\"2.0\" \
                 xmlns=\"http://www.isapi.org/ver20/XMLSchema\"><doorNo min=\"1\" max=\"{}\"/>\
                 <cmd opt=\"open,close,remainOpen,alwaysClose,normal,visitorCallLadder\"/>\
                 <channelNo min=\"1\" max=\"1\"/></RemoteControlDoor>",
                cfg.doors
            );
            respond(req, 200, "application/xml", doc);
        }
        ("PUT", p) if p.starts_with("/ISAPI/AccessControl/RemoteControl/door/") => {
            door_control(shared, req, &url, p, &body);
        }
        ("POST", "/ISAPI/AccessControl/UserInfo/Record")
        | ("PUT", "/ISAPI/AccessControl/UserInfo/Modify") => {
            if let Some(sub) = reject {
                return error_json(req, 6, "Invalid Content", &sub);
            }
            user_record(shared, req, &json_body, method == "POST");
        }
        ("PUT", "/ISAPI/AccessControl/UserInfo/Delete") => user_delete(shared, req, &json_body),
        ("POST", "/ISAPI/AccessControl/UserInfo/Search") => user_search(shared, req, &json_body),
        ("POST", "/ISAPI/AccessControl/CardInfo/Record") => {
            if let Some(sub) = reject {
                return error_json(req, 6, "Invalid Content", &sub);
            }
            card_record(shared, req, &json_body);
        }
        ("PUT", "/ISAPI/AccessControl/CardInfo/Delete") => card_delete(shared, req, &json_body),
        ("POST", "/ISAPI/AccessControl/CardInfo/Search") => card_search(shared, req, &json_body),
        ("POST", "/ISAPI/AccessControl/AcsEvent") => event_search(shared, req, &json_body),
        ("GET", "/ISAPI/Event/notification/alertStream") => alert_stream(shared, req),
        _ => respond(
            req,
            404,
            "application/xml",
            response_status_xml(&url, 4, "Invalid Operation", "notSupport"),
        ),
    }
}

fn door_control(shared: &Shared, req: Request, url: &str, path: &str, body: &[u8]) {
    let door: Option<u32> = path.rsplit('/').next().and_then(|d| d.parse().ok());
    let Some(door) = door.filter(|d| (1..=shared.config.doors).contains(d)) else {
        let doc = response_status_xml(url, 6, "Invalid XML Content", "badParameters");
        return respond(req, 400, "application/xml", doc);
    };
    let text = String::from_utf8_lossy(body);
    let cmd = xml::parse(text.trim()).ok().and_then(|d| d.find("cmd").map(|c| c.text.trim().to_string()));
    let command = match cmd.as_deref() {
        Some("open") => DoorCommand::Open,
        Some("close") => DoorCommand::Close,
        Some("alwaysOpen" | "remainOpen") => DoorCommand::AlwaysOpen,
        Some("alwaysClose") => DoorCommand::AlwaysClose,
        Some("normal") => DoorCommand::Normal,
        _ => {
            let doc = response_status_xml(url, 6, "Invalid XML Content", "badXmlContent");
            return respond(req, 400, "application/xml", doc);
        }
    };
    {
        let mut st = shared.state();
        st.door_log.push((door, command));
        st.door_states.insert(door, command);
    }
    respond(req, 200, "application/xml", response_status_xml(url, 1, "OK", "ok"));
}

fn text_of(v: Option<&Value>) -> Option<String> {
    events::as_text(v)
}

fn user_record(shared: &Shared, req: Request, body: &Value, create: bool) {
    let Some(u) = body.get("UserInfo") else {
        return error_json(req, 6, "Invalid Content", "badJsonContent");
    };
    let employee_no = text_of(u.get("employeeNo")).filter(|e| e.len() <= 32);
    let valid = u.get("Valid");
    let time = |k: &str| valid.and_then(|v| v.get(k)).and_then(Value::as_str).and_then(events::parse_naive);
    let (Some(employee_no), Some(valid_from), Some(valid_until)) =
        (employee_no, time("beginTime"), time("endTime"))
    else {
        return error_json(req, 6, "Invalid Content", "badJsonContent");
    };
    let mut door_nos: Vec<u32> = u
        .get("doorRight")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    door_nos.sort_unstable();
    door_nos.dedup();
    if door_nos.iter().any(|d| *d == 0 || *d > shared.config.doors) {
        return error_json(req, 6, "Invalid Content", "badParameters");
    }
    let name = u.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let mut st = shared.state();
    match (create, st.persons.get_mut(&employee_no)) {
        (true, Some(_)) => {
            drop(st);
            error_json(req, 6, "Invalid Content", "employeeNoAlreadyExist")
        }
        (false, None) => {
            drop(st);
            error_json(req, 6, "Invalid Content", "employeeNoNotExist")
        }
        (_, Some(p)) => {
            p.name = name;
            p.valid_from = valid_from;
            p.valid_until = valid_until;
            p.door_nos = door_nos;
            drop(st);
            respond_json(req, 200, ok_json())
        }
        (true, None) => {
            st.persons.insert(
                employee_no.clone(),
                SimPerson { employee_no, name, valid_from, valid_until, door_nos, cards: Vec::new() },
            );
            drop(st);
            respond_json(req, 200, ok_json())
        }
    }
}

fn user_delete(shared: &Shared, req: Request, body: &Value) {
    let list = body.get("UserInfoDelCond").and_then(|c| c.get("EmployeeNoList")).and_then(Value::as_array);
    let Some(list) = list else { return error_json(req, 6, "Invalid Content", "badJsonContent") };
    let mut removed = 0;
    {
        let mut st = shared.state();
        for e in list.iter().filter_map(|e| text_of(e.get("employeeNo"))) {
            if st.persons.remove(&e).is_some() {
                removed += 1;
            }
        }
    }
    if removed == 0 {
        return error_json(req, 6, "Invalid Content", "employeeNoNotExist");
    }
    respond_json(req, 200, ok_json());
}

/// Position and page size of a search condition; pages are capped at 30 like real firmware.
fn paging(cond: Option<&Value>) -> (usize, usize) {
    let pos = events::as_u64(cond.and_then(|c| c.get("searchResultPosition"))).unwrap_or(0) as usize;
    let max = events::as_u64(cond.and_then(|c| c.get("maxResults"))).unwrap_or(30).clamp(1, 30) as usize;
    (pos, max)
}

fn page_status(pos: usize, n: usize, total: usize) -> &'static str {
    if n == 0 {
        "NO MATCH"
    } else if pos + n < total {
        "MORE"
    } else {
        "OK"
    }
}

fn user_search(shared: &Shared, req: Request, body: &Value) {
    let cond = body.get("UserInfoSearchCond");
    let (pos, max) = paging(cond);
    let wanted: Option<Vec<String>> = cond
        .and_then(|c| c.get("EmployeeNoList"))
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|e| text_of(e.get("employeeNo"))).collect());
    let st = shared.state();
    let matches: Vec<&SimPerson> = st
        .persons
        .values()
        .filter(|p| wanted.as_ref().is_none_or(|w| w.is_empty() || w.contains(&p.employee_no)))
        .collect();
    let total = matches.len();
    let page: Vec<Value> = matches
        .iter()
        .skip(pos)
        .take(max)
        .map(|p| {
            json!({
                "employeeNo": p.employee_no,
                "name": p.name,
                "userType": "normal",
                "closeDelayEnabled": false,
                "Valid": {"enable": true, "beginTime": fmt_local(&p.valid_from),
                          "endTime": fmt_local(&p.valid_until), "timeType": "local"},
                "belongGroup": "",
                "password": "",
                "doorRight": p.door_nos.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                "RightPlan": p.door_nos.iter().map(|d| json!({"doorNo": d, "planTemplateNo": "1"})).collect::<Vec<_>>(),
                "maxOpenDoorTime": 0,
                "openDoorTime": 0,
                "localUIRight": false,
                "gender": "unknown",
                "numOfCard": p.cards.len(),
                "numOfFace": 0
            })
        })
        .collect();
    drop(st);
    let n = page.len();
    let mut s = json!({
        "searchID": cond.and_then(|c| c.get("searchID")).cloned().unwrap_or(Value::Null),
        "responseStatusStrg": page_status(pos, n, total),
        "numOfMatches": n,
        "totalMatches": total,
    });
    if n > 0 {
        s["UserInfo"] = Value::Array(page);
    }
    respond_json(req, 200, json!({"UserInfoSearch": s}));
}

fn card_record(shared: &Shared, req: Request, body: &Value) {
    let c = body.get("CardInfo");
    let employee_no = text_of(c.and_then(|c| c.get("employeeNo")));
    let card_no = text_of(c.and_then(|c| c.get("cardNo")));
    let (Some(employee_no), Some(card_no)) = (employee_no, card_no) else {
        return error_json(req, 6, "Invalid Content", "badJsonContent");
    };
    if !crate::devices::hik_isapi::valid_card_no(&card_no) {
        return error_json(req, 6, "Invalid Content", "badParameters");
    }
    let mut st = shared.state();
    if st.persons.values().any(|p| p.cards.contains(&card_no)) {
        drop(st);
        return error_json(req, 6, "Invalid Content", "cardNoAlreadyExist");
    }
    let Some(p) = st.persons.get_mut(&employee_no) else {
        drop(st);
        return error_json(req, 6, "Invalid Content", "employeeNoNotExist");
    };
    p.cards.push(card_no);
    drop(st);
    respond_json(req, 200, ok_json());
}

fn card_delete(shared: &Shared, req: Request, body: &Value) {
    let list = body.get("CardInfoDelCond").and_then(|c| c.get("CardNoList")).and_then(Value::as_array);
    let Some(list) = list else { return error_json(req, 6, "Invalid Content", "badJsonContent") };
    let mut removed = 0;
    {
        let mut st = shared.state();
        for card in list.iter().filter_map(|c| text_of(c.get("cardNo"))) {
            for p in st.persons.values_mut() {
                let before = p.cards.len();
                p.cards.retain(|c| *c != card);
                removed += before - p.cards.len();
            }
        }
    }
    if removed == 0 {
        return error_json(req, 6, "Invalid Content", "cardNoNotExist");
    }
    respond_json(req, 200, ok_json());
}

fn card_search(shared: &Shared, req: Request, body: &Value) {
    let cond = body.get("CardInfoSearchCond");
    let (pos, max) = paging(cond);
    let wanted: Vec<String> = cond
        .and_then(|c| c.get("CardNoList"))
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|c| text_of(c.get("cardNo"))).collect())
        .unwrap_or_default();
    let st = shared.state();
    let all: Vec<Value> = st
        .persons
        .values()
        .flat_map(|p| p.cards.iter().map(move |c| (p, c)))
        .filter(|(_, c)| wanted.is_empty() || wanted.contains(c))
        .map(|(p, c)| json!({"employeeNo": p.employee_no, "cardNo": c, "leaderCard": "", "cardType": "normalCard"}))
        .collect();
    drop(st);
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(pos).take(max).collect();
    let n = page.len();
    let mut s = json!({
        "searchID": cond.and_then(|c| c.get("searchID")).cloned().unwrap_or(Value::Null),
        "responseStatusStrg": page_status(pos, n, total),
        "numOfMatches": n,
        "totalMatches": total,
    });
    if n > 0 {
        s["CardInfo"] = Value::Array(page);
    }
    respond_json(req, 200, json!({"CardInfoSearch": s}));
}

fn event_item(e: &SimEvent) -> Value {
    json!({
        "major": e.major,
        "minor": e.minor,
        "time": fmt_time(&e.time),
        "cardNo": e.card_no.clone().unwrap_or_default(),
        "cardType": 1,
        "employeeNoString": e.employee_no.clone().unwrap_or_default(),
        "doorNo": e.door_no,
        "cardReaderNo": e.card_reader_no,
        "serialNo": e.serial_no,
        "type": 0,
        "currentVerifyMode": "cardOrFace",
        "mask": "unknown"
    })
}

fn event_search(shared: &Shared, req: Request, body: &Value) {
    let Some(cond) = body.get("AcsEventCond") else {
        return error_json(req, 6, "Invalid Content", "badJsonContent");
    };
    let (pos, max) = paging(Some(cond));
    let time = |k: &str| cond.get(k).and_then(Value::as_str).and_then(|t| events::parse_time(t, cst()));
    let (Some(start), Some(end)) = (time("startTime"), time("endTime")) else {
        return error_json(req, 6, "Invalid Content", "badParameters");
    };
    let major = events::as_u32(cond.get("major")).unwrap_or(0);
    let minor = events::as_u32(cond.get("minor")).unwrap_or(0);
    let st = shared.state();
    let mut matches: Vec<&SimEvent> = st
        .events
        .iter()
        .filter(|e| e.time >= start && e.time <= end)
        .filter(|e| (major == 0 || e.major == major) && (minor == 0 || e.minor == minor))
        .collect();
    matches.sort_by_key(|e| e.serial_no);
    let total = matches.len();
    let page: Vec<&SimEvent> = matches.iter().skip(pos).take(max).copied().collect();
    let n = page.len();
    // Real controllers do not order a page strictly and repeat items across pages.
    let mut items: Vec<Value> = page.iter().rev().map(|e| event_item(e)).collect();
    if n > 0
        && pos > 0
        && let Some(prev) = matches.get(pos - 1)
    {
        items.push(event_item(prev));
    }
    drop(st);
    let mut s = json!({
        "searchID": cond.get("searchID").cloned().unwrap_or(Value::Null),
        "responseStatusStrg": page_status(pos, n, total),
        "numOfMatches": n,
        "totalMatches": total,
    });
    if n > 0 {
        s["InfoList"] = Value::Array(items);
    }
    respond_json(req, 200, json!({"AcsEvent": s}));
}

fn alert_stream(shared: &Shared, req: Request) {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut w = req.into_writer();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary={BOUNDARY}\r\nConnection: close\r\n\
         Cache-Control: no-cache\r\n\r\n"
    );
    if w.write_all(head.as_bytes()).and_then(|_| w.flush()).is_err() {
        return;
    }
    {
        let mut st = shared.state();
        if st.fault == IsapiFault::Offline {
            return;
        }
        st.streams.push(tx);
    }
    let heartbeat = Duration::from_millis(shared.config.heartbeat_ms.max(10));
    let mut last_write = Instant::now();
    loop {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let wait = heartbeat
            .saturating_sub(last_write.elapsed())
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        let bytes = match rx.recv_timeout(wait) {
            Ok(b) => b,
            Err(RecvTimeoutError::Timeout) => {
                if last_write.elapsed() < heartbeat {
                    continue;
                }
                part_bytes(&json!({
                    "ipAddress": shared.addr.ip().to_string(),
                    "portNo": shared.addr.port(),
                    "protocol": "HTTP",
                    "dateTime": fmt_time(&now_cst()),
                    "activePostCount": 1,
                    "eventType": "heartBeat",
                    "eventState": "active",
                    "eventDescription": "heartBeat"
                }))
            }
            // The simulator dropped this stream (fault or stop): closing the writer ends it.
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if w.write_all(&bytes).and_then(|_| w.flush()).is_err() {
            return;
        }
        last_write = Instant::now();
    }
}
