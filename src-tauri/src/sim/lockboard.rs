//! Simulated RS-485 lock boards speaking the "8A/80" protocol, over a TCP socket (as a serial
//! device server would) or a pseudo-terminal (as a USB–RS-485 adapter would), so that the real
//! driver is tested over real sockets and ttys.
//!
//! Several boards may share the simulated bus, like daisy-chained boards on one line; requests to
//! an address no board has go unanswered, as on a real bus. The faults are the ones met on site:
//! a jammed lock, a door that will not shut, a dead board, line noise, an echoing adapter and
//! boards that report on their own.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::devices::LockState;
use crate::devices::lockboard::LockPolarity;
use crate::devices::lockboard::frame::{self, FRAME_LEN, GAP, Reply, Request, STATUS_SET};

/// One simulated board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimBoardConfig {
    pub address: u8,
    pub channels: u8,
    pub polarity: LockPolarity,
}

impl SimBoardConfig {
    /// A board of the common wiring (0x11 = unlocked).
    pub fn new(address: u8, channels: u8) -> Self {
        SimBoardConfig { address, channels, polarity: LockPolarity::UnlockedWhenSet }
    }
}

/// Misbehaviour to put a board into. `Echo` and `Unsolicited` are properties of the line and
/// combine with the others (an echoing adapter in front of a dead board is the case that must
/// never look like success); any other fault replaces the previous one, and `None` clears all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockBoardFault {
    None,
    /// Opening `lock` is acknowledged as failed (the status says still locked); it stays locked.
    Jammed {
        lock: u8,
    },
    /// `lock` opens but never closes again.
    StuckOpen {
        lock: u8,
    },
    /// The board never answers.
    Dead,
    /// The next `count` replies carry a wrong BCC.
    BadChecksum {
        count: u32,
    },
    /// Every request is echoed back before the answer, like some RS-485 adapters do.
    Echo(bool),
    /// The board sends status frames of its own now and then.
    Unsolicited(bool),
}

struct Board {
    config: SimBoardConfig,
    /// `Some(when it was opened)` for an unlocked lock; index 0 is channel 1.
    unlocked_since: Vec<Option<Instant>>,
    fault: LockBoardFault,
    echo: bool,
    unsolicited: bool,
}

impl Board {
    fn state(&self, lock: u8) -> Option<LockState> {
        let slot = self.unlocked_since.get(usize::from(lock).checked_sub(1)?)?;
        Some(if slot.is_some() { LockState::Unlocked } else { LockState::Locked })
    }

    fn stuck_open(&self, lock: u8) -> bool {
        self.fault == LockBoardFault::StuckOpen { lock }
    }

    fn close(&mut self, lock: u8) {
        if self.stuck_open(lock) {
            return;
        }
        if let Some(slot) = usize::from(lock).checked_sub(1).and_then(|i| self.unlocked_since.get_mut(i)) {
            *slot = None;
        }
    }

    fn open(&mut self, lock: u8, now: Instant) -> LockState {
        if self.fault == (LockBoardFault::Jammed { lock }) {
            return self.state(lock).unwrap_or(LockState::Locked);
        }
        if let Some(slot) = usize::from(lock).checked_sub(1).and_then(|i| self.unlocked_since.get_mut(i)) {
            *slot = Some(now);
        }
        LockState::Unlocked
    }

    fn status(&self, lock: u8) -> u8 {
        self.config.polarity.status_byte(self.state(lock).unwrap_or(LockState::Locked))
    }

    fn unsolicited_frame(&self, rng: &mut impl Rng) -> Vec<u8> {
        let lock = rng.gen_range(1..=self.config.channels.max(1));
        Reply::Query { board: self.config.address, lock, status: self.status(lock) }.encode()
    }
}

struct State {
    boards: Vec<Board>,
    opens: Vec<(u8, u8)>,
    auto_close: Option<Duration>,
    last_request: Option<Instant>,
}

impl State {
    /// Closes doors whose simulated person has had time to shut them.
    fn settle(&mut self, now: Instant) {
        let Some(after) = self.auto_close else { return };
        for board in &mut self.boards {
            for lock in 1..=board.config.channels {
                let due = board
                    .unlocked_since
                    .get(usize::from(lock) - 1)
                    .copied()
                    .flatten()
                    .is_some_and(|t| now.duration_since(t) >= after);
                if due {
                    board.close(lock);
                }
            }
        }
    }

    fn board_mut(&mut self, address: u8) -> Option<&mut Board> {
        self.boards.iter_mut().find(|b| b.config.address == address)
    }
}

/// What the line carries back for one request.
#[derive(Default)]
struct Response {
    echo: Option<[u8; FRAME_LEN]>,
    before_reply: Option<Vec<u8>>,
    reply: Option<Vec<u8>>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn respond(&self, request: Request, raw: [u8; FRAME_LEN], rng: &mut impl Rng) -> Response {
        let now = Instant::now();
        let mut st = self.state();
        st.last_request = Some(now);
        st.settle(now);
        let mut opened = Vec::new();
        let Some(board) = st.board_mut(request.board()) else { return Response::default() };
        let echo = board.echo.then_some(raw);
        if board.fault == LockBoardFault::Dead {
            return Response { echo, ..Response::default() };
        }
        let address = board.config.address;
        let channels = board.config.channels;
        let polarity = board.config.polarity;
        let reply = match request {
            Request::Open { lock, .. } if (1..=channels).contains(&lock) => {
                opened.push((address, lock));
                let state = board.open(lock, now);
                Some(Reply::Open { board: address, lock, status: polarity.status_byte(state) })
            }
            Request::OpenAll { .. } => {
                for lock in 1..=channels {
                    board.open(lock, now);
                }
                opened.push((address, 0));
                Some(Reply::Open { board: address, lock: 0, status: STATUS_SET })
            }
            Request::Query { lock, .. } if (1..=channels).contains(&lock) => {
                Some(Reply::Query { board: address, lock, status: board.status(lock) })
            }
            Request::QueryAll { .. } => {
                let set: Vec<bool> = (1..=channels)
                    .map(|l| polarity.is_set(board.state(l).unwrap_or(LockState::Locked)))
                    .collect();
                Some(Reply::QueryAll { board: address, bitmap: frame::encode_bitmap(&set) })
            }
            // A channel the board does not have: real boards stay silent.
            Request::Open { .. } | Request::Query { .. } => None,
        };
        let mut reply = reply.map(|r| r.encode());
        if let (Some(bytes), LockBoardFault::BadChecksum { count }) = (reply.as_mut(), board.fault) {
            if let Some(last) = bytes.last_mut() {
                *last ^= 0xFF;
            }
            board.fault = if count > 1 {
                LockBoardFault::BadChecksum { count: count - 1 }
            } else {
                LockBoardFault::None
            };
        }
        let before_reply = (board.unsolicited && rng.gen_bool(0.5)).then(|| board.unsolicited_frame(rng));
        st.opens.extend(opened);
        Response { echo, before_reply, reply }
    }

    /// Sends a status frame some board reports on its own, while the bus is in use (a board
    /// reporting into an idle port would only fill buffers nobody reads). Written under the state
    /// lock so that a report can never carry a state older than a `close` that returned before it.
    fn idle_report(&self, rng: &mut impl Rng, line: &mut dyn Line) -> io::Result<()> {
        let st = self.state();
        if st.last_request.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            return Ok(());
        }
        let talkers: Vec<&Board> = st.boards.iter().filter(|b| b.unsolicited).collect();
        if talkers.is_empty() {
            return Ok(());
        }
        let board = talkers[rng.gen_range(0..talkers.len())];
        line.send(&board.unsolicited_frame(rng))
    }
}

/// The simulated line's end: a TCP connection or a pty master.
trait Line {
    /// `Ok(0)` when nothing arrived within `wait`; `Err` when the line is gone.
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize>;
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
}

impl Line for TcpStream {
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize> {
        self.set_read_timeout(Some(wait))?;
        match self.read(buf) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }
}

#[cfg(unix)]
struct PtyLine {
    master: serialport::TTYPort,
}

#[cfg(unix)]
impl Line for PtyLine {
    fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize> {
        use serialport::SerialPort;
        self.master.set_timeout(wait).map_err(io::Error::from)?;
        match self.master.read(buf) {
            Ok(n) => Ok(n),
            // Timeouts, and the hang-up a pty reports while no one has the other side open: the
            // bus is just quiet.
            Err(_) => Ok(0),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        // A full pty buffer (nobody reading) drops the frame, as a real line would.
        let _ = self.master.write_all(bytes);
        Ok(())
    }
}

/// Runs the bus until stopped or the line goes away.
fn serve(line: &mut dyn Line, shared: &Shared) {
    let mut rng = rand::thread_rng();
    let mut buf: Vec<u8> = Vec::new();
    let mut last_byte = Instant::now();
    let mut next_report = Instant::now();
    let mut chunk = [0u8; 64];
    while !shared.stop.load(Ordering::Relaxed) {
        let n = match line.read_within(&mut chunk, Duration::from_millis(10)) {
            Ok(n) => n,
            Err(_) => return,
        };
        if n == 0 {
            if !buf.is_empty() && last_byte.elapsed() >= GAP {
                buf.clear();
            }
        } else {
            buf.extend_from_slice(&chunk[..n]);
            last_byte = Instant::now();
        }
        while buf.len() >= FRAME_LEN {
            let mut raw = [0u8; FRAME_LEN];
            raw.copy_from_slice(&buf[..FRAME_LEN]);
            let Some(request) = Request::parse(&raw) else {
                buf.drain(..1);
                continue;
            };
            buf.drain(..FRAME_LEN);
            let response = shared.respond(request, raw, &mut rng);
            if let Some(echo) = response.echo
                && line.send(&echo).is_err()
            {
                return;
            }
            if response.before_reply.is_none() && response.reply.is_none() {
                continue;
            }
            std::thread::sleep(Duration::from_millis(rng.gen_range(2..=6)));
            for bytes in [response.before_reply, response.reply].into_iter().flatten() {
                if line.send(&bytes).is_err() {
                    return;
                }
            }
        }
        if Instant::now() >= next_report {
            next_report = Instant::now() + Duration::from_millis(rng.gen_range(20..=60));
            if shared.idle_report(&mut rng, line).is_err() {
                return;
            }
        }
    }
}

/// Starts simulated buses.
pub struct LockBoardSim;

impl LockBoardSim {
    /// A bus behind a simulated serial device server listening on `bind` (port 0 picks one).
    /// Clients may disconnect and reconnect at will.
    pub fn start_tcp(bind: SocketAddr, boards: Vec<SimBoardConfig>) -> io::Result<LockBoardSimHandle> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(boards)?;
        let accept = {
            let shared = shared.clone();
            std::thread::Builder::new().name("lockboard-sim-accept".into()).spawn(move || {
                while !shared.stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let conn = shared.clone();
                            let spawned = std::thread::Builder::new()
                                .name("lockboard-sim-conn".into())
                                .spawn(move || {
                                    let mut stream = stream;
                                    // A client that stops reading must not wedge `stop`.
                                    let ready = stream.set_nonblocking(false).is_ok()
                                        && stream.set_nodelay(true).is_ok()
                                        && stream.set_write_timeout(Some(Duration::from_secs(1))).is_ok();
                                    if ready {
                                        serve(&mut stream, &conn);
                                    }
                                });
                            if let Ok(handle) = spawned {
                                let mut threads = shared.threads.lock().unwrap_or_else(|e| e.into_inner());
                                threads.retain(|t| !t.is_finished());
                                threads.push(handle);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })?
        };
        Ok(LockBoardSimHandle { shared, addr: Some(addr), pty_path: None, main: Mutex::new(Some(accept)) })
    }

    /// A bus on a pseudo-terminal, opened by the driver through [`LockBoardSimHandle::pty_path`]
    /// like a USB–RS-485 adapter.
    #[cfg(unix)]
    pub fn start_pty(boards: Vec<SimBoardConfig>) -> io::Result<LockBoardSimHandle> {
        let (master, slave) = serialport::TTYPort::pair().map_err(io::Error::from)?;
        let path = serialport::SerialPort::name(&slave)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the pty has no path"))?;
        let shared = Shared::new(boards)?;
        let main = {
            let shared = shared.clone();
            std::thread::Builder::new().name("lockboard-sim-pty".into()).spawn(move || {
                // Holding the slave side open keeps the pty from hanging up between the driver's
                // connections, as a plugged-in adapter would.
                let _slave = slave;
                let mut line = PtyLine { master };
                serve(&mut line, &shared);
            })?
        };
        Ok(LockBoardSimHandle { shared, addr: None, pty_path: Some(path), main: Mutex::new(Some(main)) })
    }

    #[cfg(not(unix))]
    pub fn start_pty(_boards: Vec<SimBoardConfig>) -> io::Result<LockBoardSimHandle> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "pseudo-terminals exist on Unix only"))
    }
}

impl Shared {
    fn new(boards: Vec<SimBoardConfig>) -> io::Result<Arc<Shared>> {
        for b in &boards {
            if b.channels == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("simulated board {} has no channels", b.address),
                ));
            }
        }
        let boards = boards
            .into_iter()
            .map(|config| Board {
                config,
                unlocked_since: vec![None; usize::from(config.channels)],
                fault: LockBoardFault::None,
                echo: false,
                unsolicited: false,
            })
            .collect();
        Ok(Arc::new(Shared {
            state: Mutex::new(State { boards, opens: Vec::new(), auto_close: None, last_request: None }),
            stop: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        }))
    }
}

/// A running simulated bus. Dropping it stops it and frees its port or pty.
pub struct LockBoardSimHandle {
    shared: Arc<Shared>,
    addr: Option<SocketAddr>,
    pty_path: Option<String>,
    main: Mutex<Option<JoinHandle<()>>>,
}

impl LockBoardSimHandle {
    /// The TCP address of a bus started with [`LockBoardSim::start_tcp`].
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The tty path of a bus started with [`LockBoardSim::start_pty`].
    pub fn pty_path(&self) -> Option<String> {
        self.pty_path.clone()
    }

    /// The lock's state as the simulated person would see it.
    ///
    /// # Panics
    /// If the board or lock was not configured: a mistake in the calling test or demo.
    pub fn state(&self, board: u8, lock: u8) -> LockState {
        let mut st = self.shared.state();
        st.settle(Instant::now());
        st.board_mut(board)
            .and_then(|b| b.state(lock))
            .unwrap_or_else(|| panic!("the simulator has no lock {lock} on board {board}"))
    }

    /// The simulated person shuts the door (no effect on a lock that is stuck open).
    pub fn close(&self, board: u8, lock: u8) {
        if let Some(b) = self.shared.state().board_mut(board) {
            b.close(lock);
        }
    }

    /// Every open command acted on, in order, as (board, lock); lock 0 is "open all".
    pub fn opens_received(&self) -> Vec<(u8, u8)> {
        self.shared.state().opens.clone()
    }

    /// Puts `board` into `fault` (see [`LockBoardFault`] for how faults combine).
    pub fn set_fault(&self, board: u8, fault: LockBoardFault) {
        let mut st = self.shared.state();
        let Some(b) = st.board_mut(board) else { return };
        match fault {
            LockBoardFault::None => {
                b.fault = LockBoardFault::None;
                b.echo = false;
                b.unsolicited = false;
            }
            LockBoardFault::Echo(on) => b.echo = on,
            LockBoardFault::Unsolicited(on) => b.unsolicited = on,
            other => b.fault = other,
        }
    }

    /// Opened doors shut by themselves after `ms` (so demos complete unattended); `None` leaves
    /// them open until [`close`](Self::close).
    pub fn set_auto_close_ms(&self, ms: Option<u64>) {
        let mut st = self.shared.state();
        st.settle(Instant::now());
        st.auto_close = ms.map(Duration::from_millis);
    }

    /// Stops serving and frees the port or pty; waits for the simulator's threads to finish.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let main = self.main.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(main) = main {
            let _ = main.join();
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for LockBoardSimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
