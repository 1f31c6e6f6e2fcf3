-- What the alert evaluator and the inbox gauges read every few seconds (InboxFigures), kept to index seeks as the
-- inbox grows. Both indexes are partial: a history line pays for the first only when a message fails or is rejected,
-- a frame pays for the second only when it came from a configured sender.

-- Messages entering `failed` or `rejected` over the trailing minute (failed-rate, rejected-rate): only those
-- history lines are indexed, by time.
CREATE INDEX ix_inbound_message_history_final ON inbound_message_history (at)
    WHERE status IN ('failed', 'rejected');

-- The last message of a configured sender (sender-silent): one seek per sender instead of a walk of the inbox.
-- last_received_at moves on a resend, which is a sign of life too.
CREATE INDEX ix_inbound_message_sender_name ON inbound_message (sender_name, last_received_at)
    WHERE sender_name IS NOT NULL;
