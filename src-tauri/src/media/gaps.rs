//! 录像缺口 — when a camera delivers nothing, the record says from when to when and why. A gap opens
//! when the recorder notices the silence and closes when data returns; after a crash the lost span
//! is recorded closed at once. Both ends are journaled (and sent upward).

use serde::Serialize;
use serde_json::json;

use super::{Recordings, with_project};
use crate::error::{Error, Result};
use crate::journal::{Actor, Entry, EventKind, Outcome};
use crate::store::WriteTx;
use crate::store::recordings::{self as db, GapRow, NewGap};

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GapView {
    pub id: i64,
    pub camera_id: String,
    pub room_id: Option<String>,
    pub from_ms: i64,
    /// `None` while the gap is open.
    pub to_ms: Option<i64>,
    /// Venue time, RFC 3339.
    pub from: String,
    pub to: Option<String>,
    pub reason: String,
}

impl Recordings {
    pub(super) fn gap_view(&self, g: GapRow) -> GapView {
        GapView {
            id: g.id,
            from: self.venue_rfc3339(g.from_ms),
            to: g.to_ms.map(|t| self.venue_rfc3339(t)),
            camera_id: g.camera_id,
            room_id: g.room_id,
            from_ms: g.from_ms,
            to_ms: g.to_ms,
            reason: g.reason,
        }
    }

    /// The camera stopped delivering at `from_ms`. Opening a gap that is already open returns it
    /// unchanged (the recorder may notice the same silence twice).
    pub async fn open_gap(&self, camera_id: &str, from_ms: i64, reason: &str) -> Result<GapView> {
        let reason = gap_reason(reason)?;
        let mut w = self.store.begin_write().await?;
        if let Some(open) = db::open_gap_in(&mut w, camera_id).await? {
            return Ok(self.gap_view(open));
        }
        let room_id = self.room_of(camera_id);
        let gap =
            db::insert_gap(&mut w, &NewGap { camera_id, room_id, from_ms, to_ms: None, reason }).await?;
        self.journal_gap(&mut w, &gap).await?;
        w.commit().await?;
        Ok(self.gap_view(gap))
    }

    /// Data returned at `to_ms`: closes the camera's open gap, if there is one.
    pub async fn close_gap(&self, camera_id: &str, to_ms: i64) -> Result<Option<GapView>> {
        let mut w = self.store.begin_write().await?;
        let Some(open) = db::open_gap_in(&mut w, camera_id).await? else { return Ok(None) };
        let Some(gap) = db::close_gap(&mut w, open.id, to_ms.max(open.from_ms)).await? else {
            return Ok(None);
        };
        self.journal_gap(&mut w, &gap).await?;
        w.commit().await?;
        Ok(Some(self.gap_view(gap)))
    }

    /// A gap already over, e.g. the span lost to a crash, found at the next start.
    pub async fn record_gap(
        &self,
        camera_id: &str,
        from_ms: i64,
        to_ms: i64,
        reason: &str,
    ) -> Result<GapView> {
        let reason = gap_reason(reason)?;
        if to_ms < from_ms {
            return Err(Error::invalid(
                "缺口的结束时间不能早于开始时间。",
                "A gap cannot end before it starts.",
            ));
        }
        let mut w = self.store.begin_write().await?;
        let room_id = self.room_of(camera_id);
        let gap = db::insert_gap(&mut w, &NewGap { camera_id, room_id, from_ms, to_ms: Some(to_ms), reason })
            .await?;
        self.journal_gap(&mut w, &gap).await?;
        w.commit().await?;
        Ok(self.gap_view(gap))
    }

    /// Gaps still open (cameras silent now).
    pub async fn open_gaps(&self) -> Result<Vec<GapView>> {
        Ok(db::open_gaps(self.store.pool()).await?.into_iter().map(|g| self.gap_view(g)).collect())
    }

    /// The room's gaps that meet `[from_ms, to_ms)`.
    pub async fn gaps_in_room(&self, room_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<GapView>> {
        Ok(db::gaps_in_room(self.store.pool(), room_id, from_ms, to_ms)
            .await?
            .into_iter()
            .map(|g| self.gap_view(g))
            .collect())
    }

    async fn journal_gap(&self, w: &mut WriteTx<'_>, g: &GapRow) -> Result<()> {
        let covering =
            self.covering_in(w, g.room_id.as_deref(), g.from_ms, g.to_ms.unwrap_or(g.from_ms)).await?;
        let detail = with_project(
            json!({
                "gapId": g.id,
                "camera": g.camera_id,
                "room": g.room_id,
                "from": self.venue_rfc3339(g.from_ms),
                "to": g.to_ms.map(|t| self.venue_rfc3339(t)),
                "open": g.to_ms.is_none(),
                "reason": g.reason,
            }),
            covering.as_ref(),
        );
        let outcome = if g.to_ms.is_none() { Outcome::Failed } else { Outcome::Ok };
        let entry =
            Entry::new(Actor::system(), EventKind::RecordingGap, &g.camera_id, outcome).with_detail(detail);
        self.journal.append_in(w, &[entry]).await?;
        Ok(())
    }
}

fn gap_reason(reason: &str) -> Result<&str> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(Error::invalid(
            "请说明录像缺口的原因（不超过 500 字）。",
            "Say why there is a gap in the recording (up to 500 characters).",
        ));
    }
    Ok(r)
}
