-- 录音录像: the index of recorded segments with each camera's hash chain, the gaps in recording, and
-- legal holds. Times are UTC epoch milliseconds. The chain is defined in src-tauri/src/media/chain.rs
-- and docs/recording-integrity.md:
--   chain = SHA-256(prev_chain "\n" sha256 "\n" camera_id "\n" start_ms "\n" end_ms "\n" bytes "\n")
-- with the hashes as lowercase hex and the numbers in decimal; a camera's first segment links to 64 zeros.

CREATE TABLE recording_segments (
    id           INTEGER PRIMARY KEY,
    camera_id    TEXT NOT NULL,
    -- The room whose venue-file entry listed the camera when the segment was indexed (none for
    -- cameras of public areas).
    room_id      TEXT,
    -- Relative to the venue's recordings directory, '/'-separated.
    path         TEXT NOT NULL UNIQUE,
    start_ms     INTEGER NOT NULL,
    end_ms       INTEGER NOT NULL,
    bytes        INTEGER NOT NULL CHECK (bytes >= 0),
    sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
    prev_chain   TEXT NOT NULL CHECK (length(prev_chain) = 64),
    chain        TEXT NOT NULL CHECK (length(chain) = 64),
    indexed_at   TEXT NOT NULL,
    -- Found unindexed after a crash and indexed at the next start.
    recovered    INTEGER NOT NULL DEFAULT 0,
    -- Set when retention removed the file; the row stays (it is the evidence that it existed).
    purged_at_ms INTEGER,
    CHECK (start_ms <= end_ms)
);

-- One successor per link: a camera's chain cannot fork.
CREATE UNIQUE INDEX recording_segments_link ON recording_segments (camera_id, prev_chain);
CREATE INDEX recording_segments_room_time ON recording_segments (room_id, start_ms);
CREATE INDEX recording_segments_camera_time ON recording_segments (camera_id, start_ms);

-- What was recorded cannot be rewritten: only `purged_at_ms` may be set, once, and rows stay.
CREATE TRIGGER recording_segments_no_update BEFORE UPDATE ON recording_segments
WHEN NEW.id IS NOT OLD.id OR NEW.camera_id IS NOT OLD.camera_id OR NEW.room_id IS NOT OLD.room_id
  OR NEW.path IS NOT OLD.path OR NEW.start_ms IS NOT OLD.start_ms OR NEW.end_ms IS NOT OLD.end_ms
  OR NEW.bytes IS NOT OLD.bytes OR NEW.sha256 IS NOT OLD.sha256 OR NEW.prev_chain IS NOT OLD.prev_chain
  OR NEW.chain IS NOT OLD.chain OR NEW.indexed_at IS NOT OLD.indexed_at OR NEW.recovered IS NOT OLD.recovered
  OR (OLD.purged_at_ms IS NOT NULL AND NEW.purged_at_ms IS NOT OLD.purged_at_ms)
BEGIN
    SELECT RAISE(ABORT, 'recording index is append-only: segments cannot be changed');
END;

CREATE TRIGGER recording_segments_no_delete BEFORE DELETE ON recording_segments
BEGIN
    SELECT RAISE(ABORT, 'recording index is append-only: segments cannot be deleted');
END;

-- No data from a camera: open (to_ms NULL) while it lasts, closed when data returns.
CREATE TABLE recording_gaps (
    id         INTEGER PRIMARY KEY,
    camera_id  TEXT NOT NULL,
    room_id    TEXT,
    from_ms    INTEGER NOT NULL,
    to_ms      INTEGER,
    reason     TEXT NOT NULL,
    CHECK (to_ms IS NULL OR from_ms <= to_ms)
);

CREATE INDEX recording_gaps_room_time ON recording_gaps (room_id, from_ms);
-- At most one open gap per camera.
CREATE UNIQUE INDEX recording_gaps_open ON recording_gaps (camera_id) WHERE to_ms IS NULL;

CREATE TRIGGER recording_gaps_closed_once BEFORE UPDATE ON recording_gaps
WHEN OLD.to_ms IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.camera_id IS NOT OLD.camera_id
  OR NEW.room_id IS NOT OLD.room_id OR NEW.from_ms IS NOT OLD.from_ms OR NEW.reason IS NOT OLD.reason
BEGIN
    SELECT RAISE(ABORT, 'recording gaps are append-only: only an open gap can be closed');
END;

CREATE TRIGGER recording_gaps_no_delete BEFORE DELETE ON recording_gaps
BEGIN
    SELECT RAISE(ABORT, 'recording gaps are append-only: gaps cannot be deleted');
END;

-- 证据保全: keeps the segments of a project, a booking (session) or a time range (of one room, or of
-- every camera when room_id is NULL) whatever the retention policy says.
CREATE TABLE legal_holds (
    id              INTEGER PRIMARY KEY,
    scope           TEXT NOT NULL CHECK (scope IN ('project', 'booking', 'range')),
    project_code    TEXT,
    booking_id      INTEGER REFERENCES bookings (id),
    room_id         TEXT,
    from_ms         INTEGER,
    to_ms           INTEGER,
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    released_by     TEXT,
    released_at     TEXT,
    released_at_ms  INTEGER,
    release_reason  TEXT,
    CHECK ((scope = 'project' AND project_code IS NOT NULL AND booking_id IS NULL AND from_ms IS NULL)
        OR (scope = 'booking' AND booking_id IS NOT NULL AND project_code IS NULL AND from_ms IS NULL)
        OR (scope = 'range' AND from_ms IS NOT NULL AND to_ms IS NOT NULL AND from_ms < to_ms
            AND project_code IS NULL AND booking_id IS NULL)),
    CHECK ((released_at_ms IS NULL) = (released_by IS NULL))
);

CREATE INDEX legal_holds_active ON legal_holds (released_at_ms);

-- A hold is released once, with who and why; nothing else about it changes, and it is never removed.
CREATE TRIGGER legal_holds_release_once BEFORE UPDATE ON legal_holds
WHEN OLD.released_at_ms IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.scope IS NOT OLD.scope
  OR NEW.project_code IS NOT OLD.project_code OR NEW.booking_id IS NOT OLD.booking_id
  OR NEW.room_id IS NOT OLD.room_id OR NEW.from_ms IS NOT OLD.from_ms OR NEW.to_ms IS NOT OLD.to_ms
  OR NEW.reason IS NOT OLD.reason OR NEW.created_by IS NOT OLD.created_by
  OR NEW.created_at IS NOT OLD.created_at OR NEW.created_at_ms IS NOT OLD.created_at_ms
  OR NEW.release_reason IS NULL
BEGIN
    SELECT RAISE(ABORT, 'legal holds are append-only: a hold can only be released, once, with a reason');
END;

CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds
BEGIN
    SELECT RAISE(ABORT, 'legal holds are append-only: holds cannot be deleted');
END;
