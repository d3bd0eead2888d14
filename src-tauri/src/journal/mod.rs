//! 操作与设备日志 — the append-only, hash-chained journal of operator actions and device events.
//!
//! Each record links to the previous one by hash: `hash = SHA-256(canonical(record))`, where the
//! canonical encoding (see `canonical`) covers every column but the hash itself, including
//! `prevHash`. Editing, removing or reordering any record breaks every link after it, and
//! `verify` finds the first break. Records that must reach the comprehensive service system get
//! their outbox row in the same transaction, so neither exists without the other.

mod kinds;
pub mod view;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use kinds::EventKind;

use crate::clock::{Clock, venue_time};
use crate::domain::operator::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::store::journal::{self as rows, JournalQuery, JournalRow, OutboxRow};
use crate::store::{Store, WriteTx};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it: an operator, a device, or the application itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Option<Role>,
}

impl Actor {
    pub fn operator(username: &str, role: Role) -> Actor {
        Actor { name: username.to_string(), role: Some(role) }
    }
    pub fn device(id: &str) -> Actor {
        Actor { name: format!("device:{id}"), role: None }
    }
    /// The comprehensive service system, for what its pulls bring in.
    pub fn platform() -> Actor {
        Actor { name: "platform".into(), role: None }
    }
    pub fn system() -> Actor {
        Actor { name: "system".into(), role: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// One thing that happened, before it is chained.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: Actor,
    pub kind: EventKind,
    pub subject: String,
    pub outcome: Outcome,
    pub detail: serde_json::Value,
}

impl Entry {
    pub fn new(actor: Actor, kind: EventKind, subject: impl Into<String>, outcome: Outcome) -> Entry {
        Entry { actor, kind, subject: subject.into(), outcome, detail: serde_json::Value::Null }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Entry {
        self.detail = detail;
        self
    }
}

/// The encoding the hash is taken over: a JSON object with the keys in lexicographic order, no
/// insignificant white space, `detail` as its stored JSON text. A receiver can recompute it from
/// the fields it is sent.
pub fn canonical(r: &JournalRow) -> String {
    let s = |v: &str| serde_json::to_string(v).expect("strings serialise");
    format!(
        "{{\"actor\":{},\"actorRole\":{},\"detail\":{},\"kind\":{},\"outcome\":{},\"prevHash\":{},\"recordedAt\":{},\"recordedAtMs\":{},\"seq\":{},\"subject\":{}}}",
        s(&r.actor),
        r.actor_role.as_deref().map(s).unwrap_or_else(|| "null".into()),
        s(&r.detail),
        s(&r.kind),
        s(&r.outcome),
        s(&r.prev_hash),
        s(&r.recorded_at),
        r.recorded_at_ms,
        r.seq,
        s(&r.subject),
    )
}

pub fn hash_of(r: &JournalRow) -> String {
    hex::encode(Sha256::digest(canonical(r).as_bytes()))
}

pub struct Journal {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    time_zone: Tz,
    venue_code: String,
    group: mpsc::Sender<Pending>,
    appended: broadcast::Sender<JournalAppended>,
}

/// Announced after a record is durable, for screens that follow the journal live.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct JournalAppended {
    pub seq: i64,
    pub kind: String,
    pub outcome: Outcome,
}

struct Pending {
    entry: Entry,
    at: DateTime<Utc>,
    done: oneshot::Sender<Result<i64>>,
}

/// How many queued records one group commit takes at most.
const GROUP_MAX: usize = 1024;

impl Journal {
    /// Starts the group-commit writer on the current tokio runtime.
    pub fn start(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        time_zone: Tz,
        venue_code: String,
    ) -> Arc<Journal> {
        let (tx, rx) = mpsc::channel::<Pending>(GROUP_MAX * 8);
        let (appended, _) = broadcast::channel(256);
        let journal = Arc::new(Journal { store, clock, time_zone, venue_code, group: tx, appended });
        tokio::spawn(group_writer(Arc::downgrade(&journal), rx));
        journal
    }

    /// Chains `entries` into the caller's write transaction, with their outbox rows. Returns the
    /// sequence numbers given.
    pub async fn append_in(&self, w: &mut WriteTx<'_>, entries: &[Entry]) -> Result<Vec<i64>> {
        let at = self.clock.now();
        let timed: Vec<(&Entry, DateTime<Utc>)> = entries.iter().map(|e| (e, at)).collect();
        self.chain_into(w, &timed).await
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JournalAppended> {
        self.appended.subscribe()
    }

    /// Records one entry in a transaction of its own, committed together with whatever else is
    /// queued at that moment (group commit). Resolves once the record is durable.
    pub async fn record(&self, entry: Entry) -> Result<i64> {
        self.submit(entry).await?.await.map_err(|_| journal_stopped())?
    }

    /// Queues an entry for the next group commit; the receiver resolves when it is durable. The
    /// time of the event is taken now, not when it is written.
    pub async fn submit(&self, entry: Entry) -> Result<oneshot::Receiver<Result<i64>>> {
        let (done, rx) = oneshot::channel();
        let at = self.clock.now();
        self.group.send(Pending { entry, at, done }).await.map_err(|_| journal_stopped())?;
        Ok(rx)
    }

    async fn chain_into(&self, w: &mut WriteTx<'_>, entries: &[(&Entry, DateTime<Utc>)]) -> Result<Vec<i64>> {
        let (mut seq, mut prev) = rows::head(w).await?.unwrap_or((0, GENESIS_HASH.to_string()));
        let mut journal_rows = Vec::with_capacity(entries.len());
        let mut outbox = Vec::new();
        for (e, at) in entries {
            seq += 1;
            let recorded_at = venue_time(*at, self.time_zone).to_rfc3339();
            let detail = serde_json::to_string(&e.detail).map_err(Error::internal)?;
            let mut row = JournalRow {
                seq,
                recorded_at_ms: at.timestamp_millis(),
                actor: e.actor.name.clone(),
                actor_role: e.actor.role.map(|r| r.as_str().to_string()),
                kind: e.kind.as_str().to_string(),
                subject: e.subject.clone(),
                outcome: e.outcome.as_str().to_string(),
                detail,
                prev_hash: std::mem::take(&mut prev),
                hash: String::new(),
                recorded_at,
            };
            row.hash = hash_of(&row);
            prev = row.hash.clone();
            if let Some(event_type) = e.kind.upward_type() {
                let payload = serde_json::json!({
                    "venueCode": self.venue_code,
                    "actor": row.actor,
                    "actorRole": row.actor_role,
                    "subject": row.subject,
                    "outcome": row.outcome,
                    "detail": e.detail,
                });
                outbox.push(OutboxRow {
                    event_id: uuid::Uuid::new_v4().to_string(),
                    journal_seq: seq,
                    event_type: event_type.to_string(),
                    occurred_at: row.recorded_at.clone(),
                    payload: payload.to_string(),
                });
            }
            journal_rows.push(row);
        }
        rows::insert(w, &journal_rows, &outbox).await?;
        if self.appended.receiver_count() > 0 {
            let notices: Vec<JournalAppended> = journal_rows
                .iter()
                .zip(entries)
                .map(|(r, (e, _))| JournalAppended { seq: r.seq, kind: r.kind.clone(), outcome: e.outcome })
                .collect();
            let tx = self.appended.clone();
            w.after_commit(move || notices.into_iter().for_each(|n| drop(tx.send(n))));
        }
        Ok(journal_rows.iter().map(|r| r.seq).collect())
    }

    pub async fn query(&self, q: &JournalQuery) -> Result<(Vec<JournalRow>, i64)> {
        rows::query(self.store.pool(), q).await
    }

    pub async fn kinds_and_actors(&self) -> Result<(Vec<String>, Vec<String>)> {
        Ok((rows::distinct_kinds(self.store.pool()).await?, rows::distinct_actors(self.store.pool()).await?))
    }

    /// Walks the whole chain from the first record.
    pub async fn verify(&self) -> Result<VerifyReport> {
        verify(&self.store).await
    }
}

fn journal_stopped() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "日志写入已停止（程序正在退出）。请重新启动 Venue Desk。",
        "The journal writer has stopped (the app is shutting down). Start Venue Desk again.",
    )
}

async fn group_writer(journal: std::sync::Weak<Journal>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(GROUP_MAX);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let Some(journal) = journal.upgrade() else {
            return;
        };
        let result = async {
            let mut w = journal.store.begin_write().await?;
            let timed: Vec<(&Entry, DateTime<Utc>)> = batch.iter().map(|p| (&p.entry, p.at)).collect();
            let seqs = journal.chain_into(&mut w, &timed).await?;
            w.commit().await?;
            Ok::<_, Error>(seqs)
        }
        .await;
        match result {
            Ok(seqs) => {
                for (p, seq) in batch.drain(..).zip(seqs) {
                    let _ = p.done.send(Ok(seq));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, records = batch.len(), "journal group commit failed");
                for p in batch.drain(..) {
                    let _ = p.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Why the chain breaks at a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A sequence number is missing: a record was removed.
    MissingRecord,
    /// The record does not link to the one before it.
    LinkMismatch,
    /// The record's content no longer matches its hash: it was edited.
    ContentAltered,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    /// Records checked (up to the break, when there is one).
    pub count: i64,
    pub head_hash: Option<String>,
    pub broken_at_seq: Option<i64>,
    pub break_kind: Option<BreakKind>,
}

pub async fn verify(store: &Store) -> Result<VerifyReport> {
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH.to_string();
    let mut count = 0;
    let broken = |seq: i64, kind: BreakKind, count: i64| VerifyReport {
        ok: false,
        count,
        head_hash: None,
        broken_at_seq: Some(seq),
        break_kind: Some(kind),
    };
    loop {
        let page = rows::page_after(store.pool(), expected_seq - 1, 2000).await?;
        if page.is_empty() {
            break;
        }
        for r in page {
            if r.seq != expected_seq {
                return Ok(broken(expected_seq, BreakKind::MissingRecord, count));
            }
            if r.prev_hash != prev {
                return Ok(broken(r.seq, BreakKind::LinkMismatch, count));
            }
            if hash_of(&r) != r.hash {
                return Ok(broken(r.seq, BreakKind::ContentAltered, count));
            }
            count += 1;
            expected_seq += 1;
            prev = r.hash;
        }
    }
    Ok(VerifyReport {
        ok: true,
        count,
        head_hash: (count > 0).then_some(prev),
        broken_at_seq: None,
        break_kind: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    async fn fixture() -> (tempfile::TempDir, Arc<Store>, Arc<Journal>) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&format!("sqlite://{}", dir.path().join("j.db").display())).await.unwrap());
        let clock = Arc::new(ManualClock::new("2026-11-23T00:30:00Z".parse().unwrap()));
        let journal = Journal::start(store.clone(), clock, chrono_tz::Asia::Shanghai, "T-01".into());
        (dir, store, journal)
    }

    fn login(name: &str) -> Entry {
        Entry::new(Actor::operator(name, Role::FrontDesk), EventKind::OperatorLogin, name, Outcome::Ok)
            .with_detail(serde_json::json!({"via": "password"}))
    }

    #[tokio::test]
    async fn records_chain_and_verify_and_reach_the_outbox() {
        let (_d, store, journal) = fixture().await;
        let mut pending = Vec::new();
        for i in 0..300 {
            pending.push(journal.submit(login(&format!("op{i}"))).await.unwrap());
        }
        for (i, p) in pending.into_iter().enumerate() {
            assert_eq!(p.await.unwrap().unwrap(), i as i64 + 1);
        }
        let report = journal.verify().await.unwrap();
        assert!(report.ok);
        assert_eq!(report.count, 300);
        let (rows, total) = journal.query(&JournalQuery { limit: 5, ..Default::default() }).await.unwrap();
        assert_eq!(total, 300);
        assert_eq!(rows[0].seq, 300);
        assert_eq!(rows[0].recorded_at, "2026-11-23T08:30:00+08:00", "venue time with its offset");
        assert_eq!(rows::outbox_pending_count(store.pool()).await.unwrap(), 300);
    }

    #[tokio::test]
    async fn the_database_refuses_to_change_or_remove_records() {
        let (_d, store, journal) = fixture().await;
        journal.record(login("li")).await.unwrap();
        let upd = sqlx::query("UPDATE journal SET outcome = 'denied'").execute(store.pool()).await;
        let del = sqlx::query("DELETE FROM journal").execute(store.pool()).await;
        for r in [upd, del] {
            let e = Error::from(r.unwrap_err());
            assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
        }
        assert!(journal.verify().await.unwrap().ok);
    }

    /// Someone with the file and a SQLite shell drops the guards and edits history.
    #[tokio::test]
    async fn verify_finds_the_first_broken_link() {
        for (tamper, kind, at) in [
            ("UPDATE journal SET subject = 'mallory' WHERE seq = 4", BreakKind::ContentAltered, 4),
            ("DELETE FROM journal WHERE seq = 6", BreakKind::MissingRecord, 6),
            ("UPDATE journal SET prev_hash = hash WHERE seq = 9", BreakKind::LinkMismatch, 9),
        ] {
            let (_d, store, journal) = fixture().await;
            for i in 0..10 {
                journal.record(login(&format!("op{i}"))).await.unwrap();
            }
            sqlx::query("DELETE FROM outbox").execute(store.pool()).await.unwrap();
            sqlx::query("DROP TRIGGER journal_no_update").execute(store.pool()).await.unwrap();
            sqlx::query("DROP TRIGGER journal_no_delete").execute(store.pool()).await.unwrap();
            sqlx::query(tamper).execute(store.pool()).await.unwrap();
            let r = journal.verify().await.unwrap();
            assert!(!r.ok, "{tamper}");
            assert_eq!((r.broken_at_seq, r.break_kind), (Some(at), Some(kind)), "{tamper}");
            assert_eq!(r.count, at - 1);
        }
    }

    #[test]
    fn the_canonical_encoding_is_stable() {
        let r = JournalRow {
            seq: 1,
            recorded_at: "2026-11-23T08:30:00+08:00".into(),
            recorded_at_ms: 1_795_392_600_000,
            actor: "zhang".into(),
            actor_role: Some("front_desk".into()),
            kind: "operator.login".into(),
            subject: "zhang".into(),
            outcome: "ok".into(),
            detail: "{\"via\":\"password\"}".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let c = canonical(&r);
        let parsed: serde_json::Value = serde_json::from_str(&c).unwrap();
        assert_eq!(parsed["detail"], "{\"via\":\"password\"}");
        let keys: Vec<&String> = parsed.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        // Pinned (and equal to Python's json.dumps(sort_keys=True, separators=(",", ":"),
        // ensure_ascii=False)): a change to the encoding would orphan every chain already written.
        assert_eq!(hash_of(&r), hex::encode(Sha256::digest(c.as_bytes())));
        assert_eq!(&hash_of(&r)[..16], PINNED_PREFIX);
    }

    const PINNED_PREFIX: &str = "e93e7183a3ad9ba4";
}
