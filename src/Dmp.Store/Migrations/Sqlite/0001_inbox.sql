-- The durable inbox: every inbound frame, kept before it is acknowledged.
CREATE TABLE inbound_message (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,   -- arrival order
    channel          TEXT    NOT NULL,
    sender           TEXT    NOT NULL,
    control_id       TEXT    NOT NULL DEFAULT '',         -- MSH-10; '' when absent
    message_type     TEXT    NULL,
    file_name        TEXT    NULL,
    remote_endpoint  TEXT    NULL,
    sha256           BLOB    NOT NULL CHECK (length(sha256) = 32), -- of the full original bytes
    length           INTEGER NOT NULL,                    -- original length in bytes
    raw              BLOB    NULL,                        -- inline bytes, or NULL when in the blob store / purged
    blob_key         TEXT    NULL,
    truncated        INTEGER NOT NULL DEFAULT 0,          -- 1: only the first bytes of an oversize frame are kept
    status           TEXT    NOT NULL,
    warnings         TEXT    NOT NULL DEFAULT '[]',       -- JSON array of strings
    error            TEXT    NULL,
    received_at      TEXT    NOT NULL,                    -- UTC, fixed-width ISO 8601
    last_received_at TEXT    NOT NULL,
    receipts         INTEGER NOT NULL DEFAULT 1,
    ack              BLOB    NULL,                        -- the exact ACK bytes sent
    ack_code         TEXT    NULL,
    processed_at     TEXT    NULL,
    CONSTRAINT ux_inbound_message_identity UNIQUE (sender, control_id, sha256)
);

CREATE INDEX ix_inbound_message_status ON inbound_message (status, id);
CREATE INDEX ix_inbound_message_sender ON inbound_message (sender, id);
CREATE INDEX ix_inbound_message_received_at ON inbound_message (received_at);

-- Every status change (and every resend or replay request) of an inbound message.
CREATE TABLE inbound_message_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES inbound_message (id) ON DELETE CASCADE,
    at         TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    detail     TEXT    NULL
);

CREATE INDEX ix_inbound_message_history_message ON inbound_message_history (message_id, id);
