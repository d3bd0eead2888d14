use tauri::State;

use super::{AppState, allow};
use crate::error::Result;
use crate::media::recorder::{CameraRecording, ControlTarget, StorageView};

/// Every camera and microphone: recording or not, why, bitrate, last data, problem.
#[tauri::command]
#[specta::specta]
pub async fn recorder_status(state: State<'_, AppState>) -> Result<Vec<CameraRecording>> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    Ok(s.recorder.status())
}

/// The recordings disk: free space, the minimum kept free, what recordings take.
#[tauri::command]
#[specta::specta]
pub async fn recorder_storage(state: State<'_, AppState>) -> Result<StorageView> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    s.recorder.storage().await
}

/// A supervisor starts (`start = true`) or stops recording of a room or a camera, with a reason.
#[tauri::command]
#[specta::specta]
pub async fn recorder_control(
    state: State<'_, AppState>,
    target: ControlTarget,
    start: bool,
    reason: String,
) -> Result<Vec<CameraRecording>> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    s.recorder.control(&caller, &target, start, &reason).await
}
