-- The operators' search (GET /api/messages?patient=, ?type=, ?document=): the SQL Server twin of the other dialects'
-- 0014 (see the SQLite file for what each table and index serves).
CREATE TABLE message_patient (
    value       NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    system      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    message_id  BIGINT   NOT NULL CONSTRAINT fk_message_patient_message REFERENCES inbound_message (id) ON DELETE CASCADE,
    CONSTRAINT pk_message_patient PRIMARY KEY (value, system, message_id)
);

CREATE INDEX ix_message_patient_message ON message_patient (message_id);

CREATE INDEX ix_patient_identifier_value ON patient_identifier (value);

CREATE INDEX ix_document_source_message ON document_source (inbound_message_id);
CREATE INDEX ix_entry_source_message ON entry_source (inbound_message_id);

CREATE INDEX ix_inbound_message_type ON inbound_message (message_type, id);

CREATE INDEX ix_document_set ON document (set_id) WHERE set_id IS NOT NULL;
