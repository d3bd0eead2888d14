use tauri::State;

use super::{AppState, allow};
use crate::bookings::views::*;
use crate::domain::booking::BookingState;
use crate::error::Result;

#[tauri::command]
#[specta::specta]
pub async fn list_rooms(state: State<'_, AppState>) -> Result<Vec<RoomView>> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    s.bookings.rooms().await
}

#[tauri::command]
#[specta::specta]
pub async fn edit_room(state: State<'_, AppState>, edit: RoomEdit) -> Result<RoomView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::VENUE_MANAGER).await?;
    s.bookings.edit_room(&caller, &edit).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_projects(state: State<'_, AppState>, search: Option<String>) -> Result<Vec<ProjectView>> {
    let s = state.services()?;
    s.auth.require(allow::BOOKING_READERS).await?;
    s.bookings.projects(search.as_deref()).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_project(state: State<'_, AppState>, input: ProjectInput) -> Result<ProjectView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::VENUE_MANAGER).await?;
    s.bookings.save_project(&caller, &input).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_booking(state: State<'_, AppState>, input: BookingInput) -> Result<Vec<BookingView>> {
    let s = state.services()?;
    let caller = s.auth.require(allow::VENUE_MANAGER).await?;
    s.bookings.create(&caller, &input).await
}

#[tauri::command]
#[specta::specta]
pub async fn change_booking(state: State<'_, AppState>, input: BookingChangeInput) -> Result<BookingView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::VENUE_MANAGER).await?;
    s.bookings.change(&caller, &input).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_booking_state(
    state: State<'_, AppState>,
    id: i64,
    version: i64,
    next: BookingState,
    reason: String,
) -> Result<BookingView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::VENUE_MANAGER).await?;
    s.bookings.set_state(&caller, id, version, next, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_bookings(state: State<'_, AppState>, filter: BookingFilter) -> Result<Vec<BookingView>> {
    let s = state.services()?;
    s.auth.require(allow::BOOKING_READERS).await?;
    s.bookings.list(&filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn booking_history(state: State<'_, AppState>, id: i64) -> Result<Vec<BookingChangeView>> {
    let s = state.services()?;
    s.auth.require(allow::BOOKING_READERS).await?;
    s.bookings.history(id).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_sessions(
    state: State<'_, AppState>,
    from_date: String,
    to_date: String,
) -> Result<Vec<BookingSession>> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    s.bookings.sessions(&from_date, &to_date).await
}

#[tauri::command]
#[specta::specta]
pub async fn booking_statistics(
    state: State<'_, AppState>,
    from_date: String,
    to_date: String,
    granularity: Granularity,
) -> Result<Statistics> {
    let s = state.services()?;
    s.auth.require(allow::STATISTICS).await?;
    s.bookings.statistics(&from_date, &to_date, granularity).await
}

/// Writes the statistics to a CSV file in the exports directory and returns its path.
#[tauri::command]
#[specta::specta]
pub async fn export_booking_statistics(
    state: State<'_, AppState>,
    from_date: String,
    to_date: String,
    granularity: Granularity,
) -> Result<String> {
    let s = state.services()?;
    let caller = s.auth.require(allow::STATISTICS).await?;
    s.bookings.export_statistics_csv(&caller, &from_date, &to_date, granularity).await
}
