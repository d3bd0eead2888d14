-- 报警中心: every alarm from every source, with who answered it. Times are UTC epoch milliseconds.
CREATE TABLE alarms (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL,
    severity           TEXT NOT NULL,
    source             TEXT NOT NULL,
    room_id            TEXT,
    raised_at_ms       INTEGER NOT NULL,
    -- The cause is still there (input active, door open, device offline).
    active             INTEGER NOT NULL DEFAULT 1,
    -- raised | acknowledged | cleared
    state              TEXT NOT NULL,
    acknowledged_by    TEXT,
    acknowledged_at_ms INTEGER,
    note               TEXT,
    cleared_at_ms      INTEGER,
    detail             TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX alarms_state ON alarms (state, raised_at_ms);
CREATE INDEX alarms_source ON alarms (source, kind);
