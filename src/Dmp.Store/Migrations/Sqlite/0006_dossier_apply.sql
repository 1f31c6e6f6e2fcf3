-- Applying messages to the dossier: the parent a replacement names, by its uniqueId as `document.unique_id` writes it.
-- A replacement can arrive before its parent (and CI-SIS replacements need not share a setId): when the parent comes,
-- it is found here and stored superseded by the replacement that named it.
ALTER TABLE document ADD COLUMN replaces_unique_id TEXT NULL;

CREATE INDEX ix_document_replaces_unique_id ON document (replaces_unique_id) WHERE replaces_unique_id IS NOT NULL;
