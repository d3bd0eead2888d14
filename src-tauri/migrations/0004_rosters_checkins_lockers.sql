-- 专家签到: session rosters (sealed with the roster key from the OS keyring), check-ins, lockers and
-- the door events that tell who is inside. Times are UTC epoch milliseconds.

-- One expert drawn for one session. Name, ID number, expert type and photo are in `sealed`
-- (ChaCha20-Poly1305); `id_tag` is an HMAC of the ID number so the desk can find an expert without
-- decrypting the roster. `sealed` becomes NULL when the roster is purged; the masked ID and the
-- attendance stay for the record.
CREATE TABLE roster_entries (
    id                INTEGER PRIMARY KEY,
    booking_id        INTEGER NOT NULL REFERENCES bookings (id),
    id_tag            TEXT NOT NULL,
    id_masked         TEXT NOT NULL,
    sealed            BLOB,
    is_chair          INTEGER NOT NULL DEFAULT 0,
    substitute        INTEGER NOT NULL DEFAULT 0,
    substitute_reason TEXT,
    source            TEXT NOT NULL,
    added_by          TEXT NOT NULL,
    added_at_ms       INTEGER NOT NULL,
    purged_at_ms      INTEGER,
    UNIQUE (booking_id, id_tag)
);

CREATE INDEX roster_entries_tag ON roster_entries (id_tag);

CREATE TABLE check_ins (
    id                  INTEGER PRIMARY KEY,
    entry_id            INTEGER NOT NULL UNIQUE REFERENCES roster_entries (id),
    booking_id          INTEGER NOT NULL REFERENCES bookings (id),
    -- The person key on the door controllers.
    employee_no         TEXT NOT NULL UNIQUE,
    card_no_sealed      BLOB,
    card_no_masked      TEXT,
    bank_id             TEXT NOT NULL,
    locker_no           INTEGER NOT NULL,
    checked_in_at_ms    INTEGER NOT NULL,
    checked_in_by       TEXT NOT NULL,
    valid_from_ms       INTEGER NOT NULL,
    valid_until_ms      INTEGER NOT NULL,
    -- inside | left | reentry_approved | checked_out
    status              TEXT NOT NULL,
    late                INTEGER NOT NULL DEFAULT 0,
    checked_out_at_ms   INTEGER,
    checked_out_by      TEXT,
    last_movement_at_ms INTEGER
);

CREATE INDEX check_ins_status ON check_ins (status);

-- The app's side of each locker; the board's live lock state is read, not stored.
CREATE TABLE lockers (
    bank_id      TEXT NOT NULL,
    locker_no    INTEGER NOT NULL,
    -- free | assigned | occupied | retrieving | fault
    status       TEXT NOT NULL DEFAULT 'free',
    entry_id     INTEGER REFERENCES roster_entries (id),
    fault_reason TEXT,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (bank_id, locker_no)
);

-- Access events from the controllers, de-duplicated by the controller's serial number.
CREATE TABLE door_events (
    device_id      TEXT NOT NULL,
    serial_no      INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    major          INTEGER NOT NULL,
    minor          INTEGER NOT NULL,
    employee_no    TEXT,
    card_no        TEXT,
    door_no        INTEGER,
    card_reader_no INTEGER,
    PRIMARY KEY (device_id, serial_no)
);

CREATE INDEX door_events_employee ON door_events (employee_no, at_ms);
