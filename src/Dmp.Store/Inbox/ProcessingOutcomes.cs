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
/// <remarks>
/// What does not depend on the order of the chunk's messages is done for the chunk at once, in statements of fixed
/// shapes (so SQLite keeps them compiled): the messages' stored rows read before the first apply, and the identifiers
/// they named written after the last. Each message's status and history line stay in its turn (a later message of the
/// chunk may release one held by an earlier one), in one command.
/// </remarks>
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
        var (rows, heldIdentitiesMayExist) = await ReadRowsAsync(connection, transaction, results, cancellationToken).ConfigureAwait(false);
        var final = new List<ProcessingResult>(results.Count);
        // The identifiers each message named, written for the whole chunk at its end (nothing in an apply reads them).
        var named = new Dictionary<long, IReadOnlyList<Dmp.Model.Identifier>>();
        foreach (var outcome in results)
        {
            var result = outcome;
            if (!rows.TryGetValue(result.Id, out var row) || row.Warnings is null)
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
                    ? await ApplyUnderSavepointAsync(connection, transaction, result.Id, row.Sender, apply, at, heldIdentitiesMayExist, cancellationToken).ConfigureAwait(false)
                    : await DossierApply.ApplyAsync(connection, transaction, _connections, result.Id, row.Sender, apply, at, heldIdentitiesMayExist, cancellationToken).ConfigureAwait(false);
                result = result with
                {
                    Status = applied.Status,
                    Error = applied.Error,
                    Detail = result.Detail is null ? applied.Detail : result.Detail + "; " + applied.Detail,
                    Apply = null,
                };
                heldIdentities = applied.HeldIdentityKeys;
            }

            var merged = WarningList.Serialize(WarningList.Merge(WarningList.Parse(row.Warnings), result.Warnings));
            await connection.ExecuteAsync(new CommandDefinition(
                StatusAndHistorySql,
                new
                {
                    result.Id, result.Status, result.Error, Warnings = merged, Now = now,
                    MessageId = result.Id, At = now, Detail = result.Detail ?? result.Error,
                },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);

            if (outcome.NamedPatients is { } identifiers)
            {
                named[result.Id] = identifiers;
            }

            if (result.Status == InboxStatus.Held)
            {
                await held.HoldAsync(result.Id, result.HeldDocumentKeys ?? [], heldIdentities).ConfigureAwait(false);
                heldIdentitiesMayExist |= heldIdentities.Count > 0;
            }

            if (result.Status != InboxStatus.Held && result.ValidatedDocumentKeys is { Count: > 0 } validated)
            {
                await held.SupersedeDraftsAsync(result.Id, validated, now).ConfigureAwait(false);
            }

            // Should the chunk give this id again, it starts from what was just written.
            row.Warnings = merged;
            if (result.Status == InboxStatus.Held)
            {
                row.HeldDocuments = row.HeldIdentities = 1;
            }

            final.Add(result);
        }

        await WriteNamedPatientsAsync(connection, transaction, named, cancellationToken).ConfigureAwait(false);
        return final;
    }

    /// <summary>A message's new status and its history line: one command (one round trip on a server).</summary>
    private const string StatusAndHistorySql =
        """
        UPDATE inbound_message
        SET status = @Status, error = @Error, warnings = @Warnings, processed_at = @Now
        WHERE id = @Id;
        """ + GroupCommitWriter.InsertHistorySql;

    /// <summary>What recording an outcome needs of its message, for one block of ids (<see cref="InboxSearchSql.IdParameters"/>).</summary>
    private static readonly string ReadRowsSql =
        $"""
        SELECT id AS Id, warnings AS Warnings, sender AS Sender,
               CASE WHEN EXISTS (SELECT 1 FROM held_document h WHERE h.message_id = inbound_message.id) THEN 1 ELSE 0 END AS HeldDocuments,
               CASE WHEN EXISTS (SELECT 1 FROM held_identity h WHERE h.message_id = inbound_message.id) THEN 1 ELSE 0 END AS HeldIdentities,
               CASE WHEN EXISTS (SELECT 1 FROM held_identity) THEN 1 ELSE 0 END AS AnyHeldIdentity
        FROM inbound_message WHERE id IN ({string.Join(", ", InboxSearchSql.IdParameters.Select(p => "@" + p))});
        """;

    /// <summary>
    /// The stored rows of the chunk's messages, read before any is applied (a statement per block of ids), and whether
    /// any message is held for an identity (when none is, and none of the chunk comes to be, no apply looks for one to
    /// release: a statement less per message about a qualified patient).
    /// </summary>
    private static async Task<(Dictionary<long, MessageRow> Rows, bool AnyHeldIdentity)> ReadRowsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<ProcessingResult> results, CancellationToken cancellationToken)
    {
        var ids = results.Select(r => r.Id).Distinct().ToList();
        var rows = new Dictionary<long, MessageRow>(ids.Count);
        var anyHeldIdentity = false;
        for (var start = 0; start < ids.Count; start += InboxSearchSql.IdsPerStatement)
        {
            var block = await connection.QueryAsync<MessageRow>(new CommandDefinition(
                ReadRowsSql, IdBlock(ids, start), transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            foreach (var row in block)
            {
                rows[row.Id] = row;
                anyHeldIdentity |= row.AnyHeldIdentity != 0;
            }
        }

        return (rows, anyHeldIdentity);
    }

    /// <summary>Ids <paramref name="start"/> … as one block's parameters, the last id repeated to fill it.</summary>
    private static DynamicParameters IdBlock(IReadOnlyList<long> ids, int start)
    {
        var parameters = new DynamicParameters();
        for (var i = 0; i < InboxSearchSql.IdsPerStatement; i++)
        {
            parameters.Add(InboxSearchSql.IdParameters[i], ids[Math.Min(start + i, ids.Count - 1)]);
        }

        return parameters;
    }

    /// <summary>
    /// The identifiers each message named, each (value, system) once per message, replacing those an earlier processing
    /// wrote: the messages' rows cleared a block of ids at a time, then written in multi-row inserts (<see cref="InboxSearchSql.NamedRowBlocks"/>).
    /// </summary>
    private static async Task WriteNamedPatientsAsync(
        DbConnection connection, DbTransaction transaction, Dictionary<long, IReadOnlyList<Dmp.Model.Identifier>> named, CancellationToken cancellationToken)
    {
        if (named.Count == 0)
        {
            return;
        }

        var ids = named.Keys.ToList();
        for (var start = 0; start < ids.Count; start += InboxSearchSql.IdsPerStatement)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                InboxSearchSql.ForgetNamedSql, IdBlock(ids, start), transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        var rows = named
            .SelectMany(m => m.Value
                .Where(i => !string.IsNullOrWhiteSpace(i.Value) && i.Value.Length <= MaxIdentifierLength && (i.System?.Length ?? 0) <= MaxIdentifierLength)
                .Select(i => (Value: i.Value.Trim(), System: i.System?.Trim() ?? ""))
                .Distinct()
                .Select(i => (i.Value, i.System, MessageId: m.Key)))
            .ToList();
        foreach (var (start, size) in RowBlocks.Of(rows.Count, InboxSearchSql.NamedRowBlocks))
        {
            var parameters = new DynamicParameters();
            for (var i = 0; i < size; i++)
            {
                var (value, system, messageId) = InboxSearchSql.NamedParameters[i];
                var row = rows[start + i];
                parameters.Add(value, row.Value);
                parameters.Add(system, row.System);
                parameters.Add(messageId, row.MessageId);
            }

            await connection.ExecuteAsync(new CommandDefinition(
                InboxSearchSql.InsertNamedSql(size), parameters, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
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
        bool heldIdentitiesMayExist, CancellationToken cancellationToken)
    {
        const string savepoint = "dmp_apply";
        for (var attempt = 1; ; attempt++)
        {
            await transaction.SaveAsync(savepoint, cancellationToken).ConfigureAwait(false);
            try
            {
                var outcome = await DossierApply.ApplyAsync(connection, transaction, _connections, id, sender, apply, at, heldIdentitiesMayExist, cancellationToken).ConfigureAwait(false);
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
        public long Id { get; set; }
        public string? Warnings { get; set; }
        public string Sender { get; set; } = "";
        public long HeldDocuments { get; set; }
        public long HeldIdentities { get; set; }
        public long AnyHeldIdentity { get; set; }
    }
}
