//! 场所配置 — the venue file: which venue this is, where data lives, its rooms and devices, and
//! where the comprehensive service system is. It is validated whole at start-up: a file with any
//! error is refused with the line and field named, so the app never runs half-configured.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::venue::{DeviceKind, RoomKind, Zone};
use crate::error::{Error, ErrorKind, Result};

/// The demo venue shipped with the app, used when no venue file is given.
pub const DEMO_VENUE_TOML: &str = include_str!("../../assets/demo/venue.toml");

#[derive(Debug, Clone)]
pub struct VenueConfig {
    /// The file it came from; `None` for the embedded demo venue.
    pub source: Option<PathBuf>,
    pub code: String,
    pub name: String,
    pub time_zone: Tz,
    pub data_dir: PathBuf,
    pub recordings_dir: PathBuf,
    pub exports_dir: PathBuf,
    pub database_url: String,
    pub service: ServiceSystem,
    pub idle_lock_minutes: u32,
    pub rooms: Vec<Room>,
    pub devices: Vec<Device>,
    pub evaluation_area: EvaluationArea,
    pub checkin: CheckInRules,
    pub gate: GateRules,
    pub recording: RecordingRules,
}

#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: String,
    pub name: String,
    pub kind: RoomKind,
    /// For kind `other`: what the venue calls it.
    pub kind_name: Option<String>,
    pub zone: Zone,
    pub capacity: u32,
    pub floor: Option<String>,
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub name: String,
    pub kind: DeviceKind,
    pub driver: String,
    pub address: String,
    pub username: Option<String>,
    pub door_no: Option<u32>,
    /// Lock boards: how many channels (locks) the board drives.
    pub channels: Option<u32>,
    /// Modbus: unit id and discrete-input address of the gate's alarm relay.
    pub unit_id: Option<u8>,
    pub input_address: Option<u16>,
    /// Cameras: the sub-stream for the live wall (the main stream `address` is recorded).
    pub sub_stream: Option<String>,
    /// Lock boards: the board's DIP address on its RS-485 bus (1–32).
    pub board_address: u8,
    /// Lock boards: the status byte 0x11 means unlocked (true, the common wiring) or locked.
    pub unlocked_when_set: bool,
    /// Serial lock boards: bits per second.
    pub baud: u32,
    /// ISAPI: HTTP Basic instead of Digest (only for controllers configured that way).
    pub basic_auth: bool,
    /// Inputs (gate relay, fire contact): the raw level that means "active".
    pub active_high: bool,
    /// Inputs: how often the module is read.
    pub poll_ms: u32,
    /// Cameras and microphones of public areas (seed 6.2: 公共区域 24 小时不间断监控): recorded around
    /// the clock under `recording.continuous_retention_days`, not only during sessions.
    pub continuous: bool,
}

/// 录音录像 — when rooms are recorded and how long recordings are kept.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRules {
    /// Off only on training or test workstations that must not record (the cameras stay idle).
    pub enabled: bool,
    /// A segment closes at the first key frame after this long.
    pub segment_seconds: u32,
    /// Recording starts this long before a session's scheduled start ...
    pub pre_roll_minutes: u32,
    /// ... and stops this long after its scheduled end (a session still in progress keeps recording
    /// until it is closed).
    pub post_roll_minutes: u32,
    /// No data for this long raises a video-loss alarm and opens a gap.
    pub stall_timeout_seconds: u32,
    /// Session recordings are kept this long (set it to the period the local rules require).
    pub session_retention_days: u32,
    /// Recordings of continuous cameras are kept this long, and go first when space runs low.
    pub continuous_retention_days: u32,
    /// Below this much free space, continuous recordings are freed oldest-first and an alarm is
    /// raised if that is not enough.
    pub min_free_mib: u64,
}

impl Default for RecordingRules {
    fn default() -> Self {
        RecordingRules {
            enabled: true,
            segment_seconds: 60,
            pre_roll_minutes: 5,
            post_roll_minutes: 10,
            stall_timeout_seconds: 5,
            // 15 years, as archives of tendering are commonly kept; venues set their own rule.
            session_retention_days: 5475,
            continuous_retention_days: 30,
            min_free_mib: 20 * 1024,
        }
    }
}

/// 签到 — front-desk rules.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CheckInRules {
    /// Credentials stay valid this long after the session's scheduled end (sessions run late).
    pub credential_grace_minutes: u32,
    /// How long the desk waits for a locker door to be closed.
    pub locker_close_timeout_seconds: u32,
    /// Check-in opens this long before the session starts.
    pub opens_minutes_before: u32,
    /// Names, ID numbers and photos are erased this many days after the session ends.
    pub roster_retention_days: u32,
    /// Controllers are compared with the check-ins this often (and at start).
    pub reconcile_interval_minutes: u32,
}

impl Default for CheckInRules {
    fn default() -> Self {
        CheckInRules {
            credential_grace_minutes: 30,
            locker_close_timeout_seconds: 120,
            opens_minutes_before: 180,
            roster_retention_days: 30,
            reconcile_interval_minutes: 5,
        }
    }
}

/// 评标评审区 — the area behind access control.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationArea {
    pub entrance_door: String,
    pub gates: Vec<String>,
    pub locker_banks: Vec<String>,
    /// The fire-alarm input that releases every door of the area.
    pub fire_alarm: Option<String>,
}

/// 通讯检测门联动 — interlock timings.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GateRules {
    /// A gate input must read inactive this long before it counts (a flapping relay stays active).
    pub release_debounce_ms: u32,
    /// The gate alarm clears only after the input has been quiet this long (and someone acknowledged).
    pub clear_after_quiet_seconds: u32,
    /// How long an "open once" override leaves the door on card control.
    pub override_seconds: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTop {
    venue: FileVenue,
    #[serde(default)]
    storage: FileStorage,
    service_system: FileService,
    #[serde(default)]
    security: FileSecurity,
    #[serde(default)]
    rooms: Vec<FileRoom>,
    #[serde(default)]
    devices: Vec<FileDevice>,
    evaluation_area: FileArea,
    #[serde(default)]
    checkin: FileCheckIn,
    #[serde(default)]
    gate: FileGate,
    #[serde(default)]
    recording: FileRecording,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileRecording {
    enabled: Option<bool>,
    segment_seconds: Option<Spanned<u32>>,
    pre_roll_minutes: Option<Spanned<u32>>,
    post_roll_minutes: Option<Spanned<u32>>,
    stall_timeout_seconds: Option<Spanned<u32>>,
    session_retention_days: Option<Spanned<u32>>,
    continuous_retention_days: Option<Spanned<u32>>,
    min_free_mib: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileGate {
    release_debounce_ms: Option<Spanned<u32>>,
    clear_after_quiet_seconds: Option<Spanned<u32>>,
    override_seconds: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCheckIn {
    credential_grace_minutes: Option<Spanned<u32>>,
    locker_close_timeout_seconds: Option<Spanned<u32>>,
    opens_minutes_before: Option<Spanned<u32>>,
    roster_retention_days: Option<Spanned<u32>>,
    reconcile_interval_minutes: Option<Spanned<u32>>,
}

impl Default for FileCheckIn {
    fn default() -> Self {
        FileCheckIn {
            credential_grace_minutes: None,
            locker_close_timeout_seconds: None,
            opens_minutes_before: None,
            roster_retention_days: None,
            reconcile_interval_minutes: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVenue {
    code: Spanned<String>,
    name: Spanned<String>,
    time_zone: Spanned<String>,
}

/// 综合服务系统: where events go and pulls come from. The app key and secret are not here: an
/// administrator enters them once and they live in the OS keyring.
#[derive(Debug, Clone)]
pub struct ServiceSystem {
    /// Without a trailing slash.
    pub base_url: String,
    pub app_key_hint: Option<String>,
    /// A private CA (PEM) trusted in addition to the system's roots.
    pub ca_file: Option<PathBuf>,
    pub allow_plain_http: bool,
    pub batch_size: u32,
    pub request_timeout_seconds: u32,
    pub pull_interval_minutes: u32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileStorage {
    data_dir: Option<String>,
    recordings_dir: Option<String>,
    exports_dir: Option<String>,
    database_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileService {
    base_url: Spanned<String>,
    /// Shown on the credentials screen as the expected key; the key in use lives in the keyring.
    app_key: Option<String>,
    ca_file: Option<Spanned<String>>,
    #[serde(default)]
    allow_plain_http: bool,
    batch_size: Option<Spanned<u32>>,
    request_timeout_seconds: Option<Spanned<u32>>,
    pull_interval_minutes: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSecurity {
    #[serde(default = "default_idle")]
    idle_lock_minutes: Spanned<u32>,
}

impl Default for FileSecurity {
    fn default() -> Self {
        FileSecurity { idle_lock_minutes: default_idle() }
    }
}

fn default_idle() -> Spanned<u32> {
    Spanned::new(0..0, 10)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoom {
    id: Spanned<String>,
    name: Spanned<String>,
    kind: RoomKind,
    kind_name: Option<Spanned<String>>,
    zone: Zone,
    capacity: Spanned<u32>,
    floor: Option<String>,
    #[serde(default)]
    devices: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDevice {
    id: Spanned<String>,
    name: Option<String>,
    kind: DeviceKind,
    driver: Spanned<String>,
    address: Spanned<String>,
    username: Option<String>,
    door_no: Option<u32>,
    channels: Option<Spanned<u32>>,
    unit_id: Option<u8>,
    input_address: Option<u16>,
    sub_stream: Option<Spanned<String>>,
    active_high: Option<bool>,
    poll_ms: Option<Spanned<u32>>,
    board_address: Option<Spanned<u8>>,
    polarity: Option<Spanned<String>>,
    baud: Option<Spanned<u32>>,
    basic_auth: Option<bool>,
    continuous: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArea {
    entrance_door: Spanned<String>,
    #[serde(default)]
    gates: Vec<Spanned<String>>,
    #[serde(default)]
    locker_banks: Vec<Spanned<String>>,
    fire_alarm: Option<Spanned<String>>,
}

/// Reads and validates a venue file. `data_dir` is where data goes when the file does not say.
pub fn load(path: &Path, default_data_dir: &Path) -> Result<VenueConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("无法读取场所配置文件 {}：{e}。请检查路径和权限。", path.display()),
            format!(
                "Cannot read the venue file {}: {e}. Check the path and its permissions.",
                path.display()
            ),
        )
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&text, Some(path), &base, default_data_dir)
}

/// The embedded demo venue; relative paths land under `data_dir`.
pub fn demo(data_dir: &Path) -> VenueConfig {
    parse(DEMO_VENUE_TOML, None, data_dir, data_dir).expect("the embedded demo venue is valid")
}

pub fn parse(
    text: &str,
    source: Option<&Path>,
    base_dir: &Path,
    default_data_dir: &Path,
) -> Result<VenueConfig> {
    let file_name = source.map(|p| p.display().to_string()).unwrap_or_else(|| "<demo venue>".into());
    let fail = |span: Option<Range<usize>>, zh: String, en: String| -> Error {
        let (line, col, text_line) = match span {
            Some(s) if s.end > 0 || s.start > 0 => locate(text, s.start),
            _ => (0, 0, String::new()),
        };
        let (wz, we) = if line > 0 {
            (
                format!("第 {line} 行第 {col} 列（{text_line}）"),
                format!("line {line}, column {col} (`{text_line}`)"),
            )
        } else {
            ("文件整体".to_string(), "the file as a whole".to_string())
        };
        Error::new(
            ErrorKind::InvalidArgument,
            format!("场所配置文件 {file_name} 有误，{wz}：{zh}"),
            format!("The venue file {file_name} is invalid at {we}: {en}"),
        )
    };

    let top: FileTop = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().to_string();
        fail(e.span(), format!("{msg}。请按说明修改后重新启动。"), format!("{msg}. Fix it and start again."))
    })?;

    let v = &top.venue;
    let code = v.code.get_ref().trim();
    if code.is_empty()
        || code.len() > 32
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(fail(
            Some(v.code.span()),
            "venue.code 须为 1–32 位字母、数字、“-”或“_”。".into(),
            "venue.code must be 1–32 letters, digits, '-' or '_'.".into(),
        ));
    }
    if v.name.get_ref().trim().is_empty() {
        return Err(fail(
            Some(v.name.span()),
            "venue.name 不能为空。".into(),
            "venue.name must not be empty.".into(),
        ));
    }
    let time_zone: Tz = v.time_zone.get_ref().parse().map_err(|_| {
        fail(
            Some(v.time_zone.span()),
            format!("venue.time_zone “{}” 不是 IANA 时区名，例如 Asia/Shanghai。", v.time_zone.get_ref()),
            format!(
                "venue.time_zone \"{}\" is not an IANA time zone name such as Asia/Shanghai.",
                v.time_zone.get_ref()
            ),
        )
    })?;

    let service = service_system(&top.service_system, base_dir, &fail)?;

    let idle = &top.security.idle_lock_minutes;
    if !(1..=120).contains(idle.get_ref()) {
        return Err(fail(
            Some(idle.span()),
            "security.idle_lock_minutes 须在 1 到 120 之间。".into(),
            "security.idle_lock_minutes must be between 1 and 120.".into(),
        ));
    }

    let resolve = |p: &Option<String>, default: PathBuf| -> PathBuf {
        match p.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => {
                let p = PathBuf::from(s);
                if p.is_absolute() { p } else { base_dir.join(p) }
            }
            _ => default,
        }
    };
    let data_dir = resolve(&top.storage.data_dir, default_data_dir.to_path_buf());
    let recordings_dir = resolve(&top.storage.recordings_dir, data_dir.join("recordings"));
    let exports_dir = resolve(&top.storage.exports_dir, data_dir.join("exports"));
    let database_url = match &top.storage.database_url {
        Some(u) if !u.get_ref().trim().is_empty() => {
            let s = u.get_ref().trim();
            if !s.starts_with("sqlite:") {
                return Err(fail(
                    Some(u.span()),
                    "storage.database_url 目前只支持 sqlite: 开头的地址（PostgreSQL 支持将在多工作站版本中提供）。".into(),
                    "storage.database_url supports only sqlite: addresses for now (PostgreSQL comes with multi-workstation venues).".into(),
                ));
            }
            s.to_string()
        }
        _ => format!("sqlite://{}", data_dir.join("venue-desk.db").display()),
    };

    // Devices first: rooms and the evaluation area refer to them.
    let mut devices = Vec::with_capacity(top.devices.len());
    let mut kinds: HashMap<String, DeviceKind> = HashMap::new();
    for d in &top.devices {
        let id = d.id.get_ref().trim().to_string();
        if id.is_empty() {
            return Err(fail(
                Some(d.id.span()),
                "devices.id 不能为空。".into(),
                "devices.id must not be empty.".into(),
            ));
        }
        if kinds.insert(id.clone(), d.kind).is_some() {
            return Err(fail(
                Some(d.id.span()),
                format!("设备编号 “{id}” 重复，每台设备的 id 必须唯一。"),
                format!("device id \"{id}\" appears twice; every device needs its own id."),
            ));
        }
        let driver = d.driver.get_ref().as_str();
        let allowed = d.kind.drivers();
        if !allowed.contains(&driver) {
            return Err(fail(
                Some(d.driver.span()),
                format!(
                    "设备 “{id}” 的 driver “{driver}” 不适用于 {}；可用：{}。",
                    d.kind.as_str(),
                    allowed.join(", ")
                ),
                format!(
                    "device \"{id}\": driver \"{driver}\" does not drive a {}; allowed: {}.",
                    d.kind.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
        let address = d.address.get_ref().trim().to_string();
        if driver == "hik_isapi" && address.starts_with("https://") {
            return Err(fail(
                Some(d.address.span()),
                format!(
                    "设备 “{id}”：门禁控制器暂不支持 HTTPS，请在设备专网中使用 http://（或只写 主机:端口）。"
                ),
                format!(
                    "device \"{id}\": HTTPS to door controllers is not supported yet; use http:// (or host:port) on the device network."
                ),
            ));
        }
        if let Err((zh, en)) = check_address(driver, &address) {
            return Err(fail(
                Some(d.address.span()),
                format!("设备 “{id}” 的 address {zh}"),
                format!("device \"{id}\": address {en}"),
            ));
        }
        if let Some(ch) = &d.channels
            && !(1..=32).contains(ch.get_ref())
        {
            return Err(fail(
                Some(ch.span()),
                "channels 须在 1 到 32 之间。".into(),
                "channels must be between 1 and 32.".into(),
            ));
        }
        if let Some(sub) = &d.sub_stream
            && let Err((zh, en)) = check_address("rtsp", sub.get_ref())
        {
            return Err(fail(Some(sub.span()), format!("sub_stream {zh}"), format!("sub_stream {en}")));
        }
        if let Some(b) = &d.board_address
            && !(1..=32).contains(b.get_ref())
        {
            return Err(fail(
                Some(b.span()),
                "board_address 须在 1 到 32 之间（锁控板拨码地址）。".into(),
                "board_address must be between 1 and 32 (the lock board's DIP address).".into(),
            ));
        }
        let unlocked_when_set = match d.polarity.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
            None | Some(("unlocked_when_set", _)) => true,
            Some(("locked_when_set", _)) => false,
            Some((other, span)) => {
                return Err(fail(
                    Some(span),
                    format!("polarity “{other}” 无效；可用：unlocked_when_set、locked_when_set。"),
                    format!(
                        "polarity \"{other}\" is not valid; allowed: unlocked_when_set, locked_when_set."
                    ),
                ));
            }
        };
        if let Some(p) = &d.poll_ms
            && !(10..=1000).contains(p.get_ref())
        {
            return Err(fail(
                Some(p.span()),
                "poll_ms 须在 10 到 1000 之间（默认 50）。".into(),
                "poll_ms must be between 10 and 1000 (default 50).".into(),
            ));
        }
        if let Some(b) = &d.baud
            && !matches!(b.get_ref(), 1200 | 2400 | 4800 | 9600 | 19200 | 38400 | 57600 | 115200)
        {
            return Err(fail(
                Some(b.span()),
                "baud 须为常用波特率之一：1200、2400、4800、9600、19200、38400、57600、115200。".into(),
                "baud must be a standard rate: 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200.".into(),
            ));
        }
        if let Some(c) = &d.continuous
            && *c.get_ref()
            && !matches!(d.kind, DeviceKind::Camera | DeviceKind::Microphone)
        {
            return Err(fail(
                Some(c.span()),
                "continuous 只适用于摄像机和拾音器。".into(),
                "continuous applies to cameras and microphones only.".into(),
            ));
        }
        devices.push(Device {
            continuous: d.continuous.as_ref().is_some_and(|c| *c.get_ref()),
            name: d.name.clone().unwrap_or_else(|| id.clone()),
            id,
            kind: d.kind,
            driver: driver.to_string(),
            address,
            username: d.username.clone(),
            door_no: d.door_no,
            channels: d.channels.as_ref().map(|c| *c.get_ref()),
            unit_id: d.unit_id,
            input_address: d.input_address,
            sub_stream: d.sub_stream.as_ref().map(|s| s.get_ref().clone()),
            board_address: d.board_address.as_ref().map_or(1, |b| *b.get_ref()),
            unlocked_when_set,
            baud: d.baud.as_ref().map_or(9600, |b| *b.get_ref()),
            basic_auth: d.basic_auth.unwrap_or(false),
            active_high: d.active_high.unwrap_or(true),
            poll_ms: d.poll_ms.as_ref().map_or(50, |p| *p.get_ref()),
        });
    }

    let mut rooms = Vec::with_capacity(top.rooms.len());
    let mut room_ids = HashSet::new();
    let mut owner: HashMap<String, String> = HashMap::new();
    for r in &top.rooms {
        let id = r.id.get_ref().trim().to_string();
        if id.is_empty() || !room_ids.insert(id.clone()) {
            return Err(fail(
                Some(r.id.span()),
                format!("房间编号 “{id}” 为空或重复，每个房间的 id 必须唯一。"),
                format!("room id \"{id}\" is empty or appears twice; every room needs its own id."),
            ));
        }
        if r.name.get_ref().trim().is_empty() {
            return Err(fail(
                Some(r.name.span()),
                "rooms.name 不能为空。".into(),
                "rooms.name must not be empty.".into(),
            ));
        }
        let kind_name =
            r.kind_name.as_ref().map(|k| k.get_ref().trim().to_string()).filter(|k| !k.is_empty());
        if r.kind == RoomKind::Other && kind_name.is_none() {
            return Err(fail(
                Some(r.id.span()),
                format!("房间 “{id}” 的 kind 为 other，须用 kind_name 写明房间类型。"),
                format!("room \"{id}\" has kind = \"other\"; give its kind in kind_name."),
            ));
        }
        if *r.capacity.get_ref() == 0 {
            return Err(fail(
                Some(r.capacity.span()),
                "capacity 至少为 1。".into(),
                "capacity must be at least 1.".into(),
            ));
        }
        for dev in &r.devices {
            let did = dev.get_ref();
            if !kinds.contains_key(did) {
                return Err(fail(
                    Some(dev.span()),
                    format!("房间 “{id}” 引用了不存在的设备 “{did}”；请先在 [[devices]] 中定义。"),
                    format!("room \"{id}\" refers to device \"{did}\", which no [[devices]] entry defines."),
                ));
            }
            if let Some(other) = owner.insert(did.clone(), id.clone()) {
                return Err(fail(
                    Some(dev.span()),
                    format!("设备 “{did}” 同时属于房间 “{other}” 和 “{id}”；一台设备只能属于一个房间。"),
                    format!(
                        "device \"{did}\" is listed in both room \"{other}\" and room \"{id}\"; a device belongs to one room."
                    ),
                ));
            }
        }
        rooms.push(Room {
            id,
            name: r.name.get_ref().trim().to_string(),
            kind: r.kind,
            kind_name,
            zone: r.zone,
            capacity: *r.capacity.get_ref(),
            floor: r.floor.clone(),
            devices: r.devices.iter().map(|d| d.get_ref().clone()).collect(),
        });
    }

    let area = &top.evaluation_area;
    let expect =
        |id: &Spanned<String>, want: &[DeviceKind], what_zh: &str, what_en: &str| -> Result<String> {
            match kinds.get(id.get_ref()) {
                Some(k) if want.contains(k) => Ok(id.get_ref().clone()),
                Some(k) => Err(fail(
                    Some(id.span()),
                    format!("{what_zh} “{}” 是 {}，此处需要 {}。", id.get_ref(), k.as_str(), list(want)),
                    format!(
                        "{what_en} \"{}\" is a {}; a {} is needed here.",
                        id.get_ref(),
                        k.as_str(),
                        list(want)
                    ),
                )),
                None => Err(fail(
                    Some(id.span()),
                    format!("{what_zh} “{}” 未在 [[devices]] 中定义。", id.get_ref()),
                    format!("{what_en} \"{}\" is not defined in [[devices]].", id.get_ref()),
                )),
            }
        };
    let evaluation_area = EvaluationArea {
        entrance_door: expect(
            &area.entrance_door,
            &[DeviceKind::DoorController],
            "入口门禁",
            "entrance door",
        )?,
        gates: area
            .gates
            .iter()
            .map(|g| {
                expect(g, &[DeviceKind::IoModule, DeviceKind::DoorController], "通讯检测门", "detector gate")
            })
            .collect::<Result<_>>()?,
        locker_banks: area
            .locker_banks
            .iter()
            .map(|l| expect(l, &[DeviceKind::LockBoard], "储物柜", "locker bank"))
            .collect::<Result<_>>()?,
        fire_alarm: area
            .fire_alarm
            .as_ref()
            .map(|f| {
                expect(f, &[DeviceKind::IoModule, DeviceKind::DoorController], "火警输入", "fire-alarm input")
            })
            .transpose()?,
    };

    let defaults = CheckInRules::default();
    let rule = |v: &Option<Spanned<u32>>, default: u32, min: u32, max: u32, name: &str| -> Result<u32> {
        match v {
            None => Ok(default),
            Some(x) if (min..=max).contains(x.get_ref()) => Ok(*x.get_ref()),
            Some(x) => Err(fail(
                Some(x.span()),
                format!("checkin.{name} 须在 {min} 到 {max} 之间。"),
                format!("checkin.{name} must be between {min} and {max}."),
            )),
        }
    };
    let c = &top.checkin;
    let checkin = CheckInRules {
        credential_grace_minutes: rule(
            &c.credential_grace_minutes,
            defaults.credential_grace_minutes,
            0,
            24 * 60,
            "credential_grace_minutes",
        )?,
        locker_close_timeout_seconds: rule(
            &c.locker_close_timeout_seconds,
            defaults.locker_close_timeout_seconds,
            5,
            1800,
            "locker_close_timeout_seconds",
        )?,
        opens_minutes_before: rule(
            &c.opens_minutes_before,
            defaults.opens_minutes_before,
            0,
            24 * 60,
            "opens_minutes_before",
        )?,
        roster_retention_days: rule(
            &c.roster_retention_days,
            defaults.roster_retention_days,
            0,
            3650,
            "roster_retention_days",
        )?,
        reconcile_interval_minutes: rule(
            &c.reconcile_interval_minutes,
            defaults.reconcile_interval_minutes,
            1,
            24 * 60,
            "reconcile_interval_minutes",
        )?,
    };

    let g = &top.gate;
    let gate_rule = |v: &Option<Spanned<u32>>, default: u32, min: u32, max: u32, name: &str| -> Result<u32> {
        match v {
            None => Ok(default),
            Some(x) if (min..=max).contains(x.get_ref()) => Ok(*x.get_ref()),
            Some(x) => Err(fail(
                Some(x.span()),
                format!("gate.{name} 须在 {min} 到 {max} 之间。"),
                format!("gate.{name} must be between {min} and {max}."),
            )),
        }
    };
    let gate = GateRules {
        release_debounce_ms: gate_rule(&g.release_debounce_ms, 300, 0, 10_000, "release_debounce_ms")?,
        clear_after_quiet_seconds: gate_rule(
            &g.clear_after_quiet_seconds,
            10,
            0,
            3600,
            "clear_after_quiet_seconds",
        )?,
        override_seconds: gate_rule(&g.override_seconds, 10, 3, 300, "override_seconds")?,
    };

    let recording = recording_rules(&top.recording, &fail)?;

    Ok(VenueConfig {
        recording,
        source: source.map(Path::to_path_buf),
        code: code.to_string(),
        name: v.name.get_ref().trim().to_string(),
        time_zone,
        data_dir,
        recordings_dir,
        exports_dir,
        database_url,
        service,
        idle_lock_minutes: *idle.get_ref(),
        rooms,
        devices,
        evaluation_area,
        checkin,
        gate,
    })
}

fn recording_rules(
    f: &FileRecording,
    fail: &dyn Fn(Option<Range<usize>>, String, String) -> Error,
) -> Result<RecordingRules> {
    let d = RecordingRules::default();
    let rule = |v: &Option<Spanned<u32>>, default: u32, min: u32, max: u32, name: &str| -> Result<u32> {
        match v {
            None => Ok(default),
            Some(x) if (min..=max).contains(x.get_ref()) => Ok(*x.get_ref()),
            Some(x) => Err(fail(
                Some(x.span()),
                format!("recording.{name} 须在 {min} 到 {max} 之间。"),
                format!("recording.{name} must be between {min} and {max}."),
            )),
        }
    };
    let min_free_mib = match &f.min_free_mib {
        None => d.min_free_mib,
        Some(x) if *x.get_ref() <= 1 << 30 => *x.get_ref(),
        Some(x) => {
            return Err(fail(
                Some(x.span()),
                "recording.min_free_mib 过大。".into(),
                "recording.min_free_mib is too large.".into(),
            ));
        }
    };
    let session_retention_days =
        rule(&f.session_retention_days, d.session_retention_days, 1, 36_500, "session_retention_days")?;
    let continuous_retention_days =
        rule(&f.continuous_retention_days, d.continuous_retention_days, 1, 36_500, "continuous_retention_days")?;
    Ok(RecordingRules {
        enabled: f.enabled.unwrap_or(d.enabled),
        segment_seconds: rule(&f.segment_seconds, d.segment_seconds, 2, 600, "segment_seconds")?,
        pre_roll_minutes: rule(&f.pre_roll_minutes, d.pre_roll_minutes, 0, 240, "pre_roll_minutes")?,
        post_roll_minutes: rule(&f.post_roll_minutes, d.post_roll_minutes, 0, 240, "post_roll_minutes")?,
        stall_timeout_seconds: rule(&f.stall_timeout_seconds, d.stall_timeout_seconds, 2, 60, "stall_timeout_seconds")?,
        session_retention_days,
        continuous_retention_days,
        min_free_mib,
    })
}

fn service_system(
    f: &FileService,
    base_dir: &Path,
    fail: &dyn Fn(Option<Range<usize>>, String, String) -> Error,
) -> Result<ServiceSystem> {
    let base_url = f.base_url.get_ref().trim().trim_end_matches('/').to_string();
    let plain = base_url.starts_with("http://");
    if !(base_url.starts_with("https://") || plain) || base_url.len() < 10 {
        return Err(fail(
            Some(f.base_url.span()),
            "service_system.base_url 须为 https:// 开头的地址。".into(),
            "service_system.base_url must be an address starting with https://.".into(),
        ));
    }
    if plain && !f.allow_plain_http {
        return Err(fail(
            Some(f.base_url.span()),
            "service_system.base_url 使用明文 http://：事件和专家名单会以明文传输。请改用 https://；仅在实验环境中可加上 allow_plain_http = true。".into(),
            "service_system.base_url uses plain http://, which would send events and expert rosters unencrypted. Use https://; only in a lab, add allow_plain_http = true.".into(),
        ));
    }
    let ca_file = match &f.ca_file {
        Some(p) if !p.get_ref().trim().is_empty() => {
            let path = PathBuf::from(p.get_ref().trim());
            let path = if path.is_absolute() { path } else { base_dir.join(path) };
            if !path.is_file() {
                return Err(fail(
                    Some(p.span()),
                    format!("service_system.ca_file 指向的证书文件 {} 不存在。", path.display()),
                    format!("service_system.ca_file: the certificate file {} does not exist.", path.display()),
                ));
            }
            Some(path)
        }
        _ => None,
    };
    let bounded = |v: &Option<Spanned<u32>>, default: u32, min: u32, max: u32, name: &str| -> Result<u32> {
        match v {
            None => Ok(default),
            Some(x) if (min..=max).contains(x.get_ref()) => Ok(*x.get_ref()),
            Some(x) => Err(fail(
                Some(x.span()),
                format!("service_system.{name} 须在 {min} 到 {max} 之间。"),
                format!("service_system.{name} must be between {min} and {max}."),
            )),
        }
    };
    Ok(ServiceSystem {
        base_url,
        app_key_hint: f.app_key.clone().filter(|k| !k.trim().is_empty()),
        ca_file,
        allow_plain_http: f.allow_plain_http,
        batch_size: bounded(&f.batch_size, 500, 1, crate::sync::wire::MAX_EVENTS_PER_BATCH as u32, "batch_size")?,
        request_timeout_seconds: bounded(&f.request_timeout_seconds, 30, 2, 600, "request_timeout_seconds")?,
        pull_interval_minutes: bounded(&f.pull_interval_minutes, 5, 1, 1440, "pull_interval_minutes")?,
    })
}

fn list(kinds: &[DeviceKind]) -> String {
    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" / ")
}

/// 1-based line and column of a byte offset, and that line's text (trimmed, shortened).
fn locate(text: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    let line_text: String = text[line_start..].lines().next().unwrap_or("").trim().chars().take(80).collect();
    (line, col, line_text)
}

fn check_address(driver: &str, address: &str) -> std::result::Result<(), (String, String)> {
    let host_port = |a: &str| -> bool {
        match a.rsplit_once(':') {
            Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
            None => false,
        }
    };
    let ok = match driver {
        "hik_isapi" => {
            let rest = address.strip_prefix("http://").unwrap_or(address);
            host_port(rest.trim_end_matches('/'))
                || (!rest.is_empty() && !rest.contains(':') && !rest.contains('/'))
        }
        "lockboard_tcp" | "modbus_tcp" => host_port(address),
        "lockboard_serial" => address.starts_with("/dev/") || address.to_ascii_uppercase().starts_with("COM"),
        "rtsp" => address.starts_with("rtsp://") && address.len() > "rtsp://".len(),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(match driver {
        "lockboard_serial" => (
            format!("“{address}” 不是串口路径，应形如 /dev/ttyUSB0 或 COM3。"),
            format!("\"{address}\" is not a serial port such as /dev/ttyUSB0 or COM3."),
        ),
        "rtsp" => (
            format!("“{address}” 不是 RTSP 地址，应形如 rtsp://host:554/Streaming/Channels/101。"),
            format!("\"{address}\" is not an RTSP URL such as rtsp://host:554/Streaming/Channels/101."),
        ),
        _ => (
            format!("“{address}” 应为 主机:端口，例如 192.0.2.10:80。"),
            format!("\"{address}\" must be host:port, for example 192.0.2.10:80."),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<VenueConfig> {
        parse(text, Some(Path::new("/etc/venue.toml")), Path::new("/etc"), Path::new("/var/lib/vd"))
    }

    #[test]
    fn the_demo_venue_is_valid_and_complete() {
        let c = demo(Path::new("/tmp/vd"));
        assert_eq!(c.time_zone, chrono_tz::Asia::Shanghai);
        assert!(c.rooms.len() >= 5);
        assert!(c.rooms.iter().any(|r| r.kind == RoomKind::BidOpening));
        assert!(c.rooms.iter().any(|r| r.kind == RoomKind::Evaluation && r.zone == Zone::Evaluation));
        assert!(!c.evaluation_area.locker_banks.is_empty());
        for r in &c.rooms {
            assert!(r.devices.iter().any(|d| d.starts_with("cam")), "room {} has a camera", r.id);
        }
        assert_eq!(c.database_url, "sqlite:///tmp/vd/venue-desk.db");
    }

    #[test]
    fn an_unknown_room_kind_names_the_line_and_what_is_allowed() {
        let text = DEMO_VENUE_TOML.replacen("kind = \"bid_opening\"", "kind = \"ballroom\"", 1);
        let line = text.lines().position(|l| l.contains("ballroom")).unwrap() + 1;
        let e = parse_str(&text).unwrap_err();
        let en = e.message_in(crate::error::Locale::En);
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(en.contains("/etc/venue.toml"), "{en}");
        assert!(en.contains(&format!("line {line},")), "{en}");
        assert!(en.contains("kind = \"ballroom\""), "{en}");
        assert!(en.contains("bid_opening") && en.contains("evaluation"), "lists the allowed kinds: {en}");
    }

    #[test]
    fn semantic_errors_point_at_the_field() {
        let text =
            DEMO_VENUE_TOML.replacen("time_zone = \"Asia/Shanghai\"", "time_zone = \"Mars/Olympus\"", 1);
        let e = parse_str(&text).unwrap_err();
        let en = e.message_in(crate::error::Locale::En).to_string();
        let line = text.lines().position(|l| l.contains("Mars")).unwrap() + 1;
        assert!(en.contains(&format!("line {line},")) && en.contains("venue.time_zone"), "{en}");

        let text = DEMO_VENUE_TOML.replacen("driver = \"lockboard_tcp\"", "driver = \"hik_isapi\"", 1);
        let en = parse_str(&text).unwrap_err().message_in(crate::error::Locale::En).to_string();
        assert!(en.contains("driver \"hik_isapi\" does not drive a lock_board"), "{en}");
    }

    #[test]
    fn dangling_and_duplicate_references_are_refused() {
        let text = DEMO_VENUE_TOML.replacen(
            "entrance_door = \"door-entrance\"",
            "entrance_door = \"door-nowhere\"",
            1,
        );
        let en = parse_str(&text).unwrap_err().message_in(crate::error::Locale::En).to_string();
        assert!(en.contains("\"door-nowhere\" is not defined"), "{en}");

        let text = format!(
            "{DEMO_VENUE_TOML}\n[[devices]]\nid = \"door-entrance\"\nkind = \"camera\"\ndriver = \"rtsp\"\naddress = \"rtsp://h/1\"\n"
        );
        let en = parse_str(&text).unwrap_err().message_in(crate::error::Locale::En).to_string();
        assert!(en.contains("appears twice"), "{en}");
    }

    #[test]
    fn device_settings_are_checked() {
        let en = |text: &str| parse_str(text).unwrap_err().message_in(crate::error::Locale::En).to_string();
        let t = DEMO_VENUE_TOML.replacen("channels = 24", "channels = 24\nboard_address = 40", 1);
        assert!(en(&t).contains("board_address must be between 1 and 32"));
        let t = DEMO_VENUE_TOML.replacen("channels = 24", "channels = 24\npolarity = \"inverted\"", 1);
        assert!(en(&t).contains("unlocked_when_set, locked_when_set"));
        let t = DEMO_VENUE_TOML.replacen("channels = 24", "channels = 24\nbaud = 1000", 1);
        assert!(en(&t).contains("standard rate"));
        let t =
            DEMO_VENUE_TOML.replacen("address = \"127.0.0.1:18081\"", "address = \"https://10.0.0.5\"", 1);
        assert!(en(&t).contains("HTTPS to door controllers is not supported"));
        let t = format!("{DEMO_VENUE_TOML}\n[checkin]\nlocker_close_timeout_seconds = 2\n");
        assert!(en(&t).contains("checkin.locker_close_timeout_seconds must be between 5 and 1800"));
        let t = DEMO_VENUE_TOML.replacen(
            "channels = 24",
            "channels = 12\npolarity = \"locked_when_set\"\nboard_address = 3",
            1,
        );
        let c = parse_str(&t).unwrap();
        let board = c.devices.iter().find(|d| d.id == "lockers-a").unwrap();
        assert_eq!((board.channels, board.board_address, board.unlocked_when_set), (Some(12), 3, false));
        assert_eq!(c.checkin.credential_grace_minutes, 30);
    }

    #[test]
    fn unknown_fields_and_syntax_errors_are_refused() {
        let e = parse_str(&DEMO_VENUE_TOML.replacen("[venue]", "[venue]\ncolour = \"red\"", 1)).unwrap_err();
        assert!(e.message_in(crate::error::Locale::En).contains("colour"));
        let e = parse_str("[venue\ncode = 1").unwrap_err();
        assert!(
            e.message_in(crate::error::Locale::En).contains("line 1"),
            "{}",
            e.message_in(crate::error::Locale::En)
        );
    }
}
