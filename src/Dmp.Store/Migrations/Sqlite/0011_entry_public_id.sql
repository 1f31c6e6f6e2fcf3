-- Each entry gets a public id: random (128 bits, lower-case hex), assigned when the entry is first stored and kept by
-- every source that dedups into it. The API serves entries by it, so an id is unique on the server and says nothing
-- of the content (the id the mapping derives from the natural key stays inside the plan).
ALTER TABLE entry ADD COLUMN public_id TEXT NULL;
UPDATE entry SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX ux_entry_public_id ON entry (public_id);
-- The store draws it when it inserts the entry; a row written by any other means gets one here (SQLite allows no
-- random default on an added column).
CREATE TRIGGER tr_entry_public_id AFTER INSERT ON entry FOR EACH ROW WHEN NEW.public_id IS NULL
BEGIN
    UPDATE entry SET public_id = lower(hex(randomblob(16))) WHERE id = NEW.id;
END;

-- Stored JSON carries the public ids: a report's results first (they name their Observations by the id each one's
-- JSON still holds), then every entry's own id. A result whose Observation is not stored is left out.
UPDATE entry SET resource = json_set(resource, '$.result', json(COALESCE((
    SELECT json_group_array(json_object('reference', reference)) FROM (
        SELECT 'Observation/' || o.public_id AS reference
        FROM json_each(entry.resource, '$.result') AS r
        JOIN entry AS o ON o.patient_id = entry.patient_id AND o.kind = 'Observation'
                       AND json_valid(o.resource) AND json_extract(o.resource, '$.id') = substr(json_extract(r.value, '$.reference'), 13)
        ORDER BY r.key)
), '[]')))
WHERE kind = 'DiagnosticReport' AND json_valid(resource) AND json_type(resource, '$.result') = 'array';
UPDATE entry SET resource = json_set(resource, '$.id', public_id) WHERE json_valid(resource) AND json_type(resource) = 'object';
