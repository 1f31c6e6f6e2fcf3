-- One timestamp encoding in the whole schema: the inbox's columns were TIMESTAMPTZ while the dossier and the audit
-- trail (0003) write UTC fixed-width ISO 8601 text, as SQLite does everywhere. The inbox now writes that text too
-- (`yyyy-MM-ddTHH:mm:ss.fffffffZ`: text order is time order, so range filters and retention compare strings).
-- Existing instants keep their value: PostgreSQL holds microseconds, the seventh fraction digit is 0.
-- (Quartz's qrtz_* tables keep Quartz's own BIGINT ticks: they are the scheduler's schema, not the store's.)
ALTER TABLE inbound_message
    ALTER COLUMN received_at TYPE TEXT USING to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z',
    ALTER COLUMN last_received_at TYPE TEXT USING to_char(last_received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z',
    ALTER COLUMN processed_at TYPE TEXT USING to_char(processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z',
    ALTER COLUMN raw_purged_at TYPE TEXT USING to_char(raw_purged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z';

ALTER TABLE inbound_message_history
    ALTER COLUMN at TYPE TEXT USING to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z';

-- A database created before this version made schema_version with a TIMESTAMPTZ column; a new one makes it TEXT.
ALTER TABLE schema_version
    ALTER COLUMN applied_at TYPE TEXT USING
        CASE WHEN pg_typeof(applied_at)::text = 'text' THEN applied_at::text
             ELSE to_char(applied_at::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z' END;
