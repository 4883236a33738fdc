-- The same schema as migrations/sqlite/0001_init.sql, in PostgreSQL's types. Times are
-- unix microseconds (UTC) in both, so the two backends share their conversions.

CREATE TABLE staff (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    role TEXT NOT NULL,
    point_id BIGINT
);

CREATE TABLE area_nodes (
    id BIGINT PRIMARY KEY,
    parent_id BIGINT REFERENCES area_nodes (id),
    level TEXT NOT NULL,
    name TEXT NOT NULL,
    staff_id BIGINT REFERENCES staff (id)
);

CREATE TABLE staff_nodes (
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    node_id BIGINT NOT NULL REFERENCES area_nodes (id),
    PRIMARY KEY (staff_id, node_id)
);

CREATE TABLE households (
    id BIGINT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    node_id BIGINT NOT NULL REFERENCES area_nodes (id)
);

CREATE TABLE residents (
    id BIGINT PRIMARY KEY,
    household_id BIGINT NOT NULL REFERENCES households (id),
    name TEXT NOT NULL,
    id_number TEXT NOT NULL UNIQUE,
    phone TEXT,
    birth_year INTEGER NOT NULL,
    flags BIGINT NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE sampling_points (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    place TEXT NOT NULL
);

CREATE TABLE point_nodes (
    point_id BIGINT NOT NULL REFERENCES sampling_points (id),
    node_id BIGINT NOT NULL REFERENCES area_nodes (id),
    PRIMARY KEY (point_id, node_id)
);

-- `last_seq` is the counter row: every append locks it (UPDATE … RETURNING) in the same
-- transaction as its INSERT, so positions are gap-free and in commit order even with
-- several nodes writing (a bigserial alone would let a reader skip a late commit).
CREATE TABLE actions (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    points TEXT NOT NULL,
    planned_open BIGINT,
    planned_close BIGINT,
    created_at BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE events (
    action_id BIGINT NOT NULL REFERENCES actions (id),
    seq BIGINT NOT NULL,
    client_id UUID NOT NULL UNIQUE,
    actor_id BIGINT NOT NULL,
    device_time BIGINT NOT NULL,
    server_time BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (action_id, seq)
);
