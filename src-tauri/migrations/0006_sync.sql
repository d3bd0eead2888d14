-- 综合服务系统对接: the sender's bookkeeping on the outbox, the pulls' cursors, and what the
-- platform sent us linked to the local rows it became.

ALTER TABLE outbox ADD COLUMN reject_code TEXT;
ALTER TABLE outbox ADD COLUMN parked_at TEXT;
ALTER TABLE outbox ADD COLUMN sent_at_ms INTEGER;

CREATE INDEX outbox_parked ON outbox (state) WHERE state = 'parked';

-- Small named values that must survive restarts: pull cursors, the last success, the link state.
CREATE TABLE sync_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Booking requests made on the platform. `booking_id` is the local booking they became; a request
-- that could not be placed (room taken, unknown room) keeps its reason and is reported upward.
CREATE TABLE platform_bookings (
    platform_booking_id TEXT PRIMARY KEY,
    booking_id          INTEGER REFERENCES bookings (id),
    state               TEXT NOT NULL CHECK (state IN ('imported', 'refused', 'cancelled')),
    reason              TEXT,
    received_at         TEXT NOT NULL
);

-- The platform's sessions (开标/评标) of a day, matched to local bookings; rosters are fetched on the
-- session's day and imported sealed (see checkin), so only their state is kept here.
CREATE TABLE platform_sessions (
    session_id    TEXT PRIMARY KEY,
    booking_id    INTEGER REFERENCES bookings (id),
    session_date  TEXT NOT NULL,
    has_roster    INTEGER NOT NULL DEFAULT 0,
    roster_state  TEXT NOT NULL CHECK (roster_state IN ('none', 'pending', 'imported', 'failed')),
    reason        TEXT,
    updated_at    TEXT NOT NULL
);

CREATE INDEX platform_sessions_date ON platform_sessions (session_date);
