-- 不良交易行为 / 异常情况: incidents a supervisor records from the wall, each with the legal hold it
-- placed on the room's recordings around it, and bookmarks on the recording timeline (an incident's,
-- or a supervisor's note). Times are UTC epoch milliseconds.

CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY,
    -- One of media::incidents::IncidentCategory (snake_case).
    category             TEXT NOT NULL,
    description          TEXT NOT NULL,
    room_id              TEXT NOT NULL,
    -- The session in the room at that moment, if any.
    booking_id           INTEGER REFERENCES bookings (id),
    tender_project_code  TEXT,
    at_ms                INTEGER NOT NULL,
    -- JSON array of {role, name, identity}: experts by masked identity only, never by name.
    people               TEXT NOT NULL,
    hold_id              INTEGER NOT NULL REFERENCES legal_holds (id),
    recorded_by          TEXT NOT NULL,
    recorded_at          TEXT NOT NULL,
    recorded_at_ms       INTEGER NOT NULL
);

CREATE INDEX incidents_time ON incidents (at_ms);

-- Evidence: an incident is never changed or removed.
CREATE TRIGGER incidents_no_update BEFORE UPDATE ON incidents
BEGIN
    SELECT RAISE(ABORT, 'incidents are append-only');
END;

CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
BEGIN
    SELECT RAISE(ABORT, 'incidents are append-only');
END;

CREATE TABLE bookmarks (
    id             INTEGER PRIMARY KEY,
    room_id        TEXT,
    camera_id      TEXT,
    at_ms          INTEGER NOT NULL,
    note           TEXT NOT NULL,
    incident_id    INTEGER REFERENCES incidents (id),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    CHECK (room_id IS NOT NULL OR camera_id IS NOT NULL)
);

CREATE INDEX bookmarks_room_time ON bookmarks (room_id, at_ms);
