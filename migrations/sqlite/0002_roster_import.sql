-- Re-importing the roster keeps residents that an action's log names: they are marked
-- removed from the roster instead of deleted, so the log's references stay whole.
ALTER TABLE residents ADD COLUMN removed BOOLEAN NOT NULL DEFAULT FALSE;
