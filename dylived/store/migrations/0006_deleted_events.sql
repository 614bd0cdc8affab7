-- 0006: a moderator's deletion marks the stored rows it names; it deletes nothing (issue 13).
--
-- events.deleted is 1 on a row a later 'im_delete' row of the same session named: by msg_id
-- (its payload's delete_msg_ids, any row type, however old: the (session_id, msg_id) key finds
-- it), or by sender (delete_user_ids: that user's chat and emote_chat rows among the 20,000
-- rows stored before it, in every session's order of arrival). The window is what a viewer's
-- app still shows of a muted sender's comments, and it keeps the lookup a bounded range of
-- events_by_session instead of an index on every chat row (which cost the writer about a fifth
-- of its chat throughput) or a scan of a whole long session per deletion. The trigger marks
-- the rows in the transaction that stores the im_delete row, whichever write path stored it;
-- an ignored duplicate (INSERT OR IGNORE) fires nothing. Readers show a marked row with
-- "deleted": true. A row that arrives after the deletion naming it stays unmarked.
ALTER TABLE events ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER events_im_delete AFTER INSERT ON events WHEN NEW.type = 'im_delete'
BEGIN
    UPDATE events SET deleted = 1
    WHERE session_id = NEW.session_id AND deleted = 0 AND msg_id IN (
        SELECT value FROM json_each(NEW.payload, '$.delete_msg_ids') WHERE type = 'text'
    );
    UPDATE events SET deleted = 1
    WHERE session_id = NEW.session_id AND seq >= NEW.seq - 20000 AND seq < NEW.seq
        AND type IN ('chat', 'emote_chat') AND deleted = 0 AND user_id IN (
            SELECT value FROM json_each(NEW.payload, '$.delete_user_ids') WHERE type = 'text'
        );
END;
