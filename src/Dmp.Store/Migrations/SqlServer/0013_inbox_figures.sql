-- What the alert evaluator and the inbox gauges read every few seconds (InboxFigures), kept to index seeks as the
-- inbox grows; the same two indexes as the other dialects, filtered as theirs are partial.

-- Messages entering `failed` or `rejected` over the trailing minute (failed-rate, rejected-rate).
CREATE INDEX ix_inbound_message_history_final ON inbound_message_history (at)
    WHERE status IN (N'failed', N'rejected');

-- The last message of a configured sender (sender-silent): one seek per sender.
CREATE INDEX ix_inbound_message_sender_name ON inbound_message (sender_name, last_received_at)
    WHERE sender_name IS NOT NULL;
