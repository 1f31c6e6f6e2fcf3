-- The durable inbox: every inbound frame, kept before it is acknowledged.
CREATE TABLE inbound_message (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- arrival order
    channel          TEXT        NOT NULL,
    sender           TEXT        NOT NULL,
    control_id       TEXT        NOT NULL DEFAULT '',                   -- MSH-10; '' when absent
    message_type     TEXT        NULL,
    file_name        TEXT        NULL,
    remote_endpoint  TEXT        NULL,
    sha256           BYTEA       NOT NULL CHECK (octet_length(sha256) = 32),
    length           BIGINT      NOT NULL,
    raw              BYTEA       NULL,
    blob_key         TEXT        NULL,
    truncated        BOOLEAN     NOT NULL DEFAULT FALSE,
    status           TEXT        NOT NULL,
    warnings         TEXT        NOT NULL DEFAULT '[]',
    error            TEXT        NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    last_received_at TIMESTAMPTZ NOT NULL,
    receipts         INTEGER     NOT NULL DEFAULT 1,
    ack              BYTEA       NULL,
    ack_code         TEXT        NULL,
    processed_at     TIMESTAMPTZ NULL,
    CONSTRAINT ux_inbound_message_identity UNIQUE (sender, control_id, sha256)
);

CREATE INDEX ix_inbound_message_status ON inbound_message (status, id);
CREATE INDEX ix_inbound_message_sender ON inbound_message (sender, id);
CREATE INDEX ix_inbound_message_received_at ON inbound_message (received_at);

CREATE TABLE inbound_message_history (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id BIGINT      NOT NULL REFERENCES inbound_message (id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    status     TEXT        NOT NULL,
    detail     TEXT        NULL
);

CREATE INDEX ix_inbound_message_history_message ON inbound_message_history (message_id, id);
