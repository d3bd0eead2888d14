//! Reading access events from the two places they come from — the `AcsEvent` search (catch-up)
//! and the alert stream (live) — into one [`AccessEvent`] shape.
//!
//! Firmware is inconsistent about types (numbers sent as strings, `employeeNo` as a number or
//! `employeeNoString` as a string, times with or without an offset), so every accessor here is
//! tolerant and nothing panics on any input.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use serde_json::Value;

use super::multipart::Part;
use super::xml;
use crate::devices::AccessEvent;

/// A number that may arrive as a JSON number or a numeric string.
pub fn as_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn as_u32(v: Option<&Value>) -> Option<u32> {
    as_u64(v).and_then(|n| u32::try_from(n).ok())
}

/// A non-empty string, from a string or a number.
pub fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a device time. Times without an offset (some firmware) are taken to be in `assumed`,
/// the offset the caller asked in, because that is the venue's own clock.
pub fn parse_time(s: &str, assumed: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(t);
    }
    let naive = parse_naive(s)?;
    assumed.from_local_datetime(&naive).single()
}

/// A naive local time as used in person validity windows; an offset, if present, is dropped
/// because the window is defined in the controller's local time.
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.naive_local())
}

fn employee(v: &Value) -> Option<String> {
    as_text(v.get("employeeNoString")).or_else(|| as_text(v.get("employeeNo")))
}

/// One item of `AcsEvent.InfoList`. `None` when it lacks what an event needs (serial number,
/// codes, a readable time).
pub fn from_search_item(item: &Value, assumed: FixedOffset) -> Option<AccessEvent> {
    Some(AccessEvent {
        serial_no: as_u64(item.get("serialNo"))?,
        time: parse_time(item.get("time")?.as_str()?, assumed)?,
        major: as_u32(item.get("major"))?,
        minor: as_u32(item.get("minor"))?,
        card_no: as_text(item.get("cardNo")),
        employee_no: employee(item),
        door_no: as_u32(item.get("doorNo")),
        card_reader_no: as_u32(item.get("cardReaderNo")),
    })
}

/// What one alert-stream part means to the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    Access(AccessEvent),
    /// An access event without a serial number (older firmware): it cannot be de-duplicated, so
    /// the watcher fetches it through the search, which always carries serial numbers.
    AccessWithoutSerial,
    AlarmInput {
        input_no: u32,
        active: bool,
        time: DateTime<FixedOffset>,
    },
    /// `heartBeat`, or the classic `videoloss`/`inactive` keep-alive.
    Heartbeat,
    /// Anything else (pictures, other event types, unreadable parts).
    Other,
}

/// The part's content as JSON data, whether it was sent as JSON or XML.
fn part_value(part: &Part) -> Option<Value> {
    let ct = part.header("content-type").unwrap_or("").to_ascii_lowercase();
    let text = std::str::from_utf8(&part.body).ok()?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if ct.contains("json") || trimmed.starts_with('{') {
        serde_json::from_str(trimmed).ok()
    } else if ct.contains("xml") || trimmed.starts_with('<') {
        let el = xml::parse(trimmed).ok()?;
        Some(el.to_json())
    } else {
        None
    }
}

/// Interprets one part. Alarm inputs follow the generic Hikvision shape used by controllers and
/// cameras alike: `eventType` `IO` with `inputIOPortID` and `eventState` `active`/`inactive`.
pub fn from_part(part: &Part, assumed: FixedOffset) -> Alert {
    let Some(v) = part_value(part) else { return Alert::Other };
    let event_type = v.get("eventType").and_then(Value::as_str).unwrap_or("").trim().to_string();
    let state = v.get("eventState").and_then(Value::as_str).unwrap_or("").trim().to_ascii_lowercase();
    let time = v.get("dateTime").and_then(Value::as_str).and_then(|t| parse_time(t, assumed));
    if event_type.eq_ignore_ascii_case("heartBeat")
        || (event_type.eq_ignore_ascii_case("videoloss") && state == "inactive")
    {
        return Alert::Heartbeat;
    }
    if event_type.eq_ignore_ascii_case("IO") {
        let input = as_u32(v.get("inputIOPortID"))
            .or_else(|| as_u32(v.get("dynInputIOPortID")))
            .or_else(|| as_u32(v.get("alarmInNo")));
        let (Some(input_no), Some(time)) = (input, time) else { return Alert::Other };
        return Alert::AlarmInput { input_no, active: state != "inactive", time };
    }
    if !event_type.eq_ignore_ascii_case("AccessControllerEvent") {
        return Alert::Other;
    }
    let Some(ev) = v.get("AccessControllerEvent") else { return Alert::Other };
    let (Some(major), Some(minor)) = (as_u32(ev.get("majorEventType")), as_u32(ev.get("subEventType")))
    else {
        return Alert::Other;
    };
    let Some(serial_no) = as_u64(ev.get("serialNo")) else { return Alert::AccessWithoutSerial };
    let Some(time) = time else { return Alert::AccessWithoutSerial };
    Alert::Access(AccessEvent {
        serial_no,
        time,
        major,
        minor,
        card_no: as_text(ev.get("cardNo")),
        employee_no: employee(ev),
        door_no: as_u32(ev.get("doorNo")),
        card_reader_no: as_u32(ev.get("cardReaderNo")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn part(ct: &str, body: &str) -> Part {
        Part { headers: vec![("Content-Type".into(), ct.into())], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn json_access_event() {
        let p = part(
            "application/json; charset=\"UTF-8\"",
            r#"{"ipAddress":"10.0.0.2","dateTime":"2026-03-01T08:31:02+08:00","activePostCount":1,
               "eventType":"AccessControllerEvent","eventState":"active",
               "AccessControllerEvent":{"majorEventType":5,"subEventType":75,"cardNo":"",
               "employeeNoString":"vd-1","serialNo":"42","doorNo":1,"cardReaderNo":2}}"#,
        );
        let Alert::Access(e) = from_part(&p, cst()) else { panic!("not an access event") };
        assert_eq!((e.serial_no, e.major, e.minor), (42, 5, 75));
        assert_eq!(e.employee_no.as_deref(), Some("vd-1"));
        assert_eq!(e.card_no, None);
        assert_eq!(e.card_reader_no, Some(2));
        assert_eq!(e.time.to_rfc3339(), "2026-03-01T08:31:02+08:00");
    }

    #[test]
    fn xml_access_event_alarm_input_and_heartbeats() {
        let p = part(
            "application/xml",
            r#"<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<dateTime>2026-03-01T08:31:02</dateTime><eventType>AccessControllerEvent</eventType>
<AccessControllerEvent><majorEventType>5</majorEventType><subEventType>27</subEventType>
<serialNo>7</serialNo><doorNo>2</doorNo></AccessControllerEvent></EventNotificationAlert>"#,
        );
        let Alert::Access(e) = from_part(&p, cst()) else { panic!("not an access event") };
        assert_eq!((e.serial_no, e.minor, e.door_no), (7, 0x1b, Some(2)));
        assert_eq!(e.time.offset(), &cst());

        let io = part(
            "application/xml",
            "<EventNotificationAlert><dateTime>2026-03-01T08:31:02+08:00</dateTime><eventType>IO</eventType>\
             <eventState>inactive</eventState><inputIOPortID>3</inputIOPortID></EventNotificationAlert>",
        );
        assert!(matches!(from_part(&io, cst()), Alert::AlarmInput { input_no: 3, active: false, .. }));

        let hb = part("application/json", r#"{"eventType":"heartBeat","dateTime":"x"}"#);
        assert_eq!(from_part(&hb, cst()), Alert::Heartbeat);
        let vl = part(
            "text/xml",
            "<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>",
        );
        assert_eq!(from_part(&vl, cst()), Alert::Heartbeat);
        let no_serial = part(
            "application/json",
            r#"{"eventType":"AccessControllerEvent","AccessControllerEvent":{"majorEventType":5,"subEventType":1}}"#,
        );
        assert_eq!(from_part(&no_serial, cst()), Alert::AccessWithoutSerial);
        for junk in ["", "{", "<a", "\u{0}\u{1}", "[1,2]", "{\"eventType\":5}"] {
            assert_eq!(from_part(&part("", junk), cst()), Alert::Other);
        }
    }

    #[test]
    fn search_items_tolerate_types() {
        let item: Value = serde_json::json!({"major":5,"minor":"1","time":"2026-03-01T08:00:00+08:00",
            "cardNo":"A1","employeeNo":1001,"doorNo":1,"serialNo":9});
        let e = from_search_item(&item, cst()).unwrap();
        assert_eq!(e.employee_no.as_deref(), Some("1001"));
        assert_eq!(e.minor, 1);
        assert!(from_search_item(&serde_json::json!({"major":5}), cst()).is_none());
    }
}
