//! 综合服务系统参考接收端 — the reference receiver: a real HTTP/1.1 server implementing the venue
//! interface of docs/api/service-system.yaml, so the sync client is tested over a real socket and
//! `venue-sim` can stand in for the platform in demos.
//!
//! It checks what a strict platform would check (signature, clock skew, replayed nonces, the venue
//! code, each event's shape and journal hash), de-duplicates by `eventId` forever, and notes
//! sequence gaps and chain breaks without refusing them. Misbehaviour is injected with
//! `set_mode`: failures, 429/503 with `Retry-After`, stalls, a 200 that is not JSON, a response cut
//! off mid-body.
//!
//! It is its own small HTTP server rather than `tiny_http` because cutting a response short and
//! closing the socket, or hanging up on a stalled request at `stop`, needs the raw connection.
//! `start_tls` serves the same over HTTPS (rustls with ring), for a certificate from a private CA.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::journal::hash_of;
use crate::store::journal::JournalRow;
use crate::sync::signing::{
    self, HEADER_APP_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_SKEW_SECONDS,
};
use crate::sync::wire::{
    BookingPage, ErrorReply, EventBatch, EventsReply, MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH, PlatformAction,
    PlatformBooking, PlatformExpert, PlatformProject, PlatformSession, RejectedEvent, RosterReply,
    SessionList, WireEvent,
};

/// The app secret `venue-sim` serves the demo venue with; the demo seed puts the same secret in the
/// app's keyring so the demo links up without anyone typing it.
pub const DEMO_APP_SECRET: &str = crate::DEMO_SERVICE_SECRET;

/// Nonces are remembered this long: twice the skew window, so a replay inside the window that
/// accepted the original is always recognised.
const NONCE_MEMORY_S: i64 = 2 * MAX_SKEW_SECONDS;
const DEFAULT_PAGE: usize = 500;
const MAX_PAGE: usize = 1000;
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// An oversized body up to this size is read and thrown away so the client gets to read the 413;
/// beyond it the connection is closed after the reply.
const MAX_DRAIN_BYTES: u64 = 64 * 1024 * 1024;
/// An idle keep-alive connection is closed after this, as gateways do.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const ACCEPT_POLL: Duration = Duration::from_millis(10);
const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who the receiver is: the venue it serves and the one app key it knows.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub venue_code: String,
    pub app_key: String,
    pub app_secret: Vec<u8>,
    /// The venue's zone: which day a session falls on, and when its roster may be fetched.
    pub time_zone: Tz,
}

impl ReceiverConfig {
    /// A venue in China Standard Time.
    pub fn new(venue_code: &str, app_key: &str, app_secret: &[u8]) -> ReceiverConfig {
        ReceiverConfig {
            venue_code: venue_code.into(),
            app_key: app_key.into(),
            app_secret: app_secret.to_vec(),
            time_zone: chrono_tz::Asia::Shanghai,
        }
    }
}

/// How the events endpoint behaves. The other endpoints always answer normally, so a test can
/// see that a stalled post does not hold up the pulls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Normal,
    /// Every post is answered with this status and an `ErrorReply`, nothing is stored.
    Fail { status: u16 },
    /// The next `times` posts get 429 with `Retry-After`, then the mode returns to `Normal`.
    RateLimited { retry_after_s: u32, times: u32 },
    /// The next `times` posts get 503 with `Retry-After`, then the mode returns to `Normal`.
    Unavailable { retry_after_s: u32, times: u32 },
    /// Each post waits this long before it is processed and answered. A client that gave up in
    /// the meantime still has its batch stored, as with a real slow server; `stop` hangs up
    /// without processing.
    Stall { ms: u64 },
    /// The batch is processed, and the answer is a 200 whose body is an HTML page, like the login
    /// page a government gateway serves when its session expires.
    Malformed,
    /// The batch is processed, then the reply is cut off: a `Content-Length` larger than what
    /// follows, half the body, and the connection closed.
    CloseMidResponse,
}

/// What the receiver has seen, for assertions and for `venue-sim`'s control interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStats {
    /// Every HTTP request read, answered or not.
    pub requests: u64,
    /// Authenticated posts to the events endpoint, including those the mode refused.
    pub event_posts: u64,
    /// Events, not batches.
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Event sequence numbers missing among the accepted events, as inclusive ranges, oldest
    /// first. A late event that fills a hole narrows it.
    pub seq_gaps: Vec<(i64, i64)>,
    /// Journal `record.seq` values whose `prevHash` is not the hash of the accepted record
    /// before them: the venue's history was edited or forked.
    pub chain_breaks: Vec<i64>,
    /// 401 replies by code.
    pub auth_failures: BTreeMap<String, u64>,
    pub mode: Mode,
}

#[derive(Default)]
struct State {
    venue_code: String,
    app_key: String,
    secret: Vec<u8>,
    time_zone: Option<Tz>,
    clock_offset_s: i64,
    mode: Mode,
    reject_types: HashSet<String>,
    nonces: HashSet<String>,
    /// (receiver time in s, nonce), oldest first, for purging.
    nonce_times: VecDeque<(i64, String)>,
    accepted: Vec<WireEvent>,
    accepted_ids: HashSet<String>,
    accepted_seqs: HashSet<i64>,
    rejections: Vec<RejectedEvent>,
    highest_seq: i64,
    seq_gaps: Vec<(i64, i64)>,
    /// record.seq -> (hash, prevHash) of accepted events.
    records: HashMap<i64, (String, String)>,
    chain_breaks: Vec<i64>,
    bookings: Vec<PlatformBooking>,
    sessions: Vec<(PlatformSession, Option<Vec<PlatformExpert>>)>,
    requests: u64,
    event_posts: u64,
    duplicates: u64,
    auth_failures: BTreeMap<String, u64>,
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.clock_offset_s)
    }

    fn tz(&self) -> Tz {
        self.time_zone.unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

struct Shared {
    addr: SocketAddr,
    /// Set for HTTPS: each accepted connection is wrapped in a TLS session with this.
    tls: Option<Arc<rustls::ServerConfig>>,
    stopped: AtomicBool,
    state: Mutex<State>,
    /// Open client connections, so `stop` can hang up on them.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// Owns the server: dropping the last `Receiver` clone stops it.
struct Running {
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Running {
    fn halt(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        let accept = self.accept.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = accept {
            // The accept thread owns the listener: once it has ended, the port is closed.
            let _ = t.join();
        }
        for (_, c) in self.shared.connections.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            let _ = c.shutdown(Shutdown::Both);
        }
        let workers: Vec<_> =
            self.shared.workers.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        for w in workers {
            let _ = w.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A running reference receiver. Clones share the server; it stops on `stop` or when the last
/// clone is dropped, and the port is free when either returns.
#[derive(Clone)]
pub struct Receiver {
    running: Arc<Running>,
}

impl Receiver {
    /// Binds `addr` (port 0 picks a free port) and starts serving.
    pub fn start(addr: &str, cfg: ReceiverConfig) -> io::Result<Receiver> {
        Receiver::start_with(addr, cfg, None)
    }

    /// As `start`, over HTTPS with this certificate chain (leaf first) and private key, both PEM.
    /// The client must trust the chain's CA, and the leaf must name the host of `base_url`
    /// (`127.0.0.1` as an IP address SAN).
    pub fn start_tls(
        addr: &str,
        cfg: ReceiverConfig,
        cert_chain_pem: &[u8],
        key_pem: &[u8],
    ) -> io::Result<Receiver> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
        };
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("certificate chain", &e))?;
        if chain.is_empty() {
            return Err(invalid("certificate chain", &"no PEM certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid("private key", &e))?;
        let tls =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| invalid("TLS versions", &e))?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|e| invalid("certificate and key", &e))?;
        Receiver::start_with(addr, cfg, Some(Arc::new(tls)))
    }

    fn start_with(
        addr: &str,
        cfg: ReceiverConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Receiver> {
        let listener = TcpListener::bind(addr)?;
        // Polled, so the accept loop notices `stop` without a wake-up connection.
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            addr: listener.local_addr()?,
            tls,
            stopped: AtomicBool::new(false),
            state: Mutex::new(State {
                venue_code: cfg.venue_code,
                app_key: cfg.app_key,
                secret: cfg.app_secret,
                time_zone: Some(cfg.time_zone),
                ..State::default()
            }),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
            workers: Mutex::new(Vec::new()),
        });
        let for_thread = shared.clone();
        let accept = std::thread::Builder::new()
            .name("receiver-accept".into())
            .spawn(move || accept_loop(&for_thread, listener))?;
        Ok(Receiver { running: Arc::new(Running { shared, accept: Mutex::new(Some(accept)) }) })
    }

    fn shared(&self) -> &Shared {
        &self.running.shared
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared().addr
    }

    /// `http://127.0.0.1:PORT` (`https://` when started with `start_tls`), the base URL the
    /// client is configured with.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared().tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.shared().addr)
    }

    /// Accepted events in arrival order; each `eventId` at most once.
    pub fn accepted(&self) -> Vec<WireEvent> {
        self.shared().state().accepted.clone()
    }

    /// Every per-event rejection sent, in order (a resent event rejected twice is here twice).
    pub fn rejected(&self) -> Vec<RejectedEvent> {
        self.shared().state().rejections.clone()
    }

    pub fn stats(&self) -> ReceiverStats {
        let st = self.shared().state();
        ReceiverStats {
            requests: st.requests,
            event_posts: st.event_posts,
            accepted: st.accepted.len() as u64,
            duplicates: st.duplicates,
            rejected: st.rejections.len() as u64,
            seq_gaps: st.seq_gaps.clone(),
            chain_breaks: st.chain_breaks.clone(),
            auth_failures: st.auth_failures.clone(),
            mode: st.mode.clone(),
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared().state().mode = mode;
    }

    /// From now on, events of these types are rejected with `invalid_payload`; replaces the
    /// previous list (an empty list accepts every type again).
    pub fn reject_types(&self, types: &[&str]) {
        self.shared().state().reject_types = types.iter().map(|t| t.to_string()).collect();
    }

    /// Rotates the app secret: requests signed with the old one fail with `bad_signature`.
    pub fn set_secret(&self, secret: &[u8]) {
        self.shared().state().secret = secret.to_vec();
    }

    /// The receiver's clock is the system clock plus this; it decides skew and the roster's day.
    pub fn set_clock_offset_s(&self, s: i64) {
        self.shared().state().clock_offset_s = s;
    }

    /// Appends platform booking requests (or cancellations); they are served oldest first.
    pub fn add_bookings(&self, items: Vec<PlatformBooking>) {
        self.shared().state().bookings.extend(items);
    }

    /// A session on the platform and, for an evaluation, its expert roster.
    pub fn add_session(&self, s: PlatformSession, roster: Option<Vec<PlatformExpert>>) {
        self.shared().state().sessions.push((s, roster));
    }

    /// Stops serving: the port is closed, open connections (stalled requests included) are hung
    /// up on. Other clones see a stopped receiver.
    pub fn stop(self) {
        self.running.halt();
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((stream, _)) => {
                // Some platforms hand out accepted sockets in the listener's non-blocking mode.
                if stream.set_nonblocking(false).is_err() {
                    continue;
                }
                let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
                if let Ok(c) = stream.try_clone() {
                    shared.connections.lock().unwrap_or_else(|p| p.into_inner()).insert(id, c);
                }
                let for_thread = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("receiver-conn".into())
                    .spawn(move || serve_connection(&for_thread, stream, id));
                let mut workers = shared.workers.lock().unwrap_or_else(|p| p.into_inner());
                workers.retain(|w| !w.is_finished());
                if let Ok(w) = spawned {
                    workers.push(w);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(e) => {
                tracing::warn!(error = %e, "reference receiver: accept failed");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

// ---- HTTP ---------------------------------------------------------------------------------------

enum Body {
    Bytes(Vec<u8>),
    /// Over `MAX_BODY_BYTES`; `drained` says whether all of it was read, so the connection can
    /// carry another request.
    TooLarge {
        drained: bool,
    },
}

struct HttpRequest {
    method: String,
    /// Path and query exactly as sent: what the signature covers.
    target: String,
    headers: Vec<(String, String)>,
    body: Body,
    keep_alive: bool,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

enum ReadError {
    Io,
    Malformed(String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Io
    }
}

fn read_line(r: &mut impl BufRead, budget: &mut usize) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let n = r.by_ref().take(*budget as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget {
        return Err(ReadError::Malformed("the request head is too large".into()));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Io);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| ReadError::Malformed("the request head is not UTF-8".into()))
}

/// Reads one request; `Ok(None)` when the client closed the connection between requests.
fn read_request<S: Read + Write>(r: &mut BufReader<S>) -> Result<Option<HttpRequest>, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    let request_line = loop {
        match read_line(r, &mut budget)? {
            None => return Ok(None),
            // Tolerated between requests (RFC 9112 §2.2).
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed(format!("bad request line “{request_line}”")));
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Err(ReadError::Malformed(format!("bad request line “{request_line}”")));
    }
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(r, &mut budget)? else { return Err(ReadError::Io) };
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Malformed(format!("bad header line “{line}”")));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut req = HttpRequest {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Body::Bytes(Vec::new()),
        keep_alive: true,
    };
    let connection = req.header("Connection").unwrap_or("").to_ascii_lowercase();
    req.keep_alive =
        if version == "HTTP/1.0" { connection.contains("keep-alive") } else { !connection.contains("close") };
    if req.header("Expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        let w = r.get_mut();
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        w.flush()?;
    }
    let chunked = req.header("Transfer-Encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    req.body = if chunked {
        read_chunked(r)?
    } else if let Some(len) = req.header("Content-Length") {
        let len: u64 =
            len.parse().map_err(|_| ReadError::Malformed(format!("bad Content-Length “{len}”")))?;
        if len > MAX_BODY_BYTES as u64 {
            let drained =
                len <= MAX_DRAIN_BYTES && io::copy(&mut r.by_ref().take(len), &mut io::sink())? == len;
            Body::TooLarge { drained }
        } else {
            let mut body = vec![0u8; len as usize];
            r.read_exact(&mut body)?;
            Body::Bytes(body)
        }
    } else {
        Body::Bytes(Vec::new())
    };
    if let Body::TooLarge { drained: false } = req.body {
        req.keep_alive = false;
    }
    Ok(Some(req))
}

fn read_chunked(r: &mut impl BufRead) -> Result<Body, ReadError> {
    let mut body = Vec::new();
    let mut total: u64 = 0;
    loop {
        let mut budget = 1024;
        let Some(line) = read_line(r, &mut budget)? else { return Err(ReadError::Io) };
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_hex, 16)
            .map_err(|_| ReadError::Malformed(format!("bad chunk size “{size_hex}”")))?;
        if size == 0 {
            break;
        }
        total += size;
        if total > MAX_DRAIN_BYTES {
            return Ok(Body::TooLarge { drained: false });
        }
        if total > MAX_BODY_BYTES as u64 {
            body = Vec::new();
            io::copy(&mut r.by_ref().take(size), &mut io::sink())?;
        } else {
            let start = body.len();
            body.resize(start + size as usize, 0);
            r.read_exact(&mut body[start..])?;
        }
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
    }
    // Trailers, up to the empty line.
    let mut budget = MAX_HEAD_BYTES;
    while let Some(line) = read_line(r, &mut budget)? {
        if line.is_empty() {
            break;
        }
    }
    if total > MAX_BODY_BYTES as u64 { Ok(Body::TooLarge { drained: true }) } else { Ok(Body::Bytes(body)) }
}

/// What to send back.
enum Reply {
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
        retry_after_s: Option<u32>,
    },
    /// Headers promising more than is sent, then a hang-up.
    CutShort {
        body: Vec<u8>,
    },
    /// No answer at all: the receiver is stopping.
    HangUp,
}

fn json_reply<T: Serialize>(status: u16, value: &T) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    Reply::Full { status, content_type: "application/json; charset=utf-8", body, retry_after_s: None }
}

fn error_reply(status: u16, code: &str, message: impl Into<String>) -> Reply {
    json_reply(status, &ErrorReply { code: code.into(), message: message.into() })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_reply(w: &mut impl Write, reply: Reply, keep_alive: bool) -> io::Result<bool> {
    match reply {
        Reply::Full { status, content_type, body, retry_after_s } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {}\r\n",
                reason_phrase(status),
                body.len(),
                if keep_alive { "keep-alive" } else { "close" }
            );
            if let Some(s) = retry_after_s {
                head.push_str(&format!("Retry-After: {s}\r\n"));
            }
            head.push_str("\r\n");
            let mut out = head.into_bytes();
            out.extend_from_slice(&body);
            w.write_all(&out)?;
            w.flush()?;
            Ok(keep_alive)
        }
        Reply::CutShort { body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                body.len() + 64
            );
            w.write_all(head.as_bytes())?;
            w.write_all(&body[..body.len() / 2])?;
            w.flush()?;
            Ok(false)
        }
        Reply::HangUp => Ok(false),
    }
}

/// A connection as the HTTP code sees it: plain TCP, or TLS over it.
trait Connection: Read + Write {
    /// Ends the connection after the last reply (or a cut-off one).
    fn close(&mut self);
}

impl Connection for TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

type TlsStream = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

impl Connection for TlsStream {
    fn close(&mut self) {
        // close_notify, as a TLS server sends it; after a `CutShort` reply the body is still short
        // of its Content-Length, so the client sees the cut either way.
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}

fn serve_connection(shared: &Arc<Shared>, stream: TcpStream, id: u64) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    match &shared.tls {
        None => serve_http(shared, stream),
        Some(tls) => match rustls::ServerConnection::new(tls.clone()) {
            // The handshake runs on the first read, under the same idle timeout.
            Ok(conn) => serve_http(shared, TlsStream::new(conn, stream)),
            Err(e) => tracing::warn!(error = %e, "reference receiver: TLS session not created"),
        },
    }
    shared.connections.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
}

fn serve_http(shared: &Shared, stream: impl Connection) {
    let mut conn = BufReader::new(stream);
    while !shared.stopped() {
        let req = match read_request(&mut conn) {
            Ok(Some(req)) => req,
            Ok(None) | Err(ReadError::Io) => break,
            Err(ReadError::Malformed(message)) => {
                shared.state().requests += 1;
                let _ = write_reply(conn.get_mut(), error_reply(400, "malformed_request", message), false);
                break;
            }
        };
        shared.state().requests += 1;
        let keep_alive = req.keep_alive;
        let reply = respond(shared, &req);
        match write_reply(conn.get_mut(), reply, keep_alive) {
            Ok(true) => {}
            _ => break,
        }
    }
    conn.get_mut().close();
}

// ---- authentication ------------------------------------------------------------------------------

fn auth_failure(shared: &Shared, code: &str, message: String) -> Reply {
    *shared.state().auth_failures.entry(code.to_string()).or_default() += 1;
    error_reply(401, code, message)
}

fn rfc3339_utc(s: i64) -> String {
    DateTime::<Utc>::from_timestamp(s, 0).map(|t| t.to_rfc3339()).unwrap_or_else(|| "out of range".into())
}

/// Checks in the documented order, then routes. The size limit is applied after the app key but
/// before the signature, because verifying needs the whole body in memory.
fn respond(shared: &Shared, req: &HttpRequest) -> Reply {
    let Some(app_key) = req.header(HEADER_APP_KEY).filter(|k| !k.is_empty()) else {
        return auth_failure(shared, "bad_signature", format!("header {HEADER_APP_KEY} is missing"));
    };
    let (secret, venue_code) = {
        let st = shared.state();
        if app_key != st.app_key {
            drop(st);
            return auth_failure(shared, "unknown_app_key", format!("app key “{app_key}” is not known here"));
        }
        (st.secret.clone(), st.venue_code.clone())
    };
    let Some(timestamp_s) = req.header(HEADER_TIMESTAMP).and_then(|t| t.parse::<i64>().ok()) else {
        return auth_failure(
            shared,
            "bad_signature",
            format!("header {HEADER_TIMESTAMP} is missing or not a Unix time in seconds"),
        );
    };
    let Some(nonce) = req.header(HEADER_NONCE).filter(|n| signing::nonce_is_well_formed(n)) else {
        return auth_failure(
            shared,
            "bad_signature",
            format!("header {HEADER_NONCE} is missing or not 16–64 hexadecimal characters"),
        );
    };
    let Some(signature) =
        req.header(HEADER_SIGNATURE).filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return auth_failure(
            shared,
            "bad_signature",
            format!("header {HEADER_SIGNATURE} is missing or not 64 hexadecimal characters"),
        );
    };
    let body = match &req.body {
        Body::Bytes(b) => b.as_slice(),
        Body::TooLarge { .. } => {
            return error_reply(413, "batch_too_large", format!("the body is over {MAX_BODY_BYTES} bytes"));
        }
    };
    if !signing::verify(&secret, &req.method, &req.target, timestamp_s, nonce, body, signature) {
        return auth_failure(
            shared,
            "bad_signature",
            format!(
                "{HEADER_SIGNATURE} does not match the request (method, path and query as sent, timestamp, nonce, body)"
            ),
        );
    }
    {
        let mut st = shared.state();
        let now_s = st.now().timestamp();
        if (now_s - timestamp_s).abs() > MAX_SKEW_SECONDS {
            drop(st);
            return auth_failure(
                shared,
                "clock_skew",
                format!(
                    "{HEADER_TIMESTAMP} {timestamp_s} ({}) is {} s from the receiver's clock {now_s} ({}); at most {MAX_SKEW_SECONDS} s is allowed",
                    rfc3339_utc(timestamp_s),
                    (now_s - timestamp_s).abs(),
                    rfc3339_utc(now_s)
                ),
            );
        }
        while st.nonce_times.front().is_some_and(|(t, _)| now_s - t > NONCE_MEMORY_S) {
            if let Some((_, old)) = st.nonce_times.pop_front() {
                st.nonces.remove(&old);
            }
        }
        if !st.nonces.insert(nonce.to_string()) {
            drop(st);
            return auth_failure(shared, "replayed_nonce", format!("nonce {nonce} was used before"));
        }
        st.nonce_times.push_back((now_s, nonce.to_string()));
    }
    route(shared, req, body, &venue_code)
}

// ---- routes --------------------------------------------------------------------------------------

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi * 16 + lo);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_params(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn route(shared: &Shared, req: &HttpRequest, body: &[u8], venue_code: &str) -> Reply {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let segments: Vec<String> = match path.strip_prefix("/api/v1/") {
        Some(rest) => rest.split('/').map(percent_decode).collect(),
        None => Vec::new(),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ["venues", code, ..] = segments.as_slice()
        && *code != venue_code
    {
        return error_reply(
            403,
            "venue_mismatch",
            format!("this app key serves venue {venue_code}, not “{code}”"),
        );
    }
    match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["venues", _, "events"]) => post_events(shared, body),
        ("GET", ["venues", _, "bookings"]) => bookings(shared, &query_params(query)),
        ("GET", ["venues", _, "sessions"]) => sessions(shared, &query_params(query)),
        ("GET", ["sessions", id, "roster"]) => roster(shared, id),
        _ => error_reply(404, "not_found", format!("no such endpoint: {} {path}", req.method)),
    }
}

enum ModeAction {
    Process,
    Refuse(Reply),
    Stall(Duration),
    Malformed,
    CutShort,
}

fn take_mode_action(st: &mut State) -> ModeAction {
    match st.mode.clone() {
        Mode::Normal => ModeAction::Process,
        Mode::Fail { status } => {
            let code = match status {
                429 => "rate_limited",
                503 => "unavailable",
                400 => "malformed_request",
                404 => "not_found",
                _ => "simulated_failure",
            };
            ModeAction::Refuse(error_reply(
                status,
                code,
                format!("the receiver is set to fail with {status}"),
            ))
        }
        Mode::RateLimited { retry_after_s, times } | Mode::Unavailable { retry_after_s, times } => {
            let limited = matches!(st.mode, Mode::RateLimited { .. });
            st.mode = match (times, limited) {
                (0 | 1, _) => Mode::Normal,
                (n, true) => Mode::RateLimited { retry_after_s, times: n - 1 },
                (n, false) => Mode::Unavailable { retry_after_s, times: n - 1 },
            };
            if times == 0 {
                return ModeAction::Process;
            }
            let (status, code, message) = if limited {
                (429, "rate_limited", "too many requests; retry after the given seconds")
            } else {
                (503, "unavailable", "the service system is under maintenance; retry after the given seconds")
            };
            let body = serde_json::to_vec(&ErrorReply { code: code.into(), message: message.into() })
                .unwrap_or_else(|_| b"{}".to_vec());
            ModeAction::Refuse(Reply::Full {
                status,
                content_type: "application/json; charset=utf-8",
                body,
                retry_after_s: Some(retry_after_s),
            })
        }
        Mode::Stall { ms } => ModeAction::Stall(Duration::from_millis(ms)),
        Mode::Malformed => ModeAction::Malformed,
        Mode::CloseMidResponse => ModeAction::CutShort,
    }
}

/// Waits `d` unless the receiver stops first; true if it stopped.
fn stall(shared: &Shared, d: Duration) -> bool {
    let until = Instant::now() + d;
    while !shared.stopped() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
    true
}

const GATEWAY_LOGIN_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>统一身份认证</title>\
</head><body><p>会话已过期，请重新登录。</p></body></html>";

fn post_events(shared: &Shared, body: &[u8]) -> Reply {
    let action = {
        let mut st = shared.state();
        st.event_posts += 1;
        take_mode_action(&mut st)
    };
    let action = match action {
        ModeAction::Refuse(reply) => return reply,
        ModeAction::Stall(d) => {
            if stall(shared, d) {
                return Reply::HangUp;
            }
            ModeAction::Process
        }
        other => other,
    };
    let batch: EventBatch = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            return error_reply(400, "malformed_request", format!("the body is not an event batch: {e}"));
        }
    };
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return error_reply(
            413,
            "batch_too_large",
            format!("{} events in one batch; at most {MAX_EVENTS_PER_BATCH}", batch.events.len()),
        );
    }
    let reply = {
        let mut st = shared.state();
        take_batch(&mut st, batch)
    };
    match action {
        ModeAction::Malformed => Reply::Full {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: GATEWAY_LOGIN_PAGE.as_bytes().to_vec(),
            retry_after_s: None,
        },
        ModeAction::CutShort => {
            Reply::CutShort { body: serde_json::to_vec(&reply).unwrap_or_else(|_| b"{}".to_vec()) }
        }
        _ => json_reply(200, &reply),
    }
}

/// Sorts a batch into the three lists under one lock, so concurrent resends of the same events
/// cannot both be accepted.
fn take_batch(st: &mut State, batch: EventBatch) -> EventsReply {
    let mut reply = EventsReply::default();
    for e in batch.events {
        if st.accepted_ids.contains(&e.event_id) {
            st.duplicates += 1;
            reply.duplicates.push(e.event_id);
            continue;
        }
        let verdict = check_event(&e, &st.venue_code).and_then(|()| {
            if st.accepted_seqs.contains(&e.seq) {
                Err(("invalid_seq", format!("seq {} is already held under another eventId", e.seq)))
            } else if st.reject_types.contains(&e.event_type) {
                Err((
                    "invalid_payload",
                    format!("the receiver is set to refuse events of type {}", e.event_type),
                ))
            } else {
                Ok(())
            }
        });
        match verdict {
            Ok(()) => {
                note_seq(st, e.seq);
                note_chain(st, &e);
                st.accepted_seqs.insert(e.seq);
                st.accepted_ids.insert(e.event_id.clone());
                reply.accepted.push(e.event_id.clone());
                st.accepted.push(e);
            }
            Err((code, reason)) => {
                let r = RejectedEvent { event_id: e.event_id, code: code.into(), reason };
                st.rejections.push(r.clone());
                reply.rejected.push(r);
            }
        }
    }
    reply
}

fn is_upper_snake(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && !s.ends_with('_')
        && !s.contains("__")
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The per-event checks that need nothing but the event. The hash is checked before the record and
/// the payload are compared, so an edited record is reported as what it is: `hash_mismatch`.
fn check_event(e: &WireEvent, venue_code: &str) -> Result<(), (&'static str, String)> {
    let id_ok = e.event_id.len() == 36 && uuid::Uuid::parse_str(&e.event_id).is_ok();
    if !id_ok {
        return Err(("invalid_event_id", format!("eventId “{}” is not a UUID", e.event_id)));
    }
    if e.seq < 1 {
        return Err(("invalid_seq", format!("seq {} is below 1", e.seq)));
    }
    if !is_upper_snake(&e.event_type) {
        return Err(("unknown_type", format!("type “{}” is not an UPPER_SNAKE event type", e.event_type)));
    }
    let Ok(occurred_at) = DateTime::parse_from_rfc3339(&e.occurred_at) else {
        return Err((
            "invalid_time",
            format!("occurredAt “{}” is not RFC 3339 with an offset", e.occurred_at),
        ));
    };
    if !e.payload.is_object() {
        return Err(("invalid_payload", "payload is not a JSON object".into()));
    }
    let r = &e.record;
    if !is_hash(&e.prev_hash) || !is_hash(&e.hash) {
        return Err(("hash_mismatch", "prevHash and hash must be 64 hexadecimal characters".into()));
    }
    if r.seq < 1 {
        return Err(("hash_mismatch", format!("record.seq {} is below 1", r.seq)));
    }
    let links_to_zero = e.prev_hash == ZERO_HASH;
    if (r.seq == 1) != links_to_zero {
        return Err((
            "hash_mismatch",
            format!("record {} has prevHash {}: only the first record links to 64 zeros", r.seq, e.prev_hash),
        ));
    }
    let row = JournalRow {
        seq: r.seq,
        recorded_at: r.recorded_at.clone(),
        recorded_at_ms: r.recorded_at_ms,
        actor: r.actor.clone(),
        actor_role: r.actor_role.clone(),
        kind: r.kind.clone(),
        subject: r.subject.clone(),
        outcome: r.outcome.clone(),
        detail: r.detail.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: String::new(),
    };
    let expected = hash_of(&row);
    if !expected.eq_ignore_ascii_case(&e.hash) {
        return Err((
            "hash_mismatch",
            format!("hash {} is not SHA-256 of record {}'s canonical form ({expected})", e.hash, r.seq),
        ));
    }
    if DateTime::parse_from_rfc3339(&r.recorded_at).ok() != Some(occurred_at) {
        return Err((
            "invalid_time",
            format!("occurredAt {} is not the record's recordedAt {}", e.occurred_at, r.recorded_at),
        ));
    }
    payload_agrees(e, venue_code).map_err(|reason| ("invalid_payload", reason))
}

/// `payload.detail` is `record.detail` parsed and the other payload fields repeat the record's
/// (docs/api/service-system.yaml, "Journal chain"); a field the payload leaves out is not compared.
fn payload_agrees(e: &WireEvent, venue_code: &str) -> Result<(), String> {
    use serde_json::Value;
    let r = &e.record;
    let same = |field: &str, want: Value| match e.payload.get(field) {
        Some(got) if *got != want => Err(format!("payload.{field} is {got}, the record says {want}")),
        _ => Ok(()),
    };
    same("venueCode", Value::from(venue_code))?;
    same("actor", Value::from(r.actor.as_str()))?;
    same("actorRole", r.actor_role.as_deref().map(Value::from).unwrap_or(Value::Null))?;
    same("subject", Value::from(r.subject.as_str()))?;
    same("outcome", Value::from(r.outcome.as_str()))?;
    if let Some(detail) = e.payload.get("detail") {
        match serde_json::from_str::<Value>(&r.detail) {
            Ok(parsed) if parsed == *detail => {}
            Ok(_) => return Err("payload.detail is not the record's detail".into()),
            Err(_) => return Err("record.detail is not JSON text".into()),
        }
    }
    Ok(())
}

/// Keeps `seq_gaps` as the holes below the highest accepted seq.
fn note_seq(st: &mut State, seq: i64) {
    if seq > st.highest_seq + 1 {
        st.seq_gaps.push((st.highest_seq + 1, seq - 1));
    } else if seq <= st.highest_seq
        && let Some(i) = st.seq_gaps.iter().position(|(a, b)| (*a..=*b).contains(&seq))
    {
        let (a, b) = st.seq_gaps.remove(i);
        let mut rest = Vec::new();
        if a < seq {
            rest.push((a, seq - 1));
        }
        if seq < b {
            rest.push((seq + 1, b));
        }
        st.seq_gaps.splice(i..i, rest);
    }
    st.highest_seq = st.highest_seq.max(seq);
}

/// Checks the event's links to the accepted records on either side of it, whichever came first.
fn note_chain(st: &mut State, e: &WireEvent) {
    let seq = e.record.seq;
    if let Some((before_hash, _)) = st.records.get(&(seq - 1))
        && !before_hash.eq_ignore_ascii_case(&e.prev_hash)
    {
        st.chain_breaks.push(seq);
    }
    if let Some((_, after_prev)) = st.records.get(&(seq + 1))
        && !after_prev.eq_ignore_ascii_case(&e.hash)
    {
        st.chain_breaks.push(seq + 1);
    }
    st.records.entry(seq).or_insert_with(|| (e.hash.clone(), e.prev_hash.clone()));
}

fn bookings(shared: &Shared, params: &HashMap<String, String>) -> Reply {
    let st = shared.state();
    let since = params.get("since").map(String::as_str).unwrap_or("");
    let start = if since.is_empty() {
        0
    } else {
        match since.parse::<usize>() {
            Ok(i) if since.bytes().all(|b| b.is_ascii_digit()) && i <= st.bookings.len() => i,
            _ => {
                return error_reply(
                    400,
                    "malformed_request",
                    format!("cursor “{since}” was not issued here"),
                );
            }
        }
    };
    let limit = match params.get("limit").map(String::as_str) {
        None | Some("") => DEFAULT_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => {
                return error_reply(
                    400,
                    "malformed_request",
                    format!("limit “{l}” is not a positive number"),
                );
            }
        },
    };
    let end = (start + limit).min(st.bookings.len());
    json_reply(
        200,
        &BookingPage {
            items: st.bookings[start..end].to_vec(),
            next: end.to_string(),
            more: end < st.bookings.len(),
        },
    )
}

/// The venue-local day a session starts on.
fn session_day(s: &PlatformSession, tz: Tz) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(&s.start).ok().map(|t| t.with_timezone(&tz).date_naive())
}

fn sessions(shared: &Shared, params: &HashMap<String, String>) -> Reply {
    let date = params.get("date").map(String::as_str).unwrap_or("");
    let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        return error_reply(400, "malformed_request", format!("date “{date}” is not YYYY-MM-DD"));
    };
    let st = shared.state();
    let tz = st.tz();
    let mut items: Vec<PlatformSession> =
        st.sessions.iter().filter(|(s, _)| session_day(s, tz) == Some(day)).map(|(s, _)| s.clone()).collect();
    items.sort_by_key(|s| DateTime::parse_from_rfc3339(&s.start).map(|t| t.timestamp()).unwrap_or(0));
    json_reply(200, &SessionList { items })
}

fn roster(shared: &Shared, session_id: &str) -> Reply {
    let st = shared.state();
    let tz = st.tz();
    let Some((session, experts)) = st.sessions.iter().find(|(s, _)| s.session_id == session_id) else {
        return error_reply(404, "not_found", format!("no session “{session_id}”"));
    };
    let today = st.now().with_timezone(&tz).date_naive();
    let day = session_day(session, tz);
    if day != Some(today) {
        let day = day.map(|d| d.to_string()).unwrap_or_else(|| session.start.clone());
        return error_reply(
            403,
            "not_session_day",
            format!("the roster of session {session_id} is served on {day} only; today is {today} ({tz})"),
        );
    }
    let Some(experts) = experts else {
        return error_reply(404, "not_found", format!("session {session_id} has no expert roster"));
    };
    json_reply(200, &RosterReply { session_id: session_id.into(), experts: experts.clone() })
}

/// Two booking requests from the platform waiting for the venue manager, dated from `today` in
/// the venue's zone: a bid opening tomorrow in the second bid-opening room (`kb-2`) and a
/// two-section evaluation the day after in the second evaluation room (`pb-2`). The ids are
/// derived from the dates, so `venue-sim` restarted on the same day offers the same requests and
/// the app's de-duplication by platform id is what a demo shows.
pub fn demo_bookings(today: NaiveDate, tz: Tz) -> Vec<PlatformBooking> {
    use chrono::{Days, NaiveTime, TimeZone};
    let at = |day: NaiveDate, h: u32, m: u32| {
        let local = day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default());
        let t = tz.from_local_datetime(&local).earliest().unwrap_or_else(|| tz.from_utc_datetime(&local));
        t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    };
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let day_after = today.checked_add_days(Days::new(2)).unwrap_or(today);
    let id = |day: NaiveDate, n: u32| format!("PB{}{n:04}", day.format("%Y%m%d"));
    vec![
        PlatformBooking {
            platform_booking_id: id(tomorrow, 1),
            action: PlatformAction::Request,
            project: PlatformProject {
                tender_project_code: "E3101000002202611093".into(),
                name: "示范市第一人民医院医疗设备采购项目".into(),
                category: "government_procurement".into(),
                tenderer_name: "示范市第一人民医院".into(),
                tenderer_credit_code: "12350100488100273L".into(),
                agency_name: Some("示范市建设工程招标代理有限公司".into()),
                agency_credit_code: Some("91350100MA2Y4K8N1X".into()),
                responsible_staff: "林晓峰".into(),
            },
            bid_section_codes: vec!["001".into()],
            room_id: "kb-2".into(),
            purpose: "bid_opening".into(),
            start: at(tomorrow, 9, 30),
            end: at(tomorrow, 11, 30),
            expected_participants: 24,
            expected_experts: 0,
            notes: "不见面开标同步直播，投标人代表可到场".into(),
        },
        PlatformBooking {
            platform_booking_id: id(day_after, 1),
            action: PlatformAction::Request,
            project: PlatformProject {
                tender_project_code: "E3101000001202611102".into(),
                name: "示范市城东片区道路提升改造工程（二期）施工".into(),
                category: "construction".into(),
                tenderer_name: "示范市城市建设投资集团有限公司".into(),
                tenderer_credit_code: "91350100158140529L".into(),
                agency_name: Some("示范市华诚工程咨询有限公司".into()),
                agency_credit_code: Some("91350100MA31C6QF0R".into()),
                responsible_staff: "陈静".into(),
            },
            bid_section_codes: vec!["001".into(), "002".into()],
            room_id: "pb-2".into(),
            purpose: "evaluation".into(),
            start: at(day_after, 9, 0),
            end: at(day_after, 17, 0),
            expected_participants: 0,
            expected_experts: 7,
            notes: "评标委员会 7 人（经济 2 人、技术 5 人），两个标段连续评审".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_upper_snake() {
        for ok in ["EXPERT_CHECK_IN", "DOOR_GRANTED", "A", "RECORDING_SEGMENT_CLOSED", "GATE_ALARM_2"] {
            assert!(is_upper_snake(ok), "{ok}");
        }
        for bad in ["", "expert_check_in", "_A", "A_", "A__B", "1A", "EXPERT-CHECK-IN", "Expert"] {
            assert!(!is_upper_snake(bad), "{bad}");
        }
    }

    #[test]
    fn gaps_open_and_close_as_events_arrive() {
        let mut st = State::default();
        for seq in [1, 2, 5, 6, 9] {
            note_seq(&mut st, seq);
        }
        assert_eq!(st.seq_gaps, vec![(3, 4), (7, 8)]);
        note_seq(&mut st, 7);
        assert_eq!(st.seq_gaps, vec![(3, 4), (8, 8)]);
        note_seq(&mut st, 3);
        note_seq(&mut st, 8);
        assert_eq!(st.seq_gaps, vec![(4, 4)]);
        let mut late = State::default();
        note_seq(&mut late, 4);
        assert_eq!(late.seq_gaps, vec![(1, 3)], "a receiver that missed the start sees the hole");
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = query_params("since=12&date=2026-11-22&x=%E5%BC%80%E6%A0%87&flag&odd=%G1%");
        assert_eq!(q["since"], "12");
        assert_eq!(q["date"], "2026-11-22");
        assert_eq!(q["x"], "开标");
        assert_eq!(q["flag"], "");
        assert_eq!(q["odd"], "%G1%");
    }

    #[test]
    fn modes_count_down_to_normal() {
        let mut st = State { mode: Mode::RateLimited { retry_after_s: 7, times: 2 }, ..State::default() };
        for _ in 0..2 {
            match take_mode_action(&mut st) {
                ModeAction::Refuse(Reply::Full { status: 429, retry_after_s: Some(7), .. }) => {}
                _ => panic!("expected a 429 with Retry-After"),
            }
        }
        assert_eq!(st.mode, Mode::Normal);
        assert!(matches!(take_mode_action(&mut st), ModeAction::Process));
        let mode: Mode =
            serde_json::from_str(r#"{"mode":"unavailable","retry_after_s":3,"times":1}"#).unwrap();
        assert_eq!(mode, Mode::Unavailable { retry_after_s: 3, times: 1 });
        let mode: Mode = serde_json::from_str(r#"{"mode":"close_mid_response"}"#).unwrap();
        assert_eq!(mode, Mode::CloseMidResponse);
    }

    #[test]
    fn demo_bookings_are_valid_requests_for_the_next_two_days() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let items = demo_bookings(today, chrono_tz::Asia::Shanghai);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].start, "2026-11-22T09:30:00+08:00");
        assert_eq!(items[1].end, "2026-11-23T17:00:00+08:00");
        assert_eq!((items[0].room_id.as_str(), items[1].room_id.as_str()), ("kb-2", "pb-2"));
        assert_ne!(items[0].platform_booking_id, items[1].platform_booking_id);
        for b in &items {
            let p = &b.project;
            crate::domain::project::validate_credit_code(&p.tenderer_credit_code, "tenderer").unwrap();
            let agency = p.agency_credit_code.as_deref().unwrap();
            crate::domain::project::validate_credit_code(agency, "agency").unwrap();
            assert!(!crate::domain::project::validate_project_code(&p.tender_project_code).unwrap().1);
        }
    }
}
