//! Hikvision ISAPI access-control driver (devices.md, "Door controllers — Hikvision ISAPI").
//!
//! Blocking, one HTTP/1.1 connection per request, Digest (or Basic) auth. Written against the
//! protocol, not against our simulator: it tolerates extra fields, numbers sent as strings,
//! unordered and duplicated search results, and errors reported either as JSON or XML
//! `ResponseStatus`; it refuses what a controller must not do (paging that never ends, bodies
//! that are not ISAPI) with a clear error instead of guessing.

mod client;
pub mod digest;
pub mod events;
pub mod http;
pub mod multipart;
mod watch;
pub mod xml;

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

pub use watch::{WatchEvent, WatchHandle, WatchOptions, watch};

use self::client::{Client, Reply};
use self::events::{as_text, as_u64};
use super::{AccessEvent, AccessPerson, DeviceInfo, DoorCommand, DoorController};
use crate::error::{Error, ErrorKind, Result};

/// How to reach one controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsapiSettings {
    /// `http://host:port`, e.g. `http://192.168.1.64` or `http://127.0.0.1:18081`.
    pub base_url: String,
    pub username: String,
    pub password: String,
    /// Basic instead of Digest; only for controllers configured that way (it sends the password).
    pub basic_auth: bool,
    /// Upper bound for one whole exchange (connect, send, answer), in milliseconds.
    pub timeout_ms: u64,
}

/// Results per search page. Controllers cap pages at about 30 whatever is asked.
const PAGE: u64 = 30;
/// A controller holds at most some tens of thousands of persons or events per query window;
/// paging beyond this means the device keeps saying MORE without advancing.
const MAX_PAGES: usize = 5_000;

/// What a caller was doing, for error messages in both languages.
struct Op {
    zh: String,
    en: String,
}

fn op(zh: impl Into<String>, en: impl Into<String>) -> Op {
    Op { zh: zh.into(), en: en.into() }
}

/// An ISAPI `ResponseStatus` that is not OK.
#[derive(Debug, Clone)]
struct Status {
    code: i64,
    status_string: String,
    sub_status_code: String,
    error_msg: Option<String>,
}

enum Outcome<T> {
    Ok(T),
    Rejected(Status),
}

/// A reply body, in whichever format the firmware chose.
enum Parsed {
    Json(Value),
    Xml(xml::Element),
    Empty,
    Unreadable,
}

fn status_in_json(v: &Value) -> Option<Status> {
    let code = v.get("statusCode")?;
    let code = code.as_i64().or_else(|| code.as_str().and_then(|s| s.trim().parse().ok()))?;
    Some(Status {
        code,
        status_string: as_text(v.get("statusString")).unwrap_or_default(),
        sub_status_code: as_text(v.get("subStatusCode")).unwrap_or_default(),
        error_msg: as_text(v.get("errorMsg")),
    })
}

fn status_in_xml(el: &xml::Element) -> Option<Status> {
    if el.name != "ResponseStatus" {
        return None;
    }
    Some(Status {
        code: el.child_text("statusCode")?.parse().ok()?,
        status_string: el.child_text("statusString").unwrap_or("").to_string(),
        sub_status_code: el.child_text("subStatusCode").unwrap_or("").to_string(),
        error_msg: el.child_text("errorMsg").filter(|s| !s.is_empty()).map(str::to_string),
    })
}

/// Sub-status codes that mean "no such record", which delete operations treat as done.
fn means_not_found(sub: &str) -> bool {
    let s = sub.to_ascii_lowercase();
    s.contains("notexist") || s.contains("nosuch") || s.contains("notfound")
}

/// Card numbers as controllers store them; checked before sending so the operator gets a precise
/// message instead of the device's generic `badParameters`.
pub fn valid_card_no(card_no: &str) -> bool {
    !card_no.is_empty()
        && card_no.len() <= 20
        && card_no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn check_card_no(card_no: &str) -> Result<()> {
    if valid_card_no(card_no) {
        return Ok(());
    }
    Err(Error::invalid(
        format!("卡号“{card_no}”无效：卡号最多 20 位，只能包含字母、数字和连字符。请核对后重新输入。"),
        format!(
            "The card number \"{card_no}\" is not valid: it must be 1 to 20 letters, digits or hyphens. \
             Check it and enter it again."
        ),
    ))
}

fn check_employee_no(employee_no: &str) -> Result<()> {
    if !employee_no.is_empty()
        && employee_no.len() <= 32
        && employee_no.chars().all(|c| !c.is_control() && !c.is_whitespace())
    {
        return Ok(());
    }
    Err(Error::invalid(
        format!("人员编号“{employee_no}”无效：应为 1 到 32 个字符，且不含空格。请核对后重试。"),
        format!(
            "The person number \"{employee_no}\" is not valid: it must be 1 to 32 characters without \
             spaces. Check it and try again."
        ),
    ))
}

fn local_time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn device_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The window Hikvision firmware shows for persons without a validity limit.
fn unbounded_window() -> (NaiveDateTime, NaiveDateTime) {
    let from = NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    let until = NaiveDate::from_ymd_opt(2037, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59));
    (from.unwrap_or_default(), until.unwrap_or_default())
}

/// `"1,2"`, `"1-4"` or `"1, 3-4"` into door numbers (bounded, so a hostile range cannot explode).
fn parse_door_list(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for piece in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = piece.split_once('-') {
            if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                out.extend((a..=b.min(a.saturating_add(255))).filter(|&d| d > 0));
            }
        } else if let Ok(d) = piece.parse::<u32>()
            && d > 0
        {
            out.push(d);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn door_command_word(c: DoorCommand) -> &'static [&'static str] {
    match c {
        DoorCommand::Open => &["open"],
        DoorCommand::Close => &["close"],
        DoorCommand::AlwaysOpen => &["alwaysOpen", "remainOpen"],
        DoorCommand::AlwaysClose => &["alwaysClose", "remainClose", "remainClosed"],
        DoorCommand::Normal => &["normal"],
    }
}

fn door_command_from_word(w: &str) -> Option<DoorCommand> {
    [
        DoorCommand::Open,
        DoorCommand::Close,
        DoorCommand::AlwaysOpen,
        DoorCommand::AlwaysClose,
        DoorCommand::Normal,
    ]
    .into_iter()
    .find(|c| door_command_word(*c).iter().any(|x| x.eq_ignore_ascii_case(w.trim())))
}

/// What the capabilities document says about remote door control.
#[derive(Debug, Clone)]
struct DoorCaps {
    /// The `cmd@opt` words exactly as the firmware spells them.
    words: Vec<String>,
    max_door: Option<u32>,
}

/// The ISAPI door controller driver.
pub struct IsapiController {
    client: Client,
    /// Capabilities are fixed per firmware; cached so each door command costs one request.
    caps: Mutex<Option<DoorCaps>>,
}

impl IsapiController {
    pub fn new(settings: IsapiSettings) -> Self {
        IsapiController { client: Client::new(&settings), caps: Mutex::new(None) }
    }

    /// `host:port` of the controller, as used in messages.
    pub fn address(&self) -> String {
        self.client.address()
    }

    fn rejected(&self, op: &Op, st: &Status) -> Error {
        let addr = self.client.address();
        let mut detail = format!("{}, statusCode {}", st.sub_status_code, st.code);
        if let Some(m) = &st.error_msg {
            detail.push_str(&format!(", {m}"));
        }
        Error::precondition(
            format!(
                "门禁控制器 {addr} 拒绝{}：{}（{detail}）。请检查设备上的设置和数据，然后重试。",
                op.zh, st.status_string
            ),
            format!(
                "The door controller at {addr} refused to {}: {} ({detail}). Check the settings and data on \
                 the device, then try again.",
                op.en, st.status_string
            ),
        )
    }

    fn http_problem(&self, op: &Op, status: u16) -> Error {
        let addr = self.client.address();
        match status {
            403 => Error::precondition(
                format!(
                    "门禁控制器 {addr} 不允许当前账号{}（HTTP 403）：请在设备上为该账号授予权限，或改用管理员账号。",
                    op.zh
                ),
                format!(
                    "The door controller at {addr} does not allow this account to {} (HTTP 403): grant the \
                     account the permission on the device, or use an administrator account.",
                    op.en
                ),
            ),
            404 | 405 | 501 => Error::precondition(
                format!(
                    "门禁控制器 {addr} 不支持{}（HTTP {status}）：请确认设备型号和固件支持 ISAPI 门禁功能。",
                    op.zh
                ),
                format!(
                    "The door controller at {addr} does not support the request to {} (HTTP {status}): check \
                     that its model and firmware support ISAPI access control.",
                    op.en
                ),
            ),
            500..=599 => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "门禁控制器 {addr} 内部出错（HTTP {status}），未能{}：请稍后重试；如仍失败，请重启设备。",
                    op.zh
                ),
                format!(
                    "The door controller at {addr} failed internally (HTTP {status}) and could not {}: try \
                     again later; if it keeps failing, restart the device.",
                    op.en
                ),
            ),
            other => self.client.not_isapi(&format!("HTTP {other}")),
        }
    }

    /// Interprets a reply: an ISAPI status that is not OK becomes `Rejected`, whatever the HTTP
    /// status (firmware sends errors with 200, 400 or 403, and in JSON or XML regardless of the
    /// format asked for).
    fn interpret(&self, op: &Op, reply: &Reply) -> Result<Outcome<Parsed>> {
        let text = String::from_utf8_lossy(&reply.body);
        let text = text.trim_start_matches('\u{feff}').trim();
        let parsed = if text.is_empty() {
            Parsed::Empty
        } else if let Ok(v) = serde_json::from_str::<Value>(text) {
            Parsed::Json(v)
        } else if let Ok(doc) = xml::parse(text) {
            Parsed::Xml(doc)
        } else {
            Parsed::Unreadable
        };
        let status = match &parsed {
            Parsed::Json(v) => status_in_json(v),
            Parsed::Xml(doc) => status_in_xml(doc),
            _ => None,
        };
        if let Some(st) = status
            && st.code != 1
        {
            return Ok(Outcome::Rejected(st));
        }
        if !(200..300).contains(&reply.status) {
            return Err(self.http_problem(op, reply.status));
        }
        Ok(Outcome::Ok(parsed))
    }

    fn json_call(&self, method: &str, path: &str, body: &Value, op: &Op) -> Result<Outcome<Value>> {
        let bytes = serde_json::to_vec(body).map_err(Error::internal)?;
        let reply = self.client.request(method, path, Some("application/json"), &bytes)?;
        match self.interpret(op, &reply)? {
            Outcome::Rejected(st) => Ok(Outcome::Rejected(st)),
            Outcome::Ok(Parsed::Json(v)) if v.is_object() => Ok(Outcome::Ok(v)),
            // Some firmware acknowledges writes with an empty body or an XML ResponseStatus.
            Outcome::Ok(Parsed::Empty) => Ok(Outcome::Ok(json!({}))),
            Outcome::Ok(Parsed::Xml(doc)) if doc.name == "ResponseStatus" => Ok(Outcome::Ok(json!({}))),
            Outcome::Ok(_) => Err(self.client.not_isapi(&format!("the reply to {path} is not JSON"))),
        }
    }

    /// A JSON call whose rejection is an error.
    fn json_ok(&self, method: &str, path: &str, body: &Value, op: &Op) -> Result<Value> {
        match self.json_call(method, path, body, op)? {
            Outcome::Ok(v) => Ok(v),
            Outcome::Rejected(st) => Err(self.rejected(op, &st)),
        }
    }

    fn get_xml(&self, path: &str, op: &Op) -> Result<xml::Element> {
        let reply = self.client.request("GET", path, None, &[])?;
        match self.interpret(op, &reply)? {
            Outcome::Rejected(st) => Err(self.rejected(op, &st)),
            Outcome::Ok(Parsed::Xml(doc)) => Ok(doc),
            Outcome::Ok(_) => Err(self.client.not_isapi(&format!("the reply to {path} is not XML"))),
        }
    }

    fn fetch_caps(&self) -> Result<DoorCaps> {
        let o = op("读取门控制能力", "read its door control capabilities");
        let doc = self.get_xml("/ISAPI/AccessControl/RemoteControl/door/capabilities", &o)?;
        let opt = doc
            .find("cmd")
            .and_then(|c| c.attr("opt"))
            .ok_or_else(|| self.client.not_isapi("the door capabilities have no cmd@opt"))?;
        let words: Vec<String> =
            opt.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect();
        let max_door = doc.find("doorNo").and_then(|d| d.attr("max")).and_then(|m| m.trim().parse().ok());
        let caps = DoorCaps { words, max_door };
        *self.caps.lock().unwrap_or_else(|p| p.into_inner()) = Some(caps.clone());
        Ok(caps)
    }

    fn caps(&self) -> Result<DoorCaps> {
        if let Some(c) = self.caps.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(c);
        }
        self.fetch_caps()
    }

    fn person_from(&self, it: &Value) -> Result<AccessPerson> {
        let employee_no = as_text(it.get("employeeNo"))
            .ok_or_else(|| self.client.not_isapi("a person without employeeNo"))?;
        let name = as_text(it.get("name")).unwrap_or_default();
        let valid = it.get("Valid");
        let enabled = valid.and_then(|v| v.get("enable")).is_some_and(|e| match e {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        });
        let (valid_from, valid_until) = if enabled {
            let get = |k: &str| {
                valid.and_then(|v| v.get(k)).and_then(Value::as_str).and_then(events::parse_naive).ok_or_else(
                    || self.client.not_isapi(&format!("person {employee_no} has an unreadable Valid.{k}")),
                )
            };
            (get("beginTime")?, get("endTime")?)
        } else {
            unbounded_window()
        };
        let mut door_nos =
            it.get("doorRight").and_then(Value::as_str).map(parse_door_list).unwrap_or_default();
        if door_nos.is_empty()
            && let Some(plans) = it.get("RightPlan").and_then(Value::as_array)
        {
            door_nos =
                plans.iter().filter_map(|p| events::as_u32(p.get("doorNo"))).filter(|&d| d > 0).collect();
            door_nos.sort_unstable();
            door_nos.dedup();
        }
        Ok(AccessPerson { employee_no, name, valid_from, valid_until, door_nos })
    }

    /// Whether `card_no` is already bound to `employee_no` (used when the controller says the
    /// card exists, to make adding a card idempotent).
    fn card_owner(&self, card_no: &str) -> Result<Option<String>> {
        let o = op(format!("查询卡 {card_no}"), format!("look up card {card_no}"));
        let body = json!({"CardInfoSearchCond": {
            "searchID": uuid::Uuid::new_v4().to_string(),
            "searchResultPosition": 0,
            "maxResults": PAGE,
            "CardNoList": [{"cardNo": card_no}],
        }});
        let v = self.json_ok("POST", "/ISAPI/AccessControl/CardInfo/Search?format=json", &body, &o)?;
        let cards = v.get("CardInfoSearch").and_then(|s| s.get("CardInfo")).and_then(Value::as_array);
        Ok(cards
            .into_iter()
            .flatten()
            .find(|c| as_text(c.get("cardNo")).as_deref() == Some(card_no))
            .and_then(|c| as_text(c.get("employeeNo"))))
    }
}

impl DoorController for IsapiController {
    fn device_info(&self) -> Result<DeviceInfo> {
        let doc =
            self.get_xml("/ISAPI/System/deviceInfo", &op("读取设备信息", "report its device information"))?;
        if doc.name != "DeviceInfo" {
            return Err(self.client.not_isapi(&format!("deviceInfo answered with <{}>", doc.name)));
        }
        let text = |k: &str| doc.child_text(k).unwrap_or("").to_string();
        Ok(DeviceInfo {
            name: text("deviceName"),
            model: text("model"),
            serial_number: text("serialNumber"),
            firmware_version: text("firmwareVersion"),
        })
    }

    fn door_commands(&self) -> Result<Vec<DoorCommand>> {
        let caps = self.fetch_caps()?;
        let mut out: Vec<DoorCommand> = Vec::new();
        for w in &caps.words {
            if let Some(c) = door_command_from_word(w)
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn control_door(&self, door_no: u32, command: DoorCommand) -> Result<()> {
        let caps = self.caps()?;
        if door_no == 0 || caps.max_door.is_some_and(|m| door_no > m) {
            let max = caps.max_door.map(|m| m.to_string()).unwrap_or_else(|| "?".into());
            return Err(Error::invalid(
                format!("门号 {door_no} 不存在：该控制器的门号为 1 到 {max}。请选择正确的门。"),
                format!(
                    "Door {door_no} does not exist: this controller has doors 1 to {max}. Choose another door."
                ),
            ));
        }
        let word = door_command_word(command)
            .iter()
            .find_map(|w| caps.words.iter().find(|c| c.eq_ignore_ascii_case(w)))
            .cloned();
        let Some(word) = word else {
            let addr = self.client.address();
            let offered = caps.words.join(", ");
            return Err(Error::precondition(
                format!(
                    "门禁控制器 {addr} 不支持该门控命令（{command:?}）；它支持：{offered}。请改用支持的命令。"
                ),
                format!(
                    "The door controller at {addr} does not accept the door command {command:?}; it accepts: \
                     {offered}. Use one of those."
                ),
            ));
        };
        let o = op(format!("执行门 {door_no} 的“{word}”命令"), format!("{word} door {door_no}"));
        let body = format!("<RemoteControlDoor><cmd>{word}</cmd></RemoteControlDoor>");
        let path = format!("/ISAPI/AccessControl/RemoteControl/door/{door_no}");
        let reply = self.client.request("PUT", &path, Some("application/xml"), body.as_bytes())?;
        match self.interpret(&o, &reply)? {
            Outcome::Ok(Parsed::Unreadable) => {
                Err(self.client.not_isapi(&format!("the reply to {path} is neither XML nor JSON")))
            }
            Outcome::Ok(_) => Ok(()),
            Outcome::Rejected(st) => {
                // The firmware may have changed under us; read the capabilities again next time.
                *self.caps.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Err(self.rejected(&o, &st))
            }
        }
    }

    fn upsert_person(&self, person: &AccessPerson) -> Result<()> {
        check_employee_no(&person.employee_no)?;
        if person.valid_until <= person.valid_from {
            return Err(Error::invalid(
                format!("人员 {} 的有效期结束时间早于开始时间：请修改有效期后重试。", person.employee_no),
                format!(
                    "The validity window of person {} ends before it begins: correct the window and try again.",
                    person.employee_no
                ),
            ));
        }
        if person.door_nos.contains(&0) {
            return Err(Error::invalid(
                "门号从 1 开始：请修改人员的门权限后重试。",
                "Door numbers start at 1: correct the person's doors and try again.",
            ));
        }
        let mut doors = person.door_nos.clone();
        doors.sort_unstable();
        doors.dedup();
        let door_right = doors.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let plans: Vec<Value> = doors.iter().map(|d| json!({"doorNo": d, "planTemplateNo": "1"})).collect();
        let body = json!({"UserInfo": {
            "employeeNo": person.employee_no,
            "name": person.name,
            "userType": "normal",
            "Valid": {
                "enable": true,
                "beginTime": local_time(&person.valid_from),
                "endTime": local_time(&person.valid_until),
                "timeType": "local",
            },
            "doorRight": door_right,
            "RightPlan": plans,
        }});
        let add =
            op(format!("添加人员 {}", person.employee_no), format!("add person {}", person.employee_no));
        match self.json_call("POST", "/ISAPI/AccessControl/UserInfo/Record?format=json", &body, &add)? {
            Outcome::Ok(_) => Ok(()),
            Outcome::Rejected(st) if st.sub_status_code.eq_ignore_ascii_case("employeeNoAlreadyExist") => {
                let modify = op(
                    format!("修改人员 {}", person.employee_no),
                    format!("change person {}", person.employee_no),
                );
                self.json_ok("PUT", "/ISAPI/AccessControl/UserInfo/Modify?format=json", &body, &modify)
                    .map(|_| ())
            }
            Outcome::Rejected(st) => Err(self.rejected(&add, &st)),
        }
    }

    fn delete_person(&self, employee_no: &str) -> Result<()> {
        check_employee_no(employee_no)?;
        let o = op(format!("删除人员 {employee_no}"), format!("delete person {employee_no}"));
        let body = json!({"UserInfoDelCond": {"EmployeeNoList": [{"employeeNo": employee_no}]}});
        match self.json_call("PUT", "/ISAPI/AccessControl/UserInfo/Delete?format=json", &body, &o)? {
            Outcome::Ok(_) => Ok(()),
            Outcome::Rejected(st) if means_not_found(&st.sub_status_code) => Ok(()),
            Outcome::Rejected(st) => Err(self.rejected(&o, &st)),
        }
    }

    fn list_persons(&self) -> Result<Vec<AccessPerson>> {
        let o = op("列出人员", "list its persons");
        let search_id = uuid::Uuid::new_v4().to_string();
        let mut position = 0u64;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let body = json!({"UserInfoSearchCond": {
                "searchID": search_id,
                "searchResultPosition": position,
                "maxResults": PAGE,
            }});
            let v = self.json_ok("POST", "/ISAPI/AccessControl/UserInfo/Search?format=json", &body, &o)?;
            let s = v
                .get("UserInfoSearch")
                .ok_or_else(|| self.client.not_isapi("no UserInfoSearch in the reply"))?;
            let status = s.get("responseStatusStrg").and_then(Value::as_str).unwrap_or("OK").trim();
            if status.eq_ignore_ascii_case("NO MATCH") {
                return Ok(out);
            }
            let items = s.get("UserInfo").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            for it in items {
                let p = self.person_from(it)?;
                if seen.insert(p.employee_no.clone()) {
                    out.push(p);
                }
            }
            if !status.eq_ignore_ascii_case("MORE") {
                return Ok(out);
            }
            let n = as_u64(s.get("numOfMatches")).unwrap_or(items.len() as u64);
            if n == 0 {
                return Err(self.client.not_isapi("the person search says MORE but returned nothing"));
            }
            position += n;
        }
        Err(self.client.not_isapi("the person search never ends"))
    }

    fn add_card(&self, employee_no: &str, card_no: &str) -> Result<()> {
        check_card_no(card_no)?;
        check_employee_no(employee_no)?;
        let o = op(
            format!("为人员 {employee_no} 添加卡 {card_no}"),
            format!("add card {card_no} to person {employee_no}"),
        );
        let body =
            json!({"CardInfo": {"employeeNo": employee_no, "cardNo": card_no, "cardType": "normalCard"}});
        match self.json_call("POST", "/ISAPI/AccessControl/CardInfo/Record?format=json", &body, &o)? {
            Outcome::Ok(_) => Ok(()),
            Outcome::Rejected(st)
                if st.sub_status_code.to_ascii_lowercase().contains("cardnoalreadyexist") =>
            {
                match self.card_owner(card_no)? {
                    Some(owner) if owner == employee_no => Ok(()),
                    Some(owner) => Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("卡 {card_no} 已绑定到人员 {owner}：请先从该人员解绑，或换一张卡。"),
                        format!(
                            "Card {card_no} is already bound to person {owner}: unbind it from that person \
                             first, or use another card."
                        ),
                    )),
                    None => Err(self.rejected(&o, &st)),
                }
            }
            Outcome::Rejected(st) => Err(self.rejected(&o, &st)),
        }
    }

    fn delete_card(&self, card_no: &str) -> Result<()> {
        check_card_no(card_no)?;
        let o = op(format!("删除卡 {card_no}"), format!("delete card {card_no}"));
        let body = json!({"CardInfoDelCond": {"CardNoList": [{"cardNo": card_no}]}});
        match self.json_call("PUT", "/ISAPI/AccessControl/CardInfo/Delete?format=json", &body, &o)? {
            Outcome::Ok(_) => Ok(()),
            Outcome::Rejected(st) if means_not_found(&st.sub_status_code) => Ok(()),
            Outcome::Rejected(st) => Err(self.rejected(&o, &st)),
        }
    }

    fn events_between(
        &self,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Result<Vec<AccessEvent>> {
        if to < from {
            return Err(Error::invalid(
                "查询事件的结束时间早于开始时间：请调整时间范围。",
                "The end of the event query is before its start: adjust the time range.",
            ));
        }
        let o = op("查询事件记录", "search its event history");
        let search_id = uuid::Uuid::new_v4().to_string();
        let assumed = *from.offset();
        let mut position = 0u64;
        let mut by_serial: BTreeMap<u64, AccessEvent> = BTreeMap::new();
        for _ in 0..MAX_PAGES {
            let body = json!({"AcsEventCond": {
                "searchID": search_id,
                "searchResultPosition": position,
                "maxResults": PAGE,
                "major": 0,
                "minor": 0,
                "startTime": device_time(&from),
                "endTime": device_time(&to),
            }});
            let v = self.json_ok("POST", "/ISAPI/AccessControl/AcsEvent?format=json", &body, &o)?;
            let s = v.get("AcsEvent").ok_or_else(|| self.client.not_isapi("no AcsEvent in the reply"))?;
            let status = s.get("responseStatusStrg").and_then(Value::as_str).unwrap_or("OK").trim();
            if status.eq_ignore_ascii_case("NO MATCH") {
                return Ok(by_serial.into_values().collect());
            }
            let items = s.get("InfoList").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            for it in items {
                match events::from_search_item(it, assumed) {
                    // The device filters by time already; checking again guards against firmware
                    // that ignores the offset.
                    Some(e) if e.time >= from && e.time <= to => {
                        by_serial.entry(e.serial_no).or_insert(e);
                    }
                    Some(_) => {}
                    None => {
                        tracing::warn!(controller = %self.address(), item = %it, "unreadable event skipped")
                    }
                }
            }
            if !status.eq_ignore_ascii_case("MORE") {
                return Ok(by_serial.into_values().collect());
            }
            let n = as_u64(s.get("numOfMatches")).unwrap_or(items.len() as u64);
            if n == 0 {
                return Err(self.client.not_isapi("the event search says MORE but returned nothing"));
            }
            position += n;
        }
        Err(self.client.not_isapi("the event search never ends"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers() {
        assert!(valid_card_no("12345678901234567890"));
        assert!(valid_card_no("AB-12"));
        assert!(!valid_card_no("123456789012345678901"));
        assert!(!valid_card_no(""));
        assert!(!valid_card_no("12 34"));
        assert!(!valid_card_no("卡1"));
    }

    #[test]
    fn door_lists() {
        assert_eq!(parse_door_list("1,2"), vec![1, 2]);
        assert_eq!(parse_door_list(" 3-4, 1 ,x,0"), vec![1, 3, 4]);
        assert_eq!(parse_door_list("1-4294967295").len(), 256);
        assert_eq!(parse_door_list(""), Vec::<u32>::new());
    }

    #[test]
    fn door_command_words() {
        assert_eq!(door_command_from_word("remainOpen"), Some(DoorCommand::AlwaysOpen));
        assert_eq!(door_command_from_word("alwaysClose"), Some(DoorCommand::AlwaysClose));
        assert_eq!(door_command_from_word("visitorCallLadder"), None);
    }

    #[test]
    fn statuses() {
        let st =
            status_in_json(&json!({"statusCode": "6", "subStatusCode": "employeeNoAlreadyExist"})).unwrap();
        assert_eq!(st.code, 6);
        let el = xml::parse(
            "<ResponseStatus><statusCode>4</statusCode><statusString>Invalid Operation</statusString>\
             <subStatusCode>notSupport</subStatusCode></ResponseStatus>",
        )
        .unwrap();
        let st = status_in_xml(&el).unwrap();
        assert_eq!((st.code, st.sub_status_code.as_str()), (4, "notSupport"));
        assert!(means_not_found("employeeNoNotExist"));
        assert!(!means_not_found("badParameters"));
    }
}
