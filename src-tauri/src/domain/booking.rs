//! 场地安排 — room bookings for trading projects: what may be booked where, when two bookings
//! collide, and how a booking's state may move.

use serde::{Deserialize, Serialize};

use super::venue::{RoomKind, Zone};

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Set-up and clean-up buffers are at most four hours each.
pub const MAX_BUFFER_MIN: u32 = 240;
/// One booking covers at most a day; longer evaluations are a series of daily bookings.
pub const MAX_BOOKING_MS: i64 = DAY_MS;
pub const MAX_SERIES_DAYS: u32 = 14;
/// The longest span one booking can hold a room, buffers included. A booking that overlaps a
/// time must have started (with its set-up) less than this before it, which bounds the index
/// scan of the conflict check.
pub const MAX_OCCUPIED_MS: i64 = MAX_BOOKING_MS + 2 * MAX_BUFFER_MIN as i64 * MINUTE_MS;

/// 用途 — what the room is booked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// 开标
    BidOpening,
    /// 评标
    Evaluation,
    /// 谈判
    Negotiation,
    /// 磋商
    Consultation,
    /// 询标
    Clarification,
    /// 竞价
    Bidding,
    /// 拍卖
    Auction,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::BidOpening,
        Purpose::Evaluation,
        Purpose::Negotiation,
        Purpose::Consultation,
        Purpose::Clarification,
        Purpose::Bidding,
        Purpose::Auction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BidOpening => "bid_opening",
            Self::Evaluation => "evaluation",
            Self::Negotiation => "negotiation",
            Self::Consultation => "consultation",
            Self::Clarification => "clarification",
            Self::Bidding => "bidding",
            Self::Auction => "auction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::BidOpening => "开标",
            Self::Evaluation => "评标",
            Self::Negotiation => "谈判",
            Self::Consultation => "磋商",
            Self::Clarification => "询标",
            Self::Bidding => "竞价",
            Self::Auction => "拍卖",
        }
    }

    /// Bid openings and evaluations are the sessions that check-in, recording and the
    /// supervisors' wall follow.
    pub fn makes_session(self) -> bool {
        matches!(self, Self::BidOpening | Self::Evaluation)
    }

    /// Purposes whose participants are experts behind access control.
    fn needs_evaluation_zone(self) -> bool {
        matches!(self, Self::Evaluation)
    }

    fn room_kinds(self) -> &'static [RoomKind] {
        use RoomKind::*;
        match self {
            Self::BidOpening => &[BidOpening],
            Self::Evaluation => &[Evaluation, OvernightEvaluation],
            Self::Negotiation => &[Negotiation, Consultation, Evaluation],
            Self::Consultation => &[Consultation, Negotiation, Evaluation],
            Self::Clarification => &[Clarification, Negotiation, Consultation, Evaluation],
            Self::Bidding => &[Bidding, BidOpening],
            Self::Auction => &[Auction, Bidding],
        }
    }
}

/// Why a room does not suit a purpose, if it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsuitable {
    /// The room's kind is not one this purpose uses.
    Kind,
    /// Evaluations happen behind access control, in the evaluation zone.
    Zone,
    /// Overnight evaluations need an overnight evaluation room.
    NotOvernight,
}

pub fn suitability(kind: RoomKind, zone: Zone, purpose: Purpose, overnight: bool) -> Result<(), Unsuitable> {
    if purpose.needs_evaluation_zone() && zone != Zone::Evaluation {
        return Err(Unsuitable::Zone);
    }
    if overnight && kind != RoomKind::OvernightEvaluation && kind != RoomKind::Other {
        return Err(Unsuitable::NotOvernight);
    }
    if kind == RoomKind::Other || purpose.room_kinds().contains(&kind) {
        Ok(())
    } else {
        Err(Unsuitable::Kind)
    }
}

/// 预约状态.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    Requested,
    Confirmed,
    InProgress,
    Completed,
    Cancelled,
}

impl BookingState {
    pub const ALL: [BookingState; 5] = [
        BookingState::Requested,
        BookingState::Confirmed,
        BookingState::InProgress,
        BookingState::Completed,
        BookingState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Confirmed => "confirmed",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Requested => "待确认",
            Self::Confirmed => "已确认",
            Self::InProgress => "进行中",
            Self::Completed => "已完成",
            Self::Cancelled => "已取消",
        }
    }

    /// requested → confirmed → in progress → completed; requested or confirmed → cancelled.
    pub fn can_become(self, next: BookingState) -> bool {
        use BookingState::*;
        matches!(
            (self, next),
            (Requested, Confirmed)
                | (Confirmed, InProgress)
                | (InProgress, Completed)
                | (Requested | Confirmed, Cancelled)
        )
    }

    /// Whether the booking still holds its room. Cancelled bookings free it; completed ones
    /// keep it (history does not move).
    pub fn holds_room(self) -> bool {
        self != BookingState::Cancelled
    }

    /// Time and room may change only before the booking starts.
    pub fn is_editable(self) -> bool {
        matches!(self, BookingState::Requested | BookingState::Confirmed)
    }
}

/// A booking's time with its buffers, in UTC epoch milliseconds; `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start_ms: i64,
    pub end_ms: i64,
    pub setup_min: u32,
    pub cleanup_min: u32,
}

impl Slot {
    /// The span the room is taken, buffers included.
    pub fn occupied(&self) -> (i64, i64) {
        (self.start_ms - self.setup_min as i64 * MINUTE_MS, self.end_ms + self.cleanup_min as i64 * MINUTE_MS)
    }

    pub fn is_valid(&self) -> bool {
        self.start_ms < self.end_ms
            && self.end_ms - self.start_ms <= MAX_BOOKING_MS
            && self.setup_min <= MAX_BUFFER_MIN
            && self.cleanup_min <= MAX_BUFFER_MIN
    }

    /// The same slot `days` days later (multi-day evaluations).
    pub fn shifted_days(&self, days: i64) -> Slot {
        Slot { start_ms: self.start_ms + days * DAY_MS, end_ms: self.end_ms + days * DAY_MS, ..*self }
    }
}

pub fn overlaps(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The earliest start at or after `from` where a span of `length_ms` (buffers included) fits
/// between the `taken` spans. `taken` may be in any order.
pub fn next_free(taken: &[(i64, i64)], from: i64, length_ms: i64) -> i64 {
    let mut spans: Vec<(i64, i64)> = taken.to_vec();
    spans.sort_unstable();
    let mut t = from;
    for (s, e) in spans {
        if e <= t {
            continue;
        }
        if s >= t + length_ms {
            break;
        }
        t = t.max(e);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_make_adjacent_bookings_collide() {
        let a =
            Slot { start_ms: 10 * MINUTE_MS * 6, end_ms: 12 * MINUTE_MS * 60, setup_min: 0, cleanup_min: 30 };
        let b =
            Slot { start_ms: 12 * MINUTE_MS * 60, end_ms: 14 * MINUTE_MS * 60, setup_min: 0, cleanup_min: 0 };
        assert!(overlaps(a.occupied(), b.occupied()));
        let b_later = Slot { start_ms: b.start_ms + 30 * MINUTE_MS, ..b };
        assert!(!overlaps(a.occupied(), b_later.occupied()));
    }

    #[test]
    fn next_free_skips_over_touching_spans() {
        let taken = [(100, 200), (200, 300), (350, 400)];
        assert_eq!(next_free(&taken, 150, 40), 300);
        assert_eq!(next_free(&taken, 150, 60), 400);
        assert_eq!(next_free(&taken, 0, 100), 0);
        assert_eq!(next_free(&taken, 0, 101), 400);
    }

    #[test]
    fn evaluation_needs_an_evaluation_room_behind_access_control() {
        use RoomKind::*;
        assert_eq!(suitability(Evaluation, Zone::Evaluation, Purpose::Evaluation, false), Ok(()));
        assert_eq!(
            suitability(Evaluation, Zone::PublicService, Purpose::Evaluation, false),
            Err(Unsuitable::Zone)
        );
        assert_eq!(
            suitability(BidOpening, Zone::Evaluation, Purpose::Evaluation, false),
            Err(Unsuitable::Kind)
        );
        assert_eq!(
            suitability(Evaluation, Zone::Evaluation, Purpose::Evaluation, true),
            Err(Unsuitable::NotOvernight)
        );
        assert_eq!(suitability(OvernightEvaluation, Zone::Evaluation, Purpose::Evaluation, true), Ok(()));
        assert_eq!(suitability(BidOpening, Zone::Transaction, Purpose::BidOpening, false), Ok(()));
    }

    #[test]
    fn states_move_forward_only() {
        use BookingState::*;
        assert!(Requested.can_become(Confirmed));
        assert!(Confirmed.can_become(Cancelled));
        assert!(!InProgress.can_become(Cancelled));
        assert!(!Completed.can_become(InProgress));
        assert!(!Cancelled.can_become(Confirmed));
        assert!(Completed.holds_room() && !Cancelled.holds_room());
    }
}
