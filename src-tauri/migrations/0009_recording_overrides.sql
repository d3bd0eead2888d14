-- A supervisor's manual start or stop of recording (media::schedule::Override), kept so that a
-- restart in the middle of a session neither ends a recording started by hand nor resumes one a
-- supervisor stopped. One row per camera or microphone; a row goes when its override does.

CREATE TABLE recording_overrides (
    camera_id  TEXT PRIMARY KEY,
    -- media::schedule::Override as JSON: {"action": "start"|"stop", "by", "reason", "atMs", "scheduled"}.
    override   TEXT NOT NULL
);
