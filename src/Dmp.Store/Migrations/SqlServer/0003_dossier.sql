-- The dossier store (T-SQL twin of 0003): patients and their identifiers, one dossier per patient with the patient's
-- choices, documents (XDS metadata; bodies in the blob store), clinical entries deduplicated by a natural-key
-- fingerprint with one provenance row per source, identity merges, and the audit trail.
-- Times are UTC, fixed-width ISO 8601 text in every dialect (sortable, one SQL for all providers).

CREATE TABLE patient (
    id               BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_patient PRIMARY KEY,
    ins              NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NULL,
    ins_system       NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NULL,
    identity_status  NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NULL,
    family           NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    given            NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    birth_name       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    birth_date       NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    sex              NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NULL,
    birth_place      NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    demographics_at  NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    merged_into      BIGINT   NULL CONSTRAINT fk_patient_merged_into REFERENCES patient (id),
    created_at       NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    updated_at       NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL
);

-- SQL Server's unique index counts NULLs as equal where PostgreSQL's does not: both columns filtered keeps the
-- PostgreSQL meaning (an INS without a system never conflicts).
CREATE UNIQUE INDEX ux_patient_ins ON patient (ins_system, ins) WHERE ins IS NOT NULL AND ins_system IS NOT NULL;

CREATE TABLE patient_identifier (
    system      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    value       NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    patient_id  BIGINT   NOT NULL CONSTRAINT fk_patient_identifier_patient REFERENCES patient (id),
    kind        NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NOT NULL,
    created_at  NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT pk_patient_identifier PRIMARY KEY (system, value)
);

CREATE INDEX ix_patient_identifier_patient ON patient_identifier (patient_id);

CREATE TABLE dossier (
    patient_id         BIGINT   NOT NULL CONSTRAINT pk_dossier PRIMARY KEY CONSTRAINT fk_dossier_patient REFERENCES patient (id),
    status             NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT df_dossier_status DEFAULT N'open',
    opposes_emergency  BIT      NOT NULL CONSTRAINT df_dossier_opposes_emergency DEFAULT 0,
    treating_rpps      NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NULL,
    closed_at          NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    updated_at         NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL
);

CREATE TABLE dossier_authorization (
    patient_id  BIGINT  NOT NULL CONSTRAINT fk_dossier_authorization_patient REFERENCES patient (id),
    rpps        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    granted_at  NVARCHAR(40) COLLATE Latin1_General_100_BIN2 NOT NULL,
    CONSTRAINT pk_dossier_authorization PRIMARY KEY (patient_id, rpps)
);

CREATE TABLE dossier_facility_choice (
    patient_id             BIGINT   NOT NULL CONSTRAINT fk_dossier_facility_choice_patient REFERENCES patient (id),
    organisation           NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    opposes_feeding        BIT      NOT NULL CONSTRAINT df_dossier_facility_choice_opposes DEFAULT 0,
    consents_consultation  BIT      NOT NULL CONSTRAINT df_dossier_facility_choice_consents DEFAULT 0,
    choice_at              NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    updated_at             NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT pk_dossier_facility_choice PRIMARY KEY (patient_id, organisation)
);

CREATE TABLE document (
    id                  BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_document PRIMARY KEY,
    patient_id          BIGINT   NOT NULL CONSTRAINT fk_document_patient REFERENCES patient (id),
    unique_id           NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NOT NULL,
    set_id              NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NULL,
    version             INT      NULL,
    replaces_id         BIGINT   NULL CONSTRAINT fk_document_replaces REFERENCES document (id),
    replaced_by_id      BIGINT   NULL CONSTRAINT fk_document_replaced_by REFERENCES document (id),
    status              NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NOT NULL,
    type_code           NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    type_system         NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    type_display        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    class_code          NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    class_system        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    class_display       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    title               NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    created_at          NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    service_start       NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    service_stop        NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    author_rpps         NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NULL,
    author_family       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    author_given        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    author_role         NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    author_org          NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    facility            NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    setting             NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    event_code          NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    confidentiality     NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    language            NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    mime_type           NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    format_code         NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NULL,
    size                BIGINT   NULL,
    sha256              NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NULL,
    sha1                NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NULL,
    blob_key            NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    masked              BIT      NOT NULL CONSTRAINT df_document_masked DEFAULT 0,
    hidden_from_patient BIT      NOT NULL CONSTRAINT df_document_hidden DEFAULT 0,
    hidden_until        NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    inbound_message_id  BIGINT   NULL CONSTRAINT fk_document_inbound_message REFERENCES inbound_message (id),
    stored_at           NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    updated_at          NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT ux_document_unique_id UNIQUE (unique_id)
);

CREATE UNIQUE INDEX ux_document_set_version ON document (set_id, version) WHERE set_id IS NOT NULL AND version IS NOT NULL;
CREATE INDEX ix_document_patient_date ON document (patient_id, status, created_at DESC, id DESC);
CREATE INDEX ix_document_patient_type ON document (patient_id, type_code);

CREATE TABLE document_source (
    document_id         BIGINT   NOT NULL CONSTRAINT fk_document_source_document REFERENCES document (id),
    inbound_message_id  BIGINT   NOT NULL CONSTRAINT fk_document_source_message REFERENCES inbound_message (id),
    sender              NVARCHAR(300) COLLATE Latin1_General_100_BIN2 NOT NULL,
    recorded_at         NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT pk_document_source PRIMARY KEY (document_id, inbound_message_id)
);

CREATE TABLE entry (
    id                  BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_entry PRIMARY KEY,
    patient_id          BIGINT   NOT NULL CONSTRAINT fk_entry_patient REFERENCES patient (id),
    kind                NVARCHAR(60) COLLATE Latin1_General_100_BIN2  NOT NULL,
    fingerprint         NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    code                NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NULL,
    code_system         NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    effective_at        NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    document_id         BIGINT   NULL CONSTRAINT fk_entry_document REFERENCES document (id),
    resource            NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    recorded_at         NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    updated_at          NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT ux_entry_fingerprint UNIQUE (patient_id, kind, fingerprint)
);

CREATE INDEX ix_entry_patient_kind ON entry (patient_id, kind, effective_at DESC, id DESC);
CREATE INDEX ix_entry_patient_code ON entry (patient_id, code);

CREATE TABLE entry_source (
    entry_id            BIGINT   NOT NULL CONSTRAINT fk_entry_source_entry REFERENCES entry (id),
    inbound_message_id  BIGINT   NOT NULL CONSTRAINT fk_entry_source_message REFERENCES inbound_message (id),
    sender              NVARCHAR(300) COLLATE Latin1_General_100_BIN2 NOT NULL,
    recorded_at         NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT pk_entry_source PRIMARY KEY (entry_id, inbound_message_id)
);

CREATE TABLE patient_merge (
    merged_patient_id    BIGINT   NOT NULL CONSTRAINT fk_patient_merge_merged REFERENCES patient (id),
    survivor_patient_id  BIGINT   NOT NULL CONSTRAINT fk_patient_merge_survivor REFERENCES patient (id),
    inbound_message_id   BIGINT   NULL CONSTRAINT fk_patient_merge_message REFERENCES inbound_message (id),
    merged_identifiers   NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NOT NULL,
    merged_at            NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    CONSTRAINT pk_patient_merge PRIMARY KEY (merged_patient_id, survivor_patient_id)
);

CREATE TABLE held_identity (
    message_id      BIGINT   NOT NULL CONSTRAINT fk_held_identity_message REFERENCES inbound_message (id) ON DELETE CASCADE,
    identity_key    NVARCHAR(440) COLLATE Latin1_General_100_BIN2 NOT NULL,
    CONSTRAINT pk_held_identity PRIMARY KEY (message_id, identity_key)
);

CREATE INDEX ix_held_identity_key ON held_identity (identity_key);

-- The audit trail: append-only, one hash chain per dossier. hash = SHA-256(prev_hash || canonical form of the event).
CREATE TABLE audit_event (
    id              BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_audit_event PRIMARY KEY,
    chain           NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
    seq             BIGINT   NOT NULL,
    at              NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    patient_id      BIGINT   NULL,
    agent_kind      NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NOT NULL,
    agent_id        NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    agent_role      NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    action          NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NOT NULL,
    entity_type     NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NULL,
    entity_id       NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    outcome         NVARCHAR(20) COLLATE Latin1_General_100_BIN2  NOT NULL,
    purpose_of_use  NVARCHAR(40) COLLATE Latin1_General_100_BIN2  NULL,
    reason          NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    detail          NVARCHAR(MAX) COLLATE Latin1_General_100_BIN2 NULL,
    prev_hash       VARBINARY(64) NOT NULL,
    hash            VARBINARY(64) NOT NULL,
    CONSTRAINT ux_audit_event_chain_seq UNIQUE (chain, seq)
);

CREATE INDEX ix_audit_event_patient ON audit_event (patient_id, id);

-- The head of each chain: locked (updated) by every append, so appends to one chain serialise.
CREATE TABLE audit_head (
    chain  NVARCHAR(100) COLLATE Latin1_General_100_BIN2      NOT NULL CONSTRAINT pk_audit_head PRIMARY KEY,
    seq    BIGINT        NOT NULL,
    hash   VARBINARY(64) NOT NULL
);
