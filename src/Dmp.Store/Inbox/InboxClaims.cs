using System.Data.Common;
using Dapper;
using Dmp.Store.Blobs;
using Dmp.Store.Sql;

namespace Dmp.Store.Inbox;

/// <summary>
/// Hands accepted messages to the processing worker in arrival order, leasing their senders until the outcomes
/// are committed (see <see cref="InboxProcessing"/>).
/// </summary>
internal sealed class InboxClaims : IAsyncDisposable
{
    private const string PendingColumns =
        """
        id AS Id, channel AS Channel, sender AS Sender, control_id AS ControlId, message_type AS MessageType,
        file_name AS FileName, remote_endpoint AS RemoteEndpoint, raw AS Raw, blob_key AS BlobKey, length AS Length,
        received_at AS ReceivedAt, warnings AS Warnings, trace_id AS TraceId, trace_parent AS TraceParent, sender_name AS SenderName
        """;

    private readonly SqlDialect _connections;
    private readonly IBlobStore _blobs;
    private readonly ProcessingOutcomes _outcomes;
    private readonly SemaphoreSlim _claimGate = new(1, 1);
    private readonly Lock _leaseGate = new();
    private readonly Dictionary<long, string> _claimed = [];
    private readonly Dictionary<string, int> _busySenders = new(StringComparer.Ordinal);
    private readonly SenderLeases _leases;

    // The claim's statements in the dialect, built once: a claim pass runs many times a second under load.
    private readonly string _pendingOfLeasedSql;
    private readonly string _pendingSql;
    private readonly string _pendingExceptBusySql;
    private readonly string _sendersSql;
    private readonly string _sendersExceptPassedOverSql;

    public InboxClaims(SqlDialect connections, IBlobStore blobs, ProcessingOutcomes outcomes)
    {
        _connections = connections;
        _blobs = blobs;
        _outcomes = outcomes;
        _leases = connections.CreateSenderLeases();
        var limit = connections.Limit("@Max") + ";";
        _pendingOfLeasedSql = $"SELECT {PendingColumns} FROM inbound_message WHERE status = @Accepted AND "
            + connections.InList("sender", "Leased") + " ORDER BY id" + limit;
        _pendingSql = $"SELECT {PendingColumns} FROM inbound_message WHERE status = @Accepted ORDER BY id" + limit;
        _pendingExceptBusySql = $"SELECT {PendingColumns} FROM inbound_message WHERE status = @Accepted AND NOT ("
            + connections.InList("sender", "Busy") + ") ORDER BY id" + limit;
        _sendersSql = "SELECT sender FROM inbound_message WHERE status = @Accepted ORDER BY id" + limit;
        _sendersExceptPassedOverSql = "SELECT sender FROM inbound_message WHERE status = @Accepted AND NOT ("
            + connections.InList("sender", "PassedOver") + ") ORDER BY id" + limit;
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
                            _pendingOfLeasedSql,
                            new { InboxStatus.Accepted, Leased = leased.ToArray(), Max = max },
                            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
                    }
                    else
                    {
                        var sql = busy.Length > 0 ? _pendingExceptBusySql : _pendingSql;
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
                            row.FileName, row.RemoteEndpoint, raw, row.Length, StoreTime.Read(row.ReceivedAt),
                            WarningList.Parse(row.Warnings))
                        {
                            TraceId = row.TraceId,
                            TraceParent = row.TraceParent,
                            SenderName = row.SenderName,
                        });
                    }

                    if (unreadable.Count > 0)
                    {
                        var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                        await using (transaction.ConfigureAwait(false))
                        {
                            await _outcomes.WriteAsync(connection, transaction, unreadable, cancellationToken).ConfigureAwait(false);
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
                    passedOver.Count > 0 ? _sendersExceptPassedOverSql : _sendersSql,
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
    /// Makes sure this process still holds the senders of these outcomes: another instance may have them if our
    /// leases died with their session, and then nothing may be recorded.
    /// </summary>
    public Task EnsureHeldAsync(IReadOnlyList<ProcessingResult> results, CancellationToken cancellationToken)
    {
        string[] senders;
        lock (_leaseGate)
        {
            senders = [.. results.Select(r => _claimed.GetValueOrDefault(r.Id)).OfType<string>().Distinct(StringComparer.Ordinal)];
        }

        return _leases.EnsureHeldAsync(senders, cancellationToken);
    }

    /// <summary>Ends the claims of these outcomes; a sender with nothing left in flight is released.</summary>
    public async Task ReleaseAsync(IReadOnlyList<ProcessingResult> results)
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

    /// <summary>Ends the leases of this process (on PostgreSQL: closes their session, which frees them for other instances).</summary>
    public ValueTask DisposeAsync() => _leases.DisposeAsync();

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
        public string ReceivedAt { get; set; } = "";
        public string? Warnings { get; set; }
        public string? TraceId { get; set; }
        public string? TraceParent { get; set; }
        public string? SenderName { get; set; }
    }
}
