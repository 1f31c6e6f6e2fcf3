-- Documents an inbound message carries that are not yet validated by their author (status `held`), by key:
-- `uid:<system>|<value>` and `set:<system>|<value>`. A validated version naming one of these keys releases the message.
CREATE TABLE held_document (
    message_id   BIGINT        NOT NULL CONSTRAINT fk_held_document_message REFERENCES inbound_message (id) ON DELETE CASCADE,
    document_key NVARCHAR(440) COLLATE Latin1_General_100_BIN2 NOT NULL,
    CONSTRAINT pk_held_document PRIMARY KEY (message_id, document_key)
);

CREATE INDEX ix_held_document_key ON held_document (document_key);
