use tauri::State;

use super::{AppState, allow};
use crate::auth::{LoginStep, NewOperatorInput, SessionView};
use crate::domain::operator::Role;
use crate::error::Result;

/// First run only: creates the first administrator.
#[tauri::command]
#[specta::specta]
pub async fn setup_first_administrator(
    state: State<'_, AppState>,
    username: String,
    display_name: String,
    password: String,
) -> Result<()> {
    let input = NewOperatorInput { username, display_name, role: Role::Administrator, password };
    state.services()?.auth.create_first_administrator(&input).await
}

#[tauri::command]
#[specta::specta]
pub async fn login(state: State<'_, AppState>, username: String, password: String) -> Result<LoginStep> {
    state.services()?.auth.login(&username, &password).await
}

#[tauri::command]
#[specta::specta]
pub async fn verify_second_factor(state: State<'_, AppState>, code: String) -> Result<LoginStep> {
    state.services()?.auth.verify_second_factor(&code).await
}

#[tauri::command]
#[specta::specta]
pub async fn confirm_enrolment(state: State<'_, AppState>, code: String) -> Result<LoginStep> {
    state.services()?.auth.confirm_enrolment(&code).await
}

#[tauri::command]
#[specta::specta]
pub async fn current_session(state: State<'_, AppState>) -> Result<Option<SessionView>> {
    Ok(state.services()?.auth.current())
}

#[tauri::command]
#[specta::specta]
pub async fn logout(state: State<'_, AppState>) -> Result<()> {
    state.services()?.auth.logout().await
}

#[tauri::command]
#[specta::specta]
pub async fn lock_session(state: State<'_, AppState>) -> Result<()> {
    state.services()?.auth.lock().await
}

#[tauri::command]
#[specta::specta]
pub async fn unlock_session(state: State<'_, AppState>, password: String) -> Result<SessionView> {
    state.services()?.auth.unlock(&password).await
}

/// Keeps the idle lock from closing on an operator who is reading or typing.
#[tauri::command]
#[specta::specta]
pub async fn report_activity(state: State<'_, AppState>) -> Result<()> {
    state.services()?.auth.require(allow::ANY_ROLE).await.map(|_| ())
}

#[tauri::command]
#[specta::specta]
pub async fn change_own_password(
    state: State<'_, AppState>,
    current_password: String,
    new_password: String,
) -> Result<()> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ANY_ROLE).await?;
    s.auth.change_own_password(&caller, &current_password, &new_password).await
}
