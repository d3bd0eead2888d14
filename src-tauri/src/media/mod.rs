//! 录音录像 — recordings as evidence: the segment index and each camera's hash chain, gaps in
//! recording, legal holds, the per-project export (一项一档) signed with the venue's Ed25519 key, and
//! the verifier investigators run on an export.
//!
//! Recording itself: `schedule` (which cameras record now and why), `capture` (one GStreamer
//! pipeline per camera writing Matroska segments), `recorder` (runs them, indexes what they close,
//! records gaps and raises alarms), `recovery` (files a crash left unindexed) and `retention`.
//!
//! On closed files:
//! - `chain`:  `Recordings::index_segment` — fsync, hash, chain, index, journal, outbox (one commit);
//! - `gaps`:   `open_gap` / `close_gap` / `record_gap` — when a camera goes silent and comes back;
//! - `holds`:  legal holds on a project, a session or a time range, and `is_held` for retention;
//! - `export`: a project's segments, manifest, SHA256SUMS and signature in a directory;
//! - `verify`: `verify_export`, also behind `venue-desk verify-export DIR`;
//! - `playback`: a room's timeline (segments, gaps, sessions) for the player;
//! - `serve`:  the loopback HTTP server the player reads segments from (token, byte ranges).
//!
//! The formats are specified in docs/recording-integrity.md.

pub mod capture;
pub mod chain;
pub mod export;
pub mod export_jobs;
pub mod gaps;
pub mod holds;
pub mod incidents;
pub mod live;
pub mod playback;
pub mod recorder;
pub mod recovery;
pub mod retention;
pub mod schedule;
pub mod serve;
pub mod still;
pub mod verify;
pub mod wall;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::DateTime;

use crate::clock::{Clock, venue_time};
use crate::config::VenueConfig;
use crate::domain::venue::DeviceKind;
use crate::error::Result;
use crate::journal::Journal;
use crate::store::recordings::{self as db, BookingSpan};
use crate::store::{Store, WriteTx};
use crate::vault::Vault;

/// The keyring entry holding the venue's Ed25519 signing key (its 32-byte seed), created on first use.
pub const SIGNING_KEY_ENTRY: &str = "export.signing_key";

/// The recordings of one venue as evidence: index, gaps, holds, export.
pub struct Recordings {
    store: Arc<Store>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    config: Arc<VenueConfig>,
    vault: Vault,
}

impl Recordings {
    pub fn new(
        store: Arc<Store>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
        config: Arc<VenueConfig>,
        vault: Vault,
    ) -> Recordings {
        Recordings { store, journal, clock, config, vault }
    }

    /// Over the services of an opened venue.
    pub fn from_services(s: &crate::Services) -> Recordings {
        Recordings::new(
            s.store.clone(),
            s.journal.clone(),
            s.clock.clone(),
            s.config.clone(),
            s.vault.clone(),
        )
    }

    pub fn recordings_dir(&self) -> &PathBuf {
        &self.config.recordings_dir
    }

    /// The room whose venue-file entry lists the device, if any (cameras of public areas have none).
    pub fn room_of(&self, device_id: &str) -> Option<&str> {
        self.config.rooms.iter().find(|r| r.devices.iter().any(|d| d == device_id)).map(|r| r.id.as_str())
    }

    /// The venue file's cameras and microphones: everything the recorder records.
    pub fn recorded_devices(&self) -> impl Iterator<Item = &crate::config::Device> {
        self.config.devices.iter().filter(|d| matches!(d.kind, DeviceKind::Camera | DeviceKind::Microphone))
    }

    /// The cameras the venue file lists for the room.
    pub fn cameras_of(&self, room_id: &str) -> Vec<String> {
        let Some(room) = self.config.rooms.iter().find(|r| r.id == room_id) else { return Vec::new() };
        room.devices
            .iter()
            .filter(|d| self.config.devices.iter().any(|x| &x.id == *d && x.kind == DeviceKind::Camera))
            .cloned()
            .collect()
    }

    /// An instant (UTC ms) as venue time with its offset (RFC 3339), as the journal records times.
    fn venue_rfc3339(&self, ms: i64) -> String {
        DateTime::from_timestamp_millis(ms)
            .map(|t| venue_time(t, self.config.time_zone).to_rfc3339())
            .unwrap_or_default()
    }

    /// The session (booking) of the room that `[from_ms, to_ms)` falls in most, if any.
    async fn covering_in(
        &self,
        w: &mut WriteTx<'_>,
        room_id: Option<&str>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<BookingSpan>> {
        let Some(room) = room_id else { return Ok(None) };
        let to_ms = to_ms.max(from_ms + 1);
        let spans = db::bookings_holding_room_in(w, room, from_ms, to_ms).await?;
        Ok(spans.into_iter().max_by_key(|b| {
            let (a, z) = session_window(b);
            z.min(to_ms) - a.max(from_ms)
        }))
    }
}

/// The span a session's recordings are taken from: the booking's hold on the room, set-up and
/// clean-up included (the recorder's pre-roll and post-roll fall inside it).
pub fn session_window(b: &BookingSpan) -> (i64, i64) {
    (b.occupied_start_ms, b.occupied_end_ms)
}

/// The section codes of a row, split (they are stored joined by U+001F).
fn sections(s: &Option<String>) -> Vec<String> {
    s.as_deref().map(|s| s.split('\u{1f}').map(str::to_string).collect()).unwrap_or_default()
}

/// Adds the national data spec's project fields to a journal detail when a session covers it.
fn with_project(mut detail: serde_json::Value, b: Option<&BookingSpan>) -> serde_json::Value {
    if let (Some(b), Some(map)) = (b, detail.as_object_mut()) {
        map.insert("TENDER_PROJECT_CODE".into(), b.tender_project_code.clone().into());
        map.insert("BID_SECTION_CODE".into(), sections(&b.sections).into());
        map.insert("bookingId".into(), b.id.into());
    }
    detail
}

fn require_reason(reason: &str) -> Result<&str> {
    let r = reason.trim();
    if r.chars().count() < 2 || r.chars().count() > 500 {
        return Err(crate::error::Error::invalid(
            "请填写原因（2–500 个字），会记入日志。",
            "Give a reason (2–500 characters); it goes into the journal.",
        ));
    }
    Ok(r)
}
