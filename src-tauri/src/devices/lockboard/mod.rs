//! RS-485 lock-board driver: the common "8A/80" locker control board (devices.md, "Locker banks"),
//! over a serial device server (raw TCP) or a local serial port.
//!
//! Two rules shape everything here. Silence is a fault: an exchange that gets no valid answer
//! after its retries fails with `Unavailable`, never passes as success. And an open is only
//! reported done when the board says the lock is open; because a successful open's answer can be
//! byte-identical to the request (and so to an adapter's echo), an answer that could be either is
//! checked by asking the lock's state before the driver believes it.

pub mod frame;
mod transport;

use std::sync::Arc;
use std::time::Duration;

pub use frame::LockPolarity;
pub use transport::LockBus;

use self::frame::{GAP, Reply, Request, STATUS_SET};
use self::transport::{Answer, BusGuard, Failure, Timing};
use super::{LockBoard, LockState};
use crate::error::{Error, ErrorKind, Result};

/// The boards' factory setting.
pub const DEFAULT_BAUD: u32 = 9600;
/// DIP switches give 1–32.
pub const BOARD_ADDRESSES: std::ops::RangeInclusive<u8> = 1..=32;
/// The largest boards sold drive 48 locks.
pub const MAX_CHANNELS: u8 = 48;

/// One board's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockBoardSettings {
    /// The board's DIP address, 1–32.
    pub board_address: u8,
    /// Locks wired to the board, 1–48 (usually 12–24).
    pub channels: u8,
    pub polarity: LockPolarity,
    /// How long one request waits for its answer. At 9600 baud a board answers within tens of
    /// milliseconds; the default leaves room for a device server's packetisation.
    pub reply_timeout_ms: u64,
    /// Further attempts after an unanswered or damaged one. RS-485 lines pick up noise (lift
    /// motors, long unshielded runs), so one lost frame must not fail an operation.
    pub retries: u32,
}

impl LockBoardSettings {
    /// The common wiring (0x11 = unlocked), a 300 ms answer timeout and two retries.
    pub fn new(board_address: u8, channels: u8) -> Self {
        LockBoardSettings {
            board_address,
            channels,
            polarity: LockPolarity::UnlockedWhenSet,
            reply_timeout_ms: 300,
            retries: 2,
        }
    }
}

/// One lock board on a bus. Blocking: call it from `spawn_blocking`.
#[derive(Debug, Clone)]
pub struct LockBoardDriver {
    bus: Arc<LockBus>,
    settings: LockBoardSettings,
}

impl LockBoardDriver {
    /// A board behind a serial device server at `address` ("host:port", raw TCP socket). Drivers
    /// for boards behind the same server share one connection.
    pub fn tcp(address: &str, settings: LockBoardSettings) -> Self {
        Self::on_bus(LockBus::tcp(address), settings)
    }

    /// A board on a local serial port (`/dev/ttyUSB0`, `COM3`, a pty), 8N1 at `baud` (0 means
    /// [`DEFAULT_BAUD`]). Drivers for boards on the same port share it.
    pub fn serial(path: &str, baud: u32, settings: LockBoardSettings) -> Self {
        let baud = if baud == 0 { DEFAULT_BAUD } else { baud };
        Self::on_bus(LockBus::serial(path, baud), settings)
    }

    /// A board on an existing bus, for several boards daisy-chained on one line.
    pub fn on_bus(bus: Arc<LockBus>, settings: LockBoardSettings) -> Self {
        LockBoardDriver { bus, settings }
    }

    pub fn settings(&self) -> &LockBoardSettings {
        &self.settings
    }

    pub fn bus(&self) -> &Arc<LockBus> {
        &self.bus
    }

    fn board(&self) -> u8 {
        self.settings.board_address
    }

    fn timing(&self) -> Timing {
        let reply_timeout = Duration::from_millis(self.settings.reply_timeout_ms);
        // Long enough for a board's answer to follow an adapter's echo, short enough not to
        // make every open wait out the whole timeout.
        let settle = (reply_timeout / 3).max(GAP * 2).min(reply_timeout);
        Timing { reply_timeout, settle }
    }

    fn check_settings(&self) -> Result<()> {
        let s = &self.settings;
        if !BOARD_ADDRESSES.contains(&s.board_address) {
            return Err(Error::invalid(
                format!(
                    "锁控板 {} 的板号 {} 无效，应为 1–32（与板上拨码一致）。请修改场所配置中的 board_address。",
                    self.bus.address(),
                    s.board_address
                ),
                format!(
                    "Lock board address {} on {} is not valid: it must be 1–32, as set on the board's DIP \
                     switches. Correct board_address in the venue file.",
                    s.board_address,
                    self.bus.address()
                ),
            ));
        }
        if s.channels == 0 || s.channels > MAX_CHANNELS {
            return Err(Error::invalid(
                format!(
                    "锁控板 {} 板号 {} 的锁数 {} 无效，应为 1–{MAX_CHANNELS}。请修改场所配置中的 channels。",
                    self.bus.address(),
                    s.board_address,
                    s.channels
                ),
                format!(
                    "Lock board {} on {} cannot have {} locks: it must be 1–{MAX_CHANNELS}. Correct channels \
                     in the venue file.",
                    s.board_address,
                    self.bus.address(),
                    s.channels
                ),
            ));
        }
        if s.reply_timeout_ms == 0 {
            return Err(Error::invalid(
                "锁控板应答超时不能为 0 毫秒。",
                "The lock board's reply timeout cannot be 0 ms.",
            ));
        }
        Ok(())
    }

    fn check_lock(&self, lock: u8) -> Result<()> {
        self.check_settings()?;
        let n = self.settings.channels;
        if (1..=n).contains(&lock) {
            return Ok(());
        }
        Err(Error::invalid(
            format!(
                "锁号 {lock} 不存在：锁控板 {} 板号 {} 只有 1–{n} 号锁。请检查储物柜的锁号配置。",
                self.bus.address(),
                self.board()
            ),
            format!(
                "There is no lock {lock}: lock board {} on {} has locks 1–{n}. Check the locker bank's lock \
                 numbers.",
                self.board(),
                self.bus.address()
            ),
        ))
    }

    /// Sends `request` until it is answered or the attempts run out.
    fn request(&self, bus: &mut BusGuard<'_>, request: Request) -> Result<Answer> {
        let attempts = self.settings.retries.saturating_add(1);
        let mut last = Failure::Silent;
        for attempt in 1..=attempts {
            match bus.exchange(&request, self.settings.channels, self.timing()) {
                Ok(answer) => return Ok(answer),
                // Connecting has its own timeout; repeating it would only multiply the wait.
                Err(Failure::Connect(e)) => return Err(self.connect_error(&e)),
                Err(failure) => {
                    tracing::warn!(
                        bus = %self.bus.address(),
                        board = self.board(),
                        ?request,
                        attempt,
                        attempts,
                        ?failure,
                        "lock board request failed"
                    );
                    last = failure;
                }
            }
        }
        Err(self.failure_error(last, attempts))
    }

    fn connect_error(&self, e: &std::io::Error) -> Error {
        let a = self.bus.address();
        if self.bus.is_serial() {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "无法打开锁控板串口 {a}：{e}。请检查 USB 转 RS-485 适配器是否插好、串口是否被其他程序占用，然后重试。"
                ),
                format!(
                    "Cannot open the lock board's serial port {a}: {e}. Check that the USB–RS-485 adapter is \
                     plugged in and that no other program is using the port, then try again."
                ),
            )
        } else {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "无法连接锁控板串口服务器 {a}：{e}。请检查其电源、网线以及 IP 地址和端口，然后重试。"
                ),
                format!(
                    "Cannot connect to the lock board's serial device server at {a}: {e}. Check its power, \
                     network cable, IP address and port, then try again."
                ),
            )
        }
    }

    fn failure_error(&self, failure: Failure, attempts: u32) -> Error {
        let (a, b, t) = (self.bus.address(), self.board(), self.settings.reply_timeout_ms);
        match failure {
            Failure::Corrupt => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "锁控板 {a} 板号 {b} 的应答校验错误（已尝试 {attempts} 次）。请检查 RS-485 接线、终端电阻和波特率设置，然后重试。"
                ),
                format!(
                    "Lock board {b} on {a} answered with damaged frames ({attempts} attempts). Check the RS-485 \
                     wiring, the termination resistor and the baud rate, then try again."
                ),
            ),
            Failure::Io(e) | Failure::Connect(e) => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "与锁控板 {a} 板号 {b} 的连接中断：{e}（已尝试 {attempts} 次）。请检查串口服务器或 USB 转 RS-485 适配器的连接，然后重试。"
                ),
                format!(
                    "The connection to lock board {b} on {a} broke: {e} ({attempts} attempts). Check the serial \
                     device server or USB–RS-485 adapter, then try again."
                ),
            ),
            Failure::Silent => Error::new(
                ErrorKind::Unavailable,
                format!(
                    "锁控板 {a} 板号 {b} 无应答（已尝试 {attempts} 次，每次等待 {t} 毫秒）。请检查锁控板电源和 RS-485 接线，并核对板上拨码地址是否为 {b}，然后重试。"
                ),
                format!(
                    "Lock board {b} on {a} did not answer ({attempts} attempts, {t} ms each). Check the board's \
                     power and RS-485 wiring and that its DIP address is {b}, then try again."
                ),
            ),
        }
    }

    fn unexpected(&self, what: &str) -> Error {
        let (a, b) = (self.bus.address(), self.board());
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "锁控板 {a} 板号 {b} 的应答无法识别（{what}）。请确认该锁控板使用 8A/80 协议，并核对极性设置。"
            ),
            format!(
                "Lock board {b} on {a} gave an answer that cannot be understood ({what}). Check that the board \
                 speaks the 8A/80 protocol and that its polarity is set correctly."
            ),
        )
    }

    fn decode(&self, status: u8) -> Result<LockState> {
        self.settings
            .polarity
            .decode_status(status)
            .ok_or_else(|| self.unexpected(&format!("status byte 0x{status:02X}")))
    }

    fn query_one(&self, bus: &mut BusGuard<'_>, lock: u8) -> Result<LockState> {
        match self.request(bus, Request::Query { board: self.board(), lock })? {
            Answer::Reply(Reply::Query { status, .. }) => self.decode(status),
            other => Err(self.unexpected(&format!("{other:?} to a lock query"))),
        }
    }
}

impl LockBoard for LockBoardDriver {
    fn open(&self, lock: u8) -> Result<()> {
        self.check_lock(lock)?;
        let mut bus = self.bus.lock();
        let state = match self.request(&mut bus, Request::Open { board: self.board(), lock })? {
            Answer::Reply(Reply::Open { status, .. }) => self.decode(status)?,
            // An echo, then the board's answer, which repeats the request and so says 0x11.
            Answer::Repeated => self.decode(STATUS_SET)?,
            // Our own echo from a silent board, or the board's answer on a bus without echo:
            // the lock's state settles it (and a silent board fails this query).
            Answer::Ambiguous => self.query_one(&mut bus, lock)?,
            Answer::Reply(other) => return Err(self.unexpected(&format!("{other:?} to an open"))),
        };
        match state {
            LockState::Unlocked => {
                tracing::info!(bus = %self.bus.address(), board = self.board(), lock, "locker opened");
                Ok(())
            }
            LockState::Locked => {
                let (a, b) = (self.bus.address(), self.board());
                tracing::warn!(bus = %a, board = b, lock, "locker did not open");
                Err(Error::precondition(
                    format!(
                        "{lock} 号柜门未能打开（锁控板 {a} 板号 {b}），锁可能卡住。请将该柜标记为故障，另选一个柜子。"
                    ),
                    format!(
                        "Locker {lock} did not open (lock board {b} on {a}): it may be jammed. Mark it faulty \
                         and choose another locker."
                    ),
                ))
            }
        }
    }

    fn state(&self, lock: u8) -> Result<LockState> {
        self.check_lock(lock)?;
        let mut bus = self.bus.lock();
        self.query_one(&mut bus, lock)
    }

    fn states(&self) -> Result<Vec<LockState>> {
        self.check_settings()?;
        let channels = self.settings.channels;
        let polarity = self.settings.polarity;
        let mut bus = self.bus.lock();
        let bitmap = match self.request(&mut bus, Request::QueryAll { board: self.board() })? {
            Answer::Reply(Reply::QueryAll { bitmap, .. }) => bitmap,
            // An echo, then an all-clear answer of one byte, which repeats the request.
            Answer::Repeated => vec![0],
            // One frame equal to the request: an all-clear answer or our echo from a silent board.
            // Asking each lock (at most eight on a one-byte board) settles it either way.
            Answer::Ambiguous => {
                return (1..=channels).map(|lock| self.query_one(&mut bus, lock)).collect();
            }
            Answer::Reply(other) => {
                return Err(self.unexpected(&format!("{other:?} to a query of all locks")));
            }
        };
        Ok(frame::decode_bitmap(&bitmap, channels).into_iter().map(|set| polarity.state(set)).collect())
    }
}
