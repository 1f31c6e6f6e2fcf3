using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Audit;

/// <summary>
/// The audit trail's hash chains: one per dossier (<c>patient:&lt;id&gt;</c>) and one for operator
/// actions without a dossier. Each event stores SHA-256(previous hash ‖ its canonical form); the
/// chain's head row is updated by every append, which serialises appends to one chain across
/// connections and instances (a row lock on PostgreSQL, the single writer on SQLite).
/// </summary>
public static class AuditChain
{
    public const string OperatorChain = "operator";

    private static readonly byte[] Genesis = new byte[32];

    private const string Columns =
        """
        id AS Id, chain AS Chain, seq AS Seq, at AS At, patient_id AS PatientId, agent_kind AS AgentKind, agent_id AS AgentId,
        agent_role AS AgentRole, action AS Action, entity_type AS EntityType, entity_id AS EntityId, outcome AS Outcome,
        purpose_of_use AS PurposeOfUse, reason AS Reason, detail AS Detail, prev_hash AS PrevHash, hash AS Hash
        """;

    /// <summary>The chain an event joins.</summary>
    public static string ChainOf(long? patientId) =>
        patientId is { } id ? "patient:" + id.ToString(System.Globalization.CultureInfo.InvariantCulture) : OperatorChain;

    /// <summary>Appends events inside the caller's write transaction, in order, in the dialect's SQL; returns their ids.</summary>
    public static Task<IReadOnlyList<long>> AppendAsync(
        SqlDialect dialect, DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditRecord> records, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        return AppendAsync(dialect.AuditStatements, connection, transaction, records, at, cancellationToken);
    }

    private static async Task<IReadOnlyList<long>> AppendAsync(
        AuditStatements sql, DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditRecord> records, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var ids = new List<long>(records.Count);
        var time = StoreTime.Write(at);
        foreach (var record in records)
        {
            var chain = ChainOf(record.PatientId);
            var head = await LockHeadAsync(sql, connection, transaction, chain, cancellationToken).ConfigureAwait(false);
            var seq = head.Seq + 1;
            var hash = Hash(head.Hash, Canonical(chain, seq, time, record));
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                sql.InsertEvent,
                new
                {
                    Chain = chain, Seq = seq, At = time, record.PatientId, record.AgentKind, record.AgentId, record.AgentRole,
                    record.Action, record.EntityType, record.EntityId, record.Outcome, record.PurposeOfUse, record.Reason,
                    record.Detail, PrevHash = head.Hash, Hash = hash,
                },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE audit_head SET seq = @Seq, hash = @Hash WHERE chain = @Chain;",
                new { Chain = chain, Seq = seq, Hash = hash }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            ids.Add(id);
        }

        return ids;
    }

    /// <summary>
    /// Walks every chain — or only <paramref name="chain"/> — from its first event and reports where each one breaks. A
    /// chain asked for by name whose head is gone while events remain is a break too.
    /// </summary>
    public static async Task<AuditVerification> VerifyAsync(DbConnection connection, string? chain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var breaks = new List<AuditBreak>();
        long events = 0;
        var heads = (await connection.QueryAsync<(string Chain, long Seq, byte[] Hash)>(new CommandDefinition(
            chain is null ? "SELECT chain, seq, hash FROM audit_head ORDER BY chain;" : "SELECT chain, seq, hash FROM audit_head WHERE chain = @Chain;",
            new { Chain = chain }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        if (chain is not null && heads.Count == 0 && await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT MIN(id) FROM audit_event WHERE chain = @Chain;", new { Chain = chain }, cancellationToken: cancellationToken)).ConfigureAwait(false) is { } orphan)
        {
            breaks.Add(new AuditBreak(chain, 1, orphan, "the chain has events but no head (its head was removed)"));
        }

        foreach (var head in heads)
        {
            var expectedPrev = Genesis;
            long expectedSeq = 1;
            AuditBreak? broken = null;
            var rows = await connection.QueryAsync<AuditEventRow>(new CommandDefinition(
                $"SELECT {Columns} FROM audit_event WHERE chain = @Chain ORDER BY seq;", new { head.Chain },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            foreach (var row in rows)
            {
                events++;
                if (broken is not null)
                {
                    continue;
                }

                if (row.Seq != expectedSeq)
                {
                    broken = new AuditBreak(head.Chain, expectedSeq, row.Id, $"event {expectedSeq} is missing (found {row.Seq})");
                }
                else if (!row.PrevHash.AsSpan().SequenceEqual(expectedPrev))
                {
                    broken = new AuditBreak(head.Chain, row.Seq, row.Id, "its previous hash does not match the event before it");
                }
                else if (!Hash(row.PrevHash, Canonical(row)).AsSpan().SequenceEqual(row.Hash))
                {
                    broken = new AuditBreak(head.Chain, row.Seq, row.Id, "its content does not match its hash (edited)");
                }

                expectedPrev = row.Hash;
                expectedSeq = row.Seq + 1;
            }

            if (broken is null && (head.Seq != expectedSeq - 1 || !head.Hash.AsSpan().SequenceEqual(expectedPrev)))
            {
                broken = new AuditBreak(head.Chain, expectedSeq, null, $"the chain head says {head.Seq} events but the chain ends at {expectedSeq - 1} (events removed)");
            }

            if (broken is not null)
            {
                breaks.Add(broken);
            }
        }

        return new AuditVerification(heads.Count, events, breaks);
    }

    /// <summary>The chain's head, locked for this transaction; created at genesis when the chain is new.</summary>
    private static async Task<(long Seq, byte[] Hash)> LockHeadAsync(
        AuditStatements sql, DbConnection connection, DbTransaction transaction, string chain, CancellationToken cancellationToken)
    {
        var head = await connection.QuerySingleOrDefaultAsync<(long Seq, byte[] Hash)?>(new CommandDefinition(
            sql.LockHead, new { Chain = chain }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (head is { } found)
        {
            return found;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            sql.CreateHead, new { Chain = chain, Hash = Genesis }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return await connection.QuerySingleAsync<(long Seq, byte[] Hash)>(new CommandDefinition(
            sql.LockHead, new { Chain = chain }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static byte[] Hash(byte[] previous, byte[] canonical)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(previous);
        sha.AppendData(canonical);
        return sha.GetHashAndReset();
    }

    private static byte[] Canonical(AuditEventRow row) =>
        Canonical(row.Chain, row.Seq, row.At, new AuditRecord(
            row.PatientId, row.AgentKind, row.AgentId, row.AgentRole, row.Action, row.EntityType, row.EntityId, row.Outcome,
            row.PurposeOfUse, row.Reason, row.Detail));

    /// <summary>The canonical form: a JSON array of every field in a fixed order (nulls kept), as UTF-8.</summary>
    private static byte[] Canonical(string chain, long seq, string at, AuditRecord record)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            json.WriteStringValue("v1");
            json.WriteStringValue(chain);
            json.WriteNumberValue(seq);
            json.WriteStringValue(at);
            if (record.PatientId is { } patient)
            {
                json.WriteNumberValue(patient);
            }
            else
            {
                json.WriteNullValue();
            }

            foreach (var value in (string?[])[record.AgentKind, record.AgentId, record.AgentRole, record.Action, record.EntityType,
                         record.EntityId, record.Outcome, record.PurposeOfUse, record.Reason, record.Detail])
            {
                if (value is null)
                {
                    json.WriteNullValue();
                }
                else
                {
                    json.WriteStringValue(value);
                }
            }

            json.WriteEndArray();
        }

        return buffer.ToArray();
    }
}
