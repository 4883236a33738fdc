-- Staff accounts: sessions bound to devices, one-time pairing codes, passwords for staff
-- at a computer, and the audit log of who read or changed what.
ALTER TABLE staff ADD COLUMN password_hash TEXT;

-- A session token is `<id>.<secret>`: the id finds the row, the secret is kept only as
-- its SHA-256 and compared in constant time.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    secret_hash BYTEA NOT NULL,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    device TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_staff ON sessions (staff_id);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at);

CREATE TABLE pairing_codes (
    code_hash BYTEA PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    staff_id BIGINT NOT NULL,
    what TEXT NOT NULL,
    detail TEXT NOT NULL
);
