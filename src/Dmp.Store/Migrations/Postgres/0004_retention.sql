-- Retention: the raw bytes of old `processed` / `ignored` messages are purged (raw and blob_key set to
-- NULL). The row stays — sender, control id, SHA-256, ACK, history — so a late resend is still
-- recognised and answered with the stored ACK; raw_purged_at tells operators why the bytes are gone.
ALTER TABLE inbound_message ADD COLUMN raw_purged_at TIMESTAMPTZ NULL;

-- What retention still has to look at, oldest first: purged rows leave the index, so each run
-- reads only candidates instead of walking every row it purged before.
CREATE INDEX ix_inbound_message_retention ON inbound_message (received_at, id)
    WHERE raw_purged_at IS NULL AND status IN ('processed', 'ignored');

-- A blob may be deleted only when no row names it any more.
CREATE INDEX ix_inbound_message_blob_key ON inbound_message (blob_key) WHERE blob_key IS NOT NULL;
CREATE INDEX ix_document_blob_key ON document (blob_key) WHERE blob_key IS NOT NULL;
