-- Staff accounts: sessions bound to devices, one-time pairing codes, passwords for staff
-- at a computer, and the audit log of who read or changed what.
ALTER TABLE staff ADD COLUMN password_hash TEXT;

-- A session token is `<id>.<secret>`: the id finds the row, the secret is kept only as
-- its SHA-256 and compared in constant time.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    device TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_by_staff ON sessions (staff_id);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at);

CREATE TABLE pairing_codes (
    code_hash BLOB PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    staff_id INTEGER NOT NULL,
    what TEXT NOT NULL,
    detail TEXT NOT NULL
);
