-- The W3C trace of each inbound message (issue 17): trace_id is its 32 lower-case hex trace id, drawn when the message
-- arrives whether or not anyone records traces; trace_parent is the receive span as a W3C traceparent
-- (00-<trace id>-<span id>-<flags>), kept only when that span was recorded, so the processing worker's spans
-- (parse, map, apply) join the same trace under it. Both are null for rows stored before this migration.
ALTER TABLE inbound_message ADD COLUMN trace_id TEXT;
ALTER TABLE inbound_message ADD COLUMN trace_parent TEXT;

-- /health/ready proves the store can commit by updating this one row in a real transaction (cheap, never grows).
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL
);
INSERT INTO health_probe (id, at) VALUES (1, '');
