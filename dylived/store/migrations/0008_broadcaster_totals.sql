-- 0008: per-broadcaster totals for /metrics, kept by triggers (store/totals.py reads them).
--
-- A scrape must stay cheap with 1,000 broadcasters and years of sessions: summing
-- session_event_counts and segments per broadcaster reads every session's rows (seconds at
-- 100,000 sessions). These tables hold the sums, changed in the transaction that changes what
-- they sum. The triggers fire per (session, type) of a stored batch (the writer adds a batch's
-- counts at once, 0007), per segment row written and per reconnect_count update: never per
-- event row. Nothing deletes sessions or closed segment rows (retention marks them
-- 'deleted', which still counts), so the totals only grow.

CREATE TABLE broadcaster_event_counts (
    broadcaster_key  TEXT NOT NULL,
    type             TEXT NOT NULL,
    count            INTEGER NOT NULL,
    PRIMARY KEY (broadcaster_key, type)
) WITHOUT ROWID;

CREATE TABLE broadcaster_totals (
    broadcaster_key  TEXT PRIMARY KEY,
    segments         INTEGER NOT NULL DEFAULT 0,  -- rows in state 'closed' or 'deleted'
    recorded_bytes   INTEGER NOT NULL DEFAULT 0,  -- their bytes
    reconnects       INTEGER NOT NULL DEFAULT 0   -- sum of sessions.reconnect_count
) WITHOUT ROWID;

INSERT INTO broadcaster_event_counts (broadcaster_key, type, count)
    SELECT s.broadcaster_key, c.type, sum(c.count) FROM session_event_counts c
    JOIN sessions s ON s.id = c.session_id GROUP BY s.broadcaster_key, c.type;

INSERT INTO broadcaster_totals (broadcaster_key, segments, recorded_bytes, reconnects)
    SELECT s.broadcaster_key, coalesce(sum(g.n), 0), coalesce(sum(g.b), 0),
        sum(s.reconnect_count)
    FROM sessions s LEFT JOIN (
        SELECT session_id, count(*) AS n, coalesce(sum(bytes), 0) AS b FROM segments
        WHERE state IN ('closed', 'deleted') GROUP BY session_id
    ) g ON g.session_id = s.id
    GROUP BY s.broadcaster_key;

CREATE TRIGGER broadcaster_events_added AFTER INSERT ON session_event_counts
BEGIN
    INSERT INTO broadcaster_event_counts (broadcaster_key, type, count)
        VALUES ((SELECT broadcaster_key FROM sessions WHERE id = NEW.session_id), NEW.type,
            NEW.count)
        ON CONFLICT (broadcaster_key, type) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER broadcaster_events_counted AFTER UPDATE OF count ON session_event_counts
BEGIN
    INSERT INTO broadcaster_event_counts (broadcaster_key, type, count)
        VALUES ((SELECT broadcaster_key FROM sessions WHERE id = NEW.session_id), NEW.type,
            NEW.count - OLD.count)
        ON CONFLICT (broadcaster_key, type) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER broadcaster_segment_added AFTER INSERT ON segments
    WHEN NEW.state IN ('closed', 'deleted')
BEGIN
    INSERT INTO broadcaster_totals (broadcaster_key, segments, recorded_bytes)
        VALUES ((SELECT broadcaster_key FROM sessions WHERE id = NEW.session_id), 1,
            coalesce(NEW.bytes, 0))
        ON CONFLICT (broadcaster_key) DO UPDATE SET segments = segments + excluded.segments,
            recorded_bytes = recorded_bytes + excluded.recorded_bytes;
END;

CREATE TRIGGER broadcaster_segment_changed AFTER UPDATE OF state, bytes ON segments
    WHEN OLD.state IN ('closed', 'deleted') OR NEW.state IN ('closed', 'deleted')
BEGIN
    INSERT INTO broadcaster_totals (broadcaster_key, segments, recorded_bytes)
        VALUES ((SELECT broadcaster_key FROM sessions WHERE id = NEW.session_id),
            (NEW.state IN ('closed', 'deleted')) - (OLD.state IN ('closed', 'deleted')),
            (NEW.state IN ('closed', 'deleted')) * coalesce(NEW.bytes, 0)
                - (OLD.state IN ('closed', 'deleted')) * coalesce(OLD.bytes, 0))
        ON CONFLICT (broadcaster_key) DO UPDATE SET segments = segments + excluded.segments,
            recorded_bytes = recorded_bytes + excluded.recorded_bytes;
END;

CREATE TRIGGER broadcaster_segment_removed AFTER DELETE ON segments
    WHEN OLD.state IN ('closed', 'deleted')
BEGIN
    UPDATE broadcaster_totals SET segments = segments - 1,
        recorded_bytes = recorded_bytes - coalesce(OLD.bytes, 0)
        WHERE broadcaster_key = (SELECT broadcaster_key FROM sessions WHERE id = OLD.session_id);
END;

CREATE TRIGGER broadcaster_reconnects AFTER UPDATE OF reconnect_count ON sessions
    WHEN NEW.reconnect_count != OLD.reconnect_count
BEGIN
    INSERT INTO broadcaster_totals (broadcaster_key, reconnects)
        VALUES (NEW.broadcaster_key, NEW.reconnect_count - OLD.reconnect_count)
        ON CONFLICT (broadcaster_key) DO UPDATE SET reconnects = reconnects + excluded.reconnects;
END;

CREATE TRIGGER broadcaster_session_opened AFTER INSERT ON sessions
BEGIN
    INSERT INTO broadcaster_totals (broadcaster_key, reconnects)
        VALUES (NEW.broadcaster_key, NEW.reconnect_count)
        ON CONFLICT (broadcaster_key) DO UPDATE SET reconnects = reconnects + excluded.reconnects;
END;
