using Dmp.Store.Writing;
using System.Data.Common;
using Dapper;
using Dmp.Store.Blobs;
using Dmp.Store.Dossier;
using Dmp.Store.Sql;

namespace Dmp.Store.Inbox;

/// <summary>
/// The work side of the inbox: hands accepted messages to the processing worker in arrival order
/// and records what became of them.
/// </summary>
/// <remarks>
/// A claim leases the senders of the messages it hands out until their outcomes are committed: a
/// sender with a claimed, not yet completed message is skipped by later claims, so one sender's
/// messages are never processed out of order or twice at once. On SQLite (one gateway process)
/// the lease table in this process is all there is. On PostgreSQL each lease is also a session
/// advisory lock, so gateway instances sharing the database never take the same sender at once;
/// a claim leases a sender first and only then reads its messages. A crash ends the leases with
/// the process (or its session) and leaves the messages <c>accepted</c> to be claimed again.
/// </remarks>
public sealed class InboxProcessing : IAsyncDisposable
{
    private const string PendingColumns =
        """
        id AS Id, channel AS Channel, sender AS Sender, control_id AS ControlId, message_type AS MessageType,
        file_name AS FileName, remote_endpoint AS RemoteEndpoint, raw AS Raw, blob_key AS BlobKey, length AS Length,
        received_at AS ReceivedAt, warnings AS Warnings
        """;

    private readonly SqlDialect _connections;
    private readonly IBlobStore _blobs;
    private readonly SemaphoreSlim _claimGate = new(1, 1);
    private readonly Lock _leaseGate = new();
    private readonly Dictionary<long, string> _claimed = [];
    private readonly Dictionary<string, int> _busySenders = new(StringComparer.Ordinal);
    private readonly SenderLeases _leases;

    /// <summary>When set, outcomes are written in the inbox writer's grouped transactions.</summary>
    internal GroupCommitWriter? Writer { get; init; }

    public InboxProcessing(SqlDialect connections, IBlobStore blobs)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(blobs);
        _connections = connections;
        _blobs = blobs;
        _leases = connections.CreateSenderLeases();
    }

    /// <summary>Messages claimed and not yet completed.</summary>
    public int InFlight
    {
        get
        {
            lock (_leaseGate)
            {
                return _claimed.Count;
            }
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> of the oldest accepted messages, ordered by id, from senders
    /// with nothing in flight. Process each sender's messages in the order given.
    /// </summary>
    public async Task<IReadOnlyList<PendingMessage>> ClaimAsync(int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        await _claimGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string[] busy;
            lock (_leaseGate)
            {
                busy = [.. _busySenders.Keys];
            }

            List<PendingRow> rows;
            List<string> leased = [];
            var registered = false;
            var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    if (_leases.SharedAcrossProcesses)
                    {
                        // Lease first, read after: rows read before the lease may since have been processed
                        // by the instance that held it (it commits its outcomes before it lets go).
                        leased = await LeaseSendersAsync(connection, busy, max, cancellationToken).ConfigureAwait(false);
                        if (leased.Count == 0)
                        {
                            return [];
                        }

                        rows = (await connection.QueryAsync<PendingRow>(new CommandDefinition(
                            $"SELECT {PendingColumns} FROM inbound_message WHERE status = @Accepted AND "
                            + _connections.InList("sender", "Leased") + " ORDER BY id LIMIT @Max;",
                            new { InboxStatus.Accepted, Leased = leased.ToArray(), Max = max },
                            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
                    }
                    else
                    {
                        var sql = $"SELECT {PendingColumns} FROM inbound_message WHERE status = @Accepted"
                            + (busy.Length > 0 ? " AND NOT (" + _connections.InList("sender", "Busy") + ")" : "")
                            + " ORDER BY id LIMIT @Max;";
                        rows = (await connection.QueryAsync<PendingRow>(new CommandDefinition(
                            sql, new { InboxStatus.Accepted, Busy = busy, Max = max },
                            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
                    }

                    var claimed = new List<PendingMessage>(rows.Count);
                    var unreadable = new List<ProcessingResult>();
                    foreach (var row in rows)
                    {
                        var raw = await InboxQueries.ReadRawAsync(
                            _blobs, new InboxQueries.RawRow { Raw = row.Raw, BlobKey = row.BlobKey }, cancellationToken).ConfigureAwait(false);
                        if (raw is null)
                        {
                            // Nothing to process; failing it keeps the message visible instead of stuck.
                            unreadable.Add(new ProcessingResult(row.Id, InboxStatus.Failed,
                                row.BlobKey is null ? "The raw bytes are missing." : $"The raw bytes are missing from the blob store (blob {row.BlobKey})."));
                            continue;
                        }

                        claimed.Add(new PendingMessage(
                            row.Id, row.Channel, row.Sender, row.ControlId.Length == 0 ? null : row.ControlId, row.MessageType,
                            row.FileName, row.RemoteEndpoint, raw, row.Length, SqlDialect.ReadTime(row.ReceivedAt),
                            WarningList.Parse(row.Warnings)));
                    }

                    if (unreadable.Count > 0)
                    {
                        var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                        await using (transaction.ConfigureAwait(false))
                        {
                            await WriteResultsAsync(connection, transaction, unreadable, cancellationToken).ConfigureAwait(false);
                            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                        }
                    }

                    lock (_leaseGate)
                    {
                        foreach (var message in claimed)
                        {
                            _claimed[message.Id] = message.Sender;
                            _busySenders[message.Sender] = _busySenders.GetValueOrDefault(message.Sender) + 1;
                        }
                    }

                    registered = true;
                    var idle = leased.Except(claimed.Select(m => m.Sender), StringComparer.Ordinal).ToList();
                    if (idle.Count > 0)
                    {
                        // Leased, but nothing of theirs was left to hand out (or it did not fit in this claim).
                        await _leases.ReleaseAsync(idle).ConfigureAwait(false);
                    }

                    return claimed;
                }
                catch when (!registered && leased.Count > 0)
                {
                    await _leases.ReleaseAsync(leased).ConfigureAwait(false);
                    throw;
                }
            }
        }
        finally
        {
            _claimGate.Release();
        }
    }

    /// <summary>
    /// Leases the senders of the oldest accepted messages that no worker holds: those of the first
    /// <paramref name="max"/> messages not held here, passing over senders another instance holds
    /// and looking further (a few rounds) when every one of them was held.
    /// </summary>
    private async Task<List<string>> LeaseSendersAsync(DbConnection connection, string[] busy, int max, CancellationToken cancellationToken)
    {
        var passedOver = new List<string>(busy);
        var leased = new List<string>();
        try
        {
            for (var round = 0; round < 4 && leased.Count == 0; round++)
            {
                var senders = (await connection.QueryAsync<string>(new CommandDefinition(
                    "SELECT sender FROM inbound_message WHERE status = @Accepted"
                    + (passedOver.Count > 0 ? " AND NOT (" + _connections.InList("sender", "PassedOver") + ")" : "")
                    + " ORDER BY id LIMIT @Max;",
                    new { InboxStatus.Accepted, PassedOver = passedOver.ToArray(), Max = max },
                    cancellationToken: cancellationToken)).ConfigureAwait(false)).Distinct(StringComparer.Ordinal).ToList();
                if (senders.Count == 0)
                {
                    break;
                }

                foreach (var sender in senders)
                {
                    if (await _leases.TryAcquireAsync(sender, cancellationToken).ConfigureAwait(false))
                    {
                        leased.Add(sender);
                    }
                    else
                    {
                        passedOver.Add(sender); // another instance is processing it
                    }
                }
            }

            return leased;
        }
        catch when (leased.Count > 0)
        {
            await _leases.ReleaseAsync(leased).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Records the outcomes of many messages in one transaction, each with a history line, and ends their claims.
    /// Outcomes carrying a dossier apply are applied first (see <see cref="ProcessingResult.Apply"/>); returns the
    /// final outcomes, once committed, in the order given.
    /// </summary>
    public async Task<IReadOnlyList<ProcessingResult>> CompleteAsync(IReadOnlyList<ProcessingResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        foreach (var result in results)
        {
            if (!InboxStatus.IsProcessingOutcome(result.Status))
            {
                throw new ArgumentException($"'{result.Status}' is not a processing outcome (message {result.Id}).", nameof(results));
            }
        }

        if (results.Count == 0)
        {
            return [];
        }

        IReadOnlyList<ProcessingResult> final = results;
        try
        {
            string[] senders;
            lock (_leaseGate)
            {
                senders = [.. results.Select(r => _claimed.GetValueOrDefault(r.Id)).OfType<string>().Distinct(StringComparer.Ordinal)];
            }

            // Another instance may have these senders if our leases died with their session: record nothing then.
            await _leases.EnsureHeldAsync(senders, cancellationToken).ConfigureAwait(false);
            if (Writer is { } writer)
            {
                // One fsync for the inbox's new frames and these outcomes together.
                await writer.RunInWriteTransactionAsync(
                    async (connection, transaction) => final = await WriteResultsAsync(connection, transaction, results, CancellationToken.None).ConfigureAwait(false),
                    cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                    await using (transaction.ConfigureAwait(false))
                    {
                        final = await WriteResultsAsync(connection, transaction, results, cancellationToken).ConfigureAwait(false);
                        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            // Also on failure: the messages stay accepted and are simply claimed again.
            await ReleaseAsync(results).ConfigureAwait(false);
        }

        return final;
    }

    /// <summary>
    /// Records the ACK sent for a message after its processing (ACK mode Processed), so a resend is
    /// answered with these very bytes. Only a message that has no ACK yet takes one.
    /// </summary>
    public async Task<bool> RecordAckAsync(long id, byte[] ack, string ackCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ack);
        var changed = 0;
        async Task Write(DbConnection connection, DbTransaction transaction) =>
            changed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inbound_message SET ack = @Ack, ack_code = @AckCode WHERE id = @Id AND ack IS NULL;",
                new { Id = id, Ack = ack, AckCode = ackCode }, transaction, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
        if (Writer is { } writer)
        {
            await writer.RunInWriteTransactionAsync(Write, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await Write(connection, transaction).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return changed == 1;
    }

    /// <summary>
    /// Puts a failed, held, processed or ignored message back to <c>accepted</c> so it is processed
    /// again with the current rules; false when its status does not allow it or its bytes are gone.
    /// </summary>
    public async Task<bool> RequeueForReplayAsync(long id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var changed = await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE inbound_message SET status = @Accepted, error = NULL WHERE id = @Id AND "
                    + _connections.InList("status", "Replayable") + " AND (raw IS NOT NULL OR blob_key IS NOT NULL);",
                    new
                    {
                        InboxStatus.Accepted,
                        Id = id,
                        Replayable = InboxStatus.All.Where(InboxStatus.IsReplayable).ToArray(),
                    },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (changed == 0)
                {
                    return false;
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    GroupCommitWriter.InsertHistorySql,
                    new
                    {
                        MessageId = id,
                        At = _connections.WriteTime(DateTimeOffset.UtcNow),
                        Status = InboxStatus.Accepted,
                        Detail = InboxHistoryDetail.ReplayRequested,
                    },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
        }
    }

    private async Task<IReadOnlyList<ProcessingResult>> WriteResultsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<ProcessingResult> results, CancellationToken cancellationToken)
    {
        var at = DateTimeOffset.UtcNow;
        var now = _connections.WriteTime(at);
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

            // A replayed message starts afresh: it holds only what this outcome says. Most messages were never held:
            // the flags above spare them two deletes.
            if (row.HeldDocuments != 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM held_document WHERE message_id = @Id;", new { result.Id }, transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            if (row.HeldIdentities != 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM held_identity WHERE message_id = @Id;", new { result.Id }, transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            IReadOnlyList<string> heldIdentities = [];
            if (result.Apply is { } apply && result.Status == InboxStatus.Processed)
            {
                var applied = await ApplyUnderSavepointAsync(connection, transaction, result.Id, row.Sender, apply, at, cancellationToken).ConfigureAwait(false);
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

            if (result.Status == InboxStatus.Held)
            {
                await InsertHeldKeysAsync(connection, transaction, "INSERT INTO held_document (message_id, document_key) VALUES (@Id, @Key);",
                    result.Id, result.HeldDocumentKeys ?? [], cancellationToken).ConfigureAwait(false);
                await InsertHeldKeysAsync(connection, transaction, "INSERT INTO held_identity (message_id, identity_key) VALUES (@Id, @Key);",
                    result.Id, heldIdentities, cancellationToken).ConfigureAwait(false);
            }

            if (result.Status != InboxStatus.Held && result.ValidatedDocumentKeys is { Count: > 0 } validated)
            {
                await SupersedeHeldAsync(connection, transaction, result.Id, validated, now, cancellationToken).ConfigureAwait(false);
            }

            final.Add(result);
        }

        return final;
    }

    /// <summary>The keys a held message waits under (distinct), one row each.</summary>
    private static async Task InsertHeldKeysAsync(
        DbConnection connection, DbTransaction transaction, string insertSql, long id, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            insertSql, keys.Distinct(StringComparer.Ordinal).Select(key => new { Id = id, Key = key }).ToArray(),
            transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies one message to the dossier under its own savepoint: an exception rolls back this message's writes only
    /// and fails it. A unique-key violation that still surfaces (another writer stored the same key between our read
    /// and write) is retried once, re-reading what is now stored; so is a deadlock with another instance.
    /// </summary>
    private async Task<DossierApplyOutcome> ApplyUnderSavepointAsync(
        DbConnection connection, DbTransaction transaction, long id, string sender, DossierApplyInput apply, DateTimeOffset at,
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
                var duplicate = _connections.IsUniqueViolation(ex);
                if ((duplicate || _connections.IsTransientConflict(ex)) && attempt == 1)
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

    /// <summary>
    /// Drafts held under one of <paramref name="keys"/> in other messages will never enter the dossier:
    /// the validated version in message <paramref name="validatedBy"/> does. They become <c>ignored</c>.
    /// </summary>
    private async Task SupersedeHeldAsync(
        DbConnection connection, DbTransaction transaction, long validatedBy, IReadOnlyList<string> keys, object now,
        CancellationToken cancellationToken)
    {
        var drafts = (await connection.QueryAsync<long>(new CommandDefinition(
            "SELECT DISTINCT h.message_id FROM held_document h JOIN inbound_message m ON m.id = h.message_id"
            + " WHERE " + _connections.InList("h.document_key", "Keys") + " AND m.status = @Held AND h.message_id <> @Id"
            + " ORDER BY h.message_id;",
            new { Keys = keys.Distinct(StringComparer.Ordinal).ToArray(), InboxStatus.Held, Id = validatedBy },
            transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        foreach (var draft in drafts)
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inbound_message SET status = @Ignored, error = NULL, processed_at = @Now WHERE id = @Id AND status = @Held;",
                new { InboxStatus.Ignored, InboxStatus.Held, Now = now, Id = draft },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (changed == 0)
            {
                continue;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                GroupCommitWriter.InsertHistorySql,
                new { MessageId = draft, At = now, Status = InboxStatus.Ignored, Detail = InboxHistoryDetail.SupersededBy(validatedBy) },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM held_document WHERE message_id = @Id;", new { Id = draft }, transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the leases of this process (on PostgreSQL: closes their session, which frees them for other instances).</summary>
    public ValueTask DisposeAsync() => _leases.DisposeAsync();

    private async Task ReleaseAsync(IReadOnlyList<ProcessingResult> results)
    {
        var freed = new List<string>();
        lock (_leaseGate)
        {
            foreach (var result in results)
            {
                if (_claimed.Remove(result.Id, out var sender))
                {
                    var left = _busySenders[sender] - 1;
                    if (left == 0)
                    {
                        _busySenders.Remove(sender);
                        freed.Add(sender);
                    }
                    else
                    {
                        _busySenders[sender] = left;
                    }
                }
            }
        }

        if (freed.Count > 0)
        {
            await _leases.ReleaseAsync(freed).ConfigureAwait(false);
        }
    }

    private sealed class MessageRow
    {
        public string? Warnings { get; set; }
        public string Sender { get; set; } = "";
        public long HeldDocuments { get; set; }
        public long HeldIdentities { get; set; }
    }

    private sealed class PendingRow
    {
        public long Id { get; set; }
        public string Channel { get; set; } = "";
        public string Sender { get; set; } = "";
        public string ControlId { get; set; } = "";
        public string? MessageType { get; set; }
        public string? FileName { get; set; }
        public string? RemoteEndpoint { get; set; }
        public byte[]? Raw { get; set; }
        public string? BlobKey { get; set; }
        public long Length { get; set; }
        public object ReceivedAt { get; set; } = "";
        public string? Warnings { get; set; }
    }
}
