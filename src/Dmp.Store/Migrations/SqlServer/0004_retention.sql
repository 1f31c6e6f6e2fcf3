-- Retention: the raw bytes of old `processed` / `ignored` messages are purged (raw and blob_key set to NULL); the row
-- stays so a late resend is still answered with the stored ACK; raw_purged_at tells operators why the bytes are gone.
-- (GO: SQL Server compiles a batch before it runs it, so statements naming the new column go in a batch of their own.)
ALTER TABLE inbound_message ADD raw_purged_at NVARCHAR(40) COLLATE Latin1_General_100_BIN2 NULL;
GO

-- What retention still has to look at, oldest first: purged rows leave the index.
CREATE INDEX ix_inbound_message_retention ON inbound_message (received_at, id)
    WHERE raw_purged_at IS NULL AND status IN ('processed', 'ignored');

-- A blob may be deleted only when no row names it any more.
CREATE INDEX ix_inbound_message_blob_key ON inbound_message (blob_key) WHERE blob_key IS NOT NULL;
CREATE INDEX ix_document_blob_key ON document (blob_key) WHERE blob_key IS NOT NULL;
