-- 场地安排: rooms (seeded from the venue file), trading projects, bookings and their history.
-- Times of bookings are UTC epoch milliseconds; occupied_* include the set-up and clean-up buffers
-- so that the conflict check is one indexed range query.

CREATE TABLE rooms (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    kind_name       TEXT,
    zone            TEXT NOT NULL,
    capacity        INTEGER NOT NULL CHECK (capacity > 0),
    floor           TEXT,
    notes           TEXT NOT NULL DEFAULT '',
    active          INTEGER NOT NULL DEFAULT 1,
    devices         TEXT NOT NULL DEFAULT '[]',
    in_venue_file   INTEGER NOT NULL DEFAULT 1,
    version         INTEGER NOT NULL DEFAULT 1,
    updated_at      TEXT NOT NULL
);

CREATE TABLE projects (
    id                  INTEGER PRIMARY KEY,
    tender_project_code TEXT NOT NULL UNIQUE,
    code_unusual        INTEGER NOT NULL DEFAULT 0,
    name                TEXT NOT NULL,
    category            TEXT NOT NULL,
    tenderer_name       TEXT NOT NULL,
    tenderer_credit_code TEXT NOT NULL,
    agency_name         TEXT,
    agency_credit_code  TEXT,
    responsible_staff   TEXT NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE project_sections (
    project_id       INTEGER NOT NULL REFERENCES projects (id),
    bid_section_code TEXT NOT NULL,
    PRIMARY KEY (project_id, bid_section_code)
);

CREATE TABLE bookings (
    id                    INTEGER PRIMARY KEY,
    room_id               TEXT NOT NULL REFERENCES rooms (id),
    project_id            INTEGER NOT NULL REFERENCES projects (id),
    purpose               TEXT NOT NULL,
    start_ms              INTEGER NOT NULL,
    end_ms                INTEGER NOT NULL,
    setup_min             INTEGER NOT NULL DEFAULT 0,
    cleanup_min           INTEGER NOT NULL DEFAULT 0,
    occupied_start_ms     INTEGER NOT NULL,
    occupied_end_ms       INTEGER NOT NULL,
    expected_participants INTEGER NOT NULL DEFAULT 0,
    expected_experts      INTEGER NOT NULL DEFAULT 0,
    overnight             INTEGER NOT NULL DEFAULT 0,
    state                 TEXT NOT NULL,
    series_id             TEXT,
    notes                 TEXT NOT NULL DEFAULT '',
    version               INTEGER NOT NULL DEFAULT 1,
    created_by            TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    CHECK (start_ms < end_ms)
);

CREATE INDEX bookings_room_occupied ON bookings (room_id, occupied_start_ms);
CREATE INDEX bookings_start ON bookings (start_ms);
CREATE INDEX bookings_project ON bookings (project_id);

CREATE TABLE booking_sections (
    booking_id       INTEGER NOT NULL REFERENCES bookings (id),
    bid_section_code TEXT NOT NULL,
    PRIMARY KEY (booking_id, bid_section_code)
);

-- 变更记录: every creation, change of time or room, state change and cancellation, with its reason.
CREATE TABLE booking_changes (
    id          INTEGER PRIMARY KEY,
    booking_id  INTEGER NOT NULL REFERENCES bookings (id),
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    change      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    before      TEXT,
    after       TEXT
);

CREATE INDEX booking_changes_booking ON booking_changes (booking_id, id);
