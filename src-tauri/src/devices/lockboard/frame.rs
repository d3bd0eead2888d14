//! The "8A/80" lock-board wire format (devices.md, "Locker banks"): pure encoding and an incremental
//! decoder, kept free of I/O so that the framing rules can be tested exhaustively.
//!
//! Every frame is `HDR BOARD LOCK FUNC BCC` with BCC the XOR of the bytes before it, except the
//! reply to "query all", which carries a bitmap in place of `LOCK`:
//! `80 BOARD <bitmap, ceil(channels/8) bytes> 33 BCC`.
//!
//! Bitmap bit order (the common boards', and the simulator's): the bytes run from the highest
//! channels to the lowest; channel 1 is bit 0 of the **last** bitmap byte, channel 8 bit 7 of it,
//! channel 9 bit 0 of the byte before, and so on. Bits above `channels` are sent as 0 and ignored.
//! A set bit means the same as status byte 0x11 for that channel.
//!
//! One wrinkle of this protocol shapes the decoder's output: the reply to a successful open,
//! `8A B L 11 BCC`, is byte for byte the request, so an adapter's echo and the board's answer look
//! alike. The decoder therefore reports such frames as [`Event::Echo`] and leaves the decision to
//! the driver, which knows whether it has already seen one.

use std::time::Duration;

use crate::devices::LockState;

/// Header of "open" requests and their replies.
pub const HDR_OPEN: u8 = 0x8A;
/// Header of "query" requests and their replies (and of unsolicited status frames).
pub const HDR_QUERY: u8 = 0x80;
pub const FUNC_OPEN: u8 = 0x11;
pub const FUNC_QUERY: u8 = 0x33;
/// The status byte with the sense contact closed; what it means depends on [`LockPolarity`].
pub const STATUS_SET: u8 = 0x11;
pub const STATUS_CLEAR: u8 = 0x00;
/// Length of every request and of all replies except "query all".
pub const FRAME_LEN: usize = 5;
/// Silence on the line that ends a frame. Boards send a frame back to back, so a pause this long
/// means whatever is buffered is all there will be of it.
pub const GAP: Duration = Duration::from_millis(30);

/// XOR of `bytes`: the block check character the boards append.
pub fn bcc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Whether the last byte of `frame` is the XOR of the others.
pub fn bcc_ok(frame: &[u8]) -> bool {
    match frame.split_last() {
        Some((last, body)) if !body.is_empty() => bcc(body) == *last,
        _ => false,
    }
}

fn with_bcc(body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    v.push(bcc(body));
    v
}

/// How a board's sense contact maps to the lock's state. Both wirings are sold (short-when-locked
/// and short-when-unlocked locks), and the board cannot tell, so it is a per-board setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockPolarity {
    /// 0x11 (or a set bitmap bit) means unlocked: the common wiring.
    #[default]
    UnlockedWhenSet,
    /// 0x11 means locked.
    LockedWhenSet,
}

impl LockPolarity {
    /// From the venue file's `unlocked_when_set` flag.
    pub fn from_unlocked_when_set(unlocked_when_set: bool) -> Self {
        if unlocked_when_set { Self::UnlockedWhenSet } else { Self::LockedWhenSet }
    }

    /// The lock's state for a set (`true`) or clear sense contact.
    pub fn state(self, set: bool) -> LockState {
        match (self, set) {
            (Self::UnlockedWhenSet, true) | (Self::LockedWhenSet, false) => LockState::Unlocked,
            (Self::UnlockedWhenSet, false) | (Self::LockedWhenSet, true) => LockState::Locked,
        }
    }

    /// Whether the sense contact is set in `state`.
    pub fn is_set(self, state: LockState) -> bool {
        self.state(true) == state
    }

    /// The status byte a board of this polarity sends for `state`.
    pub fn status_byte(self, state: LockState) -> u8 {
        if self.is_set(state) { STATUS_SET } else { STATUS_CLEAR }
    }

    /// The state a status byte reports; `None` for a byte that is neither 0x11 nor 0x00, which
    /// means the board speaks a different dialect and must not be guessed at.
    pub fn decode_status(self, status: u8) -> Option<LockState> {
        match status {
            STATUS_SET => Some(self.state(true)),
            STATUS_CLEAR => Some(self.state(false)),
            _ => None,
        }
    }
}

/// Bytes of the "query all" bitmap for a board with `channels` channels.
pub fn bitmap_len(channels: u8) -> usize {
    usize::from(channels).div_ceil(8).max(1)
}

/// Whether `channel` (1-based) is set in a "query all" bitmap; out-of-range channels read as clear.
pub fn bitmap_bit(bitmap: &[u8], channel: u8) -> bool {
    let Some(index) = channel.checked_sub(1).map(usize::from) else { return false };
    let from_end = index / 8;
    if from_end >= bitmap.len() {
        return false;
    }
    bitmap[bitmap.len() - 1 - from_end] & (1 << (index % 8)) != 0
}

/// The bitmap for the contacts `set`, index 0 being channel 1.
pub fn encode_bitmap(set: &[bool]) -> Vec<u8> {
    let channels = u8::try_from(set.len()).unwrap_or(u8::MAX);
    let len = bitmap_len(channels);
    let mut bitmap = vec![0u8; len];
    for (index, _) in set.iter().enumerate().filter(|(_, s)| **s).take(usize::from(channels)) {
        bitmap[len - 1 - index / 8] |= 1 << (index % 8);
    }
    bitmap
}

/// The contacts of channels `1..=channels`, index 0 being channel 1.
pub fn decode_bitmap(bitmap: &[u8], channels: u8) -> Vec<bool> {
    (1..=channels).map(|c| bitmap_bit(bitmap, c)).collect()
}

/// A request to one board. `lock` is 1-based; lock 0 on the wire means "all", which has its own
/// variants so that a stray 0 can never turn a single-lock command into an all-locks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    Open { board: u8, lock: u8 },
    OpenAll { board: u8 },
    Query { board: u8, lock: u8 },
    QueryAll { board: u8 },
}

impl Request {
    pub fn board(&self) -> u8 {
        match *self {
            Self::Open { board, .. }
            | Self::OpenAll { board }
            | Self::Query { board, .. }
            | Self::QueryAll { board } => board,
        }
    }

    pub fn encode(&self) -> [u8; FRAME_LEN] {
        let (hdr, board, lock, func) = match *self {
            Self::Open { board, lock } => (HDR_OPEN, board, lock, FUNC_OPEN),
            Self::OpenAll { board } => (HDR_OPEN, board, 0, FUNC_OPEN),
            Self::Query { board, lock } => (HDR_QUERY, board, lock, FUNC_QUERY),
            Self::QueryAll { board } => (HDR_QUERY, board, 0, FUNC_QUERY),
        };
        let body = [hdr, board, lock, func];
        [hdr, board, lock, func, bcc(&body)]
    }

    /// A request as a board sees it; `None` for anything that is not a well-formed request.
    pub fn parse(frame: &[u8]) -> Option<Request> {
        let [hdr, board, lock, func, _] = *<&[u8; FRAME_LEN]>::try_from(frame).ok()?;
        if !bcc_ok(frame) {
            return None;
        }
        match (hdr, func, lock) {
            (HDR_OPEN, FUNC_OPEN, 0) => Some(Self::OpenAll { board }),
            (HDR_OPEN, FUNC_OPEN, lock) => Some(Self::Open { board, lock }),
            (HDR_QUERY, FUNC_QUERY, 0) => Some(Self::QueryAll { board }),
            (HDR_QUERY, FUNC_QUERY, lock) => Some(Self::Query { board, lock }),
            _ => None,
        }
    }

    /// Length of the reply, which for "query all" depends on the board's channel count.
    pub fn reply_len(&self, channels: u8) -> usize {
        match self {
            Self::QueryAll { .. } => 4 + bitmap_len(channels),
            _ => FRAME_LEN,
        }
    }

    /// Whether the board's genuine answer can be identical to the request, so that an echo and
    /// the answer cannot be told apart by their bytes.
    pub fn answer_may_equal_request(&self, channels: u8) -> bool {
        match self {
            Self::Open { .. } | Self::OpenAll { .. } => true,
            Self::QueryAll { .. } => bitmap_len(channels) == 1,
            Self::Query { .. } => false,
        }
    }
}

/// A board's answer, status bytes still raw (the polarity is the driver's business).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reply {
    /// `lock` 0 answers "open all".
    Open {
        board: u8,
        lock: u8,
        status: u8,
    },
    Query {
        board: u8,
        lock: u8,
        status: u8,
    },
    QueryAll {
        board: u8,
        bitmap: Vec<u8>,
    },
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Open { board, lock, status } => with_bcc(&[HDR_OPEN, *board, *lock, *status]),
            Self::Query { board, lock, status } => with_bcc(&[HDR_QUERY, *board, *lock, *status]),
            Self::QueryAll { board, bitmap } => {
                let mut body = vec![HDR_QUERY, *board];
                body.extend_from_slice(bitmap);
                body.push(FUNC_QUERY);
                with_bcc(&body)
            }
        }
    }

    /// `frame` as the answer to `request`, or `None` when it is not one (wrong header, board,
    /// lock, length, or BCC).
    pub fn parse(request: &Request, channels: u8, frame: &[u8]) -> Option<Reply> {
        if frame.len() != request.reply_len(channels) || !bcc_ok(frame) {
            return None;
        }
        let (&hdr, rest) = frame.split_first()?;
        let (&board, rest) = rest.split_first()?;
        if board != request.board() {
            return None;
        }
        // `rest` is `LOCK SS BCC` for the plain frames.
        let plain = |want_hdr: u8, want_lock: u8| match rest {
            [lock, status, _bcc] if hdr == want_hdr && *lock == want_lock => Some(*status),
            _ => None,
        };
        match *request {
            Request::Open { lock, .. } => {
                plain(HDR_OPEN, lock).map(|status| Reply::Open { board, lock, status })
            }
            Request::OpenAll { .. } => {
                plain(HDR_OPEN, 0).map(|status| Reply::Open { board, lock: 0, status })
            }
            Request::Query { lock, .. } => {
                plain(HDR_QUERY, lock).map(|status| Reply::Query { board, lock, status })
            }
            Request::QueryAll { .. } => {
                let (_bcc, rest) = rest.split_last()?;
                let (&func, bitmap) = rest.split_last()?;
                (hdr == HDR_QUERY && func == FUNC_QUERY)
                    .then(|| Reply::QueryAll { board, bitmap: bitmap.to_vec() })
            }
        }
    }
}

/// What the decoder made of the bytes on the line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// A frame answering the pending request.
    Reply(Reply),
    /// A frame identical to the pending request: an adapter's echo, or an answer that happens to
    /// equal the request (see the module notes); the caller knows which.
    Echo,
    /// A valid frame that does not answer the pending request (a board reporting on its own, a
    /// late answer to an earlier request, another board's traffic).
    Unsolicited([u8; FRAME_LEN]),
    /// This many bytes were thrown away: a frame with a bad BCC, a fragment, or noise. Reported
    /// before the next frame, or at a gap.
    Discarded(usize),
}

/// Splits the byte stream into frames as it arrives, in whatever pieces the transport delivers.
///
/// Frames are found by the length the pending request's answer must have, by the fixed length of
/// every other frame, and by gaps in the line (see [`Decoder::gap`]). A decision is taken only
/// once enough bytes are in, so the events never depend on how the bytes were chunked.
///
/// The longer "query all" answer is tried before a plain 5-byte frame at the same position. For
/// boards of up to 32 channels no plain frame (status 0x00/0x11, lock ≤ 48) followed by the
/// answer can pass for an answer itself; beyond that a coincidence of bitmap bytes is possible in
/// principle, and the gap that real boards leave between frames is what separates them.
#[derive(Debug, Clone)]
pub struct Decoder {
    pending: Option<(Request, [u8; FRAME_LEN])>,
    channels: u8,
    reply_len: usize,
    buf: Vec<u8>,
    discarded: usize,
}

enum Head {
    /// Not decidable yet: wait for more bytes (or a gap).
    Need,
    Frame(usize, Event),
    Junk,
}

impl Decoder {
    /// A decoder for the answer to `pending` from a board with `channels` channels; with no
    /// pending request it only separates unsolicited frames.
    pub fn new(pending: Option<Request>, channels: u8) -> Self {
        Decoder {
            pending: pending.map(|r| (r, r.encode())),
            channels,
            reply_len: pending.map_or(FRAME_LEN, |r| r.reply_len(channels)),
            buf: Vec::new(),
            discarded: 0,
        }
    }

    /// Bytes held back, waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds bytes as they arrived; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        self.drain(false, &mut out);
        out
    }

    /// The line has been silent for [`GAP`]: whatever is buffered is a complete (or broken)
    /// frame. Frames that fit are reported; the rest is discarded.
    pub fn gap(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.drain(true, &mut out);
        self.discarded += self.buf.len();
        self.buf.clear();
        self.flush_discarded(&mut out);
        out
    }

    fn flush_discarded(&mut self, out: &mut Vec<Event>) {
        if self.discarded > 0 {
            out.push(Event::Discarded(self.discarded));
            self.discarded = 0;
        }
    }

    fn drain(&mut self, at_gap: bool, out: &mut Vec<Event>) {
        loop {
            let skip =
                self.buf.iter().position(|b| matches!(*b, HDR_OPEN | HDR_QUERY)).unwrap_or(self.buf.len());
            if skip > 0 {
                self.discarded += skip;
                self.buf.drain(..skip);
            }
            if self.buf.is_empty() {
                return;
            }
            match self.head(at_gap) {
                Head::Need => return,
                Head::Frame(len, event) => {
                    self.flush_discarded(out);
                    out.push(event);
                    self.buf.drain(..len);
                }
                Head::Junk => {
                    self.discarded += 1;
                    self.buf.drain(..1);
                }
            }
        }
    }

    fn head(&self, at_gap: bool) -> Head {
        let buf = &self.buf;
        if let Some((request, request_bytes)) = &self.pending {
            let e = self.reply_len;
            if buf.len() >= e {
                let frame = &buf[..e];
                if frame == request_bytes.as_slice() {
                    return Head::Frame(e, Event::Echo);
                }
                if let Some(reply) = Reply::parse(request, self.channels, frame) {
                    return Head::Frame(e, Event::Reply(reply));
                }
            } else if !at_gap && self.could_be_long_reply() {
                return Head::Need;
            }
        }
        if buf.len() >= FRAME_LEN {
            let frame = &buf[..FRAME_LEN];
            if !bcc_ok(frame) {
                return Head::Junk;
            }
            if self.pending.as_ref().is_some_and(|(_, r)| frame == r.as_slice()) {
                return Head::Frame(FRAME_LEN, Event::Echo);
            }
            let mut raw = [0u8; FRAME_LEN];
            raw.copy_from_slice(frame);
            return Head::Frame(FRAME_LEN, Event::Unsolicited(raw));
        }
        if at_gap { Head::Junk } else { Head::Need }
    }

    /// Whether the buffer may be the start of a "query all" answer longer than a plain frame, in
    /// which case a 5-byte reading of it must wait until the whole answer could be in.
    fn could_be_long_reply(&self) -> bool {
        match &self.pending {
            Some((Request::QueryAll { board }, _)) if self.reply_len > FRAME_LEN => {
                self.buf.first() == Some(&HDR_QUERY) && self.buf.get(1).is_none_or(|b| b == board)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_examples_encode_exactly() {
        assert_eq!(Request::Open { board: 1, lock: 1 }.encode(), [0x8A, 0x01, 0x01, 0x11, 0x9B]);
        assert_eq!(Request::Query { board: 1, lock: 1 }.encode(), [0x80, 0x01, 0x01, 0x33, 0xB3]);
        assert_eq!(Request::QueryAll { board: 1 }.encode(), [0x80, 0x01, 0x00, 0x33, 0xB2]);
    }

    #[test]
    fn channel_one_is_bit_zero_of_the_last_bitmap_byte() {
        let mut set = vec![false; 24];
        set[0] = true; // channel 1
        set[8] = true; // channel 9
        set[23] = true; // channel 24
        assert_eq!(encode_bitmap(&set), vec![0x80, 0x01, 0x01]);
        assert_eq!(decode_bitmap(&[0x80, 0x01, 0x01], 24), set);
        assert_eq!(bitmap_len(12), 2);
        assert_eq!(bitmap_len(8), 1);
        assert!(!bitmap_bit(&[0xFF], 9));
        assert!(!bitmap_bit(&[0xFF], 0));
    }

    #[test]
    fn polarity_decides_what_0x11_means() {
        assert_eq!(LockPolarity::UnlockedWhenSet.decode_status(0x11), Some(LockState::Unlocked));
        assert_eq!(LockPolarity::UnlockedWhenSet.decode_status(0x00), Some(LockState::Locked));
        assert_eq!(LockPolarity::LockedWhenSet.decode_status(0x11), Some(LockState::Locked));
        assert_eq!(LockPolarity::LockedWhenSet.decode_status(0x00), Some(LockState::Unlocked));
        assert_eq!(LockPolarity::LockedWhenSet.decode_status(0x33), None);
        for p in [LockPolarity::UnlockedWhenSet, LockPolarity::LockedWhenSet] {
            for s in [LockState::Locked, LockState::Unlocked] {
                assert_eq!(p.decode_status(p.status_byte(s)), Some(s));
            }
        }
    }

    #[test]
    fn an_echo_then_the_answer_then_noise_is_split_correctly() {
        let req = Request::QueryAll { board: 3 };
        let reply = Reply::QueryAll { board: 3, bitmap: vec![0x00, 0x10, 0x01] };
        let unsolicited = Reply::Query { board: 3, lock: 2, status: 0x11 }.encode();
        let mut bytes = req.encode().to_vec();
        bytes.extend_from_slice(&unsolicited);
        bytes.extend_from_slice(&reply.encode());
        bytes.extend_from_slice(&[0x80, 0x03, 0x01]);
        let mut d = Decoder::new(Some(req), 24);
        let mut events = d.push(&bytes);
        assert_eq!(d.buffered(), 3, "a fragment waits for the gap");
        events.extend(d.gap());
        assert_eq!(
            events,
            vec![
                Event::Echo,
                Event::Unsolicited(unsolicited.try_into().unwrap()),
                Event::Reply(reply),
                Event::Discarded(3)
            ]
        );
    }

    #[test]
    fn a_plain_frame_before_a_long_answer_is_recognised_at_the_gap() {
        let req = Request::QueryAll { board: 1 };
        let unsolicited = Reply::Query { board: 1, lock: 4, status: 0x00 }.encode();
        let mut d = Decoder::new(Some(req), 16);
        assert_eq!(d.push(&unsolicited), vec![]);
        assert_eq!(d.gap(), vec![Event::Unsolicited(unsolicited.try_into().unwrap())]);
    }

    #[test]
    fn an_open_success_is_indistinguishable_from_its_echo() {
        let req = Request::Open { board: 1, lock: 1 };
        let mut d = Decoder::new(Some(req), 12);
        let success = Reply::Open { board: 1, lock: 1, status: STATUS_SET }.encode();
        assert_eq!(success, req.encode().to_vec());
        assert_eq!(d.push(&success), vec![Event::Echo]);
        let failed = Reply::Open { board: 1, lock: 1, status: STATUS_CLEAR };
        assert_eq!(d.push(&failed.encode()), vec![Event::Reply(failed)]);
    }

    #[test]
    fn a_bad_bcc_is_discarded_and_the_next_frame_still_found() {
        let req = Request::Query { board: 2, lock: 5 };
        let good = Reply::Query { board: 2, lock: 5, status: 0x11 };
        let mut bad = good.encode();
        bad[4] ^= 0x01;
        let mut d = Decoder::new(Some(req), 12);
        let mut events = d.push(&bad);
        events.extend(d.gap());
        assert_eq!(events, vec![Event::Discarded(5)]);
        assert_eq!(d.push(&good.encode()), vec![Event::Reply(good)]);
    }

    fn any_request() -> impl Strategy<Value = (Request, u8)> {
        (1u8..=32, 1u8..=48, 0u8..4).prop_flat_map(|(board, channels, kind)| {
            (1..=channels).prop_map(move |lock| {
                let r = match kind {
                    0 => Request::Open { board, lock },
                    1 => Request::Query { board, lock },
                    2 => Request::QueryAll { board },
                    _ => Request::OpenAll { board },
                };
                (r, channels)
            })
        })
    }

    /// A request and an answer the board could give to it.
    fn exchange() -> impl Strategy<Value = (Request, u8, Reply)> {
        (any_request(), any::<bool>(), proptest::collection::vec(any::<bool>(), 48)).prop_map(
            |((request, channels), set, contacts)| {
                let status = if set { STATUS_SET } else { STATUS_CLEAR };
                let reply = match request {
                    Request::Open { board, lock } => Reply::Open { board, lock, status },
                    Request::OpenAll { board } => Reply::Open { board, lock: 0, status },
                    Request::Query { board, lock } => Reply::Query { board, lock, status },
                    Request::QueryAll { board } => {
                        Reply::QueryAll { board, bitmap: encode_bitmap(&contacts[..usize::from(channels)]) }
                    }
                };
                (request, channels, reply)
            },
        )
    }

    fn expected(request: &Request, reply: &Reply) -> Event {
        if reply.encode() == request.encode().to_vec() { Event::Echo } else { Event::Reply(reply.clone()) }
    }

    proptest! {
        #[test]
        fn requests_round_trip((request, _channels) in any_request()) {
            prop_assert_eq!(Request::parse(&request.encode()), Some(request));
        }

        #[test]
        fn replies_round_trip((request, channels, reply) in exchange()) {
            let bytes = reply.encode();
            prop_assert_eq!(bytes.len(), request.reply_len(channels));
            prop_assert_eq!(Reply::parse(&request, channels, &bytes), Some(reply.clone()));
            let mut d = Decoder::new(Some(request), channels);
            prop_assert_eq!(d.push(&bytes), vec![expected(&request, &reply)]);
            prop_assert_eq!(d.buffered(), 0);
            if let Reply::QueryAll { bitmap, .. } = &reply {
                let back = encode_bitmap(&decode_bitmap(bitmap, channels));
                prop_assert_eq!(&back, bitmap);
            }
        }

        #[test]
        fn any_chunking_yields_the_same_events(
            (request, channels, reply) in exchange(),
            unsolicited in (1u8..=32, 1u8..=48, any::<bool>()),
            echo in any::<bool>(),
            noise in proptest::collection::vec(any::<u8>(), 0..12),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut stream = Vec::new();
            if echo {
                stream.extend_from_slice(&request.encode());
            }
            let (b, l, s) = unsolicited;
            stream.extend(Reply::Query { board: b, lock: l, status: if s { 0x11 } else { 0x00 } }.encode());
            stream.extend(reply.encode());
            stream.extend(&noise);

            let mut whole = Decoder::new(Some(request), channels);
            let mut reference = whole.push(&stream);
            reference.extend(whole.gap());

            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            at.sort_unstable();
            let mut pieces = Decoder::new(Some(request), channels);
            let mut events = Vec::new();
            let mut start = 0;
            for cut in at.into_iter().chain(std::iter::once(stream.len())) {
                events.extend(pieces.push(&stream[start..cut]));
                start = cut;
            }
            events.extend(pieces.gap());
            prop_assert_eq!(&events, &reference);
            // The answer itself is always found, whatever surrounds it.
            prop_assert!(reference.contains(&expected(&request, &reply)), "{:?}", reference);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            (request, channels) in any_request(),
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 0..8),
            gaps in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let mut d = Decoder::new(Some(request), channels);
            let mut idle = Decoder::new(None, channels);
            for (piece, gap) in pieces.iter().zip(gaps) {
                let _ = d.push(piece);
                let _ = idle.push(piece);
                if gap {
                    let _ = d.gap();
                    let _ = idle.gap();
                }
                prop_assert!(d.buffered() < request.reply_len(channels).max(FRAME_LEN));
            }
            let _ = Request::parse(pieces.first().map_or(&[][..], |p| p.as_slice()));
        }

        #[test]
        fn a_single_flipped_bit_is_always_rejected(
            (request, channels, reply) in exchange(),
            bit in any::<prop::sample::Index>(),
        ) {
            let mut bytes = reply.encode();
            let bit = bit.index(bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!bcc_ok(&bytes));
            prop_assert_eq!(Reply::parse(&request, channels, &bytes), None);
            let mut d = Decoder::new(Some(request), channels);
            let mut events = d.push(&bytes);
            events.extend(d.gap());
            prop_assert!(
                !events.iter().any(|e| matches!(e, Event::Reply(_) | Event::Echo)),
                "{:?}", events
            );
        }
    }
}
