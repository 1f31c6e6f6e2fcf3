using Dmp.Store.Blobs;
using Dmp.Store.Sql;
using Dmp.Store.Writing;

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
    private readonly GroupCommitWriter _writer;
    private readonly SqlDialect _connections;
    private readonly ProcessingOutcomes _outcomes;
    private readonly InboxClaims _claims;
    private readonly InboxReplay _replay;
    private readonly AckRecords _acks;

    /// <param name="writer">The store's grouped writer: outcomes and ACK records share its transactions with arriving frames.</param>
    /// <param name="time">The clock of history lines and outcomes (the store's).</param>
    public InboxProcessing(SqlDialect connections, IBlobStore blobs, GroupCommitWriter writer, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _connections = connections;
        _outcomes = new ProcessingOutcomes(connections, time ?? TimeProvider.System);
        _claims = new InboxClaims(connections, blobs, _outcomes);
        _replay = new InboxReplay(connections, time ?? TimeProvider.System);
        _acks = new AckRecords(writer);
    }

    /// <summary>Messages claimed and not yet completed.</summary>
    public int InFlight => _claims.InFlight;

    /// <summary>
    /// Up to <paramref name="max"/> of the oldest accepted messages, ordered by id, from senders
    /// with nothing in flight. Process each sender's messages in the order given.
    /// </summary>
    public Task<IReadOnlyList<PendingMessage>> ClaimAsync(int max, CancellationToken cancellationToken) => _claims.ClaimAsync(max, cancellationToken);

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
            await _claims.EnsureHeldAsync(results, cancellationToken).ConfigureAwait(false);
            if (_connections.SeparateApplyTransactions)
            {
                final = await WriteOwnTransactionAsync(results, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // On the writer's connection (one writer), after the frames waiting: an ACK never waits for more than one chunk.
                await _writer.RunBulkWriteTransactionAsync(
                    async (connection, transaction) => final = await _outcomes.WriteAsync(connection, transaction, results, CancellationToken.None).ConfigureAwait(false),
                    cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Also on failure: the messages stay accepted and are simply claimed again.
            await _claims.ReleaseAsync(results).ConfigureAwait(false);
        }

        return final;
    }

    /// <summary>
    /// The outcomes in a transaction of their own (a server database, see <see cref="SqlDialect.SeparateApplyTransactions"/>):
    /// the inbox writer goes on committing arriving frames meanwhile, as another instance's writer would. A deadlock or
    /// serialisation failure with a concurrent transaction rolls all back, and the whole chunk is written again.
    /// </summary>
    private async Task<IReadOnlyList<ProcessingResult>> WriteOwnTransactionAsync(IReadOnlyList<ProcessingResult> results, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                    await using (transaction.ConfigureAwait(false))
                    {
                        await _connections.DeferCommitSyncAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                        var final = await _outcomes.WriteAsync(connection, transaction, results, CancellationToken.None).ConfigureAwait(false);
                        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                        return final;
                    }
                }
            }
            catch (Exception e) when (attempt < 5 && _connections.Classify(e) == WriteConflict.Transient)
            {
                await Task.Delay(Random.Shared.Next(1, 10 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Records the ACK sent for a message after its processing (ACK mode Processed), so a resend is
    /// answered with these very bytes. Only a message that has no ACK yet takes one.
    /// </summary>
    public Task<bool> RecordAckAsync(long id, byte[] ack, string ackCode, CancellationToken cancellationToken) =>
        _acks.RecordAsync(id, ack, ackCode, cancellationToken);

    /// <summary>
    /// Puts a failed, held, processed or ignored message back to <c>accepted</c> so it is processed
    /// again with the current rules; false when its status does not allow it or its bytes are gone.
    /// </summary>
    public Task<bool> RequeueForReplayAsync(long id, CancellationToken cancellationToken) => _replay.RequeueAsync(id, cancellationToken);

    /// <summary>Ends the leases of this process (on PostgreSQL: closes their session, which frees them for other instances).</summary>
    public ValueTask DisposeAsync() => _claims.DisposeAsync();
}
