use tauri::State;

use super::{AppState, allow};
use crate::error::Result;
use crate::journal::view::{JournalFilter, JournalFilterChoices, JournalPage};
use crate::journal::{Entry, EventKind, Outcome, VerifyReport};

#[tauri::command]
#[specta::specta]
pub async fn query_journal(state: State<'_, AppState>, filter: JournalFilter) -> Result<JournalPage> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    s.journal.page(&filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn journal_filter_choices(state: State<'_, AppState>) -> Result<JournalFilterChoices> {
    let s = state.services()?;
    s.auth.require(allow::ADMINISTRATOR).await?;
    s.journal.filter_choices().await
}

/// Walks the whole chain; the check itself is journaled, with its result.
#[tauri::command]
#[specta::specta]
pub async fn verify_journal(state: State<'_, AppState>) -> Result<VerifyReport> {
    let s = state.services()?;
    let caller = s.auth.require(allow::ADMINISTRATOR).await?;
    let report = s.journal.verify().await?;
    let outcome = if report.ok { Outcome::Ok } else { Outcome::Failed };
    let detail = serde_json::to_value(&report).unwrap_or_default();
    s.journal
        .record(
            Entry::new(caller.actor(), EventKind::JournalVerified, "journal", outcome).with_detail(detail),
        )
        .await?;
    Ok(report)
}
