-- The dossier store: patients and their identifiers, one dossier per patient with the patient's
-- choices, documents (XDS metadata; bodies in the blob store), clinical entries deduplicated by a
-- natural-key fingerprint with one provenance row per source, identity merges, and the audit trail.
-- Times are UTC, fixed-width ISO 8601 text in every dialect (sortable, one SQL for all providers).

CREATE TABLE patient (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ins              TEXT    NULL,                 -- the qualified INS value (PID-3.1), NULL until qualified
    ins_system       TEXT    NULL,                 -- its OID (1.2.250.1.213.1.4.8 …)
    identity_status  TEXT    NULL,                 -- PID-32 as last applied (VALI, PROV …)
    family           TEXT    NULL,                 -- used name, else birth name
    given            TEXT    NULL,                 -- given names, space separated
    birth_name       TEXT    NULL,
    birth_date       TEXT    NULL,                 -- as sent, ISO 8601 with its precision
    sex              TEXT    NULL,
    birth_place      TEXT    NULL,
    demographics_at  TEXT    NULL,                 -- event time (EVN-2, else MSH-7) of the stored demographics
    merged_into      BIGINT  NULL REFERENCES patient (id), -- set on the merged (non-surviving) patient of an A40
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);

CREATE UNIQUE INDEX ux_patient_ins ON patient (ins_system, ins) WHERE ins IS NOT NULL;

-- Every identifier a patient is known by: the INS and local ones (IPP + assigning authority).
CREATE TABLE patient_identifier (
    system      TEXT    NOT NULL,                  -- OID or assigning authority (namespace^oid^type as sent)
    value       TEXT    NOT NULL,
    patient_id  BIGINT  NOT NULL REFERENCES patient (id),
    kind        TEXT    NOT NULL,                  -- ins | local
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (system, value)
);

CREATE INDEX ix_patient_identifier_patient ON patient_identifier (patient_id);

-- One dossier per patient, with the choices the patient made (API) or a facility recorded (ZFA).
CREATE TABLE dossier (
    patient_id         BIGINT  PRIMARY KEY REFERENCES patient (id),
    status             TEXT    NOT NULL DEFAULT 'open',  -- open | closed
    opposes_emergency  BOOLEAN NOT NULL DEFAULT FALSE,       -- $oppose-emergency, or ZFA-6 = Y
    treating_rpps      TEXT    NULL,                     -- the treating physician the patient named
    closed_at          TEXT    NULL,
    updated_at         TEXT    NOT NULL
);

-- Professionals the patient authorised ($authorize / $revoke).
CREATE TABLE dossier_authorization (
    patient_id  BIGINT  NOT NULL REFERENCES patient (id),
    rpps        TEXT    NOT NULL,
    granted_at  TEXT    NOT NULL,
    PRIMARY KEY (patient_id, rpps)
);

-- The choices an organisation's ADT recorded (ZFA-9 opposition to feeding, ZFA-11 consent to consultation).
-- organisation: the structure id as a token's `org` claim carries it (MSH-4 id, or FINESS).
CREATE TABLE dossier_facility_choice (
    patient_id             BIGINT  NOT NULL REFERENCES patient (id),
    organisation           TEXT    NOT NULL,
    opposes_feeding        BOOLEAN NOT NULL DEFAULT FALSE,
    consents_consultation  BOOLEAN NOT NULL DEFAULT FALSE,
    choice_at              TEXT    NULL,
    updated_at             TEXT    NOT NULL,
    PRIMARY KEY (patient_id, organisation)
);

CREATE TABLE document (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id          BIGINT  NOT NULL REFERENCES patient (id),
    unique_id           TEXT    NOT NULL,           -- `root` or `root^extension` as the CDA id gives it
    set_id              TEXT    NULL,
    version             INTEGER NULL,
    replaces_id         BIGINT  NULL REFERENCES document (id),
    replaced_by_id      BIGINT  NULL REFERENCES document (id),
    status              TEXT    NOT NULL,           -- current | superseded | deleted
    type_code           TEXT    NULL,
    type_system         TEXT    NULL,
    type_display        TEXT    NULL,
    class_code          TEXT    NULL,
    class_system        TEXT    NULL,
    class_display       TEXT    NULL,
    title               TEXT    NULL,
    created_at          TEXT    NULL,               -- the document's creation time (UTC)
    service_start       TEXT    NULL,
    service_stop        TEXT    NULL,
    author_rpps         TEXT    NULL,               -- 11 digits, without the `8` prefix
    author_family       TEXT    NULL,
    author_given        TEXT    NULL,
    author_role         TEXT    NULL,
    author_org          TEXT    NULL,               -- structure id of the author's organisation
    facility            TEXT    NULL,               -- source facility (XDS healthcareFacilityTypeCode / custodian)
    setting             TEXT    NULL,               -- XDS practiceSettingCode
    event_code          TEXT    NULL,               -- serviceEvent code
    confidentiality     TEXT    NULL,
    language            TEXT    NULL,
    mime_type           TEXT    NULL,
    format_code         TEXT    NULL,
    size                BIGINT  NULL,
    sha256              TEXT    NULL,               -- lower-case hex of the body
    sha1                TEXT    NULL,               -- base64, for FHIR attachment.hash
    blob_key            TEXT    NULL,               -- the body in the blob store
    masked              BOOLEAN NOT NULL DEFAULT FALSE, -- MASQUE_PS: masked to professionals
    hidden_from_patient BOOLEAN NOT NULL DEFAULT FALSE, -- INVISIBLE_PATIENT, until unhidden or hidden_until
    hidden_until        TEXT    NULL,
    inbound_message_id  BIGINT  NULL REFERENCES inbound_message (id), -- the first source
    stored_at           TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    CONSTRAINT ux_document_unique_id UNIQUE (unique_id)
);

CREATE UNIQUE INDEX ux_document_set_version ON document (set_id, version) WHERE set_id IS NOT NULL AND version IS NOT NULL;
CREATE INDEX ix_document_patient_date ON document (patient_id, status, created_at DESC, id DESC);
CREATE INDEX ix_document_patient_type ON document (patient_id, type_code);

-- One row per inbound message that brought a document (the same document by MLLP and SFTP: two rows).
CREATE TABLE document_source (
    document_id         BIGINT  NOT NULL REFERENCES document (id),
    inbound_message_id  BIGINT  NOT NULL REFERENCES inbound_message (id),
    sender              TEXT    NOT NULL,
    recorded_at         TEXT    NOT NULL,
    PRIMARY KEY (document_id, inbound_message_id)
);

-- Clinical entries: allergies, observations, reports, medications, problems, immunizations, procedures, encounters.
-- fingerprint: SHA-256 hex of the entry's natural key (allergy: substance code; observation: code +
-- effective time + value + unit; medication: kind + code + date + prescriber …), unique per patient and kind.
CREATE TABLE entry (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id          BIGINT  NOT NULL REFERENCES patient (id),
    kind                TEXT    NOT NULL,           -- AllergyIntolerance | Observation | DiagnosticReport | MedicationRequest | MedicationDispense | MedicationAdministration | MedicationStatement | Condition | Immunization | Procedure | Encounter
    fingerprint         TEXT    NOT NULL,
    code                TEXT    NULL,
    code_system         TEXT    NULL,
    effective_at        TEXT    NULL,               -- UTC
    document_id         BIGINT  NULL REFERENCES document (id), -- when the entry came from a document
    resource            TEXT    NOT NULL,           -- the FHIR R4 JSON of the entry (subject left for the API to set)
    recorded_at         TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    CONSTRAINT ux_entry_fingerprint UNIQUE (patient_id, kind, fingerprint)
);

CREATE INDEX ix_entry_patient_kind ON entry (patient_id, kind, effective_at DESC, id DESC);
CREATE INDEX ix_entry_patient_code ON entry (patient_id, code);

CREATE TABLE entry_source (
    entry_id            BIGINT  NOT NULL REFERENCES entry (id),
    inbound_message_id  BIGINT  NOT NULL REFERENCES inbound_message (id),
    sender              TEXT    NOT NULL,
    recorded_at         TEXT    NOT NULL,
    PRIMARY KEY (entry_id, inbound_message_id)
);

-- ADT A40: the merged patient's identifiers and documents moved to the survivor; this link stays.
CREATE TABLE patient_merge (
    merged_patient_id    BIGINT  NOT NULL REFERENCES patient (id),
    survivor_patient_id  BIGINT  NOT NULL REFERENCES patient (id),
    inbound_message_id   BIGINT  NULL REFERENCES inbound_message (id),
    merged_identifiers   TEXT    NOT NULL,          -- JSON array of "system|value"
    merged_at            TEXT    NOT NULL,
    PRIMARY KEY (merged_patient_id, survivor_patient_id)
);

-- Messages held for an identity not yet qualified, by the local identifier they wait for.
CREATE TABLE held_identity (
    message_id      BIGINT  NOT NULL REFERENCES inbound_message (id) ON DELETE CASCADE,
    identity_key    TEXT    NOT NULL,               -- `system|value` of a local identifier
    PRIMARY KEY (message_id, identity_key)
);

CREATE INDEX ix_held_identity_key ON held_identity (identity_key);

-- The audit trail: append-only, one hash chain per dossier (chain = 'patient:<id>'; operator reads
-- of raw messages chain under 'operator'). hash = SHA-256(prev_hash || canonical form of the event).
CREATE TABLE audit_event (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain           TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    at              TEXT    NOT NULL,
    patient_id      BIGINT  NULL,
    agent_kind      TEXT    NOT NULL,               -- patient | professional | operator | system
    agent_id        TEXT    NULL,                   -- INS, RPPS, operator subject, or the sender
    agent_role      TEXT    NULL,
    action          TEXT    NOT NULL,               -- read | search | retrieve | deposit | mask | unmask | delete | close | reopen | authorize | revoke | oppose-emergency | allow-emergency | unhide | raw-read
    entity_type     TEXT    NULL,
    entity_id       TEXT    NULL,
    outcome         TEXT    NOT NULL,               -- success | denied | not-found
    purpose_of_use  TEXT    NULL,                   -- BTG for emergency access
    reason          TEXT    NULL,
    detail          TEXT    NULL,
    prev_hash       BYTEA    NOT NULL,
    hash            BYTEA    NOT NULL,
    CONSTRAINT ux_audit_event_chain_seq UNIQUE (chain, seq)
);

CREATE INDEX ix_audit_event_patient ON audit_event (patient_id, id);

-- The head of each chain: locked (updated) by every append, so appends to one chain serialise.
CREATE TABLE audit_head (
    chain  TEXT    PRIMARY KEY,
    seq    BIGINT  NOT NULL,
    hash   BYTEA    NOT NULL
);
