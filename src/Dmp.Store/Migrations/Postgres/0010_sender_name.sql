-- The configured sender a message was matched to (Dmp:Mllp:Senders:N:Name, or the file source's name): who sent it
-- as the gateway knows them, beside `sender` (channel/MSH-3|MSH-4, what the message says). Not part of the dedup key.
ALTER TABLE inbound_message ADD COLUMN sender_name TEXT;
