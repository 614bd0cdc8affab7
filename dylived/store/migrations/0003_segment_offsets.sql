-- 0003: each segment's place on its session's recording timeline.
--
-- start_offset_s: the media seconds of the session's earlier segments (seq order), i.e. where
-- this segment starts in the session's recording; events' stream_offset_s use the same
-- timeline. NULL for rows written before this migration.
ALTER TABLE segments ADD COLUMN start_offset_s REAL;
