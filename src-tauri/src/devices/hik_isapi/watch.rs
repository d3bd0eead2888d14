//! Live events from a controller's alert stream, with catch-up after every gap.
//!
//! The stream is the fast path but not a reliable one: controllers drop it, NAT boxes silently
//! kill idle connections, and events that happen while it is down are only in the controller's
//! history. So the watcher treats silence as a failure, reconnects, and after each (re)connection
//! searches the history from the last event it saw. Every event is delivered at most once,
//! keyed by serial number, whichever path brought it.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Local};
use tokio::sync::mpsc::UnboundedSender;

use super::client::Client;
use super::events::{self, Alert};
use super::http::Chunk;
use super::multipart::{MultipartParser, boundary_from_content_type};
use super::{IsapiController, IsapiSettings};
use crate::devices::{AccessEvent, DoorController};
use crate::error::{Locale, locale};

/// Tuning of the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Reconnect when no byte arrives for this long. Controllers send a heartbeat every ~10–30 s,
    /// so 40 s in production catches dead connections without flapping.
    pub silence_timeout_ms: u64,
    /// First wait before reconnecting; it doubles up to 16 times this (at most 60 s) while the
    /// controller stays away, so a dead controller is not hammered.
    pub reconnect_backoff_ms: u64,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions { silence_timeout_ms: 40_000, reconnect_backoff_ms: 2_000 }
    }
}

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The alert stream is open (first time or again).
    Connected,
    /// The stream is down; sent once per outage, with why, in the operator's language.
    Disconnected {
        reason: String,
    },
    Access(AccessEvent),
    /// An alarm input changed (fire alarm, detector gate relay): the alert stream's `IO` event
    /// with `inputIOPortID` and `eventState`. Inputs are state, not history, so they are not
    /// caught up after a gap; the next change reports the current state.
    AlarmInput {
        input_no: u32,
        active: bool,
        time: DateTime<FixedOffset>,
    },
}

/// Owns the watcher thread. Dropping it stops the thread too.
pub struct WatchHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WatchHandle {
    /// Asks the thread to stop and waits up to about a second for it. Reads on the stream are
    /// short, so that is normally enough; a thread still inside a connection attempt to an
    /// unresponsive controller is left to finish on its own and sends nothing more.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let until = Instant::now() + Duration::from_millis(1_000);
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }

    /// Whether the thread has ended (stopped, or its receiver was dropped).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts watching one controller in its own thread. `since`, when given, is where history
/// catch-up starts on the first connection (e.g. the time of the last stored event); without it
/// only events from about now on are reported.
pub fn watch(
    settings: IsapiSettings,
    options: WatchOptions,
    since: Option<DateTime<FixedOffset>>,
    sink: UnboundedSender<WatchEvent>,
) -> WatchHandle {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let name = format!("isapi-watch {}", settings.base_url);
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let mut w = Watcher::new(settings, options, since, sink, flag);
        w.run();
    });
    let thread = match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::error!(error = %e, "could not start the door controller watcher thread");
            None
        }
    };
    WatchHandle { stop, thread }
}

fn text(zh: String, en: String) -> String {
    match locale() {
        Locale::ZhCn => zh,
        Locale::En => en,
    }
}

/// Remembers delivered serial numbers. Bounded: after this many newer events, an old serial
/// could in theory come back, but catch-up never reaches that far behind the newest event.
struct Delivered {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

const REMEMBERED: usize = 100_000;

impl Delivered {
    fn insert(&mut self, serial: u64) -> bool {
        if !self.set.insert(serial) {
            return false;
        }
        self.order.push_back(serial);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

enum End {
    Stopped,
    Lost { reason: String, auth: bool },
}

struct Watcher {
    options: WatchOptions,
    client: Client,
    history: IsapiController,
    sink: UnboundedSender<WatchEvent>,
    stop: Arc<AtomicBool>,
    delivered: Delivered,
    /// Newest event time seen; catch-up searches from here (inclusive, de-duplicated).
    last_time: DateTime<FixedOffset>,
    catch_up_pending: bool,
    connected: Option<bool>,
}

/// How far before "now" a watcher without `since` starts its history, to absorb a controller
/// clock that runs a little behind the host's.
const CLOCK_MARGIN: chrono::Duration = chrono::Duration::minutes(2);

impl Watcher {
    fn new(
        settings: IsapiSettings,
        options: WatchOptions,
        since: Option<DateTime<FixedOffset>>,
        sink: UnboundedSender<WatchEvent>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let now = Local::now().fixed_offset();
        Watcher {
            options,
            client: Client::new(&settings),
            history: IsapiController::new(settings),
            sink,
            stop,
            delivered: Delivered { set: HashSet::new(), order: VecDeque::new() },
            last_time: since.unwrap_or(now - CLOCK_MARGIN),
            catch_up_pending: since.is_some(),
            connected: None,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.sink.is_closed()
    }

    /// Sends unless stopped; `false` means the watcher should end.
    fn emit(&self, ev: WatchEvent) -> bool {
        !self.stopped() && self.sink.send(ev).is_ok()
    }

    fn deliver(&mut self, ev: AccessEvent) -> bool {
        if ev.time > self.last_time {
            self.last_time = ev.time;
        }
        if !self.delivered.insert(ev.serial_no) {
            return true;
        }
        self.emit(WatchEvent::Access(ev))
    }

    fn run(&mut self) {
        let base = Duration::from_millis(self.options.reconnect_backoff_ms.max(10));
        let cap = (base * 16).min(Duration::from_secs(60)).max(base);
        let mut backoff = base;
        loop {
            if self.stopped() {
                return;
            }
            match self.session() {
                End::Stopped => return,
                End::Lost { reason, auth } => {
                    // Whatever was missed while away is only in the history now.
                    self.catch_up_pending = true;
                    tracing::info!(controller = %self.client.address(), %reason, "alert stream lost");
                    if self.connected == Some(true) {
                        backoff = base;
                    }
                    if self.connected != Some(false) {
                        self.connected = Some(false);
                        if !self.emit(WatchEvent::Disconnected { reason }) {
                            return;
                        }
                    }
                    // Wrong credentials will not fix themselves, and every retry counts as a failed
                    // login on the device: wait the longest.
                    let wait = if auth { cap } else { backoff };
                    let until = Instant::now() + wait;
                    while Instant::now() < until {
                        if self.stopped() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    backoff = (backoff * 2).min(cap);
                }
            }
        }
    }

    fn lost(&self, e: crate::error::Error) -> End {
        let auth = e.kind == crate::error::ErrorKind::FailedPrecondition;
        End::Lost { reason: e.message().to_string(), auth }
    }

    fn catch_up(&mut self) -> Result<(), End> {
        let from = self.last_time;
        let to = Local::now().fixed_offset() + chrono::Duration::days(1);
        let to = to.with_timezone(from.offset());
        let found = self.history.events_between(from, to).map_err(|e| self.lost(e))?;
        for ev in found {
            if !self.deliver(ev) {
                return Err(End::Stopped);
            }
        }
        self.catch_up_pending = false;
        Ok(())
    }

    fn session(&mut self) -> End {
        let (head, mut body) =
            match self.client.open("GET", "/ISAPI/Event/notification/alertStream", None, &[]) {
                Ok(x) => x,
                Err(e) => return self.lost(e),
            };
        if self.stopped() {
            return End::Stopped;
        }
        let addr = self.client.address();
        if head.status != 200 {
            let status = head.status;
            return End::Lost {
                reason: text(
                    format!(
                        "门禁控制器 {addr} 拒绝打开事件流（HTTP {status}）：请确认设备支持并启用了 ISAPI 事件上传。"
                    ),
                    format!(
                        "The door controller at {addr} refused the alert stream (HTTP {status}): check that \
                         the device supports and enables ISAPI event upload."
                    ),
                ),
                auth: matches!(status, 401 | 403),
            };
        }
        let content_type = head.header("content-type").unwrap_or("");
        let boundary = match boundary_from_content_type(content_type) {
            Some(b) => b,
            None if content_type.to_ascii_lowercase().starts_with("multipart/") => "boundary".to_string(),
            None => {
                return self.lost(self.client.not_isapi(&format!("the alert stream is {content_type:?}")));
            }
        };
        if self.connected != Some(true) {
            self.connected = Some(true);
            if !self.emit(WatchEvent::Connected) {
                return End::Stopped;
            }
        }
        // Reconnected: anything that happened during the gap is only in the history. The stream
        // is already open, so nothing falls between the search and the live events.
        if self.catch_up_pending
            && let Err(end) = self.catch_up()
        {
            return end;
        }
        let mut parser = MultipartParser::new(&boundary);
        let silence = Duration::from_millis(self.options.silence_timeout_ms.max(1));
        let mut last_data = Instant::now();
        let assumed = *self.last_time.offset();
        loop {
            if self.stopped() {
                return End::Stopped;
            }
            match body.read_some(Duration::from_millis(100)) {
                Ok(Chunk::Data(bytes)) => {
                    last_data = Instant::now();
                    let mut search = false;
                    for part in parser.feed(&bytes) {
                        match events::from_part(&part, assumed) {
                            Alert::Access(ev) => {
                                if !self.deliver(ev) {
                                    return End::Stopped;
                                }
                            }
                            Alert::AccessWithoutSerial => search = true,
                            Alert::AlarmInput { input_no, active, time } => {
                                if !self.emit(WatchEvent::AlarmInput { input_no, active, time }) {
                                    return End::Stopped;
                                }
                            }
                            Alert::Heartbeat | Alert::Other => {}
                        }
                    }
                    if search && let Err(end) = self.catch_up() {
                        return end;
                    }
                }
                Ok(Chunk::Idle) => {
                    if last_data.elapsed() >= silence {
                        self.catch_up_pending = true;
                        let secs = silence.as_secs_f64();
                        return End::Lost {
                            reason: text(
                                format!("门禁控制器 {addr} 的事件流 {secs:.1} 秒无数据，正在重新连接。"),
                                format!(
                                    "The alert stream of the door controller at {addr} was silent for \
                                     {secs:.1} s; reconnecting."
                                ),
                            ),
                            auth: false,
                        };
                    }
                }
                Ok(Chunk::End) => {
                    self.catch_up_pending = true;
                    return End::Lost {
                        reason: text(
                            format!("门禁控制器 {addr} 关闭了事件流，正在重新连接。"),
                            format!("The door controller at {addr} closed the alert stream; reconnecting."),
                        ),
                        auth: false,
                    };
                }
                Err(e) => {
                    self.catch_up_pending = true;
                    let detail = match e {
                        super::http::HttpError::Malformed(m) => return self.lost(self.client.not_isapi(&m)),
                        other => other,
                    };
                    return self.lost(self.client.unavailable(&detail));
                }
            }
        }
    }
}
