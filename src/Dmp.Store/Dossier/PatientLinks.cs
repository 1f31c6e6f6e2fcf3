using System.Text.Json;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>Reads back what applying messages recorded about identities: the merges and links of a patient.</summary>
public sealed class PatientLinks(SqlDialect connections)
{
    /// <summary>The merges a patient took part in (as the merged or the surviving patient), oldest first.</summary>
    public async Task<IReadOnlyList<PatientMergeRow>> ListMergesAsync(long patientId, CancellationToken cancellationToken)
    {
        var connection = await connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<(long Merged, long Survivor, long? Message, string Identifiers, string At)>(new CommandDefinition(
                """
                SELECT merged_patient_id, survivor_patient_id, inbound_message_id, merged_identifiers, merged_at
                FROM patient_merge WHERE merged_patient_id = @Id OR survivor_patient_id = @Id
                ORDER BY merged_at, merged_patient_id;
                """, new { Id = patientId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.Select(r => new PatientMergeRow(
                r.Merged, r.Survivor, r.Message, JsonSerializer.Deserialize<string[]>(r.Identifiers) ?? [], StoreTime.Read(r.At))).ToList();
        }
    }

    /// <summary>The patient a local identifier or INS (<paramref name="system"/>, <paramref name="value"/>) now belongs to, after merges (<see cref="MergeChain"/>); null when unknown or past the chain's bound.</summary>
    public async Task<long?> FindPatientAsync(string system, string value, CancellationToken cancellationToken)
    {
        var connection = await connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var survivor = await connection.QuerySingleOrDefaultAsync<PatientRecord>(new CommandDefinition(
                connections.DossierStatements.SurvivorOfIdentifier,
                new { System = system, Value = value }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return survivor?.Id;
        }
    }

    /// <summary>The patients whose dossier an inbound message fed (a document or an entry it brought), in id order.</summary>
    public async Task<IReadOnlyList<long>> PatientsFedByAsync(long messageId, CancellationToken cancellationToken)
    {
        var connection = await connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return (await connection.QueryAsync<long>(new CommandDefinition(
                """
                SELECT d.patient_id FROM document_source s JOIN document d ON d.id = s.document_id WHERE s.inbound_message_id = @Id
                UNION
                SELECT e.patient_id FROM entry_source s JOIN entry e ON e.id = s.entry_id WHERE s.inbound_message_id = @Id
                ORDER BY 1;
                """, new { Id = messageId }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        }
    }
}
