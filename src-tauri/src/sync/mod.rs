//! 综合服务系统对接 — the outbox sender, the pulls and the credentials for the platform's
//! comprehensive service system. The interface is docs/api/service-system.yaml.
//!
//! The sender drains the outbox in sequence order, a batch per request. What the receiver took
//! (accepted or already had) is marked sent in one transaction; what it refused as invalid is
//! parked for an administrator and never holds back the rest. Everything else — no answer, a
//! garbled answer, 5xx — leaves the batch pending and backs off; 429/503 wait as long as asked;
//! 401/403 stop sending until the credentials change (or, for a clock problem, a slow retry).
//! Because the receiver de-duplicates by event id, resending after any failure is safe.

pub mod client;
pub mod outbound;
pub mod pulls;
pub mod signing;
pub mod views;
pub mod wire;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::Rng;
use tokio::sync::Notify;

use crate::auth::Caller;
use crate::clock::{Clock, venue_time};
use crate::config::ServiceSystem;
use crate::error::{Error, Result};
use crate::journal::{Actor, Entry, EventKind, Journal, Outcome};
use crate::store::Store;
use crate::store::sync as rows;
use crate::vault::Vault;
use client::{Credentials, Link, LinkError};
use views::*;
use wire::{EventBatch, EventsReply};

const KEY_APP_KEY: &str = "service.app_key";
const KEY_APP_SECRET: &str = "service.app_secret";
const STATE_LAST_SUCCESS: &str = "send.last_success";

/// Backoff after a failure: doubles from the first step up to the cap, with ±25 % jitter so that
/// many venues coming back together do not knock at the same second.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// After 401/403, try again this rarely (a fixed clock or a restored key may cure it).
const REFUSED_RETRY: Duration = Duration::from_secs(600);
/// Without credentials, look for them again this often: entering them on the 数据同步 screen wakes
/// the sender at once, but another process (`venue-desk demo seed`, an installer) may store them.
const UNCONFIGURED_RECHECK: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured as given; a larger one is capped so a typo cannot stop sync for days.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);
/// When idle, look for new events at least this often (writers also wake the sender).
const IDLE_CHECK: Duration = Duration::from_secs(2);
const RATE_WINDOW: Duration = Duration::from_secs(10);

pub struct Uplink {
    store: Arc<Store>,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    vault: Vault,
    config: ServiceSystem,
    venue_code: String,
    time_zone: Tz,
    live: Mutex<Live>,
    wake: Notify,
}

/// What the sender knows now; not persisted except the last success.
#[derive(Default)]
struct Live {
    state: Option<LinkState>,
    problem: Option<LinkProblem>,
    retry_at_ms: Option<i64>,
    failures: u32,
    sent: VecDeque<(Instant, usize)>,
    drain_total: i64,
    last_attempt_at_ms: Option<i64>,
    link: Option<Arc<Link>>,
    pull_problem: Option<String>,
    /// Lowered after a 413 (the receiver's size limit is below ours), raised again on success.
    batch_limit: Option<u32>,
}

/// What one step of the sender did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nothing pending.
    Empty,
    /// A batch went through: how many were taken and how many parked.
    Sent { taken: usize, parked: usize },
    /// Nothing was sent; try again after this long.
    Wait(Duration),
    /// Sending cannot work until someone acts (credentials, clock, configuration).
    Stopped(Duration),
}

impl Uplink {
    pub fn new(
        store: Arc<Store>,
        journal: Arc<Journal>,
        clock: Arc<dyn Clock>,
        vault: Vault,
        config: ServiceSystem,
        venue_code: String,
        time_zone: Tz,
    ) -> Uplink {
        Uplink { store, journal, clock, vault, config, venue_code, time_zone, live: Mutex::default(), wake: Notify::new() }
    }

    /// Asks the sender to look now (new events, new credentials, an operator's retry).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Forgets the backoff and tries at once (an operator's "retry now").
    pub fn retry_now(&self) {
        self.live.lock().expect("sync state lock").retry_at_ms = None;
        self.wake();
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn local(&self, at: DateTime<Utc>) -> String {
        venue_time(at, self.time_zone).to_rfc3339()
    }

    // ---- credentials ---------------------------------------------------------------------

    pub fn credentials(&self) -> Result<Option<Credentials>> {
        let key = self.vault.get_text(KEY_APP_KEY)?;
        let secret = self.vault.get(KEY_APP_SECRET)?;
        Ok(match (key, secret) {
            (Some(app_key), Some(secret)) if !app_key.is_empty() && !secret.is_empty() => Some(Credentials { app_key, secret }),
            _ => None,
        })
    }

    /// Stores a new app key and secret in the keyring (never the database or a file), journals the
    /// change without the secret, and makes the sender try at once.
    pub async fn set_credentials(&self, caller: &Caller, app_key: &str, app_secret: &str) -> Result<()> {
        let app_key = app_key.trim();
        if app_key.is_empty() || app_key.len() > 128 || app_key.chars().any(char::is_control) {
            return Err(Error::invalid(
                "应用标识（App Key）不能为空，且不超过 128 个字符。",
                "The app key must be 1-128 characters.",
            ));
        }
        let secret = app_secret.trim();
        if secret.len() < 16 || secret.len() > 256 {
            return Err(Error::invalid(
                "应用密钥（App Secret）须为 16 到 256 个字符，请按综合服务系统分配的原样粘贴。",
                "The app secret must be 16-256 characters; paste it exactly as the service system issued it.",
            ));
        }
        self.vault.set(KEY_APP_KEY, app_key.as_bytes())?;
        self.vault.set(KEY_APP_SECRET, secret.as_bytes())?;
        let entry = Entry::new(caller.actor(), EventKind::ServiceCredentialsChanged, app_key, Outcome::Ok)
            .with_detail(serde_json::json!({"appKey": app_key, "keyring": crate::vault::backend()}));
        self.journal.record(entry).await?;
        {
            let mut live = self.live.lock().expect("sync state lock");
            live.failures = 0;
            live.retry_at_ms = None;
            live.problem = None;
            live.state = None;
        }
        self.wake();
        Ok(())
    }

    /// Puts the demo's credentials in the keyring if there are none (the demo venue only).
    pub fn seed_demo_credentials(&self, app_key: &str, secret: &str) {
        if matches!(self.credentials(), Ok(None)) {
            let stored = self.vault.set(KEY_APP_KEY, app_key.as_bytes()).and_then(|_| self.vault.set(KEY_APP_SECRET, secret.as_bytes()));
            if let Err(e) = stored {
                tracing::warn!(error = %e, "demo service-system credentials not stored");
            }
        }
    }

    fn link(&self) -> Result<Arc<Link>> {
        let mut live = self.live.lock().expect("sync state lock");
        if let Some(l) = &live.link {
            return Ok(l.clone());
        }
        let l = Arc::new(Link::new(&self.config, &self.venue_code)?);
        live.link = Some(l.clone());
        Ok(l)
    }

    // ---- sending -------------------------------------------------------------------------

    /// Runs the sender until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            let step = self.step().await;
            tracing::debug!(?step, "sync step");
            let pause = match step {
                Ok(Step::Sent { .. }) => continue,
                Ok(Step::Empty) => IDLE_CHECK,
                Ok(Step::Wait(d)) | Ok(Step::Stopped(d)) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "sync step failed");
                    self.note_failure(LinkState::Retrying, "local_error", e.message().to_string(), None)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// One step: send the next batch if the link may be used now.
    pub async fn step(&self) -> Result<Step> {
        let now_ms = self.now_ms();
        if let Some(at) = self.live.lock().expect("sync state lock").retry_at_ms
            && at > now_ms
        {
            return Ok(Step::Wait(Duration::from_millis((at - now_ms) as u64)));
        }
        let Some(creds) = self.credentials()? else {
            tracing::info!(backend = crate::vault::backend(), "no service-system credentials in the keyring: nothing is sent until they are entered under 数据同步");
            self.set_state(LinkState::NotConfigured, None);
            return Ok(Step::Stopped(UNCONFIGURED_RECHECK));
        };
        let batch = self.live.lock().expect("sync state lock").batch_limit.unwrap_or(self.config.batch_size);
        let pending = rows::pending(self.store.pool(), i64::from(batch)).await?;
        if pending.is_empty() {
            let mut live = self.live.lock().expect("sync state lock");
            live.drain_total = 0;
            if live.problem.is_none() {
                live.state = Some(LinkState::UpToDate);
            }
            return Ok(Step::Empty);
        }
        let link = match self.link() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "the service-system link cannot be set up");
                self.set_state(LinkState::Misconfigured, Some(LinkProblem { code: "configuration".into(), detail: e.message().into() }));
                return Ok(Step::Stopped(REFUSED_RETRY));
            }
        };
        let mut ids = Vec::with_capacity(pending.len());
        let mut events = Vec::with_capacity(pending.len());
        for p in pending {
            let (seq, e) = outbound::to_wire(p)?;
            ids.push((seq, e.event_id.clone()));
            events.push(e);
        }
        let body = Link::encode(&EventBatch { events });
        {
            let mut live = self.live.lock().expect("sync state lock");
            live.last_attempt_at_ms = Some(now_ms);
            if live.problem.is_none() {
                live.state = Some(LinkState::Sending);
            }
        }
        let now_s = now_ms.div_euclid(1000);
        let reply = tokio::task::spawn_blocking(move || link.post_events(&creds, now_s, &body))
            .await
            .map_err(Error::internal)?;
        match reply {
            Ok(reply) => self.take_reply(&ids, reply).await,
            Err(e) => Ok(self.take_failure(e)),
        }
    }

    async fn take_reply(&self, ids: &[(i64, String)], reply: EventsReply) -> Result<Step> {
        use std::collections::{HashMap, HashSet};
        let done: HashSet<&str> = reply.accepted.iter().chain(&reply.duplicates).map(String::as_str).collect();
        let refused: HashMap<&str, &wire::RejectedEvent> = reply.rejected.iter().map(|r| (r.event_id.as_str(), r)).collect();
        let sent: Vec<i64> = ids.iter().filter(|(_, id)| done.contains(id.as_str())).map(|(s, _)| *s).collect();
        let parked: Vec<(i64, &str, &wire::RejectedEvent)> = ids
            .iter()
            .filter_map(|(s, id)| refused.get(id.as_str()).map(|r| (*s, id.as_str(), *r)))
            .collect();
        if sent.is_empty() && parked.is_empty() {
            // A reply that speaks of none of the events is no answer at all.
            return Ok(self.take_failure(LinkError::BadReply("the reply names none of the events sent".into())));
        }
        let at = self.clock.now();
        let at_text = self.local(at);
        let mut w = self.store.begin_write().await?;
        rows::mark_sent(&mut w, &sent, at.timestamp_millis()).await?;
        let mut entries = Vec::new();
        for (seq, id, r) in &parked {
            rows::park(&mut w, *seq, &r.code, &r.reason, &at_text).await?;
            entries.push(
                Entry::new(Actor::system(), EventKind::OutboxEventParked, *id, Outcome::Failed)
                    .with_detail(serde_json::json!({"seq": seq, "code": r.code, "reason": r.reason})),
            );
        }
        if !entries.is_empty() {
            self.journal.append_in(&mut w, &entries).await?;
        }
        rows::state_set(&mut w, STATE_LAST_SUCCESS, &at_text, &at_text).await?;
        w.commit().await?;
        let mut live = self.live.lock().expect("sync state lock");
        live.failures = 0;
        live.retry_at_ms = None;
        live.problem = None;
        live.state = Some(LinkState::Sending);
        // Grow back towards the configured size, in case the receiver's limit was lifted.
        live.batch_limit = live.batch_limit.map(|b| b.saturating_mul(2)).filter(|b| *b < self.config.batch_size);
        let taken = sent.len();
        live.sent.push_back((Instant::now(), taken + parked.len()));
        Ok(Step::Sent { taken, parked: parked.len() })
    }

    pub(crate) fn take_failure(&self, e: LinkError) -> Step {
        match e {
            LinkError::Throttled { status, retry_after } => {
                let wait = retry_after.map(|d| d.min(RETRY_AFTER_CAP));
                let code = if status == 429 { "rate_limited" } else { "unavailable" };
                let d = self.note_failure(LinkState::Throttled, code, format!("HTTP {status}"), wait);
                Step::Wait(d)
            }
            LinkError::Refused { status, code, message } => {
                let state = if code == "clock_skew" { LinkState::ClockSkew } else { LinkState::CredentialsRejected };
                let code = if code.is_empty() { format!("http_{status}") } else { code };
                let d = self.note_failure(state, &code, message, Some(REFUSED_RETRY));
                Step::Stopped(d)
            }
            LinkError::Unreachable(m) => Step::Wait(self.note_failure(LinkState::Unreachable, "unreachable", m, None)),
            LinkError::BadReply(m) => Step::Wait(self.note_failure(LinkState::Retrying, "bad_reply", m, None)),
            LinkError::Failed { status: 413, code, message } => {
                let mut live = self.live.lock().expect("sync state lock");
                let smaller = (live.batch_limit.unwrap_or(self.config.batch_size) / 2).max(1);
                live.batch_limit = Some(smaller);
                drop(live);
                let code = if code.is_empty() { "batch_too_large".into() } else { code };
                Step::Wait(self.note_failure(LinkState::Retrying, &code, format!("{message} (next batches: {smaller} events)"), Some(Duration::ZERO)))
            }
            LinkError::Failed { status, code, message } => {
                let code = if code.is_empty() { format!("http_{status}") } else { code };
                Step::Wait(self.note_failure(LinkState::Retrying, &code, message, None))
            }
        }
    }

    /// Records a failure and returns how long to wait: `wait` when the receiver said, else the
    /// next exponential step with jitter.
    fn note_failure(&self, state: LinkState, code: &str, detail: String, wait: Option<Duration>) -> Duration {
        let mut live = self.live.lock().expect("sync state lock");
        live.failures = live.failures.saturating_add(1);
        let d = wait.unwrap_or_else(|| backoff(live.failures));
        // Once per failure with its retry time: the log files are what support reads afterwards.
        tracing::warn!(code, %detail, retry_in_ms = d.as_millis() as u64, "sending to the service system failed");
        live.retry_at_ms = Some(self.now_ms() + d.as_millis() as i64);
        live.state = Some(state);
        live.problem = Some(LinkProblem { code: code.to_string(), detail });
        d
    }

    fn set_state(&self, state: LinkState, problem: Option<LinkProblem>) {
        let mut live = self.live.lock().expect("sync state lock");
        live.state = Some(state);
        live.problem = problem;
    }

    // ---- what the screens show ------------------------------------------------------------

    pub async fn status(&self) -> Result<SyncStatus> {
        let (backlog, oldest_ms) = rows::backlog(self.store.pool()).await?;
        let (_, parked) = rows::parked(self.store.pool(), 0).await?;
        let last_success_at = rows::state_get(self.store.pool(), STATE_LAST_SUCCESS).await?;
        let last_pull_at = rows::state_get(self.store.pool(), pulls::STATE_LAST_PULL).await?;
        let creds = self.credentials();
        let now_ms = self.now_ms();
        let mut live = self.live.lock().expect("sync state lock");
        let horizon = Instant::now().checked_sub(RATE_WINDOW);
        while live.sent.front().is_some_and(|(t, _)| horizon.is_some_and(|h| *t < h)) {
            live.sent.pop_front();
        }
        let window_s = live.sent.front().map(|(t, _)| t.elapsed().as_secs_f64()).unwrap_or(0.0).max(1.0);
        let rate = live.sent.iter().map(|(_, n)| *n).sum::<usize>() as f64 / window_s;
        live.drain_total = if backlog == 0 { 0 } else { live.drain_total.max(backlog) };
        let state = match (&creds, live.state) {
            (Ok(None), _) => LinkState::NotConfigured,
            (_, Some(s)) => s,
            (_, None) => LinkState::Connecting,
        };
        Ok(SyncStatus {
            state,
            problem: live.problem.clone(),
            base_url: self.config.base_url.clone(),
            plain_http: self.config.base_url.starts_with("http://"),
            app_key: creds.as_ref().ok().and_then(|c| c.as_ref().map(|c| c.app_key.clone())),
            app_key_hint: self.config.app_key_hint.clone(),
            keyring: crate::vault::backend().to_string(),
            backlog,
            oldest_pending_age_s: oldest_ms.map(|ms| ((now_ms - ms).max(0)) / 1000),
            last_success_at,
            last_attempt_at: live.last_attempt_at_ms.and_then(DateTime::from_timestamp_millis).map(|t| self.local(t)),
            retry_in_s: live.retry_at_ms.map(|at| ((at - now_ms).max(0) + 999) / 1000).filter(|s| *s > 0),
            send_rate_per_s: (rate * 10.0).round() / 10.0,
            drain_total: live.drain_total,
            drain_done: live.drain_total - backlog,
            parked,
            last_pull_at,
            pull_problem: live.pull_problem.clone(),
        })
    }

    /// Keeps the outcome of the last pull for the status screen.
    pub fn note_pull(&self, outcome: &Result<pulls::PullReport>) {
        let problem = match outcome {
            Ok(r) if r.problems.is_empty() => None,
            Ok(r) => Some(r.problems.join("\n")),
            Err(e) => Some(e.message().to_string()),
        };
        self.live.lock().expect("sync state lock").pull_problem = problem;
    }

    /// What the platform sent lately that was placed, refused or cancelled, newest first.
    pub async fn platform_inbox(&self) -> Result<PlatformInbox> {
        let bookings = rows::platform_bookings(self.store.pool(), 200).await?;
        let today = venue_time(self.clock.now(), self.time_zone).date_naive();
        let mut sessions = Vec::new();
        for day in [today, today + chrono::Days::new(1)] {
            sessions.extend(rows::platform_sessions_on(self.store.pool(), &day.format("%Y-%m-%d").to_string()).await?);
        }
        Ok(PlatformInbox {
            bookings: bookings
                .into_iter()
                .map(|b| PlatformBookingView {
                    platform_booking_id: b.platform_booking_id,
                    booking_id: b.booking_id,
                    state: b.state,
                    reason: b.reason,
                    received_at: b.received_at,
                })
                .collect(),
            sessions: sessions
                .into_iter()
                .map(|s| PlatformSessionView {
                    session_id: s.session_id,
                    booking_id: s.booking_id,
                    session_date: s.session_date,
                    has_roster: s.has_roster,
                    roster_state: s.roster_state,
                    reason: s.reason,
                })
                .collect(),
        })
    }

    pub async fn parked(&self, limit: i64) -> Result<Vec<ParkedEvent>> {
        let (rows, _) = rows::parked(self.store.pool(), limit.clamp(1, 1000)).await?;
        Ok(rows.into_iter().map(ParkedEvent::from).collect())
    }

    /// Puts a parked event back in line (after the cause was fixed at either end).
    pub async fn retry_parked(&self, caller: &Caller, seq: i64) -> Result<()> {
        let mut w = self.store.begin_write().await?;
        if !rows::unpark(&mut w, seq).await? {
            return Err(Error::not_found(
                format!("第 {seq} 号事件不在搁置列表中（可能已重新发送）。请刷新列表。"),
                format!("Event {seq} is not parked (perhaps it was already retried). Refresh the list."),
            ));
        }
        let entry = Entry::new(caller.actor(), EventKind::OutboxEventRequeued, seq.to_string(), Outcome::Ok)
            .with_detail(serde_json::json!({"seq": seq}));
        self.journal.append_in(&mut w, &[entry]).await?;
        w.commit().await?;
        self.wake();
        Ok(())
    }
}

fn backoff(failures: u32) -> Duration {
    let base = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(BACKOFF_CAP);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let first = backoff(1);
        assert!(first >= Duration::from_millis(750) && first <= Duration::from_millis(1250), "{first:?}");
        let fourth = backoff(4);
        assert!(fourth >= Duration::from_secs(6) && fourth <= Duration::from_secs(10), "{fourth:?}");
        for n in [10, 20, 40, u32::MAX] {
            assert!(backoff(n) <= BACKOFF_CAP.mul_f64(1.25));
            assert!(backoff(n) >= BACKOFF_CAP.mul_f64(0.75));
        }
    }
}
