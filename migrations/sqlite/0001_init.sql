-- The roster: what the village's spreadsheet says.
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    role TEXT NOT NULL,
    point_id INTEGER
);

CREATE TABLE area_nodes (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES area_nodes (id),
    level TEXT NOT NULL,
    name TEXT NOT NULL,
    staff_id INTEGER REFERENCES staff (id)
);

CREATE TABLE staff_nodes (
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    node_id INTEGER NOT NULL REFERENCES area_nodes (id),
    PRIMARY KEY (staff_id, node_id)
);

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    node_id INTEGER NOT NULL REFERENCES area_nodes (id)
);

CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    household_id INTEGER NOT NULL REFERENCES households (id),
    name TEXT NOT NULL,
    id_number TEXT NOT NULL UNIQUE,
    phone TEXT,
    birth_year INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE sampling_points (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    place TEXT NOT NULL
);

CREATE TABLE point_nodes (
    point_id INTEGER NOT NULL REFERENCES sampling_points (id),
    node_id INTEGER NOT NULL REFERENCES area_nodes (id),
    PRIMARY KEY (point_id, node_id)
);

-- Actions as planned. `last_seq` is the counter row that hands out gap-free sequence
-- numbers: it is bumped in the same transaction that inserts the events.
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    points TEXT NOT NULL,
    planned_open INTEGER,
    planned_close INTEGER,
    created_at INTEGER NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0
);

-- The log. Times are unix microseconds (UTC). One secondary index only (the client id,
-- which is what makes a replay a no-op): each extra index slows batched inserts.
CREATE TABLE events (
    action_id INTEGER NOT NULL REFERENCES actions (id),
    seq INTEGER NOT NULL,
    client_id BLOB NOT NULL UNIQUE,
    actor_id INTEGER NOT NULL,
    device_time INTEGER NOT NULL,
    server_time INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (action_id, seq)
) WITHOUT ROWID;
