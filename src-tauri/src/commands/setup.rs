//! First-run set-up (setup.rs). Open to anyone, like `setup_first_administrator`, but only while no
//! operator exists: the backend refuses once the first administrator is there.

use tauri::State;

use super::AppState;
use crate::error::{Error, Result};
use crate::setup::{self, SetupDone, SetupInput, SetupStatus, StorageCheck};

fn closed() -> Error {
    Error::precondition(
        "系统已有操作员账号，首次设置已关闭。请用管理员账号登录。",
        "Operators already exist, so first-run set-up is closed. Sign in with an administrator account.",
    )
}

/// The training launcher (`venue-desk-training`, the AppImage's `--training`) runs the demo venue on
/// data folders of its own: its first start creates the trainee's administrator and never writes a
/// venue file, which would turn the training copy into a second venue.
fn training() -> bool {
    std::env::var_os("VENUE_DESK_TRAINING").is_some_and(|v| v == "1")
}

/// What the set-up screen offers on this workstation.
#[tauri::command]
#[specta::specta]
pub async fn setup_status(state: State<'_, AppState>) -> Result<SetupStatus> {
    let s = state.services()?;
    if !s.auth.needs_first_administrator().await? {
        return Err(closed());
    }
    let venue_file = if training() { None } else { setup::default_venue_file() };
    Ok(setup::status(s, venue_file.as_deref()))
}

/// Checks a recordings path (writable, free space) for the form, before anything is written.
#[tauri::command]
#[specta::specta]
pub async fn setup_check_storage(state: State<'_, AppState>, path: String) -> Result<StorageCheck> {
    let s = state.services()?;
    if !s.auth.needs_first_administrator().await? {
        return Err(closed());
    }
    let min = setup::status(s, None).min_free_mib;
    tauri::async_runtime::spawn_blocking(move || setup::check_storage(&path, min))
        .await
        .map_err(Error::internal)?
}

/// Creates the first administrator and writes this venue's file; the next start loads it.
#[tauri::command]
#[specta::specta]
pub async fn setup_venue(state: State<'_, AppState>, input: SetupInput) -> Result<SetupDone> {
    let s = state.services()?;
    if training() {
        return Err(Error::precondition(
            "培训模式使用演示场所，不能在这里设置场所。请从“Venue Desk 场所服务台”启动项进行首次设置。",
            "Training runs on the demo venue and cannot set up a venue. Use the \"Venue Desk 场所服务台\" launcher for the first-run set-up.",
        ));
    }
    let target = setup::default_venue_file().ok_or_else(|| {
        Error::precondition(
            "找不到本用户的配置目录（HOME 未设置？），无法写入场所配置文件。",
            "This user has no configuration directory (is HOME unset?), so the venue file cannot be written.",
        )
    })?;
    setup::complete(s, &target, &input).await
}

/// Restarts the app after the set-up so it starts on the written venue file.
#[tauri::command]
#[specta::specta]
pub async fn setup_restart(state: State<'_, AppState>) -> Result<()> {
    let s = state.services()?;
    // Only right after a set-up: the file exists and the demo venue is still the one running.
    let written = setup::default_venue_file().is_some_and(|p| p.exists());
    if s.config.source.is_some() || !written {
        return Err(Error::precondition("没有待加载的新场所配置。", "There is no new venue file to load."));
    }
    // The open recording files are finished first; the new process then starts the same binary with
    // the same arguments and loads the written file.
    s.recorder.shutdown().await;
    tauri::process::restart(&tauri::Env::default())
}
