use tauri::State;

use super::{AppState, allow};
use crate::auth::{AccountChange, NewOperatorInput, OperatorView};
use crate::domain::operator::Role;
use crate::error::Result;

#[tauri::command]
#[specta::specta]
pub async fn list_operators(state: State<'_, AppState>) -> Result<Vec<OperatorView>> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    s.auth.list_operators().await
}

#[tauri::command]
#[specta::specta]
pub async fn create_operator(state: State<'_, AppState>, input: NewOperatorInput) -> Result<OperatorView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    s.auth.create_operator(&caller, &input).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_operator_disabled(
    state: State<'_, AppState>,
    operator_id: i64,
    disabled: bool,
) -> Result<OperatorView> {
    administer(&state, operator_id, AccountChange::SetDisabled { disabled }).await
}

#[tauri::command]
#[specta::specta]
pub async fn reset_operator_password(
    state: State<'_, AppState>,
    operator_id: i64,
    new_password: String,
) -> Result<OperatorView> {
    administer(&state, operator_id, AccountChange::ResetPassword { new_password }).await
}

#[tauri::command]
#[specta::specta]
pub async fn change_operator_role(
    state: State<'_, AppState>,
    operator_id: i64,
    role: Role,
) -> Result<OperatorView> {
    administer(&state, operator_id, AccountChange::ChangeRole { role }).await
}

#[tauri::command]
#[specta::specta]
pub async fn reset_operator_second_factor(
    state: State<'_, AppState>,
    operator_id: i64,
) -> Result<OperatorView> {
    administer(&state, operator_id, AccountChange::ResetSecondFactor).await
}

async fn administer(state: &AppState, operator_id: i64, change: AccountChange) -> Result<OperatorView> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    s.auth.administer(&caller, operator_id, change).await
}
