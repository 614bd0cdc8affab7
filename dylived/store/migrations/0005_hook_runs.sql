-- 0005: the [hooks] runs (issue 14): one row per run that became due, kept as its record.
--
-- The triggers make a row 'due' in the same transaction that finishes the thing it is about,
-- so a run cannot be lost between the two: a segment becoming 'closed' (on_segment_closed,
-- item = its seq), a session closed for a reason other than the daemon's stop
-- (on_session_closed, item = 0; a daemon_stopped session may be resumed, so it is due only once
-- a newer session of its broadcaster opens instead), an MP4 remux 'done' (on_remuxed, item =
-- its part). The hook runner (dylived/alerts/hooks.py) takes due rows,
-- runs the configured hook and sets the outcome: done (exit 0), failed, timeout (killed), or
-- skipped (no hook configured, or its file is gone). A row still 'due' at start was due while
-- the daemon was down (or was killed by the stop): it is run then.
CREATE TABLE hook_runs (
    hook            TEXT NOT NULL
                    CHECK (hook IN ('on_segment_closed', 'on_session_closed', 'on_remuxed')),
    session_id      INTEGER NOT NULL REFERENCES sessions(id),
    item            INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'due'
                    CHECK (state IN ('due', 'done', 'failed', 'timeout', 'skipped')),
    due_at_ms       INTEGER NOT NULL,
    finished_at_ms  INTEGER,
    exit_code       INTEGER,
    detail          TEXT,
    PRIMARY KEY (hook, session_id, item)
);
CREATE INDEX hook_runs_due ON hook_runs(due_at_ms) WHERE state = 'due';

CREATE TRIGGER hook_segment_inserted AFTER INSERT ON segments WHEN NEW.state = 'closed'
BEGIN
    INSERT OR IGNORE INTO hook_runs (hook, session_id, item, due_at_ms)
    VALUES ('on_segment_closed', NEW.session_id, NEW.seq,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER hook_segment_closed AFTER UPDATE OF state ON segments
WHEN NEW.state = 'closed' AND OLD.state IS NOT 'closed'
BEGIN
    INSERT OR IGNORE INTO hook_runs (hook, session_id, item, due_at_ms)
    VALUES ('on_segment_closed', NEW.session_id, NEW.seq,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER hook_session_closed AFTER UPDATE OF ended_at_ms ON sessions
WHEN OLD.ended_at_ms IS NULL AND NEW.ended_at_ms IS NOT NULL
     AND NEW.reason_for_exit IS NOT 'daemon_stopped'
BEGIN
    INSERT OR IGNORE INTO hook_runs (hook, session_id, item, due_at_ms)
    VALUES ('on_session_closed', NEW.id, 0,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER hook_session_superseded AFTER INSERT ON sessions
BEGIN
    INSERT OR IGNORE INTO hook_runs (hook, session_id, item, due_at_ms)
    SELECT 'on_session_closed', id, 0,
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM (SELECT id, reason_for_exit FROM sessions
          WHERE broadcaster_key = NEW.broadcaster_key AND id < NEW.id ORDER BY id DESC LIMIT 1)
    WHERE reason_for_exit = 'daemon_stopped';
END;

CREATE TRIGGER hook_remuxed AFTER INSERT ON remuxes WHEN NEW.state = 'done'
BEGIN
    INSERT OR IGNORE INTO hook_runs (hook, session_id, item, due_at_ms)
    VALUES ('on_remuxed', NEW.session_id, NEW.part,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
