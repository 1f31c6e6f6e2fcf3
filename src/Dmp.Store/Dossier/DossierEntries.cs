using Dapper;
using Dmp.Model.Apply;

namespace Dmp.Store.Dossier;

/// <summary>Clinical entries in one message's apply: one per natural key and patient, with a source row per message.</summary>
internal sealed class DossierEntries(ApplyContext c)
{
    /// <summary>
    /// One entry per natural key and patient; each source adds an <c>entry_source</c> row. The stored resource is the
    /// newest source's: a source recorded later than the stored one refreshes it (a corrected result), an older or
    /// equal one only adds its provenance.
    /// </summary>
    public async Task ApplyEntriesAsync(PatientRecord patient, MessagePlan m, long?[] documentIds)
    {
        foreach (var e in m.Entries)
        {
            var documentId = e.DocumentIndex is { } i && i >= 0 && i < documentIds.Length ? documentIds[i] : null;
            var recordedAt = StoreTime.Write(e.RecordedAt);
            var args = new
            {
                PatientId = patient.Id, e.Key.Kind, e.Key.Fingerprint, e.Key.Code, e.Key.CodeSystem,
                EffectiveAt = e.Key.EffectiveAt is { } at ? StoreTime.Write(at) : null, DocumentId = documentId, e.Resource,
                RecordedAt = recordedAt, Now = c.NowText,
            };
            var id = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(c.Sql.InsertEntry, args)).ConfigureAwait(false);
            if (id is null)
            {
                var stored = await c.Connection.QuerySingleAsync<(long Id, string RecordedAt)>(c.Command(
                    "SELECT id, recorded_at FROM entry WHERE patient_id = @PatientId AND kind = @Kind AND fingerprint = @Fingerprint;", args)).ConfigureAwait(false);
                id = stored.Id;
                if (string.CompareOrdinal(recordedAt, stored.RecordedAt) > 0)
                {
                    await c.Execute(
                        """
                        UPDATE entry SET resource = @Resource, recorded_at = @RecordedAt, document_id = COALESCE(@DocumentId, document_id), updated_at = @Now
                        WHERE id = @Id;
                        """, new { stored.Id, e.Resource, RecordedAt = recordedAt, DocumentId = documentId, Now = c.NowText }).ConfigureAwait(false);
                }
            }

            await c.Execute(c.Sql.InsertEntrySource, new { EntryId = id, MessageId = c.MessageId, Sender = c.Sender, At = recordedAt }).ConfigureAwait(false);
        }
    }
}
