-- 0003: each segment's place on its session's recording timeline.
--
-- start_offset_s: the media seconds of the session's earlier segments (seq order), i.e. where
-- this segment starts in the session's recording; events' stream_offset_s use the same
-- timeline. NULL for rows written before this migration.
ALTER TABLE segments ADD COLUMN start_offset_s REAL;

-- The events of a wall-clock range of a session: a finished segment rewrites the offsets of
-- the events it covers from its stored wall times (ops.SetEventOffsets).
CREATE INDEX events_by_received ON events(session_id, received_at_ms);
