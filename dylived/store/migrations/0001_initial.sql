-- 0001: the initial dylived schema (ARCHITECTURE.md §5, dataset.md).
-- Applied inside one transaction by dylived.store.db.migrate(); never edit once released:
-- add 0002_*.sql instead. Times are Unix epoch milliseconds (INTEGER) unless named *_s.

CREATE TABLE broadcasters (
    key          TEXT PRIMARY KEY,             -- the stable id the control API uses
    target       TEXT NOT NULL,                -- as written in the watchlist
    name         TEXT,
    platform     TEXT NOT NULL DEFAULT 'douyin',
    added_at_ms  INTEGER NOT NULL
);

CREATE TABLE sessions (
    id                         INTEGER PRIMARY KEY,
    broadcaster_key            TEXT NOT NULL REFERENCES broadcasters(key),
    platform                   TEXT NOT NULL DEFAULT 'douyin',
    room_id                    TEXT,
    web_rid                    TEXT,
    title                      TEXT NOT NULL DEFAULT '',
    nickname                   TEXT NOT NULL DEFAULT '',
    started_at_ms              INTEGER NOT NULL,
    ended_at_ms                INTEGER,        -- NULL while the session is open
    reason_for_exit            TEXT,
    capture_events             INTEGER NOT NULL DEFAULT 1,
    record_video_requested     INTEGER NOT NULL DEFAULT 1,
    record_video_effective     INTEGER NOT NULL DEFAULT 0,
    video_quality              TEXT,
    connection_opened          INTEGER NOT NULL DEFAULT 0,
    reconnect_count            INTEGER NOT NULL DEFAULT 0,
    total_events               INTEGER NOT NULL DEFAULT 0,   -- kept by trigger events_count
    event_counts               TEXT,           -- JSON {type: n}, written at close
    recording_segments         INTEGER NOT NULL DEFAULT 0,   -- written at close
    recording_total_bytes      INTEGER NOT NULL DEFAULT 0,
    recording_total_duration_s REAL NOT NULL DEFAULT 0,
    recording_stop_reason      TEXT,
    summary                    TEXT,           -- JSON: the dataset.md summary row, at close
    room_info                  TEXT            -- JSON: the dataset.md room_info row
);
CREATE INDEX sessions_by_broadcaster ON sessions(broadcaster_key, started_at_ms);
CREATE INDEX sessions_open ON sessions(ended_at_ms) WHERE ended_at_ms IS NULL;

CREATE TABLE events (
    session_id       INTEGER NOT NULL REFERENCES sessions(id),
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order, global
    type             TEXT NOT NULL,
    msg_id           TEXT,              -- TEXT: Douyin msg ids are uint64 (> SQLite INTEGER)
    server_time_ms   INTEGER,
    received_at_ms   INTEGER NOT NULL,
    stream_offset_s  REAL,
    user_id          TEXT,
    payload          TEXT NOT NULL,     -- JSON: the full dataset.md row
    UNIQUE (session_id, msg_id)         -- INSERT OR IGNORE = dedup across reconnects
);
CREATE INDEX events_by_session ON events(session_id, seq);

-- Per-session, per-type counts, kept exact by triggers (ignored duplicates never fire them).
CREATE TABLE session_event_counts (
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    type        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (session_id, type)
) WITHOUT ROWID;

CREATE TRIGGER events_count AFTER INSERT ON events
BEGIN
    INSERT INTO session_event_counts(session_id, type, count) VALUES (NEW.session_id, NEW.type, 1)
        ON CONFLICT(session_id, type) DO UPDATE SET count = count + 1;
    UPDATE sessions SET total_events = total_events + 1 WHERE id = NEW.session_id;
END;

CREATE TABLE unknown_messages (
    id              INTEGER PRIMARY KEY,
    session_id      INTEGER NOT NULL REFERENCES sessions(id),
    method          TEXT NOT NULL,
    msg_id          TEXT,
    received_at_ms  INTEGER NOT NULL,
    raw             BLOB NOT NULL
);
CREATE INDEX unknown_by_session ON unknown_messages(session_id, method);

CREATE TABLE segments (
    session_id        INTEGER NOT NULL REFERENCES sessions(id),
    seq               INTEGER NOT NULL,
    path              TEXT NOT NULL,
    -- writing: ffmpeg has it open; closed: finished and renamed; failed: unusable;
    -- orphaned: was 'writing' when the daemon died (the recorder fixes it up and closes it).
    state             TEXT NOT NULL CHECK (state IN ('writing', 'closed', 'failed', 'orphaned')),
    started_at_ms     INTEGER NOT NULL,
    ended_at_ms       INTEGER,
    media_duration_s  REAL,
    bytes             INTEGER,
    quality           TEXT,
    width             INTEGER,
    height            INTEGER,
    codec             TEXT,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE gaps (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    kind        TEXT NOT NULL CHECK (kind IN ('media', 'events')),
    from_ms     INTEGER NOT NULL,
    to_ms       INTEGER NOT NULL,
    cause       TEXT NOT NULL
);
CREATE INDEX gaps_by_session ON gaps(session_id, kind);

CREATE TABLE status_checks (
    id               INTEGER PRIMARY KEY,
    broadcaster_key  TEXT NOT NULL,
    checked_at_ms    INTEGER NOT NULL,
    live             INTEGER NOT NULL,
    room_id          TEXT,
    viewers          INTEGER,
    error            TEXT
);
CREATE INDEX status_checks_by_broadcaster ON status_checks(broadcaster_key, checked_at_ms);
