//! Simulated Modbus/TCP digital-input module, the kind a detector gate's alarm relay is wired to.
//!
//! Hand-written over `std::net` rather than built on tokio-modbus's server, so that a fault can
//! break the protocol on purpose (garbage, wrong lengths, a foreign transaction id) in ways a
//! correct server library cannot be made to. One thread accepts, one thread serves each client,
//! and all clients see the same inputs and coils, like one module on the LAN.
//!
//! The module has `inputs` discrete inputs and as many coils, at addresses `0..inputs`. It
//! answers functions 0x01, 0x02 and 0x05; any other function gets exception 01, an address
//! outside the module exception 02, a quantity outside 1–2000 or a malformed request exception 03.
//! A request for another unit id gets exception 0B (gateway target device failed to respond), as
//! a Modbus/TCP–RTU gateway answers for a unit nobody on its bus has; a bare module would more
//! likely stay silent, but the exception lets the driver name `unit_id` as the setting to check.
//! A peer whose bytes are not Modbus/TCP at all (protocol id not 0, impossible length) is
//! disconnected, as real modules do.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Misbehaviour to put the module into; each replaces the previous one, `None` clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModbusFault {
    None,
    /// Every request, of any function and unit, is answered with this exception code.
    Exception(u8),
    /// Requests are read and never answered; connections stay open.
    Silent,
    /// Answers are garbage, cycling through four kinds so that one test run meets them all: a
    /// well-formed frame with too few data bytes (or a cut-off PDU), a frame whose protocol id is
    /// not 0, a frame whose MBAP length promises more bytes than are sent, and an HTTP error page.
    Malformed,
    /// Correct answers under another transaction id than the request's.
    WrongTransaction,
    /// The module is gone: the port is closed (connections are refused) and open connections are
    /// dropped. Any other fault brings it back on the same port.
    Offline,
}

const MBAP_LEN: usize = 7;
const MAX_PDU: usize = 253;
const MAX_BITS: u16 = 2000;
const MALFORMED_KINDS: u8 = 4;

/// The MBAP header fields a reply must echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    transaction: u16,
    unit: u8,
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed<'a> {
    /// Not a whole frame yet.
    Incomplete,
    /// Cannot be Modbus/TCP, whatever follows.
    Invalid(&'static str),
    /// One frame, `used` bytes long from the start of the buffer.
    Frame { header: Header, pdu: &'a [u8], used: usize },
}

/// Splits the first Modbus/TCP frame off the front of `buf`.
fn parse_frame(buf: &[u8]) -> Parsed<'_> {
    let Some(&[t0, t1, p0, p1, l0, l1, unit]) = buf.get(..MBAP_LEN) else { return Parsed::Incomplete };
    if u16::from_be_bytes([p0, p1]) != 0 {
        return Parsed::Invalid("protocol id is not 0");
    }
    // The length counts the unit id and the PDU, which holds at least a function code.
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if !(2..=MAX_PDU + 1).contains(&len) {
        return Parsed::Invalid("length field out of range");
    }
    let used = MBAP_LEN - 1 + len;
    match buf.get(MBAP_LEN..used) {
        None => Parsed::Incomplete,
        Some(pdu) => {
            Parsed::Frame { header: Header { transaction: u16::from_be_bytes([t0, t1]), unit }, pdu, used }
        }
    }
}

/// An MBAP frame around `pdu`, with protocol id `protocol` and a length field `extra` bytes
/// longer than the truth (both are only ever wrong on purpose).
fn frame_raw(header: Header, protocol: u16, extra: u16, pdu: &[u8]) -> Vec<u8> {
    let len = u16::try_from(pdu.len() + 1).unwrap_or(u16::MAX).saturating_add(extra);
    let mut out = Vec::with_capacity(MBAP_LEN + pdu.len());
    out.extend_from_slice(&header.transaction.to_be_bytes());
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.push(header.unit);
    out.extend_from_slice(pdu);
    out
}

fn frame(header: Header, pdu: &[u8]) -> Vec<u8> {
    frame_raw(header, 0, 0, pdu)
}

fn exception_pdu(function: u8, code: u8) -> Vec<u8> {
    vec![function | 0x80, code]
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at + 2)? {
        &[hi, lo] => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

/// Bits packed as Modbus does: the first bit in the low bit of the first byte.
fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, _) in bits.iter().enumerate().filter(|(_, b)| **b) {
        if let Some(byte) = out.get_mut(i / 8) {
            *byte |= 1 << (i % 8);
        }
    }
    out
}

/// Answers a read of `bits` (coils or discrete inputs): the reply PDU, or an exception code.
fn read_bits(bits: &[bool], pdu: &[u8]) -> Result<Vec<u8>, u8> {
    let (Some(address), Some(count), 5) = (be16(pdu, 1), be16(pdu, 3), pdu.len()) else { return Err(0x03) };
    if count == 0 || count > MAX_BITS {
        return Err(0x03);
    }
    let (start, end) = (usize::from(address), usize::from(address) + usize::from(count));
    let Some(slice) = bits.get(start..end) else { return Err(0x02) };
    let packed = pack_bits(slice);
    let mut out = vec![pdu[0], u8::try_from(packed.len()).map_err(|_| 0x03u8)?];
    out.extend_from_slice(&packed);
    Ok(out)
}

struct State {
    unit_id: u8,
    inputs: Vec<bool>,
    coils: Vec<bool>,
    /// Inputs a pulse will switch off, and when.
    pending_off: Vec<(u16, Instant)>,
    fault: ModbusFault,
    reads: u64,
    next_malformed: u8,
}

impl State {
    /// Ends the pulses that are over. Done lazily, on every look at the inputs, so that no
    /// timer thread is needed and a pulse ends exactly when it should from any observer's view.
    fn settle(&mut self, now: Instant) {
        let inputs = &mut self.inputs;
        self.pending_off.retain(|&(address, at)| {
            if now < at {
                return true;
            }
            if let Some(slot) = inputs.get_mut(usize::from(address)) {
                *slot = false;
            }
            false
        });
    }

    fn write_coil(&mut self, pdu: &[u8]) -> Result<Vec<u8>, u8> {
        let (Some(address), Some(value), 5) = (be16(pdu, 1), be16(pdu, 3), pdu.len()) else {
            return Err(0x03);
        };
        let on = match value {
            0xFF00 => true,
            0x0000 => false,
            _ => return Err(0x03),
        };
        let slot = self.coils.get_mut(usize::from(address)).ok_or(0x02u8)?;
        *slot = on;
        Ok(pdu.to_vec())
    }

    /// The bytes to send back for one request, if any.
    fn answer(&mut self, header: Header, pdu: &[u8]) -> Option<Vec<u8>> {
        self.settle(Instant::now());
        let function = *pdu.first()?;
        if matches!(function, 0x01 | 0x02) {
            self.reads += 1;
        }
        match self.fault {
            ModbusFault::Offline | ModbusFault::Silent => return None,
            ModbusFault::Exception(code) => return Some(frame(header, &exception_pdu(function, code))),
            ModbusFault::Malformed => return Some(self.garbage(header, pdu)),
            ModbusFault::None | ModbusFault::WrongTransaction => {}
        }
        let reply = self.correct_pdu(header, pdu);
        let header = match self.fault {
            ModbusFault::WrongTransaction => {
                Header { transaction: header.transaction.wrapping_add(1), ..header }
            }
            _ => header,
        };
        Some(frame(header, &reply))
    }

    fn correct_pdu(&mut self, header: Header, pdu: &[u8]) -> Vec<u8> {
        let function = pdu.first().copied().unwrap_or(0);
        if header.unit != self.unit_id {
            return exception_pdu(function, 0x0B);
        }
        let reply = match function {
            0x01 => read_bits(&self.coils, pdu),
            0x02 => read_bits(&self.inputs, pdu),
            0x05 => self.write_coil(pdu),
            _ => Err(0x01),
        };
        reply.unwrap_or_else(|code| exception_pdu(function, code))
    }

    fn garbage(&mut self, header: Header, pdu: &[u8]) -> Vec<u8> {
        let kind = self.next_malformed;
        self.next_malformed = (kind + 1) % MALFORMED_KINDS;
        // Computed on a copy so that a garbled write does not also change a coil.
        let correct = {
            let coils = self.coils.clone();
            let reply = self.correct_pdu(header, pdu);
            self.coils = coils;
            reply
        };
        match kind {
            0 => {
                let short = match correct.as_slice() {
                    // A read answer that is well formed but one data byte short.
                    [function @ (0x01 | 0x02), count, data @ ..] if *count > 0 => {
                        let mut v = vec![*function, count - 1];
                        v.extend_from_slice(data.get(..data.len().saturating_sub(1)).unwrap_or_default());
                        v
                    }
                    other => other.get(..other.len().saturating_sub(1)).unwrap_or_default().to_vec(),
                };
                frame(header, &short)
            }
            1 => frame_raw(header, 0x0001, 0, &correct),
            2 => frame_raw(header, 0, 10, &correct),
            _ => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
        }
    }
}

struct Shared {
    addr: SocketAddr,
    state: Mutex<State>,
    listener: Mutex<Option<TcpListener>>,
    /// Mirrors `fault == Offline` so that connection threads can poll it without the state lock.
    offline: AtomicBool,
    stop: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    // Polled, so that stopping and going offline never wait on a blocked accept.
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        relock(&self.state)
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && !self.offline.load(Ordering::Relaxed)
    }

    /// Listens again after `Offline`; the port was ours a moment ago, so this normally succeeds
    /// at once (std sets SO_REUSEADDR, so the old connections' TIME_WAIT does not block it).
    fn relisten(&self, slot: &mut Option<TcpListener>) {
        if slot.is_none() && self.running() {
            match listen(self.addr) {
                Ok(l) => *slot = Some(l),
                Err(e) => {
                    tracing::debug!(addr = %self.addr, error = %e, "simulated Modbus module cannot listen yet")
                }
            }
        }
    }

    fn accept_loop(self: &Arc<Self>) {
        while !self.stop.load(Ordering::Relaxed) {
            let accepted = {
                let mut slot = relock(&self.listener);
                self.relisten(&mut slot);
                slot.as_ref().and_then(|l| l.accept().ok())
            };
            let Some((stream, _)) = accepted else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let conn = self.clone();
            let spawned =
                std::thread::Builder::new().name("modbus-sim-conn".into()).spawn(move || conn.serve(stream));
            if let Ok(handle) = spawned {
                let mut threads = relock(&self.threads);
                threads.retain(|t| !t.is_finished());
                threads.push(handle);
            }
        }
    }

    /// Serves one client until it leaves, the module goes offline or the simulator stops.
    fn serve(&self, mut stream: TcpStream) {
        // Short reads keep `stop` and `Offline` prompt; the write timeout keeps a client that
        // stops reading from wedging `stop`.
        let ready = stream.set_nonblocking(false).is_ok()
            && stream.set_nodelay(true).is_ok()
            && stream.set_read_timeout(Some(Duration::from_millis(10))).is_ok()
            && stream.set_write_timeout(Some(Duration::from_secs(1))).is_ok();
        if !ready {
            return;
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 512];
        while self.running() {
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            }
            loop {
                let (reply, used) = match parse_frame(&buf) {
                    Parsed::Incomplete => break,
                    Parsed::Invalid(why) => {
                        tracing::debug!(
                            why,
                            "simulated Modbus module dropping a client that does not speak Modbus/TCP"
                        );
                        return;
                    }
                    Parsed::Frame { header, pdu, used } => (self.state().answer(header, pdu), used),
                };
                buf.drain(..used);
                if !self.running() {
                    return;
                }
                if let Some(bytes) = reply
                    && stream.write_all(&bytes).is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Starts simulated modules.
pub struct ModbusSim;

impl ModbusSim {
    /// A module answering as unit `unit_id`, with `inputs` discrete inputs and as many coils, all
    /// off, listening on `bind` (port 0 picks a free one).
    pub fn start(bind: SocketAddr, unit_id: u8, inputs: u16) -> io::Result<ModbusSimHandle> {
        if inputs == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a simulated Modbus module needs inputs",
            ));
        }
        let listener = listen(bind)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            addr,
            state: Mutex::new(State {
                unit_id,
                inputs: vec![false; usize::from(inputs)],
                coils: vec![false; usize::from(inputs)],
                pending_off: Vec::new(),
                fault: ModbusFault::None,
                reads: 0,
                next_malformed: 0,
            }),
            listener: Mutex::new(Some(listener)),
            offline: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("modbus-sim-accept".into())
                .spawn(move || shared.accept_loop())?
        };
        Ok(ModbusSimHandle { shared, accept: Mutex::new(Some(accept)) })
    }
}

/// A running simulated module. Dropping it stops it and frees its port.
pub struct ModbusSimHandle {
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl ModbusSimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Sets an input's level, cancelling a pulse in progress on it. Addresses the module does
    /// not have are ignored, as wiring to a terminal that does not exist would be.
    pub fn set_input(&self, address: u16, on: bool) {
        let mut st = self.shared.state();
        st.settle(Instant::now());
        st.pending_off.retain(|&(a, _)| a != address);
        if let Some(slot) = st.inputs.get_mut(usize::from(address)) {
            *slot = on;
        }
    }

    /// A person walking through the gate: the input is on now and off again after
    /// `duration_ms`. A second pulse on the same input extends the first.
    pub fn pulse(&self, address: u16, duration_ms: u64) {
        let now = Instant::now();
        let mut st = self.shared.state();
        st.settle(now);
        st.pending_off.retain(|&(a, _)| a != address);
        if let Some(slot) = st.inputs.get_mut(usize::from(address)) {
            *slot = true;
            st.pending_off.push((address, now + Duration::from_millis(duration_ms)));
        }
    }

    /// # Panics
    /// If the module has no such input: a mistake in the calling test or demo.
    pub fn input(&self, address: u16) -> bool {
        let mut st = self.shared.state();
        st.settle(Instant::now());
        let n = st.inputs.len();
        *st.inputs
            .get(usize::from(address))
            .unwrap_or_else(|| panic!("the simulated module has inputs 0–{}", n - 1))
    }

    /// # Panics
    /// If the module has no such coil: a mistake in the calling test or demo.
    pub fn coil(&self, address: u16) -> bool {
        let st = self.shared.state();
        let n = st.coils.len();
        *st.coils
            .get(usize::from(address))
            .unwrap_or_else(|| panic!("the simulated module has coils 0–{}", n - 1))
    }

    /// Read requests (functions 0x01 and 0x02) received, whatever the fault or unit id, so a
    /// test can tell "refused before sending" from "sent and failed".
    pub fn reads_received(&self) -> u64 {
        self.shared.state().reads
    }

    pub fn fault(&self) -> ModbusFault {
        self.shared.state().fault
    }

    /// Puts the module into `fault`; see [`ModbusFault`].
    pub fn set_fault(&self, fault: ModbusFault) {
        let offline = fault == ModbusFault::Offline;
        {
            let mut st = self.shared.state();
            st.fault = fault;
            st.next_malformed = 0;
        }
        self.shared.offline.store(offline, Ordering::Relaxed);
        let mut slot = relock(&self.shared.listener);
        if offline {
            // Closing the socket refuses new connections and resets any not yet accepted.
            *slot = None;
        } else {
            // Synchronously, so that the module is reachable again when this returns.
            self.shared.relisten(&mut slot);
        }
    }

    /// Stops serving and frees the port; waits for the simulator's threads to finish.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let accept = relock(&self.accept).take();
        if let Some(accept) = accept {
            let _ = accept.join();
        }
        *relock(&self.shared.listener) = None;
        let threads = std::mem::take(&mut *relock(&self.shared.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for ModbusSimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(inputs: usize) -> State {
        State {
            unit_id: 1,
            inputs: vec![false; inputs],
            coils: vec![false; inputs],
            pending_off: Vec::new(),
            fault: ModbusFault::None,
            reads: 0,
            next_malformed: 0,
        }
    }

    const H: Header = Header { transaction: 0x1234, unit: 1 };

    #[test]
    fn reads_pack_the_first_input_into_the_lowest_bit() {
        let mut st = state(20);
        for i in [0, 7, 8, 19] {
            st.inputs[i] = true;
        }
        let reply = st.answer(H, &[0x02, 0, 0, 0, 20]).unwrap();
        assert_eq!(reply, vec![0x12, 0x34, 0, 0, 0, 6, 1, 0x02, 3, 0b1000_0001, 0b0000_0001, 0b0000_1000]);
        let reply = st.answer(H, &[0x02, 0, 7, 0, 2]).unwrap();
        assert_eq!(&reply[7..], &[0x02, 1, 0b11]);
    }

    #[test]
    fn exceptions_for_bad_function_address_quantity_and_unit() {
        let mut st = state(16);
        assert_eq!(&st.answer(H, &[0x03, 0, 0, 0, 1]).unwrap()[7..], &[0x83, 0x01]);
        assert_eq!(&st.answer(H, &[0x02, 0, 15, 0, 2]).unwrap()[7..], &[0x82, 0x02]);
        assert_eq!(&st.answer(H, &[0x02, 0, 0, 0, 0]).unwrap()[7..], &[0x82, 0x03]);
        assert_eq!(&st.answer(H, &[0x05, 0, 1, 0x12, 0x34]).unwrap()[7..], &[0x85, 0x03]);
        let other = Header { unit: 9, ..H };
        assert_eq!(&st.answer(other, &[0x02, 0, 0, 0, 1]).unwrap()[6..], &[9, 0x82, 0x0B]);
        assert_eq!(st.reads, 3);
    }

    #[test]
    fn a_garbled_write_does_not_change_the_coil() {
        let mut st = state(4);
        st.fault = ModbusFault::Malformed;
        for _ in 0..MALFORMED_KINDS {
            st.answer(H, &[0x05, 0, 1, 0xFF, 0]);
        }
        assert!(!st.coils[1]);
    }

    #[test]
    fn frames_split_and_reject_as_the_protocol_says() {
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0, 6, 1, 2, 0]), Parsed::Incomplete);
        assert_eq!(parse_frame(&[0, 1, 0, 1, 0, 6, 1]), Parsed::Invalid("protocol id is not 0"));
        assert_eq!(parse_frame(&[0, 1, 0, 0, 0, 1, 1]), Parsed::Invalid("length field out of range"));
        let two = [0, 1, 0, 0, 0, 6, 1, 2, 0, 0, 0, 1, 0xAA];
        assert_eq!(
            parse_frame(&two),
            Parsed::Frame { header: Header { transaction: 1, unit: 1 }, pdu: &[2, 0, 0, 0, 1], used: 12 }
        );
    }

    proptest! {
        /// Whatever a client sends, parsing and answering neither panic nor loop, and a frame's
        /// length never exceeds what was received.
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            inputs in 1usize..40,
            fault in 0u8..6,
            code in any::<u8>(),
        ) {
            let mut st = state(inputs);
            st.fault = match fault {
                0 => ModbusFault::None,
                1 => ModbusFault::Exception(code),
                2 => ModbusFault::Silent,
                3 => ModbusFault::Malformed,
                4 => ModbusFault::WrongTransaction,
                _ => ModbusFault::Offline,
            };
            let mut rest: &[u8] = &bytes;
            while let Parsed::Frame { header, pdu, used } = parse_frame(rest) {
                prop_assert!(used <= rest.len() && used > MBAP_LEN);
                let _ = st.answer(header, pdu);
                rest = &rest[used..];
            }
        }

        /// Frames with a valid header and an arbitrary PDU: a correct module always answers
        /// with a reply whose MBAP length matches its size.
        #[test]
        fn arbitrary_pdus_get_well_framed_answers(
            pdu in proptest::collection::vec(any::<u8>(), 1..MAX_PDU),
            transaction in any::<u16>(),
            unit in 0u8..3,
        ) {
            let mut st = state(24);
            let header = Header { transaction, unit };
            let reply = st.answer(header, &pdu).expect("a module without fault answers");
            match parse_frame(&reply) {
                Parsed::Frame { header: h, used, .. } => {
                    prop_assert_eq!(h, header);
                    prop_assert_eq!(used, reply.len());
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
