//! 场地安排 — rooms, trading projects and bookings: the service behind the venue managers'
//! calendar. Every change is journaled (and queued upward) in the transaction that makes it;
//! edits carry the version they were made on, so a stale copy is refused, never written over.

pub mod views;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::auth::Caller;
use crate::clock::Clock;
use crate::config::Room;
use crate::domain::booking::{self as rules, BookingState, MINUTE_MS, Purpose, Slot, Unsuitable};
use crate::domain::project::{self, TradingCategory};
use crate::domain::venue::{RoomKind, Zone};
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Actor, Entry, EventKind, Journal, Outcome};
use crate::store::bookings::{
    self as db, BookingQuery, BookingRow, NewBooking, NewChange, ProjectRow, RoomRow,
};
use crate::store::{Store, WriteTx};
use views::*;

/// The hours a room is open for bookings each day, 07:00–22:00 (the calendar's hours): occupancy
/// is the time held within them over their length, so it never exceeds 100 %.
pub const OPEN_FROM_MINUTE: i64 = 7 * 60;
pub const OPEN_MINUTES_PER_DAY: u32 = 15 * 60;
const SEP: char = '\u{1f}';

pub struct Bookings {
    store: Arc<Store>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    time_zone: Tz,
    exports_dir: std::path::PathBuf,
}

fn enum_json<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        Error::new(
            ErrorKind::DataLoss,
            format!("数据库中的值 “{s}” 无法识别。"),
            format!("Unrecognised value \"{s}\" in the database."),
        )
    })
}

fn split(s: &Option<String>) -> Vec<String> {
    s.as_deref().map(|s| s.split(SEP).map(str::to_string).collect()).unwrap_or_default()
}

fn stale(what_zh: &str, what_en: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("{what_zh}已被他人修改，您看到的是旧版本。请刷新后重新修改。"),
        format!(
            "Someone else changed this {what_en} since you opened it. Reload it and make your change again."
        ),
    )
}

impl Bookings {
    pub fn new(
        store: Arc<Store>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
        time_zone: Tz,
        exports_dir: std::path::PathBuf,
    ) -> Bookings {
        Bookings { store, journal, clock, time_zone, exports_dir }
    }

    // ---- time ------------------------------------------------------------------------------

    /// Venue local `YYYY-MM-DDTHH:MM` (seconds allowed) to an instant.
    pub fn parse_local(&self, s: &str, field: &str) -> Result<DateTime<Utc>> {
        let s = s.trim();
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| {
                Error::invalid(
                    format!("{field}：“{s}” 不是有效的日期时间（应为 YYYY-MM-DD HH:MM）。"),
                    format!("{field}: \"{s}\" is not a valid date and time (YYYY-MM-DD HH:MM)."),
                )
            })?;
        self.local_to_utc(naive, field)
    }

    fn local_to_utc(&self, naive: NaiveDateTime, field: &str) -> Result<DateTime<Utc>> {
        self.time_zone.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc)).ok_or_else(|| {
            Error::invalid(
                format!("{field}：该时刻在场所时区内不存在或有歧义，请换一个时间。"),
                format!("{field}: that time does not exist or is ambiguous in the venue's time zone; pick another."),
            )
        })
    }

    pub fn format_local(&self, ms: i64) -> String {
        DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&self.time_zone).format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    }

    fn parse_date(&self, s: &str, field: &str) -> Result<NaiveDate> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            Error::invalid(
                format!("{field}：“{s}” 不是有效日期（YYYY-MM-DD）。"),
                format!("{field}: \"{s}\" is not a date (YYYY-MM-DD)."),
            )
        })
    }

    fn day_start_ms(&self, d: NaiveDate) -> Result<i64> {
        Ok(self.local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), "date")?.timestamp_millis())
    }

    // ---- rooms -----------------------------------------------------------------------------

    /// Brings the rooms table in line with the venue file at start-up. The file owns what the
    /// building and its wiring decide (kind, zone, devices); the app owns what the venue manager
    /// edits (name, capacity, floor, notes, retired). A room dropped from the file is retired,
    /// never deleted: its bookings are history.
    pub async fn sync_rooms(&self, file_rooms: &[Room]) -> Result<()> {
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        let existing: HashMap<String, RoomRow> =
            db::rooms(self.store.pool()).await?.into_iter().map(|r| (r.id.clone(), r)).collect();
        let mut entries = Vec::new();
        for r in file_rooms {
            let structure = RoomRow {
                id: r.id.clone(),
                name: r.name.clone(),
                kind: enum_json(r.kind),
                kind_name: r.kind_name.clone(),
                zone: enum_json(r.zone),
                capacity: r.capacity as i64,
                floor: r.floor.clone(),
                notes: String::new(),
                active: true,
                devices: serde_json::to_string(&r.devices).map_err(Error::internal)?,
                in_venue_file: true,
                version: 1,
            };
            match existing.get(&r.id) {
                None => {
                    db::insert_room(&mut w, &structure, now).await?;
                    entries.push(Entry::new(Actor::system(), EventKind::RoomSynced, &r.id, Outcome::Ok)
                        .with_detail(serde_json::json!({"change": "added", "kind": structure.kind, "zone": structure.zone})));
                }
                Some(old)
                    if old.kind != structure.kind
                        || old.kind_name != structure.kind_name
                        || old.zone != structure.zone
                        || old.devices != structure.devices
                        || !old.in_venue_file =>
                {
                    db::update_room_structure(&mut w, &structure, now).await?;
                    entries.push(Entry::new(Actor::system(), EventKind::RoomSynced, &r.id, Outcome::Ok).with_detail(serde_json::json!({
                        "change": "structure", "kind": [old.kind, structure.kind], "zone": [old.zone, structure.zone],
                        "devices": [old.devices, structure.devices]})));
                }
                Some(_) => {}
            }
        }
        for old in existing.values().filter(|o| o.in_venue_file && !file_rooms.iter().any(|r| r.id == o.id)) {
            db::retire_room(&mut w, &old.id, now).await?;
            entries.push(
                Entry::new(Actor::system(), EventKind::RoomSynced, &old.id, Outcome::Ok)
                    .with_detail(serde_json::json!({"change": "retired: no longer in the venue file"})),
            );
        }
        if !entries.is_empty() {
            self.journal.append_in(&mut w, &entries).await?;
        }
        w.commit().await
    }

    fn room_view(&self, r: RoomRow) -> Result<RoomView> {
        Ok(RoomView {
            kind: parse_enum(&r.kind)?,
            zone: parse_enum(&r.zone)?,
            devices: serde_json::from_str(&r.devices).unwrap_or_default(),
            id: r.id,
            name: r.name,
            kind_name: r.kind_name,
            capacity: r.capacity as u32,
            floor: r.floor,
            notes: r.notes,
            active: r.active,
            in_venue_file: r.in_venue_file,
            version: r.version,
        })
    }

    pub async fn rooms(&self) -> Result<Vec<RoomView>> {
        db::rooms(self.store.pool()).await?.into_iter().map(|r| self.room_view(r)).collect()
    }

    pub async fn edit_room(&self, caller: &Caller, edit: &RoomEdit) -> Result<RoomView> {
        let name = edit.name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            return Err(Error::invalid(
                "房间名称须为 1–50 个字符。",
                "The room name must be 1–50 characters.",
            ));
        }
        if edit.capacity == 0 || edit.capacity > 10_000 {
            return Err(Error::invalid(
                "容纳人数须在 1 到 10000 之间。",
                "Capacity must be between 1 and 10,000.",
            ));
        }
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        let old = db::room_in(&mut w, &edit.id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该房间。", "No such room."))?;
        if !old.in_venue_file && edit.active {
            return Err(Error::precondition(
                "该房间已从场所配置文件中移除，不能重新启用。请先在配置文件中恢复它。",
                "This room is no longer in the venue file and cannot be reactivated; add it back to the file first.",
            ));
        }
        let new = RoomRow {
            name: name.to_string(),
            capacity: edit.capacity as i64,
            floor: edit.floor.clone().filter(|f| !f.trim().is_empty()),
            notes: edit.notes.trim().to_string(),
            active: edit.active,
            version: edit.version,
            ..old.clone()
        };
        if !db::update_room_details(&mut w, &new, now).await? {
            return Err(stale("房间信息", "room"));
        }
        let detail = serde_json::json!({
            "name": [old.name, new.name], "capacity": [old.capacity, new.capacity], "active": [old.active, new.active]});
        self.journal
            .append_in(
                &mut w,
                &[Entry::new(caller.actor(), EventKind::RoomUpdated, &edit.id, Outcome::Ok)
                    .with_detail(detail)],
            )
            .await?;
        let saved = db::room_in(&mut w, &edit.id).await?.expect("updated above");
        w.commit().await?;
        self.room_view(saved)
    }

    // ---- projects --------------------------------------------------------------------------

    fn project_view(&self, p: ProjectRow) -> Result<ProjectView> {
        Ok(ProjectView {
            category: parse_enum(&p.category)?,
            bid_section_codes: split(&p.sections),
            id: p.id,
            tender_project_code: p.tender_project_code,
            code_unusual: p.code_unusual,
            name: p.name,
            tenderer_name: p.tenderer_name,
            tenderer_credit_code: p.tenderer_credit_code,
            agency_name: p.agency_name,
            agency_credit_code: p.agency_credit_code,
            responsible_staff: p.responsible_staff,
            version: p.version,
        })
    }

    pub async fn projects(&self, search: Option<&str>) -> Result<Vec<ProjectView>> {
        db::projects(self.store.pool(), search.map(str::trim), 200)
            .await?
            .into_iter()
            .map(|p| self.project_view(p))
            .collect()
    }

    pub async fn save_project(&self, caller: &Caller, input: &ProjectInput) -> Result<ProjectView> {
        self.save_project_as(caller.actor(), input).await
    }

    /// Registers or edits a project on behalf of `by` (an operator, or the platform's pull).
    pub async fn save_project_as(&self, by: Actor, input: &ProjectInput) -> Result<ProjectView> {
        let (code, code_unusual) = project::validate_project_code(&input.tender_project_code)?;
        let required = |v: &str, zh: &str, en: &str| -> Result<String> {
            let v = v.trim();
            if v.is_empty() || v.chars().count() > 200 {
                Err(Error::invalid(
                    format!("{zh}不能为空，且不超过 200 个字符。"),
                    format!("{en} must be 1–200 characters."),
                ))
            } else {
                Ok(v.to_string())
            }
        };
        let name = required(&input.name, "项目名称", "The project name")?;
        let tenderer_name = required(&input.tenderer_name, "招标人（采购人）名称", "The tenderer's name")?;
        let responsible_staff =
            required(&input.responsible_staff, "服务责任人", "The responsible staff member")?;
        let tenderer_credit_code = project::validate_credit_code(
            &input.tenderer_credit_code,
            "招标人统一社会信用代码 / tenderer credit code",
        )?;
        let agency_name =
            input.agency_name.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let agency_credit_code =
            match input.agency_credit_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(c) => {
                    Some(project::validate_credit_code(c, "代理机构统一社会信用代码 / agency credit code")?)
                }
                None if agency_name.is_some() => {
                    return Err(Error::invalid(
                        "填写了代理机构名称时，须同时填写其统一社会信用代码。",
                        "An agency needs its unified social credit code too.",
                    ));
                }
                None => None,
            };
        let sections = project::validate_section_codes(&input.bid_section_codes)?;
        let mut row = ProjectRow {
            id: input.id.unwrap_or(0),
            tender_project_code: code.clone(),
            code_unusual,
            name,
            category: input.category.as_str().to_string(),
            tenderer_name,
            tenderer_credit_code,
            agency_name,
            agency_credit_code,
            responsible_staff,
            version: input.version.unwrap_or(1),
            sections: None,
        };
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        match input.id {
            None => {
                if db::project_id_by_code_in(&mut w, &code).await?.is_some() {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("招标项目编号 {code} 已登记，请在列表中搜索并修改该项目。"),
                        format!(
                            "Tender project code {code} is already registered; find it in the list and edit it."
                        ),
                    ));
                }
                row.id = db::insert_project(&mut w, &row, &sections, now).await?;
            }
            Some(id) => {
                let old = db::project_in(&mut w, id)
                    .await?
                    .ok_or_else(|| Error::not_found("找不到该项目。", "No such project."))?;
                if old.tender_project_code != code {
                    return Err(Error::invalid(
                        "招标项目编号登记后不能修改；如编号有误，请登记新项目。",
                        "A tender project code cannot change once registered; register a new project instead.",
                    ));
                }
                if !db::update_project(&mut w, &row, &sections, now).await? {
                    return Err(stale("项目信息", "project"));
                }
            }
        }
        let detail = serde_json::json!({"TENDER_PROJECT_CODE": code, "TENDER_PROJECT_NAME": row.name,
            "BID_SECTION_CODE": sections, "category": row.category, "TENDERER_NAME": row.tenderer_name,
            "TENDERER_CODE": row.tenderer_credit_code, "TENDER_AGENCY_NAME": row.agency_name,
            "TENDER_AGENCY_CODE": row.agency_credit_code, "codeUnusual": code_unusual,
            "responsibleStaff": row.responsible_staff, "created": input.id.is_none()});
        self.journal
            .append_in(
                &mut w,
                &[Entry::new(by, EventKind::ProjectSaved, &code, Outcome::Ok)
                    .with_detail(detail)],
            )
            .await?;
        let saved = db::project_in(&mut w, row.id).await?.expect("saved above");
        w.commit().await?;
        self.project_view(saved)
    }

    // ---- bookings --------------------------------------------------------------------------

    fn booking_view(&self, b: BookingRow, room_names: &HashMap<String, String>) -> Result<BookingView> {
        Ok(BookingView {
            room_name: room_names.get(&b.room_id).cloned().unwrap_or_else(|| b.room_id.clone()),
            category: parse_enum(&b.category)?,
            bid_section_codes: split(&b.sections),
            purpose: parse_enum(&b.purpose)?,
            start: self.format_local(b.start_ms),
            end: self.format_local(b.end_ms),
            state: parse_enum(&b.state)?,
            id: b.id,
            room_id: b.room_id,
            project_id: b.project_id,
            tender_project_code: b.tender_project_code,
            project_name: b.project_name,
            setup_min: b.setup_min as u32,
            cleanup_min: b.cleanup_min as u32,
            expected_participants: b.expected_participants as u32,
            expected_experts: b.expected_experts as u32,
            overnight: b.overnight,
            series_id: b.series_id,
            notes: b.notes,
            created_by: b.created_by,
            version: b.version,
        })
    }

    async fn room_names(&self) -> Result<HashMap<String, String>> {
        Ok(db::rooms(self.store.pool()).await?.into_iter().map(|r| (r.id, r.name)).collect())
    }

    /// Refuses a room that is retired, too small, or of a kind the purpose does not use.
    fn check_room(&self, room: &RoomRow, purpose: Purpose, overnight: bool, people: u32) -> Result<()> {
        if !room.active {
            return Err(Error::precondition(
                format!("房间 “{}” 已停用，不能预约。请选择其他房间。", room.name),
                format!("Room \"{}\" is retired and cannot be booked. Choose another room.", room.name),
            ));
        }
        if people as i64 > room.capacity {
            return Err(Error::invalid(
                format!(
                    "预计人数 {people} 超过房间 “{}” 的容纳人数 {}。请选择更大的房间。",
                    room.name, room.capacity
                ),
                format!(
                    "{people} people exceed the capacity of \"{}\" ({}). Choose a larger room.",
                    room.name, room.capacity
                ),
            ));
        }
        let kind: RoomKind = parse_enum(&room.kind)?;
        let zone: Zone = parse_enum(&room.zone)?;
        match rules::suitability(kind, zone, purpose, overnight) {
            Ok(()) => Ok(()),
            Err(why) => {
                let (zh, en) = match why {
                    Unsuitable::Zone => (
                        "评标须在门禁管控的评标评审区内进行",
                        "evaluations take place behind access control, in the evaluation zone",
                    ),
                    Unsuitable::NotOvernight => (
                        "隔夜评标须使用隔夜评标室",
                        "overnight evaluations need an overnight evaluation room",
                    ),
                    Unsuitable::Kind => {
                        ("该类型的房间不用于此用途", "this kind of room is not used for that purpose")
                    }
                };
                Err(Error::invalid(
                    format!("房间 “{}” 不适合{}：{zh}。", room.name, purpose.label_zh()),
                    format!(
                        "Room \"{}\" does not suit a {}: {en}.",
                        room.name,
                        purpose.as_str().replace('_', " ")
                    ),
                ))
            }
        }
    }

    /// Refuses a slot that overlaps another booking of the room (buffers included), naming the
    /// booking in the way and when the room is next free for the same length of time.
    async fn check_free(
        &self,
        w: &mut WriteTx<'_>,
        room: &RoomRow,
        slot: &Slot,
        except: Option<i64>,
    ) -> Result<()> {
        let occupied = slot.occupied();
        let clash = db::holding_room_in(w, &room.id, occupied.0, occupied.1, except).await?;
        let Some(c) = clash.first() else { return Ok(()) };
        let free_from = self.next_free(w, &room.id, occupied.0, occupied.1 - occupied.0, except).await?
            + slot.setup_min as i64 * MINUTE_MS;
        let purpose_zh = Purpose::parse(&c.purpose).map(|p| p.label_zh()).unwrap_or("");
        let shown = |ms: i64| self.format_local(ms).replace('T', " ");
        let (start, end, free) = (shown(c.start_ms), shown(c.end_ms), shown(free_from));
        let purpose_en = c.purpose.replace('_', " ");
        let (room_name, id, code, project) = (&room.name, c.id, &c.tender_project_code, &c.project_name);
        let (setup, cleanup) = (c.setup_min, c.cleanup_min);
        Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "房间 “{room_name}” 在该时段已有预约 #{id}：{code} {project}（{purpose_zh}，{start} 至 {end}，另含准备 {setup} 分钟、\
                 清场 {cleanup} 分钟）。该房间最早可从 {free} 起预约同样时长。"
            ),
            format!(
                "Room \"{room_name}\" is taken by booking #{id}: {code} {project} ({purpose_en}, {start} to {end}, plus {setup} min \
                 set-up and {cleanup} min clean-up). The room is next free for the same length of time from {free}."
            ),
        ))
    }

    /// Whether `room_id` is free for the slot (buffers included), as the booking screens ask
    /// while a block is dragged; `except` leaves a booking being moved out of the check.
    pub async fn check_slot(
        &self,
        room_id: &str,
        start: &str,
        end: &str,
        setup_min: u32,
        cleanup_min: u32,
        except: Option<i64>,
    ) -> Result<()> {
        let slot = self.slot_of(start, end, setup_min, cleanup_min)?;
        let mut w = self.store.begin_write().await?;
        let room = db::room_in(&mut w, room_id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该房间。", "No such room."))?;
        self.check_free(&mut w, &room, &slot, except).await
    }

    /// The earliest time from `from_ms` when `room_id` is free for `length_ms`, reading the
    /// room's bookings a page at a time.
    async fn next_free(
        &self,
        w: &mut WriteTx<'_>,
        room_id: &str,
        from_ms: i64,
        length_ms: i64,
        except: Option<i64>,
    ) -> Result<i64> {
        const PAGE: i64 = 64;
        let mut t = from_ms;
        loop {
            let taken = db::occupied_after_in(w, room_id, t, except, PAGE).await?;
            let candidate = rules::next_free(&taken, t, length_ms);
            // The gap found is real unless it lies past the last span read and more may follow.
            let last_end = taken.last().map(|s| s.1).unwrap_or(i64::MIN);
            if (taken.len() as i64) < PAGE || candidate < last_end {
                return Ok(candidate);
            }
            t = last_end;
        }
    }

    fn slot_of(&self, start: &str, end: &str, setup_min: u32, cleanup_min: u32) -> Result<Slot> {
        let start = self.parse_local(start, "开始时间 / start")?.timestamp_millis();
        let end = self.parse_local(end, "结束时间 / end")?.timestamp_millis();
        let slot = Slot { start_ms: start, end_ms: end, setup_min, cleanup_min };
        if start >= end {
            return Err(Error::invalid("结束时间须晚于开始时间。", "The end must be after the start."));
        }
        if !slot.is_valid() {
            return Err(Error::invalid(
                format!(
                    "单次预约不超过 24 小时，准备和清场时间各不超过 {} 分钟；多日评标请填写天数。",
                    rules::MAX_BUFFER_MIN
                ),
                format!(
                    "One booking lasts at most 24 hours, with at most {} minutes each of set-up and clean-up; for a multi-day evaluation give the number of days.",
                    rules::MAX_BUFFER_MIN
                ),
            ));
        }
        Ok(slot)
    }

    /// Books a room for a project, or the same hours on `days` consecutive days (all or none).
    pub async fn create(&self, caller: &Caller, input: &BookingInput) -> Result<Vec<BookingView>> {
        self.create_as(caller.actor(), input, None).await
    }

    /// Books on behalf of `by`. A request pulled from the platform passes its id, which is linked
    /// to the booking in the same transaction, so a crash can neither lose nor double it.
    pub async fn create_as(
        &self,
        by: Actor,
        input: &BookingInput,
        platform_booking_id: Option<&str>,
    ) -> Result<Vec<BookingView>> {
        if !(1..=rules::MAX_SERIES_DAYS).contains(&input.days) {
            return Err(Error::invalid(
                format!("天数须在 1 到 {} 之间。", rules::MAX_SERIES_DAYS),
                format!("Days must be between 1 and {}.", rules::MAX_SERIES_DAYS),
            ));
        }
        if input.overnight && input.purpose != Purpose::Evaluation {
            return Err(Error::invalid("只有评标可以标记为隔夜。", "Only evaluations can be overnight."));
        }
        let first = self.slot_of(&input.start, &input.end, input.setup_min, input.cleanup_min)?;
        let people = input.expected_participants.max(input.expected_experts);
        let notes = input.notes.trim();
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        let room = db::room_in(&mut w, &input.room_id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该房间。", "No such room."))?;
        self.check_room(&room, input.purpose, input.overnight, people)?;
        let project = db::project_in(&mut w, input.project_id).await?.ok_or_else(|| {
            Error::not_found("找不到该项目，请先登记项目。", "No such project; register it first.")
        })?;
        let project_sections = split(&project.sections);
        let sections = project::validate_section_codes(&input.bid_section_codes)?;
        if let Some(s) = sections.iter().find(|s| !project_sections.contains(s)) {
            return Err(Error::invalid(
                format!("标段（包）编号 {s} 不属于项目 {}。", project.tender_project_code),
                format!("Bid section {s} is not a section of project {}.", project.tender_project_code),
            ));
        }
        let series_id = (input.days > 1).then(|| uuid::Uuid::new_v4().to_string());
        let state = if input.confirm { BookingState::Confirmed } else { BookingState::Requested };
        let mut ids = Vec::new();
        let mut entries = Vec::new();
        for day in 0..input.days as i64 {
            let slot = first.shifted_days(day);
            self.check_free(&mut w, &room, &slot, None).await?;
            let new = NewBooking {
                room_id: &room.id,
                project_id: project.id,
                purpose: input.purpose.as_str(),
                start_ms: slot.start_ms,
                end_ms: slot.end_ms,
                setup_min: slot.setup_min as i64,
                cleanup_min: slot.cleanup_min as i64,
                occupied: slot.occupied(),
                expected_participants: input.expected_participants as i64,
                expected_experts: input.expected_experts as i64,
                overnight: input.overnight,
                state: state.as_str(),
                series_id: series_id.as_deref(),
                notes,
                created_by: &by.name,
                sections: &sections,
            };
            let id = db::insert_booking(&mut w, &new, now).await?;
            let mut after = self.booking_wire(
                &room.id,
                &project.tender_project_code,
                &sections,
                input.purpose,
                &slot,
                state,
            );
            if let Some(pid) = platform_booking_id {
                after["platformBookingId"] = serde_json::json!(pid);
            }
            db::insert_change(
                &mut w,
                &NewChange {
                    booking_id: id,
                    at_ms: now.timestamp_millis(),
                    actor: &by.name,
                    change: "created",
                    reason: "",
                    before: None,
                    after: Some(after.to_string()),
                },
            )
            .await?;
            entries.push(
                Entry::new(by.clone(), EventKind::BookingCreated, id.to_string(), Outcome::Ok)
                    .with_detail(after),
            );
            ids.push(id);
        }
        if let Some(pid) = platform_booking_id {
            let link = crate::store::sync::PlatformBookingRow {
                platform_booking_id: pid.to_string(),
                booking_id: ids.first().copied(),
                state: "imported".into(),
                reason: None,
                received_at: crate::clock::venue_time(now, self.time_zone).to_rfc3339(),
            };
            crate::store::sync::put_platform_booking(&mut w, &link).await?;
        }
        self.journal.append_in(&mut w, &entries).await?;
        let mut rows = Vec::new();
        for id in &ids {
            rows.push(db::booking_in(&mut w, *id).await?.expect("inserted above"));
        }
        w.commit().await?;
        let names = self.room_names().await?;
        rows.into_iter().map(|r| self.booking_view(r, &names)).collect()
    }

    /// The fields a booking event carries upward, with the national data spec's names.
    fn booking_wire(
        &self,
        room_id: &str,
        code: &str,
        sections: &[String],
        purpose: Purpose,
        slot: &Slot,
        state: BookingState,
    ) -> serde_json::Value {
        let iso = |ms: i64| {
            DateTime::from_timestamp_millis(ms)
                .map(|t| t.with_timezone(&self.time_zone).to_rfc3339())
                .unwrap_or_default()
        };
        serde_json::json!({
            "TENDER_PROJECT_CODE": code,
            "BID_SECTION_CODE": sections,
            "roomId": room_id,
            "purpose": purpose.as_str(),
            "start": iso(slot.start_ms),
            "end": iso(slot.end_ms),
            "setupMinutes": slot.setup_min,
            "cleanupMinutes": slot.cleanup_min,
            "state": state.as_str(),
        })
    }

    fn reason_required(reason: &str) -> Result<String> {
        let r = reason.trim();
        if r.chars().count() < 2 || r.chars().count() > 500 {
            return Err(Error::invalid(
                "请填写变更原因（2–500 个字符），它将保存在变更记录中。",
                "Give the reason for the change (2–500 characters); it is kept in the change history.",
            ));
        }
        Ok(r.to_string())
    }

    /// Moves, resizes or re-rooms a booking that has not started, with a reason.
    pub async fn change(&self, caller: &Caller, input: &BookingChangeInput) -> Result<BookingView> {
        let reason = Self::reason_required(&input.reason)?;
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        let old = db::booking_in(&mut w, input.id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该预约。", "No such booking."))?;
        if old.version != input.version {
            return Err(stale("该预约", "booking"));
        }
        let state: BookingState = parse_enum(&old.state)?;
        if !state.is_editable() {
            return Err(Error::precondition(
                "预约已开始、已完成或已取消，不能再改时间或房间。",
                "The booking has started, finished or been cancelled; its time and room can no longer change.",
            ));
        }
        let purpose: Purpose = parse_enum(&old.purpose)?;
        let slot = self.slot_of(&input.start, &input.end, old.setup_min as u32, old.cleanup_min as u32)?;
        let room = db::room_in(&mut w, &input.room_id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该房间。", "No such room."))?;
        self.check_room(
            &room,
            purpose,
            old.overnight,
            old.expected_participants.max(old.expected_experts) as u32,
        )?;
        self.check_free(&mut w, &room, &slot, Some(old.id)).await?;
        if !db::update_booking_slot(
            &mut w,
            old.id,
            old.version,
            &room.id,
            slot.start_ms,
            slot.end_ms,
            slot.occupied(),
            now,
        )
        .await?
        {
            return Err(stale("该预约", "booking"));
        }
        let sections = split(&old.sections);
        let before_slot = Slot {
            start_ms: old.start_ms,
            end_ms: old.end_ms,
            setup_min: old.setup_min as u32,
            cleanup_min: old.cleanup_min as u32,
        };
        let before = self.booking_wire(
            &old.room_id,
            &old.tender_project_code,
            &sections,
            purpose,
            &before_slot,
            state,
        );
        let after = self.booking_wire(&room.id, &old.tender_project_code, &sections, purpose, &slot, state);
        let change = if room.id != old.room_id { "room_changed" } else { "rescheduled" };
        db::insert_change(
            &mut w,
            &NewChange {
                booking_id: old.id,
                at_ms: now.timestamp_millis(),
                actor: &caller.username,
                change,
                reason: &reason,
                before: Some(before.to_string()),
                after: Some(after.to_string()),
            },
        )
        .await?;
        let detail =
            serde_json::json!({"before": before, "after": after, "reason": reason, "change": change});
        self.journal
            .append_in(
                &mut w,
                &[Entry::new(caller.actor(), EventKind::BookingChanged, old.id.to_string(), Outcome::Ok)
                    .with_detail(detail)],
            )
            .await?;
        let row = db::booking_in(&mut w, old.id).await?.expect("updated above");
        w.commit().await?;
        self.booking_view(row, &self.room_names().await?)
    }

    /// Moves a booking along requested → confirmed → in progress → completed, or cancels it
    /// (a reason is required to cancel).
    pub async fn set_state(
        &self,
        caller: &Caller,
        id: i64,
        version: i64,
        next: BookingState,
        reason: &str,
    ) -> Result<BookingView> {
        self.set_state_as(caller.actor(), id, version, next, reason).await
    }

    pub async fn set_state_as(
        &self,
        by: Actor,
        id: i64,
        version: i64,
        next: BookingState,
        reason: &str,
    ) -> Result<BookingView> {
        let reason = if next == BookingState::Cancelled {
            Self::reason_required(reason)?
        } else {
            reason.trim().to_string()
        };
        let now = self.clock.now();
        let mut w = self.store.begin_write().await?;
        let old = db::booking_in(&mut w, id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该预约。", "No such booking."))?;
        if old.version != version {
            return Err(stale("该预约", "booking"));
        }
        let state: BookingState = parse_enum(&old.state)?;
        if !state.can_become(next) {
            return Err(Error::precondition(
                format!("预约当前为“{}”，不能改为“{}”。", state.label_zh(), next.label_zh()),
                format!("A booking that is {} cannot become {}.", state.as_str(), next.as_str()),
            ));
        }
        if !db::update_booking_state(&mut w, id, version, next.as_str(), now).await? {
            return Err(stale("该预约", "booking"));
        }
        let change = if next == BookingState::Cancelled { "cancelled" } else { "state_changed" };
        let before = serde_json::json!({"state": state.as_str()});
        let after = serde_json::json!({"state": next.as_str()});
        db::insert_change(
            &mut w,
            &NewChange {
                booking_id: id,
                at_ms: now.timestamp_millis(),
                actor: &by.name,
                change,
                reason: &reason,
                before: Some(before.to_string()),
                after: Some(after.to_string()),
            },
        )
        .await?;
        let kind = if next == BookingState::Cancelled {
            EventKind::BookingCancelled
        } else {
            EventKind::BookingStateChanged
        };
        let detail = serde_json::json!({"TENDER_PROJECT_CODE": old.tender_project_code, "BID_SECTION_CODE": split(&old.sections),
            "roomId": old.room_id, "from": state.as_str(), "to": next.as_str(), "reason": reason});
        self.journal
            .append_in(
                &mut w,
                &[Entry::new(by, kind, id.to_string(), Outcome::Ok).with_detail(detail)],
            )
            .await?;
        let row = db::booking_in(&mut w, id).await?.expect("updated above");
        w.commit().await?;
        self.booking_view(row, &self.room_names().await?)
    }

    fn range_ms(&self, from: &Option<String>, to: &Option<String>) -> Result<(Option<i64>, Option<i64>)> {
        let from_ms = match from.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => Some(self.day_start_ms(self.parse_date(d, "from")?)?),
            None => None,
        };
        let to_ms = match to.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => Some(self.day_start_ms(self.parse_date(d, "to")? + Duration::days(1))?),
            None => None,
        };
        if let (Some(a), Some(b)) = (from_ms, to_ms)
            && a >= b
        {
            return Err(Error::invalid(
                "开始日期不能晚于结束日期。",
                "The start date must not be after the end date.",
            ));
        }
        Ok((from_ms, to_ms))
    }

    pub async fn list(&self, f: &BookingFilter) -> Result<Vec<BookingView>> {
        let (from_ms, to_ms) = self.range_ms(&f.from_date, &f.to_date)?;
        let q = BookingQuery {
            from_ms,
            to_ms,
            room_id: f.room_id.clone().filter(|s| !s.is_empty()),
            project_code: f.project_code.clone().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
            state: f.state.map(|s| s.as_str().to_string()),
            purposes: Vec::new(),
            limit: 2000,
        };
        let names = self.room_names().await?;
        db::bookings(self.store.pool(), &q).await?.into_iter().map(|b| self.booking_view(b, &names)).collect()
    }

    pub async fn booking(&self, id: i64) -> Result<BookingView> {
        let row = db::booking(self.store.pool(), id)
            .await?
            .ok_or_else(|| Error::not_found("找不到该预约。", "No such booking."))?;
        self.booking_view(row, &self.room_names().await?)
    }

    pub async fn history(&self, booking_id: i64) -> Result<Vec<BookingChangeView>> {
        Ok(db::changes(self.store.pool(), booking_id)
            .await?
            .into_iter()
            .map(|c| BookingChangeView {
                at: DateTime::from_timestamp_millis(c.at_ms)
                    .map(|t| t.with_timezone(&self.time_zone).format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                actor: c.actor,
                change: c.change,
                reason: c.reason,
                before: c.before,
                after: c.after,
            })
            .collect())
    }

    /// The bid openings and evaluations confirmed (or under way, or done) on the given days.
    pub async fn sessions(&self, from_date: &str, to_date: &str) -> Result<Vec<BookingSession>> {
        let (from_ms, to_ms) = self.range_ms(&Some(from_date.into()), &Some(to_date.into()))?;
        let q = BookingQuery {
            from_ms,
            to_ms,
            purposes: Purpose::ALL
                .iter()
                .filter(|p| p.makes_session())
                .map(|p| p.as_str().to_string())
                .collect(),
            limit: 2000,
            ..Default::default()
        };
        let names = self.room_names().await?;
        db::bookings(self.store.pool(), &q)
            .await?
            .into_iter()
            .filter(|b| matches!(b.state.as_str(), "confirmed" | "in_progress" | "completed"))
            .map(|b| self.session_view(b, &names))
            .collect()
    }

    /// One booking as a session, with its start and end (UTC ms) for the rules that follow it.
    pub async fn session(&self, id: i64) -> Result<(BookingSession, i64, i64)> {
        let b = db::booking(self.store.pool(), id).await?.ok_or_else(|| {
            Error::not_found(format!("没有编号为 {id} 的场次。"), format!("There is no session {id}."))
        })?;
        let (start_ms, end_ms) = (b.start_ms, b.end_ms);
        Ok((self.session_view(b, &self.room_names().await?)?, start_ms, end_ms))
    }

    fn session_view(&self, b: BookingRow, names: &HashMap<String, String>) -> Result<BookingSession> {
        let v = self.booking_view(b, names)?;
        Ok(BookingSession {
            booking_id: v.id,
            room_id: v.room_id,
            room_name: v.room_name,
            purpose: v.purpose,
            tender_project_code: v.tender_project_code,
            project_name: v.project_name,
            bid_section_codes: v.bid_section_codes,
            start: v.start,
            end: v.end,
            state: v.state,
            expected_experts: v.expected_experts,
        })
    }

    // ---- statistics ------------------------------------------------------------------------

    /// Occupancy per room and period (buffers count: the room is taken), and sessions by purpose
    /// and trading category, over the venue-local days `from_date..=to_date`.
    pub async fn statistics(
        &self,
        from_date: &str,
        to_date: &str,
        granularity: Granularity,
    ) -> Result<Statistics> {
        let from = self.parse_date(from_date, "from")?;
        let to = self.parse_date(to_date, "to")?;
        if from > to || (to - from).num_days() > 366 {
            return Err(Error::invalid(
                "统计范围须为 1 到 367 天，且开始不晚于结束。",
                "The range must be 1 to 367 days, start not after end.",
            ));
        }
        let period_start = |d: NaiveDate| match granularity {
            Granularity::Day => d,
            Granularity::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
            Granularity::Month => d.with_day(1).expect("day 1"),
        };
        let rooms = db::rooms(self.store.pool()).await?;
        let (from_ms, to_ms) = (self.day_start_ms(from)?, self.day_start_ms(to + Duration::days(1))?);
        let q = BookingQuery {
            from_ms: Some(from_ms - DAY),
            to_ms: Some(to_ms + DAY),
            limit: 1_000_000,
            ..Default::default()
        };
        let bookings: Vec<BookingRow> = db::bookings(self.store.pool(), &q)
            .await?
            .into_iter()
            .filter(|b| b.state != "cancelled")
            .collect();

        // Occupied minutes per (period, room), clipped day by day to the opening hours.
        let mut occupied: HashMap<(NaiveDate, String), i64> = HashMap::new();
        let mut open_days: HashMap<NaiveDate, u32> = HashMap::new();
        let mut day = from;
        while day <= to {
            let d0 = self.day_start_ms(day)? + OPEN_FROM_MINUTE * MINUTE_MS;
            let d1 = d0 + OPEN_MINUTES_PER_DAY as i64 * MINUTE_MS;
            *open_days.entry(period_start(day)).or_default() += 1;
            for b in &bookings {
                let overlap = b.occupied_end_ms.min(d1) - b.occupied_start_ms.max(d0);
                if overlap > 0 {
                    *occupied.entry((period_start(day), b.room_id.clone())).or_default() +=
                        overlap / MINUTE_MS;
                }
            }
            day += Duration::days(1);
        }
        let mut periods: Vec<NaiveDate> = open_days.keys().copied().collect();
        periods.sort();
        let mut occupancy = Vec::new();
        for p in &periods {
            for r in &rooms {
                occupancy.push(OccupancyRow {
                    period: p.format("%Y-%m-%d").to_string(),
                    room_id: r.id.clone(),
                    room_name: r.name.clone(),
                    room_kind: parse_enum(&r.kind)?,
                    occupied_minutes: occupied.get(&(*p, r.id.clone())).copied().unwrap_or(0) as u32,
                    open_minutes: open_days[p] * OPEN_MINUTES_PER_DAY,
                });
            }
        }

        let mut by_kind: Vec<KindOccupancyRow> = Vec::new();
        for r in &occupancy {
            match by_kind.iter_mut().find(|k| k.period == r.period && k.room_kind == r.room_kind) {
                Some(k) => {
                    k.rooms += 1;
                    k.occupied_minutes += r.occupied_minutes;
                    k.open_minutes += r.open_minutes;
                }
                None => by_kind.push(KindOccupancyRow {
                    period: r.period.clone(),
                    room_kind: r.room_kind,
                    rooms: 1,
                    occupied_minutes: r.occupied_minutes,
                    open_minutes: r.open_minutes,
                }),
            }
        }

        let mut counts: HashMap<(String, String), u32> = HashMap::new();
        for b in bookings.iter().filter(|b| b.start_ms >= from_ms && b.start_ms < to_ms) {
            *counts.entry((b.purpose.clone(), b.category.clone())).or_default() += 1;
        }
        let mut by_purpose_and_category: Vec<CountRow> = counts
            .into_iter()
            .filter_map(|((p, c), n)| {
                Some(CountRow {
                    purpose: Purpose::parse(&p)?,
                    category: TradingCategory::parse(&c)?,
                    sessions: n,
                })
            })
            .collect();
        by_purpose_and_category.sort_by_key(|r| (r.purpose.as_str(), r.category.as_str()));
        Ok(Statistics {
            occupancy,
            occupancy_by_kind: by_kind,
            by_purpose_and_category,
            open_minutes_per_day: OPEN_MINUTES_PER_DAY,
        })
    }

    /// Writes the statistics as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
    /// the Chinese headings) into the exports directory; returns the file's path.
    pub async fn export_statistics_csv(
        &self,
        caller: &Caller,
        from_date: &str,
        to_date: &str,
        granularity: Granularity,
    ) -> Result<String> {
        let stats = self.statistics(from_date, to_date, granularity).await?;
        let mut csv = String::from(
            "\u{feff}period 时段,room_id 房间编号,room 房间,kind 类型,occupied_minutes 占用分钟,open_minutes 开放分钟,occupancy 占用率\r\n",
        );
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        for r in &stats.occupancy {
            let rate =
                if r.open_minutes > 0 { r.occupied_minutes as f64 / r.open_minutes as f64 } else { 0.0 };
            csv.push_str(&format!(
                "{},{},{},{},{},{},{:.4}\r\n",
                r.period,
                field(&r.room_id),
                field(&r.room_name),
                enum_json(r.room_kind),
                r.occupied_minutes,
                r.open_minutes,
                rate
            ));
        }
        csv.push_str("\r\nperiod 时段,kind 房间类型,rooms 房间数,occupied_minutes 占用分钟,open_minutes 开放分钟,occupancy 占用率\r\n");
        for k in &stats.occupancy_by_kind {
            let rate =
                if k.open_minutes > 0 { k.occupied_minutes as f64 / k.open_minutes as f64 } else { 0.0 };
            let kind = enum_json(k.room_kind);
            csv.push_str(&format!(
                "{},{kind},{},{},{},{rate:.4}\r\n",
                k.period, k.rooms, k.occupied_minutes, k.open_minutes
            ));
        }
        csv.push_str("\r\npurpose 用途,category 交易分类,sessions 场次\r\n");
        for c in &stats.by_purpose_and_category {
            csv.push_str(&format!("{},{},{}\r\n", c.purpose.as_str(), c.category.as_str(), c.sessions));
        }
        let unavailable = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unavailable,
                format!("无法写入导出目录 {}：{e}", self.exports_dir.display()),
                format!("Cannot write to the exports directory {}: {e}", self.exports_dir.display()),
            )
        };
        std::fs::create_dir_all(&self.exports_dir).map_err(unavailable)?;
        let stamp = self.clock.now().with_timezone(&self.time_zone).format("%Y%m%d-%H%M%S");
        let path = self.exports_dir.join(format!("occupancy-{from_date}-{to_date}-{stamp}.csv"));
        std::fs::write(&path, csv.as_bytes()).map_err(unavailable)?;
        self.journal
            .record(
                Entry::new(
                    caller.actor(),
                    EventKind::StatisticsExported,
                    path.display().to_string(),
                    Outcome::Ok,
                )
                .with_detail(serde_json::json!({"from": from_date, "to": to_date})),
            )
            .await?;
        Ok(path.display().to_string())
    }
}

const DAY: i64 = rules::DAY_MS;
