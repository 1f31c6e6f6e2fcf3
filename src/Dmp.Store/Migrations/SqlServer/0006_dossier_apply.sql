-- Applying messages to the dossier: the parent a replacement names, by its uniqueId as `document.unique_id` writes it.
ALTER TABLE document ADD replaces_unique_id NVARCHAR(400) COLLATE Latin1_General_100_BIN2 NULL;
GO

CREATE INDEX ix_document_replaces_unique_id ON document (replaces_unique_id) WHERE replaces_unique_id IS NOT NULL;
