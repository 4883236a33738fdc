-- Outbound channels into the chat groups staff already use (see `notify`): a WeCom or
-- DingTalk group robot, a Feishu/Lark bot, or a generic webhook (an SMS or voice gateway),
-- each belonging to one area node (a node may have several). The secret signs requests;
-- it is stored because it must be used, and is never read back out through the API. A
-- removed channel is retired, not deleted, so its deliveries stay for the chief to read.
-- A node removed by an import takes its channels with it.
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL REFERENCES area_nodes (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE INDEX channels_node ON channels (node_id);
-- One row per message handed to a channel's service (several queued messages coalesced
-- into one count as one), written when it ended: how many tries it took and how (sent,
-- refused with the service's errcode and errmsg, gave up). Times in unix microseconds.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    parts INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    errcode BIGINT,
    errmsg TEXT,
    queued_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);
CREATE INDEX deliveries_channel ON deliveries (channel_id, id);
