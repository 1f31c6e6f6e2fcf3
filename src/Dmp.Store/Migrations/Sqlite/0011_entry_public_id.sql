-- Each entry gets a public id: random (128 bits, lower-case hex), assigned when the entry is first stored and kept by
-- every source that dedups into it. The API serves entries by it, so an id is unique on the server and says nothing
-- of the content (the id the mapping derives from the natural key stays inside the plan).
ALTER TABLE entry ADD COLUMN public_id TEXT NULL;
UPDATE entry SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX ux_entry_public_id ON entry (public_id);

-- Stored JSON carries the public ids: a report's results first (they name their Observations by the id each one's
-- JSON still holds), then every entry's own id. A result whose Observation is not stored is left out.
UPDATE entry SET resource = json_set(resource, '$.result', json(COALESCE((
    SELECT json_group_array(json_object('reference', 'Observation/' || o.public_id))
    FROM json_each(entry.resource, '$.result') AS r
    JOIN entry AS o ON o.patient_id = entry.patient_id AND o.kind = 'Observation'
                   AND json_valid(o.resource) AND json_extract(o.resource, '$.id') = substr(json_extract(r.value, '$.reference'), 13)
), '[]')))
WHERE kind = 'DiagnosticReport' AND json_valid(resource) AND json_type(resource, '$.result') = 'array';
UPDATE entry SET resource = json_set(resource, '$.id', public_id) WHERE json_valid(resource) AND json_type(resource) = 'object';
