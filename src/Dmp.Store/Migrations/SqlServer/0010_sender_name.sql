-- The configured sender a message was matched to (Dmp:Mllp:Senders:N:Name, or the file source's name). Not part of the dedup key.
ALTER TABLE inbound_message ADD sender_name NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL;
