-- The durable inbox: every inbound frame, kept before it is acknowledged (T-SQL twin of Sqlite/Postgres 0001).
-- Text is NVARCHAR with a binary collation (Latin1_General_100_BIN2): keys and comparisons are exact and ordinal,
-- as in SQLite and PostgreSQL, whatever the database's default (often case-insensitive) collation. Indexed text has a
-- length (an index key holds at most 1,700 bytes); the rest is NVARCHAR(MAX). Instants are the store's fixed-width
-- UTC ISO 8601 text from the start (what PostgreSQL's 0009 converts to), so there is no 0009 here.
CREATE TABLE inbound_message (
    id               BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_inbound_message PRIMARY KEY,   -- arrival order
    channel          NVARCHAR(100)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    sender           NVARCHAR(300)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    control_id       NVARCHAR(200)  COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_inbound_message_control_id DEFAULT N'', -- MSH-10; '' when absent
    message_type     NVARCHAR(100)  COLLATE Latin1_General_100_BIN2 NULL,
    file_name        NVARCHAR(MAX)  COLLATE Latin1_General_100_BIN2 NULL,
    remote_endpoint  NVARCHAR(200)  COLLATE Latin1_General_100_BIN2 NULL,
    sha256           VARBINARY(32)  NOT NULL CONSTRAINT ck_inbound_message_sha256 CHECK (DATALENGTH(sha256) = 32),
    length           BIGINT         NOT NULL,
    raw              VARBINARY(MAX) NULL,
    blob_key         NVARCHAR(200)  COLLATE Latin1_General_100_BIN2 NULL,
    truncated        BIT            NOT NULL CONSTRAINT df_inbound_message_truncated DEFAULT 0,
    status           NVARCHAR(40)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    warnings         NVARCHAR(MAX)  COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_inbound_message_warnings DEFAULT N'[]',
    error            NVARCHAR(MAX)  COLLATE Latin1_General_100_BIN2 NULL,
    received_at      NVARCHAR(40)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    last_received_at NVARCHAR(40)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    receipts         INT            NOT NULL CONSTRAINT df_inbound_message_receipts DEFAULT 1,
    ack              VARBINARY(MAX) NULL,
    ack_code         NVARCHAR(10)   COLLATE Latin1_General_100_BIN2 NULL,
    processed_at     NVARCHAR(40)   COLLATE Latin1_General_100_BIN2 NULL,
    CONSTRAINT ux_inbound_message_identity UNIQUE (sender, control_id, sha256)
);

CREATE INDEX ix_inbound_message_status ON inbound_message (status, id);
CREATE INDEX ix_inbound_message_sender ON inbound_message (sender, id);
CREATE INDEX ix_inbound_message_received_at ON inbound_message (received_at);

-- Every status change (and every resend or replay request) of an inbound message.
CREATE TABLE inbound_message_history (
    id         BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_inbound_message_history PRIMARY KEY,
    message_id BIGINT        NOT NULL CONSTRAINT fk_inbound_message_history_message REFERENCES inbound_message (id) ON DELETE CASCADE,
    at         NVARCHAR(40)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    status     NVARCHAR(40)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    detail     NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL
);

CREATE INDEX ix_inbound_message_history_message ON inbound_message_history (message_id, id);
