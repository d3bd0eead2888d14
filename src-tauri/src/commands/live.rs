//! 监督墙与事件: the wall's rooms and cameras, incidents and bookmarks.

use tauri::State;

use super::{AppState, MediaState, allow};
use crate::error::{Error, ErrorKind, Result};
use crate::media::Recordings;
use crate::media::incidents::{BookmarkInput, BookmarkView, IncidentFilter, IncidentInput, IncidentView};
use crate::media::wall::LiveWall;

/// The rooms with a session now, every camera with its live URLs, who is inside.
#[tauri::command]
#[specta::specta]
pub async fn live_wall(state: State<'_, AppState>, media: State<'_, MediaState>) -> Result<LiveWall> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    let endpoint = media.server.as_ref().map(|m| m.endpoint().clone()).ok_or_else(|| {
        Error::new(
            ErrorKind::Unavailable,
            "实时视频服务没有运行（启动时未能打开本机端口，原因见日志）。请重新启动程序；仍不行请联系管理员。",
            "The live video server is not running (it could not open a local port at start; the log says why). Restart the app; if that does not help, call an administrator.",
        )
    })?;
    crate::media::wall::wall(s, &endpoint).await
}

#[tauri::command]
#[specta::specta]
pub async fn record_incident(state: State<'_, AppState>, input: IncidentInput) -> Result<IncidentView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).record_incident(&caller, &input, &s.recorder.status()).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_incidents(state: State<'_, AppState>, filter: IncidentFilter) -> Result<Vec<IncidentView>> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).incidents(&caller, &filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_bookmark(state: State<'_, AppState>, input: BookmarkInput) -> Result<BookmarkView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).add_bookmark(&caller, &input).await
}

/// The room's bookmarks in `[from_ms, to_ms)` (the playback timeline's span).
#[tauri::command]
#[specta::specta]
pub async fn list_bookmarks(
    state: State<'_, AppState>,
    room_id: String,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<BookmarkView>> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).bookmarks(&caller, &room_id, from_ms, to_ms).await
}
