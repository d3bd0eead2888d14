//! 录像回放与证据保全: the playback timeline and the media server's address, legal holds, and
//! project exports with progress (over a channel the window passes in) and cancel.

use std::path::PathBuf;

use tauri::State;
use tauri::ipc::Channel;

use super::{AppState, MediaState, allow};
use crate::error::{Error, ErrorKind, Result};
use crate::media::Recordings;
use crate::media::export_jobs::{ExportStarted, ExportUpdate};
use crate::media::holds::{HoldScope, HoldView};
use crate::media::playback::{Timeline, TimelineQuery};
use crate::media::serve::MediaEndpoint;

fn endpoint(media: &MediaState) -> Result<MediaEndpoint> {
    media.server.as_ref().map(|m| m.endpoint().clone()).ok_or_else(|| {
        Error::new(
            ErrorKind::Unavailable,
            "录像回放服务没有运行（启动时未能打开本机端口，原因见日志）。请重新启动程序；仍不行请联系管理员。",
            "The playback server is not running (it could not open a local port at start; the log says why). Restart the app; if that does not help, call an administrator.",
        )
    })
}

#[tauri::command]
#[specta::specta]
pub async fn recordings_timeline(
    state: State<'_, AppState>,
    media: State<'_, MediaState>,
    query: TimelineQuery,
) -> Result<Timeline> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    let endpoint = endpoint(&media)?;
    Recordings::from_services(s).timeline(&caller, &query, &endpoint).await
}

#[tauri::command]
#[specta::specta]
pub async fn media_endpoint(
    state: State<'_, AppState>,
    media: State<'_, MediaState>,
) -> Result<MediaEndpoint> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    endpoint(&media)
}

#[tauri::command]
#[specta::specta]
pub async fn list_holds(state: State<'_, AppState>, active_only: bool) -> Result<Vec<HoldView>> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).holds(active_only).await
}

#[tauri::command]
#[specta::specta]
pub async fn place_hold(state: State<'_, AppState>, scope: HoldScope, reason: String) -> Result<HoldView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).place_hold(&caller, &scope, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn release_hold(state: State<'_, AppState>, hold_id: i64, reason: String) -> Result<HoldView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    Recordings::from_services(s).release_hold(&caller, hold_id, &reason).await
}

/// Starts exporting a project into a new directory inside `parent_dir` (the exports directory when
/// empty). Progress and the outcome arrive on `on_update`.
#[tauri::command]
#[specta::specta]
pub async fn export_start(
    state: State<'_, AppState>,
    media: State<'_, MediaState>,
    project_code: String,
    parent_dir: Option<String>,
    on_update: Channel<ExportUpdate>,
) -> Result<ExportStarted> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    media
        .exports
        .start(Recordings::from_services(s), caller, &project_code, parent_dir.map(PathBuf::from), move |u| {
            // A window closed mid-export no longer listens; the export still completes.
            let _ = on_update.send(u);
        })
        .await
}

/// Cancels a running export; false when it had already finished.
#[tauri::command]
#[specta::specta]
pub async fn export_cancel(
    state: State<'_, AppState>,
    media: State<'_, MediaState>,
    job_id: i64,
) -> Result<bool> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    Ok(media.exports.cancel(job_id))
}

/// The venue's Ed25519 public key (hex), which the venue publishes so investigators can check the
/// key that comes with an export.
#[tauri::command]
#[specta::specta]
pub async fn export_public_key(state: State<'_, AppState>) -> Result<String> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    Recordings::from_services(s).public_key_hex()
}
