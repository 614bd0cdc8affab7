-- 0006: a moderator's deletion marks the stored rows it names; it deletes nothing (issue 13).
--
-- events.deleted is 1 on a row a later 'im_delete' row of the same session named: by msg_id
-- (its payload's delete_msg_ids, any row type) or by sender (delete_user_ids: the chat and
-- emote_chat rows of that user stored before it). The trigger marks them in the transaction
-- that stores the im_delete row, whichever write path stored it; an ignored duplicate
-- (INSERT OR IGNORE) fires nothing. Readers show a marked row with "deleted": true.
-- A chat row that arrives after the deletion naming it stays unmarked.
ALTER TABLE events ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

-- The sender lookup without a scan of the whole session (only chat-like rows are indexed).
CREATE INDEX events_chat_by_user ON events(session_id, user_id)
    WHERE type IN ('chat', 'emote_chat') AND user_id IS NOT NULL;

CREATE TRIGGER events_im_delete AFTER INSERT ON events WHEN NEW.type = 'im_delete'
BEGIN
    UPDATE events SET deleted = 1
    WHERE session_id = NEW.session_id AND deleted = 0 AND msg_id IN (
        SELECT value FROM json_each(NEW.payload, '$.delete_msg_ids') WHERE type = 'text'
    );
    UPDATE events SET deleted = 1
    WHERE session_id = NEW.session_id AND type IN ('chat', 'emote_chat')
        AND user_id IS NOT NULL AND deleted = 0 AND user_id IN (
            SELECT value FROM json_each(NEW.payload, '$.delete_user_ids') WHERE type = 'text'
        );
END;
