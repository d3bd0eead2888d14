//! The RS-485 bus a lock board hangs on, reached through a serial device server (raw TCP socket)
//! or a USB–RS-485 adapter, and the one-request-at-a-time exchange over it.
//!
//! The bus is its own object, apart from any board address, because up to 32 boards share one
//! pair of wires: two requests in flight at once would collide on the line, so every exchange
//! holds the bus's lock from request to answer.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::frame::{Decoder, Event, GAP, Reply, Request};

/// A device server on the venue LAN answers a connect within milliseconds; waiting longer only
/// keeps the operator staring at a spinner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// A byte pipe to the bus.
trait Transport: Send {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads what arrives within `wait`; `Ok(0)` means the line stayed silent.
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize>;
    /// Drops bytes that arrived while nobody was asking (late answers, a board's own reports),
    /// so that they cannot be taken for the answer to the next request.
    fn discard_input(&mut self) -> io::Result<()>;
}

struct TcpTransport {
    stream: TcpStream,
}

impl TcpTransport {
    fn connect(address: &str) -> io::Result<Self> {
        let addrs: Vec<SocketAddr> = address.to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    // Frames are 5 bytes; Nagle would hold the second one back for an ACK.
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                    return Ok(TcpTransport { stream });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the device server closed the connection")
}

impl Transport for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Ok(0) => Err(closed()),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn discard_input(&mut self) -> io::Result<()> {
        self.stream.set_nonblocking(true)?;
        let mut buf = [0u8; 256];
        let result = loop {
            match self.stream.read(&mut buf) {
                // A peer that went away shows up here, before a request is wasted on it.
                Ok(0) => break Err(closed()),
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        self.stream.set_nonblocking(false)?;
        result
    }
}

#[cfg(unix)]
type NativePort = serialport::TTYPort;
#[cfg(windows)]
type NativePort = serialport::COMPort;

struct SerialTransport {
    port: NativePort,
}

impl SerialTransport {
    fn open(path: &str, baud: u32) -> io::Result<Self> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(GAP)
            .open_native()
            .map_err(io::Error::from)?;
        Ok(SerialTransport { port })
    }
}

impl Drop for SerialTransport {
    fn drop(&mut self) {
        // The exclusive flag outlives our descriptor while anything else holds the tty open (a
        // pty's other side, a stuck adapter driver); clearing it lets the reconnect open it again.
        #[cfg(unix)]
        let _ = self.port.set_exclusive(false);
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize> {
        use serialport::SerialPort;
        self.port.set_timeout(wait.max(Duration::from_millis(1))).map_err(io::Error::from)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn discard_input(&mut self) -> io::Result<()> {
        use serialport::SerialPort;
        self.port.clear(serialport::ClearBuffer::Input).map_err(io::Error::from)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Endpoint {
    Tcp(String),
    Serial { path: String, baud: u32 },
}

impl Endpoint {
    fn open(&self) -> io::Result<Box<dyn Transport>> {
        Ok(match self {
            Endpoint::Tcp(address) => Box::new(TcpTransport::connect(address)?),
            Endpoint::Serial { path, baud } => Box::new(SerialTransport::open(path, *baud)?),
        })
    }
}

/// One RS-485 bus. Cheap to create; it connects on first use and again after any I/O error.
pub struct LockBus {
    endpoint: Endpoint,
    address: String,
    link: Mutex<Option<Box<dyn Transport>>>,
}

impl std::fmt::Debug for LockBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockBus").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

/// Buses in use in this process, so that boards configured on the same device server or serial
/// port share one connection and one lock instead of fighting over the line.
fn registry() -> &'static Mutex<HashMap<Endpoint, Weak<LockBus>>> {
    static BUSES: OnceLock<Mutex<HashMap<Endpoint, Weak<LockBus>>>> = OnceLock::new();
    BUSES.get_or_init(Default::default)
}

impl LockBus {
    /// The bus behind a serial device server at `address` ("host:port", raw TCP socket).
    pub fn tcp(address: &str) -> Arc<LockBus> {
        Self::shared(Endpoint::Tcp(address.trim().to_string()))
    }

    /// The bus on a local serial port (`/dev/ttyUSB0`, `COM3`, a pty), 8N1 at `baud`.
    pub fn serial(path: &str, baud: u32) -> Arc<LockBus> {
        Self::shared(Endpoint::Serial { path: path.trim().to_string(), baud })
    }

    fn shared(endpoint: Endpoint) -> Arc<LockBus> {
        let mut buses = registry().lock().unwrap_or_else(|e| e.into_inner());
        buses.retain(|_, bus| bus.strong_count() > 0);
        if let Some(bus) = buses.get(&endpoint).and_then(Weak::upgrade) {
            return bus;
        }
        let address = match &endpoint {
            Endpoint::Tcp(a) => a.clone(),
            Endpoint::Serial { path, .. } => path.clone(),
        };
        let bus = Arc::new(LockBus { endpoint: endpoint.clone(), address, link: Mutex::new(None) });
        buses.insert(endpoint, Arc::downgrade(&bus));
        bus
    }

    /// Where the bus is reached, as the operator configured it (for messages).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub(crate) fn is_serial(&self) -> bool {
        matches!(self.endpoint, Endpoint::Serial { .. })
    }

    /// Exclusive use of the bus for one or more exchanges.
    pub(crate) fn lock(&self) -> BusGuard<'_> {
        // A panic mid-exchange leaves the line in an unknown state: start over with a new link.
        let link = self.link.lock().unwrap_or_else(|poisoned| {
            let mut link = poisoned.into_inner();
            *link = None;
            link
        });
        BusGuard { bus: self, link }
    }
}

/// How long to wait for answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub reply_timeout: Duration,
    /// After a frame identical to the request, how long to listen for a second one: the board's
    /// answer following an adapter's echo.
    pub settle: Duration,
}

/// What one request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Reply(Reply),
    /// A frame identical to the request, then a second one: an echo followed by an answer that
    /// equals the request.
    Repeated,
    /// A single frame identical to the request and nothing after it: the board's answer when the
    /// adapter does not echo, or only an echo when the board is silent. The caller must find out.
    Ambiguous,
}

/// Why one attempt failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Could not connect or open the port.
    Connect(io::Error),
    /// The connection broke during the exchange.
    Io(io::Error),
    /// Bytes came back but none formed a valid answer (bad BCC, fragments).
    Corrupt,
    /// Nothing came back.
    Silent,
}

pub(crate) struct BusGuard<'a> {
    bus: &'a LockBus,
    link: MutexGuard<'a, Option<Box<dyn Transport>>>,
}

impl BusGuard<'_> {
    /// Sends `request` once and listens for its answer until `timing.reply_timeout`.
    pub fn exchange(&mut self, request: &Request, channels: u8, timing: Timing) -> Result<Answer, Failure> {
        let result = self.exchange_inner(request, channels, timing);
        if matches!(result, Err(Failure::Io(_))) {
            // The next attempt reconnects.
            *self.link = None;
        }
        result
    }

    fn exchange_inner(&mut self, request: &Request, channels: u8, timing: Timing) -> Result<Answer, Failure> {
        if self.link.is_none() {
            let transport = self.bus.endpoint.open().map_err(Failure::Connect)?;
            tracing::debug!(bus = %self.bus.address, "lock bus connected");
            *self.link = Some(transport);
        }
        let Some(link) = self.link.as_mut() else { return Err(Failure::Silent) };
        link.discard_input().map_err(Failure::Io)?;
        link.write_all(&request.encode()).map_err(Failure::Io)?;

        let may_be_answer = request.answer_may_equal_request(channels);
        let mut decoder = Decoder::new(Some(*request), channels);
        let deadline = Instant::now() + timing.reply_timeout;
        let mut limit = deadline;
        let mut echoed = false;
        let mut damaged = false;
        let mut last_byte: Option<Instant> = None;
        let mut buf = [0u8; 64];
        loop {
            let now = Instant::now();
            if now >= limit {
                if last_byte.is_some() {
                    // Whatever is still buffered will not be completed in time.
                    for event in decoder.gap() {
                        if let Some(answer) =
                            Self::note(&event, self.bus, request, may_be_answer, &mut echoed)
                        {
                            return Ok(answer);
                        }
                        damaged |= matches!(event, Event::Discarded(_));
                    }
                }
                break;
            }
            // Wake up exactly when a gap would be complete, so a damaged answer is noticed
            // promptly.
            let until_gap = last_byte.map_or(GAP, |t| (t + GAP).saturating_duration_since(now));
            let wait = (limit - now).min(until_gap).max(Duration::from_millis(1));
            let n = link.read_within(&mut buf, wait).map_err(Failure::Io)?;
            let events = if n > 0 {
                last_byte = Some(Instant::now());
                decoder.push(&buf[..n])
            } else if last_byte.is_some_and(|t| t.elapsed() >= GAP) {
                last_byte = None;
                decoder.gap()
            } else {
                continue;
            };
            let mut corrupt = false;
            for event in &events {
                let was_echoed = echoed;
                if let Some(answer) = Self::note(event, self.bus, request, may_be_answer, &mut echoed) {
                    return Ok(answer);
                }
                if echoed && !was_echoed && may_be_answer {
                    limit = deadline.min(Instant::now() + timing.settle);
                }
                corrupt |= matches!(event, Event::Discarded(_));
            }
            if corrupt {
                // The board answered and the answer was damaged: ask again rather than wait.
                return Err(Failure::Corrupt);
            }
        }
        match (echoed && may_be_answer, damaged) {
            (true, _) => Ok(Answer::Ambiguous),
            (false, true) => Err(Failure::Corrupt),
            (false, false) => Err(Failure::Silent),
        }
    }

    /// Acts on one decoder event; `Some` when it settles the exchange.
    fn note(
        event: &Event,
        bus: &LockBus,
        request: &Request,
        may_be_answer: bool,
        echoed: &mut bool,
    ) -> Option<Answer> {
        match event {
            Event::Reply(reply) => Some(Answer::Reply(reply.clone())),
            Event::Echo if *echoed && may_be_answer => Some(Answer::Repeated),
            Event::Echo => {
                *echoed = true;
                None
            }
            Event::Unsolicited(frame) => {
                tracing::debug!(bus = %bus.address, ?request, frame = ?frame, "lock bus: unsolicited frame skipped");
                None
            }
            Event::Discarded(n) => {
                tracing::warn!(bus = %bus.address, ?request, bytes = n, "lock bus: damaged frame discarded");
                None
            }
        }
    }
}
