//! 录像回放 — the timeline of a room: for a session, a day or a time range, each of the room's
//! cameras and microphones with its segments (where the player fetches them on the loopback media
//! server, whether retention removed them, whether they were recovered after a crash) and its gaps,
//! with the sessions that fall in the span. Supervisors and administrators only: recordings of
//! evaluations are confidential (seed 004 5.6.1).

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};

use super::gaps::GapView;
use super::serve::MediaEndpoint;
use super::{Recordings, sections};
use crate::auth::Caller;
use crate::domain::operator::Role;
use crate::domain::venue::DeviceKind;
use crate::error::{Error, Result};
use crate::store::recordings::{self as db, PlaybackSessionRow};

/// Who may watch recordings.
pub const PLAYBACK_ROLES: &[Role] = &[Role::Supervisor, Role::Administrator];

/// The longest span one timeline covers: two days is more than any session (multi-day evaluations
/// are one booking per day), and keeps the answer small.
pub const MAX_TIMELINE_MS: i64 = 48 * 3600 * 1000;

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
// Field renaming per variant, not `rename_all_fields`: specta ignores the latter, and the
// TypeScript bindings would name the fields in snake_case while serde expects camelCase.
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TimelineQuery {
    /// One session: its room, over the span its recordings are taken from (set-up and clean-up
    /// included, where pre-roll and post-roll fall).
    #[serde(rename_all = "camelCase")]
    Session { booking_id: i64 },
    /// One room over one calendar day of the venue (`YYYY-MM-DD`, venue time).
    #[serde(rename_all = "camelCase")]
    Day { room_id: String, date: String },
    /// One room over `[from_ms, to_ms)` (UTC ms).
    #[serde(rename_all = "camelCase")]
    Range { room_id: String, from_ms: i64, to_ms: i64 },
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub room_id: String,
    pub room_name: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Venue time, RFC 3339.
    pub from: String,
    pub to: String,
    /// The session asked for (`Session` queries).
    pub session: Option<TimelineSession>,
    /// Every session of the room in the span.
    pub sessions: Vec<TimelineSession>,
    /// Cameras first, then microphones, in the venue file's order; then any device that recorded
    /// in the room but is no longer listed for it.
    pub tracks: Vec<Track>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TimelineSession {
    pub booking_id: i64,
    pub tender_project_code: String,
    pub project_name: String,
    pub bid_section_codes: Vec<String>,
    pub purpose: String,
    pub state: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The span recordings are taken from (the booking's hold on the room).
    pub recorded_from_ms: i64,
    pub recorded_to_ms: i64,
    /// Venue time, RFC 3339.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Camera,
    Microphone,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Track {
    pub device_id: String,
    pub name: String,
    pub kind: TrackKind,
    /// In time order.
    pub segments: Vec<TimelineSegment>,
    pub gaps: Vec<GapView>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TimelineSegment {
    pub id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Where the player fetches it; `None` once retention has removed the file.
    pub url: Option<String>,
    pub purged: bool,
    /// Indexed at start-up after a crash.
    pub recovered: bool,
}

impl Recordings {
    /// The room's timeline for a session, a day or a range.
    pub async fn timeline(
        &self,
        caller: &Caller,
        query: &TimelineQuery,
        media: &MediaEndpoint,
    ) -> Result<Timeline> {
        self.require_role(caller, PLAYBACK_ROLES, "回放录像", "play back recordings").await?;
        let pool = self.store.pool();
        let (room_id, from_ms, to_ms, session) = match query {
            TimelineQuery::Session { booking_id } => {
                let b = db::playback_session(pool, *booking_id).await?.ok_or_else(|| {
                    Error::not_found(
                        format!("没有编号为 {booking_id} 的场次。请在场次列表中重新选择。"),
                        format!(
                            "There is no session {booking_id}. Choose it again from the list of sessions."
                        ),
                    )
                })?;
                // The same span as `session_window` (the booking's hold on the room), which the
                // export uses: playback shows what an export of the session would hold.
                let (a, z) = (b.occupied_start_ms, b.occupied_end_ms);
                (b.room_id.clone(), a, z, Some(self.timeline_session(b)))
            }
            TimelineQuery::Day { room_id, date } => {
                let (a, z) = self.venue_day(date)?;
                (room_id.clone(), a, z, None)
            }
            TimelineQuery::Range { room_id, from_ms, to_ms } => {
                if to_ms <= from_ms || to_ms - from_ms > MAX_TIMELINE_MS {
                    return Err(Error::invalid(
                        "回放时间段无效：结束须晚于开始，且不超过 48 小时。",
                        "Invalid playback span: the end must be after the start, and the span at most 48 hours.",
                    ));
                }
                (room_id.clone(), *from_ms, *to_ms, None)
            }
        };
        let room = self.config.rooms.iter().find(|r| r.id == room_id).ok_or_else(|| {
            Error::not_found(
                format!("场地配置中没有房间 {room_id}。请重新选择房间。"),
                format!("The venue file has no room {room_id}. Choose the room again."),
            )
        })?;

        let mut tracks: Vec<Track> = Vec::new();
        for kind in [DeviceKind::Camera, DeviceKind::Microphone] {
            for id in &room.devices {
                if let Some(d) = self.config.devices.iter().find(|d| &d.id == id && d.kind == kind) {
                    tracks.push(Track {
                        device_id: d.id.clone(),
                        name: d.name.clone(),
                        kind: if kind == DeviceKind::Camera {
                            TrackKind::Camera
                        } else {
                            TrackKind::Microphone
                        },
                        segments: Vec::new(),
                        gaps: Vec::new(),
                    });
                }
            }
        }
        let track_of = |tracks: &mut Vec<Track>, device: &str| -> usize {
            if let Some(i) = tracks.iter().position(|t| t.device_id == device) {
                return i;
            }
            // A device that recorded here but is no longer listed for the room: its recordings
            // are still evidence of the span, so it gets a track of its own.
            let known = self.config.devices.iter().find(|d| d.id == device);
            tracks.push(Track {
                device_id: device.to_string(),
                name: known.map(|d| d.name.clone()).unwrap_or_else(|| device.to_string()),
                kind: if known.is_some_and(|d| d.kind == DeviceKind::Microphone) {
                    TrackKind::Microphone
                } else {
                    TrackKind::Camera
                },
                segments: Vec::new(),
                gaps: Vec::new(),
            });
            tracks.len() - 1
        };
        for s in db::segments_in_room(pool, &room_id, from_ms, to_ms).await? {
            let i = track_of(&mut tracks, &s.camera_id);
            let purged = s.purged_at_ms.is_some();
            tracks[i].segments.push(TimelineSegment {
                id: s.id,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                url: (!purged).then(|| media.segment_url(s.id)),
                purged,
                recovered: s.recovered,
            });
        }
        for g in db::gaps_in_room(pool, &room_id, from_ms, to_ms).await? {
            let i = track_of(&mut tracks, &g.camera_id);
            tracks[i].gaps.push(self.gap_view(g));
        }
        for t in &mut tracks {
            // Chain order is time order for a camera, except after a clock step; the player walks
            // by time.
            t.segments.sort_by_key(|s| (s.start_ms, s.id));
        }
        let sessions = db::playback_sessions_in_room(pool, &room_id, from_ms, to_ms)
            .await?
            .into_iter()
            .map(|b| self.timeline_session(b))
            .collect();
        Ok(Timeline {
            room_name: room.name.clone(),
            room_id,
            from: self.venue_rfc3339(from_ms),
            to: self.venue_rfc3339(to_ms),
            from_ms,
            to_ms,
            session,
            sessions,
            tracks,
        })
    }

    fn timeline_session(&self, b: PlaybackSessionRow) -> TimelineSession {
        TimelineSession {
            booking_id: b.id,
            bid_section_codes: sections(&b.sections),
            start: self.venue_rfc3339(b.start_ms),
            end: self.venue_rfc3339(b.end_ms),
            tender_project_code: b.tender_project_code,
            project_name: b.project_name,
            purpose: b.purpose,
            state: b.state,
            start_ms: b.start_ms,
            end_ms: b.end_ms,
            recorded_from_ms: b.occupied_start_ms,
            recorded_to_ms: b.occupied_end_ms,
        }
    }

    /// A venue calendar day as `[start, next start)` in UTC ms (23 or 25 hours on a DST change).
    fn venue_day(&self, date: &str) -> Result<(i64, i64)> {
        let bad = || {
            Error::invalid(
                format!("日期“{date}”无效，应形如 2026-11-24。"),
                format!("\"{date}\" is not a date such as 2026-11-24."),
            )
        };
        let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| bad())?;
        let next = day.succ_opt().ok_or_else(bad)?;
        let tz = self.config.time_zone;
        let start = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .map(|t| t.timestamp_millis())
                .ok_or_else(bad)
        };
        Ok((start(day)?, start(next)?))
    }
}
