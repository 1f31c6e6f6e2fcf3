-- The W3C trace id of the message's processing (32 lower-case hex); NULL for rows stored before.
ALTER TABLE inbound_message ADD trace_id NVARCHAR(32) NULL;
