-- The dossier API's reads: documents and entries are listed newest first by a sort key that is never
-- NULL (the document's creation time, else when it was stored; an entry's effective time, else when
-- it was recorded), paged by keyset on (sort key, id). These indexes answer those pages, and a
-- patient's entries of one kind and code ($recent-exams, `code=`), without sorting the dossier.

CREATE INDEX ix_document_patient_sort ON document (patient_id, status, (COALESCE(created_at, stored_at)) DESC, id DESC);
CREATE INDEX ix_entry_patient_kind_sort ON entry (patient_id, kind, (COALESCE(effective_at, recorded_at)) DESC, id DESC);
CREATE INDEX ix_entry_patient_kind_code_sort ON entry (patient_id, kind, code, (COALESCE(effective_at, recorded_at)) DESC, id DESC);
