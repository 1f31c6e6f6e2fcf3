-- Each entry gets a public id: random (128 bits drawn by NEWID, 122 of them random; lower-case hex, 32 characters),
-- assigned when the entry is first stored and kept by every source that dedups into it. The store draws it when it
-- inserts the entry; the default covers a row written by any other means.
-- No rewrite of stored JSON as in the other dialects' 0011: no SQL Server store existed before this version, so
-- every entry row is written by a store that already puts its public id in the JSON.
ALTER TABLE entry ADD public_id NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT df_entry_public_id DEFAULT LOWER(REPLACE(CONVERT(NVARCHAR(36), NEWID()), N'-', N''));
GO

CREATE UNIQUE INDEX ux_entry_public_id ON entry (public_id);
