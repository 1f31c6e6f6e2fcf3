-- Documents an inbound message carries that are not yet validated by their author (status `held`),
-- by key: `uid:<system>|<value>` (its uniqueId) and `set:<system>|<value>` (its setId, when it has one).
-- A validated version naming one of these keys releases the message.
CREATE TABLE held_document (
    message_id   BIGINT NOT NULL REFERENCES inbound_message (id) ON DELETE CASCADE,
    document_key TEXT   NOT NULL,
    PRIMARY KEY (message_id, document_key)
);

CREATE INDEX ix_held_document_key ON held_document (document_key);
