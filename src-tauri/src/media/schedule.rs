//! 录像计划 — which cameras record now, and why: the sessions (bookings) of their room with pre-
//! and post-roll, around the clock for cameras of public areas, or a supervisor's manual start.
//! A manual stop holds only while the schedule gives the reason it gave when the stop was made, so
//! stopping one session's recording never silences the next session.

use serde::{Deserialize, Serialize};

use crate::store::recordings::BookingSpan;

/// Why a camera records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Why {
    /// A session of the camera's room (its booking), pre- and post-roll included.
    #[serde(rename_all = "camelCase")]
    Session { booking_id: i64, project_code: String },
    /// A camera of a public area: always.
    Continuous,
    /// A supervisor started it by hand.
    Manual,
}

/// A camera (or microphone) as the schedule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Camera<'a> {
    pub id: &'a str,
    pub room_id: Option<&'a str>,
    pub continuous: bool,
}

/// A supervisor's decision about one camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Override {
    #[serde(rename_all = "camelCase")]
    Start { by: String, reason: String, at_ms: i64 },
    /// `scheduled`: what the schedule wanted when the stop was made.
    #[serde(rename_all = "camelCase")]
    Stop { by: String, reason: String, at_ms: i64, scheduled: Option<Why> },
}

/// What the schedule alone wants for the camera: `sessions` are those that want recording now
/// (`store::recorder::sessions_to_record`), of every room.
pub fn scheduled(camera: Camera<'_>, sessions: &[BookingSpan]) -> Option<Why> {
    if camera.continuous {
        return Some(Why::Continuous);
    }
    let room = camera.room_id?;
    sessions
        .iter()
        .find(|b| b.room_id == room)
        .map(|b| Why::Session { booking_id: b.id, project_code: b.tender_project_code.clone() })
}

/// What the camera should do, the supervisor's override taken into account.
pub fn wanted(scheduled: Option<Why>, over: Option<&Override>) -> Option<Why> {
    match over {
        None => scheduled,
        Some(Override::Start { .. }) => scheduled.or(Some(Why::Manual)),
        Some(Override::Stop { scheduled: at_stop, .. }) if *at_stop == scheduled => None,
        Some(Override::Stop { .. }) => scheduled,
    }
}

/// An override that no longer changes anything and can be forgotten: a stop whose session is over
/// (the schedule moved on).
pub fn expired(scheduled: &Option<Why>, over: &Override) -> bool {
    matches!(over, Override::Stop { scheduled: at_stop, .. } if at_stop != scheduled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: i64, room: &str) -> BookingSpan {
        BookingSpan {
            id,
            room_id: room.into(),
            purpose: "evaluation".into(),
            state: "in_progress".into(),
            start_ms: 0,
            end_ms: 1,
            occupied_start_ms: 0,
            occupied_end_ms: 1,
            tender_project_code: format!("P-{id}"),
            sections: None,
        }
    }

    const ROOM_CAM: Camera<'static> = Camera { id: "cam-a", room_id: Some("pb-1"), continuous: false };
    const LOBBY: Camera<'static> = Camera { id: "cam-lobby", room_id: None, continuous: true };

    #[test]
    fn a_room_camera_records_for_its_rooms_session_only() {
        let s = [session(7, "kb-1"), session(9, "pb-1")];
        assert_eq!(scheduled(ROOM_CAM, &s), Some(Why::Session { booking_id: 9, project_code: "P-9".into() }));
        assert_eq!(scheduled(ROOM_CAM, &s[..1]), None);
        assert_eq!(scheduled(Camera { room_id: None, ..ROOM_CAM }, &s), None, "no room, no session");
    }

    #[test]
    fn a_continuous_camera_always_records() {
        assert_eq!(scheduled(LOBBY, &[]), Some(Why::Continuous));
    }

    #[test]
    fn a_manual_start_records_an_idle_room_and_keeps_the_schedules_reason_otherwise() {
        let start = Override::Start { by: "sup".into(), reason: "现场核查".into(), at_ms: 0 };
        assert_eq!(wanted(None, Some(&start)), Some(Why::Manual));
        let s = Some(Why::Session { booking_id: 1, project_code: "P".into() });
        assert_eq!(wanted(s.clone(), Some(&start)), s);
        assert!(!expired(&None, &start), "a manual start lasts until it is stopped");
    }

    #[test]
    fn a_manual_stop_holds_for_the_session_it_stopped_and_not_the_next() {
        let first = Some(Why::Session { booking_id: 1, project_code: "P".into() });
        let next = Some(Why::Session { booking_id: 2, project_code: "P".into() });
        let stop =
            Override::Stop { by: "sup".into(), reason: "休会".into(), at_ms: 0, scheduled: first.clone() };
        assert_eq!(wanted(first.clone(), Some(&stop)), None);
        assert!(!expired(&first, &stop));
        assert_eq!(wanted(next.clone(), Some(&stop)), next, "the next session records");
        assert!(expired(&next, &stop));
        assert!(expired(&None, &stop), "the stopped session ended");
    }
}
