//! Thin `#[tauri::command]` adapters: check the caller's role, call one service function, return
//! its result. The TypeScript bindings in ui/src/bindings.ts are generated from this list.

mod alerts;
mod bookings;
mod checkin;
mod journal;
mod operators;
mod recorder;
mod live;
mod recordings;
mod session;
mod setup;
mod sync;
mod system;

use std::sync::Arc;

use specta_typescript::{BigIntExportBehavior, Typescript};
use tauri::Runtime;

use crate::Services;
use crate::domain::operator::Role;
use crate::error::{Error, ErrorKind, Result};

/// Who may call what. One place, so the role tests can walk it.
pub mod allow {
    use super::Role;
    pub const ANY_ROLE: &[Role] = &Role::ALL;
    pub const ADMINISTRATOR: &[Role] = &[Role::Administrator];
    pub const VENUE_MANAGER: &[Role] = &[Role::VenueManager];
    /// Bookings and projects are visible to those who run or watch sessions.
    pub const BOOKING_READERS: &[Role] = &[Role::VenueManager, Role::Supervisor, Role::Administrator];
    pub const STATISTICS: &[Role] = &[Role::VenueManager, Role::Administrator];
    /// The front desk's work, which supervisors and administrators can step in for.
    pub const FRONT_DESK: &[Role] = &[Role::FrontDesk, Role::Supervisor, Role::Administrator];
    /// Rosters, substitutes, re-entry and reconciliation.
    pub const SUPERVISION: &[Role] = &[Role::Supervisor, Role::Administrator];
}

/// Tauri-managed state of the playback and export screens: the loopback media server (absent when
/// it could not start) and the exports running.
#[derive(Default)]
pub struct MediaState {
    pub server: Option<crate::media::serve::MediaServer>,
    pub exports: crate::media::export_jobs::ExportJobs,
}

/// Tauri-managed state: the services, or why they could not start.
pub enum AppState {
    Ready(Arc<Services>),
    /// The app refused to start (bad venue file, unreadable database): the window shows why and
    /// no service runs.
    Failed(Error),
}

impl AppState {
    pub fn services(&self) -> Result<&Services> {
        match self {
            AppState::Ready(s) => Ok(s),
            AppState::Failed(e) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("Venue Desk 未能启动：{}", e.message_in(crate::error::Locale::ZhCn)),
                format!("Venue Desk could not start: {}", e.message_in(crate::error::Locale::En)),
            )),
        }
    }
}

pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    tauri_specta::Builder::<R>::new()
        .commands(tauri_specta::collect_commands![
            system::app_info,
            system::set_locale,
            system::ui_ready,
            system::venue_overview,
            session::setup_first_administrator,
            setup::setup_status,
            setup::setup_check_storage,
            setup::setup_venue,
            setup::setup_restart,
            session::login,
            session::verify_second_factor,
            session::confirm_enrolment,
            session::current_session,
            session::logout,
            session::lock_session,
            session::unlock_session,
            session::report_activity,
            session::change_own_password,
            operators::list_operators,
            operators::create_operator,
            operators::set_operator_disabled,
            operators::reset_operator_password,
            operators::change_operator_role,
            operators::reset_operator_second_factor,
            journal::query_journal,
            journal::journal_filter_choices,
            journal::verify_journal,
            bookings::list_rooms,
            bookings::edit_room,
            bookings::list_projects,
            bookings::save_project,
            bookings::create_booking,
            bookings::change_booking,
            bookings::set_booking_state,
            bookings::list_bookings,
            bookings::booking_history,
            bookings::list_sessions,
            bookings::booking_statistics,
            bookings::export_booking_statistics,
            checkin::checkin_find,
            checkin::checkin_begin,
            checkin::checkin_await_deposit,
            checkin::checkin_reopen_locker,
            checkin::checkin_cancel,
            checkin::checkin_complete,
            checkin::checkout_begin,
            checkin::checkout_finish,
            checkin::roster_import,
            checkin::roster_add_substitute,
            checkin::attendance_today,
            checkin::reentry_approve,
            checkin::reconcile_credentials,
            checkin::roll_call,
            checkin::roll_call_export,
            checkin::list_lockers,
            checkin::open_locker,
            checkin::set_locker_fault,
            checkin::device_health,
            checkin::set_device_password,
            alerts::list_alarms,
            alerts::acknowledge_alarm,
            alerts::mute_alarms,
            alerts::unmute_alarms,
            alerts::sound_status,
            alerts::gate_status,
            alerts::gate_open_once,
            alerts::restore_from_emergency,
            sync::sync_status,
            sync::sync_set_credentials,
            sync::sync_parked,
            sync::sync_retry_parked,
            sync::sync_pull_now,
            sync::sync_platform_inbox,
            recorder::recorder_status,
            recorder::recorder_storage,
            recorder::recorder_control,
            recordings::recordings_timeline,
            recordings::media_endpoint,
            recordings::list_holds,
            recordings::place_hold,
            recordings::release_hold,
            recordings::export_start,
            recordings::export_cancel,
            recordings::export_public_key,
            live::live_wall,
            live::record_incident,
            live::list_incidents,
            live::add_bookmark,
            live::list_bookmarks,
        ])
        .events(tauri_specta::collect_events![
            crate::journal::JournalAppended,
            crate::checkin::views::FrontDeskChanged,
            crate::alerts::views::AlarmsChanged
        ])
}

pub const BINDINGS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");

/// The TypeScript the UI imports. Deterministic, so a test can tell when the file is stale.
pub fn render_bindings() -> String {
    let dir = tempfile_dir();
    let path = dir.join("bindings.ts");
    specta_builder::<tauri::Wry>()
        .export(
            Typescript::default().bigint(BigIntExportBehavior::Number).header(
                "// Generated from the Rust commands by `make bindings`. Do not edit.\n// @ts-nocheck",
            ),
            &path,
        )
        .expect("bindings export");
    let mut text = std::fs::read_to_string(&path).expect("bindings written");
    let _ = std::fs::remove_dir_all(&dir);
    // The journal's kinds, so the UI can prove it has a label for every one.
    let kinds: Vec<String> =
        crate::journal::EventKind::ALL.iter().map(|k| format!("\"{}\"", k.as_str())).collect();
    text.push_str(&format!(
        "\n/** Every kind of journal record. */\nexport const JOURNAL_KINDS = [{}] as const\n",
        kinds.join(", ")
    ));
    text
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "venue-desk-bindings-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_bindings_are_current() {
        let fresh = super::render_bindings();
        let committed = std::fs::read_to_string(super::BINDINGS_PATH).unwrap_or_default();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(super::BINDINGS_PATH, &fresh).unwrap();
            return;
        }
        assert!(
            fresh == committed,
            "ui/src/bindings.ts is stale: the Rust commands or types changed. Run `make bindings` and commit the result."
        );
    }
}
