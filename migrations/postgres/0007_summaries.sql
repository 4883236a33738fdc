-- The hourly progress summary into a chat group (see `summary`): a channel says whether
-- its group wants it, and each summary of an action is claimed once, by the node whose
-- insert made the row, so several nodes on one database post it once between them. The
-- claim stays: a restart within the hour does not post the same hour again. `slot` is the
-- hour's start in unix seconds, or 0 for the summary at the action's close.
ALTER TABLE channels ADD COLUMN summary BOOLEAN NOT NULL DEFAULT FALSE;
-- What each delivery carried (`notify::MessageKind`s, comma-separated, in the order of its
-- message ids), so the chief reads "the call-up reached the group", not only "a message did".
ALTER TABLE deliveries ADD COLUMN kinds TEXT NOT NULL DEFAULT '';
CREATE TABLE summaries (
    action_id BIGINT NOT NULL REFERENCES actions (id),
    slot BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (action_id, slot)
);
