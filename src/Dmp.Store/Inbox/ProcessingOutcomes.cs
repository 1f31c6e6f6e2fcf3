using System.Data.Common;
using Dapper;
using Dmp.Model.Apply;
using Dmp.Store.Dossier;
using Dmp.Store.Sql;
using Dmp.Store.Writing;

namespace Dmp.Store.Inbox;

/// <summary>
/// Records what processing made of messages, in the caller's write transaction: each message's dossier apply (should it
/// throw, under its own savepoint, retried once on a duplicate key or a deadlock), its status and history line, and what
/// it holds or releases (<see cref="HeldMessages"/>).
/// </summary>
internal sealed class ProcessingOutcomes(SqlDialect connections, TimeProvider time)
{
    private readonly SqlDialect _connections = connections;

    /// <summary>Records each outcome (applying its plan first); returns the final outcomes in the order given.</summary>
    /// <remarks>
    /// A chunk is first written under one savepoint, its applies without one each: a statement less per message and a
    /// round trip less on a server. Should an apply throw (rare: a duplicate key another writer caused, a deadlock, a
    /// bug), the chunk is rolled back to that savepoint and written again with a savepoint per apply, which fails that
    /// message alone.
    /// </remarks>
    public async Task<IReadOnlyList<ProcessingResult>> WriteAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<ProcessingResult> results, CancellationToken cancellationToken)
    {
        if (results.Count > 1)
        {
            const string chunk = "dmp_chunk";
            await transaction.SaveAsync(chunk, cancellationToken).ConfigureAwait(false);
            try
            {
                var final = await WriteEachAsync(connection, transaction, results, isolateApplies: false, cancellationToken).ConfigureAwait(false);
                await transaction.ReleaseAsync(chunk, cancellationToken).ConfigureAwait(false);
                return final;
            }
#pragma warning disable CA1031 // written again below, each apply on its own
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                await transaction.RollbackAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
        }

        return await WriteEachAsync(connection, transaction, results, isolateApplies: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<ProcessingResult>> WriteEachAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<ProcessingResult> results, bool isolateApplies,
        CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        var now = StoreTime.Write(at);
        var final = new List<ProcessingResult>(results.Count);
        foreach (var outcome in results)
        {
            var result = outcome;
            var row = await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
                """
                SELECT warnings AS Warnings, sender AS Sender,
                       CASE WHEN EXISTS (SELECT 1 FROM held_document WHERE message_id = @Id) THEN 1 ELSE 0 END AS HeldDocuments,
                       CASE WHEN EXISTS (SELECT 1 FROM held_identity WHERE message_id = @Id) THEN 1 ELSE 0 END AS HeldIdentities
                FROM inbound_message WHERE id = @Id;
                """, new { result.Id }, transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (row?.Warnings is null)
            {
                final.Add(result);
                continue; // unknown id: nothing to record
            }

            // A replayed message starts afresh: it holds only what this outcome says.
            var held = new HeldMessages(connection, transaction, _connections, cancellationToken);
            await held.ForgetAsync(result.Id, row.HeldDocuments != 0, row.HeldIdentities != 0).ConfigureAwait(false);

            IReadOnlyList<HeldKey> heldIdentities = [];
            if (result.Apply is { } apply && result.Status == InboxStatus.Processed)
            {
                var applied = isolateApplies
                    ? await ApplyUnderSavepointAsync(connection, transaction, result.Id, row.Sender, apply, at, cancellationToken).ConfigureAwait(false)
                    : await DossierApply.ApplyAsync(connection, transaction, _connections, result.Id, row.Sender, apply, at, cancellationToken).ConfigureAwait(false);
                result = result with
                {
                    Status = applied.Status,
                    Error = applied.Error,
                    Detail = result.Detail is null ? applied.Detail : result.Detail + "; " + applied.Detail,
                    Apply = null,
                };
                heldIdentities = applied.HeldIdentityKeys;
            }

            var merged = WarningList.Merge(WarningList.Parse(row.Warnings), result.Warnings);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE inbound_message
                SET status = @Status, error = @Error, warnings = @Warnings, processed_at = @Now
                WHERE id = @Id;
                """,
                new { result.Id, result.Status, result.Error, Warnings = WarningList.Serialize(merged), Now = now },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                GroupCommitWriter.InsertHistorySql,
                new { MessageId = result.Id, At = now, result.Status, Detail = result.Detail ?? result.Error },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);

            if (outcome.NamedPatients is { } named)
            {
                await WriteNamedPatientsAsync(connection, transaction, result.Id, named, cancellationToken).ConfigureAwait(false);
            }

            if (result.Status == InboxStatus.Held)
            {
                await held.HoldAsync(result.Id, result.HeldDocumentKeys ?? [], heldIdentities).ConfigureAwait(false);
            }

            if (result.Status != InboxStatus.Held && result.ValidatedDocumentKeys is { Count: > 0 } validated)
            {
                await held.SupersedeDraftsAsync(result.Id, validated, now).ConfigureAwait(false);
            }

            final.Add(result);
        }

        return final;
    }

    /// <summary>The identifiers a message named, each (value, system) once, replacing those an earlier processing wrote.</summary>
    private static async Task WriteNamedPatientsAsync(
        DbConnection connection, DbTransaction transaction, long id, IReadOnlyList<Dmp.Model.Identifier> named, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            InboxSearchSql.ForgetNamedSql, new { MessageId = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var rows = named
            .Where(i => !string.IsNullOrWhiteSpace(i.Value) && i.Value.Length <= MaxIdentifierLength && (i.System?.Length ?? 0) <= MaxIdentifierLength)
            .Select(i => (Value: i.Value.Trim(), System: i.System?.Trim() ?? ""))
            .Distinct()
            .Select(i => new { i.Value, i.System, MessageId = id })
            .ToList();
        if (rows.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                InboxSearchSql.InsertNamedSql, rows, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>The longest identifier value or system indexed (the columns' size on SQL Server); a longer one is not searchable.</summary>
    private const int MaxIdentifierLength = 200;

    /// <summary>
    /// Applies one message to the dossier under its own savepoint: an exception rolls back this message's writes only
    /// and fails it. A unique-key violation that still surfaces (another writer stored the same key between our read
    /// and write) is retried once, re-reading what is now stored; so is a deadlock with another instance.
    /// </summary>
    private async Task<DossierApplyOutcome> ApplyUnderSavepointAsync(
        DbConnection connection, DbTransaction transaction, long id, string sender, ApplyPlan apply, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        const string savepoint = "dmp_apply";
        for (var attempt = 1; ; attempt++)
        {
            await transaction.SaveAsync(savepoint, cancellationToken).ConfigureAwait(false);
            try
            {
                var outcome = await DossierApply.ApplyAsync(connection, transaction, _connections, id, sender, apply, at, cancellationToken).ConfigureAwait(false);
                await transaction.ReleaseAsync(savepoint, cancellationToken).ConfigureAwait(false);
                return outcome;
            }
#pragma warning disable CA1031 // one message's failure must not abort the others in the batch
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                await transaction.RollbackAsync(savepoint, cancellationToken).ConfigureAwait(false);
                var conflict = _connections.Classify(ex);
                var duplicate = conflict == WriteConflict.DuplicateKey;
                if (conflict != WriteConflict.None && attempt == 1)
                {
                    continue;
                }

                var reason = duplicate
                    ? "applying to the dossier failed: another writer stored the same record at the same time (duplicate key); replay the message"
                    : $"applying to the dossier failed: {ex.GetType().Name}: {ex.Message}";
                return new DossierApplyOutcome(InboxStatus.Failed, reason, "dossier apply failed", []);
            }
        }
    }

    private sealed class MessageRow
    {
        public string? Warnings { get; set; }
        public string Sender { get; set; } = "";
        public long HeldDocuments { get; set; }
        public long HeldIdentities { get; set; }
    }
}
