//! 证据保全 — legal holds. A hold on a project, a session (booking) or a time range (of one room, or
//! of every camera) keeps the segments it covers whatever the retention policy says. Supervisors and
//! administrators place holds; only an administrator releases one, and only with a reason. Both are
//! journaled and sent upward; holds are never changed otherwise nor removed (the database refuses).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Recordings, require_reason, session_window};
use crate::auth::Caller;
use crate::domain::operator::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Entry, EventKind, Outcome};
use crate::store::recordings::{self as db, HoldRow, NewHold, SegmentRow};

/// What a hold covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
// Field renaming per variant, not `rename_all_fields`: specta ignores the latter, and the
// TypeScript bindings would name the fields in snake_case while serde expects camelCase.
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HoldScope {
    /// Every session of the project (TENDER_PROJECT_CODE), in every room, now and later.
    #[serde(rename_all = "camelCase")]
    Project { tender_project_code: String },
    /// One session.
    #[serde(rename_all = "camelCase")]
    Booking { booking_id: i64 },
    /// A time range (UTC ms, `[from, to)`) of one room, or of every camera when `room_id` is `None`.
    #[serde(rename_all = "camelCase")]
    Range { room_id: Option<String>, from_ms: i64, to_ms: i64 },
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HoldView {
    pub id: i64,
    pub scope: HoldScope,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
    pub active: bool,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
}

/// Who may place a hold.
pub const PLACE_ROLES: &[Role] = &[Role::Supervisor, Role::Administrator];
/// Who may release one.
pub const RELEASE_ROLES: &[Role] = &[Role::Administrator];

impl Recordings {
    /// Places a legal hold (supervisors and administrators).
    pub async fn place_hold(&self, caller: &Caller, scope: &HoldScope, reason: &str) -> Result<HoldView> {
        self.require_role(caller, PLACE_ROLES, "设置证据保全", "place a legal hold").await?;
        let reason = require_reason(reason)?;
        // What the hold is about, for the journal and the service system.
        let (project_code, extra) = match scope {
            HoldScope::Project { tender_project_code } => {
                let code = tender_project_code.trim();
                let p = db::project_by_code(self.store.pool(), code).await?.ok_or_else(|| {
                    Error::not_found(
                        format!("没有项目编号为 {code} 的项目。"),
                        format!("There is no project with the code {code}."),
                    )
                })?;
                (Some(p.tender_project_code), json!({}))
            }
            HoldScope::Booking { booking_id } => {
                let b = db::booking_span(self.store.pool(), *booking_id).await?.ok_or_else(|| {
                    Error::not_found(
                        format!("没有编号为 {booking_id} 的场次。"),
                        format!("There is no session {booking_id}."),
                    )
                })?;
                (Some(b.tender_project_code), json!({"bookingId": b.id, "room": b.room_id}))
            }
            HoldScope::Range { room_id, from_ms, to_ms } => {
                if from_ms >= to_ms {
                    return Err(Error::invalid(
                        "保全时段的开始须早于结束。",
                        "The held time range must start before it ends.",
                    ));
                }
                if let Some(room) = room_id
                    && !self.config.rooms.iter().any(|r| &r.id == room)
                {
                    return Err(Error::not_found(
                        format!("场所配置中没有房间 {room}。"),
                        format!("The venue file has no room {room}."),
                    ));
                }
                (
                    None,
                    json!({"room": room_id, "from": self.venue_rfc3339(*from_ms), "to": self.venue_rfc3339(*to_ms)}),
                )
            }
        };
        let now = self.clock.now();
        let created_at = self.venue_rfc3339(now.timestamp_millis());
        let (scope_name, code, booking_id, room_id, from_ms, to_ms) = match scope {
            HoldScope::Project { .. } => ("project", project_code.as_deref(), None, None, None, None),
            HoldScope::Booking { booking_id } => ("booking", None, Some(*booking_id), None, None, None),
            HoldScope::Range { room_id, from_ms, to_ms } => {
                ("range", None, None, room_id.as_deref(), Some(*from_ms), Some(*to_ms))
            }
        };
        let mut w = self.store.begin_write().await?;
        let row = db::insert_hold(
            &mut w,
            &NewHold {
                scope: scope_name,
                project_code: code,
                booking_id,
                room_id,
                from_ms,
                to_ms,
                reason,
                created_by: &caller.username,
                created_at: &created_at,
                created_at_ms: now.timestamp_millis(),
            },
        )
        .await?;
        let mut detail = json!({"holdId": row.id, "scope": scope_name, "reason": reason});
        merge(&mut detail, extra);
        if let Some(code) = &project_code {
            detail["TENDER_PROJECT_CODE"] = code.clone().into();
        }
        let entry =
            Entry::new(caller.actor(), EventKind::LegalHoldPlaced, format!("hold:{}", row.id), Outcome::Ok)
                .with_detail(detail);
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        hold_view(row)
    }

    /// Releases a hold (administrators only, with a reason). Its segments fall back under the
    /// retention policy unless another hold covers them.
    pub async fn release_hold(&self, caller: &Caller, hold_id: i64, reason: &str) -> Result<HoldView> {
        self.require_role(caller, RELEASE_ROLES, "解除证据保全", "release a legal hold").await?;
        let reason = require_reason(reason)?;
        let now = self.clock.now();
        let at = self.venue_rfc3339(now.timestamp_millis());
        let mut w = self.store.begin_write().await?;
        let held = db::hold_in(&mut w, hold_id).await?.ok_or_else(|| {
            Error::not_found(
                format!("没有编号为 {hold_id} 的证据保全。"),
                format!("There is no legal hold {hold_id}."),
            )
        })?;
        let row = db::release_hold(&mut w, hold_id, &caller.username, &at, now.timestamp_millis(), reason)
            .await?
            .ok_or_else(|| {
                Error::precondition(
                    format!(
                        "证据保全 {hold_id} 已于 {} 由 {} 解除。",
                        held.released_at.clone().unwrap_or_default(),
                        held.released_by.clone().unwrap_or_default()
                    ),
                    format!(
                        "The legal hold {hold_id} was already released at {} by {}.",
                        held.released_at.clone().unwrap_or_default(),
                        held.released_by.clone().unwrap_or_default()
                    ),
                )
            })?;
        let mut detail =
            json!({"holdId": row.id, "scope": row.scope, "reason": reason, "placedBy": row.created_by});
        let code = match (&row.project_code, row.booking_id) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(b)) => db::booking_span(self.store.pool(), b).await?.map(|b| b.tender_project_code),
            _ => None,
        };
        if let Some(code) = code {
            detail["TENDER_PROJECT_CODE"] = code.into();
        }
        let entry =
            Entry::new(caller.actor(), EventKind::LegalHoldReleased, format!("hold:{}", row.id), Outcome::Ok)
                .with_detail(detail);
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        hold_view(row)
    }

    /// Holds, newest first; only those in force when `active_only`.
    pub async fn holds(&self, active_only: bool) -> Result<Vec<HoldView>> {
        db::holds(self.store.pool(), active_only).await?.into_iter().map(hold_view).collect()
    }

    /// The holds in force that keep this segment (retention must not remove it while any does).
    pub async fn holds_on(&self, seg: &SegmentRow) -> Result<Vec<i64>> {
        let pool = self.store.pool();
        let mut keeping = Vec::new();
        let overlaps = |(a, z): (i64, i64)| seg.start_ms < z && seg.end_ms > a;
        for h in db::holds(pool, true).await? {
            let keeps = match h.scope.as_str() {
                "range" => {
                    let room_matches = h.room_id.is_none() || h.room_id == seg.room_id;
                    room_matches && overlaps((h.from_ms.unwrap_or(i64::MAX), h.to_ms.unwrap_or(i64::MIN)))
                }
                "booking" => match h.booking_id {
                    Some(id) => db::booking_span(pool, id).await?.is_some_and(|b| {
                        Some(&b.room_id) == seg.room_id.as_ref() && overlaps(session_window(&b))
                    }),
                    None => false,
                },
                "project" => match (&h.project_code, &seg.room_id) {
                    (Some(code), Some(room)) => match db::project_by_code(pool, code).await? {
                        Some(p) => db::project_bookings(pool, p.id)
                            .await?
                            .iter()
                            .any(|b| &b.room_id == room && overlaps(session_window(b))),
                        None => false,
                    },
                    _ => false,
                },
                _ => false,
            };
            if keeps {
                keeping.push(h.id);
            }
        }
        Ok(keeping)
    }

    /// Whether any hold in force keeps the segment.
    pub async fn is_held(&self, seg: &SegmentRow) -> Result<bool> {
        Ok(!self.holds_on(seg).await?.is_empty())
    }

    /// The role check of the service itself (commands check too): refusals are journaled like the
    /// commands' own.
    pub(super) async fn require_role(
        &self,
        caller: &Caller,
        allowed: &[Role],
        what_zh: &str,
        what_en: &str,
    ) -> Result<()> {
        if allowed.contains(&caller.role) {
            return Ok(());
        }
        let entry = Entry::new(caller.actor(), EventKind::AccessDenied, &caller.username, Outcome::Denied)
            .with_detail(json!({"allowed": allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>()}));
        self.journal.record(entry).await?;
        let names_zh: Vec<&str> = allowed.iter().map(|r| r.label_zh()).collect();
        let names_en: Vec<String> =
            allowed.iter().map(|r| format!("{}s", r.as_str().replace('_', " "))).collect();
        Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("只有{}可以{what_zh}。", names_zh.join("或")),
            format!("Only {} may {what_en}.", names_en.join(" or ")),
        ))
    }
}

fn merge(into: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
}

fn hold_view(h: HoldRow) -> Result<HoldView> {
    let broken = || {
        Error::new(
            ErrorKind::DataLoss,
            format!("证据保全 {} 的记录不完整。", h.id),
            format!("The record of legal hold {} is incomplete.", h.id),
        )
    };
    let scope = match h.scope.as_str() {
        "project" => HoldScope::Project { tender_project_code: h.project_code.clone().ok_or_else(broken)? },
        "booking" => HoldScope::Booking { booking_id: h.booking_id.ok_or_else(broken)? },
        "range" => HoldScope::Range {
            room_id: h.room_id.clone(),
            from_ms: h.from_ms.ok_or_else(broken)?,
            to_ms: h.to_ms.ok_or_else(broken)?,
        },
        _ => return Err(broken()),
    };
    Ok(HoldView {
        id: h.id,
        scope,
        reason: h.reason,
        created_by: h.created_by,
        created_at: h.created_at,
        active: h.released_at_ms.is_none(),
        released_by: h.released_by,
        released_at: h.released_at,
        release_reason: h.release_reason,
    })
}
