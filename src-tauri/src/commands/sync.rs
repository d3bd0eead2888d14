use tauri::State;

use super::{AppState, allow};
use crate::error::Result;
use crate::sync::pulls::{self, PullReport};
use crate::sync::views::*;

#[tauri::command]
#[specta::specta]
pub async fn sync_status(state: State<'_, AppState>) -> Result<SyncStatus> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    s.uplink.status().await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_set_credentials(state: State<'_, AppState>, app_key: String, app_secret: String) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    s.uplink.set_credentials(&caller, &app_key, &app_secret).await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_parked(state: State<'_, AppState>) -> Result<Vec<ParkedEvent>> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    s.uplink.parked(500).await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_retry_parked(state: State<'_, AppState>, seq: i64) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    s.uplink.retry_parked(&caller, seq).await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_pull_now(state: State<'_, AppState>) -> Result<PullReport> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    let outcome = pulls::pull_all(s).await;
    s.uplink.note_pull(&outcome);
    outcome
}

#[tauri::command]
#[specta::specta]
pub async fn sync_platform_inbox(state: State<'_, AppState>) -> Result<PlatformInbox> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    s.uplink.platform_inbox().await
}
