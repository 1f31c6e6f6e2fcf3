using Dapper;
using Dmp.Model.Apply;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>Clinical entries in one message's apply: one per natural key and patient, with a source row per message.</summary>
internal sealed class DossierEntries(ApplyContext c)
{
    /// <summary>
    /// One entry per natural key and patient; each source adds an <c>entry_source</c> row. The stored resource is the
    /// newest source's: a source recorded later than the stored one refreshes it (a corrected result), an older or
    /// equal one only adds its provenance. A new entry gets a random public id (<see cref="EntryIds"/>), one the key
    /// already has keeps its own; the stored JSON carries it, and a reference to an entry planned earlier in the message
    /// (a report's results come before the report) carries that entry's public id.
    /// </summary>
    public async Task ApplyEntriesAsync(PatientRecord patient, MessagePlan m, long?[] documentIds)
    {
        // Plan reference (Kind/plan id) → public reference (Kind/public id), for this patient's entries of this message.
        var stored = new Dictionary<string, string>(StringComparer.Ordinal);
        // Each entry's id and when this message recorded it, in the message's order; the sources are written at the end.
        var sources = new Dictionary<long, string>();
        foreach (var e in m.Entries)
        {
            var documentId = e.DocumentIndex is { } i && i >= 0 && i < documentIds.Length ? documentIds[i] : null;
            var recordedAt = StoreTime.Write(e.RecordedAt);
            var planned = EntryIds.Parse(e.Resource);
            var publicId = EntryIds.New();
            var args = new
            {
                PatientId = patient.Id, e.Key.Kind, e.Key.Fingerprint, e.Key.Code, e.Key.CodeSystem,
                EffectiveAt = e.Key.EffectiveAt is { } at ? StoreTime.Write(at) : null, DocumentId = documentId,
                Resource = planned is null ? e.Resource : EntryIds.Rewrite(planned, publicId, stored), PublicId = publicId,
                RecordedAt = recordedAt, Now = c.NowText,
            };
            var id = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(c.Sql.InsertEntry, args)).ConfigureAwait(false);
            if (id is null)
            {
                var existing = await c.Connection.QuerySingleAsync<(long Id, string RecordedAt, string PublicId)>(c.Command(
                    "SELECT id, recorded_at, public_id FROM entry WHERE patient_id = @PatientId AND kind = @Kind AND fingerprint = @Fingerprint;", args)).ConfigureAwait(false);
                id = existing.Id;
                publicId = existing.PublicId;
                if (string.CompareOrdinal(recordedAt, existing.RecordedAt) > 0)
                {
                    await c.Execute(
                        """
                        UPDATE entry SET resource = @Resource, recorded_at = @RecordedAt, document_id = COALESCE(@DocumentId, document_id), updated_at = @Now
                        WHERE id = @Id;
                        """,
                        new
                        {
                            existing.Id, Resource = planned is null ? e.Resource : EntryIds.Rewrite(planned, publicId, stored),
                            RecordedAt = recordedAt, DocumentId = documentId, Now = c.NowText,
                        }).ConfigureAwait(false);
                }
            }

            if (EntryIds.PlannedReference(e.Key.Kind, planned) is { } plannedReference)
                stored[plannedReference] = e.Key.Kind + "/" + publicId;
            sources.TryAdd(id.Value, recordedAt); // an entry the message gives twice: its first source, as the unique key keeps
        }

        await AddSourcesAsync(sources).ConfigureAwait(false);
    }

    /// <summary>The message as one more source of each entry, in multi-row statements (<see cref="DossierStatements.EntrySourceBlocks"/>).</summary>
    private async Task AddSourcesAsync(Dictionary<long, string> sources)
    {
        var rows = sources.ToList();
        foreach (var (start, size) in RowBlocks.Of(rows.Count, DossierStatements.EntrySourceBlocks))
        {
            var parameters = new DynamicParameters();
            parameters.Add("MessageId", c.MessageId);
            parameters.Add("Sender", c.Sender);
            for (var i = 0; i < size; i++)
            {
                var (entryId, at) = DossierStatements.EntrySourceParameters[i];
                parameters.Add(entryId, rows[start + i].Key);
                parameters.Add(at, rows[start + i].Value);
            }

            await c.Connection.ExecuteAsync(c.Command(c.Sql.InsertEntrySourcesSql(size), parameters)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A merge's entries (A40): patient <paramref name="from"/>'s entries become <paramref name="to"/>'s. An entry the
    /// survivor already has keeps the survivor's row (and public id) with both provenances; the merged row goes, and the
    /// merged patient's entries that pointed at it (a report's results) point at the survivor's instead.
    /// </summary>
    public async Task MoveAsync(long from, long to)
    {
        var args = new { From = from, To = to, Now = c.NowText };
        var duplicates = (await c.Connection.QueryAsync<(long FromId, long ToId, string Kind, string FromPublic, string ToPublic)>(c.Command(
            """
            SELECT f.id, t.id, f.kind, f.public_id, t.public_id FROM entry f
            JOIN entry t ON t.patient_id = @To AND t.kind = f.kind AND t.fingerprint = f.fingerprint
            WHERE f.patient_id = @From;
            """, args)).ConfigureAwait(false)).AsList();
        foreach (var (fromId, toId, kind, fromPublic, toPublic) in duplicates)
        {
            var pair = new { FromId = fromId, ToId = toId };
            await c.Execute(c.Sql.CopyEntrySources, pair).ConfigureAwait(false);
            await c.Execute("DELETE FROM entry_source WHERE entry_id = @FromId;", pair).ConfigureAwait(false);
            await c.Execute("DELETE FROM entry WHERE id = @FromId;", pair).ConfigureAwait(false);
            // Public ids are hex: the quoted reference occurs in JSON exactly as written here.
            var old = $"\"{kind}/{fromPublic}\"";
            await c.Execute(
                "UPDATE entry SET resource = REPLACE(resource, @Old, @New) WHERE patient_id = @From AND resource LIKE @Pattern;",
                new { From = from, Old = old, New = $"\"{kind}/{toPublic}\"", Pattern = "%" + old + "%" }).ConfigureAwait(false);
        }

        await c.Execute("UPDATE entry SET patient_id = @To, updated_at = @Now WHERE patient_id = @From;", args).ConfigureAwait(false);
    }
}
