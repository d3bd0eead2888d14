use tauri::State;

use super::{AppState, allow};
use crate::alerts::views::*;
use crate::error::Result;

#[tauri::command]
#[specta::specta]
pub async fn list_alarms(state: State<'_, AppState>, filter: AlarmFilter) -> Result<Vec<AlarmView>> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    s.alarms.list(&filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn acknowledge_alarm(state: State<'_, AppState>, id: i64, note: String) -> Result<AlarmView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.gates.acknowledge_alarm(&caller, id, &note).await
}

#[tauri::command]
#[specta::specta]
pub async fn mute_alarms(state: State<'_, AppState>, minutes: u32, reason: String) -> Result<SoundStatus> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.alarms.mute(&caller, minutes, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn unmute_alarms(state: State<'_, AppState>) -> Result<SoundStatus> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.alarms.unmute(&caller).await
}

#[tauri::command]
#[specta::specta]
pub async fn sound_status(state: State<'_, AppState>) -> Result<SoundStatus> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    Ok(s.alarms.sound_status())
}

#[tauri::command]
#[specta::specta]
pub async fn gate_status(state: State<'_, AppState>) -> Result<Vec<GateView>> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    s.gates.status().await
}

#[tauri::command]
#[specta::specta]
pub async fn gate_open_once(state: State<'_, AppState>, gate_id: String, reason: String) -> Result<GateView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.gates.open_once(&caller, &gate_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn restore_from_emergency(state: State<'_, AppState>, reason: String) -> Result<Vec<GateView>> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    s.gates.restore(&caller, &reason).await
}
