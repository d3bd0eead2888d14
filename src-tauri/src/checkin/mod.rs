//! 专家签到 — the front desk: rosters, check-in and check-out, lockers, door credentials,
//! reconciliation with the controllers, and the roll call.
//!
//! Check-in walks forward: find the expert by ID number → assign and open a locker → wait until it
//! is closed → write the credential to every controller on the way to the room → commit the
//! check-in, the locker and the journal (with its outbox row) in one transaction. Device work
//! happens before the commit and is undone if the commit cannot happen, so the database never
//! says more than the devices do; what the devices keep that the database does not justify is
//! removed by reconciliation.

pub mod roster;
pub mod views;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDateTime};
use chrono_tz::Tz;
use serde_json::json;
use tokio::sync::broadcast;

use crate::auth::Caller;
use crate::bookings::Bookings;
use crate::clock::{Clock, venue_local_seconds, venue_time};
use crate::config::{CheckInRules, VenueConfig};
use crate::devices::fleet::Fleet;
use crate::devices::{AccessEvent, AccessPerson, LockState};
use crate::domain::booking::BookingState;
use crate::domain::expert::{IdNumber, mask_card_no, parse_card_no};
use crate::domain::venue::DeviceKind;
use crate::error::{Error, ErrorKind, Result};
use crate::journal::{Actor, Entry, EventKind, Journal, Outcome};
use crate::store::checkin::{self as db, CheckInRow, LockerRow, RosterEntryRow};
use crate::store::{Store, WriteTx};
use crate::vault::{Sealer, Vault};
use roster::SealedExpert;
use views::*;

/// Person keys Venue Desk writes on controllers start with this; reconciliation never touches others.
pub const EMPLOYEE_PREFIX: &str = "vd-";
const ROSTER_KEY: &str = "roster-key";
const LOCK_POLL: StdDuration = StdDuration::from_millis(150);
/// Minor event codes (major 5) that mean a person passed a reader.
const PASS_MINORS: [u32; 2] = [0x01, 0x4b];

pub struct CheckIns {
    store: Arc<Store>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    tz: Tz,
    config: Arc<VenueConfig>,
    bookings: Arc<Bookings>,
    fleet: Arc<Fleet>,
    vault: Vault,
    sealer: Mutex<Option<Arc<Sealer>>>,
    /// The last states each bank reported, with the error when it did not answer.
    lock_states: Mutex<HashMap<String, std::result::Result<Vec<LockState>, String>>>,
    changes: broadcast::Sender<FrontDeskChanged>,
}

/// A roster entry with its session, opened for one use.
struct Found {
    entry: RosterEntryRow,
    expert: Option<SealedExpert>,
    session: Session,
}

#[derive(Clone)]
struct Session {
    brief: BookingSession,
    start_ms: i64,
    end_ms: i64,
}

impl CheckIns {
    pub fn new(
        store: Arc<Store>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
        config: Arc<VenueConfig>,
        bookings: Arc<Bookings>,
        fleet: Arc<Fleet>,
        vault: Vault,
    ) -> CheckIns {
        CheckIns {
            store,
            journal,
            clock,
            tz: config.time_zone,
            config,
            bookings,
            fleet,
            vault,
            sealer: Mutex::new(None),
            lock_states: Mutex::new(HashMap::new()),
            changes: broadcast::channel(64).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FrontDeskChanged> {
        self.changes.subscribe()
    }

    fn announce(&self, lockers: bool, devices: bool, roll_call: bool) {
        let _ = self.changes.send(FrontDeskChanged { lockers, devices, roll_call });
    }

    fn rules(&self) -> &CheckInRules {
        &self.config.checkin
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Creates the locker rows of every configured bank.
    pub async fn prepare(&self) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        for bank in &self.config.evaluation_area.locker_banks {
            let channels = self.fleet.device(bank)?.channels.unwrap_or(24);
            db::ensure_lockers(&mut w, bank, channels, now).await?;
        }
        w.commit().await
    }

    // ---- roster ------------------------------------------------------------------------------

    fn sealer(&self) -> Result<Arc<Sealer>> {
        let mut slot = self.sealer.lock().unwrap();
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let key = self.vault.key(ROSTER_KEY)?;
        let sealer = Arc::new(Sealer::new(&key));
        *slot = Some(sealer.clone());
        Ok(sealer)
    }

    fn context(booking_id: i64, id_tag: &str) -> Vec<u8> {
        format!("roster:{booking_id}:{id_tag}").into_bytes()
    }

    fn open_entry(&self, entry: &RosterEntryRow) -> Result<Option<SealedExpert>> {
        let Some(sealed) = &entry.sealed else { return Ok(None) };
        let plain = self.sealer()?.open(sealed, &Self::context(entry.booking_id, &entry.id_tag))?;
        serde_json::from_slice(&plain).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::DataLoss,
                format!("名单记录无法读取：{e}"),
                format!("A roster record is unreadable: {e}"),
            )
        })
    }

    async fn session(&self, booking_id: i64) -> Result<Session> {
        let (brief, start_ms, end_ms) = self.bookings.session(booking_id).await?;
        if brief.state == BookingState::Cancelled {
            return Err(Error::precondition(
                format!("场次 {booking_id} 已取消。"),
                format!("Session {booking_id} was cancelled."),
            ));
        }
        Ok(Session { brief, start_ms, end_ms })
    }

    fn local_seconds(&self, ms: i64) -> String {
        venue_local_seconds(ms, self.tz)
    }

    fn naive_local(&self, ms: i64) -> NaiveDateTime {
        DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&self.tz).naive_local())
            .unwrap_or_default()
    }

    /// Imports a session's roster from a file: every row or none.
    pub async fn import_roster(
        &self,
        caller: &Caller,
        booking_id: i64,
        format: RosterFormat,
        content: &str,
    ) -> Result<RosterImportReport> {
        self.import_roster_as(caller.actor(), "file", booking_id, format, content).await
    }

    /// Imports a roster on behalf of `by`; `source` says where it came from (`file`, `platform`).
    pub async fn import_roster_as(
        &self,
        by: Actor,
        source: &str,
        booking_id: i64,
        format: RosterFormat,
        content: &str,
    ) -> Result<RosterImportReport> {
        let session = self.session(booking_id).await?;
        let experts = match roster::parse(format, content) {
            Ok(e) => e,
            Err(errors) => {
                return Ok(RosterImportReport {
                    booking_id,
                    rows: errors.iter().map(|e| e.row).max().unwrap_or(0),
                    imported: 0,
                    errors,
                });
            }
        };
        let sealer = self.sealer()?;
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        let existing: BTreeSet<String> =
            db::roster_tags_of_booking_in(&mut w, booking_id).await?.into_iter().collect();
        let mut errors = Vec::new();
        for (i, e) in experts.iter().enumerate() {
            if existing.contains(&sealer.tag(e.id.as_str())) {
                errors.push(RosterRowError {
                    row: i as u32 + 1,
                    field: "idNumber".into(),
                    message: Error::new(
                        ErrorKind::AlreadyExists,
                        "该专家已在本场次名单中。",
                        "This expert is already on the session's roster.",
                    )
                    .message()
                    .to_string(),
                });
            }
        }
        if !errors.is_empty() {
            return Ok(RosterImportReport { booking_id, rows: experts.len() as u32, imported: 0, errors });
        }
        for e in &experts {
            self.insert_entry(&mut w, &sealer, booking_id, e, None, source, &by.name, now).await?;
        }
        let entry = Entry::new(
            by,
            EventKind::RosterImported,
            format!("booking:{booking_id}"),
            Outcome::Ok,
        )
        .with_detail(json!({
            "TENDER_PROJECT_CODE": session.brief.tender_project_code,
            "BID_SECTION_CODE": session.brief.bid_section_codes,
            "bookingId": booking_id,
            "experts": experts.len(),
            "format": match format { RosterFormat::Json => "json", RosterFormat::Csv => "csv" },
            "source": source,
        }));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        Ok(RosterImportReport {
            booking_id,
            rows: experts.len() as u32,
            imported: experts.len() as u32,
            errors: vec![],
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_entry(
        &self,
        w: &mut WriteTx<'_>,
        sealer: &Sealer,
        booking_id: i64,
        e: &roster::Expert,
        substitute_reason: Option<&str>,
        source: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<i64> {
        let tag = sealer.tag(e.id.as_str());
        let plain = serde_json::to_vec(&SealedExpert {
            name: e.name.clone(),
            id_number: e.id.as_str().to_string(),
            expert_type: e.expert_type.clone(),
            photo_data_url: e.photo_data_url.clone(),
        })
        .map_err(Error::internal)?;
        let sealed = sealer.seal(&plain, &Self::context(booking_id, &tag));
        db::insert_roster_entry(
            w,
            &db::NewRosterEntry {
                booking_id,
                id_tag: &tag,
                id_masked: &e.id.masked(),
                sealed: &sealed,
                is_chair: e.is_chair,
                substitute: substitute_reason.is_some(),
                substitute_reason,
                source,
                added_by: by,
                added_at_ms: now_ms,
            },
        )
        .await
    }

    /// How many experts a session's roster holds (0 when none was imported).
    pub async fn roster_size(&self, booking_id: i64) -> Result<usize> {
        Ok(db::roster_entries_of_booking(self.store.pool(), booking_id).await?.len())
    }

    /// 补抽 — a supervisor adds a substitute expert, with the reason.
    pub async fn add_substitute(
        &self,
        caller: &Caller,
        booking_id: i64,
        input: &RosterExpertInput,
        reason: &str,
    ) -> Result<AttendanceRow> {
        let reason = require_reason(reason)?;
        let session = self.session(booking_id).await?;
        let expert = roster::check(input)
            .map_err(|(_, message)| Error::new(ErrorKind::InvalidArgument, message.clone(), message))?;
        let sealer = self.sealer()?;
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        if db::roster_tags_of_booking_in(&mut w, booking_id).await?.contains(&sealer.tag(expert.id.as_str()))
        {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "该专家已在本场次名单中，无需补抽。",
                "This expert is already on the session's roster.",
            ));
        }
        let id = self
            .insert_entry(
                &mut w,
                &sealer,
                booking_id,
                &expert,
                Some(reason),
                "substitute",
                &caller.username,
                now,
            )
            .await?;
        let entry = Entry::new(
            caller.actor(),
            EventKind::SubstituteAdded,
            format!("booking:{booking_id}"),
            Outcome::Ok,
        )
        .with_detail(json!({
            "TENDER_PROJECT_CODE": session.brief.tender_project_code,
            "BID_SECTION_CODE": session.brief.bid_section_codes,
            "bookingId": booking_id,
            "entryId": id,
            "idMasked": expert.id.masked(),
            "reason": reason,
        }));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        let entry = db::roster_entry(self.store.pool(), id)
            .await?
            .ok_or_else(|| Error::internal("substitute vanished"))?;
        self.attendance_row(&entry, None, &session).await
    }

    /// Erases names, ID numbers and photos of sessions that ended more than the retention period ago.
    pub async fn purge_rosters(&self) -> Result<Vec<i64>> {
        let now = self.now_ms();
        let before = now - i64::from(self.rules().roster_retention_days) * 86_400_000;
        let mut w = self.store.begin_write().await?;
        let purged = db::purge_rosters(&mut w, before, now).await?;
        if !purged.is_empty() {
            let entry = Entry::new(Actor::system(), EventKind::RosterPurged, "rosters", Outcome::Ok)
                .with_detail(
                    json!({"bookingIds": purged, "retentionDays": self.rules().roster_retention_days}),
                );
            self.journal.append_in(&mut w, &[entry]).await?;
        }
        w.commit().await?;
        Ok(purged)
    }

    // ---- finding an expert --------------------------------------------------------------------

    /// The one roster entry an ID number opens today: never a list.
    pub async fn find(&self, caller: &Caller, id_raw: &str) -> Result<CheckInCandidate> {
        let id = IdNumber::parse(id_raw)?;
        let tag = self.sealer()?.tag(id.as_str());
        let now = self.now_ms();
        let opens = i64::from(self.rules().opens_minutes_before) * 60_000;
        let grace = i64::from(self.rules().credential_grace_minutes) * 60_000;
        let mut best: Option<(i32, Found, Option<CheckInRow>)> = None;
        for entry in db::roster_entries_by_tag(self.store.pool(), &tag).await? {
            let Ok(session) = self.session(entry.booking_id).await else { continue };
            let check_in = db::check_in_of_entry(self.store.pool(), entry.id).await?;
            let active = check_in.as_ref().is_some_and(|c| c.status != "checked_out");
            let in_window = now >= session.start_ms - opens && now <= session.end_ms + grace;
            // An expert still inside wins (to check out), then today's window, nearest start first.
            let rank = if active {
                2
            } else if in_window {
                1
            } else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|(r, f, _)| rank > *r || (rank == *r && session.start_ms < f.session.start_ms))
            {
                let expert = self.open_entry(&entry)?;
                best = Some((rank, Found { entry, expert, session }, check_in));
            }
        }
        let Some((_, found, check_in)) = best else {
            let entry = Entry::new(caller.actor(), EventKind::ExpertNotFound, id.masked(), Outcome::Failed);
            self.journal.record(entry).await?;
            return Err(Error::not_found(
                format!(
                    "{} 不在今天任何场次的专家名单中（或不在签到时间内）。请核对证件；如为补抽专家，请联系监督人员添加。",
                    id.masked()
                ),
                format!(
                    "{} is not on the roster of any session today (or check-in is not open yet). Check the ID card; \
                     for a substitute expert, ask a supervisor to add them.",
                    id.masked()
                ),
            ));
        };
        self.candidate(found, check_in).await
    }

    async fn candidate(&self, found: Found, check_in: Option<CheckInRow>) -> Result<CheckInCandidate> {
        let locker = db::locker_of_entry(self.store.pool(), found.entry.id).await?;
        let status = status_of(check_in.as_ref(), locker.as_ref());
        let expert = found.expert.ok_or_else(purged_error)?;
        let late = match &check_in {
            Some(c) => c.late,
            None => self.now_ms() > found.session.start_ms,
        };
        Ok(CheckInCandidate {
            entry_id: found.entry.id,
            name: expert.name,
            id_masked: found.entry.id_masked.clone(),
            expert_type: expert.expert_type,
            is_chair: found.entry.is_chair,
            substitute: found.entry.substitute,
            photo_data_url: expert.photo_data_url,
            session: found.session.brief,
            status,
            check_in_id: check_in.as_ref().map(|c| c.id),
            locker: locker.filter(|l| l.status != "free").map(|l| self.locker_ref(&l.bank_id, l.locker_no)),
            late,
        })
    }

    fn locker_ref(&self, bank_id: &str, locker_no: i64) -> LockerRef {
        LockerRef {
            bank_id: bank_id.to_string(),
            bank_name: self.fleet.name_of(bank_id),
            locker_no: locker_no as u32,
        }
    }

    async fn found(&self, entry_id: i64) -> Result<Found> {
        let entry = db::roster_entry(self.store.pool(), entry_id).await?.ok_or_else(|| {
            Error::not_found(
                format!("没有编号为 {entry_id} 的名单记录。"),
                format!("There is no roster entry {entry_id}."),
            )
        })?;
        let session = self.session(entry.booking_id).await?;
        let expert = self.open_entry(&entry)?;
        Ok(Found { entry, expert, session })
    }

    // ---- check-in -----------------------------------------------------------------------------

    /// Confirms identity: assigns the next free locker of the evaluation area and opens it.
    pub async fn begin(&self, caller: &Caller, entry_id: i64) -> Result<LockerRef> {
        let found = self.found(entry_id).await?;
        if db::check_in_of_entry(self.store.pool(), entry_id).await?.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "该专家本场次已经签到。如需重新进入，请走签退或重新进入审批。",
                "This expert has already checked in for the session. Use check-out or re-entry approval.",
            ));
        }
        let now = self.now_ms();
        if now > found.session.end_ms + i64::from(self.rules().credential_grace_minutes) * 60_000 {
            return Err(Error::precondition(
                "该场次已结束，不能再签到。",
                "The session is over; check-in is closed.",
            ));
        }
        // A locker already given to this expert (a retry after a timeout) is opened again.
        if let Some(l) =
            db::locker_of_entry(self.store.pool(), entry_id).await?.filter(|l| l.status == "assigned")
        {
            return self.open_for(caller, &l.bank_id, l.locker_no, entry_id, "check-in").await;
        }
        let mut last_error = None;
        for _attempt in 0..3 {
            let (bank, no) = self.assign_locker(entry_id).await?;
            match self.open_for(caller, &bank, no, entry_id, "check-in").await {
                Ok(r) => return Ok(r),
                Err(e) if e.kind == ErrorKind::FailedPrecondition => {
                    // Jammed: take it out of service and try the next one.
                    self.set_locker_status(&bank, no, "fault", None, Some(e.message()), Some(caller)).await?;
                    last_error = Some(e);
                }
                Err(e) => {
                    self.set_locker_status(&bank, no, "free", None, None, None).await?;
                    return Err(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::internal("no locker attempt made")))
    }

    async fn assign_locker(&self, entry_id: i64) -> Result<(String, i64)> {
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        for bank in &self.config.evaluation_area.locker_banks {
            if !self.fleet.is_online(bank) {
                continue;
            }
            if let Some(no) = db::first_free_locker_in(&mut w, bank).await? {
                db::set_locker(&mut w, bank, no, "assigned", Some(entry_id), None, now).await?;
                w.commit().await?;
                self.announce(true, false, false);
                return Ok((bank.clone(), no));
            }
        }
        Err(Error::precondition(
            "没有可用的储物柜（都已占用、故障或锁控板离线）。请在储物柜页面检查，或请专家把物品交给工作人员登记保管。",
            "No locker is available (all taken, faulty, or the lock board is offline). Check the locker screen, or \
             have staff keep the expert's devices on record.",
        ))
    }

    async fn open_for(
        &self,
        caller: &Caller,
        bank: &str,
        no: i64,
        entry_id: i64,
        why: &str,
    ) -> Result<LockerRef> {
        let lock = no as u8;
        let result = self.fleet.board(bank, move |b| b.open(lock)).await;
        let outcome = if result.is_ok() { Outcome::Ok } else { Outcome::Failed };
        let entry = Entry::new(caller.actor(), EventKind::LockerOpened, format!("{bank}#{no}"), outcome)
            .with_detail(json!({"bank": bank, "locker": no, "entryId": entry_id, "reason": why,
                "error": result.as_ref().err().map(|e| e.message().to_string())}));
        self.journal.record(entry).await?;
        self.announce(true, result.is_err(), false);
        result.map(|_| self.locker_ref(bank, no))
    }

    /// Waits until the expert's locker is closed again (the board reports it locked).
    pub async fn await_deposit(&self, entry_id: i64) -> Result<LockerRef> {
        let l = db::locker_of_entry(self.store.pool(), entry_id)
            .await?
            .filter(|l| l.status == "assigned")
            .ok_or_else(|| {
                Error::precondition(
                    "该专家还没有分配储物柜，请先确认身份。",
                    "No locker is assigned to this expert yet; confirm identity first.",
                )
            })?;
        self.wait_closed(&l.bank_id, l.locker_no).await?;
        Ok(self.locker_ref(&l.bank_id, l.locker_no))
    }

    async fn wait_closed(&self, bank: &str, no: i64) -> Result<()> {
        let timeout = StdDuration::from_secs(u64::from(self.rules().locker_close_timeout_seconds));
        let started = std::time::Instant::now();
        let lock = no as u8;
        loop {
            if self.fleet.board(bank, move |b| b.state(lock)).await? == LockState::Locked {
                self.announce(true, false, false);
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(Error::precondition(
                    format!(
                        "{} {no:02} 号柜门在 {} 秒内没有关上。请专家把柜门推紧后点“继续等待”；柜门坏了可“重新开柜”换一个，或取消签到取回物品。",
                        self.fleet.name_of(bank),
                        timeout.as_secs()
                    ),
                    format!(
                        "Locker {no:02} of {} was not closed within {} s. Ask the expert to push the door shut and press \
                         Keep waiting; if the door is broken, reopen or cancel the check-in to take the devices back.",
                        self.fleet.name_of(bank),
                        timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    pub async fn reopen_locker(&self, caller: &Caller, entry_id: i64) -> Result<LockerRef> {
        let l = db::locker_of_entry(self.store.pool(), entry_id)
            .await?
            .filter(|l| l.status == "assigned")
            .ok_or_else(|| {
                Error::precondition("该专家没有正在使用的储物柜。", "This expert has no locker in use.")
            })?;
        self.open_for(caller, &l.bank_id, l.locker_no, entry_id, "reopen").await
    }

    /// Abandons a check-in in progress: the locker opens so the expert takes the devices back.
    pub async fn cancel(&self, caller: &Caller, entry_id: i64, reason: &str) -> Result<()> {
        let reason = require_reason(reason)?;
        let found = self.found(entry_id).await?;
        let l = db::locker_of_entry(self.store.pool(), entry_id).await?.filter(|l| l.status == "assigned");
        if let Some(l) = &l {
            self.open_for(caller, &l.bank_id, l.locker_no, entry_id, "check-in cancelled").await?;
        }
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        if let Some(l) = &l {
            db::set_locker(&mut w, &l.bank_id, l.locker_no, "free", None, None, now).await?;
        }
        let entry = Entry::new(
            caller.actor(),
            EventKind::CheckInCancelled,
            found.entry.id_masked.clone(),
            Outcome::Ok,
        )
        .with_detail(json!({
            "TENDER_PROJECT_CODE": found.session.brief.tender_project_code,
            "bookingId": found.session.brief.booking_id,
            "entryId": entry_id,
            "reason": reason,
            "locker": l.as_ref().map(|l| format!("{}#{}", l.bank_id, l.locker_no)),
        }));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        self.announce(true, false, false);
        Ok(())
    }

    /// The controllers on the way from the entrance to the room, with the door each guards.
    fn path_to(&self, room_id: &str) -> Vec<(String, u32)> {
        let mut ids = vec![self.config.evaluation_area.entrance_door.clone()];
        if let Some(room) = self.config.rooms.iter().find(|r| r.id == room_id) {
            ids.extend(room.devices.iter().cloned());
        }
        let mut seen = BTreeSet::new();
        ids.into_iter()
            .filter(|id| seen.insert(id.clone()))
            .filter_map(|id| {
                let d = self.config.devices.iter().find(|d| d.id == id)?;
                (d.kind == DeviceKind::DoorController).then(|| (id, d.door_no.unwrap_or(1)))
            })
            .collect()
    }

    fn person(
        &self,
        row_entry_id: i64,
        booking_id: i64,
        valid_from_ms: i64,
        valid_until_ms: i64,
        door_no: u32,
    ) -> AccessPerson {
        AccessPerson {
            employee_no: employee_no(row_entry_id),
            // The controller's screen shows this; the roster stays confidential.
            name: format!("VD {booking_id}-{row_entry_id}"),
            valid_from: self.naive_local(valid_from_ms),
            valid_until: self.naive_local(valid_until_ms),
            door_nos: vec![door_no],
        }
    }

    /// Writes the person and card to every controller; on any failure removes what was written.
    async fn write_credentials(
        &self,
        path: &[(String, u32)],
        people: impl Fn(u32) -> AccessPerson,
        card_no: &str,
    ) -> Result<Vec<String>> {
        let mut written: Vec<(String, String)> = Vec::new();
        for (device, door_no) in path {
            let person = people(*door_no);
            let employee = person.employee_no.clone();
            let card = card_no.to_string();
            let result = self
                .fleet
                .door(device, move |c| {
                    c.upsert_person(&person)?;
                    c.add_card(&person.employee_no, &card)
                })
                .await;
            if let Err(e) = result {
                for (done, emp) in &written {
                    let emp = emp.clone();
                    if let Err(undo) = self.fleet.door(done, move |c| c.delete_person(&emp)).await {
                        tracing::warn!(device = %done, error = %undo, "could not undo a credential; reconciliation will remove it");
                    }
                }
                if e.kind != ErrorKind::InvalidArgument {
                    self.announce(false, true, false);
                }
                let name = self.fleet.name_of(device);
                return Err(Error::new(
                    e.kind,
                    format!(
                        "门禁“{name}”写入凭证失败：{} 专家的物品已锁在柜中；排除故障后点“重试”，或取消签到归还物品。",
                        e.message_in(crate::error::Locale::ZhCn)
                    ),
                    format!(
                        "Writing the credential to “{name}” failed: {} The expert's devices are locked in the locker; fix \
                         the problem and press Retry, or cancel the check-in to hand them back.",
                        e.message_in(crate::error::Locale::En)
                    ),
                ));
            }
            written.push((device.clone(), employee));
        }
        Ok(written.into_iter().map(|(d, _)| d).collect())
    }

    /// Completes the check-in: credential on every controller on the way, then one commit.
    pub async fn complete(
        &self,
        caller: &Caller,
        entry_id: i64,
        card_no: Option<&str>,
    ) -> Result<CheckInRecord> {
        let found = self.found(entry_id).await?;
        let expert = found.expert.clone().ok_or_else(purged_error)?;
        let card = match card_no.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => parse_card_no(c)?,
            // No card: the ID card itself is the credential (door readers read the ID number).
            None => expert.id_number.clone(),
        };
        let l = db::locker_of_entry(self.store.pool(), entry_id)
            .await?
            .filter(|l| l.status == "assigned")
            .ok_or_else(|| {
                Error::precondition(
                    "该专家还没有存放物品，请先分配储物柜。",
                    "The expert has not deposited devices yet; assign a locker first.",
                )
            })?;
        let lock = l.locker_no as u8;
        if self.fleet.board(&l.bank_id, move |b| b.state(lock)).await? != LockState::Locked {
            return Err(Error::precondition(
                "储物柜门还开着。请专家关好柜门后再发放门禁。",
                "The locker is still open. Ask the expert to close it before the credential is issued.",
            ));
        }
        let now = self.now_ms();
        let valid_from = now - 60_000;
        let valid_until = found.session.end_ms + i64::from(self.rules().credential_grace_minutes) * 60_000;
        let path = self.path_to(&found.session.brief.room_id);
        let booking_id = found.session.brief.booking_id;
        let written = self
            .write_credentials(
                &path,
                |door| self.person(entry_id, booking_id, valid_from, valid_until, door),
                &card,
            )
            .await?;

        let sealer = self.sealer()?;
        let row = CheckInRow {
            id: 0,
            entry_id,
            booking_id,
            employee_no: employee_no(entry_id),
            card_no_sealed: Some(sealer.seal(card.as_bytes(), format!("card:{entry_id}").as_bytes())),
            card_no_masked: card_no.is_some().then(|| mask_card_no(&card)),
            bank_id: l.bank_id.clone(),
            locker_no: l.locker_no,
            checked_in_at_ms: now,
            checked_in_by: caller.username.clone(),
            valid_from_ms: valid_from,
            valid_until_ms: valid_until,
            status: "inside".into(),
            late: now > found.session.start_ms,
            checked_out_at_ms: None,
            checked_out_by: None,
            last_movement_at_ms: None,
        };
        let committed = async {
            let mut w = self.store.begin_write().await?;
            let id = db::insert_check_in(&mut w, &row).await?;
            db::set_locker(&mut w, &l.bank_id, l.locker_no, "occupied", Some(entry_id), None, now).await?;
            let entry = Entry::new(
                caller.actor(),
                EventKind::ExpertCheckedIn,
                found.entry.id_masked.clone(),
                Outcome::Ok,
            )
            .with_detail(json!({
                "TENDER_PROJECT_CODE": found.session.brief.tender_project_code,
                "BID_SECTION_CODE": found.session.brief.bid_section_codes,
                "EXPERT_CHECK_IN_TIME": venue_time(self.clock.now(), self.tz).to_rfc3339(),
                "bookingId": booking_id,
                "roomId": found.session.brief.room_id,
                "checkInId": id,
                "entryId": entry_id,
                "idMasked": found.entry.id_masked,
                "substitute": found.entry.substitute,
                "late": row.late,
                "locker": format!("{}#{}", l.bank_id, l.locker_no),
                "employeeNo": row.employee_no,
                "validFrom": self.local_seconds(valid_from),
                "validUntil": self.local_seconds(valid_until),
                "controllers": written,
            }));
            self.journal.append_in(&mut w, &[entry]).await?;
            w.commit().await?;
            Ok::<i64, Error>(id)
        }
        .await;
        let id = match committed {
            Ok(id) => id,
            Err(e) => {
                for device in &written {
                    let emp = employee_no(entry_id);
                    let _ = self.fleet.door(device, move |c| c.delete_person(&emp)).await;
                }
                return Err(e);
            }
        };
        self.announce(true, false, true);
        self.record(id).await
    }

    pub async fn record(&self, check_in_id: i64) -> Result<CheckInRecord> {
        let c = db::check_in(self.store.pool(), check_in_id).await?.ok_or_else(|| {
            Error::not_found(
                format!("没有编号为 {check_in_id} 的签到记录。"),
                format!("There is no check-in {check_in_id}."),
            )
        })?;
        let found = self.found(c.entry_id).await?;
        let path = self.path_to(&found.session.brief.room_id);
        Ok(CheckInRecord {
            check_in_id: c.id,
            entry_id: c.entry_id,
            name: found.expert.map(|e| e.name).unwrap_or_default(),
            id_masked: found.entry.id_masked.clone(),
            session: found.session.brief,
            locker: self.locker_ref(&c.bank_id, c.locker_no),
            card_no_masked: c.card_no_masked.clone(),
            employee_no: c.employee_no.clone(),
            checked_in_at: self.local_seconds(c.checked_in_at_ms),
            valid_until: self.local_seconds(c.valid_until_ms),
            checked_out_at: c.checked_out_at_ms.map(|t| self.local_seconds(t)),
            status: status_of(Some(&c), None),
            late: c.late,
            controllers: path.iter().map(|(d, _)| self.fleet.name_of(d)).collect(),
        })
    }

    // ---- check-out ----------------------------------------------------------------------------

    /// Revokes the credential everywhere it can, records the check-out, and opens the locker.
    pub async fn checkout_begin(&self, caller: &Caller, check_in_id: i64) -> Result<CheckOutProgress> {
        let c = db::check_in(self.store.pool(), check_in_id)
            .await?
            .filter(|c| c.status != "checked_out")
            .ok_or_else(|| {
                Error::precondition(
                    "该签到记录不存在或已签退。",
                    "That check-in does not exist or is already checked out.",
                )
            })?;
        let session = self.session(c.booking_id).await?;
        let (revoked, pending) = self.revoke(&c, &session.brief.room_id).await;
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        if !db::check_out(&mut w, c.id, now, &caller.username).await? {
            return Err(Error::new(
                ErrorKind::Conflict,
                "该专家刚刚已被签退。",
                "This expert was checked out a moment ago.",
            ));
        }
        db::set_locker(&mut w, &c.bank_id, c.locker_no, "retrieving", Some(c.entry_id), None, now).await?;
        let entry_row = db::roster_entry(self.store.pool(), c.entry_id).await?;
        let entry = Entry::new(
            caller.actor(),
            EventKind::ExpertCheckedOut,
            entry_row.map(|e| e.id_masked).unwrap_or_default(),
            Outcome::Ok,
        )
        .with_detail(json!({
            "TENDER_PROJECT_CODE": session.brief.tender_project_code,
            "BID_SECTION_CODE": session.brief.bid_section_codes,
            "EXPERT_CHECK_OUT_TIME": venue_time(self.clock.now(), self.tz).to_rfc3339(),
            "bookingId": c.booking_id,
            "checkInId": c.id,
            "employeeNo": c.employee_no,
            "revokedOn": revoked,
            "pendingOn": pending,
        }));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        self.announce(true, !pending.is_empty(), true);
        let locker = self.locker_ref(&c.bank_id, c.locker_no);
        self.open_for(caller, &c.bank_id, c.locker_no, c.entry_id, "check-out").await.map_err(|e| {
            Error::new(
                e.kind,
                format!("已签退、门禁已撤销，但储物柜没有打开：{} 请到储物柜页面手动开柜（填写原因）。", e.message_in(crate::error::Locale::ZhCn)),
                format!(
                    "Checked out and the credential revoked, but the locker did not open: {} Open it from the locker screen \
                     (with a reason).",
                    e.message_in(crate::error::Locale::En)
                ),
            )
        })?;
        Ok(CheckOutProgress {
            check_in_id,
            locker,
            revoked: revoked.iter().map(|d| self.fleet.name_of(d)).collect(),
            pending: pending.iter().map(|d| self.fleet.name_of(d)).collect(),
        })
    }

    /// Deletes the person from every controller on the path; returns (done, unreachable).
    async fn revoke(&self, c: &CheckInRow, room_id: &str) -> (Vec<String>, Vec<String>) {
        let mut done = Vec::new();
        let mut pending = Vec::new();
        for (device, _) in self.path_to(room_id) {
            let emp = c.employee_no.clone();
            match self.fleet.door(&device, move |d| d.delete_person(&emp)).await {
                Ok(()) => done.push(device),
                Err(e) => {
                    tracing::warn!(device = %device, error = %e, "revocation pending until the controller is reachable");
                    pending.push(device);
                }
            }
        }
        (done, pending)
    }

    /// Waits until the emptied locker is closed, then frees it.
    pub async fn checkout_finish(&self, caller: &Caller, check_in_id: i64) -> Result<CheckInRecord> {
        let c = db::check_in(self.store.pool(), check_in_id).await?.ok_or_else(|| {
            Error::not_found(
                format!("没有编号为 {check_in_id} 的签到记录。"),
                format!("There is no check-in {check_in_id}."),
            )
        })?;
        let locker = db::locker(self.store.pool(), &c.bank_id, c.locker_no).await?;
        if locker.as_ref().is_some_and(|l| l.status == "retrieving" && l.entry_id == Some(c.entry_id)) {
            self.wait_closed(&c.bank_id, c.locker_no).await?;
            let now = self.now_ms();
            let mut w = self.store.begin_write().await?;
            db::set_locker(&mut w, &c.bank_id, c.locker_no, "free", None, None, now).await?;
            let entry = Entry::new(
                caller.actor(),
                EventKind::LockerReleased,
                format!("{}#{}", c.bank_id, c.locker_no),
                Outcome::Ok,
            )
            .with_detail(json!({"checkInId": c.id, "bank": c.bank_id, "locker": c.locker_no}));
            self.journal.append_in(&mut w, &[entry]).await?;
            w.commit().await?;
            self.announce(true, false, false);
        }
        self.record(check_in_id).await
    }

    // ---- leaving and re-entering --------------------------------------------------------------

    /// A supervisor lets an expert who went out come back in: the credential is written again.
    pub async fn approve_reentry(
        &self,
        caller: &Caller,
        check_in_id: i64,
        reason: &str,
    ) -> Result<CheckInRecord> {
        let reason = require_reason(reason)?;
        let c = db::check_in(self.store.pool(), check_in_id)
            .await?
            .filter(|c| c.status == "left")
            .ok_or_else(|| {
                Error::precondition(
                    "只有离开评标区、尚未签退的专家才需要重新进入审批。",
                    "Only an expert who left the area and has not checked out needs re-entry approval.",
                )
            })?;
        let session = self.session(c.booking_id).await?;
        let card = self.card_of(&c)?;
        let path = self.path_to(&session.brief.room_id);
        let written = self
            .write_credentials(
                &path,
                |door| self.person(c.entry_id, c.booking_id, c.valid_from_ms, c.valid_until_ms, door),
                &card,
            )
            .await?;
        let mut w = self.store.begin_write().await?;
        if !db::set_check_in_status(&mut w, c.id, &["left"], "reentry_approved", None).await? {
            return Err(Error::new(
                ErrorKind::Conflict,
                "该记录刚刚已被他人处理。",
                "Someone else handled this a moment ago.",
            ));
        }
        let entry =
            Entry::new(caller.actor(), EventKind::ReentryApproved, format!("check-in:{}", c.id), Outcome::Ok)
                .with_detail(json!({
                    "TENDER_PROJECT_CODE": session.brief.tender_project_code,
                    "checkInId": c.id,
                    "reason": reason,
                    "controllers": written,
                }));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        self.announce(false, false, true);
        self.record(c.id).await
    }

    fn card_of(&self, c: &CheckInRow) -> Result<String> {
        let sealed = c.card_no_sealed.as_ref().ok_or_else(purged_error)?;
        let plain = self.sealer()?.open(sealed, format!("card:{}", c.entry_id).as_bytes())?;
        String::from_utf8(plain).map_err(|_| {
            Error::new(ErrorKind::DataLoss, "卡号记录无法读取。", "A card number record is unreadable.")
        })
    }

    /// Door events decide who is inside: a pass on the entrance's entry reader means in, its exit
    /// reader means out. Going out during the session suspends the credential until a supervisor
    /// approves re-entry.
    pub async fn take_door_event(&self, device_id: &str, ev: &AccessEvent) -> Result<()> {
        let at_ms = ev.time.timestamp_millis();
        let mut w = self.store.begin_write().await?;
        let row = db::DoorEventRow {
            device_id: device_id.to_string(),
            serial_no: ev.serial_no as i64,
            at_ms,
            major: i64::from(ev.major),
            minor: i64::from(ev.minor),
            employee_no: ev.employee_no.clone(),
            card_no: ev.card_no.as_deref().map(mask_card_no),
            door_no: ev.door_no.map(i64::from),
            card_reader_no: ev.card_reader_no.map(i64::from),
        };
        if !db::insert_door_event(&mut w, &row).await? {
            return Ok(());
        }
        let mut entries = vec![Entry::new(Actor::device(device_id), EventKind::DoorEvent, device_id.to_string(), Outcome::Ok).with_detail(json!({
            "serialNo": ev.serial_no, "major": ev.major, "minor": ev.minor, "time": ev.time.to_rfc3339(),
            "employeeNo": ev.employee_no, "doorNo": ev.door_no, "cardReaderNo": ev.card_reader_no,
        }))];
        let mut left: Option<CheckInRow> = None;
        let is_entrance = device_id == self.config.evaluation_area.entrance_door;
        if let (true, true, Some(emp)) =
            (is_entrance, PASS_MINORS.contains(&ev.minor), ev.employee_no.as_deref())
            && let Some(c) = db::check_in_of_employee_in(&mut w, emp).await?
        {
            match (ev.card_reader_no.unwrap_or(1), c.status.as_str()) {
                (2, "inside") => {
                    db::set_check_in_status(&mut w, c.id, &["inside"], "left", Some(at_ms)).await?;
                    entries.push(
                        Entry::new(
                            Actor::device(device_id),
                            EventKind::ExpertLeftArea,
                            format!("check-in:{}", c.id),
                            Outcome::Ok,
                        )
                        .with_detail(
                            json!({"checkInId": c.id, "bookingId": c.booking_id, "at": ev.time.to_rfc3339()}),
                        ),
                    );
                    left = Some(c);
                }
                (2, _) => db::record_movement(&mut w, c.id, at_ms).await?,
                (_, "reentry_approved") => {
                    db::set_check_in_status(&mut w, c.id, &["reentry_approved"], "inside", Some(at_ms))
                        .await?;
                }
                _ => db::record_movement(&mut w, c.id, at_ms).await?,
            }
        }
        self.journal.append_in(&mut w, &entries).await?;
        w.commit().await?;
        if let Some(c) = left {
            // Suspended while outside; a pending deletion is finished by reconciliation.
            let room = self.session(c.booking_id).await.map(|s| s.brief.room_id).unwrap_or_default();
            self.revoke(&c, &room).await;
        }
        self.announce(false, false, true);
        Ok(())
    }

    // ---- reconciliation -----------------------------------------------------------------------

    /// Makes every controller hold exactly the credentials the active check-ins justify.
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let active = db::active_check_ins(self.store.pool()).await?;
        // device -> employee -> person that should be there
        let mut wanted: HashMap<String, HashMap<String, (AccessPerson, CheckInRow)>> = HashMap::new();
        for c in active.iter().filter(|c| c.status == "inside" || c.status == "reentry_approved") {
            let Ok(session) = self.session(c.booking_id).await else { continue };
            for (device, door) in self.path_to(&session.brief.room_id) {
                let p = self.person(c.entry_id, c.booking_id, c.valid_from_ms, c.valid_until_ms, door);
                wanted.entry(device).or_default().insert(p.employee_no.clone(), (p, c.clone()));
            }
        }
        let mut report = ReconcileReport { at: self.local_seconds(self.now_ms()), devices: vec![] };
        let doors: Vec<_> =
            self.config.devices.iter().filter(|d| d.kind == DeviceKind::DoorController).cloned().collect();
        for d in doors {
            let mut r = ReconcileDeviceReport {
                device_id: d.id.clone(),
                device_name: d.name.clone(),
                removed: vec![],
                rewritten: vec![],
                error: None,
            };
            let want = wanted.remove(&d.id).unwrap_or_default();
            match self.fleet.door(&d.id, |c| c.list_persons()).await {
                Err(e) => r.error = Some(e.message().to_string()),
                Ok(have) => {
                    let have: HashMap<String, AccessPerson> = have
                        .into_iter()
                        .filter(|p| p.employee_no.starts_with(EMPLOYEE_PREFIX))
                        .map(|p| (p.employee_no.clone(), p))
                        .collect();
                    for emp in have.keys().filter(|e| !want.contains_key(*e)) {
                        let e2 = emp.clone();
                        match self.fleet.door(&d.id, move |c| c.delete_person(&e2)).await {
                            Ok(()) => r.removed.push(emp.clone()),
                            Err(e) => r.error = Some(e.message().to_string()),
                        }
                    }
                    for (emp, (person, c)) in &want {
                        let same = have.get(emp).is_some_and(|h| {
                            h.valid_from == person.valid_from && h.valid_until == person.valid_until
                        });
                        if same {
                            continue;
                        }
                        let card = match self.card_of(c) {
                            Ok(card) => card,
                            Err(e) => {
                                r.error = Some(e.message().to_string());
                                continue;
                            }
                        };
                        let person = person.clone();
                        match self
                            .fleet
                            .door(&d.id, move |ctl| {
                                ctl.upsert_person(&person)?;
                                ctl.add_card(&person.employee_no, &card)
                            })
                            .await
                        {
                            Ok(()) => r.rewritten.push(emp.clone()),
                            Err(e) => r.error = Some(e.message().to_string()),
                        }
                    }
                }
            }
            report.devices.push(r);
        }
        let acted = report
            .devices
            .iter()
            .any(|d| !d.removed.is_empty() || !d.rewritten.is_empty() || d.error.is_some());
        if acted {
            let entry = Entry::new(Actor::system(), EventKind::CredentialsReconciled, "door controllers", Outcome::Ok).with_detail(json!({
                "devices": report.devices.iter().map(|d| json!({"device": d.device_id, "removed": d.removed, "rewritten": d.rewritten, "error": d.error})).collect::<Vec<_>>(),
            }));
            self.journal.record(entry).await?;
            self.announce(false, true, false);
        }
        Ok(report)
    }

    // ---- attendance and roll call -------------------------------------------------------------

    async fn attendance_row(
        &self,
        e: &RosterEntryRow,
        c: Option<&CheckInRow>,
        s: &Session,
    ) -> Result<AttendanceRow> {
        let expert = self.open_entry(e)?;
        let locker = db::locker_of_entry(self.store.pool(), e.id).await?;
        let now = self.now_ms();
        let status = status_of(c, locker.as_ref());
        Ok(AttendanceRow {
            entry_id: e.id,
            name: expert.as_ref().map(|x| x.name.clone()).unwrap_or_default(),
            id_masked: e.id_masked.clone(),
            expert_type: expert.map(|x| x.expert_type).unwrap_or_default(),
            is_chair: e.is_chair,
            substitute: e.substitute,
            substitute_reason: e.substitute_reason.clone(),
            status,
            check_in_id: c.map(|c| c.id),
            checked_in_at: c.map(|c| self.local_seconds(c.checked_in_at_ms)),
            checked_out_at: c.and_then(|c| c.checked_out_at_ms).map(|t| self.local_seconds(t)),
            late: c.map_or(now > s.start_ms, |c| c.late),
            absent: c.is_none() && now > s.end_ms,
            locker: c.map(|c| self.locker_ref(&c.bank_id, c.locker_no)),
        })
    }

    /// Today's sessions that have a roster, with who came, who is late and who is absent.
    pub async fn attendance_today(&self) -> Result<Vec<Attendance>> {
        let (from, to) = self.today_ms();
        let mut out = Vec::new();
        for booking_id in db::bookings_with_rosters(self.store.pool(), from, to).await? {
            let Ok(s) = self.session(booking_id).await else { continue };
            let check_ins: HashMap<i64, CheckInRow> = db::check_ins_of_booking(self.store.pool(), booking_id)
                .await?
                .into_iter()
                .map(|c| (c.entry_id, c))
                .collect();
            let mut rows = Vec::new();
            let mut purged = false;
            for e in db::roster_entries_of_booking(self.store.pool(), booking_id).await? {
                purged |= e.sealed.is_none();
                rows.push(self.attendance_row(&e, check_ins.get(&e.id), &s).await?);
            }
            out.push(Attendance {
                expected: rows.len() as u32,
                checked_in: rows.iter().filter(|r| r.check_in_id.is_some()).count() as u32,
                late: rows.iter().filter(|r| r.late && !r.absent).count() as u32,
                absent: rows.iter().filter(|r| r.absent).count() as u32,
                session: s.brief,
                rows,
                roster_purged: purged,
            });
        }
        Ok(out)
    }

    fn today_ms(&self) -> (i64, i64) {
        let local = self.clock.now().with_timezone(&self.tz).date_naive();
        let start = local.and_hms_opt(0, 0, 0).expect("midnight");
        let from = start.and_local_timezone(self.tz).earliest().map_or(0, |t| t.timestamp_millis());
        (from, from + Duration::days(1).num_milliseconds())
    }

    pub async fn roll_call(&self) -> Result<RollCall> {
        let mut inside = Vec::new();
        let mut outside = Vec::new();
        for c in db::active_check_ins(self.store.pool()).await? {
            let found = self.found(c.entry_id).await?;
            let row = RollCallRow {
                check_in_id: c.id,
                name: found.expert.map(|e| e.name).unwrap_or_default(),
                id_masked: found.entry.id_masked,
                room_name: found.session.brief.room_name,
                tender_project_code: found.session.brief.tender_project_code,
                checked_in_at: self.local_seconds(c.checked_in_at_ms),
                last_movement_at: c.last_movement_at_ms.map(|t| self.local_seconds(t)),
                status: status_of(Some(&c), None),
            };
            if c.status == "inside" { inside.push(row) } else { outside.push(row) }
        }
        Ok(RollCall { at: self.local_seconds(self.now_ms()), inside, outside })
    }

    /// Writes the roll call as CSV (UTF-8 with BOM so spreadsheet programs show the Chinese).
    pub async fn export_roll_call(&self, caller: &Caller) -> Result<PathBuf> {
        let rc = self.roll_call().await?;
        let mut text = String::from("\u{feff}状态,姓名,身份证号,评标室,项目编号,签到时间,最近进出\n");
        for (label, rows) in [("在场", &rc.inside), ("已离开", &rc.outside)] {
            for r in rows {
                text.push_str(&format!(
                    "{label},{},{},{},{},{},{}\n",
                    csv_cell(&r.name),
                    r.id_masked,
                    csv_cell(&r.room_name),
                    csv_cell(&r.tender_project_code),
                    r.checked_in_at,
                    r.last_movement_at.clone().unwrap_or_default()
                ));
            }
        }
        let dir = &self.config.exports_dir;
        std::fs::create_dir_all(dir).map_err(|e| export_error(dir, &e))?;
        let stamp = self.clock.now().with_timezone(&self.tz).format("%Y%m%d-%H%M%S");
        let path = dir.join(format!("roll-call-{stamp}.csv"));
        std::fs::write(&path, text).map_err(|e| export_error(&path, &e))?;
        let entry =
            Entry::new(caller.actor(), EventKind::RollCallExported, path.display().to_string(), Outcome::Ok)
                .with_detail(json!({"inside": rc.inside.len(), "outside": rc.outside.len()}));
        self.journal.record(entry).await?;
        Ok(path)
    }

    // ---- lockers ------------------------------------------------------------------------------

    /// Polls every bank once; announces a change when a state or a bank's reachability changed.
    pub async fn poll_lockers(&self) {
        let mut changed = false;
        for bank in &self.config.evaluation_area.locker_banks {
            let states = self.fleet.board(bank, |b| b.states()).await.map_err(|e| e.message().to_string());
            let mut all = self.lock_states.lock().unwrap();
            let before = all.insert(bank.clone(), states.clone());
            changed |= before.as_ref() != Some(&states);
        }
        if changed {
            self.announce(true, true, false);
        }
    }

    pub async fn lockers(&self) -> Result<Vec<LockerBankView>> {
        let mut banks = Vec::new();
        for bank in &self.config.evaluation_area.locker_banks {
            let rows = db::lockers(self.store.pool(), bank).await?;
            let states = self.lock_states.lock().unwrap().get(bank).cloned();
            let live = states.as_ref().and_then(|s| s.as_ref().ok());
            let lockers = rows
                .into_iter()
                .map(|r| LockerView {
                    locker_no: r.locker_no as u32,
                    status: locker_status(&r.status),
                    lock: live.and_then(|s| s.get(r.locker_no as usize - 1).copied()),
                    occupant_masked: r.occupant_masked,
                    fault_reason: r.fault_reason,
                })
                .collect();
            banks.push(LockerBankView {
                bank_id: bank.clone(),
                name: self.fleet.name_of(bank),
                online: self.fleet.is_online(bank),
                last_error: states.and_then(|s| s.err()).or_else(|| self.fleet.last_error(bank)),
                lockers,
            });
        }
        Ok(banks)
    }

    /// Opens a locker by hand (a forgotten item, a stuck door), always with a reason.
    pub async fn open_locker(
        &self,
        caller: &Caller,
        bank_id: &str,
        locker_no: u32,
        reason: &str,
    ) -> Result<()> {
        let reason = require_reason(reason)?;
        self.known_locker(bank_id, locker_no).await?;
        let no = i64::from(locker_no);
        let result = self.fleet.board(bank_id, move |b| b.open(locker_no as u8)).await;
        let entry = Entry::new(
            caller.actor(),
            EventKind::LockerOpened,
            format!("{bank_id}#{no}"),
            if result.is_ok() { Outcome::Ok } else { Outcome::Failed },
        )
        .with_detail(json!({"bank": bank_id, "locker": no, "manual": true, "reason": reason,
                "error": result.as_ref().err().map(|e| e.message().to_string())}));
        self.journal.record(entry).await?;
        self.announce(true, false, false);
        result
    }

    pub async fn set_locker_fault(
        &self,
        caller: &Caller,
        bank_id: &str,
        locker_no: u32,
        faulty: bool,
        reason: &str,
    ) -> Result<()> {
        let reason = require_reason(reason)?;
        let row = self.known_locker(bank_id, locker_no).await?;
        let no = i64::from(locker_no);
        match (faulty, row.status.as_str()) {
            (true, "free" | "fault") => {
                self.set_locker_status(bank_id, no, "fault", None, Some(reason), Some(caller)).await
            }
            (true, _) => Err(Error::precondition(
                "该柜正在使用中，请先让专家取回物品（签退）再标记故障。",
                "The locker is in use; let the expert take the devices out (check out) before marking it faulty.",
            )),
            (false, "fault") => {
                self.set_locker_status(bank_id, no, "free", None, Some(reason), Some(caller)).await
            }
            (false, _) => {
                Err(Error::precondition("该柜没有处于故障状态。", "That locker is not marked faulty."))
            }
        }
    }

    async fn known_locker(&self, bank_id: &str, locker_no: u32) -> Result<LockerRow> {
        db::locker(self.store.pool(), bank_id, i64::from(locker_no)).await?.ok_or_else(|| {
            Error::not_found(
                format!("储物柜 {bank_id} 没有 {locker_no} 号柜。"),
                format!("Locker bank {bank_id} has no locker {locker_no}."),
            )
        })
    }

    async fn set_locker_status(
        &self,
        bank_id: &str,
        no: i64,
        status: &str,
        entry_id: Option<i64>,
        reason: Option<&str>,
        caller: Option<&Caller>,
    ) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.store.begin_write().await?;
        let fault_reason = if status == "fault" { reason } else { None };
        db::set_locker(&mut w, bank_id, no, status, entry_id, fault_reason, now).await?;
        if let Some(caller) = caller {
            let entry =
                Entry::new(caller.actor(), EventKind::LockerFault, format!("{bank_id}#{no}"), Outcome::Ok)
                    .with_detail(
                        json!({"bank": bank_id, "locker": no, "faulty": status == "fault", "reason": reason}),
                    );
            self.journal.append_in(&mut w, &[entry]).await?;
        }
        w.commit().await?;
        self.announce(true, false, false);
        Ok(())
    }
}

pub fn employee_no(entry_id: i64) -> String {
    format!("{EMPLOYEE_PREFIX}{entry_id}")
}

fn status_of(c: Option<&CheckInRow>, locker: Option<&LockerRow>) -> AttendanceStatus {
    match c.map(|c| c.status.as_str()) {
        Some("inside") => AttendanceStatus::Inside,
        Some("left") => AttendanceStatus::Left,
        Some("reentry_approved") => AttendanceStatus::ReentryApproved,
        Some(_) => AttendanceStatus::CheckedOut,
        None if locker.is_some_and(|l| l.status == "assigned") => AttendanceStatus::Depositing,
        None => AttendanceStatus::NotArrived,
    }
}

fn locker_status(s: &str) -> LockerStatus {
    match s {
        "assigned" => LockerStatus::Assigned,
        "occupied" => LockerStatus::Occupied,
        "retrieving" => LockerStatus::Retrieving,
        "fault" => LockerStatus::Fault,
        _ => LockerStatus::Free,
    }
}

fn require_reason(reason: &str) -> Result<&str> {
    let r = reason.trim();
    if r.chars().count() < 2 {
        return Err(Error::invalid(
            "请填写原因（至少两个字），会记入日志。",
            "Give a reason (at least two characters); it goes into the journal.",
        ));
    }
    Ok(r)
}

fn purged_error() -> Error {
    Error::precondition(
        "该场次的名单已按保存期限清除，无法显示或重新发放。",
        "The session's roster has been purged under the retention policy; it can no longer be shown or reissued.",
    )
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn export_error(path: &std::path::Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("无法写入导出文件 {}：{e}。请检查磁盘空间和导出目录权限。", path.display()),
        format!(
            "Cannot write the export {}: {e}. Check disk space and the export folder's permissions.",
            path.display()
        ),
    )
}
