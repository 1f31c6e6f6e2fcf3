-- Each entry gets a public id: random (128 bits, lower-case hex), assigned when the entry is first stored and kept by
-- every source that dedups into it. The API serves entries by it, so an id is unique on the server and says nothing
-- of the content (the id the mapping derives from the natural key stays inside the plan).
-- The store draws it when it inserts the entry; the default covers a row written by any other means.
ALTER TABLE entry ADD COLUMN public_id TEXT NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');
CREATE UNIQUE INDEX ux_entry_public_id ON entry (public_id);

-- Stored JSON carries the public ids: a report's results first (they name their Observations by the id each one's
-- JSON still holds), then every entry's own id. A result whose Observation is not stored is left out; a row whose
-- text is not JSON is left as it is (the API reports it as unreadable).
CREATE FUNCTION pg_temp.entry_json(body TEXT) RETURNS JSONB LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN body::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;

UPDATE entry AS e SET resource = jsonb_set(pg_temp.entry_json(e.resource), '{result}', COALESCE((
    SELECT jsonb_agg(jsonb_build_object('reference', 'Observation/' || o.public_id) ORDER BY r.n)
    FROM jsonb_array_elements(pg_temp.entry_json(e.resource) -> 'result') WITH ORDINALITY AS r (value, n)
    JOIN entry AS o ON o.patient_id = e.patient_id AND o.kind = 'Observation'
                   AND pg_temp.entry_json(o.resource) ->> 'id' = substr(r.value ->> 'reference', 13)
), '[]'::jsonb))::text
WHERE e.kind = 'DiagnosticReport' AND jsonb_typeof(pg_temp.entry_json(e.resource) -> 'result') = 'array';
UPDATE entry SET resource = jsonb_set(pg_temp.entry_json(resource), '{id}', to_jsonb(public_id))::text
WHERE jsonb_typeof(pg_temp.entry_json(resource)) = 'object';
DROP FUNCTION pg_temp.entry_json(TEXT);
