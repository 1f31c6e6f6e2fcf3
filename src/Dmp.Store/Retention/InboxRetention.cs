using Dapper;
using Dmp.Store.Blobs;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Retention;

/// <summary>What one retention run did: counts only, never which messages.</summary>
/// <param name="MessagesPurged">Messages whose raw bytes were dropped (their rows stay).</param>
/// <param name="BlobsDeleted">Blobs deleted because no row names them any more.</param>
/// <param name="BlobsKept">Blobs of purged messages kept because another message or a document still names them.</param>
/// <param name="DatabaseBytesReleased">How much smaller the database file became (SQLite; 0 on PostgreSQL, whose autovacuum reuses the space).</param>
/// <param name="DatabaseRebuilt">True when this run rebuilt an old SQLite file once (VACUUM) to turn incremental vacuum on.</param>
public sealed record RetentionResult(int MessagesPurged, int BlobsDeleted, int BlobsKept, long DatabaseBytesReleased, bool DatabaseRebuilt);

/// <summary>
/// Drops the raw bytes of old <c>processed</c> and <c>ignored</c> messages to free disk, keeping each
/// row with its metadata, SHA-256, ACK and history: a late resend of the same bytes is still
/// recognised as a duplicate and answered with the stored ACK. Documents and audit events are never
/// touched. A purged message cannot be replayed (its row says when its bytes went: <c>raw_purged_at</c>).
/// </summary>
public sealed class InboxRetention
{
    // Spelled as in the partial index ix_inbound_message_retention, so SQLite's planner can use it.
    private const string Finished = $"status IN ('{InboxStatus.Processed}', '{InboxStatus.Ignored}')";

    private const string ReferencedSql =
        """
        SELECT 1 WHERE EXISTS (SELECT 1 FROM inbound_message WHERE blob_key = @Key)
                    OR EXISTS (SELECT 1 FROM document WHERE blob_key = @Key);
        """;

    private readonly SqlDialect _connections;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly string _candidatesSql;

    public InboxRetention(SqlDialect connections, IBlobStore blobs, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(blobs);
        _connections = connections;
        _blobs = blobs;
        _time = time ?? TimeProvider.System;
        _candidatesSql = connections.SelectPageLockingRows(
            "id AS Id, blob_key AS BlobKey", "inbound_message", $"raw_purged_at IS NULL AND {Finished} AND received_at < @Cutoff",
            "received_at, id", "@Batch");
    }

    /// <summary>
    /// Purges the raw bytes of every <c>processed</c> or <c>ignored</c> message first received before
    /// <paramref name="olderThan"/>, <paramref name="batchSize"/> messages per short write transaction;
    /// then deletes their blobs that nothing else names, and gives the freed space back to the file
    /// system (SQLite: incremental vacuum).
    /// </summary>
    public async Task<RetentionResult> PurgeAsync(DateTimeOffset olderThan, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int purged = 0, deleted = 0, kept = 0;
        while (true)
        {
            var (count, blobKeys) = await PurgeBatchAsync(olderThan, batchSize, cancellationToken).ConfigureAwait(false);
            purged += count;
            foreach (var key in blobKeys.Distinct(StringComparer.Ordinal))
            {
                if (await DeleteIfUnreferencedAsync(key, cancellationToken).ConfigureAwait(false))
                {
                    deleted++;
                }
                else
                {
                    kept++;
                }
            }

            // Fewer than asked: nothing older is left (on PostgreSQL, rows locked by a replay are left for the next run).
            if (count < batchSize)
            {
                break;
            }
        }

        var space = purged > 0
            ? await _connections.ReclaimSpaceAsync(cancellationToken).ConfigureAwait(false)
            : SpaceReclaim.None;
        return new RetentionResult(purged, deleted, kept, space.BytesReleased, space.Rebuilt);
    }

    private async Task<(int Count, List<string> BlobKeys)> PurgeBatchAsync(DateTimeOffset olderThan, int batchSize, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // Selected and emptied in one write transaction: a replay cannot requeue a row in between.
                var candidates = (await connection.QueryAsync<Candidate>(new CommandDefinition(
                    _candidatesSql,
                    new { Cutoff = StoreTime.Write(olderThan), Batch = batchSize },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
                if (candidates.Count == 0)
                {
                    return (0, []);
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE inbound_message SET raw = NULL, blob_key = NULL, raw_purged_at = @Now WHERE "
                    + _connections.InList("id", "Ids") + ";",
                    new { Now = StoreTime.Write(_time.GetUtcNow()), Ids = candidates.Select(c => c.Id).ToArray() },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (candidates.Count, candidates.Select(c => c.BlobKey).OfType<string>().ToList());
            }
        }
    }

    /// <summary>
    /// Deletes a purged message's blob unless a row still names it. Blobs are content-addressed, so a
    /// new message (or a document) with the same bytes may name it: checked before the delete, and
    /// again after it — a reference committed in between gets its bytes put back. (A frame whose blob
    /// put found the old file and whose row commits after that second check is the one case left: its
    /// processing then fails it visibly, "raw bytes missing from the blob store", for the sender to resend.)
    /// </summary>
    private async Task<bool> DeleteIfUnreferencedAsync(string key, CancellationToken cancellationToken)
    {
        if (await IsReferencedAsync(key, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var bytes = await _blobs.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (bytes is null || !await _blobs.DeleteAsync(key, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        if (await IsReferencedAsync(key, cancellationToken).ConfigureAwait(false))
        {
            await _blobs.PutAsync(bytes, CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private async Task<bool> IsReferencedAsync(string key, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                ReferencedSql, new { Key = key }, cancellationToken: cancellationToken)).ConfigureAwait(false) is not null;
        }
    }

    private sealed class Candidate
    {
        public long Id { get; set; }
        public string? BlobKey { get; set; }
    }
}
