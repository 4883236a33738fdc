-- Staff and sampling points taken off the roster sheet while something refers to them
-- (a session, a pairing code, the audit log or an event for staff; an action for a
-- point) are retired instead of deleted: the rows stay for those references, a retired
-- staff member signs in to nothing and answers for nothing, a retired point serves nothing.
ALTER TABLE staff ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sampling_points ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
