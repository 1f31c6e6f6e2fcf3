-- The operators' search (GET /api/messages?patient=, ?type=, ?document=), kept to index seeks as the inbox grows.
--
-- message_patient: the patient identifiers (INS and local ones, PID-3 or the CDA's recordTarget) each inbound message
-- named, written by the processing worker with the message's outcome, whatever that outcome (failed included when
-- the identifiers could be read). A replay rewrites its rows. Messages processed before this migration have no rows:
-- they are found through what they fed (document_source / entry_source of the patient who has the identifier now).
CREATE TABLE message_patient (
    value       TEXT    NOT NULL,
    system      TEXT    NOT NULL,                  -- OID or assigning authority, as patient_identifier.system
    message_id  BIGINT  NOT NULL REFERENCES inbound_message (id) ON DELETE CASCADE,
    PRIMARY KEY (value, system, message_id)
);

CREATE INDEX ix_message_patient_message ON message_patient (message_id);

-- An identifier searched by value alone (no system): patient_identifier's key starts with the system.
CREATE INDEX ix_patient_identifier_value ON patient_identifier (value);

-- What a message fed, read by the message detail (`produced`) and the patient search.
CREATE INDEX ix_document_source_message ON document_source (inbound_message_id);
CREATE INDEX ix_entry_source_message ON entry_source (inbound_message_id);

-- ?type=ADT / ADT^A01: a range on the type, newest first.
CREATE INDEX ix_inbound_message_type ON inbound_message (message_type, id);

-- ?document= by setId.
CREATE INDEX ix_document_set ON document (set_id) WHERE set_id IS NOT NULL;
