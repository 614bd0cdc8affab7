-- 0007: the event counts are kept per batch by the writer, not per row by a trigger (issue 16).
--
-- session_event_counts and sessions.total_events stay as they are (exact up to now: the
-- trigger kept them); from this version store/statements.py insert_events adds each batch's
-- stored rows to them in the transaction that stores the rows (ignored duplicates are not
-- counted). A trigger fired for every row: three statements per stored event, about a third
-- of the insert's cost (bench/RESULTS.md, ingest).
DROP TRIGGER events_count;
