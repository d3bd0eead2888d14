use serde::Serialize;
use tauri::State;

use super::{AppState, allow};
use crate::config::Room;
use crate::error::{ErrorWire, Locale, Result};

#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub venue_code: Option<String>,
    pub venue_name: Option<String>,
    pub time_zone: Option<String>,
    /// True when no operator exists yet: the window asks for the first administrator.
    pub first_run: bool,
    /// Set when the app refused to start; the window shows it and nothing else.
    pub startup_error: Option<ErrorWire>,
    pub demo_venue: bool,
}

/// What the window needs before anyone signs in.
#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo> {
    let version = env!("CARGO_PKG_VERSION").to_string();
    match &*state {
        AppState::Failed(e) => Ok(AppInfo {
            version,
            venue_code: None,
            venue_name: None,
            time_zone: None,
            first_run: false,
            startup_error: Some(ErrorWire { code: e.kind, message: e.message().to_string() }),
            demo_venue: false,
        }),
        AppState::Ready(s) => Ok(AppInfo {
            version,
            venue_code: Some(s.config.code.clone()),
            venue_name: Some(s.config.name.clone()),
            time_zone: Some(s.config.time_zone.name().to_string()),
            first_run: s.auth.needs_first_administrator().await?,
            startup_error: None,
            demo_venue: s.config.source.is_none(),
        }),
    }
}

/// The language of messages from the backend follows the UI's.
#[tauri::command]
#[specta::specta]
pub fn set_locale(locale: Locale) {
    crate::error::set_locale(locale);
}

/// The UI calls this once its first screen is interactive (used to measure start-up).
#[tauri::command]
#[specta::specta]
pub fn ui_ready() {
    crate::app::mark_ui_ready();
}

#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VenueOverview {
    pub rooms: Vec<Room>,
    pub device_count: u32,
    pub outbox_pending: i64,
}

/// The venue at a glance, for every role's home screen.
#[tauri::command]
#[specta::specta]
pub async fn venue_overview(state: State<'_, AppState>) -> Result<VenueOverview> {
    let s = state.services()?;
    s.auth.require(allow::ANY_ROLE).await?;
    Ok(VenueOverview {
        rooms: s.config.rooms.clone(),
        device_count: s.config.devices.len() as u32,
        outbox_pending: crate::store::journal::outbox_pending_count(s.store.pool()).await?,
    })
}
