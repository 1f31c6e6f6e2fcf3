-- Columns that point at a document, indexed: a document's results (entry.document_id) are filtered with it, and a
-- version's links (replaces_id, replaced_by_id) are followed both ways; foreign-key checks use them too.
CREATE INDEX ix_entry_document ON entry (document_id) WHERE document_id IS NOT NULL;
CREATE INDEX ix_document_replaces ON document (replaces_id) WHERE replaces_id IS NOT NULL;
CREATE INDEX ix_document_replaced_by ON document (replaced_by_id) WHERE replaced_by_id IS NOT NULL;
