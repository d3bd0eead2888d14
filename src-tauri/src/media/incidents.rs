//! 不良交易行为 / 异常情况 — incidents a supervisor records while watching, and bookmarks.
//!
//! Recording an incident keeps its evidence: a legal hold on the room's recordings from
//! [`HOLD_AROUND_MS`] before to as long after (placed first, through [`Recordings::place_hold`], so
//! retention can never take what the incident points at), a bookmark at that moment on the
//! playback timeline, and one journal record that goes upward (`INCIDENT_RECORDED`). An incident at a
//! time no recording of the room covers is refused: it could point at nothing.
//!
//! People involved: bidders and agents by name; experts only by masked identity (the way check-in
//! shows ID numbers, `110105********002X`), because the names of the experts on a panel are
//! confidential (评标专家名单保密) and the journal travels upward.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Recordings;
use super::holds::{HoldScope, PLACE_ROLES};
use super::recorder::CameraRecording;
use crate::auth::Caller;
use crate::clock::venue_local_seconds;
use crate::domain::expert::IdNumber;
use crate::error::{Error, Result};
use crate::journal::{Entry, EventKind, Outcome};
use crate::store::incidents::{self as db, BookmarkRow, IncidentRow, NewBookmark, NewIncident};

/// The hold around an incident reaches this far before and after it.
pub const HOLD_AROUND_MS: i64 = 10 * 60_000;
/// Clocks of the window and the backend agree, but an incident "now" must not be refused for the
/// milliseconds a command takes.
const FUTURE_SLACK_MS: i64 = 5_000;
const MAX_DESCRIPTION_CHARS: usize = 2000;
const MAX_NOTE_CHARS: usize = 500;
const MAX_PEOPLE: usize = 20;

/// 事件类别 — what kind of incident (a fixed list; the window labels each in both languages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCategory {
    /// 串通投标
    Collusion,
    /// 行贿受贿 / 利益输送
    Bribery,
    /// 弄虚作假
    Fraud,
    /// 违反评标纪律
    DisciplineBreach,
    /// 私下接触 / 违规通讯
    PrivateContact,
    /// 扰乱交易秩序
    Disorder,
    /// 设备或系统异常
    EquipmentFailure,
    /// 其他异常情况
    Other,
}

impl IncidentCategory {
    pub const ALL: &'static [IncidentCategory] = &[
        IncidentCategory::Collusion,
        IncidentCategory::Bribery,
        IncidentCategory::Fraud,
        IncidentCategory::DisciplineBreach,
        IncidentCategory::PrivateContact,
        IncidentCategory::Disorder,
        IncidentCategory::EquipmentFailure,
        IncidentCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentCategory::Collusion => "collusion",
            IncidentCategory::Bribery => "bribery",
            IncidentCategory::Fraud => "fraud",
            IncidentCategory::DisciplineBreach => "discipline_breach",
            IncidentCategory::PrivateContact => "private_contact",
            IncidentCategory::Disorder => "disorder",
            IncidentCategory::EquipmentFailure => "equipment_failure",
            IncidentCategory::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            IncidentCategory::Collusion => "串通投标",
            IncidentCategory::Bribery => "行贿受贿",
            IncidentCategory::Fraud => "弄虚作假",
            IncidentCategory::DisciplineBreach => "违反评标纪律",
            IncidentCategory::PrivateContact => "私下接触或违规通讯",
            IncidentCategory::Disorder => "扰乱交易秩序",
            IncidentCategory::EquipmentFailure => "设备或系统异常",
            IncidentCategory::Other => "其他异常情况",
        }
    }

    fn parse(s: &str) -> Option<IncidentCategory> {
        IncidentCategory::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

/// Who a person involved is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    /// 投标人（代表）
    Bidder,
    /// 招标代理
    Agent,
    /// 评标专家: by masked identity only.
    Expert,
}

/// A person involved as the supervisor enters them.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PersonInput {
    pub role: PersonRole,
    /// Bidders and agents: the name (and company). Experts: must be empty.
    pub name: String,
    /// Experts: the ID number (masked when stored) or its masked form from the roll call.
    pub identity: String,
}

/// A person involved as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub role: PersonRole,
    pub name: Option<String>,
    pub identity_masked: Option<String>,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct IncidentInput {
    /// Required; `None` is refused with a message (the form may send it empty).
    pub category: Option<IncidentCategory>,
    pub description: String,
    pub room_id: String,
    /// When it happened, UTC epoch ms.
    pub at_ms: i64,
    pub people: Vec<PersonInput>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    pub id: i64,
    pub category: IncidentCategory,
    pub description: String,
    pub room_id: String,
    pub room_name: String,
    pub booking_id: Option<i64>,
    pub tender_project_code: Option<String>,
    pub at_ms: i64,
    /// Venue local time, `YYYY-MM-DDTHH:MM:SS`.
    pub at: String,
    pub people: Vec<Person>,
    pub hold_id: i64,
    pub hold_active: bool,
    pub bookmark_id: Option<i64>,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct IncidentFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub room_id: Option<String>,
    pub category: Option<IncidentCategory>,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookmarkInput {
    pub room_id: Option<String>,
    pub camera_id: Option<String>,
    pub at_ms: i64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BookmarkView {
    pub id: i64,
    pub room_id: Option<String>,
    pub camera_id: Option<String>,
    pub at_ms: i64,
    pub at: String,
    pub note: String,
    pub incident_id: Option<i64>,
    pub created_by: String,
    pub created_at: String,
}

fn people_of(input: &[PersonInput]) -> Result<Vec<Person>> {
    if input.len() > MAX_PEOPLE {
        return Err(Error::invalid(
            format!("涉及人员最多 {MAX_PEOPLE} 人；更多人员请写在描述中。"),
            format!("At most {MAX_PEOPLE} people involved; describe any others in the description."),
        ));
    }
    input
        .iter()
        .map(|p| {
            let name = p.name.trim();
            match p.role {
                PersonRole::Expert => {
                    if !name.is_empty() {
                        return Err(Error::invalid(
                            "评标专家只能以脱敏身份证号记录，不能填写姓名（专家名单保密）。请清空姓名，填写身份证号或从在场名单中选择。",
                            "Experts are recorded only by masked ID number, never by name (the panel is confidential). Clear the name and enter the ID number or pick from the roll call.",
                        ));
                    }
                    Ok(Person { role: p.role, name: None, identity_masked: Some(masked_identity(&p.identity)?) })
                }
                PersonRole::Bidder | PersonRole::Agent => {
                    let n = name.chars().count();
                    if n == 0 || n > 100 {
                        return Err(Error::invalid(
                            "投标人或代理人员请填写姓名或单位（1–100 个字）。",
                            "Give the bidder's or agent's name or company (1–100 characters).",
                        ));
                    }
                    Ok(Person { role: p.role, name: Some(name.to_string()), identity_masked: None })
                }
            }
        })
        .collect()
}

/// An expert's identity as stored: a full ID number is masked; an already masked one (from the roll
/// call) is kept if it has the masked shape.
fn masked_identity(raw: &str) -> Result<String> {
    let t = raw.trim().to_uppercase();
    let b = t.as_bytes();
    if b.len() == 18
        && b[..6].iter().all(u8::is_ascii_digit)
        && b[6..14].iter().all(|c| *c == b'*')
        && b[14..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X')
    {
        return Ok(t);
    }
    IdNumber::parse(&t).map(|id| id.masked())
}

fn incident_view(r: IncidentRow, room_name: String, tz: chrono_tz::Tz) -> Result<IncidentView> {
    Ok(IncidentView {
        id: r.id,
        category: IncidentCategory::parse(&r.category)
            .ok_or_else(|| Error::internal(format!("unknown incident category {}", r.category)))?,
        description: r.description,
        room_id: r.room_id,
        room_name,
        booking_id: r.booking_id,
        tender_project_code: r.tender_project_code,
        at_ms: r.at_ms,
        at: venue_local_seconds(r.at_ms, tz),
        people: serde_json::from_str(&r.people).map_err(Error::internal)?,
        hold_id: r.hold_id,
        hold_active: r.hold_active,
        bookmark_id: r.bookmark_id,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at,
    })
}

fn bookmark_view(r: BookmarkRow, tz: chrono_tz::Tz) -> BookmarkView {
    BookmarkView {
        id: r.id,
        room_id: r.room_id,
        camera_id: r.camera_id,
        at_ms: r.at_ms,
        at: venue_local_seconds(r.at_ms, tz),
        note: r.note,
        incident_id: r.incident_id,
        created_by: r.created_by,
        created_at: r.created_at,
    }
}

impl Recordings {
    fn room_name(&self, room_id: &str) -> String {
        self.config
            .rooms
            .iter()
            .find(|r| r.id == room_id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| room_id.into())
    }

    /// Whether a recording of the room covers `at_ms`: an indexed segment, or the file a camera of
    /// the room is writing now (indexed only when it closes, a minute later).
    async fn covered(
        &self,
        room_id: &str,
        at_ms: i64,
        now_ms: i64,
        recorder: &[CameraRecording],
    ) -> Result<bool> {
        if db::recorded_at(self.store.pool(), room_id, at_ms).await? {
            return Ok(true);
        }
        Ok(recorder.iter().any(|c| {
            c.room_id.as_deref() == Some(room_id)
                && c.live.state == super::capture::RecState::Recording
                && c.live.segment_start_ms.is_some_and(|s| s <= at_ms && at_ms <= now_ms)
        }))
    }

    /// Records an incident: checks it, holds the recordings around it, bookmarks it, journals it.
    /// `recorder` is the recorder's status now (what it is writing but has not indexed yet).
    pub async fn record_incident(
        &self,
        caller: &Caller,
        input: &IncidentInput,
        recorder: &[CameraRecording],
    ) -> Result<IncidentView> {
        self.require_role(caller, PLACE_ROLES, "记录事件", "record an incident").await?;
        let category = input
            .category
            .ok_or_else(|| Error::invalid("请选择事件类别。", "Choose the incident's category."))?;
        let description = input.description.trim();
        let n = description.chars().count();
        if !(2..=MAX_DESCRIPTION_CHARS).contains(&n) {
            return Err(Error::invalid(
                format!("请描述发生了什么（2–{MAX_DESCRIPTION_CHARS} 个字）。"),
                format!("Describe what happened (2–{MAX_DESCRIPTION_CHARS} characters)."),
            ));
        }
        if !self.config.rooms.iter().any(|r| r.id == input.room_id) {
            return Err(Error::not_found(
                format!("场所配置中没有房间 {}。", input.room_id),
                format!("The venue file has no room {}.", input.room_id),
            ));
        }
        let people = people_of(&input.people)?;
        let now_ms = self.clock.now().timestamp_millis();
        let tz = self.config.time_zone;
        if input.at_ms > now_ms + FUTURE_SLACK_MS {
            return Err(Error::invalid(
                "事件时间不能晚于现在。请核对时间。",
                "The incident's time cannot be later than now. Check the time.",
            ));
        }
        let room_name = self.room_name(&input.room_id);
        let at_ms = input.at_ms.min(now_ms);
        if !self.covered(&input.room_id, at_ms, now_ms, recorder).await? {
            return Err(Error::precondition(
                format!(
                    "{} 在 {} 没有录像，事件无法关联录像。请核对房间和时间；若录像中断，请在录像状态中查看原因，并在描述中注明。",
                    room_name,
                    venue_local_seconds(at_ms, tz)
                ),
                format!(
                    "{} has no recording at {}, so the incident cannot be linked to one. Check the room and time; if recording was interrupted, see the recording status screen and say so in the description.",
                    room_name,
                    venue_local_seconds(at_ms, tz)
                ),
            ));
        }
        // The session in the room then, for the project the incident belongs to.
        let session = crate::store::recorder::sessions_to_record(self.store.pool(), at_ms, 0, 0)
            .await?
            .into_iter()
            .find(|b| b.room_id == input.room_id);
        let short: String = description.chars().take(100).collect();
        // The hold first, in its own transaction: if what follows fails, the evidence stays held,
        // which is the safe side (an administrator can release it with a reason).
        let hold = self
            .place_hold(
                caller,
                &HoldScope::Range {
                    room_id: Some(input.room_id.clone()),
                    from_ms: at_ms - HOLD_AROUND_MS,
                    to_ms: at_ms + HOLD_AROUND_MS,
                },
                &format!("事件：{}（{}）", category.label_zh(), short),
            )
            .await?;
        let now = self.clock.now();
        let recorded_at = self.venue_rfc3339(now.timestamp_millis());
        let people_json = serde_json::to_string(&people).map_err(Error::internal)?;
        let mut w = self.store.begin_write().await?;
        let id = db::insert_incident(
            &mut w,
            &NewIncident {
                category: category.as_str(),
                description,
                room_id: &input.room_id,
                booking_id: session.as_ref().map(|b| b.id),
                tender_project_code: session.as_ref().map(|b| b.tender_project_code.as_str()),
                at_ms,
                people: &people_json,
                hold_id: hold.id,
                recorded_by: &caller.username,
                recorded_at: &recorded_at,
                recorded_at_ms: now.timestamp_millis(),
            },
        )
        .await?;
        let bookmark = db::insert_bookmark(
            &mut w,
            &NewBookmark {
                room_id: Some(&input.room_id),
                camera_id: None,
                at_ms,
                note: &format!("{}：{}", category.label_zh(), short),
                incident_id: Some(id),
                created_by: &caller.username,
                created_at: &recorded_at,
                created_at_ms: now.timestamp_millis(),
            },
        )
        .await?;
        let mut detail = json!({
            "incidentId": id,
            "category": category.as_str(),
            "description": description,
            "room": input.room_id,
            "at": self.venue_rfc3339(at_ms),
            "people": people,
            "holdId": hold.id,
            "bookmarkId": bookmark.id,
        });
        if let Some(b) = &session {
            detail["TENDER_PROJECT_CODE"] = b.tender_project_code.clone().into();
            detail["bookingId"] = b.id.into();
        }
        let entry =
            Entry::new(caller.actor(), EventKind::IncidentRecorded, format!("incident:{id}"), Outcome::Ok)
                .with_detail(detail);
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        let row =
            db::incident(self.store.pool(), id).await?.ok_or_else(|| Error::internal("incident vanished"))?;
        incident_view(row, room_name, tz)
    }

    /// Incidents, newest first (at most 500), filtered.
    pub async fn incidents(&self, caller: &Caller, filter: &IncidentFilter) -> Result<Vec<IncidentView>> {
        self.require_role(caller, PLACE_ROLES, "查看事件", "see incidents").await?;
        let rows = db::incidents(
            self.store.pool(),
            filter.from_ms.unwrap_or(i64::MIN),
            filter.to_ms.unwrap_or(i64::MAX),
            filter.room_id.as_deref().filter(|r| !r.is_empty()),
            filter.category.map(IncidentCategory::as_str),
            500,
        )
        .await?;
        let tz = self.config.time_zone;
        rows.into_iter()
            .map(|r| {
                let name = self.room_name(&r.room_id);
                incident_view(r, name, tz)
            })
            .collect()
    }

    /// A supervisor's bookmark with a note, on the wall or in playback. Journaled locally.
    pub async fn add_bookmark(&self, caller: &Caller, input: &BookmarkInput) -> Result<BookmarkView> {
        self.require_role(caller, PLACE_ROLES, "添加书签", "add a bookmark").await?;
        let note = input.note.trim();
        if !(1..=MAX_NOTE_CHARS).contains(&note.chars().count()) {
            return Err(Error::invalid(
                format!("请填写书签说明（1–{MAX_NOTE_CHARS} 个字）。"),
                format!("Give the bookmark a note (1–{MAX_NOTE_CHARS} characters)."),
            ));
        }
        // A camera's bookmark belongs to the camera's room, so the room's timeline shows it.
        let room_id = match (&input.room_id, &input.camera_id) {
            (Some(r), _) if self.config.rooms.iter().any(|x| &x.id == r) => Some(r.clone()),
            (Some(r), _) => {
                return Err(Error::not_found(
                    format!("场所配置中没有房间 {r}。"),
                    format!("The venue file has no room {r}."),
                ));
            }
            (None, Some(c)) => self.room_of(c).map(str::to_string),
            (None, None) => {
                return Err(Error::invalid("请指明房间或摄像机。", "Name the room or the camera."));
            }
        };
        let now = self.clock.now();
        if input.at_ms > now.timestamp_millis() + FUTURE_SLACK_MS {
            return Err(Error::invalid("书签时间不能晚于现在。", "A bookmark cannot be later than now."));
        }
        let created_at = self.venue_rfc3339(now.timestamp_millis());
        let mut w = self.store.begin_write().await?;
        let row = db::insert_bookmark(
            &mut w,
            &NewBookmark {
                room_id: room_id.as_deref(),
                camera_id: input.camera_id.as_deref(),
                at_ms: input.at_ms,
                note,
                incident_id: None,
                created_by: &caller.username,
                created_at: &created_at,
                created_at_ms: now.timestamp_millis(),
            },
        )
        .await?;
        let entry = Entry::new(caller.actor(), EventKind::BookmarkAdded, format!("bookmark:{}", row.id), Outcome::Ok)
            .with_detail(json!({"room": room_id, "camera": input.camera_id, "at": self.venue_rfc3339(input.at_ms), "note": note}));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        Ok(bookmark_view(row, self.config.time_zone))
    }

    /// The room's bookmarks in `[from_ms, to_ms)`.
    pub async fn bookmarks(
        &self,
        caller: &Caller,
        room_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<BookmarkView>> {
        self.require_role(caller, PLACE_ROLES, "查看书签", "see bookmarks").await?;
        let tz = self.config.time_zone;
        Ok(db::bookmarks(self.store.pool(), room_id, from_ms, to_ms)
            .await?
            .into_iter()
            .map(|r| bookmark_view(r, tz))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experts_are_kept_only_masked() {
        let p = people_of(&[PersonInput {
            role: PersonRole::Expert,
            name: String::new(),
            identity: "11010519700307123X".into(),
        }])
        .unwrap();
        assert_eq!(p[0].identity_masked.as_deref(), Some("110105********123X"));
        assert_eq!(p[0].name, None);
        assert_eq!(masked_identity("110105********123x").unwrap(), "110105********123X");
        assert!(masked_identity("110105").is_err());
        let named = people_of(&[PersonInput {
            role: PersonRole::Expert,
            name: "张三".into(),
            identity: String::new(),
        }]);
        assert!(named.unwrap_err().message_in(crate::error::Locale::ZhCn).contains("不能填写姓名"));
        let bidder = people_of(&[PersonInput {
            role: PersonRole::Bidder,
            name: " 某建设公司 王五 ".into(),
            identity: String::new(),
        }])
        .unwrap();
        assert_eq!(bidder[0].name.as_deref(), Some("某建设公司 王五"));
        assert!(
            people_of(&[PersonInput { role: PersonRole::Agent, name: " ".into(), identity: String::new() }])
                .is_err()
        );
    }

    #[test]
    fn categories_round_trip() {
        for c in IncidentCategory::ALL {
            assert_eq!(IncidentCategory::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
