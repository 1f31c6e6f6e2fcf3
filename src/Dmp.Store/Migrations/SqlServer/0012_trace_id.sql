-- The W3C trace of each inbound message (issue 17): trace_id is its 32 lower-case hex trace id, drawn when the message
-- arrives whether or not anyone records traces; trace_parent is the receive span as a W3C traceparent
-- (00-<trace id>-<span id>-<flags>, 55 characters), kept only when that span was recorded. Both are NULL for rows
-- stored before this migration.
ALTER TABLE inbound_message ADD
    trace_id     NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NULL,
    trace_parent NVARCHAR(55) COLLATE Latin1_General_100_BIN2 NULL;

-- /health/ready proves the store can commit by updating this one row in a real transaction (cheap, never grows).
CREATE TABLE health_probe (
    id BIGINT NOT NULL CONSTRAINT pk_health_probe PRIMARY KEY,
    at NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL
);
INSERT INTO health_probe (id, at) VALUES (1, N'');
