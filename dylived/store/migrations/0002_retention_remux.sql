-- 0002: retention and MP4 post-processing.
--
-- segments.state gains 'deleted': retention (or a remux that does not keep the originals)
-- removed the file; the row stays as the history of what was recorded. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt with the same columns and key.
CREATE TABLE segments_0002 (
    session_id        INTEGER NOT NULL REFERENCES sessions(id),
    seq               INTEGER NOT NULL,
    path              TEXT NOT NULL,
    -- writing: ffmpeg has it open; closed: finished and renamed; failed: unusable;
    -- orphaned: was 'writing' when the daemon died (the start-up recovery closes it);
    -- deleted: the file was removed by retention or after a remux (the row is history).
    state             TEXT NOT NULL
                      CHECK (state IN ('writing', 'closed', 'failed', 'orphaned', 'deleted')),
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
INSERT INTO segments_0002 SELECT session_id, seq, path, state, started_at_ms, ended_at_ms,
    media_duration_s, bytes, quality, width, height, codec FROM segments;
DROP TABLE segments;
ALTER TABLE segments_0002 RENAME TO segments;

-- One MP4 written from a finished session's segments (one per run of the same frame size and
-- codec; part 1, 2, ...). done: the file is complete; failed: ffmpeg failed (error says why,
-- nothing left on disk); deleted: retention removed the file.
CREATE TABLE remuxes (
    session_id    INTEGER NOT NULL REFERENCES sessions(id),
    part          INTEGER NOT NULL,
    path          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('done', 'failed', 'deleted')),
    segments      INTEGER NOT NULL,  -- how many segments it joins
    duration_s    REAL,              -- their media duration
    bytes         INTEGER,
    finished_at_ms INTEGER NOT NULL,
    error         TEXT,
    PRIMARY KEY (session_id, part)
);
