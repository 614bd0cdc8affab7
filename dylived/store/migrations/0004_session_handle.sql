-- 0004: a platform-neutral name for the broadcaster's handle (issue 12, the platform seam).
--
-- sessions.platform and broadcasters.platform exist since 0001 as NOT NULL DEFAULT 'douyin':
-- every row written before this migration already says 'douyin', nothing to backfill there.
--
-- handle: the broadcaster's public handle on its platform, the id its live address names
-- (Douyin: the web_rid of live.douyin.com/<web_rid>; TikTok: the unique id of @<user>).
-- Douyin sessions keep web_rid as well: the dataset.md export rows read that column, and stay
-- byte for byte as they were.
ALTER TABLE sessions ADD COLUMN handle TEXT;
UPDATE sessions SET handle = web_rid WHERE platform = 'douyin';
