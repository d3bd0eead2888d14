//! 监督墙 — what the supervision wall shows: the rooms whose sessions are in progress now with
//! their cameras (from bookings, as the recorder finds them), every camera of the venue for the
//! supervisor to pick, whether each records, and who is inside the evaluation area.

use std::collections::HashMap;

use serde::Serialize;

use super::live::StreamKind;
use super::serve::MediaEndpoint;
use crate::domain::venue::DeviceKind;
use crate::error::Result;

/// One camera as a wall tile plays it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct WallCamera {
    pub camera_id: String,
    pub name: String,
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    /// The live sub-stream (tiles) and main stream (enlarged view) on the loopback server.
    pub sub_url: String,
    pub main_url: String,
    /// The recorder writes this camera now (wanted by the schedule and receiving data).
    pub recording: bool,
}

/// A session in progress in a room, with what its tiles' overlay says.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct WallSession {
    pub booking_id: i64,
    pub room_id: String,
    pub room_name: String,
    pub tender_project_code: String,
    /// The booking's purpose (`evaluation`, `bid_opening`, …), labelled by the window.
    pub purpose: String,
    /// Scheduled start, UTC epoch ms (the overlay's elapsed time counts from it).
    pub start_ms: i64,
    pub end_ms: i64,
    /// The room's cameras, in the venue file's order.
    pub camera_ids: Vec<String>,
    /// Experts of this room's session inside the evaluation area now.
    pub inside: u32,
}

/// Everything the wall needs in one read.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct LiveWall {
    /// The venue clock, UTC epoch ms, so elapsed times do not depend on the window's clock.
    pub now_ms: i64,
    pub sessions: Vec<WallSession>,
    /// Every camera of the venue, for the supervisor to pick.
    pub cameras: Vec<WallCamera>,
    /// Experts inside the evaluation area now, all rooms together.
    pub inside_evaluation_area: u32,
    /// At most this many enlarged (main-stream) views at once.
    pub max_main_streams: u32,
}

/// The wall now.
pub async fn wall(s: &crate::Services, endpoint: &MediaEndpoint) -> Result<LiveWall> {
    let now_ms = s.clock.now().timestamp_millis();
    // Pre- and post-roll zero: sessions whose time has come and which are not over (a session still
    // in progress past its end stays until it is closed).
    let spans = crate::store::recorder::sessions_to_record(s.store.pool(), now_ms, 0, 0).await?;
    let recording: HashMap<String, bool> =
        // Wanted by the schedule and actually writing: a lost camera is not shown as recording.
        s.recorder
            .status()
            .into_iter()
            .map(|c| (c.camera_id, c.why.is_some() && c.live.state == super::capture::RecState::Recording))
            .collect();
    let roll_call = s.checkins.roll_call().await?;
    let room_name = |id: &str| s.config.rooms.iter().find(|r| r.id == id).map(|r| r.name.clone());
    let room_of =
        |dev: &str| s.config.rooms.iter().find(|r| r.devices.iter().any(|d| d == dev)).map(|r| r.id.clone());
    let cameras: Vec<WallCamera> = s
        .config
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Camera)
        .enumerate()
        .map(|(slot, d)| {
            let room_id = room_of(&d.id);
            WallCamera {
                camera_id: d.id.clone(),
                name: d.name.clone(),
                room_name: room_id.as_deref().and_then(room_name),
                room_id,
                sub_url: endpoint.live_url(&d.id, StreamKind::Sub, slot),
                main_url: endpoint.live_url(&d.id, StreamKind::Main, slot),
                recording: recording.get(&d.id).copied().unwrap_or(false),
            }
        })
        .collect();
    let mut sessions = Vec::new();
    for b in spans {
        // Two bookings of one room cannot overlap; the first found is the one in progress.
        if sessions.iter().any(|x: &WallSession| x.room_id == b.room_id) {
            continue;
        }
        let name = room_name(&b.room_id).unwrap_or_else(|| b.room_id.clone());
        let inside = roll_call
            .inside
            .iter()
            .filter(|r| r.room_name == name && r.tender_project_code == b.tender_project_code)
            .count() as u32;
        sessions.push(WallSession {
            booking_id: b.id,
            camera_ids: cameras
                .iter()
                .filter(|c| c.room_id.as_deref() == Some(b.room_id.as_str()))
                .map(|c| c.camera_id.clone())
                .collect(),
            room_id: b.room_id,
            room_name: name,
            tender_project_code: b.tender_project_code,
            purpose: b.purpose,
            start_ms: b.start_ms,
            end_ms: b.end_ms,
            inside,
        });
    }
    Ok(LiveWall {
        now_ms,
        sessions,
        cameras,
        inside_evaluation_area: roll_call.inside.len() as u32,
        max_main_streams: super::live::MAX_MAIN_STREAMS as u32,
    })
}
