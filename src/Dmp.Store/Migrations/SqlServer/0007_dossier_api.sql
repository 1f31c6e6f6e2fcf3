-- The dossier API's reads: documents and entries newest first by a sort key that is never NULL, paged by keyset on
-- (sort key, id). SQL Server indexes no expression: each sort key is a persisted computed column, and the optimizer
-- matches the queries' COALESCE(...) to it, so the statements stay those of the other dialects.
ALTER TABLE document ADD sort_at AS COALESCE(created_at, stored_at) PERSISTED;
ALTER TABLE entry ADD sort_at AS COALESCE(effective_at, recorded_at) PERSISTED;
GO

CREATE INDEX ix_document_patient_sort ON document (patient_id, status, sort_at DESC, id DESC);
CREATE INDEX ix_entry_patient_kind_sort ON entry (patient_id, kind, sort_at DESC, id DESC);
CREATE INDEX ix_entry_patient_kind_code_sort ON entry (patient_id, kind, code, sort_at DESC, id DESC);
