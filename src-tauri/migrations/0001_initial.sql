-- Operators, the hash-chained journal and the outbox to the comprehensive service system.
-- Times: *_at columns are RFC 3339 text; recorded_at keeps the venue's offset, *_ms is UTC epoch ms.

CREATE TABLE operators (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('front_desk', 'supervisor', 'venue_manager', 'administrator')),
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE journal (
    seq             INTEGER PRIMARY KEY,
    recorded_at     TEXT NOT NULL,
    recorded_at_ms  INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    actor_role      TEXT,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    detail          TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL UNIQUE
);

CREATE INDEX journal_recorded_at_ms ON journal (recorded_at_ms);

-- Evidence is append-only: the database itself refuses to change or remove a journal record.
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal is append-only: records cannot be changed');
END;

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal is append-only: records cannot be deleted');
END;

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    journal_seq     INTEGER NOT NULL REFERENCES journal (seq),
    event_type      TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'parked')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT
);

CREATE INDEX outbox_state_seq ON outbox (state, seq);
