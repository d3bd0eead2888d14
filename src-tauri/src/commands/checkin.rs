use tauri::State;

use super::{AppState, allow};
use crate::checkin::views::*;
use crate::error::Result;

#[tauri::command]
#[specta::specta]
pub async fn checkin_find(state: State<'_, AppState>, id_number: String) -> Result<CheckInCandidate> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.find(&caller, &id_number).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkin_begin(state: State<'_, AppState>, entry_id: i64) -> Result<LockerRef> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.begin(&caller, entry_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkin_await_deposit(state: State<'_, AppState>, entry_id: i64) -> Result<LockerRef> {
    let s = state.services()?;
    s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.await_deposit(entry_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkin_reopen_locker(state: State<'_, AppState>, entry_id: i64) -> Result<LockerRef> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.reopen_locker(&caller, entry_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkin_cancel(state: State<'_, AppState>, entry_id: i64, reason: String) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.cancel(&caller, entry_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkin_complete(
    state: State<'_, AppState>,
    entry_id: i64,
    card_no: Option<String>,
) -> Result<CheckInRecord> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.complete(&caller, entry_id, card_no.as_deref()).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkout_begin(state: State<'_, AppState>, check_in_id: i64) -> Result<CheckOutProgress> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.checkout_begin(&caller, check_in_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn checkout_finish(state: State<'_, AppState>, check_in_id: i64) -> Result<CheckInRecord> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.checkout_finish(&caller, check_in_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn roster_import(
    state: State<'_, AppState>,
    booking_id: i64,
    format: RosterFormat,
    content: String,
) -> Result<RosterImportReport> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    s.checkins.import_roster(&caller, booking_id, format, &content).await
}

#[tauri::command]
#[specta::specta]
pub async fn roster_add_substitute(
    state: State<'_, AppState>,
    booking_id: i64,
    expert: RosterExpertInput,
    reason: String,
) -> Result<AttendanceRow> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    s.checkins.add_substitute(&caller, booking_id, &expert, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn attendance_today(state: State<'_, AppState>) -> Result<Vec<Attendance>> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    s.checkins.attendance_today().await
}

#[tauri::command]
#[specta::specta]
pub async fn reentry_approve(
    state: State<'_, AppState>,
    check_in_id: i64,
    reason: String,
) -> Result<CheckInRecord> {
    let s = state.services()?;
    let caller = s.auth.require(allow::SUPERVISION).await?;
    s.checkins.approve_reentry(&caller, check_in_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn reconcile_credentials(state: State<'_, AppState>) -> Result<ReconcileReport> {
    let s = state.services()?;
    s.auth.require(allow::SUPERVISION).await?;
    s.checkins.reconcile().await
}

#[tauri::command]
#[specta::specta]
pub async fn roll_call(state: State<'_, AppState>) -> Result<RollCall> {
    let s = state.services()?;
    s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.roll_call().await
}

#[tauri::command]
#[specta::specta]
pub async fn roll_call_export(state: State<'_, AppState>) -> Result<String> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    Ok(s.checkins.export_roll_call(&caller).await?.display().to_string())
}

#[tauri::command]
#[specta::specta]
pub async fn list_lockers(state: State<'_, AppState>) -> Result<Vec<LockerBankView>> {
    let s = state.services()?;
    s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.lockers().await
}

#[tauri::command]
#[specta::specta]
pub async fn open_locker(
    state: State<'_, AppState>,
    bank_id: String,
    locker_no: u32,
    reason: String,
) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.open_locker(&caller, &bank_id, locker_no, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_locker_fault(
    state: State<'_, AppState>,
    bank_id: String,
    locker_no: u32,
    faulty: bool,
    reason: String,
) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::FRONT_DESK).await?;
    s.checkins.set_locker_fault(&caller, &bank_id, locker_no, faulty, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn device_health(state: State<'_, AppState>) -> Result<Vec<DeviceHealthView>> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    Ok(s.device_health())
}

#[tauri::command]
#[specta::specta]
pub async fn set_device_password(
    state: State<'_, AppState>,
    device_id: String,
    password: String,
) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    s.set_device_password(&caller, &device_id, &password).await
}
